//! What operators see in a real Envoy: counters per policy in the admin `/stats`, read once
//! further flushes have passed; the log lines of docs/operations.md in their exact formats
//! (configure, warnings, denials, a refused configuration's errors); and `report_only`
//! deciding without changing anything.

#[macro_use]
mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::envoy::{bootstrap, cors_filter, Build, Encoding, Envoy};
use support::http;
use support::upstream::Upstream;

const APP: &str = "https://app.example.com";

fn start(build: Build) -> (Envoy, Upstream) {
    let policies = json!({"policies": [
        {"name": "audit", "match": {"path_prefixes": ["/audit/"]}, "allow_origins": [APP], "report_only": true},
        {"name": "marker", "match": {"path_prefixes": ["/marker/"]}, "allow_origins": [APP]},
        {"name": "api", "allow_origins": [APP], "allow_methods": ["PUT"]},
    ]});
    let routes =
        json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let upstream = Upstream::start();
    let config = bootstrap(
        vec![cors_filter(build, &policies, Encoding::Struct)],
        routes,
        upstream.port,
    );
    (Envoy::start(&config), upstream)
}

/// The counter's value in the admin `/stats`, under the name docs/operations.md gives it;
/// absent counts as a failure.
fn counter(envoy: &Envoy, build: Build, name: &str) -> u64 {
    let stats = http::request(envoy.admin_port, "GET", "/stats?filter=cors_wasm", &[]);
    let text = String::from_utf8_lossy(&stats.body).into_owned();
    let full = match build {
        Build::Wasm => format!("wasmcustom.cors_wasm.{name}"),
        Build::DynamicModule => format!("dynamicmodulescustom.cors_wasm.{name}"),
    };
    let line = text
        .lines()
        .find(|l| l.split(':').next() == Some(&full))
        .unwrap_or_else(|| panic!("no counter {full} in /stats:\n{text}"));
    line.rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

/// Counts reach Envoy once a second from wasm: wait for the expected value.
fn assert_counter(envoy: &Envoy, build: Build, name: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while counter(envoy, build, name) != expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(counter(envoy, build, name), expected, "cors_wasm.{name}");
}

/// Returns once every count of the requests sent so far has reached `/stats`, and at least
/// one more flush has followed: a request without `Origin` to the `marker` policy, once its
/// count shows, says the counts before it arrived (the module flushes them all at once), and
/// a second marker, sent after that, can only show after a later flush. `markers` is how
/// many were sent before, and is advanced.
fn settle(envoy: &Envoy, build: Build, markers: &mut u64) {
    for _ in 0..2 {
        envoy.request("GET", "/marker/", &[]);
        *markers += 1;
        assert_counter(envoy, build, "marker.no_origin", *markers);
    }
}

/// Each counter has exactly its value, read after [`settle`]: a count that is still to
/// change (a flush counting twice, a zero that moves) fails here.
fn assert_settled(envoy: &Envoy, build: Build, markers: &mut u64, expected: &[(&str, u64)]) {
    settle(envoy, build, markers);
    let actual: Vec<(&str, u64)> = expected
        .iter()
        .map(|&(name, _)| (name, counter(envoy, build, name)))
        .collect();
    assert_eq!(actual, expected, "cors_wasm counters after further flushes");
}

fn preflight(envoy: &Envoy, path: &str, origin: &str, method: &str) -> http::Response {
    envoy.request(
        "OPTIONS",
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", method),
        ],
    )
}

