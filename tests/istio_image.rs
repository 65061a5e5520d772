//! The OCI image Istio's WasmPlugin and Envoy Gateway's wasm policy pull, built from the tested
//! module by `./build.sh istio-image-from` (the function `./build.sh istio-image` runs), pushed
//! to a registry on loopback (Debian's docker-registry) and pulled back: read as Istio reads a
//! "compat" image, it carries the module's exact bytes with a fixed mode, owner and time, and
//! its manifest digest is the `sha256` the manifests pin, as Istio and Envoy Gateway compare it.
//! The dynamic module's sha256 is the one the EnvoyProxy pins. Drift fails, saying which
//! command rewrites them.

mod support;

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::containers::podman;
use support::envoy::{dynamic_module_dir, module_path, TempDir};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const REWRITE: &str =
    "run ./build.sh istio-image --write (after ./build.sh) and commit the manifests";

/// Debian's docker-registry on a free loopback port, storing into a temporary folder; stopped
/// and removed on drop. podman is pointed at it by a registries.conf of its own (plain HTTP).
struct Registry {
    process: Child,
    port: u16,
    dir: TempDir,
}

impl Registry {
    fn start() -> Registry {
        let binary = Path::new("/usr/bin/docker-registry");
        assert!(
            binary.exists(),
            "{} is missing: run ./build.sh test, which installs Debian's docker-registry",
            binary.display()
        );
        let dir = TempDir::new();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "version: 0.1\nlog: {{ level: error }}\nstorage: {{ filesystem: {{ rootdirectory: {} }} }}\n\
             http: {{ addr: \"127.0.0.1:{port}\" }}\n",
            dir.path().join("storage").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let registries =
            format!("[[registry]]\nlocation = \"127.0.0.1:{port}\"\ninsecure = true\n");
        std::fs::write(dir.path().join("registries.conf"), registries).unwrap();
        let process = Command::new(binary)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
            .spawn()
            .unwrap();
        let mut registry = Registry { process, port, dir };
        registry.wait_until_listening();
        registry
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self.process.try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "docker-registry did not listen on 127.0.0.1:{}: {}",
                self.port,
                std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// podman, with the project's settings and this registry as an insecure (HTTP) one.
    fn podman(&self) -> Command {
        let mut command = podman();
        command.env(
            "CONTAINERS_REGISTRIES_CONF",
            self.dir.path().join("registries.conf"),
        );
        command
    }

    /// `GET path` from the registry's HTTP API.
    fn get(&self, path: &str, accept: &str) -> support::http::Response {
        let host = format!("127.0.0.1:{}", self.port);
        let response = support::http::request(
            self.port,
            "GET",
            path,
            &[("host", &host), ("accept", accept)],
        );
        assert_eq!(
            response.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&response.body)
        );
        response
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// An image pulled into podman's storage, removed on drop.
struct Pulled<'a> {
    registry: &'a Registry,
    reference: String,
}

impl Drop for Pulled<'_> {
    fn drop(&mut self) {
        let _ = self
            .registry
            .podman()
            .args(["rmi", "--force", &self.reference])
            .output();
    }
}

fn succeeded(what: &str, output: Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn sha256_of(path: &Path) -> String {
    let out = succeeded(
        "sha256sum",
        Command::new("sha256sum").arg(path).output().unwrap(),
    );
    out.split_whitespace().next().unwrap().to_string()
}

/// The `sha256: "..."` value of the one line that pins it in a shipped manifest.
fn pinned_sha256(file: &str) -> String {
    let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    let pins: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("sha256: "))
        .map(|v| v.trim_matches('"'))
        .collect();
    assert_eq!(pins.len(), 1, "{file} should pin one sha256: {pins:?}");
    pins[0].to_string()
}

/// Builds the module's image with build.sh's own function and pushes it to the registry;
/// returns the digest build.sh printed.
fn push_image(registry: &Registry, reference: &str) -> String {
    let mut build = Command::new(Path::new(ROOT).join("build.sh"));
    build
        .current_dir(ROOT)
        .args(["istio-image-from"])
        .arg(module_path())
        .arg(format!("docker://{reference}"));
    for (key, value) in registry.podman().get_envs() {
        build.env(key, value.unwrap());
    }
    succeeded("./build.sh istio-image-from", build.output().unwrap())
        .trim()
        .to_string()
}

