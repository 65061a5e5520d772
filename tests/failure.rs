//! Failure behaviour, as the examples configure it (`fail_open: false`): a module that cannot
//! load keeps Envoy from starting instead of serving without CORS; a VM that fails while
//! serving turns the filter's requests into errors instead of letting them through unchecked.

mod support;

use serde_json::json;
use support::envoy::{bootstrap, wasm_filter, Encoding, Envoy, TempDir};
use support::upstream::Upstream;

fn routes() -> serde_json::Value {
    json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}])
}

/// The wasm filter, pointed at another module file.
fn filter_with_module(path: &std::path::Path) -> serde_json::Value {
    let mut filter = wasm_filter(
        &json!({"policies": [{"allow_origins": ["*"]}]}),
        Encoding::Struct,
    );
    let config = &mut filter["typed_config"]["config"];
    config["vm_config"]["code"]["local"]["filename"] = json!(path);
    config["fail_open"] = json!(false);
    filter
}

#[test]
fn a_module_that_cannot_load_keeps_envoy_from_starting() {
    let dir = TempDir::new();
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x01\0\0\0 this is not a module").unwrap();
    let log = Envoy::refuse(&bootstrap(vec![filter_with_module(&broken)], routes(), 9));
    assert!(
        log.contains("Failed to parse corrupted Wasm module"),
        "{log}"
    );
    assert!(
        log.contains("Unable to create Wasm plugin cors-wasm"),
        "{log}"
    );
}

/// A proxy-wasm module that traps on every request's headers, as a crashed VM would.
const TRAPPING: &str = r#"
(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $at))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))
"#;

#[test]
fn a_vm_that_fails_while_serving_fails_closed() {
    let dir = TempDir::new();
    let module = dir.path().join("trapping.wasm");
    std::fs::write(&module, wat::parse_str(TRAPPING).unwrap()).unwrap();
    let upstream = Upstream::start();
    let envoy = Envoy::start(&bootstrap(
        vec![filter_with_module(&module)],
        routes(),
        upstream.port,
    ));
    let first = envoy.request("GET", "/first", &[("origin", "https://app.example.com")]);
    let second = envoy.request("GET", "/second", &[("origin", "https://app.example.com")]);
    // docs/operations.md: "answers requests through the filter with 503 and an empty body".
    for (which, response) in [("the failing request", &first), ("the next", &second)] {
        assert_eq!(response.status, 503, "{which}: {response:?}");
        assert_eq!(
            String::from_utf8_lossy(&response.body),
            "",
            "{which}: {response:?}"
        );
        assert_eq!(response.cors(), [], "{which}: {response:?}");
    }
    assert!(
        upstream.requests_to("/first").is_empty() && upstream.requests_to("/second").is_empty()
    );
    let log = envoy.log();
    assert!(
        log.contains(
            "Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable"
        ),
        "{log}"
    );
}
