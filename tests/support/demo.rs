//! The demo's own processes for the tests: `demo/api.py` and `demo/pages.py` on free loopback
//! ports, the demo's Envoy config as `./build.sh demo` writes it, and headless browsers.
//! Every process is stopped on drop.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
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
        PyServer::start_path(&Path::new("demo").join(script), args)
    }

    /// The same with a script at `script`, relative to the repository.
    pub fn start_path(script: &Path, args: &[&str]) -> PyServer {
        let mut child = Command::new("python3")
            .arg("-u")
            .arg(Path::new(ROOT).join(script))
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start python3 {}: {e}", script.display()));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let port = first.trim().rsplit(':').next().and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not say where it listens: {first:?}",
                script.display()
            );
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

/// The preferences of every fresh Firefox profile: nothing but the test's loopback servers.
const FIREFOX_PREFS: &str = include_str!("firefox-user.js");

/// Where Debian's libwebkit2gtk-4.1-0 puts WebKitGTK's MiniBrowser (it is not on `PATH`).
const MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/// `name` if it is a path to a file, else the first file of that name in a folder on `PATH`.
fn found_on_path(name: &str) -> Option<PathBuf> {
    if Path::new(name).is_absolute() {
        return Some(PathBuf::from(name)).filter(|bin| bin.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|bin| bin.is_file())
}

/// An X server of the test's own (Xvfb) for MiniBrowser, which has no headless mode: Xvfb
/// picks a free display itself (`-displayfd`), so that parallel runs never race for one.
/// Stopped on drop with SIGTERM, so that it removes its lock and socket, then SIGKILL.
struct XServer {
    child: Child,
    display: String,
}

impl XServer {
    /// Starts Xvfb, appending what it prints to `log`.
    fn start(log: &Path) -> XServer {
        let bin = found_on_path("Xvfb").unwrap_or_else(|| {
            panic!(
                "Xvfb is not installed: ./build.sh test installs Debian's xvfb package \
                 (apt-get install --no-install-recommends xvfb)"
            )
        });
        let mut child = Command::new(bin)
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "1280x800x24",
            ])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::options().append(true).open(log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("start Xvfb: {e}"));
        let mut number = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut number);
        let number = number.trim().to_string();
        if number.parse::<u32>().is_err() {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("Xvfb did not say which display it took: {number:?}\n{log}");
        }
        XServer {
            child,
            display: format!(":{number}"),
        }
    }
}

impl Drop for XServer {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) takes no pointers; it only signals the Xvfb this guard started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser engine the demo's page runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Chromium,
    Firefox,
    /// Safari's engine: WebKitGTK's MiniBrowser, on an X display of its own (Xvfb).
    WebKit,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::WebKit => "webkit",
        }
    }

    /// What the engine's `navigator.userAgent` always contains, and the others' never do
    /// (Chromium's says `AppleWebKit/537.36`: WebKit's version, frozen, tells them apart).
    pub fn user_agent_token(self) -> &'static str {
        match self {
            Engine::Chromium => "Chrome/",
            Engine::Firefox => "Firefox/",
            Engine::WebKit => "AppleWebKit/605.1.15",
        }
    }

    /// The engine's binary (or the one named by its variable). Missing is a failure, never a
    /// skip.
    fn bin(self) -> PathBuf {
        let (variable, name, package) = match self {
            Engine::Chromium => ("CHROMIUM", "chromium", "chromium"),
            Engine::Firefox => ("FIREFOX", "firefox-esr", "firefox-esr"),
            Engine::WebKit => ("MINIBROWSER", MINIBROWSER, "libwebkit2gtk-4.1-0"),
        };
        if let Some(bin) = std::env::var_os(variable) {
            return PathBuf::from(bin);
        }
        found_on_path(name).unwrap_or_else(|| {
            panic!(
                "{name} is not installed: ./build.sh test installs Debian's {package} package \
                 (apt-get install {package}), or set {variable} to a {self:?} binary"
            )
        })
    }

    /// The command that loads `url` headless, with a fresh profile in `profile`.
    fn command(self, profile: &Path, url: &str) -> Command {
        let mut command = Command::new(self.bin());
        match self {
            Engine::Chromium => {
                command
                    .args([
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                    ])
                    .arg(format!("--user-data-dir={}", profile.display()));
            }
            Engine::Firefox => {
                std::fs::write(profile.join("user.js"), FIREFOX_PREFS).unwrap();
                command
                    .arg("-profile")
                    .arg(profile)
                    .args(["-no-remote", "-headless"])
                    .env("MOZ_REMOTE_SETTINGS_DEVTOOLS", "1")
                    .env("MOZ_CRASHREPORTER_DISABLE", "1");
            }
            Engine::WebKit => {
                // No profile folder to give it: --private keeps every store in memory (and
                // its HOME is the run's own anyway).
                command
                    .args([
                        "--private",
                        "--enable-write-console-messages-to-stdout=true",
                    ])
                    .env("NO_AT_BRIDGE", "1");
            }
        }
        command.arg(url);
        command
    }
}

