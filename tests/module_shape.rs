//! The shape of the wasm module, on which each Envoy's memory depends (bench/analysis.md,
//! "Memory per Envoy"): Envoy's V8 compiles every function of the module with TurboFan as it
//! loads it, and the memory that takes, which Envoy keeps, grows faster than the function.

use wasmparser::{Parser, Payload};

mod support;

/// The largest function the module has to have: dlmalloc's, from wasi-libc (4,924 bytes).
const MAX_FUNCTION_BYTES: usize = 5_000;

#[test]
fn no_function_is_larger_than_the_allocators() {
    let module = std::fs::read(support::fresh::module_path()).expect("the built module");
    let sizes = function_sizes(&module);
    // The whole module (970 functions since build.sh's INLINE_THRESHOLD), not a stub.
    assert!(
        sizes.len() > 900,
        "the module has {} functions",
        sizes.len()
    );
    let largest = sizes.into_iter().max().unwrap_or(0);
    assert!(
        largest <= MAX_FUNCTION_BYTES,
        "the module has a function of {largest} bytes of wasm, more than {MAX_FUNCTION_BYTES}. \
         After an update of regex-lite, of the compiler or of the release profile, the symbols \
         in build.sh's KEPT_APART no longer match: list them anew (its comment says how). If \
         the function is ours, keep what was inlined into it apart with #[inline(never)], as \
         src/policy/ does."
    );
}

/// The size in bytes of each function body in the module's code section.
fn function_sizes(module: &[u8]) -> Vec<usize> {
    Parser::new(0)
        .parse_all(module)
        .filter_map(|payload| match payload.expect("a valid module") {
            Payload::CodeSectionEntry(body) => Some(body.range().len()),
            _ => None,
        })
        .collect()
}
