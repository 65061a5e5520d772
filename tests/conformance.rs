//! The conformance table (`tests/conformance/*.json`, described in its README) run through
//! both hosts: the wasmtime harness and a real Envoy. Every case must give its expected
//! result in each, and the two hosts must agree; a failure names the file and the case.

mod harness;
mod support;

use harness::host::{Headers, Host, Reply};
use harness::structpb;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::envoy::{
    bootstrap, cors_filter, cors_filter_text, envoy_bin, Build, Encoding, Envoy, BUILDS,
};
use support::releases::{envoy_release, RELEASES};
use support::upstream::Upstream;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    about: String,
    #[serde(default)]
    encoding: ConfigEncoding,
    config: Value,
    cases: Vec<Case>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ConfigEncoding {
    #[default]
    Struct,
    Json,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The rule of POLICY.md, the Fetch standard or the pitfall the case is about.
    #[allow(dead_code)]
    rule: String,
    /// The public suite the case comes from, when it does.
    #[allow(dead_code)]
    #[serde(default)]
    source: Option<String>,
    request: Request,
    #[serde(default)]
    response: Response,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default = "get")]
    method: String,
    #[serde(default = "root")]
    path: String,
    #[serde(default = "api_host")]
    authority: String,
    /// The Envoy route name; `default` when absent.
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    headers: Vec<(String, HeaderValue)>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum HeaderValue {
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
struct Response {
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// A local reply by Envoy's route (`direct_response`) instead of the upstream's.
    #[serde(default)]
    local: bool,
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
struct Expect {
    status: u16,
    upstream: bool,
    /// Every `access-control-*` and `vary` header of the response, and any other named
    /// here: each value in order (a list for a header given more than once).
    #[serde(default)]
    headers: BTreeMap<String, Values>,
    #[serde(default)]
    absent: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Values {
    One(HeaderValue),
    Many(Vec<String>),
}

fn get() -> String {
    "GET".into()
}
fn root() -> String {
    "/".into()
}
fn api_host() -> String {
    "api.example.com".into()
}
fn ok() -> u16 {
    200
}

/// What a client and the upstream saw: the part of a response the table speaks of.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    status: u16,
    upstream: bool,
    /// Lower-case names, sorted by name; values of one name in response order.
    headers: Vec<(String, String)>,
}

struct Loaded {
    file: String,
    table: Table,
}

fn tables() -> Vec<Loaded> {
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

fn is_error_table(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "config-errors.json")
}

fn plugin_configuration(table: &Table) -> Vec<u8> {
    match table.encoding {
        ConfigEncoding::Json => table.config.to_string().into_bytes(),
        ConfigEncoding::Struct => {
            structpb::encode(table.config.as_object().expect("config is an object"))
        }
    }
}

/// `\xHH` escapes decoded; everything else is the text's UTF-8.
fn unescape(text: &str) -> Vec<u8> {
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
    fn bytes(&self) -> Vec<u8> {
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

/// The path a case's request is sent to: made unique per case with a query parameter, so
/// the upstream's record tells which case reached it. Matching sees only what is before '?'.
fn unique_path(case: &Case, index: usize) -> String {
    let separator = if case.request.path.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{separator}case={index}", case.request.path)
}

/// Headers Envoy holds "inline" (core ones, and those its CORS filter registers): its codec
/// joins repeated lines of these into one value with ','; others stay separate entries.
const ENVOY_INLINE_REQUEST: [&str; 4] = [
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "access-control-request-private-network",
];
const ENVOY_INLINE_RESPONSE: [&str; 8] = [
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
fn envoy_codec(lines: Vec<(String, Vec<u8>)>, inline: &[&str]) -> Headers {
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

/// The request with the pseudo-headers first, as the filter sees it in Envoy.
fn harness_request(case: &Case, path: &str) -> Headers {
    let request = &case.request;
    let mut lines: Vec<(String, Vec<u8>)> = vec![
        (":authority".into(), request.authority.clone().into_bytes()),
        (":path".into(), path.into()),
        (":method".into(), request.method.clone().into_bytes()),
        (":scheme".into(), b"http".to_vec()),
    ];
    lines.extend(request.headers.iter().map(|(n, v)| (n.clone(), v.bytes())));
    envoy_codec(lines, &ENVOY_INLINE_REQUEST)
}

fn run_in_harness(host: &mut Host, case: &Case, index: usize) -> Result<Observed, String> {
    let route = case.request.route.as_deref().unwrap_or("default");
    host.state_mut()
        .properties
        .insert("xds.route_name".into(), route.as_bytes().to_vec());
    let path = unique_path(case, index);
    let response = &case.response;
    let mut lines = vec![(
        ":status".to_string(),
        response.status.to_string().into_bytes(),
    )];
    lines.extend(
        response
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.clone().into_bytes())),
    );
    let reply = envoy_codec(lines, &ENVOY_INLINE_RESPONSE);
    let reply = if response.local {
        Reply::Local(reply)
    } else {
        Reply::Upstream(reply)
    };
    let exchange = host
        .exchange(harness_request(case, &path), reply)
        .map_err(|e| format!("the harness failed: {e:?}"))?;
    let headers: Vec<(String, String)> = exchange
        .response_headers
        .iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    let status = headers
        .iter()
        .find(|(n, _)| n == ":status")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or("no :status in the response")?;
    Ok(observe(case, status, exchange.reached_upstream, &headers))
}

/// Keeps the headers the table speaks of, sorted by name (stable: values keep their order).
fn observe(case: &Case, status: u16, upstream: bool, headers: &[(String, String)]) -> Observed {
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
fn check(case: &Case, observed: &Observed) -> Result<(), String> {
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

fn fail_if_any(failures: Vec<String>, ran: usize) {
    assert!(
        failures.is_empty(),
        "{} of {ran} conformance cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// How many cases the files hold: (request cases, invalid configurations), counted on the
/// raw JSON, apart from the runner's own types.
fn cases_on_disk() -> (usize, usize) {
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

#[test]
fn the_development_guide_counts_the_table() {
    let (requests, errors) = cases_on_disk();
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/development.md");
    let guide = std::fs::read_to_string(guide)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let claim = format!("{requests} request cases and {errors} invalid configurations");
    assert!(
        guide.contains(&claim),
        "docs/development.md should say \"{claim}\" of tests/conformance/"
    );
}

#[test]
fn the_table_in_the_wasmtime_harness() {
    let tables = tables();
    let mut ran = 0;
    let mut failures = Vec::new();
    for Loaded { file, table } in &tables {
        let mut host = Host::real();
        assert!(
            host.start(&plugin_configuration(table)).unwrap(),
            "{file} ({}): the configuration was refused: {:?}",
            table.about,
            host.state().log_messages()
        );
        for (index, case) in table.cases.iter().enumerate() {
            let result = run_in_harness(&mut host, case, index).and_then(|o| check(case, &o));
            if let Err(message) = result {
                failures.push(format!("{file}: {}: {message}", case.name));
            }
            ran += 1;
        }
    }
    fail_if_any(failures, ran);
    assert_eq!(
        ran,
        cases_on_disk().0,
        "cases in the files that did not run"
    );
}

/// Envoy's routes for a table: one per distinct (route name, local reply) its cases use,
/// chosen by an `x-conformance-route` request header, then the default route upstream.
/// A route a case needs in Envoy: its name, and the local reply it makes, if any.
type RouteKey = (Option<String>, Option<Response>);

fn envoy_routes(table: &Table) -> (Value, Vec<RouteKey>) {
    let mut keys: Vec<RouteKey> = Vec::new();
    for case in &table.cases {
        let key = route_key(case);
        if key != (None, None) && !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut routes: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, (name, local))| {
            let mut route = json!({
                "name": name.as_deref().unwrap_or("default"),
                "match": {"prefix": "/", "headers": [
                    {"name": "x-conformance-route", "string_match": {"exact": i.to_string()}},
                ]},
            });
            match local {
                Some(reply) => {
                    route["direct_response"] = json!({"status": reply.status});
                    let add: Vec<Value> = reply
                        .headers
                        .iter()
                        .map(|(k, v)| json!({"header": {"key": k, "value": v}, "append_action": "APPEND_IF_EXISTS_OR_ADD"}))
                        .collect();
                    route["response_headers_to_add"] = json!(add);
                }
                None => route["route"] = json!({"cluster": "upstream"}),
            }
            route
        })
        .collect();
    routes.push(
        json!({"name": "default", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}),
    );
    (json!(routes), keys)
}

fn route_key(case: &Case) -> RouteKey {
    let local = case.response.local.then(|| case.response.clone());
    (case.request.route.clone(), local)
}

fn run_in_envoy(
    envoy: &Envoy,
    upstream: &Upstream,
    keys: &[RouteKey],
    case: &Case,
    index: usize,
) -> Result<Observed, String> {
    let path = unique_path(case, index);
    let request = &case.request;
    let mut headers: Vec<(String, Vec<u8>)> =
        vec![("host".into(), request.authority.clone().into_bytes())];
    headers.extend(request.headers.iter().map(|(n, v)| (n.clone(), v.bytes())));
    if let Some(i) = keys.iter().position(|k| *k == route_key(case)) {
        headers.push(("x-conformance-route".into(), i.to_string().into_bytes()));
    }
    if !case.response.local {
        headers.push((
            "x-upstream-status".into(),
            case.response.status.to_string().into_bytes(),
        ));
        for (name, value) in &case.response.headers {
            headers.push((
                "x-upstream-header".into(),
                format!("{name}: {value}").into_bytes(),
            ));
        }
    }
    let headers: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let response = support::http::try_send(envoy.port, &request.method, &path, &headers)?;
    let reached = !upstream.requests_to(&path).is_empty();
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.to_ascii_lowercase(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    Ok(observe(case, response.status, reached, &headers))
}

fn envoy_encoding(encoding: ConfigEncoding) -> Encoding {
    match encoding {
        ConfigEncoding::Struct => Encoding::Struct,
        ConfigEncoding::Json => Encoding::Json,
    }
}

/// An Envoy that runs a table's cases, its own upstream, and its name in failures.
struct TableEnvoy {
    name: String,
    envoy: Envoy,
    upstream: Upstream,
}

/// The Envoy binary `bin` with `build` of cors-wasm and the table's policy and routes.
fn start_for_table(
    table: &Table,
    routes: &Value,
    bin: &Path,
    build: Build,
    name: String,
) -> TableEnvoy {
    let upstream = Upstream::start();
    let filter = cors_filter(build, &table.config, envoy_encoding(table.encoding));
    let envoy = Envoy::start_on(bin, &bootstrap(vec![filter], routes.clone(), upstream.port));
    TableEnvoy {
        name,
        envoy,
        upstream,
    }
}

/// Each case through every Envoy of `envoys` and through a fresh harness host configured
/// the same way: all must agree, and give the expected result. Returns the failures and
/// how many cases ran.
fn run_table_in(
    file: &str,
    table: &Table,
    keys: &[RouteKey],
    envoys: &[TableEnvoy],
) -> (Vec<String>, usize) {
    let mut host = Host::real();
    assert!(
        host.start(&plugin_configuration(table)).unwrap(),
        "{file}: refused"
    );
    let mut failures = Vec::new();
    for (index, case) in table.cases.iter().enumerate() {
        if let Err(problem) = run_case_in(&mut host, keys, envoys, case, index) {
            failures.push(format!("{file}: {}: {problem}", case.name));
        }
    }
    (failures, table.cases.len())
}

fn run_case_in(
    host: &mut Host,
    keys: &[RouteKey],
    envoys: &[TableEnvoy],
    case: &Case,
    index: usize,
) -> Result<(), String> {
    let in_harness = run_in_harness(host, case, index)?;
    for TableEnvoy {
        name,
        envoy,
        upstream,
    } in envoys
    {
        let in_envoy = run_in_envoy(envoy, upstream, keys, case, index)
            .map_err(|e| format!("Envoy with {name}: {e}"))?;
        if in_envoy != in_harness {
            return Err(format!(
                "the hosts disagree:\n{name} {in_envoy:#?}\nharness {in_harness:#?}"
            ));
        }
    }
    check(case, &in_harness).map_err(|e| format!("in Envoy: {e}"))
}

/// One Envoy per build (each with its own upstream) per table, with the pinned Envoy.
fn run_table_in_all(file: &str, table: &Table) -> (Vec<String>, usize) {
    let (routes, keys) = envoy_routes(table);
    let envoys = BUILDS.map(|build| {
        let name = format!("the {build:?} build");
        start_for_table(table, &routes, &envoy_bin(), build, name)
    });
    run_table_in(file, table, &keys, &envoys)
}

/// Runs `run` on each table, a few tables at a time: two cores, and a few Envoys at a time
/// keeps startup overlapping without thrashing. Returns the failures and the cases run.
fn run_tables(
    tables: &[&Loaded],
    run: impl Fn(&str, &Table) -> (Vec<String>, usize) + Sync,
) -> (Vec<String>, usize) {
    let mut ran = 0;
    let mut failures = Vec::new();
    for chunk in tables.chunks(3) {
        std::thread::scope(|scope| {
            let running: Vec<_> = chunk
                .iter()
                .map(|l| scope.spawn(|| run(&l.file, &l.table)))
                .collect();
            for run in running {
                let (failed, cases) = run.join().expect("a table's thread panicked");
                failures.extend(failed);
                ran += cases;
            }
        });
    }
    (failures, ran)
}

#[test]
fn the_table_in_envoy_with_both_builds_agrees_with_the_harness() {
    let tables = tables();
    let (failures, ran) = run_tables(&tables.iter().collect::<Vec<_>>(), run_table_in_all);
    fail_if_any(failures, ran);
    assert_eq!(
        ran,
        cases_on_disk().0,
        "cases in the files that did not run"
    );
}

/// The table through every Envoy release of [`RELEASES`], with each build it loads.
fn run_table_in_releases(file: &str, table: &Table) -> (Vec<String>, usize) {
    let (routes, keys) = envoy_routes(table);
    let envoys: Vec<TableEnvoy> = RELEASES
        .iter()
        .flat_map(|(version, builds)| builds.iter().map(move |build| (*version, *build)))
        .map(|(version, build)| {
            let name = format!("the {build:?} build in Envoy {version}");
            start_for_table(table, &routes, &envoy_release(version), build, name)
        })
        .collect();
    run_table_in(file, table, &keys, &envoys)
}

/// The tables `./build.sh test` runs through every release: preflights (the request's
/// side, answered by the filter) and actual responses (the response's side). The whole
/// table runs in the pinned Envoy above, and in every release under `./build.sh matrix`.
const TABLES_IN_EVERY_RELEASE: [&str; 2] = ["preflight.json", "responses.json"];

#[test]
fn the_answers_in_every_supported_envoy_release_agree_with_the_harness() {
    let tables = tables();
    let chosen: Vec<&Loaded> = tables
        .iter()
        .filter(|l| TABLES_IN_EVERY_RELEASE.contains(&l.file.as_str()))
        .collect();
    assert_eq!(
        chosen.len(),
        TABLES_IN_EVERY_RELEASE.len(),
        "a table is missing"
    );
    let (failures, ran) = run_tables(&chosen, run_table_in_releases);
    fail_if_any(failures, ran);
}

#[test]
#[ignore = "the whole matrix, for ./build.sh matrix (a few minutes)"]
fn the_whole_table_in_every_supported_envoy_release_agrees_with_the_harness() {
    let tables = tables();
    let (failures, ran) = run_tables(&tables.iter().collect::<Vec<_>>(), run_table_in_releases);
    fail_if_any(failures, ran);
    assert_eq!(
        ran,
        cases_on_disk().0,
        "cases in the files that did not run"
    );
}

/// `config-errors.json`: configurations the filter must refuse, naming each error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorTable {
    #[allow(dead_code)]
    about: String,
    cases: Vec<ErrorCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorCase {
    name: String,
    #[allow(dead_code)]
    rule: String,
    #[allow(dead_code)]
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    encoding: ConfigEncoding,
    config: Value,
    /// Each must appear in a log line of the refusal.
    errors: Vec<String>,
}

fn error_table() -> ErrorTable {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/config-errors.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn error_configuration(case: &ErrorCase) -> Vec<u8> {
    match (case.encoding, &case.config) {
        (ConfigEncoding::Struct, Value::Object(object)) => structpb::encode(object),
        (_, Value::String(text)) => text.clone().into_bytes(),
        (_, config) => config.to_string().into_bytes(),
    }
}

fn missing_errors(case: &ErrorCase, log: &str) -> Option<String> {
    let missing: Vec<&String> = case
        .errors
        .iter()
        .filter(|e| !log.contains(e.as_str()))
        .collect();
    (!missing.is_empty()).then(|| format!("{}: {missing:?} not in the log:\n{log}", case.name))
}

/// A Struct's map is a list of entries on the wire, which may name a key twice; Envoy never
/// sends one (its YAML loader keeps one of two repeated keys), so only the harness can.
#[test]
fn a_struct_that_repeats_a_key_is_refused_in_the_harness() {
    let config = json!({"policies": [{"allow_origins": ["https://app.example.com"]}]});
    let once = structpb::encode(config.as_object().unwrap());
    let mut host = Host::real();
    assert!(!host.start(&[once.clone(), once].concat()).unwrap());
    assert_eq!(
        host.state().log_messages(),
        [
            "cors-wasm: invalid configuration: policies: the key is written more than once in \
          this object; write it once"
        ]
    );
}

#[test]
fn invalid_configurations_are_refused_in_the_harness() {
    let table = error_table();
    let mut failures = Vec::new();
    for case in &table.cases {
        let mut host = Host::real();
        let started = host.start(&error_configuration(case)).unwrap();
        let log = host.state().log_messages().join("\n");
        if started {
            failures.push(format!("{}: the configuration was accepted", case.name));
        } else {
            failures.extend(missing_errors(case, &log));
        }
    }
    fail_if_any(failures, table.cases.len());
}

#[test]
fn invalid_configurations_are_refused_by_envoy_with_both_builds() {
    let table = error_table();
    let mut failures = Vec::new();
    for chunk in table.cases.chunks(3) {
        std::thread::scope(|scope| {
            let running: Vec<_> = chunk
                .iter()
                .flat_map(|case| BUILDS.map(|build| (case, build)))
                .map(|(case, build)| {
                    scope.spawn(move || {
                        let filter = match &case.config {
                            Value::String(text) => cors_filter_text(build, text),
                            config => cors_filter(build, config, envoy_encoding(case.encoding)),
                        };
                        let routes =
                            json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
                        let log = Envoy::refuse(&bootstrap(vec![filter], routes, 9));
                        missing_errors(case, &log).map(|e| format!("{build:?}: {e}"))
                    })
                })
                .collect();
            for run in running {
                failures.extend(run.join().expect("a refusal's thread panicked"));
            }
        });
    }
    fail_if_any(failures, table.cases.len());
}
