//! A small proxy-wasm host (ABI 0.2.1) on wasmtime, for tests: it loads the real module,
//! drives it the way Envoy does, and keeps everything the module did as plain state
//! (header maps, local response, logs, metrics) for tests to assert on — the way
//! proxy-wasm-go-sdk's `proxytest` works, rather than a script of expected host calls.
//!
//! - [`host`]: the lifecycle (`_initialize`, root context, `proxy_on_vm_start`,
//!   `proxy_on_configure`, then per request an HTTP context) and the [`host::State`].
//! - [`abi`]: the host functions, `env.proxy_*` and the few WASI ones a wasip1 module imports.
//! - [`compiled`]: the module's machine code, compiled once and kept on disk.
//! - [`structpb`]: a configuration as the binary `google.protobuf.Struct` Envoy hands over.
#![allow(dead_code)]

pub mod abi;
pub mod compiled;
// The stale-module check of tests/support; a test crate may load both, so twice.
#[allow(clippy::duplicate_mod)]
#[path = "../support/fresh.rs"]
pub mod fresh;
pub mod host;
pub mod structpb;

// Each test crate uses part of the harness.
#[allow(unused_imports)]
pub use host::{Action, Host, MetricKind, Reply};
