//! The demo's own processes for the tests: `demo/api.py` and `demo/pages.py` on free loopback
//! ports, the demo's Envoy config as `./build.sh demo` writes it, and headless Chromium.
//! Every process is stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::envoy::TempDir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One of the demo's Python servers, started with `--port 0`; every line it prints is kept.
pub struct PyServer {
    child: Child,
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl PyServer {
    /// `python3 -u demo/<script> --port 0 <args>`; waits for its "listening on" line.
    pub fn start(script: &str, args: &[&str]) -> PyServer {
        let mut child = Command::new("python3")
            .arg("-u")
            .arg(Path::new(ROOT).join("demo").join(script))
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start python3 demo/{script}: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let port = first.trim().rsplit(':').next().and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("demo/{script} did not say where it listens: {first:?}");
        };
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&lines);
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        PyServer { child, port, lines }
    }

    /// Every line printed so far, but the first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `envoy/demo.yaml` made this machine's by `./build.sh demo-config`, exactly as
/// `./build.sh demo` runs it: the page's origin on `page_port`, Envoy's listener on
/// `envoy_port` (0: any free port), the API on `api_port`, and the built module.
pub fn demo_config(page_port: u16, envoy_port: u16, api_port: u16, module: &Path) -> String {
    let output = Command::new(Path::new(ROOT).join("build.sh"))
        .arg("demo-config")
        .args([page_port, envoy_port, api_port].map(|p| p.to_string()))
        .arg(module)
        .output()
        .expect("run ./build.sh demo-config");
    assert!(
        output.status.success(),
        "./build.sh demo-config failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Debian's Chromium (or `CHROMIUM`). Missing is a failure, never a skip.
pub fn chromium_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(bin);
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|bin| bin.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "chromium is not installed: ./build.sh test installs Debian's chromium package \
             (apt-get install chromium), or set CHROMIUM to a Chromium binary"
        )
    })
}

/// Loads `url` in headless Chromium with a fresh profile, lets its scripts run, and returns
/// the DOM as it then is. Chromium is killed if it takes longer than 90 s.
pub fn dump_dom(url: &str) -> String {
    let dir = TempDir::new();
    let out = dir.path().join("dom.html");
    let err = dir.path().join("chromium.log");
    let mut child = Command::new(chromium_bin())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=30000",
            "--dump-dom",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium took more than 90 s on {url}:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    let dom = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        status.success() && !dom.is_empty(),
        "chromium failed ({status}) on {url}:\n{}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    dom
}
