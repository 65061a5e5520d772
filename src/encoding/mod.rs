//! The configuration's encodings, all read into one tree (serde_json's [`Value`]): JSON
//! text, Envoy's binary `google.protobuf.Struct`, and YAML for the native checker.

mod error;
pub mod json;
mod paths;
pub mod proto_struct;
#[cfg(not(target_arch = "wasm32"))]
pub mod yaml;

pub use error::DecodeError;
pub use serde_json::{Map, Number, Value};

/// The plugin configuration's bytes, JSON text or a serialized `Struct`, as a tree. A
/// malformed input's error says which encoding was meant and why it is not that.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    // A Struct's first byte is its first field's tag, 0x0a (field 1, length-delimited).
    // JSON may begin with a newline, the same byte, so a Struct that fails falls back to JSON.
    if bytes.first() != Some(&0x0a) {
        return json::parse(bytes).map_err(|e| e.context("not valid JSON"));
    }
    proto_struct::decode(bytes).or_else(|struct_error| match struct_error {
        DecodeError::RepeatedKeys(_) => Err(struct_error),
        DecodeError::Malformed(_) => match json::parse(bytes) {
            Err(repeated @ DecodeError::RepeatedKeys(_)) => Err(repeated),
            parsed => parsed.map_err(|_| struct_error.context("not a valid protobuf Struct")),
        },
    })
}
