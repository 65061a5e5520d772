//! The policy checker as users' CI runs it: exit codes and the exact lines it prints.

use std::process::Command;

mod support;

use support::envoy::TempDir;

fn check(files: &[(&str, &str)]) -> (i32, String) {
    let dir = TempDir::new();
    let paths: Vec<_> = files
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .args(&paths)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&output.stdout).replace(&format!("{}/", dir.path().display()), "");
    (
        output.status.code().unwrap_or(-1),
        text + &String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn a_valid_yaml_policy_prints_one_line_per_policy() {
    let yaml = "policies:\n  - name: api\n    match: { path_prefixes: [/api/] }\n    allow_origins: [https://app.example.com]\n    allow_methods: [PUT]\n    allow_credentials: true\n    max_age: 600\n  - match: { routes: [admin] }\n    disabled: true\n";
    let (code, out) = check(&[("p.yaml", yaml)]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "p.yaml: api: when path_prefixes [/api/]: origins [https://app.example.com]; methods GET, HEAD, POST and [PUT]; \
         request headers none; exposed headers none; credentials; max-age 600\n\
         p.yaml: policy-1: when routes [admin]: disabled, no CORS handling\n"
    );
}

#[test]
fn errors_are_the_filters_own_and_fail_the_run() {
    let json =
        r#"{"policies": [{"allow_origins": ["https://*.com"], "allow_credentials": "yes"}]}"#;
    let (code, out) = check(&[
        ("ok.json", r#"{"policies": [{"allow_origins": ["*"]}]}"#),
        ("bad.json", json),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains(r#"bad.json: error: policies[0].allow_origins[0]: "https://*.com": a wildcard needs at least two labels after it"#), "{out}");
    assert!(out.contains("bad.json: error: policies[0].allow_credentials: expected true or false, found a string"), "{out}");
    assert!(
        out.contains("ok.json: policy-0: every request: origins [*]"),
        "{out}"
    );
}

#[test]
fn the_shipped_wasm_plugin_passes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/envoy/istio/wasmplugin.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .arg(path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn unreadable_files_and_usage_exit_2() {
    let missing = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .arg("/nonexistent.yaml")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let usage = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let (code, out) = check(&[("broken.yaml", "policies: [")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("broken.yaml: not valid YAML"), "{out}");
}

// ---------------------------------------------------------------------------------------
// Issue 16: timing_allow_origin, unreachable policies, explaining a request.
// ---------------------------------------------------------------------------------------

#[test]
fn the_summary_names_timing_allow_origin() {
    let yaml = "policies:\n  - name: api\n    allow_origins: [https://app.example.com]\n    timing_allow_origin: true\n";
    let (code, out) = check(&[("t.yaml", yaml)]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "t.yaml: api: every request: origins [https://app.example.com]; methods GET, HEAD, POST; \
         request headers none; exposed headers none; Timing-Allow-Origin\n"
    );
}

#[test]
fn a_policy_that_can_never_apply_is_a_warning_not_an_error() {
    let yaml = "policies:\n  - name: all\n    allow_origins: [\"*\"]\n  - name: api\n    match: { path_prefixes: [/api/] }\n    allow_origins: [https://app.example.com]\n";
    let (code, out) = check(&[("shadow.yaml", yaml)]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().next(),
        Some("shadow.yaml: warning: policies[1]: never applies: policies[0] (all) has no match, so it takes every request first"),
        "{out}"
    );
}

#[test]
fn an_unknown_field_close_to_a_known_one_gets_a_suggestion() {
    let yaml = "policies:\n  - allow_origins: [\"*\"]\n    allow_header: [x-a]\n";
    let (code, out) = check(&[("typo.yaml", yaml)]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out,
        "typo.yaml: error: policies[0].allow_header: unknown field; did you mean allow_headers?\n"
    );
}
