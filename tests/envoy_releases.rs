//! What the dynamic module does in each Envoy release users run besides the pinned one
//! (`.venv-envoy/`, installed by `./build.sh test`): the lines Envoy logs, which docs/operations.md's
//! "Envoy releases and the dynamic module" quotes, are the lines these Envoys print. (The conformance
//! table runs through each release in tests/conformance.rs.)

mod support;

use serde_json::{json, Value};
use support::envoy::{bootstrap, dynamic_module_filter, Encoding, Envoy};
use support::releases::{envoy_release, RELEASES};
use support::upstream::Upstream;

/// What Envoy 1.38 and 1.39 log when they load the module built for 1.40.
const DEPRECATED: &str = "Dynamic module ABI version v0.2.0 is deprecated";
/// Envoy 1.37 wants its own ABI's exact hash, unloads the module and says it is missing.
const NOT_FOUND: &str = "libcors_wasm.so not found in any search path";
/// Envoy 1.36 lacks callbacks the module calls.
const UNDEFINED: &str = "undefined symbol: envoy_dynamic_module_callback_http_get_header";

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The table of what each release logs for the module, linked from the README.
fn operations_doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).unwrap()
}

fn with_the_module(upstream_port: u16) -> Value {
    let policy = json!({"policies": [{"allow_origins": ["https://app.example.com"]}]});
    let filter = dynamic_module_filter(&policy, Encoding::Json);
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    bootstrap(vec![filter], routes, upstream_port)
}

/// Envoy `version` refuses the module, logging `line`, which docs/operations.md quotes.
fn refused_with(version: &str, line: &str) {
    let log = Envoy::refuse_on(&envoy_release(version), &with_the_module(9));
    assert!(
        log.contains(line),
        "Envoy {version} should say {line:?}:\n{log}"
    );
    assert!(
        operations_doc().contains(line),
        "docs/operations.md should quote {line:?}"
    );
}

#[test]
fn envoy_1_37_refuses_the_module_saying_it_is_not_found() {
    refused_with("1.37.0", NOT_FOUND);
}

#[test]
fn envoy_1_36_refuses_the_module_for_a_missing_callback() {
    refused_with("1.36.4", UNDEFINED);
}

#[test]
fn envoy_1_38_and_1_39_load_the_module_and_warn_that_its_abi_is_deprecated() {
    let upstream = Upstream::start();
    for version in ["1.38.2", "1.39.3"] {
        let envoy = Envoy::start_on(&envoy_release(version), &with_the_module(upstream.port));
        let log = envoy.log();
        assert!(log.contains(DEPRECATED), "Envoy {version}:\n{log}");
        assert!(
            log.contains("cors-wasm: configured 1 policies in "),
            "Envoy {version}:\n{log}"
        );
    }
    assert!(
        operations_doc().contains(DEPRECATED),
        "docs/operations.md should quote {DEPRECATED:?}"
    );
}

#[test]
fn the_readme_names_every_release_the_tests_run() {
    let readme = readme();
    for (version, _) in RELEASES {
        assert!(
            readme.contains(version),
            "README.md's \"Supported Envoy releases\" should name Envoy {version}"
        );
    }
}
