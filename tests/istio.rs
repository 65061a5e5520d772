//! The Istio packaging: the WasmPlugin's `pluginConfig`, rendered to JSON the way istiod
//! renders it, passes the filter's own validation and behaves as documented in a real Envoy
//! whose filter config has the shape istiod gives a WasmPlugin.

mod support;

use cors_wasm::policy::Config;
use serde_json::{json, Value};
use support::envoy::{bootstrap, module_path, Envoy};
use support::upstream::Upstream;

fn manifest(name: &str) -> Value {
    let path = format!("{}/envoy/istio/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let tree = cors_wasm::encoding::yaml::parse(&text).unwrap().remove(0);
    serde_json::from_str(&tree.to_string()).unwrap()
}

/// istiod renders `pluginConfig` (a Struct) to JSON text and sends it as a StringValue.
fn rendered_plugin_config() -> String {
    manifest("wasmplugin.yaml")["spec"]["pluginConfig"].to_string()
}

#[test]
fn the_wasm_plugin_is_set_up_as_the_guide_says() {
    let plugin = manifest("wasmplugin.yaml");
    assert_eq!(plugin["kind"], "WasmPlugin");
    let spec = &plugin["spec"];
    assert_eq!(spec["phase"], "AUTHN");
    assert_eq!(spec["failStrategy"], "FAIL_CLOSE");
    assert!(spec["url"].as_str().unwrap().starts_with("oci://"));
    let sha = spec["sha256"].as_str().unwrap();
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );
    let dockerfile = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/envoy/istio/Dockerfile"
    ))
    .unwrap();
    assert!(dockerfile.lines().any(|l| l == "FROM scratch"));
    assert!(dockerfile
        .lines()
        .any(|l| l.starts_with("COPY ") && l.ends_with(" ./plugin.wasm")));
}

#[test]
fn the_plugin_config_passes_the_filters_validation_and_names_real_routes() {
    let config =
        Config::parse(rendered_plugin_config().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.warnings.is_empty());
    let virtual_service = manifest("virtualservice.yaml");
    let route_names: Vec<&str> = virtual_service["spec"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for policy in &config.policies {
        for route in policy.matcher.routes.iter().flatten() {
            let route = String::from_utf8_lossy(route);
            assert!(
                route_names.contains(&route.as_ref()),
                "policy {} names an unknown route {route}",
                policy.name
            );
        }
    }
}

/// The HTTP filter istiod generates for this WasmPlugin (delivered by ECDS in a mesh; the
/// same config, inline here).
fn istiod_shaped_filter() -> Value {
    json!({
        "name": "istio-system.cors-wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "istio-system.cors-wasm",
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": rendered_plugin_config(),
                },
                "fail_open": false,
                "vm_config": {
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": module_path()}},
                },
            },
        },
    })
}

#[test]
fn the_plugin_config_behaves_as_documented_in_an_istio_shaped_envoy() {
    let upstream = Upstream::start();
    // Routes named after the VirtualService's http[].name, matched as it matches.
    let routes: Vec<Value> = manifest("virtualservice.yaml")["spec"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"name": r["name"], "match": {"prefix": r["match"][0]["uri"]["prefix"]}, "route": {"cluster": "upstream"}}))
        .collect();
    let envoy = Envoy::start(&bootstrap(
        vec![istiod_shaped_filter()],
        json!(routes),
        upstream.port,
    ));
    support::shipped::assert_the_storefront_policy_as_documented(&envoy, &upstream);
}