/// Pulls the image back with podman; returns the manifest digest podman got.
fn pull(pulled: &Pulled) -> String {
    let podman = || pulled.registry.podman();
    succeeded(
        "podman pull",
        podman()
            .args(["pull", "--quiet", &pulled.reference])
            .output()
            .unwrap(),
    );
    let inspect = [
        "image",
        "inspect",
        "--format",
        "{{.Digest}}",
        &pulled.reference,
    ];
    let digest = succeeded(
        "podman image inspect",
        podman().args(inspect).output().unwrap(),
    );
    digest.trim().to_string()
}

/// plugin.wasm as Istio reads a "compat" image: the manifest's last layer, which must be an
/// OCI gzip'd tar, holding plugin.wasm. Its listing shows the fixed mode, owner and time.
fn plugin_as_istio_reads_it(registry: &Registry, name: &str, manifest: &Value) -> Vec<u8> {
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "one layer: {manifest}");
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let blob = format!("/v2/{name}/blobs/{}", layers[0]["digest"].as_str().unwrap());
    let layer = registry.dir.path().join("layer.tar.gz");
    std::fs::write(&layer, registry.get(&blob, "*/*").body).unwrap();
    let tar = |args: &[&str]| {
        let mut command = Command::new("tar");
        command.args(args).arg("-f").arg(&layer);
        command.current_dir(registry.dir.path());
        succeeded("tar", command.output().unwrap())
    };
    let size = std::fs::metadata(module_path()).unwrap().len();
    assert_eq!(
        tar(&["-tvz", "--full-time", "--numeric-owner"])
            .split_whitespace()
            .collect::<Vec<_>>(),
        [
            "-rw-r--r--",
            "0/0",
            &size.to_string(),
            "1970-01-01",
            "00:00:00",
            "plugin.wasm"
        ],
    );
    tar(&["-xz", "plugin.wasm"]);
    std::fs::read(registry.dir.path().join("plugin.wasm")).unwrap()
}

#[test]
fn the_image_pulled_back_from_a_registry_is_the_module_with_the_pinned_digest() {
    let registry = Registry::start();
    let name = format!("cors-wasm-test-{}", std::process::id());
    let reference = format!("127.0.0.1:{}/{name}:0.1.0", registry.port);
    let digest = push_image(&registry, &reference);
    assert!(
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "build.sh printed {digest:?}, not a digest"
    );

    // The registry serves the manifest under that digest, as Istio and Envoy Gateway see it.
    let oci_manifest = "application/vnd.oci.image.manifest.v1+json";
    let manifest = registry.get(&format!("/v2/{name}/manifests/0.1.0"), oci_manifest);
    let expected = format!("sha256:{digest}");
    assert_eq!(
        manifest.header("docker-content-digest"),
        Some(expected.clone())
    );
    let manifest_file = registry.dir.path().join("manifest.json");
    std::fs::write(&manifest_file, &manifest.body).unwrap();
    assert_eq!(sha256_of(&manifest_file), digest, "the manifest's own hash");

    let manifest: Value = serde_json::from_slice(&manifest.body).unwrap();
    assert!(
        plugin_as_istio_reads_it(&registry, &name, &manifest)
            == std::fs::read(module_path()).unwrap(),
        "the image's plugin.wasm is not the built module"
    );
    let pulled = Pulled {
        registry: &registry,
        reference: reference.clone(),
    };
    assert_eq!(pull(&pulled), expected, "podman pulled another manifest");

    for file in [
        "envoy/istio/wasmplugin.yaml",
        "envoy/envoy-gateway/wasm.yaml",
    ] {
        assert_eq!(
            pinned_sha256(file),
            digest,
            "{file} pins another image than the one built from today's module: {REWRITE}"
        );
    }
}

#[test]
fn the_envoy_proxy_pins_the_built_dynamic_module() {
    let so = dynamic_module_dir().join("libcors_wasm.so");
    assert_eq!(
        pinned_sha256("envoy/envoy-gateway/dynamic-module.yaml"),
        sha256_of(&so),
        "envoy/envoy-gateway/dynamic-module.yaml pins another .so than {}: {REWRITE} (the .so \
         names the registry crates' paths under $CARGO_HOME: builds with another CARGO_HOME \
         differ)",
        so.display()
    );
}
