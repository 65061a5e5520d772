//! A raw HTTP/1.1 client: tests send exactly the bytes they mean (repeated or non-UTF-8
//! headers included), and see every response header line as it came.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of a header, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// The one value of a header; a test fails if it appears more than once.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut values = self.all(name);
        assert!(
            values.len() <= 1,
            "{name} appears {} times: {values:?}",
            values.len()
        );
        values.pop()
    }

    /// The `Access-Control-*` headers, lower-cased names with values, sorted.
    pub fn cors(&self) -> Vec<(String, String)> {
        let mut cors: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| n.to_ascii_lowercase().starts_with("access-control-"))
            .map(|(n, v)| {
                (
                    n.to_ascii_lowercase(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        cors.sort();
        cors
    }
}

/// Sends one request on a new connection and reads the whole response.
pub fn send(port: u16, method: &str, path: &str, headers: &[(&str, &[u8])]) -> Response {
    try_send(port, method, path, headers).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// As [`send`], with connection failures and malformed responses as errors.
pub fn try_send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &[u8])],
) -> Result<Response, String> {
    let mut request = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        request.extend_from_slice(b"host: api.example.com\r\n");
    }
    for (name, value) in headers {
        request.extend_from_slice(name.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"connection: close\r\n\r\n");
    exchange(port, &request)
}

/// Writes raw request bytes on a new connection and reads the whole response.
pub fn exchange(port: u16, request: &[u8]) -> Result<Response, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request)
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    parse_response(&raw)
        .ok_or_else(|| format!("malformed response: {:?}", String::from_utf8_lossy(&raw)))
}

/// A request with string headers, the common case.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    send(port, method, path, &headers)
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.to_string(), value.trim().as_bytes().to_vec()))
        })
        .collect::<Option<Vec<_>>>()?;
    let body = dechunk_if_needed(&headers, &raw[end + 4..]);
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk_if_needed(headers: &[(String, Vec<u8>)], body: &[u8]) -> Vec<u8> {
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v == b"chunked");
    if !chunked {
        return body.to_vec();
    }
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let Some(size) = size.filter(|&s| s > 0) else {
            break;
        };
        let start = line_end + 2;
        out.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
        rest = &rest[(start + size + 2).min(rest.len())..];
    }
    out
}
