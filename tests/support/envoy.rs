//! A real Envoy, started on free loopback ports with the built module, always stopped.

use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{fresh, http};

pub struct Envoy {
    child: Child,
    dir: TempDir,
    pub port: u16,
    pub admin_port: u16,
}

/// How the policy is written in the Envoy config.
#[derive(Clone, Copy, Debug)]
pub enum Encoding {
    /// A `google.protobuf.StringValue` holding JSON text.
    Json,
    /// A `google.protobuf.Struct` written as plain YAML; Envoy hands over its binary encoding.
    Struct,
}

pub use super::fresh::module_path;

/// The Envoy binary from the project's virtualenv (or `ENVOY_BIN`). Missing is a failure.
/// The folder holding the Envoy dynamic module, `libcors_wasm.so`, that `./build.sh` builds.
pub fn dynamic_module_dir() -> PathBuf {
    module_dir("CORS_DYNAMIC_MODULE", "target/release/libcors_wasm.so")
}

/// The folder holding the test build of the dynamic module that panics on demand.
pub fn panic_probe_dir() -> PathBuf {
    module_dir(
        "CORS_PANIC_PROBE_MODULE",
        "target/panic-probe/x86_64-unknown-linux-gnu/dynamic-module/libcors_wasm.so",
    )
}

/// The folder of the library named by `$variable`, or by `default` under the repository.
fn module_dir(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(default));
    assert!(
        path.exists(),
        "the dynamic module {} is missing: run ./build.sh test, which builds it",
        path.display()
    );
    fresh::assert_built_after_sources(&path);
    path.parent().expect("a file has a folder").to_path_buf()
}

pub fn envoy_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("ENVOY_BIN") {
        return PathBuf::from(bin);
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
    let found = fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .find_map(|entry| {
            let bin = entry.path().join("site-packages/envoy/_bin/envoy");
            bin.exists().then_some(bin)
        });
    found.unwrap_or_else(|| {
        panic!(
            "Envoy is not installed in {}: run ./build.sh test, which installs it",
            lib.display()
        )
    })
}

/// Which build of cors-wasm Envoy runs: the proxy-wasm module or the dynamic module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    Wasm,
    DynamicModule,
}

pub const BUILDS: [Build; 2] = [Build::Wasm, Build::DynamicModule];

/// The cors-wasm filter of `build`, with `policy` in the given encoding.
pub fn cors_filter(build: Build, policy: &Value, encoding: Encoding) -> Value {
    match build {
        Build::Wasm => wasm_filter(policy, encoding),
        Build::DynamicModule => dynamic_module_filter(policy, encoding),
    }
}

/// The same filter given a configuration as raw text (not valid JSON, say), as a StringValue.
pub fn cors_filter_text(build: Build, text: &str) -> Value {
    let mut filter = cors_filter(build, &json!({}), Encoding::Json);
    let config = match build {
        Build::Wasm => &mut filter["typed_config"]["config"]["configuration"],
        Build::DynamicModule => &mut filter["typed_config"]["filter_config"],
    };
    config["value"] = json!(text);
    filter
}

/// `policy` as an `Any`: JSON text in a StringValue, or the Struct itself.
fn any_config(policy: &Value, encoding: Encoding) -> Value {
    match encoding {
        Encoding::Json => json!({
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": policy.to_string(),
        }),
        Encoding::Struct => json!({
            "@type": "type.googleapis.com/google.protobuf.Struct",
            "value": policy,
        }),
    }
}

/// The `envoy.filters.http.dynamic_modules` filter loading `libcors_wasm.so` (found through
/// `ENVOY_DYNAMIC_MODULES_SEARCH_PATH`, which every Envoy here is given).
pub fn dynamic_module_filter(policy: &Value, encoding: Encoding) -> Value {
    json!({
        "name": "envoy.filters.http.dynamic_modules",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
            "dynamic_module_config": {"name": "cors_wasm"},
            "filter_name": "cors",
            "filter_config": any_config(policy, encoding),
        },
    })
}

