//! `cors-wasm-check import`: the command as a user runs it, on the sources of tests/import/.
//! What is imported (and proven against the real Envoy and Express) is in
//! tests/import_envoy.rs and tests/import_express.rs; this checks the command's contract:
//! YAML on standard output that the filter accepts, one line a change on standard error,
//! exit 2 with one line for bad input.

use cors_wasm::encoding::yaml;
use cors_wasm::policy::Config;
use std::path::Path;
use std::process::{Command, Output};

fn import(source: &str, file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .args(["import", source])
        .arg(file)
        .output()
        .unwrap()
}

fn sources(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "json")
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no sources in {}", dir.display());
    files
}

/// Each source imports (exit 0), its YAML is a configuration the filter accepts, and each
/// line of standard error names the file and a place in it.
fn imports_every_source(source: &str, dir: &str) {
    for file in sources(dir) {
        let output = import(source, &file);
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {stderr}",
            file.display()
        );
        let tree = &yaml::parse(&stdout).unwrap()[0];
        if let Err(errors) = Config::from_tree(tree) {
            panic!(
                "{}: the filter refuses the import: {errors}\n{stdout}",
                file.display()
            );
        }
        let prefix = format!("{}: ", file.display());
        assert!(!stderr.is_empty(), "{}: no change listed", file.display());
        for line in stderr.lines() {
            assert!(line.starts_with(&prefix), "{line}");
        }
    }
}

#[test]
fn envoy_sources_import() {
    imports_every_source("envoy", "envoy");
}

#[test]
fn istio_sources_import() {
    imports_every_source("istio", "istio");
}

#[test]
fn express_options_import() {
    imports_every_source("express", "express");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("cors-wasm-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("envoy", "no-cors.yaml", "static_resources: {listeners: [{filter_chains: [{filters: [{typed_config: {http_filters: [{name: envoy.filters.http.router}], route_config: {virtual_hosts: []}}}]}]}]}", "no envoy.filters.http.cors filter"),
        ("envoy", "broken.yaml", "a: [", "not valid YAML"),
        ("nginx", "x.yaml", "a: 1", "unknown source \"nginx\""),
        ("express", "typo.json", r#"{"origins": "*"}"#, "origins: not a cors() option"),
        ("express", "function.json", r#"{"origin": "function (o, cb) { cb(null, true) }"}"#, "origin: a function cannot be imported"),
        ("istio", "no-cors.yaml", "kind: VirtualService\nmetadata: {name: v}\nspec: {http: [{name: a}]}", "VirtualService v: spec.http: no route has a corsPolicy"),
    ];
    for (source, name, text, expected) in cases {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let output = import(source, &file);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("{}: ", file.display())),
            "{stderr}"
        );
        assert!(stderr.contains(expected), "{stderr}");
        assert!(output.stdout.is_empty());
    }
    let missing = import("envoy", &dir.join("missing.yaml"));
    assert_eq!(missing.status.code(), Some(2));
    let usage = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .arg("import")
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's examples, word for word: each command, run on the files of
/// tests/import/readme/, prints the lines the README shows.
#[test]
fn the_readme_examples_are_what_the_command_prints() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/readme");
    let run = |source: &str, file: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
            .args(["import", source, file])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        let stdout = String::from_utf8(output.stdout).unwrap();
        (stdout, String::from_utf8(output.stderr).unwrap())
    };
    let (yaml, changes) = run("envoy", "envoy.yaml");
    let whole = format!("```\n{yaml}{changes}```\n");
    assert!(readme.contains(&whole), "README.md should show:\n{whole}");
    let (yaml, _) = run("istio", "vs.yaml");
    assert!(
        yaml.contains(r#"allow_origin_regexes: ["https://app\\..*"]"#)
            && yaml.contains("max_age: 3600"),
        "{yaml}"
    );
    assert!(
        readme.contains("`https://app\\..*`, `maxAge:\n1h` 3600"),
        "the README's Istio example"
    );
    let (_, changes) = run("express", "cors.json");
    let shown = [
        "origin: preflights from disallowed",
        "options: every OPTIONS request",
        "options: Access-Control-Allow-Methods",
    ];
    for start in shown {
        let line = changes
            .lines()
            .find(|l| l.starts_with(&format!("cors.json: {start}")))
            .unwrap();
        assert!(
            readme.contains(&format!("{line}\n")),
            "README.md should show: {line}"
        );
    }
}