fn every_decision_is_counted_per_policy(build: Build) {
    let (envoy, _upstream) = start(build);
    preflight(&envoy, "/a", APP, "PUT");
    preflight(&envoy, "/a", APP, "PUT");
    preflight(&envoy, "/a", APP, "PATCH");
    envoy.request("GET", "/a", &[("origin", APP)]);
    envoy.request("GET", "/a", &[("origin", "https://evil.example")]);
    envoy.request("GET", "/a", &[("origin", "https://evil.example")]);
    envoy.request("GET", "/a", &[]);
    let mut markers = 0;
    assert_settled(
        &envoy,
        build,
        &mut markers,
        &[
            ("api.preflight_allowed", 2),
            ("api.preflight_denied", 1),
            ("api.actual_allowed", 1),
            ("api.actual_denied", 2),
            ("api.no_origin", 1),
            ("audit.preflight_allowed", 0),
            ("audit.preflight_denied", 0),
            ("audit.actual_allowed", 0),
            ("audit.actual_denied", 0),
            ("audit.no_origin", 0),
        ],
    );
    // More requests add to the counts; nothing else moves.
    preflight(&envoy, "/a", APP, "PUT");
    envoy.request("GET", "/a", &[("origin", "https://evil.example")]);
    assert_settled(
        &envoy,
        build,
        &mut markers,
        &[
            ("api.preflight_allowed", 3),
            ("api.preflight_denied", 1),
            ("api.actual_allowed", 1),
            ("api.actual_denied", 3),
            ("api.no_origin", 1),
            ("audit.preflight_denied", 0),
        ],
    );
    if build == Build::Wasm {
        let memory = counter(&envoy, build, "memory_bytes");
        assert!(
            memory >= 65_536 && memory.is_multiple_of(65_536),
            "linear memory is whole wasm pages: {memory}"
        );
    }
}

