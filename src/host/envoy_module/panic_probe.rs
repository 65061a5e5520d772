//! Test builds only (`--cfg cors_wasm_panic_probe`, set by `./build.sh test` alone, never
//! shipped): panics on demand, so that the tests can show in a real Envoy that no panic reaches it.

use super::ffi::FilterHandle;

/// Panics when the request's `x-cors-wasm-panic` header names this `phase`.
pub fn at(envoy: &FilterHandle<'_>, phase: &str) {
    if envoy.request_header(b"x-cors-wasm-panic").as_deref() == Some(phase.as_bytes()) {
        panic!("the panic probe, in the {phase} phase");
    }
}

/// Panics when the filter is named `panic-probe`.
pub fn at_configure(filter_name: &[u8]) {
    if filter_name == b"panic-probe" {
        panic!("the panic probe, at configure time");
    }
}
