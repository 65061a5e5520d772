//! The conformance table (`tests/conformance/*.json`, described in its README) run through
//! both hosts: the wasmtime harness and a real Envoy. Every case must give its expected
//! result in each, and the two hosts must agree; a failure names the file and the case.

mod harness;
mod support;

use harness::host::{Host, Reply};
use harness::structpb;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::Path;
use support::conformance::{
    cases_on_disk, check, envoy_codec, fail_if_any, observe, tables, Case, ConfigEncoding, Headers,
    Loaded, Observed, Response, Table, ENVOY_INLINE_REQUEST, ENVOY_INLINE_RESPONSE,
};
use support::envoy::{
    bootstrap, cors_filter, cors_filter_text, envoy_bin, Build, Encoding, Envoy, BUILDS,
};
use support::releases::{envoy_release, RELEASES};
use support::upstream::Upstream;

fn plugin_configuration(table: &Table) -> Vec<u8> {
    match table.encoding {
        ConfigEncoding::Json => table.config.to_string().into_bytes(),
        ConfigEncoding::Struct => {
            structpb::encode(table.config.as_object().expect("config is an object"))
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
