//! `import express`, proven by difference: each options file of tests/import/express/ is
//! given to the real `cors` middleware (npm, pinned in tests/express/package-lock.json) in a
//! tiny Express app, and imported into cors-wasm in a real Envoy before the tests' upstream.
//! The same request catalogue goes to both; every response that differs must differ in a way
//! the importer listed, or the test fails. Needs Node, the npm packages (`./build.sh test`
//! installs them), Envoy and the built module.

mod support;

use cors_wasm::host::import::{self, Import};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::envoy::{bootstrap, cors_filter, Build, Encoding, Envoy, TempDir};
use support::import_diff::{assert_only_listed_differences, catalogue, unlisted_differences};
use support::upstream::Upstream;

/// The Express app with `cors(options)`, stopped on drop.
struct ExpressApp {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl ExpressApp {
    fn start(options: &Path) -> ExpressApp {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/express");
        assert!(
            root.join("node_modules/cors").is_dir() && root.join("node_modules/express").is_dir(),
            "express and cors are not installed in {}: run ./build.sh test, which runs npm ci there",
            root.display()
        );
        let dir = TempDir::new();
        let port_file = dir.path().join("port");
        let child = Command::new("node")
            .arg(root.join("app.js"))
            .arg(options)
            .arg(&port_file)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("node: {e}: install Node (./build.sh test installs Debian's nodejs)")
            });
        let mut app = ExpressApp {
            child,
            port: 0,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while app.port == 0 {
            if let Some(status) = app.child.try_wait().unwrap() {
                panic!("the Express app exited ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "the Express app did not listen in 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
            app.port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(0);
        }
        app
    }
}

impl Drop for ExpressApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn option_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/express");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

/// One options file against its import; returns the failures.
fn difference(file: &Path, imported: &Import) -> Vec<String> {
    let name = file.display().to_string();
    let express = ExpressApp::start(file);
    let upstream = Upstream::start();
    let filter = cors_filter(Build::Wasm, &imported.config(), Encoding::Struct);
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let ours = Envoy::start(&bootstrap(vec![filter], routes, upstream.port));
    let hosts = ["api.example.com".to_string()];
    let paths = ["/".to_string(), "/x".to_string()];
    let cases = catalogue(&hosts, &paths, false);
    unlisted_differences(&name, (express.port, ours.port), imported, &cases, &|_| {
        None
    })
}

fn express_difference(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let imported =
        import::import("express", &text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    difference(file, &imported)
}

#[test]
fn express_cors_options_differ_only_as_listed() {
    assert_only_listed_differences(option_files(), express_difference);
}
