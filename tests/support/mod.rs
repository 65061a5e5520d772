//! Test support shared by the integration tests: a real Envoy, an upstream of our own, and
//! a raw HTTP client.
#![allow(dead_code)]

/// Each named `fn name(build: Build)` becomes two tests, `name::wasm` and
/// `name::dynamic_module`: the same assertions against Envoy with each build of cors-wasm.
#[allow(unused_macros)]
macro_rules! for_both_builds {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn wasm() {
                super::$name(crate::support::envoy::Build::Wasm)
            }

            #[test]
            fn dynamic_module() {
                super::$name(crate::support::envoy::Build::DynamicModule)
            }
        }
    )*};
}

pub mod compose;
pub mod conformance;
/// Each named `fn name(engine: Engine)` becomes one test per browser engine, `name::chromium`,
/// `name::firefox` and `name::webkit` (the names .config/nextest.toml runs one browser at a
/// time): the same page, the same assertions. The test crate imports `support::demo::Engine`.
#[allow(unused_macros)]
macro_rules! in_every_engine {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn chromium() {
                super::$name(crate::Engine::Chromium)
            }

            #[test]
            fn firefox() {
                super::$name(crate::Engine::Firefox)
            }

            #[test]
            fn webkit() {
                super::$name(crate::Engine::WebKit)
            }
        }
    )*};
}

pub mod containers;
pub mod demo;
pub mod envoy;
pub mod fresh;
pub mod hostile;
pub mod http;
pub mod import_diff;
pub mod lds;
pub mod releases;
pub mod shipped;
pub mod upstream;