/// A headless browser on a fresh profile, started in a process group of its own: the whole
/// group (every process of the browser) is killed on drop. WebKit's X server is stopped after.
pub struct Browser {
    child: Child,
    engine: Engine,
    display: Option<XServer>,
    dir: TempDir,
}

impl Browser {
    /// Starts `engine` on `url`.
    pub fn open(engine: Engine, url: &str) -> Browser {
        let dir = TempDir::new();
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).unwrap();
        let log_path = dir.path().join("browser.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let display = (engine == Engine::WebKit).then(|| XServer::start(&log_path));
        let mut command = engine.command(&profile, url);
        if let Some(display) = &display {
            command.env("DISPLAY", &display.display);
        }
        // A home of its own too: the engines write crash-report and cache folders there.
        let child = command
            .env("HOME", dir.path())
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_DATA_HOME")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", engine.name()));
        Browser {
            child,
            engine,
            display,
            dir,
        }
    }

    /// What the browser printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("browser.log")).unwrap_or_default()
    }

    /// Polls `found` until it gives a value; fails if the browser exits first or if `timeout`
    /// passes, saying that `what` never came.
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut found: impl FnMut() -> Option<T>,
    ) -> T {
        let name = self.engine.name();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = found() {
                return value;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{name} exited ({status}) before {what}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{name}: no {what} in {timeout:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The child leads its own process group: its id is the group's.
        if let Ok(group) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) takes no pointers; it only signals the group the browser leads.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// What the page's scenarios give in a browser from the origin the policy allows: the one
/// table the demo's tests check, on this machine (`tests/demo.rs`) and in containers
/// (`tests/compose.rs`).
pub const FROM_THE_ALLOWED_ORIGIN: &[(&str, &str)] = &[
    ("simple-get", "readable"),
    ("json-post", "readable"),
    ("json-post-again", "readable"),
    ("credentialed", "readable"),
    ("public-get", "readable"),
    ("public-credentialed", "blocked"),
    ("custom-header", "readable"),
    ("disallowed-header", "blocked"),
    ("disallowed-method", "blocked"),
    ("unauthorized", "readable"),
];

/// The same from an origin the policy does not allow: only the public route is readable.
pub const FROM_ANOTHER_ORIGIN: &[(&str, &str)] = &[
    ("simple-get", "blocked"),
    ("json-post", "blocked"),
    ("json-post-again", "blocked"),
    ("credentialed", "blocked"),
    ("public-get", "readable"),
    ("public-credentialed", "blocked"),
    ("custom-header", "blocked"),
    ("disallowed-header", "blocked"),
    ("disallowed-method", "blocked"),
    ("unauthorized", "blocked"),
];

/// Every scenario's outcome against the expected one, all reported at once on failure.
pub fn assert_outcomes(results: &Value, expected: &[(&str, &str)]) {
    let got: Vec<(&str, &str)> = expected
        .iter()
        .map(|(id, _)| (*id, results[id]["outcome"].as_str().unwrap_or("missing")))
        .collect();
    assert_eq!(
        got, expected,
        "the browser's outcomes; all results:\n{results:#}"
    );
}

/// Loads `url` (the page, with `?run=all&report=1`) in `engine` and returns what each scenario
/// saw, `{"outcome": "readable" | "blocked", "status", "body", "headers"}`, from the report the
/// page posts to its server: among the lines "pages: results ..." that the server printed
/// (`lines` reads them), the first from `engine`'s user agent past the first `skip` of those.
pub fn page_results(
    engine: Engine,
    url: &str,
    skip: usize,
    mut lines: impl FnMut() -> Vec<String>,
) -> Value {
    let mut browser = Browser::open(engine, url);
    let report = browser.wait_for("results from the page", Duration::from_secs(90), || {
        let lines = lines();
        let mut reports = lines
            .iter()
            .filter_map(|l| l.strip_prefix("pages: results "))
            .map(|report| {
                serde_json::from_str::<Value>(report)
                    .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{report}"))
            })
            .filter(|report| {
                let agent = report["userAgent"].as_str().unwrap_or_default();
                agent.contains(engine.user_agent_token())
            });
        reports.nth(skip)
    });
    drop(browser);
    report["results"].clone()
}
