//! Reading a configuration tree ([`Value`], from either encoding) field by
//! field, with every error named by its JSON path and unknown fields refused.

use super::error::{ConfigError, ConfigErrors};
use super::token::comma_separated;
use crate::encoding::{Map, Number, Value};

/// The most entries any list in a configuration may have.
pub const MAX_LIST: usize = 10_000;

/// An object's fields, checked against the names it may have.
pub struct Object<'a> {
    path: String,
    map: &'a Map<String, Value>,
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
            let message = match closest(key, known) {
                Some(field) => format!("unknown field; did you mean {field}?"),
                None => format!("unknown field; expected one of {}", comma_separated(known)),
            };
            errors.push(ConfigError::new(child(path, key), message));
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
        match whole_number(number).filter(|n| range.contains(n)) {
            Some(n) => Some((n, path)),
            None => {
                let number = number_text(number);
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

/// The one name in `known` a typo of `key` is likely to be: the only one nearest to it, at
/// most 2 edits away (ASCII case ignored) and no more than a third of its length.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let mut best: Option<(&str, usize)> = None;
    let mut tied = false;
    for &name in known {
        let limit = (name.len() / 3).clamp(1, 2);
        let Some(distance) = edit_distance(key, name, limit) else {
            continue;
        };
        match best {
            Some((_, d)) if d < distance => {}
            Some((_, d)) if d == distance => tied = true,
            _ => {
                best = Some((name, distance));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(name, _)| name)
}

/// The Levenshtein distance between `a` and `b` (ASCII case ignored), or `None` when it is
/// over `limit`; a key far longer than any name is not even compared.
fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let distance = strsim::levenshtein(&a.to_ascii_lowercase(), &b.to_ascii_lowercase());
    Some(distance).filter(|d| *d <= limit)
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

/// A number as a whole `u64`; a double counts when it is whole and exact.
fn whole_number(number: &Number) -> Option<u64> {
    if let Some(n) = number.as_u64() {
        return Some(n);
    }
    // Exactly representable whole doubles only; 2^53 is far beyond any limit we check.
    let f = number.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0)?;
    (f < 9_007_199_254_740_992.0).then_some(f as u64)
}

/// A number for messages: a whole double such as `600.0` (how a `Struct` carries every
/// number) without its `.0`, as JavaScript writes it; others in serde_json's shortest form.
pub fn number_text(number: &Number) -> String {
    match number.as_f64() {
        Some(f) if number.is_f64() && f.fract() == 0.0 && f.abs() < TWO_TO_THE_64 => {
            let sign = if f < 0.0 { "-" } else { "" };
            format!("{sign}{}", f.abs() as u64)
        }
        _ => number.to_string(),
    }
}

const TWO_TO_THE_64: f64 = 18_446_744_073_709_551_616.0;

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance, number_text};
    use serde_json::Number;

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        let d = |a: &str, b: &str| edit_distance(a, b, 10);
        assert_eq!(d("", ""), Some(0));
        assert_eq!(d("", "abc"), Some(3));
        assert_eq!(d("kitten", "sitting"), Some(3));
        assert_eq!(d("allow_header", "allow_headers"), Some(1));
        assert_eq!(d("alow_headers", "allow_headers"), Some(1));
        assert_eq!(d("allow_haeders", "allow_headers"), Some(2));
        assert_eq!(d("Allow_Headers", "allow_headers"), Some(0));
        assert_eq!(edit_distance("kitten", "sitting", 2), None);
        assert_eq!(edit_distance(&"x".repeat(100_000), "name", 2), None);
    }

    #[test]
    fn a_suggestion_only_when_one_name_is_close() {
        let known = [
            "allow_headers",
            "expose_headers",
            "allow_methods",
            "name",
            "max_age",
        ];
        assert_eq!(closest("allow_header", &known), Some("allow_headers"));
        assert_eq!(closest("allowHeaders", &known), Some("allow_headers"));
        assert_eq!(closest("max-age", &known), Some("max_age"));
        // Two edits for a name of 6 letters or more, one below.
        assert_eq!(closest("allow_haeders", &known), Some("allow_headers"));
        assert_eq!(closest("mxa_age", &known), Some("max_age"));
        assert_eq!(closest("mnae", &known), None);
        assert_eq!(closest("nme", &known), Some("name"));
        assert_eq!(closest("headers", &known), None);
        assert_eq!(closest("nm", &known), None);
        assert_eq!(closest("abd", &["abc", "abe"]), None);
        // The nearest wins, wherever it is in the list.
        assert_eq!(closest("abcdef", &["abcxyf", "abcdeg"]), Some("abcdeg"));
        assert_eq!(closest("abcdef", &["abcdeg", "abcxyf"]), Some("abcdeg"));
    }

    #[test]
    fn numbers_in_messages_are_short() {
        let cases = [
            (0.0, "0"),
            (600.0, "600"),
            (-1.0, "-1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (600.5, "600.5"),
            (-0.001234, "-0.001234"),
            (123456.789, "123456.789"),
            (1e19, "10000000000000000000"),
            (1e20, "1e+20"),
            // 2^64, the first whole double no u64 holds.
            (18_446_744_073_709_551_616.0, "1.8446744073709552e+19"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-7"),
        ];
        for (n, text) in cases {
            let number = Number::from_f64(n).unwrap();
            assert_eq!(number_text(&number), text, "{n:?}");
        }
        assert_eq!(number_text(&Number::from(-7i64)), "-7");
        assert_eq!(number_text(&Number::from(u64::MAX)), u64::MAX.to_string());
    }
}
