//! cors-wasm: a CORS filter for Envoy and Istio. One core, thin hosts; data flows one way.
//!
//! ```text
//! configuration bytes ─► encoding ─► policy ─────────► Config (validated, rendered once)
//!                        JSON text   the language:        │
//!                        Struct      model, validation,   ▼
//!                        YAML (the   origins, tokens,   cors: the decisions (pure):
//!                        checker)    the `cors` dialect   preflight, response plan, Vary
//!                                                         │
//! request headers ◄──────────── host (only moves bytes) ◄─┘
//!                               proxy_wasm: Envoy, Istio, any proxy-wasm host (.wasm)
//!                               envoy_module: Envoy's dynamic modules (native .so)
//!                               explain: the checker's explain mode (no proxy at all)
//!                               import: the checker's importers of others' CORS
//! ```
//!
//! - [`encoding`]: bytes into one tree (serde_json's `Value`); knows no policy.
//! - [`policy`]: the policy language; reads the tree, reports every error with its path.
//! - [`cors`]: what a request gets, as data; reads headers through [`cors::RequestView`].
//! - [`host`]: the proxy-wasm glue (built for wasm32), the Envoy dynamic-module glue
//!   (built natively, its `unsafe` code all in `host::envoy_module::ffi`), the checker's
//!   explain mode and its importers (native): the only code that knows a host. What the proxy hosts do alike
//!   (configure, decide and log) is `host::steps`.
//!
//! Imports point down this list only: a host uses the decisions and the policy, the
//! decisions use the policy, the policy uses the encodings.

pub mod cors;
pub mod encoding;
pub mod host;
pub mod policy;
