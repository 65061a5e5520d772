//! Test support shared by the integration tests: a real Envoy, an upstream of our own, and
//! a raw HTTP client.
#![allow(dead_code)]

pub mod demo;
pub mod envoy;
pub mod http;
pub mod shipped;
pub mod upstream;
