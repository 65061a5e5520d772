//! What operators see in a real Envoy: counters per policy in the admin `/stats`, one debug
//! log line per denial, and `report_only` deciding without changing anything.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::envoy::{bootstrap, wasm_filter, Encoding, Envoy};
use support::http;
use support::upstream::Upstream;

const APP: &str = "https://app.example.com";

fn start() -> (Envoy, Upstream) {
    let policies = json!({"policies": [
        {"name": "audit", "match": {"path_prefixes": ["/audit/"]}, "allow_origins": [APP], "report_only": true},
        {"name": "api", "allow_origins": [APP], "allow_methods": ["PUT"]},
    ]});
    let routes =
        json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let upstream = Upstream::start();
    let config = bootstrap(
        vec![wasm_filter(&policies, Encoding::Struct)],
        routes,
        upstream.port,
    );
    (Envoy::start(&config), upstream)
}

/// The counter's value in the admin `/stats`; absent counts as a failure.
fn counter(envoy: &Envoy, name: &str) -> u64 {
    let stats = http::request(envoy.admin_port, "GET", "/stats?filter=cors_wasm", &[]);
    let text = String::from_utf8_lossy(&stats.body).into_owned();
    let line = text
        .lines()
        .find(|l| {
            l.split(':')
                .next()
                .is_some_and(|n| n.ends_with(&format!("cors_wasm.{name}")))
        })
        .unwrap_or_else(|| panic!("no counter cors_wasm.{name} in /stats:\n{text}"));
    line.rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

/// Counts reach Envoy once a second: wait for the expected value, then check it stays.
fn assert_counter(envoy: &Envoy, name: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while counter(envoy, name) != expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(counter(envoy, name), expected, "cors_wasm.{name}");
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

#[test]
fn every_decision_is_counted_per_policy() {
    let (envoy, _upstream) = start();
    preflight(&envoy, "/a", APP, "PUT");
    preflight(&envoy, "/a", APP, "PUT");
    preflight(&envoy, "/a", APP, "PATCH");
    envoy.request("GET", "/a", &[("origin", APP)]);
    envoy.request("GET", "/a", &[("origin", "https://evil.example")]);
    envoy.request("GET", "/a", &[("origin", "https://evil.example")]);
    envoy.request("GET", "/a", &[]);
    assert_counter(&envoy, "api.preflight_allowed", 2);
    assert_counter(&envoy, "api.preflight_denied", 1);
    assert_counter(&envoy, "api.actual_allowed", 1);
    assert_counter(&envoy, "api.actual_denied", 2);
    assert_counter(&envoy, "api.no_origin", 1);
    assert_counter(&envoy, "audit.preflight_denied", 0);
    let memory = counter(&envoy, "memory_bytes");
    assert!(
        memory >= 65_536 && memory.is_multiple_of(65_536),
        "linear memory is whole wasm pages: {memory}"
    );
}

#[test]
fn each_denial_is_logged_once_with_its_reason() {
    let (envoy, _upstream) = start();
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

#[test]
fn report_only_decides_counts_and_logs_but_changes_nothing() {
    let (envoy, upstream) = start();
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
    assert_counter(&envoy, "audit.preflight_denied", 1);
    assert_counter(&envoy, "audit.actual_allowed", 1);
    let log = envoy.log();
    assert!(
        log.contains(r#"cors-wasm: policy audit: denied (report only): origin "https://evil.example" is not allowed"#),
        "{log}"
    );
}
