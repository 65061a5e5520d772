//! No build of the product carries test code. The panic probe (a header that makes the filter
//! panic) and the benchmark's floor (a filter that echoes any Origin) are compiled only with a
//! `--cfg` that build.sh alone sets; the crate has no feature that reaches them, so even a
//! build with `--all-features` holds neither.

mod support;

use serde_json::Value;
use std::process::Command;
use support::envoy::panic_probe_dir;

/// What only the probe's and the floor's code put in a library.
const PROBE_MARKS: [&str; 2] = ["x-cors-wasm-panic", "the panic probe"];
const FLOOR_MARKS: [&str; 2] = ["preflight_headers", "envoy_module::floor"];

fn cargo(args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "cargo {args:?}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn the_crate_has_no_features() {
    let metadata: Value =
        serde_json::from_slice(&cargo(&["metadata", "--format-version", "1", "--no-deps"]))
            .unwrap();
    assert_eq!(metadata["packages"][0]["features"], serde_json::json!({}));
}

#[test]
fn a_build_with_all_features_holds_neither_the_probe_nor_the_floor() {
    let messages = cargo(&["build", "--lib", "--all-features", "--message-format=json"]);
    let library = String::from_utf8_lossy(&messages)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "cors_wasm")
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(String::from))
        .find(|f| f.ends_with(".so"))
        .expect("cargo built the dynamic module");
    let bytes = std::fs::read(&library).unwrap();
    for mark in PROBE_MARKS.iter().chain(&FLOOR_MARKS) {
        assert!(!contains(&bytes, mark), "{library} holds {mark:?}");
    }
    // The marks are what the probe's own build carries: the check above can fail.
    let probe = std::fs::read(panic_probe_dir().join("libcors_wasm.so")).unwrap();
    for mark in PROBE_MARKS {
        assert!(contains(&probe, mark), "the panic probe lacks {mark:?}");
    }
}
