//! The wasmtime harness itself: the real module through its whole lifecycle, and
//! hand-written modules (`tests/wat/`) that misbehave, each of which must give a clear
//! error rather than a crash.

mod harness;

use harness::host::{headers, Action, Headers, Host, MetricKind, Reply};

const APP: &str = "https://app.example.com";

fn value<'h>(headers: &'h Headers, name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name.as_bytes())
        .map(|(_, v)| std::str::from_utf8(v).unwrap())
}

fn configured() -> Host {
    let mut host = Host::real();
    let config = format!(
        r#"{{"policies": [{{"allow_origins": ["{APP}"], "allow_methods": ["PUT"], "max_age": 60}}]}}"#
    );
    assert!(
        host.start(config.as_bytes()).unwrap(),
        "{:?}",
        host.state().logs
    );
    host
}

fn wat_module(file: &str) -> Vec<u8> {
    let path = format!("{}/tests/wat/{file}", env!("CARGO_MANIFEST_DIR"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The SDK links its whole ABI, so the module imports functions the filter never calls;
/// the harness leaves exactly these out (a call to one would fail with its name).
const NEVER_CALLED: &[&str] = &[
    "proxy_call_foreign_function",
    "proxy_close_stream",
    "proxy_continue_stream",
    "proxy_dequeue_shared_queue",
    "proxy_done",
    "proxy_enqueue_shared_queue",
    "proxy_get_shared_data",
    "proxy_get_status",
    "proxy_grpc_call",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_grpc_send",
    "proxy_grpc_stream",
    "proxy_http_call",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_set_buffer_bytes",
    "proxy_set_shared_data",
];

#[test]
fn the_real_module_gets_every_import_it_calls() {
    let host = Host::real();
    let missing: Vec<&String> = host
        .state()
        .unprovided
        .iter()
        .filter(|name| {
            let name = name.strip_prefix("env.").unwrap_or(name);
            !NEVER_CALLED.contains(&name)
        })
        .collect();
    assert!(missing.is_empty(), "the harness lacks {missing:?}");
}

#[test]
fn configure_logs_the_policy_count() {
    let host = configured();
    let logs = host.state().log_messages();
    assert!(
        logs.iter()
            .any(|l| l.starts_with("cors-wasm: configured 1 policies")),
        "{logs:?}"
    );
}

#[test]
fn an_invalid_configuration_is_refused_with_every_error_logged() {
    let mut host = Host::real();
    let config = br#"{"policies": [{"allow_origins": ["https://*.com"], "max_age": -1}]}"#;
    assert!(!host.start(config).unwrap());
    let logs = host.state().log_messages().join("\n");
    assert!(
        logs.contains(r#"policies[0].allow_origins[0]: "https://*.com""#),
        "{logs}"
    );
    assert!(logs.contains("policies[0].max_age"), "{logs}");
}

#[test]
fn a_preflight_is_answered_with_a_local_response() {
    let mut host = configured();
    let request = headers(&[
        (":method", "OPTIONS"),
        (":path", "/x"),
        (":authority", "api.example.com"),
        ("origin", APP),
        ("access-control-request-method", "PUT"),
    ]);
    let exchange = host
        .exchange(request, Reply::Upstream(headers(&[(":status", "200")])))
        .unwrap();
    assert_eq!(exchange.request_action, Action::Pause);
    assert!(!exchange.reached_upstream);
    let local = exchange.local_response.expect("a local response");
    assert_eq!(local.status, 204);
    assert!(local.body.is_empty());
    assert_eq!(
        value(&local.headers, "access-control-allow-origin"),
        Some(APP)
    );
    assert_eq!(value(&local.headers, "access-control-max-age"), Some("60"));
    // The client gets the local reply after the response callback has seen it.
    assert_eq!(value(&exchange.response_headers, ":status"), Some("204"));
}

#[test]
fn an_actual_response_is_decorated_in_the_response_map() {
    let mut host = configured();
    let request = headers(&[(":method", "GET"), (":path", "/x"), ("origin", APP)]);
    let upstream = headers(&[
        (":status", "200"),
        ("access-control-allow-origin", "https://evil.example"),
        ("vary", "Accept"),
    ]);
    let exchange = host.exchange(request, Reply::Upstream(upstream)).unwrap();
    assert_eq!(exchange.request_action, Action::Continue);
    assert!(exchange.reached_upstream);
    assert_eq!(exchange.local_response, None);
    assert_eq!(
        exchange.response_headers,
        headers(&[
            (":status", "200"),
            ("access-control-allow-origin", APP),
            ("vary", "Accept, Origin"),
        ])
    );
}

/// The header reads each kind of request makes, which bench/analysis.md weighs ("the reading
/// order"): an actual request and one without `Origin` make the wasm floor's two single reads
/// (`Access-Control-Request-Method`, then `Origin`) and one of the response map; a preflight
/// one single read, then the whole request map, and none of the reply it sends.
#[test]
fn requests_read_their_headers_one_by_one_and_a_preflight_reads_the_map_once() {
    let mut host = configured();
    let (value, map) = ("proxy_get_header_map_value", "proxy_get_header_map_pairs");
    let cases = [
        (
            vec![(":method", "GET"), ("origin", APP)],
            vec![value, value, map],
        ),
        (vec![(":method", "GET")], vec![value, value, map]),
        (
            vec![
                (":method", "OPTIONS"),
                ("origin", APP),
                ("access-control-request-method", "PUT"),
            ],
            vec![value, map],
        ),
    ];
    for (request, reads) in cases {
        host.state_mut().calls = Some(Vec::new());
        let upstream = Reply::Upstream(headers(&[(":status", "200")]));
        host.exchange(headers(&request), upstream).unwrap();
        let calls = host.state().calls.iter().flatten();
        let made: Vec<&str> = calls
            .copied()
            .filter(|c| c.starts_with("proxy_get_header_map"))
            .collect();
        assert_eq!(made, reads, "{request:?}");
    }
}

#[test]
fn a_denied_preflight_is_logged_at_debug_level() {
    let mut host = configured();
    let request = headers(&[
        (":method", "OPTIONS"),
        (":path", "/x"),
        ("origin", "https://evil.example"),
        ("access-control-request-method", "PUT"),
    ]);
    let exchange = host.exchange(request, Reply::Upstream(vec![])).unwrap();
    assert_eq!(exchange.local_response.unwrap().status, 403);
    let denial = host
        .state()
        .logs
        .iter()
        .find(|l| l.message.contains("denied"))
        .expect("a denial log line");
    assert_eq!(denial.level, 1);
    assert!(
        denial.message.contains("https://evil.example"),
        "{denial:?}"
    );
}

#[test]
fn report_only_counts_and_logs_the_decision_and_changes_nothing() {
    let mut host = Host::real();
    let config = format!(
        r#"{{"policies": [{{"name": "watch", "allow_origins": ["{APP}"], "report_only": true}}]}}"#
    );
    assert!(host.start(config.as_bytes()).unwrap());
    let request = headers(&[
        (":method", "OPTIONS"),
        (":path", "/x"),
        ("origin", "https://evil.example"),
        ("access-control-request-method", "PUT"),
    ]);
    let upstream = headers(&[(":status", "200"), ("vary", "Accept")]);
    let exchange = host
        .exchange(request, Reply::Upstream(upstream.clone()))
        .unwrap();
    assert!(exchange.reached_upstream);
    assert_eq!(exchange.local_response, None);
    assert_eq!(exchange.response_headers, upstream);
    // Counted as if enforced, in the policy's counters, which reach the host on a tick.
    host.tick().unwrap();
    let counter = |name: &str| {
        let metrics = &host.state().metrics;
        let found = metrics.iter().find(|m| m.name == name);
        found.map(|m| (m.kind, m.value))
    };
    assert_eq!(
        counter("cors_wasm.watch.preflight_denied"),
        Some((MetricKind::Counter, 1)),
        "{:?}",
        host.state().metrics
    );
    assert_eq!(
        counter("cors_wasm.watch.preflight_allowed"),
        Some((MetricKind::Counter, 0))
    );
    let logs = host.state().log_messages();
    assert!(
        logs.iter().any(|l| l.contains("watch")
            && l.contains("report only")
            && l.contains("evil.example")),
        "{logs:?}"
    );
}

#[test]
fn header_maps_have_envoys_semantics_and_metrics_are_kept() {
    let mut host = Host::load(&wat_module("header_edits.wat")).unwrap();
    assert!(host.start(b"").unwrap());
    let request = headers(&[("a", "1"), ("b", "1"), ("c", "1"), ("b", "2"), ("c", "2")]);
    let id = host.create_http_context().unwrap();
    assert_eq!(
        host.request_headers(id, request, true).unwrap(),
        Action::Continue
    );
    assert_eq!(
        host.state().request_headers,
        headers(&[("a", "1"), ("b", "new"), ("d", "1")])
    );
    let metric = &host.state().metrics[0];
    assert_eq!(
        (metric.name.as_str(), metric.kind, metric.value),
        ("requests", MetricKind::Counter, 1)
    );
}

#[test]
fn a_module_without_the_abi_export_is_refused() {
    let error = Host::load(&wat_module("no_abi.wat"))
        .err()
        .expect("an error");
    let message = format!("{error:?}");
    assert!(
        message
            .contains("not a proxy-wasm 0.2.1 module: it does not export proxy_abi_version_0_2_1"),
        "{message}"
    );
}

#[test]
fn an_allocator_pointer_outside_memory_is_an_error() {
    let mut host = Host::load(&wat_module("bad_allocator.wat")).unwrap();
    let message = format!("{:?}", host.start(b"{}").unwrap_err());
    assert!(
        message.contains(
            "proxy_get_buffer_bytes: proxy_on_memory_allocate(2) returned 0x7fff0000, outside the module's memory of 65536 bytes"
        ),
        "{message}"
    );
    assert!(message.contains("proxy_on_configure failed"), "{message}");
}

#[test]
fn a_pointer_outside_memory_is_an_error() {
    let mut host = Host::load(&wat_module("bad_pointer.wat")).unwrap();
    let message = format!("{:?}", host.start(b"").unwrap_err());
    assert!(
        message.contains(
            "proxy_log: cannot read 16 bytes at 0xfff8: outside the module's memory of 65536 bytes"
        ),
        "{message}"
    );
}

#[test]
fn a_host_function_the_harness_lacks_fails_with_its_name() {
    let mut host = Host::load(&wat_module("unprovided_import.wat")).unwrap();
    assert_eq!(host.state().unprovided, ["env.proxy_call_foreign_function"]);
    let message = format!("{:?}", host.start(b"").unwrap_err());
    assert!(
        message.contains(
            "the module called env.proxy_call_foreign_function, which the test host does not provide"
        ),
        "{message}"
    );
}

#[test]
fn the_map_serialization_round_trips() {
    let pairs = headers(&[(":status", "200"), ("vary", ""), ("x", "a\u{0}b")]);
    let bytes = harness::abi::serialize(&pairs);
    assert_eq!(harness::abi::deserialize(&bytes), Some(pairs));
    assert_eq!(harness::abi::deserialize(&bytes[..bytes.len() - 2]), None);
}

#[test]
fn counts_not_yet_flushed_survive_a_reconfigure() {
    let mut host = Host::real();
    let config = format!(r#"{{"policies": [{{"name": "api", "allow_origins": ["{APP}"]}}]}}"#);
    assert!(host.start(config.as_bytes()).unwrap());
    let request = || headers(&[(":method", "GET"), (":path", "/x"), ("origin", APP)]);
    let upstream = headers(&[(":status", "200")]);
    for _ in 0..3 {
        host.exchange(request(), Reply::Upstream(upstream.clone()))
            .unwrap();
    }
    // No tick yet: the three counts are still in the module when the update arrives.
    assert!(host.reconfigure(config.as_bytes()).unwrap());
    host.exchange(request(), Reply::Upstream(upstream)).unwrap();
    host.tick().unwrap();
    let allowed = host
        .state()
        .metrics
        .iter()
        .find(|m| m.name == "cors_wasm.api.actual_allowed")
        .map(|m| (m.kind, m.value));
    assert_eq!(
        allowed,
        Some((MetricKind::Counter, 4)),
        "{:?}",
        host.state().metrics
    );
}

/// Every host call the filter makes, answered with statuses proxy-wasm 0.2.5's wrappers
/// panicked on, aborting the VM (BadArgument, InternalFailure, Unimplemented, and one the ABI
/// does not define): the module logs the status and goes on, never traps, and once the host
/// answers again it serves as the policy says.
#[test]
fn a_host_call_that_fails_is_logged_and_never_kills_the_vm() {
    let config = format!(
        r#"{{"policies": [{{"name": "routed", "match": {{"routes": ["other"]}}, "allow_origins": ["*"]}},
                          {{"name": "api", "allow_origins": ["{APP}"], "allow_methods": ["PUT"]}}]}}"#
    );
    let calls = [
        "proxy_get_log_level",
        "proxy_get_buffer_bytes",
        "proxy_get_current_time_nanoseconds",
        "proxy_set_tick_period_milliseconds",
        "proxy_define_metric",
        "proxy_get_property",
        "proxy_get_header_map_value",
        "proxy_get_header_map_pairs",
        "proxy_send_local_response",
        "proxy_replace_header_map_value",
        "proxy_add_header_map_value",
        "proxy_remove_header_map_value",
        "proxy_increment_metric",
        "proxy_record_metric",
        "proxy_log",
    ];
    let preflight = headers(&[
        (":method", "OPTIONS"),
        (":path", "/p"),
        ("origin", APP),
        ("access-control-request-method", "PUT"),
    ]);
    let actual = headers(&[(":method", "GET"), (":path", "/a"), ("origin", APP)]);
    let upstream = headers(&[
        (":status", "200"),
        ("vary", "Accept"),
        ("access-control-max-age", "1"),
    ]);
    for call in calls {
        for status in [2, 10, 12, 99] {
            let what = format!("{call} answering {status}");
            let mut host = Host::real();
            let state = host.state_mut();
            state.refuse.insert(call.to_string(), status);
            state
                .properties
                .insert("xds.route_name".into(), b"api".to_vec());
            let started = host
                .start(config.as_bytes())
                .unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!(started, call != "proxy_get_buffer_bytes", "{what}");
            if started {
                for request in [&preflight, &actual] {
                    let reply = Reply::Upstream(upstream.clone());
                    let exchange = host.exchange(request.clone(), reply);
                    exchange.unwrap_or_else(|e| panic!("{what}: {e:?}"));
                }
                if host.state().tick_period_ms > 0 {
                    host.tick().unwrap_or_else(|e| panic!("{what}: {e:?}"));
                }
            }
            let log = host.state().log_messages().join("\n");
            if call != "proxy_log" {
                assert!(log.contains(&format!("status {status}")), "{what}: {log}");
            }
            if !started {
                continue;
            }
            host.state_mut().refuse.clear();
            let preflight = host
                .exchange(preflight.clone(), Reply::Upstream(upstream.clone()))
                .unwrap();
            let local = preflight.local_response.expect("answered again");
            assert_eq!(local.status, 204, "{what}");
            let allowed = host
                .exchange(actual.clone(), Reply::Upstream(upstream.clone()))
                .unwrap();
            assert_eq!(
                value(&allowed.response_headers, "access-control-allow-origin"),
                Some(APP),
                "{what}"
            );
        }
    }
}

/// A preflight whose local reply the host refuses goes on upstream rather than waiting for
/// a reply that never comes, and its response carries no CORS header: a refusal.
#[test]
fn a_refused_local_reply_lets_the_preflight_on_without_cors_headers() {
    let mut host = configured();
    host.state_mut()
        .refuse
        .insert("proxy_send_local_response".into(), 2);
    let preflight = headers(&[
        (":method", "OPTIONS"),
        (":path", "/p"),
        ("origin", APP),
        ("access-control-request-method", "PUT"),
    ]);
    let upstream = headers(&[(":status", "200"), ("access-control-allow-origin", "*")]);
    let exchange = host.exchange(preflight, Reply::Upstream(upstream)).unwrap();
    assert_eq!(exchange.request_action, Action::Continue);
    assert!(exchange.reached_upstream);
    assert_eq!(
        value(&exchange.response_headers, "access-control-allow-origin"),
        None
    );
    assert_eq!(value(&exchange.response_headers, "vary"), Some("Origin"));
    assert!(host
        .state()
        .log_messages()
        .contains(&"cors-wasm: the host refused a local response: status 2 (BadArgument)"));
}

/// A metric the host refuses is logged once and not offered again, so a host that refuses
/// them all costs one line per metric, not one per metric every second.
#[test]
fn a_refused_metric_is_logged_once_and_dropped() {
    let mut host = configured();
    host.state_mut()
        .refuse
        .insert("proxy_increment_metric".into(), 2);
    let request = headers(&[(":method", "GET"), (":path", "/"), ("origin", APP)]);
    for _ in 0..3 {
        let upstream = Reply::Upstream(headers(&[(":status", "200")]));
        host.exchange(request.clone(), upstream).unwrap();
        host.tick().unwrap();
    }
    let refusals = host
        .state()
        .log_messages()
        .iter()
        .filter(|line| line.contains("refused a metric"))
        .count();
    assert_eq!(refusals, 1, "{:?}", host.state().log_messages());
}
