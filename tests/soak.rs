//! Soak: requests through the real module in the wasmtime harness. After warm-up the module's
//! linear memory must not grow, every request must get its defined answer, and the counters
//! must account for every one. The suite sends 100,000 (five times the warm-up);
//! `./build.sh soak` sends a million (`CORS_SOAK_REQUESTS`).

mod harness;

use harness::host::{headers, Host, Reply};

const APP: &str = "https://app.example.com";
const WARM_UP: usize = 20_000;

/// `CORS_SOAK_REQUESTS`, or 100,000.
fn total() -> usize {
    let variable = std::env::var("CORS_SOAK_REQUESTS");
    let total = variable.map_or(Ok(100_000), |v| v.parse());
    let total = total.expect("CORS_SOAK_REQUESTS is a number of requests");
    assert!(
        total >= 2 * WARM_UP,
        "a soak sends at least {} requests",
        2 * WARM_UP
    );
    total
}

#[test]
fn requests_past_warm_up_leave_the_modules_memory_flat() {
    let total = total();
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
    for i in 0..total {
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
    assert_eq!(counted, total as i64, "{:?}", host.state().metrics);
    eprintln!(
        "soak: {total} requests; linear memory {after_warm_up} bytes after warm-up and at the end"
    );
}
