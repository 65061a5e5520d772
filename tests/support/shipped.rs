//! The configs the project ships under `envoy/`, run as they are but on free ports and with
//! the built module. Each replaced value must stand in the file exactly once, so a config
//! that drifts from what the tests expect fails loudly instead of running something else.

use super::envoy::{module_path, Envoy};
use super::upstream::Upstream;

const ADMIN: &str = "port_value: 9901";
const LISTENER: &str = "port_value: 8080";
const UPSTREAM: &str = "port_value: 8081";
const MODULE: &str = "filename: target/wasm32-wasip1/release/cors_wasm.wasm";

/// Starts `envoy/<name>` with its upstream at `upstream_port`.
pub fn start(name: &str, upstream_port: u16) -> Envoy {
    let path = format!("{}/envoy/{name}", env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut replaced = vec![
        (ADMIN, "port_value: 0".to_string()),
        (LISTENER, "port_value: 0".to_string()),
        (UPSTREAM, format!("port_value: {upstream_port}")),
    ];
    // A dynamic module is found through ENVOY_DYNAMIC_MODULES_SEARCH_PATH, which every Envoy
    // here is given; only a wasm module is named by its path.
    if !shipped.contains("envoy.filters.http.dynamic_modules") {
        replaced.push((MODULE, format!("filename: {}", module_path().display())));
    }
    let config = replaced.iter().fold(shipped, |text, (from, to)| {
        replace_once(&text, from, to, name)
    });
    Envoy::start_yaml(&config, "yaml")
}

fn replace_once(text: &str, from: &str, to: &str, name: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "envoy/{name} should contain {from:?} once"
    );
    text.replacen(from, to, 1)
}

/// What the Istio and Envoy Gateway guides promise of their example policies (the same
/// ones): on `/api/` a shop subdomain's preflight is answered with credentials and never goes
/// upstream; `/catalog/` answers any origin with `*`; `/admin/` has no CORS at all.
pub fn assert_the_storefront_policy_as_documented(envoy: &Envoy, upstream: &Upstream) {
    let shop = "https://eu.shop.example.com";

    let preflight = envoy.request(
        "OPTIONS",
        "/api/cart",
        &[
            ("origin", shop),
            ("access-control-request-method", "PATCH"),
            ("access-control-request-headers", "authorization"),
        ],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin").as_deref(),
        Some(shop)
    );
    assert_eq!(
        preflight
            .header("access-control-allow-credentials")
            .as_deref(),
        Some("true")
    );
    assert!(upstream.requests_to("/api/cart").is_empty());

    let catalog = envoy.request(
        "GET",
        "/catalog/items",
        &[("origin", "https://anyone.example")],
    );
    assert_eq!(
        catalog.header("access-control-allow-origin").as_deref(),
        Some("*")
    );

    let admin = envoy.request(
        "OPTIONS",
        "/admin/x",
        &[
            ("origin", shop),
            ("access-control-request-method", "DELETE"),
        ],
    );
    assert_eq!(
        upstream.requests_to("/admin/x").len(),
        1,
        "disabled: the preflight goes upstream"
    );
    assert_eq!(admin.cors(), vec![]);
}
