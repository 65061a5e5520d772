//! Reading a configuration tree ([`Value`], from either encoding) field by
//! field, with every error named by its JSON path and unknown fields refused.

use crate::error::{ConfigError, ConfigErrors};
use crate::json::{number_text, Map, Value};
use crate::token::comma_separated;

/// The most entries any list in a configuration may have.
pub const MAX_LIST: usize = 10_000;

/// An object's fields, checked against the names it may have.
pub struct Object<'a> {
    path: String,
    map: &'a Map,
}

impl<'a> Object<'a> {
    /// `value` as an object whose fields are all in `known`; every other field is an error.
    pub fn read(
        value: &'a Value,
        path: &str,
        known: &[&str],
        errors: &mut ConfigErrors,
    ) -> Option<Object<'a>> {
        let Value::Object(map) = value else {
            errors.push(wrong_type(path, "an object", value));
            return None;
        };
        for key in map.keys().filter(|key| !known.contains(&key.as_str())) {
            errors.push(ConfigError::new(
                child(path, key),
                format!("unknown field; expected one of {}", comma_separated(known)),
            ));
        }
        Some(Object {
            path: path.to_string(),
            map,
        })
    }

    /// A field's value and path; `null` counts as absent (YAML writes `key:` that way).
    pub fn get(&self, key: &str) -> Option<(&'a Value, String)> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some((value, child(&self.path, key))),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn bool(&self, key: &str, errors: &mut ConfigErrors) -> Option<bool> {
        let (value, path) = self.get(key)?;
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                errors.push(wrong_type(&path, "true or false", other));
                None
            }
        }
    }

    pub fn str(&self, key: &str, errors: &mut ConfigErrors) -> Option<(&'a str, String)> {
        let (value, path) = self.get(key)?;
        match value {
            Value::String(s) => Some((s, path)),
            other => {
                errors.push(wrong_type(&path, "a string", other));
                None
            }
        }
    }

    /// A whole number in `range`; a double such as `600.0` (how a Struct carries numbers) counts.
    pub fn whole(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
        errors: &mut ConfigErrors,
    ) -> Option<(u64, String)> {
        let (value, path) = self.get(key)?;
        let Value::Number(number) = value else {
            errors.push(wrong_type(&path, "a number", value));
            return None;
        };
        match whole_number(*number).filter(|n| range.contains(n)) {
            Some(n) => Some((n, path)),
            None => {
                let number = number_text(*number);
                let message = if *range.end() == u64::MAX {
                    format!("{number}: must be a whole number")
                } else {
                    format!(
                        "{number}: must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    )
                };
                errors.push(ConfigError::new(path, message));
                None
            }
        }
    }

    /// A list of strings: each element with its path. Non-string elements are errors, and
    /// so is a list longer than [`MAX_LIST`] (whose entries are then not read).
    pub fn strings(&self, key: &str, errors: &mut ConfigErrors) -> Option<Vec<(&'a str, String)>> {
        let (value, path) = self.get(key)?;
        let Value::Array(items) = value else {
            errors.push(wrong_type(&path, "a list", value));
            return None;
        };
        if items.len() > MAX_LIST {
            let message = format!("has {} entries; the limit is {MAX_LIST}", items.len());
            errors.push(ConfigError::new(path, message));
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match item {
                Value::String(s) => out.push((s.as_str(), item_path)),
                other => errors.push(wrong_type(&item_path, "a string", other)),
            }
        }
        Some(out)
    }
}

pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub fn wrong_type(path: &str, expected: &str, found: &Value) -> ConfigError {
    ConfigError::new(path, format!("expected {expected}, found {}", kind(found)))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn whole_number(f: f64) -> Option<u64> {
    // Exactly representable whole doubles only; 2^53 is far beyond any limit we check.
    if f >= 0.0 && f.fract() == 0.0 && f < 9_007_199_254_740_992.0 {
        Some(f as u64)
    } else {
        None
    }
}
