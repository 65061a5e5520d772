//! The dynamic module loads wherever the pinned Envoy runs: it needs no newer glibc than
//! Envoy's own binary does, and Envoy on Debian 11 (glibc 2.31) loads it and answers with it.

mod support;

use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::containers::debian_11_rootfs;
use support::envoy::{
    bootstrap, dynamic_module_dir, dynamic_module_filter, envoy_bin, Encoding, Envoy,
};
use support::upstream::Upstream;

/// A glibc symbol version, `GLIBC_2.28` as (2, 28).
type GlibcVersion = (u32, u32);

/// Every glibc version the dynamic symbols of `file` name, by binutils' `objdump -T`.
fn glibc_versions(file: &Path) -> BTreeSet<GlibcVersion> {
    let output = Command::new("objdump")
        .arg("-T")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("objdump (binutils) is needed for this test: {e}"));
    assert!(output.status.success(), "objdump -T {}", file.display());
    let text = String::from_utf8_lossy(&output.stdout);
    let versions: BTreeSet<GlibcVersion> = text
        .split_whitespace()
        .filter_map(|word| word.trim_matches(['(', ')']).strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let (major, minor) = version.split_once('.')?;
            let minor = minor.split('.').next()?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        })
        .collect();
    assert!(
        !versions.is_empty(),
        "no GLIBC_ symbols in {}",
        file.display()
    );
    versions
}

#[test]
fn the_module_needs_no_newer_glibc_than_the_pinned_envoy() {
    let module = dynamic_module_dir().join("libcors_wasm.so");
    let envoy = *glibc_versions(&envoy_bin()).last().expect("not empty");
    let needed = glibc_versions(&module);
    let too_new: Vec<&GlibcVersion> = needed.iter().filter(|v| **v > envoy).collect();
    assert!(
        too_new.is_empty(),
        "{} needs glibc {too_new:?}, newer than Envoy's own binary needs ({envoy:?}): build it \
         with ./build.sh, which links it against glibc 2.28",
        module.display()
    );
}

/// Runs Envoy (its arguments follow) inside the root file system `$1`, in a mount namespace
/// of its own, so that what it mounts vanishes with it, also when a test fails: `/proc`,
/// the temp folder where the tests keep Envoy's config and log (`$3`, at the same path), the
/// folder of Envoy's binary (`$2`) on `/opt`, and the dynamic modules' folder on `/mnt`.
const IN_ROOT: &str = r#"set -e
root=$1 envoy=$2 tmp=$3
shift 3
mount -t proc proc "$root/proc"
mount --bind "$tmp" "$root$tmp"
mount --bind "$(dirname "$envoy")" "$root/opt"
mount --bind "$ENVOY_DYNAMIC_MODULES_SEARCH_PATH" "$root/mnt"
export ENVOY_DYNAMIC_MODULES_SEARCH_PATH=/mnt
exec chroot "$root" "/opt/$(basename "$envoy")" "$@"
"#;

/// The pinned Envoy, run in Debian 11's root file system (loopback is the host's).
fn envoy_in_debian_11() -> Command {
    let root = debian_11_rootfs();
    let tmp = std::env::temp_dir();
    let tmp_in_root = root.join(tmp.strip_prefix("/").expect("an absolute temp dir"));
    assert!(
        tmp_in_root.is_dir(),
        "{} has no {} to mount the temp folder on",
        root.display(),
        tmp.display()
    );
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            IN_ROOT,
            "sh",
        ])
        .arg(&root)
        .arg(envoy_bin())
        .arg(&tmp);
    command
}

#[test]
fn envoy_on_debian_11_loads_the_module_and_answers_a_preflight() {
    let upstream = Upstream::start();
    let config = with_the_module(upstream.port);
    let envoy = Envoy::start_by(envoy_in_debian_11(), &config, "json", &dynamic_module_dir());
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", envoy.pid())).unwrap();
    assert!(
        maps.contains("libc-2.31.so") && maps.contains("/mnt/libcors_wasm.so"),
        "Envoy should run with Debian 11's glibc and the module:\n{maps}"
    );
    let response = answered_preflight(&envoy);
    assert_eq!(
        response.header("access-control-allow-methods").as_deref(),
        Some("PUT")
    );
    assert!(upstream.requests_to("/api/orders").is_empty());
}

/// The path in the environment variable `name`, which `./build.sh aarch64` sets.
fn aarch64_path(name: &str) -> PathBuf {
    let path = std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set: run ./build.sh aarch64, which sets it"));
    assert!(
        path.exists(),
        "{} is missing: run ./build.sh aarch64",
        path.display()
    );
    path
}

#[test]
#[ignore = "./build.sh aarch64 builds the aarch64 module, fetches aarch64 Envoy and runs this"]
fn aarch64_envoy_on_debian_11_loads_the_aarch64_module_and_answers_a_preflight() {
    let module = aarch64_path("CORS_AARCH64_MODULE");
    let envoy_bin = aarch64_path("CORS_AARCH64_ENVOY");
    let root = aarch64_path("CORS_AARCH64_ROOTFS");
    let envoy_glibc = *glibc_versions(&envoy_bin).last().expect("not empty");
    let too_new: Vec<GlibcVersion> = glibc_versions(&module)
        .into_iter()
        .filter(|v| *v > envoy_glibc)
        .collect();
    assert!(too_new.is_empty(), "needs glibc {too_new:?}");
    let mut qemu = Command::new("qemu-aarch64");
    qemu.arg("-L").arg(&root).arg(&envoy_bin);
    let upstream = Upstream::start();
    let config = with_the_module(upstream.port);
    let modules = module.parent().expect("a file has a folder");
    let envoy = Envoy::start_by(qemu, &config, "json", modules);
    assert!(
        envoy
            .log()
            .contains("Dynamic module ABI version v0.2.0 matched."),
        "{}",
        envoy.log()
    );
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", envoy.pid())).unwrap();
    assert!(
        maps.contains("aarch64-linux-gnu/libc-2.31.so"),
        "qemu should run Envoy with Debian 11's arm64 glibc:\n{maps}"
    );
    answered_preflight(&envoy);
}

/// A preflight the test policy allows, answered by the module with 204 and the origin.
fn answered_preflight(envoy: &Envoy) -> support::http::Response {
    let response = envoy.request(
        "OPTIONS",
        "/api/orders",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"),
        ],
    );
    assert_eq!(response.status, 204, "{}", envoy.log());
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    response
}

/// A bootstrap with the dynamic module and a policy allowing `PUT` from the app's origin.
fn with_the_module(upstream_port: u16) -> String {
    let policy = json!({"policies": [{
        "allow_origins": ["https://app.example.com"],
        "allow_methods": ["PUT"],
    }]});
    let filter = dynamic_module_filter(&policy, Encoding::Json);
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    bootstrap(vec![filter], routes, upstream_port).to_string()
}
