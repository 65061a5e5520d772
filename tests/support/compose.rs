//! The compose demo as a user runs it, on this machine: podman's Docker API service with
//! Debian's docker-compose as its client, and stand-ins for the two images the compose file
//! names (no registry is reachable here), built from Debian 11's root file system with the
//! Containerfiles of `tests/compose/` and tagged under the very names the file uses.
//!
//! Everything lives in a podman store of the test's own (`--root`, `--runroot`, `--tmpdir` in
//! a temporary folder): the image names, fixed by the compose file, never meet another run's
//! or a user's, and the store goes with the folder. Compose projects get unique names; their
//! containers and networks are removed on drop, as are the images and the service.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::containers::{debian_11_rootfs, podman};
use super::envoy::{envoy_bin, TempDir};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The names the compose file pulls, and the Containerfile of each stand-in.
const STAND_INS: [(&str, &str); 2] = [
    ("docker.io/envoyproxy/envoy:v1.40.0", "envoy.Containerfile"),
    ("docker.io/library/python:3.12-slim", "python.Containerfile"),
];
const BASE: &str = "localhost/cors-wasm-debian-11";

/// podman with a store of its own, the stand-in images in it, and its Docker API service.
pub struct Engine {
    service: Option<Child>,
    dir: TempDir,
}

impl Engine {
    /// Builds the stand-in images and starts the service.
    pub fn start() -> Engine {
        let mut engine = Engine {
            service: None,
            dir: TempDir::new(),
        };
        engine.import_base();
        engine.build_stand_ins();
        engine.start_service();
        engine
    }

    /// `podman` on this engine's store.
    pub fn podman(&self) -> Command {
        let mut command = podman();
        let dir = self.dir.path();
        command
            .arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .arg("--tmpdir")
            .arg(dir.join("tmp"));
        command
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("podman.sock")
    }

