#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cors_wasm_fuzz::properties::import(data));
