//! What operators see in a real Envoy: counters per policy in the admin `/stats`, one debug
//! log line per denial, and `report_only` deciding without changing anything.

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
    assert_counter(&envoy, build, "api.preflight_allowed", 2);
    assert_counter(&envoy, build, "api.preflight_denied", 1);
    assert_counter(&envoy, build, "api.actual_allowed", 1);
    assert_counter(&envoy, build, "api.actual_denied", 2);
    assert_counter(&envoy, build, "api.no_origin", 1);
    assert_counter(&envoy, build, "audit.preflight_denied", 0);
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
    assert_counter(&envoy, build, "audit.preflight_denied", 1);
    assert_counter(&envoy, build, "audit.actual_allowed", 1);
    let log = envoy.log();
    assert!(
        log.contains(r#"cors-wasm: policy audit: denied (report only): origin "https://evil.example" is not allowed"#),
        "{log}"
    );
}

for_both_builds!(
    every_decision_is_counted_per_policy,
    each_denial_is_logged_once_with_its_reason,
    report_only_decides_counts_and_logs_but_changes_nothing,
);