/// The `envoy.filters.http.wasm` filter with the module and `policy` in the given encoding.
pub fn wasm_filter(policy: &Value, encoding: Encoding) -> Value {
    let configuration = any_config(policy, encoding);
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "cors-wasm",
                "root_id": "cors-wasm",
                "vm_config": {
                    "vm_id": "cors-wasm",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": module_path()}},
                },
                "configuration": configuration,
            },
        },
    })
}

/// A bootstrap: one listener on a free port with `filters` then the router, `routes` in one
/// virtual host for every domain, and an `upstream` cluster on `upstream_port`. Made by
/// `bootstrap.py`, the generator the benchmark uses too.
pub fn bootstrap(filters: Vec<Value>, routes: Value, upstream_port: u16) -> Value {
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/bootstrap.py");
    let arguments = json!({"filters": filters, "routes": routes, "upstream_port": upstream_port});
    let mut python = Command::new("python3")
        .arg(&generator)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 {} could not start: {e}", generator.display()));
    let stdin = python.stdin.take().expect("python3's standard input");
    serde_json::to_writer(stdin, &arguments).expect("arguments written to bootstrap.py");
    let output = python.wait_with_output().expect("bootstrap.py's output");
    assert!(
        output.status.success(),
        "bootstrap.py failed: {}",
        output.status
    );
    serde_json::from_slice(&output.stdout).expect("bootstrap.py prints JSON")
}

impl Envoy {
    /// Starts Envoy with this bootstrap and waits until it serves; panics with its log if not.
    pub fn start(bootstrap: &Value) -> Envoy {
        Envoy::start_yaml(&bootstrap.to_string(), "json")
    }

    /// Starts Envoy with a config file's text (`ext` is `yaml` or `json`).
    pub fn start_yaml(config: &str, ext: &str) -> Envoy {
        Envoy::start_with_modules(config, ext, &dynamic_module_dir())
    }

    /// The same, with dynamic modules looked up in `modules`.
    pub fn start_with_modules(config: &str, ext: &str, modules: &Path) -> Envoy {
        Envoy::start_by(Command::new(envoy_bin()), config, ext, modules)
    }

    /// Starts another Envoy binary (another release) with this bootstrap.
    pub fn start_on(bin: &Path, bootstrap: &Value) -> Envoy {
        let modules = dynamic_module_dir();
        Envoy::start_by(Command::new(bin), &bootstrap.to_string(), "json", &modules)
    }

    /// Starts Envoy as `command` runs it (Envoy's arguments are added to it: it may be
    /// Envoy, or a command that runs Envoy elsewhere, in a chroot say, with them).
    pub fn start_by(command: Command, config: &str, ext: &str, modules: &Path) -> Envoy {
        Envoy::start_within(command, config, ext, modules, Duration::from_secs(60))
    }

    /// Envoy run by `wrapper` (a command and its arguments, such as valgrind's), given
    /// `ready_within` to serve.
    pub fn start_under(
        wrapper: &[String],
        config: &str,
        ext: &str,
        modules: &Path,
        ready_within: Duration,
    ) -> Envoy {
        let (program, args) = wrapper.split_first().expect("a wrapper command");
        let mut command = Command::new(program);
        command.args(args).arg(envoy_bin());
        Envoy::start_within(command, config, ext, modules, ready_within)
    }

    fn start_within(
        command: Command,
        config: &str,
        ext: &str,
        modules: &Path,
        ready_within: Duration,
    ) -> Envoy {
        let (child, dir) = spawn(command, config, ext, modules);
        let mut envoy = Envoy {
            child,
            dir,
            port: 0,
            admin_port: 0,
        };
        envoy.wait_until_ready(ready_within);
        envoy
    }

