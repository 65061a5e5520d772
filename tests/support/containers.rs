//! What the tests of the paths users take share: podman, with the settings `./build.sh test`
//! writes, and Debian 11's root file system that it makes with debootstrap.

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `podman`, with the project's containers.conf (`CONTAINERS_CONF`, written by
/// `./build.sh test` to `.tmp/containers.conf`). Missing is a failure, never a skip.
pub fn podman() -> Command {
    let conf = std::env::var_os("CONTAINERS_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join(".tmp/containers.conf"));
    assert!(
        conf.exists(),
        "podman's settings {} are missing: run ./build.sh test, which writes them",
        conf.display()
    );
    let mut command = Command::new("podman");
    command.env("CONTAINERS_CONF", conf);
    command
}

/// Debian 11's root file system (glibc 2.31, python3), made by `./build.sh test`
/// (`CORS_ROOTFS`, or `.tmp/rootfs/debian-11`).
pub fn debian_11_rootfs() -> PathBuf {
    let path = std::env::var_os("CORS_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join(".tmp/rootfs/debian-11"));
    assert!(
        path.join(".complete").exists(),
        "Debian 11's root file system {} is missing or incomplete: run ./build.sh test, \
         which makes it with debootstrap",
        path.display()
    );
    path
}
