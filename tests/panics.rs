//! No panic reaches Envoy: the dynamic module's test build (`--cfg cors_wasm_panic_probe`) panics
//! on demand at each entry point that runs our code, in a real Envoy, which must give the
//! defined answer and go on serving.

mod support;

use serde_json::json;
use support::envoy::{bootstrap, dynamic_module_filter, panic_probe_dir, Encoding, Envoy};
use support::upstream::Upstream;

const APP: &str = "https://app.example.com";

fn start() -> (Envoy, Upstream) {
    let policy = json!({"policies": [{"name": "api", "allow_origins": [APP]}]});
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let upstream = Upstream::start();
    let config = bootstrap(
        vec![dynamic_module_filter(&policy, Encoding::Struct)],
        routes,
        upstream.port,
    );
    let envoy = Envoy::start_with_modules(&config.to_string(), "json", &panic_probe_dir());
    (envoy, upstream)
}

/// Envoy still serves, and the filter still applies the policy.
fn still_serving(envoy: &Envoy) {
    let response = envoy.request("GET", "/after", &[("origin", APP)]);
    assert_eq!(response.status, 200, "{}", envoy.log());
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
}

#[test]
fn a_panic_deciding_a_request_answers_503_and_never_reaches_the_upstream() {
    let (envoy, upstream) = start();
    let response = envoy.request(
        "GET",
        "/request",
        &[("origin", APP), ("x-cors-wasm-panic", "request")],
    );
    assert_eq!(response.status, 503);
    assert!(response.body.is_empty());
    assert_eq!(response.cors(), vec![]);
    assert!(upstream.requests_to("/request").is_empty());
    let log = envoy.log();
    assert!(
        log.contains("cors-wasm: panic caught at the Envoy boundary")
            && log.contains("the panic probe, in the request phase"),
        "{log}"
    );
    still_serving(&envoy);
}

#[test]
fn a_panic_on_the_response_passes_the_response_unchanged() {
    let (envoy, upstream) = start();
    let response = envoy.request(
        "GET",
        "/response",
        &[("origin", APP), ("x-cors-wasm-panic", "response")],
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.cors(), vec![]);
    assert_eq!(upstream.requests_to("/response").len(), 1);
    assert!(envoy
        .log()
        .contains("the panic probe, in the response phase"));
    still_serving(&envoy);
}

#[test]
fn a_panic_while_configuring_refuses_the_filter() {
    let policy = json!({"policies": [{"allow_origins": [APP]}]});
    let mut filter = dynamic_module_filter(&policy, Encoding::Json);
    filter["typed_config"]["filter_name"] = json!("panic-probe");
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let log = Envoy::refuse_with_modules(&bootstrap(vec![filter], routes, 9), &panic_probe_dir());
    assert!(
        log.contains("the panic probe, at configure time")
            && log.contains("Failed to initialize dynamic module"),
        "{log}"
    );
}
