//! The work inside the module per request, counted as wasmtime fuel (about one unit per wasm
//! instruction, so the same on any machine), through the test harness. Not a test: run it with
//! `./build.sh fuel` (or `cargo run --example fuel` after `./build.sh`); `./build.sh bench`
//! appends its table to BENCHMARKS.md.

#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::host::{headers, Headers, Host, Reply};
use serde_json::{json, Value};
use std::time::Instant;

const APP: &str = "https://app.example.com";

fn policy(origins: Value) -> Value {
    json!({"name": "api", "allow_origins": origins, "allow_methods": ["PUT"],
           "allow_headers": ["content-type"], "allow_credentials": true, "max_age": 600})
}

/// The configurations measured, each with the route its requests take.
fn cases() -> Vec<(&'static str, Value, &'static str)> {
    let exact: Vec<String> = (0..9_999)
        .map(|i| format!("https://app{i}.example.net"))
        .chain([APP.to_string()])
        .collect();
    let wildcards: Vec<String> = (0..999)
        .map(|i| format!("https://*.tenant{i}.example.org"))
        .chain(["https://*.example.com".to_string()])
        .collect();
    let by_route: Vec<Value> = (0..100)
        .map(|i| {
            let mut p = policy(json!([APP]));
            p["name"] = json!(format!("r{i}"));
            p["match"] = json!({"routes": [format!("r{i}")]});
            p
        })
        .collect();
    vec![
        (
            "1 exact origin",
            json!({"policies": [policy(json!([APP]))]}),
            "api",
        ),
        (
            "10,000 exact origins",
            json!({"policies": [policy(json!(exact))]}),
            "api",
        ),
        (
            "1,000 wildcard patterns",
            json!({"policies": [policy(json!(wildcards))]}),
            "api",
        ),
        (
            "100 policies by route",
            json!({ "policies": by_route }),
            "r99",
        ),
    ]
}

/// Fuel used by one request, after a warm-up that fills the allocator's free lists.
fn fuel_per_request(host: &mut Host, request: &Headers) -> u64 {
    let upstream = headers(&[(":status", "200"), ("vary", "accept")]);
    let run = |host: &mut Host| {
        host.exchange(request.clone(), Reply::Upstream(upstream.clone()))
            .unwrap()
    };
    for _ in 0..10 {
        run(host);
    }
    let before = host.fuel();
    run(host);
    before - host.fuel()
}

fn main() {
    let wasm = std::fs::read(harness::host::module_path())
        .expect("the built module: run ./build.sh first");
    let origin = "https://eu.app.example.com";
    let actual = headers(&[(":method", "GET"), (":path", "/x"), ("origin", APP)]);
    let preflight = headers(&[
        (":method", "OPTIONS"),
        (":path", "/x"),
        ("origin", APP),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type"),
    ]);
    println!("| policy | preflight (fuel) | actual request (fuel) | configure (fuel) | configure (ms, harness) |");
    println!("|---|---:|---:|---:|---:|");
    for (name, config, route) in cases() {
        let mut host = Host::metered(&wasm).unwrap();
        host.state_mut().log_level = 2;
        host.state_mut()
            .properties
            .insert("xds.route_name".into(), route.as_bytes().to_vec());
        let (before, started) = (host.fuel(), Instant::now());
        assert!(
            host.start(config.to_string().as_bytes()).unwrap(),
            "{name}: {:?}",
            host.state().logs
        );
        let (configure, configure_ms) =
            (before - host.fuel(), started.elapsed().as_secs_f64() * 1e3);
        let mut request = actual.clone();
        if name.contains("wildcard") {
            request = headers(&[(":method", "GET"), (":path", "/x"), ("origin", origin)]);
        }
        let actual_fuel = fuel_per_request(&mut host, &request);
        let preflight_fuel = fuel_per_request(&mut host, &preflight);
        println!("| {name} | {preflight_fuel} | {actual_fuel} | {configure} | {configure_ms:.1} |");
    }
    // For scale: the SDK's own no-op filter (bench/noop), whose requests all go upstream.
    if let Some(noop) = std::env::var_os("NOOP_WASM") {
        let mut host = Host::metered(&std::fs::read(noop).expect("the no-op module")).unwrap();
        assert!(host.start(b"").unwrap());
        println!(
            "| no-op filter (SDK only) | {} | {} | | |",
            fuel_per_request(&mut host, &preflight),
            fuel_per_request(&mut host, &actual)
        );
    }
}
