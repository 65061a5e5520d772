//! cors-wasm: a CORS filter for Envoy and Istio, as a proxy-wasm module.
//!
//! Everything but [`filter`] is plain Rust: the policy model, its validation and every CORS
//! decision, tested natively. [`filter`] is the thin proxy-wasm layer that moves bytes.

pub mod config;
pub mod decision;
pub mod error;
pub mod filter;
pub mod gateway;
pub mod header_map;
pub mod json;
pub mod matcher;
pub mod metrics;
pub mod origin;
pub mod pb_struct;
pub mod policy;
pub mod preflight;
pub mod response;
pub mod token;
pub mod tree;
#[cfg(not(target_arch = "wasm32"))]
pub mod yaml;

#[cfg(test)]
mod tests;