    /// What `DOCKER_HOST` is for a Docker client of this engine.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// Debian 11's root file system as an image: a tar of it, imported.
    fn import_base(&self) {
        let rootfs = debian_11_rootfs();
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["--exclude=./.complete", "-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .expect("run tar");
        let stdin = Stdio::from(tar.stdout.take().unwrap());
        let import = self
            .podman()
            .args(["import", "-q", "-", BASE])
            .stdin(stdin)
            .output();
        let tar_status = tar.wait().unwrap();
        succeeded(
            "podman import of Debian 11's root file system",
            &import.unwrap_or_else(cannot_run_podman),
        );
        assert!(tar_status.success(), "tar of {} failed", rootfs.display());
    }

    /// Each stand-in, built on the base, with the pinned Envoy binary in its context.
    fn build_stand_ins(&self) {
        let context = self.dir.path().join("context");
        fs::create_dir(&context).unwrap();
        fs::copy(envoy_bin(), context.join("envoy")).expect("copy the Envoy binary");
        let containerfiles = Path::new(ROOT).join("tests/compose");
        fs::copy(
            containerfiles.join("docker-entrypoint.sh"),
            context.join("docker-entrypoint.sh"),
        )
        .unwrap();
        for (name, containerfile) in STAND_INS {
            let output = self
                .podman()
                .args(["build", "-q", "--build-arg"])
                .arg(format!("BASE={BASE}"))
                .arg("-f")
                .arg(containerfiles.join(containerfile))
                .args(["-t", name])
                .arg(&context)
                .output()
                .unwrap_or_else(cannot_run_podman);
            succeeded(&format!("podman build of the stand-in {name}"), &output);
        }
    }

    /// `podman system service` on a socket in the engine's folder, until it answers.
    fn start_service(&mut self) {
        let log = fs::File::create(self.dir.path().join("service.log")).unwrap();
        let service = self
            .podman()
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", self.socket().display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(cannot_run_podman);
        self.service = Some(service);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.socket().exists() {
            assert!(
                Instant::now() < deadline,
                "podman system service made no socket in 30 s:\n{}",
                fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(mut service) = self.service.take() {
            let _ = service.kill();
            let _ = service.wait();
        }
        // Everything in this store is the test's. Containers a failed run left are removed
        // (unmounting their file systems); the images go with the folder of the store.
        let _ = self.podman().args(["rm", "-a", "-f", "-t", "0"]).output();
    }
}

fn cannot_run_podman<T>(e: std::io::Error) -> T {
    panic!("cannot run podman ({e}): ./build.sh test installs Debian's podman and runc packages")
}

/// Panics with what `what` printed unless it succeeded.
fn succeeded(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One compose project: the compose files (relative to the repository, or absolute), run by
/// docker-compose against the engine under a unique project name. `down` on drop.
pub struct Project<'a> {
    engine: &'a Engine,
    name: String,
    files: Vec<PathBuf>,
    env: Vec<(String, String)>,
}

impl<'a> Project<'a> {
    pub fn new(engine: &'a Engine, label: &str, files: &[&Path]) -> Project<'a> {
        Project {
            engine,
            name: format!("cors-wasm-{}-{label}", std::process::id()),
            files: files.iter().map(|f| Path::new(ROOT).join(f)).collect(),
            env: Vec::new(),
        }
    }

    /// Sets a variable the compose files read (`CORS_WASM_MODULE`, ...).
    pub fn env(mut self, name: &str, value: &Path) -> Self {
        self.env.push((name.into(), value.display().to_string()));
        self
    }

    /// `docker-compose -p <name> -f ... <args>`, from the repository's root.
    pub fn compose(&self, args: &[&str]) -> Output {
        let mut command = Command::new("docker-compose");
        command.arg("-p").arg(&self.name).arg("--no-ansi");
        for file in &self.files {
            command.arg("-f").arg(file);
        }
        command
            .args(args)
            .current_dir(ROOT)
            .env("DOCKER_HOST", self.engine.docker_host())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run docker-compose ({e}): ./build.sh test installs Debian's \
                     docker-compose package (apt-get install docker-compose)"
                )
            })
    }

    /// `up -d`; the error is what docker-compose printed.
    pub fn up(&self) -> Result<(), String> {
        let output = self.compose(&["up", "-d"]);
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output.status.success().then_some(()).ok_or(printed)
    }

    /// The containers of `service` ever made in this project, by compose's labels.
    pub fn containers(&self, service: &str) -> Vec<String> {
        let output = self
            .engine
            .podman()
            .args(["ps", "-a", "-q", "--filter"])
            .arg(format!("label=com.docker.compose.project={}", self.name))
            .arg("--filter")
            .arg(format!("label=com.docker.compose.service={service}"))
            .output()
            .unwrap_or_else(cannot_run_podman);
        succeeded("podman ps", &output);
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    /// What the container of `service` printed so far (stdout and stderr).
    pub fn log(&self, service: &str) -> String {
        let Some(id) = self.containers(service).pop() else {
            return format!("(no container for the service {service})");
        };
        let output = self
            .engine
            .podman()
            .args(["logs", &id])
            .output()
            .unwrap_or_else(cannot_run_podman);
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    /// The lines the container of `service` prints to stdout, as they come.
    pub fn follow(&self, service: &str) -> Followed {
        let id = self.containers(service).pop();
        let id = id.unwrap_or_else(|| panic!("no container for the service {service}"));
        let mut child = self
            .engine
            .podman()
            .args(["logs", "-f", &id])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(cannot_run_podman);
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Followed { child, lines }
    }

    /// Whether the container of `service` is running.
    pub fn running(&self, service: &str) -> bool {
        let Some(id) = self.containers(service).pop() else {
            return false;
        };
        let output = self
            .engine
            .podman()
            .args(["inspect", "--format", "{{.State.Running}}", &id])
            .output()
            .unwrap_or_else(cannot_run_podman);
        String::from_utf8_lossy(&output.stdout).trim() == "true"
    }
}

impl Drop for Project<'_> {
    fn drop(&mut self) {
        let output = self.compose(&["down", "-t", "2"]);
        if !output.status.success() && !std::thread::panicking() {
            succeeded("docker-compose down", &output);
        }
    }
}

/// A container's output lines, read by `podman logs -f` until drop.
pub struct Followed {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Followed {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Followed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
