//! The hosts: thin layers that read the configuration and the headers a decision needs as
//! bytes, and carry out its [`Action`](crate::cors::Action). None knows a CORS rule.

pub mod proxy_wasm;
