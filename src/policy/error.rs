//! Configuration errors: each one names the JSON path of what is wrong.

use std::fmt;

/// One configuration error, rendered as `path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error about a string value, quoted the way JSON would quote it.
    pub fn value(path: impl Into<String>, value: &str, message: impl fmt::Display) -> Self {
        ConfigError::new(path, format!("{}: {}", quote(value), message))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every error a configuration has: a configuration is refused whole, with all of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn push(&mut self, error: ConfigError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    /// The messages alone, one string each, as tests and the log want them.
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

pub use crate::encoding::json::quote;

/// What the configuration allows but is nearly always a mistake (the Gateway API's `*` with
/// credentials, say). It loads; each is one line, `path: message`, as an error would be,
/// which the filter logs and a policy checker can print.
pub type ConfigWarning = ConfigError;
