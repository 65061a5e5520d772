//! The policy checker as users' CI runs it: exit codes and the exact lines it prints.

use std::process::Command;

mod support;

use support::envoy::TempDir;

/// Runs the checker on these files (written to a temporary folder): the exit code, then
/// stdout and stderr, with the folder left out of the paths.
fn check(files: &[(&str, &str)]) -> (i32, String, String) {
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
    let text = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes).replace(&format!("{}/", dir.path().display()), "")
    };
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[test]
fn a_valid_yaml_policy_prints_one_line_per_policy() {
    let yaml = "policies:\n  - name: api\n    match: { path_prefixes: [/api/] }\n    allow_origins: [https://app.example.com]\n    allow_methods: [PUT]\n    allow_credentials: true\n    max_age: 600\n  - match: { routes: [admin] }\n    disabled: true\n";
    let (code, out, err) = check(&[("p.yaml", yaml)]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "p.yaml: api: when path_prefixes [/api/]: origins [https://app.example.com]; methods GET, HEAD, POST and [PUT]; \
         request headers none; exposed headers none; credentials; max-age 600\n\
         p.yaml: policy-1: when routes [admin]: disabled, no CORS handling\n"
    );
    assert_eq!(err, "");
}

#[test]
fn warnings_are_printed_before_the_policies_and_do_not_fail_the_run() {
    let json = r#"{"policies": [
        {"cors": {"allowOrigins": ["https://*.com", "https://app.example.com"], "allowCredentials": true}},
        {"name": "b", "match": {"path_prefixes": ["/c"]}, "cors": {"allowOrigins": ["*"], "allowCredentials": true}}
    ]}"#;
    let (code, out, err) = check(&[("w.json", json)]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "w.json: warning: policies[0].cors.allowOrigins[0]: \"https://*.com\": allows every site under the top-level domain \"com\"\n\
         w.json: warning: policies[1].cors.allowOrigins[0]: \"*\": with allowCredentials: true, every website may read \
         responses to requests made with the user's credentials (its origin is echoed)\n\
         w.json: policy-0: every request: origins [https://*.com, https://app.example.com]; methods GET, HEAD, POST; \
         request headers none; exposed headers none; credentials\n\
         w.json: b: when path_prefixes [/c]: origins [*]; methods GET, HEAD, POST; request headers none; \
         exposed headers none; credentials\n"
    );
    assert_eq!(err, "");
}

#[test]
fn errors_are_the_filters_own_and_fail_the_run() {
    let json =
        r#"{"policies": [{"allow_origins": ["https://*.com"], "allow_credentials": "yes"}]}"#;
    let (code, out, err) = check(&[
        ("ok.json", r#"{"policies": [{"allow_origins": ["*"]}]}"#),
        ("bad.json", json),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out,
        "ok.json: policy-0: every request: origins [*]; methods GET, HEAD, POST; request headers none; \
         exposed headers none\n\
         bad.json: error: policies[0].allow_credentials: expected true or false, found a string\n\
         bad.json: error: policies[0].allow_origins[0]: \"https://*.com\": a wildcard needs at least two labels after it\n"
    );
    assert_eq!(err, "");
}

#[test]
fn the_shipped_wasm_plugin_passes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/envoy/istio/wasmplugin.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .arg(path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout).replace(path, "wasmplugin.yaml");
    assert!(output.status.success(), "{out}");
    assert_eq!(
        out,
        "wasmplugin.yaml: storefront: when routes [storefront-api]: origins [https://shop.example.com, \
         https://*.shop.example.com]; methods GET, HEAD, POST and [PUT, PATCH, DELETE]; request headers \
         [content-type, authorization]; exposed headers [x-request-id]; credentials; max-age 600\n\
         wasmplugin.yaml: catalog: when routes [catalog]: origins [*]; methods GET, HEAD, POST; request headers none; \
         exposed headers none; max-age 86400\n\
         wasmplugin.yaml: internal: when routes [internal-admin]: disabled, no CORS handling\n"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn unreadable_files_and_usage_exit_2() {
    let missing = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .arg("/nonexistent.yaml")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "/nonexistent.yaml: No such file or directory (os error 2)\n"
    );
    let usage = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&usage.stderr),
        "usage: cors-wasm-check FILE... (JSON or YAML policies, or an Istio WasmPlugin)\n"
    );
    let (code, out, err) = check(&[("broken.yaml", "policies: ["), ("empty.yaml", "")]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "broken.yaml: not valid YAML: while parsing a node, did not find expected node content at byte 11 line 2 column 1\n\
         empty.yaml: the file is empty\n"
    );
}

#[test]
fn a_key_written_twice_fails_the_run_with_its_path() {
    let json = r#"{"policies": [{"allow_origins": ["https://a.example"], "allow_credentials": false, "allow_credentials": true}]}"#;
    let yaml = "policies:\n  - allow_origins: [https://a.example]\n    allow_credentials: false\n    allow_credentials: true\n";
    let (code, out, err) = check(&[("twice.json", json)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out,
        "twice.json: error: policies[0].allow_credentials: the key is written more than once in \
         this object; write it once\n"
    );
    assert_eq!(err, "");
    // YAML's own reader refuses it too (Envoy's keeps one of the two, silently).
    let (code, out, err) = check(&[("twice.yaml", yaml)]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "twice.yaml: not valid YAML: String(\"allow_credentials\"): duplicated key in mapping \
         at byte 101 line 4 column 24\n"
    );
}
