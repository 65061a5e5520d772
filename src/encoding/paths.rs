//! Where a decoder is in the tree it builds, and which keys it found written twice.

use super::error::DecodeError;
use serde_json::Value;

/// The path of the value being read, and the paths of the keys found repeated so far: what
/// both decoders keep while they build the tree.
#[derive(Debug, Default)]
pub(super) struct Paths {
    current: String,
    repeated: Vec<String>,
}

impl Paths {
    /// Into the value of `key` in an object; returns where to [`Paths::leave`] it.
    pub(super) fn enter_key(&mut self, key: &str) -> usize {
        let at = self.current.len();
        if at > 0 {
            self.current.push('.');
        }
        self.current.push_str(key);
        at
    }

    /// Into the `index`th element of a list.
    pub(super) fn enter_index(&mut self, index: usize) -> usize {
        let at = self.current.len();
        self.current.push('[');
        self.current.push_str(&index.to_string());
        self.current.push(']');
        at
    }

    pub(super) fn leave(&mut self, at: usize) {
        self.current.truncate(at);
    }

    /// The key just entered was already in its object.
    pub(super) fn repeated_here(&mut self) {
        if !self.repeated.contains(&self.current) {
            self.repeated.push(self.current.clone());
        }
    }

    pub(super) fn into_result(self, tree: Value) -> Result<Value, DecodeError> {
        if self.repeated.is_empty() {
            Ok(tree)
        } else {
            Err(DecodeError::RepeatedKeys(self.repeated))
        }
    }
}
