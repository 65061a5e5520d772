//! The policy tests/hostile.rs sends its hostile requests against; tests/memcheck.rs sends
//! them to Envoy under valgrind with the same one.

use serde_json::{json, Value};

/// The origin the hostile policy allows by name.
pub const APP: &str = "https://app.example.com";

/// One policy for every hostile request, in both hosts.
pub fn policy() -> Value {
    json!({"policies": [{
        "name": "api",
        "allow_origins": [APP, "https://*.example.com"],
        "allow_methods": ["PUT"],
        "allow_headers": ["x-a", "content-type"],
        "allow_credentials": true,
    }]})
}
