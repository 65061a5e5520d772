//! The dynamic module against the Envoy it is built for: every Envoy callback it calls is
//! one the binary exports, and Envoy loads it as the ABI version it expects.

mod support;

use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use support::envoy::{
    bootstrap, dynamic_module_dir, dynamic_module_filter, envoy_bin, Encoding, Envoy,
};
use support::upstream::Upstream;

/// The dynamic symbols `nm` lists for `file`: the defined ones, or the undefined ones.
fn dynamic_symbols(file: &Path, defined: bool) -> BTreeSet<String> {
    let which = if defined {
        "--defined-only"
    } else {
        "--undefined-only"
    };
    let output = Command::new("nm")
        .args(["-D", which])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("nm (binutils) is needed for this test: {e}"));
    assert!(output.status.success(), "nm {}", file.display());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_envoy_callback_the_module_calls_is_exported_by_envoy() {
    let module = dynamic_module_dir().join("libcors_wasm.so");
    let wanted: BTreeSet<String> = dynamic_symbols(&module, false)
        .into_iter()
        .filter(|s| s.starts_with("envoy_dynamic_module_callback_"))
        .collect();
    assert!(wanted.len() >= 10, "{wanted:?}");
    let exported = dynamic_symbols(&envoy_bin(), true);
    let missing: Vec<&String> = wanted.difference(&exported).collect();
    assert!(missing.is_empty(), "not exported by Envoy: {missing:?}");
}

#[test]
fn envoy_loads_the_module_as_the_abi_version_it_expects() {
    let upstream = Upstream::start();
    let policy = json!({"policies": [{"allow_origins": ["https://app.example.com"]}]});
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let filter = dynamic_module_filter(&policy, Encoding::Json);
    let envoy = Envoy::start(&bootstrap(vec![filter], routes, upstream.port));
    let log = envoy.log();
    assert!(
        log.contains("Dynamic module ABI version v0.2.0 matched."),
        "{log}"
    );
    assert!(!log.contains("deprecated"), "{log}");
    assert!(
        log.contains("cors-wasm: configured 1 policies in "),
        "{log}"
    );
}

#[test]
fn a_library_that_cannot_be_found_keeps_envoy_from_starting() {
    let policy = json!({"policies": [{"allow_origins": ["https://app.example.com"]}]});
    let mut filter = dynamic_module_filter(&policy, Encoding::Json);
    filter["typed_config"]["dynamic_module_config"]["name"] = json!("cors_wasm_absent");
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let log = Envoy::refuse(&bootstrap(vec![filter], routes, 9));
    assert!(log.contains("libcors_wasm_absent.so"), "{log}");
}
