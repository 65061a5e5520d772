//! Soak: a million requests through the real module in the wasmtime harness. After warm-up
//! the module's linear memory must not grow, every request must get its defined answer, and
//! the counters must account for every one.

mod harness;

use harness::host::{headers, Host, Reply};

const APP: &str = "https://app.example.com";
const TOTAL: usize = 1_000_000;
const WARM_UP: usize = 20_000;

#[test]
fn a_million_requests_leave_the_modules_memory_flat() {
    let mut host = Host::real();
    host.state_mut().log_level = 2; // info: denials log at debug, which this run need not keep
    let config = format!(
        r#"{{"policies": [{{"name": "soak", "allow_origins": ["{APP}", "https://*.example.com"],
            "allow_methods": ["PUT"], "allow_headers": ["content-type"], "expose_headers": ["x-id"],
            "allow_credentials": true, "max_age": 60}}]}}"#
    );
    assert!(
        host.start(config.as_bytes()).unwrap(),
        "{:?}",
        host.state().logs
    );
    let preflight = |origin: &str| {
        headers(&[
            (":method", "OPTIONS"),
            (":path", "/"),
            ("origin", origin),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type"),
        ])
    };
    let actual = |origin: Option<&str>| {
        let mut h = headers(&[(":method", "GET"), (":path", "/")]);
        h.extend(origin.map(|o| (b"origin".to_vec(), o.as_bytes().to_vec())));
        h
    };
    let kinds = [
        (preflight(APP), Some(204)),
        (preflight("https://evil.example"), Some(403)),
        (actual(Some("https://a.b.example.com")), None),
        (actual(Some("https://evil.example")), None),
        (actual(None), None),
    ];
    let upstream = headers(&[
        (":status", "200"),
        ("vary", "accept"),
        ("access-control-allow-origin", "*"),
    ]);
    let mut after_warm_up = 0;
    for i in 0..TOTAL {
        if i == WARM_UP {
            after_warm_up = host.memory_bytes();
        }
        let (request, local_status) = &kinds[i % kinds.len()];
        let exchange = host
            .exchange(request.clone(), Reply::Upstream(upstream.clone()))
            .unwrap();
        assert_eq!(
            exchange.local_response.as_ref().map(|l| l.status),
            *local_status,
            "request {i}"
        );
    }
    host.tick().unwrap();
    assert_eq!(
        host.memory_bytes(),
        after_warm_up,
        "linear memory grew after warm-up"
    );
    let gauge = host
        .state()
        .metrics
        .iter()
        .find(|m| m.name == "cors_wasm.memory_bytes");
    assert_eq!(
        gauge.map(|m| m.value),
        Some(after_warm_up as i64),
        "the module's memory gauge"
    );
    let counted: i64 = host
        .state()
        .metrics
        .iter()
        .filter(|m| m.name.starts_with("cors_wasm.soak."))
        .map(|m| m.value)
        .sum();
    assert_eq!(counted, TOTAL as i64, "{:?}", host.state().metrics);
    eprintln!(
        "soak: {TOTAL} requests; linear memory {after_warm_up} bytes after warm-up and at the end"
    );
}
