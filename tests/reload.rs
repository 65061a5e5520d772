//! Live reconfiguration in a real Envoy: the listener (and so the policy) comes from a file
//! Envoy watches (LDS with a `path_config_source`). A policy swapped while requests flow
//! fails none of them and applies; a request in flight during a swap finishes on the old
//! policy; an invalid policy, or a module that cannot load, is refused, and the previous
//! policy keeps serving.

#[macro_use]
mod support;

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use support::envoy::{cors_filter, wasm_filter, Build, Encoding, Envoy, TempDir};
use support::http;
use support::lds::{bootstrap_watching, free_port, listener as lds_with, publish, wait_for};
use support::upstream::Upstream;

const A: &str = "https://a.example.com";
const B: &str = "https://b.example.com";

/// The listener of a plain bootstrap, on a fixed port, as an LDS file's content.
fn lds(policy: &Value, upstream_port: u16, port: u16, version: u32) -> Value {
    lds_with(
        wasm_filter(policy, Encoding::Struct),
        upstream_port,
        port,
        version,
    )
}

/// What the client thread saw: the allowed origin of each answer, or the failure.
type Seen = Arc<Mutex<Vec<Result<Option<String>, String>>>>;

fn policy(origins: Value) -> Value {
    json!({"policies": [{"name": "api", "allow_origins": origins}]})
}

/// Envoy with its listener from the LDS file in `lds_dir`, which must already hold one.
fn start_with_lds(lds_dir: &TempDir, upstream: &Upstream, port: u16) -> Envoy {
    let envoy = Envoy::start(&bootstrap_watching(lds_dir, upstream.port));
    assert_eq!(envoy.port, port);
    envoy
}

/// The allowed origin Envoy answers a request from `origin` with, on a new connection.
fn allowed_origin(port: u16, origin: &str) -> Option<String> {
    let response = http::request(port, "GET", "/x", &[("origin", origin)]);
    assert_eq!(response.status, 200, "{response:?}");
    response.header("access-control-allow-origin")
}

/// An admin counter or gauge of Envoy's, 0 while absent.
fn stat(envoy: &Envoy, name: &str) -> u64 {
    support::lds::stat(envoy.admin_port, name)
}

#[test]
fn a_policy_swapped_under_load_applies_without_failing_a_request() {
    let upstream = Upstream::start();
    let lds_dir = TempDir::new();
    let port = free_port();
    publish(&lds_dir, &lds(&policy(json!([A])), upstream.port, port, 1));
    let envoy = start_with_lds(&lds_dir, &upstream, port);

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

/// docs/operations.md: "Requests in flight finish on the old policy; new ones get the new
/// one". A request is held at the upstream while the policy that allowed its origin is
/// replaced by one that does not; its response still carries the old policy's headers.
fn a_request_in_flight_during_a_swap_finishes_on_the_old_policy(build: Build) {
    let upstream = Upstream::holding("/slow");
    let lds_dir = TempDir::new();
    let port = free_port();
    let listener = |origins: Value, version: u32| {
        let filter = cors_filter(build, &policy(origins), Encoding::Struct);
        lds_with(filter, upstream.port, port, version)
    };
    publish(&lds_dir, &listener(json!([A, B]), 1));
    let envoy = start_with_lds(&lds_dir, &upstream, port);
    assert_eq!(allowed_origin(port, B).as_deref(), Some(B));

    let in_flight =
        thread::spawn(move || http::try_send(port, "GET", "/slow", &[("origin", B.as_bytes())]));
    wait_for(
        "the request to reach the upstream",
        Duration::from_secs(10),
        || upstream.held() == 1,
    );
    publish(&lds_dir, &listener(json!([A]), 2));
    wait_for("the new policy", Duration::from_secs(30), || {
        allowed_origin(port, B).is_none()
    });
    assert_eq!(allowed_origin(port, A).as_deref(), Some(A));
    assert_eq!(upstream.held(), 1, "the held request was answered early");

    upstream.release();
    let response = in_flight
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("the request in flight failed: {e}\n{}", envoy.log()));
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some(B),
        "the request in flight did not finish on the old policy: {response:?}"
    );
    assert_eq!(response.header("vary").as_deref(), Some("Origin"));
    assert_eq!(allowed_origin(port, B), None);
}

/// docs/operations.md: a module that cannot load, "on an update, the update is rejected and
/// the old configuration keeps serving". The wasm build gets a corrupt module file, the
/// dynamic module a library name Envoy cannot find.
fn an_update_whose_module_cannot_load_is_rejected_and_the_old_policy_serves(build: Build) {
    let upstream = Upstream::start();
    let lds_dir = TempDir::new();
    let port = free_port();
    let good = cors_filter(build, &policy(json!([A, B])), Encoding::Struct);
    publish(&lds_dir, &lds_with(good, upstream.port, port, 1));
    let envoy = start_with_lds(&lds_dir, &upstream, port);
    assert_eq!(allowed_origin(port, B).as_deref(), Some(B));

    let broken_dir = TempDir::new();
    let mut broken = cors_filter(build, &policy(json!([A])), Encoding::Struct);
    let reason = match build {
        Build::Wasm => {
            let file = broken_dir.path().join("broken.wasm");
            std::fs::write(&file, b"\0asm\x01\0\0\0 this is not a module").unwrap();
            let config = &mut broken["typed_config"]["config"];
            config["vm_config"]["code"]["local"]["filename"] = json!(file);
            config["fail_open"] = json!(false);
            "Wasm VM failed Failed to parse corrupted Wasm module"
        }
        Build::DynamicModule => {
            broken["typed_config"]["dynamic_module_config"]["name"] = json!("cors_wasm_absent");
            "libcors_wasm_absent.so"
        }
    };
    let rejected = stat(&envoy, "listener_manager.lds.update_rejected");
    publish(&lds_dir, &lds_with(broken, upstream.port, port, 2));
    wait_for("the update's rejection", Duration::from_secs(30), || {
        stat(&envoy, "listener_manager.lds.update_rejected") > rejected
    });
    let log = envoy.log();
    for expected in [reason, "lds: listener 'main' config rejected"] {
        assert!(
            log.contains(expected),
            "{expected:?} not in the log:\n{log}"
        );
    }
    for _ in 0..5 {
        assert_eq!(
            allowed_origin(port, B).as_deref(),
            Some(B),
            "the old policy stopped serving:\n{}",
            envoy.log()
        );
    }
    assert_eq!(stat(&envoy, "listener_manager.listener_modified"), 0);
}

for_both_builds!(
    a_request_in_flight_during_a_swap_finishes_on_the_old_policy,
    an_update_whose_module_cannot_load_is_rejected_and_the_old_policy_serves,
);