fn each_denial_is_logged_once_with_its_reason(build: Build) {
    let (envoy, _upstream) = start(build);
    preflight(&envoy, "/a", APP, "PATCH");
    envoy.request("GET", "/a", &[("origin", "https://evil.example")]);
    let log = envoy.log();
    let lines = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        lines(r#"cors-wasm: policy api: denied: method "PATCH" is not allowed"#),
        1,
        "{log}"
    );
    assert_eq!(
        lines(r#"cors-wasm: policy api: denied: origin "https://evil.example" is not allowed"#),
        1,
        "{log}"
    );
}

fn report_only_decides_counts_and_logs_but_changes_nothing(build: Build) {
    let (envoy, upstream) = start(build);
    let denied = preflight(&envoy, "/audit/x", "https://evil.example", "PUT");
    assert_eq!(denied.status, 200, "answered by the upstream");
    assert_eq!(upstream.requests_to("/audit/x").len(), 1);
    let allowed = envoy.request(
        "GET",
        "/audit/y",
        &[
            ("origin", APP),
            (
                "x-upstream-header",
                "access-control-allow-origin: https://upstream.example",
            ),
        ],
    );
    assert_eq!(
        allowed.cors(),
        [(
            "access-control-allow-origin".to_string(),
            "https://upstream.example".to_string()
        )]
    );
    assert_eq!(allowed.header("vary"), None);
    assert_settled(
        &envoy,
        build,
        &mut 0,
        &[
            ("audit.preflight_allowed", 0),
            ("audit.preflight_denied", 1),
            ("audit.actual_allowed", 1),
            ("audit.actual_denied", 0),
            ("api.preflight_denied", 0),
            ("api.actual_allowed", 0),
        ],
    );
    let log = envoy.log();
    assert!(
        log.contains(r#"cors-wasm: policy audit: denied (report only): origin "https://evil.example" is not allowed"#),
        "{log}"
    );
}

/// cors-wasm's own log messages, from `start` on, in order: each line of Envoy's log that
/// holds `start` gives the text from there (Envoy's prefix of time, level and logger dropped).
fn messages(log: &str, start: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| line.find(start).map(|at| line[at..].to_string()))
        .collect()
}

/// The log lines of docs/operations.md ("Logs"), as Envoy prints them: at configure, one
/// line with the count and time and one per warning; per denial, one line naming the policy
/// and the reason, the request's value quoted, escaped and cut at 128 bytes.
fn log_lines_have_the_documented_formats(build: Build) {
    let policies = json!({"policies": [
        {"name": "gateway", "match": {"path_prefixes": ["/gateway/"]}, "cors": {"allowOrigins": ["https://*.com"]}},
        {"name": "api", "allow_origins": [APP], "allow_methods": ["PUT"]},
    ]});
    let routes =
        json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let upstream = Upstream::start();
    let filter = cors_filter(build, &policies, Encoding::Json);
    let envoy = Envoy::start(&bootstrap(vec![filter], routes, upstream.port));
    let quoted = r#"https://e"v\il.example"#;
    let long = format!("https://{}.example", "a".repeat(200));
    preflight(&envoy, "/a", APP, "PATCH");
    envoy.request("GET", "/a", &[("origin", &format!("{quoted}\tx"))]);
    envoy.request("GET", "/a", &[("origin", &long)]);
    envoy.request("GET", "/a", &[("origin", APP)]);
    let log = envoy.log();

    let configured = messages(&log, "cors-wasm: configured ");
    assert!(!configured.is_empty(), "no configure line:\n{log}");
    for line in &configured {
        let took = line
            .strip_prefix("cors-wasm: configured 2 policies in ")
            .and_then(|rest| rest.strip_suffix(" ms"))
            .and_then(|ms| ms.split_once('.'));
        assert!(
            took.is_some_and(|(whole, tenths)| {
                !whole.is_empty()
                    && whole.bytes().all(|b| b.is_ascii_digit())
                    && tenths.len() == 1
                    && tenths.bytes().all(|b| b.is_ascii_digit())
            }),
            "not \"cors-wasm: configured N policies in T ms\": {line:?}"
        );
    }
    // One warning line each time the plugin is configured (Envoy may configure it per thread).
    let warning = r#"cors-wasm: configuration warning: policies[0].cors.allowOrigins[0]: "https://*.com": allows every site under the top-level domain "com""#;
    assert_eq!(
        messages(&log, "cors-wasm: configuration warning: "),
        vec![warning; configured.len()],
        "{log}"
    );
    let cut = &long.as_bytes()[..128];
    assert_eq!(
        messages(&log, "cors-wasm: policy "),
        [
            r#"cors-wasm: policy api: denied: method "PATCH" is not allowed"#.to_string(),
            r#"cors-wasm: policy api: denied: origin "https://e\"v\\il.example\x09x" is not allowed"#.to_string(),
            format!(
                r#"cors-wasm: policy api: denied: origin "{}"... is not allowed"#,
                String::from_utf8_lossy(cut)
            ),
        ],
        "{log}"
    );
}

/// docs/operations.md: a configuration with errors is refused with "one `cors-wasm: invalid
/// configuration: <path>: <message>` line per error".
fn a_refused_configuration_logs_one_line_per_error(build: Build) {
    let policies = json!({"policies": [
        {"name": "api", "allow_origins": ["https://app.example.com/"], "max_age": 90000},
        {"allow_origins": ["https://*.com"]},
    ]});
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let log = Envoy::refuse(&bootstrap(
        vec![cors_filter(build, &policies, Encoding::Json)],
        routes,
        9,
    ));
    assert_eq!(
        messages(&log, "cors-wasm: invalid configuration: "),
        [
            r#"cors-wasm: invalid configuration: policies[0].allow_origins[0]: "https://app.example.com/": an origin has no trailing slash"#,
            "cors-wasm: invalid configuration: policies[0].max_age: 90000: must be a whole number from 0 to 86400",
            r#"cors-wasm: invalid configuration: policies[1].allow_origins[0]: "https://*.com": a wildcard needs at least two labels after it"#,
        ],
        "{log}"
    );
    assert_eq!(
        messages(&log, "cors-wasm: configured "),
        Vec::<String>::new()
    );
}

for_both_builds!(
    every_decision_is_counted_per_policy,
    each_denial_is_logged_once_with_its_reason,
    report_only_decides_counts_and_logs_but_changes_nothing,
    log_lines_have_the_documented_formats,
    a_refused_configuration_logs_one_line_per_error,
);
