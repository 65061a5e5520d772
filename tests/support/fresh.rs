//! The modules the tests load (the `.wasm`, the `.so`) are `./build.sh`'s output, which a
//! plain `cargo test` does not rebuild: one older than the sources it is built from would
//! test old code and pass or fail for the wrong reason. That is a failure, saying what to run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The built wasm module (`CORS_WASM_MODULE`, else where `./build.sh` puts it), checked
/// to be there and newer than the sources: the test command builds it first.
pub fn module_path() -> PathBuf {
    let path = std::env::var_os("CORS_WASM_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/wasm32-wasip1/release/cors_wasm.wasm")
        });
    assert!(
        path.exists(),
        "the module {} is missing: run ./build.sh test, which builds it",
        path.display()
    );
    assert_built_after_sources(&path);
    path
}

/// Panics, naming the newer source and the command to run, when `module` was built before
/// the last change to any file under `src/`, to `Cargo.toml` or to `Cargo.lock`.
pub fn assert_built_after_sources(module: &Path) {
    let Some((newest, source)) = newest_source() else {
        return;
    };
    let built = modified(module).unwrap_or_else(|e| {
        panic!(
            "the module {} is missing ({e}): run ./build.sh test, which builds it",
            module.display()
        )
    });
    assert!(
        built >= *newest,
        "the module {} is older than {}: it would test old code. Run ./build.sh test (or \
         ./build.sh, then cargo test): cargo test alone does not rebuild the modules",
        module.display(),
        source.display()
    );
}

/// The last-modified source file and its time; looked up once per test binary.
fn newest_source() -> Option<&'static (SystemTime, PathBuf)> {
    static NEWEST: OnceLock<Option<(SystemTime, PathBuf)>> = OnceLock::new();
    NEWEST
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let mut files = vec![root.join("Cargo.toml"), root.join("Cargo.lock")];
            files_under(&root.join("src"), &mut files);
            files
                .into_iter()
                .filter_map(|file| Some((modified(&file).ok()?, file)))
                .max()
        })
        .as_ref()
}

/// Every file below `dir`, except hidden ones (an editor's swap files are no source).
fn files_under(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten();
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            files_under(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn modified(path: &Path) -> std::io::Result<SystemTime> {
    std::fs::metadata(path)?.modified()
}
