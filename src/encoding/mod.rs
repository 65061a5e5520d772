//! The configuration's encodings, all read into one tree (serde_json's [`Value`]): JSON
//! text, Envoy's binary `google.protobuf.Struct`, and YAML for the native checker.

pub mod json;
pub mod proto_struct;
#[cfg(not(target_arch = "wasm32"))]
pub mod yaml;

pub use serde_json::{Map, Number, Value};

/// Why bytes are not a configuration tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not valid in the encoding meant: why, in words.
    Malformed(String),
    /// Well-formed, with keys written more than once in one object: the JSON path of each
    /// such key (`policies[0].allow_credentials`), once, in the order they came.
    RepeatedKeys(Vec<String>),
}

impl DecodeError {
    /// The same error, a malformed input's reason after `what` (`not valid JSON: ...`).
    fn context(self, what: &str) -> DecodeError {
        match self {
            DecodeError::Malformed(reason) => DecodeError::Malformed(format!("{what}: {reason}")),
            repeated => repeated,
        }
    }
}

/// The path of the value being read, and the paths of the keys found repeated so far: what
/// both decoders keep while they build the tree.
#[derive(Debug, Default)]
struct Paths {
    current: String,
    repeated: Vec<String>,
}

impl Paths {
    /// Into the value of `key` in an object; returns where to [`Paths::leave`] it.
    fn enter_key(&mut self, key: &str) -> usize {
        let at = self.current.len();
        if at > 0 {
            self.current.push('.');
        }
        self.current.push_str(key);
        at
    }

    /// Into the `index`th element of a list.
    fn enter_index(&mut self, index: usize) -> usize {
        let at = self.current.len();
        self.current.push('[');
        self.current.push_str(&index.to_string());
        self.current.push(']');
        at
    }

    fn leave(&mut self, at: usize) {
        self.current.truncate(at);
    }

    /// The key just entered was already in its object.
    fn repeated_here(&mut self) {
        if !self.repeated.contains(&self.current) {
            self.repeated.push(self.current.clone());
        }
    }

    fn into_result(self, tree: Value) -> Result<Value, DecodeError> {
        if self.repeated.is_empty() {
            Ok(tree)
        } else {
            Err(DecodeError::RepeatedKeys(self.repeated))
        }
    }
}

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
