//! Every Kubernetes manifest the project ships (Istio's under `envoy/istio/`, Envoy Gateway's
//! under `envoy/envoy-gateway/`) passes the upstream CRDs' OpenAPI schemas kept in
//! `tests/crds/`, checked with strict field validation by `tests/crds/validate.py`
//! (jsonschema and PyYAML, which `./build.sh test` installs into `.venv`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::envoy::TempDir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs the validator on `files`: its exit status and its report.
fn validate(files: &[PathBuf]) -> (bool, String) {
    let python = Path::new(ROOT).join(".venv/bin/python3");
    let imports = Command::new(&python)
        .args(["-c", "import jsonschema, yaml"])
        .status();
    assert!(
        imports.is_ok_and(|s| s.success()),
        "{} cannot import jsonschema and yaml: run ./build.sh test, which installs them",
        python.display()
    );
    let output = Command::new(&python)
        .arg(Path::new(ROOT).join("tests/crds/validate.py"))
        .args(files)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), report)
}

/// Every YAML file under `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_shipped_manifest_passes_its_crd_schema() {
    let (valid, report) = validate(&yaml_files(&Path::new(ROOT).join("envoy")));
    assert!(valid, "the validator refused a shipped manifest:\n{report}");
    // Each of these was seen and checked, not skipped.
    for (file, kind, name) in [
        ("envoy/istio/wasmplugin.yaml", "WasmPlugin", "cors-wasm"),
        ("envoy/istio/virtualservice.yaml", "VirtualService", "shop"),
        (
            "envoy/envoy-gateway/httproute.yaml",
            "HTTPRoute",
            "shop-api",
        ),
        (
            "envoy/envoy-gateway/wasm.yaml",
            "EnvoyExtensionPolicy",
            "cors-wasm",
        ),
        (
            "envoy/envoy-gateway/dynamic-module.yaml",
            "EnvoyProxy",
            "cors-wasm",
        ),
        ("envoy/envoy-gateway/dynamic-module.yaml", "Gateway", "eg"),
        (
            "envoy/envoy-gateway/dynamic-module.yaml",
            "EnvoyExtensionPolicy",
            "cors-dynamic-module",
        ),
    ] {
        let line = format!("ok {ROOT}/{file} {kind} {name}");
        assert!(
            report.lines().any(|l| l == line),
            "{file}'s {kind} {name} was not validated:\n{report}"
        );
    }
}

/// The shipped `file` with `from` replaced by `to` (once), in a temporary file.
fn broken(dir: &TempDir, file: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{file} should hold {from:?} once"
    );
    let path = dir
        .path()
        .join(format!("{}.yaml", dir.path().read_dir().unwrap().count()));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn the_schema_check_refuses_what_the_api_server_would() {
    let dir = TempDir::new();
    let cases = [
        // A misspelt field: strict field validation refuses it rather than dropping it.
        (
            broken(
                &dir,
                "envoy/istio/wasmplugin.yaml",
                "  phase: AUTHN",
                "  phases: AUTHN",
            ),
            "spec: Additional properties are not allowed ('phases' was unexpected)",
        ),
        // A value outside an enum.
        (
            broken(
                &dir,
                "envoy/envoy-gateway/wasm.yaml",
                "type: Image",
                "type: OCI",
            ),
            "spec.wasm.0.code.type: 'OCI' is not one of",
        ),
        // A wrong type.
        (
            broken(
                &dir,
                "envoy/envoy-gateway/httproute.yaml",
                "hostnames: [api.shop.example.com]",
                "hostnames: api.shop.example.com",
            ),
            "spec.hostnames: 'api.shop.example.com' is not of type 'array'",
        ),
        // A string that does not match its pattern.
        (
            broken(
                &dir,
                "envoy/envoy-gateway/dynamic-module.yaml",
                "url: https://artifacts",
                "url: ftp://artifacts",
            ),
            "spec.dynamicModules.0.source.remote.url: 'ftp://artifacts",
        ),
        // A required field missing.
        (
            broken(
                &dir,
                "envoy/istio/virtualservice.yaml",
                "  name: shop\n",
                "  labels: { app: shop }\n",
            ),
            "metadata: 'name' is a required property",
        ),
        // A kind with no kept schema.
        (
            broken(
                &dir,
                "envoy/istio/wasmplugin.yaml",
                "kind: WasmPlugin",
                "kind: WasmModule",
            ),
            "no kept schema for apiVersion extensions.istio.io/v1alpha1 kind WasmModule",
        ),
    ];
    for (file, expected) in cases {
        let (valid, report) = validate(std::slice::from_ref(&file));
        assert!(!valid, "{} passed:\n{report}", file.display());
        assert!(
            report.contains(expected),
            "{}: expected {expected:?} in:\n{report}",
            file.display()
        );
    }
}
