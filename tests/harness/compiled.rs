//! Compiled modules kept on disk. Cranelift in a debug build takes seconds to compile the
//! module, and each test process (nextest runs every test in its own) would pay it again; the
//! machine code is instead kept under the target folder, keyed by the module's bytes and by
//! all that wasmtime says makes compiled code incompatible (its version, the engine's
//! settings, this host's CPU).

use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module, Result};

/// `wasm` compiled for `engine`: from the kept machine code if there is any, else compiled
/// now and kept for the next process. Processes that start together wait for the first one's
/// compilation rather than all compile at once.
pub fn module(engine: &Engine, wasm: &[u8]) -> Result<Module> {
    let path = kept_path(engine, wasm);
    let _one_at_a_time = lock(&path);
    // SAFETY: files here are only ever written whole by `keep` (a rename over the name) from
    // `precompile_module`'s output, and never changed afterwards; wasmtime checks each one's
    // header and compatibility with `engine` and refuses anything else, which is compiled anew.
    if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
        return Ok(module);
    }
    let compiled = engine.precompile_module(wasm)?;
    keep(&path, &compiled);
    // SAFETY: these bytes come from `precompile_module` of the same engine, just now.
    unsafe { Module::deserialize(engine, &compiled) }
}

/// `<target>/debug/harness-modules/<key>.cwasm`, beside the test binaries.
fn kept_path(engine: &Engine, wasm: &[u8]) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    wasm.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .ancestors()
        .nth(2)
        .expect("target/<profile>/deps/<binary>");
    profile
        .join("harness-modules")
        .join(format!("{:016x}.cwasm", hasher.finish()))
}

/// An exclusive lock on `<path>.lock`, held until dropped (the kernel drops it if the process
/// dies). Without one, compilations merely overlap.
fn lock(path: &Path) -> Option<File> {
    let folder = path.parent()?;
    std::fs::create_dir_all(folder).ok()?;
    let file = File::create(path.with_extension("lock")).ok()?;
    file.lock().ok()?;
    Some(file)
}

/// Writes `compiled` to `path` whole or not at all: a process that reads it sees either.
fn keep(path: &Path, compiled: &[u8]) {
    let Some(folder) = path.parent() else { return };
    let partial = path.with_extension(format!("{}.partial", std::process::id()));
    let kept = std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::write(&partial, compiled))
        .and_then(|()| std::fs::rename(&partial, path));
    if kept.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
}
