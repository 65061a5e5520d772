//! Why bytes are not a configuration tree.

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
    pub(super) fn context(self, what: &str) -> DecodeError {
        match self {
            DecodeError::Malformed(reason) => DecodeError::Malformed(format!("{what}: {reason}")),
            repeated => repeated,
        }
    }
}
