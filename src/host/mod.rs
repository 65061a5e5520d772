//! The hosts: thin layers that read the configuration and the headers a decision needs as
//! bytes, and carry out its [`Action`](crate::cors::Action). None knows a CORS rule; the
//! steps the proxy hosts share are [`steps`].

#[cfg(not(target_arch = "wasm32"))]
pub mod envoy_module;
#[cfg(not(target_arch = "wasm32"))]
pub mod explain;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
#[cfg(any(target_arch = "wasm32", test))]
pub mod proxy_wasm;
pub mod steps;