    /// Asks Envoy to exit (admin `/quitquitquit`) and waits up to `within` for it.
    pub fn quit(mut self, within: Duration) -> std::process::ExitStatus {
        let _ = http::try_send(self.admin_port, "POST", "/quitquitquit", &[]);
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "Envoy did not exit within {within:?} of /quitquitquit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs Envoy with a config it must refuse: returns its log once it has exited non-zero.
    pub fn refuse(bootstrap: &Value) -> String {
        Envoy::refuse_with_modules(bootstrap, &dynamic_module_dir())
    }

    /// The same, with dynamic modules looked up in `modules`.
    pub fn refuse_with_modules(bootstrap: &Value, modules: &Path) -> String {
        Envoy::refuse_by(Command::new(envoy_bin()), bootstrap, modules)
    }

    /// Runs another Envoy binary (another release) with a config it must refuse.
    pub fn refuse_on(bin: &Path, bootstrap: &Value) -> String {
        Envoy::refuse_by(Command::new(bin), bootstrap, &dynamic_module_dir())
    }

    fn refuse_by(command: Command, bootstrap: &Value, modules: &Path) -> String {
        let (mut child, dir) = spawn(command, &bootstrap.to_string(), "json", modules);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let log = read_log(&dir);
                assert!(
                    !status.success(),
                    "Envoy exited 0 with an invalid configuration:\n{log}"
                );
                return log;
            }
            if Instant::now() > deadline || admin_is_live(&dir) {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "Envoy started with an invalid configuration:\n{}",
                    read_log(&dir)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// Envoy's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> http::Response {
        http::request(self.port, method, path, headers)
    }

    fn wait_until_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("Envoy exited ({status}):\n{}", self.log());
            }
            if let Some(admin) = admin_port(&self.dir) {
                let listeners = http::try_send(admin, "GET", "/listeners?format=json", &[]);
                if let Some(port) = listeners.ok().and_then(|l| listener_port(&l.body)) {
                    self.admin_port = admin;
                    self.port = port;
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("Envoy did not become ready in {within:?}:\n{}", self.log());
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(mut command: Command, config: &str, ext: &str, modules: &Path) -> (Child, TempDir) {
    let dir = TempDir::new();
    let config_path = dir.path().join(format!("envoy.{ext}"));
    fs::write(&config_path, config).unwrap();
    let log = fs::File::create(dir.path().join("envoy.log")).unwrap();
    let child = command
        .arg("-c")
        .arg(&config_path)
        .args(["--disable-hot-restart", "--concurrency", "1", "-l", "info"])
        .args(["--component-log-level", "wasm:debug,dynamic_modules:debug"])
        .env("ENVOY_DYNAMIC_MODULES_SEARCH_PATH", modules)
        .arg("--admin-address-path")
        .arg(dir.path().join("admin"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start Envoy");
    (child, dir)
}

/// The configuration warnings in an Envoy log, without their prefix, in log order (Envoy
/// configures a wasm plugin once per thread, so each appears once per configure).
pub fn configuration_warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter_map(|line| line.split_once("cors-wasm: configuration warning: "))
        .map(|(_, warning)| warning)
        .collect()
}

fn read_log(dir: &TempDir) -> String {
    fs::read_to_string(dir.path().join("envoy.log")).unwrap_or_default()
}

fn admin_port(dir: &TempDir) -> Option<u16> {
    let address = fs::read_to_string(dir.path().join("admin")).ok()?;
    address.trim().rsplit(':').next()?.parse().ok()
}

fn admin_is_live(dir: &TempDir) -> bool {
    admin_port(dir).is_some_and(|port| {
        http::try_send(port, "GET", "/ready", &[]).is_ok_and(|r| r.status == 200)
    })
}

/// The port of the first bound listener in the admin's `/listeners?format=json`.
fn listener_port(body: &[u8]) -> Option<u16> {
    let listeners: Value = serde_json::from_slice(body).ok()?;
    listeners["listener_statuses"]
        .as_array()?
        .iter()
        .find_map(|l| {
            let port = l["local_address"]["socket_address"]["port_value"].as_u64()?;
            u16::try_from(port).ok().filter(|&p| p != 0)
        })
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "cors-wasm-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
