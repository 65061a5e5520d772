//! The fuzz targets' properties (fuzz/src/properties.rs) on every input the campaigns kept,
//! without libFuzzer: fuzz/corpus/<target>/ (the conformance table's seeds and what
//! coverage-guided fuzzing added) and fuzz/artifacts/<target>/ (every crash ever found,
//! kept once fixed). `./build.sh fuzz [SECONDS]` runs a campaign (docs/fuzzing.md).

#[path = "../fuzz/src/properties.rs"]
mod properties;

use std::path::{Path, PathBuf};

/// The files of `fuzz/<kind>/<target>/`, sorted; none when the folder is missing.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `property` on each input; returns the files that break it.
fn replay(property: fn(&[u8]), files: &[PathBuf]) -> Vec<String> {
    let mut broken = Vec::new();
    for file in files {
        let data = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| property(&data)).is_err() {
            broken.push(file.display().to_string());
        }
    }
    broken
}

#[test]
fn every_kept_input_keeps_the_properties() {
    let mut broken = Vec::new();
    let mut replayed = 0;
    for (target, property) in properties::TARGETS {
        let corpus = inputs("corpus", target);
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{target}/ is empty: python3 fuzz/seed.py seeds it"
        );
        let files = [corpus, inputs("artifacts", target)].concat();
        replayed += files.len();
        broken.extend(replay(property, &files).into_iter().map(|file| {
            format!("{target}: {file} (cargo fuzz run --sanitizer none {target} {file})")
        }));
    }
    eprintln!("replayed {replayed} kept inputs");
    assert!(
        broken.is_empty(),
        "{} kept inputs break a property (the panic of each is above):\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// The invariants can fail: responses that break each one.
#[test]
fn the_invariants_catch_what_they_are_about() {
    use cors_wasm::cors::Outcome;
    let app = b"https://app.example.com".to_vec();
    let exact = |origin: &[u8]| origin == b"https://app.example.com";
    let breaks = |outcome: Outcome, headers: &[(&str, &[u8])], allows: bool| {
        let headers: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect();
        let origin = Some(app.clone());
        let allows: properties::Allows = if allows { Some(&exact) } else { None };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            properties::check_response(&outcome, &headers, origin, allows)
        }))
        .is_err()
    };
    let acao = "access-control-allow-origin";
    assert!(!breaks(
        Outcome::ActualAllowed,
        &[(acao, b"https://app.example.com")],
        true
    ));
    assert!(breaks(
        Outcome::ActualAllowed,
        &[(acao, b"https://evil.example")],
        false
    ));
    assert!(breaks(
        Outcome::ActualAllowed,
        &[(acao, b"*"), ("access-control-allow-credentials", b"true")],
        false
    ));
    assert!(breaks(
        Outcome::ActualAllowed,
        &[(acao, b"https://app.example.com\r\nx: y")],
        false
    ));
    assert!(breaks(Outcome::ActualAllowed, &[], false));
    assert!(breaks(
        Outcome::PreflightAllowed,
        &[(acao, b"https://app.example.com"), (acao, b"*")],
        false
    ));
}
