//! The tests' own upstream: records every request that reaches it, and answers as the
//! request asks (`x-upstream-status`, and one `x-upstream-header: name: value` per header).
//! It can hold the requests to one path until the test releases them (a request in flight
//! for as long as a test needs), or answer as a test's own function says (another service).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub struct Upstream {
    pub port: u16,
    seen: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    hold: Arc<Hold>,
}

/// Requests to `path` wait until released (or for [`Hold::LONGEST`], so no test hangs).
struct Hold {
    path: Option<String>,
    released: Mutex<bool>,
    changed: Condvar,
    waiting: AtomicUsize,
}

impl Hold {
    const LONGEST: Duration = Duration::from_secs(60);

    fn wait_if_held(&self, request: &Recorded) {
        if self.path.as_deref() != Some(request.path.as_str()) {
            return;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + Hold::LONGEST;
        let mut released = self.released.lock().unwrap();
        while !*released {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            released = self.changed.wait_timeout(released, left).unwrap().0;
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }

    fn release(&self) {
        *self.released.lock().unwrap() = true;
        self.changed.notify_all();
    }
}

impl Upstream {
    pub fn start() -> Upstream {
        Upstream::serving(None, respond)
    }

    /// An upstream that answers requests to `path` only once [`Upstream::release`] is called.
    pub fn holding(path: &str) -> Upstream {
        Upstream::serving(Some(path.to_string()), respond)
    }

    /// A server that answers each request with the bytes `answer` makes of it (see
    /// [`response`]), and records it like the upstream.
    pub fn answering(answer: fn(&Recorded) -> Vec<u8>) -> Upstream {
        Upstream::serving(None, answer)
    }

    fn serving(path: Option<String>, answer: fn(&Recorded) -> Vec<u8>) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let hold = Arc::new(Hold {
            path,
            released: Mutex::new(false),
            changed: Condvar::new(),
            waiting: AtomicUsize::new(0),
        });
        let (seen_by_server, stop_server) = (Arc::clone(&seen), Arc::clone(&stop));
        let hold_by_server = Arc::clone(&hold);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_server.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (seen, hold) = (Arc::clone(&seen_by_server), Arc::clone(&hold_by_server));
                thread::spawn(move || serve(stream, &seen, &hold, answer));
            }
        });
        Upstream {
            port,
            seen,
            stop,
            hold,
        }
    }

    /// How many requests to the held path are waiting now.
    pub fn held(&self) -> usize {
        self.hold.waiting.load(Ordering::SeqCst)
    }

    /// Answers the held requests, and from now on every request at once.
    pub fn release(&self) {
        self.hold.release();
    }

    /// Every request that reached the upstream with this path (query included).
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|r| r.path == path).cloned().collect()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.hold.release();
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serves requests on one connection until the peer closes it.
fn serve(
    stream: TcpStream,
    seen: &Mutex<Vec<Recorded>>,
    hold: &Hold,
    answer: fn(&Recorded) -> Vec<u8>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        hold.wait_if_held(&request);
        let response = answer(&request);
        seen.lock().unwrap().push(request);
        if writer.write_all(&response).is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Recorded> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|&n| n > 0)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut raw = Vec::new();
        reader.read_until(b'\n', &mut raw).ok().filter(|&n| n > 0)?;
        let text = String::from_utf8_lossy(&raw);
        let text = text.trim_end();
        if text.is_empty() {
            break;
        }
        let (name, value) = text.split_once(':')?;
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok());
        let mut body = vec![0; length.unwrap_or(0)];
        reader.read_exact(&mut body).ok()?;
        body
    };
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

/// A chunked body; trailers, if any, are read and dropped.
fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok().filter(|&n| n > 0)?;
        let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            break;
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..size]);
    }
    loop {
        let mut trailer = String::new();
        reader.read_line(&mut trailer).ok().filter(|&n| n > 0)?;
        if trailer.trim().is_empty() {
            return Some(body);
        }
    }
}

/// The upstream's answer: the status of `x-upstream-status` (200 without), each
/// `x-upstream-header` as a header line, and the body `upstream`.
fn respond(request: &Recorded) -> Vec<u8> {
    let status = request
        .headers
        .iter()
        .find(|(n, _)| n == "x-upstream-status")
        .map_or("200", |(_, v)| v.as_str());
    let lines = request
        .headers
        .iter()
        .filter(|(n, _)| n == "x-upstream-header")
        .map(|(_, header)| header.as_str());
    raw_response(status, lines, "upstream")
}

/// An HTTP/1.1 response with these headers and body, its length given.
pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let lines: Vec<String> = headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    raw_response(&status.to_string(), lines.iter().map(String::as_str), body)
}

fn raw_response<'a>(status: &str, lines: impl Iterator<Item = &'a str>, body: &str) -> Vec<u8> {
    let mut response = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for line in lines {
        response.push_str(line);
        response.push_str("\r\n");
    }
    response.push_str("\r\n");
    response.push_str(body);
    response.into_bytes()
}
