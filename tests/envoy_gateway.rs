//! The Envoy Gateway manifests (`envoy/envoy-gateway/`): the resources name each other as
//! Envoy Gateway resolves them, both policies' `config` passes the filter's own validation and
//! is the same policy, and each runs in a real Envoy the way Envoy Gateway hands it over (JSON
//! text in a `google.protobuf.StringValue`, for the wasm filter and the dynamic module alike),
//! on routes that match as the HTTPRoute's rules do.

#[macro_use]
mod support;

use cors_wasm::policy::Config;
use serde_json::{json, Value};
use support::envoy::{bootstrap, cors_filter, Build, Encoding, Envoy};
use support::upstream::Upstream;

/// The documents of `envoy/envoy-gateway/<name>`, as JSON.
fn documents(name: &str) -> Vec<Value> {
    let path = format!("{}/envoy/envoy-gateway/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    cors_wasm::encoding::yaml::parse(&text)
        .unwrap()
        .iter()
        .map(|tree| serde_json::from_str(&tree.to_string()).unwrap())
        .collect()
}

/// The one document of `kind` in `name`.
fn resource(name: &str, kind: &str) -> Value {
    let mut found: Vec<Value> = documents(name)
        .into_iter()
        .filter(|d| d["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "{name} should hold one {kind}");
    found.remove(0)
}

/// The policy configuration of the build's EnvoyExtensionPolicy.
fn policy_config(build: Build) -> Value {
    match build {
        Build::Wasm => {
            resource("wasm.yaml", "EnvoyExtensionPolicy")["spec"]["wasm"][0]["config"].clone()
        }
        Build::DynamicModule => resource("dynamic-module.yaml", "EnvoyExtensionPolicy")["spec"]
            ["dynamicModule"][0]["config"]
            .clone(),
    }
}

#[test]
fn the_resources_name_each_other() {
    let route = resource("httproute.yaml", "HTTPRoute");
    let gateway = resource("dynamic-module.yaml", "Gateway");
    let proxy = resource("dynamic-module.yaml", "EnvoyProxy");
    assert_eq!(
        route["spec"]["parentRefs"][0]["name"],
        gateway["metadata"]["name"]
    );
    let parameters = &gateway["spec"]["infrastructure"]["parametersRef"];
    assert_eq!(parameters["kind"], "EnvoyProxy");
    assert_eq!(parameters["name"], proxy["metadata"]["name"]);
    for file in ["wasm.yaml", "dynamic-module.yaml"] {
        let policy = resource(file, "EnvoyExtensionPolicy");
        assert_eq!(
            policy["metadata"]["namespace"],
            route["metadata"]["namespace"]
        );
        assert_eq!(
            policy["spec"]["targetRefs"],
            json!([{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route["metadata"]["name"]}]),
            "{file}"
        );
    }
    let module =
        &resource("dynamic-module.yaml", "EnvoyExtensionPolicy")["spec"]["dynamicModule"][0];
    let registered = &proxy["spec"]["dynamicModules"][0];
    assert_eq!(module["name"], registered["name"]);
    assert_eq!(registered["source"]["type"], "Remote");
    let wasm = &resource("wasm.yaml", "EnvoyExtensionPolicy")["spec"]["wasm"][0];
    assert_eq!(wasm["code"]["type"], "Image");
    assert_eq!(wasm["failOpen"], false);
}

#[test]
fn both_policies_pass_the_filters_validation_and_are_the_same() {
    for build in [Build::Wasm, Build::DynamicModule] {
        let text = policy_config(build).to_string();
        let config = Config::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{build:?}: {e}"));
        assert!(
            config.warnings.is_empty(),
            "{build:?}: {:?}",
            config.warnings
        );
    }
    assert_eq!(
        policy_config(Build::Wasm),
        policy_config(Build::DynamicModule)
    );
}

/// Envoy routes matching as the HTTPRoute's rules do (path prefixes), all to the upstream.
fn routes() -> Value {
    let route = resource("httproute.yaml", "HTTPRoute");
    let routes: Vec<Value> = route["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| {
            let path = &rule["matches"][0]["path"];
            assert_eq!(path["type"], "PathPrefix");
            json!({"match": {"prefix": path["value"]}, "route": {"cluster": "upstream"}})
        })
        .collect();
    json!(routes)
}

fn the_policy_behaves_as_written(build: Build) {
    let upstream = Upstream::start();
    let filter = cors_filter(build, &policy_config(build), Encoding::Json);
    let envoy = Envoy::start(&bootstrap(vec![filter], routes(), upstream.port));
    support::shipped::assert_the_storefront_policy_as_documented(&envoy, &upstream);
}

for_both_builds!(the_policy_behaves_as_written);
