//! Live reconfiguration in a real Envoy: the listener (and so the policy) comes from a file
//! Envoy watches (LDS with a `path_config_source`). A policy swapped while requests flow
//! fails none of them and applies; an invalid one is refused with its errors logged, and the
//! previous policy keeps serving.

mod support;

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::envoy::{bootstrap, wasm_filter, Encoding, Envoy, TempDir};
use support::http;
use support::upstream::Upstream;

const A: &str = "https://a.example.com";
const B: &str = "https://b.example.com";

/// The listener of a plain bootstrap, on a fixed port, as an LDS file's content.
fn lds(policy: &Value, upstream_port: u16, port: u16, version: u32) -> Value {
    let routes =
        json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let config = bootstrap(
        vec![wasm_filter(policy, Encoding::Struct)],
        routes,
        upstream_port,
    );
    let mut listener = config["static_resources"]["listeners"][0].clone();
    listener["@type"] = json!("type.googleapis.com/envoy.config.listener.v3.Listener");
    listener["address"]["socket_address"]["port_value"] = json!(port);
    json!({"version_info": version.to_string(), "resources": [listener]})
}

/// Replaces the watched file atomically, as Envoy's file watcher expects.
fn publish(dir: &TempDir, content: &Value) {
    let staged = dir.path().join("lds.staged");
    std::fs::write(&staged, content.to_string()).unwrap();
    std::fs::rename(&staged, dir.path().join("lds.json")).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the client thread saw: the allowed origin of each answer, or the failure.
type Seen = Arc<Mutex<Vec<Result<Option<String>, String>>>>;

fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_policy_swapped_under_load_applies_without_failing_a_request() {
    let upstream = Upstream::start();
    let lds_dir = TempDir::new();
    let port = free_port();
    let policy = |origins: Value| json!({"policies": [{"name": "api", "allow_origins": origins}]});
    publish(&lds_dir, &lds(&policy(json!([A])), upstream.port, port, 1));
    let mut config = bootstrap(vec![], json!([]), upstream.port);
    config["static_resources"]["listeners"] = json!([]);
    config["node"] = json!({"id": "reload-test", "cluster": "cors-wasm-tests"});
    config["dynamic_resources"] = json!({"lds_config": {
        "resource_api_version": "V3",
        "path_config_source": {
            "path": lds_dir.path().join("lds.json"),
            "watched_directory": {"path": lds_dir.path()},
        },
    }});
    let envoy = Envoy::start(&config);
    assert_eq!(envoy.port, port);

    let seen: Seen = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let answer = http::try_send(port, "GET", "/x", &[("origin", B.as_bytes())])
                    .and_then(|r| {
                        if r.status == 200 {
                            Ok(r.header("access-control-allow-origin"))
                        } else {
                            Err(format!("status {}", r.status))
                        }
                    });
                seen.lock().unwrap().push(answer);
            }
        })
    };
    let latest = || seen.lock().unwrap().last().cloned();
    wait_for("the first answers", Duration::from_secs(10), || {
        latest().is_some()
    });
    assert_eq!(latest(), Some(Ok(None)), "B is not allowed yet");

    publish(
        &lds_dir,
        &lds(&policy(json!([A, B])), upstream.port, port, 2),
    );
    wait_for("the new policy", Duration::from_secs(30), || {
        latest() == Some(Ok(Some(B.to_string())))
    });

    let invalid = policy(json!(["https://*.com"]));
    publish(&lds_dir, &lds(&invalid, upstream.port, port, 3));
    let error = r#"policies[0].allow_origins[0]: "https://*.com": a wildcard needs at least two labels after it"#;
    wait_for(
        "the invalid policy's error in the log",
        Duration::from_secs(30),
        || envoy.log().contains(error),
    );
    let answers_before = seen.lock().unwrap().len();
    wait_for("more answers", Duration::from_secs(10), || {
        seen.lock().unwrap().len() > answers_before + 20
    });

    stop.store(true, Ordering::SeqCst);
    client.join().unwrap();
    let seen = seen.lock().unwrap();
    eprintln!(
        "reload: {} requests, {} after the invalid policy",
        seen.len(),
        seen.len() - answers_before
    );
    let failures: Vec<_> = seen.iter().filter(|a| a.is_err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {failures:?}",
        failures.len(),
        seen.len()
    );
    assert!(
        seen[answers_before..]
            .iter()
            .all(|a| a == &Ok(Some(B.to_string()))),
        "the previous policy stopped serving after the invalid one"
    );
    assert!(
        envoy.log().contains("rejected"),
        "Envoy did not report the rejected update"
    );
}
