//! The conformance table (`tests/conformance/*.json`, described in its README): its case
//! types, how a case's headers read as Envoy's codec hands them over, and how an observed
//! result is checked against a case. Every runner of the table (the harness, Envoy, the
//! checker's explain mode) reads it through these.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Header lines with lower-case names, as a proxy hands them to a filter.
pub type Headers = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub about: String,
    #[serde(default)]
    pub encoding: ConfigEncoding,
    pub config: Value,
    pub cases: Vec<Case>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ConfigEncoding {
    #[default]
    Struct,
    Json,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// The rule of POLICY.md, the Fetch standard or the pitfall the case is about.
    #[allow(dead_code)]
    pub rule: String,
    /// The public suite the case comes from, when it does.
    #[allow(dead_code)]
    #[serde(default)]
    pub source: Option<String>,
    pub request: Request,
    #[serde(default)]
    pub response: Response,
    pub expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default = "get")]
    pub method: String,
    #[serde(default = "root")]
    pub path: String,
    #[serde(default = "api_host")]
    pub authority: String,
    /// The Envoy route name; `default` when absent.
    #[serde(default)]
    pub route: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, HeaderValue)>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub enum HeaderValue {
    /// Text, where `\xHH` stands for the byte HH.
    Text(String),
    /// `repeat` `times` times, `{i}` replaced by the index, joined by `join`, between
    /// `before` and `after`: long lists and long values.
    Repeat {
        repeat: String,
        times: usize,
        #[serde(default)]
        join: String,
        #[serde(default)]
        before: String,
        #[serde(default)]
        after: String,
    },
}

#[derive(Deserialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Response {
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// A local reply by Envoy's route (`direct_response`) instead of the upstream's.
    #[serde(default)]
    pub local: bool,
}

impl Default for Response {
    fn default() -> Response {
        Response {
            status: 200,
            headers: Vec::new(),
            local: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: u16,
    pub upstream: bool,
    /// Every `access-control-*` and `vary` header of the response, and any other named
    /// here: each value in order (a list for a header given more than once).
    #[serde(default)]
    pub headers: BTreeMap<String, Values>,
    #[serde(default)]
    pub absent: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Values {
    One(HeaderValue),
    Many(Vec<String>),
}

pub fn get() -> String {
    "GET".into()
}
pub fn root() -> String {
    "/".into()
}
pub fn api_host() -> String {
    "api.example.com".into()
}
pub fn ok() -> u16 {
    200
}

/// What a client and the upstream saw: the part of a response the table speaks of.
#[derive(Debug, PartialEq, Eq)]
pub struct Observed {
    pub status: u16,
    pub upstream: bool,
    /// Lower-case names, sorted by name; values of one name in response order.
    pub headers: Vec<(String, String)>,
}

pub struct Loaded {
    pub file: String,
    pub table: Table,
}

pub fn tables() -> Vec<Loaded> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !is_error_table(p))
        .collect();
    files.sort();
    let loaded: Vec<Loaded> = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let table =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            Loaded { file, table }
        })
        .collect();
    let mut names = std::collections::HashSet::new();
    for case in loaded.iter().flat_map(|l| &l.table.cases) {
        assert!(
            names.insert(&case.name),
            "two cases are named {}",
            case.name
        );
    }
    loaded
}

pub fn is_error_table(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "config-errors.json")
}

/// `\xHH` escapes decoded; everything else is the text's UTF-8.
pub fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        let hex = tail.strip_prefix(b"x").and_then(|t| t.get(..2));
        let byte = hex
            .filter(|_| b == b'\\')
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match byte {
            Some(byte) => {
                out.push(byte);
                rest = &tail[3..];
            }
            None => {
                out.push(b);
                rest = tail;
            }
        }
    }
    out
}

impl HeaderValue {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            HeaderValue::Text(text) => unescape(text),
            HeaderValue::Repeat {
                repeat,
                times,
                join,
                before,
                after,
            } => {
                let items: Vec<String> = (0..*times)
                    .map(|i| repeat.replace("{i}", &i.to_string()))
                    .collect();
                format!("{before}{}{after}", items.join(join)).into_bytes()
            }
        }
    }
}

/// Headers Envoy holds "inline" (core ones, and those its CORS filter registers): its codec
/// joins repeated lines of these into one value with ','; others stay separate entries.
pub const ENVOY_INLINE_REQUEST: [&str; 4] = [
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "access-control-request-private-network",
];
pub const ENVOY_INLINE_RESPONSE: [&str; 8] = [
    "vary",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
    "access-control-allow-private-network",
];

/// Header lines as Envoy's HTTP/1 codec hands them to filters: names lower-cased, values
/// without leading and trailing white space, repeated inline headers joined.
pub fn envoy_codec(lines: Vec<(String, Vec<u8>)>, inline: &[&str]) -> Headers {
    let mut headers: Headers = Vec::new();
    for (name, value) in lines {
        let value = value.trim_ascii();
        let name = name.to_ascii_lowercase().into_bytes();
        let joined = inline.iter().any(|n| n.as_bytes() == name);
        match headers.iter_mut().find(|(n, _)| joined && *n == name) {
            Some((_, existing)) => {
                existing.push(b',');
                existing.extend_from_slice(value);
            }
            None => headers.push((name, value.to_vec())),
        }
    }
    headers
}

/// Keeps the headers the table speaks of, sorted by name (stable: values keep their order).
pub fn observe(case: &Case, status: u16, upstream: bool, headers: &[(String, String)]) -> Observed {
    let expect = &case.expect;
    let relevant = |name: &str| {
        name.starts_with("access-control-")
            || name == "vary"
            || expect.headers.contains_key(name)
            || expect.absent.iter().any(|a| a == name)
    };
    let mut kept: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| relevant(n))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    Observed {
        status,
        upstream,
        headers: kept,
    }
}

/// What the case expects, in the same shape as [`Observed`], or why it can't be met.
pub fn check(case: &Case, observed: &Observed) -> Result<(), String> {
    let expect = &case.expect;
    let mut expected: Vec<(String, String)> = expect
        .headers
        .iter()
        .flat_map(|(name, values)| {
            let values = match values {
                Values::One(v) => vec![String::from_utf8_lossy(&v.bytes()).into_owned()],
                Values::Many(vs) => vs.clone(),
            };
            values.into_iter().map(move |v| (name.clone(), v))
        })
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let wanted = Observed {
        status: expect.status,
        upstream: expect.upstream,
        headers: expected,
    };
    if let Some(name) = expect
        .absent
        .iter()
        .find(|a| observed.headers.iter().any(|(n, _)| n == *a))
    {
        return Err(format!("{name} should be absent; got {observed:#?}"));
    }
    if *observed != wanted {
        return Err(format!("expected {wanted:#?}\ngot {observed:#?}"));
    }
    Ok(())
}

pub fn fail_if_any(failures: Vec<String>, ran: usize) {
    assert!(
        failures.is_empty(),
        "{} of {ran} conformance cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// How many cases the files hold: (request cases, invalid configurations), counted on the
/// raw JSON, apart from the runner's own types.
pub fn cases_on_disk() -> (usize, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let (mut requests, mut errors) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let count = value["cases"].as_array().map_or(0, Vec::len);
        assert!(count > 0, "{}: no cases", path.display());
        if is_error_table(&path) {
            errors += count;
        } else {
            requests += count;
        }
    }
    (requests, errors)
}
