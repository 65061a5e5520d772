//! Envoy with its listener (and so the policy) from a file it watches (LDS with a
//! `path_config_source`): a policy swapped while Envoy runs, as in a live reconfiguration.

use serde_json::{json, Value};
use std::thread;
use std::time::{Duration, Instant};

use super::envoy::{bootstrap, TempDir};
use super::http;

/// The listener of a plain bootstrap with `filter` in front of the router, on a fixed port,
/// as an LDS file's content.
pub fn listener(filter: Value, upstream_port: u16, port: u16, version: u32) -> Value {
    let routes =
        json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let config = bootstrap(vec![filter], routes, upstream_port);
    let mut listener = config["static_resources"]["listeners"][0].clone();
    listener["@type"] = json!("type.googleapis.com/envoy.config.listener.v3.Listener");
    listener["address"]["socket_address"]["port_value"] = json!(port);
    json!({"version_info": version.to_string(), "resources": [listener]})
}

/// Replaces the watched file atomically, as Envoy's file watcher expects.
pub fn publish(dir: &TempDir, content: &Value) {
    let staged = dir.path().join("lds.staged");
    std::fs::write(&staged, content.to_string()).unwrap();
    std::fs::rename(&staged, dir.path().join("lds.json")).unwrap();
}

/// A bootstrap whose only listener comes from the LDS file in `lds_dir`.
pub fn bootstrap_watching(lds_dir: &TempDir, upstream_port: u16) -> Value {
    let mut config = bootstrap(vec![], json!([]), upstream_port);
    config["static_resources"]["listeners"] = json!([]);
    config["node"] = json!({"id": "reload-test", "cluster": "cors-wasm-tests"});
    config["dynamic_resources"] = json!({"lds_config": {
        "resource_api_version": "V3",
        "path_config_source": {
            "path": lds_dir.path().join("lds.json"),
            "watched_directory": {"path": lds_dir.path()},
        },
    }});
    config
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// An admin counter or gauge of Envoy's (admin on `admin_port`), 0 while absent.
pub fn stat(admin_port: u16, name: &str) -> u64 {
    let stats = http::request(admin_port, "GET", &format!("/stats?filter=^{name}$"), &[]);
    let text = String::from_utf8_lossy(&stats.body).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .map_or(0, |value| value.trim().parse().unwrap())
}
