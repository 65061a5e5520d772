//! JSON text ([RFC 8259]) into the configuration tree, by `serde_json`, within our limits.
//!
//! The tree is built by our own serde visitor rather than serde_json's `Value`, which keeps
//! the last of two values of one key: RFC 8259 leaves a repeated key's meaning open, so a
//! configuration that writes one twice (`allow_credentials` false, then true) is refused,
//! with the JSON path of the key.
//!
//! [RFC 8259]: https://www.rfc-editor.org/rfc/rfc8259

use super::error::DecodeError;
use super::paths::Paths;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// How deep arrays and objects may nest, about as deep as prost lets a `Struct` nest.
pub const MAX_DEPTH: usize = 100;

/// One JSON value, with nothing but whitespace around it. Nesting is measured before
/// parsing, so no text deeper than [`MAX_DEPTH`] is ever parsed.
pub fn parse(bytes: &[u8]) -> Result<Value, DecodeError> {
    if let Some((line, column)) = too_deep(bytes) {
        return Err(DecodeError::Malformed(format!(
            "nesting deeper than {MAX_DEPTH} levels at line {line} column {column}"
        )));
    }
    let malformed = |e: serde_json::Error| DecodeError::Malformed(e.to_string());
    let mut paths = Paths::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let tree = Tree(&mut paths)
        .deserialize(&mut deserializer)
        .map_err(malformed)?;
    deserializer.end().map_err(malformed)?;
    paths.into_result(tree)
}

/// A JSON value as the tree, keeping track of where it is and of repeated keys.
struct Tree<'p>(&'p mut Paths);

impl<'de> DeserializeSeed<'de> for Tree<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tree<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        // JSON text has no NaN or infinity; serde_json's own `Value` does the same.
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let at = self.0.enter_index(items.len());
            let item = seq.next_element_seed(Tree(&mut *self.0));
            self.0.leave(at);
            match item? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let at = self.0.enter_key(&key);
            let value = access.next_value_seed(Tree(&mut *self.0));
            if map.contains_key(&key) {
                self.0.repeated_here();
            }
            self.0.leave(at);
            map.insert(key, value?);
        }
        Ok(Value::Object(map))
    }
}

/// Where the first `[` or `{` deeper than [`MAX_DEPTH`] opens, outside strings (line and
/// column from 1, columns in bytes); `None` if there is none.
fn too_deep(bytes: &[u8]) -> Option<(usize, usize)> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut line_start) = (1, 0);
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b'\n' => (line, line_start) = (line + 1, at + 1),
            b'[' | b'{' if depth == MAX_DEPTH => return Some((line, at - line_start + 1)),
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// `text` as a JSON string literal, for messages that quote a configured value. Serialized
/// as a string, not as a `Value`, whose serializer brings every kind of value (and the
/// formatting of floats) into the module. Writing a string cannot fail.
pub fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn malformed(reason: &str) -> DecodeError {
        DecodeError::Malformed(reason.to_string())
    }

    #[test]
    fn nesting_is_bounded_before_parsing() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(deep(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(
            parse(deep(MAX_DEPTH + 1).as_bytes()).unwrap_err(),
            malformed(&format!(
                "nesting deeper than {MAX_DEPTH} levels at line 1 column 101"
            ))
        );
        assert_eq!(
            parse(format!("\n {{\"a\": {}", deep(MAX_DEPTH)).as_bytes()).unwrap_err(),
            malformed(&format!(
                "nesting deeper than {MAX_DEPTH} levels at line 2 column 107"
            ))
        );
        // Far deeper than the stack would allow, if the limit were not checked first.
        assert!(parse(deep(1_000_000).as_bytes()).is_err());
    }

    /// Closing brackets give the depth back, and only a string's backslash escapes.
    #[test]
    fn depth_counts_open_brackets_outside_strings_only() {
        let siblings = format!("[{}[]]", "[],".repeat(MAX_DEPTH * 2));
        assert!(parse(siblings.as_bytes()).is_ok());
        let deep = format!("\\{}", "[".repeat(MAX_DEPTH + 1));
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err(),
            malformed(&format!(
                "nesting deeper than {MAX_DEPTH} levels at line 1 column 102"
            ))
        );
    }

    #[test]
    fn brackets_inside_strings_do_not_nest() {
        let text = format!(r#"["{}\"{}"]"#, "[".repeat(200), "{".repeat(200));
        assert_eq!(parse(text.as_bytes()).unwrap().as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_repeated_key_is_refused_with_its_path() {
        assert_eq!(
            parse(br#"{"b": 1, "a": 2, "b": 3}"#),
            Err(DecodeError::RepeatedKeys(vec!["b".into()]))
        );
        let text =
            br#"{"policies": [{"allow_credentials": false, "x": {"y": [1, {"z": 1, "z": 2}]},
                        "allow_credentials": true, "allow_credentials": true}], "policies": []}"#;
        assert_eq!(
            parse(text),
            Err(DecodeError::RepeatedKeys(vec![
                "policies[0].x.y[1].z".into(),
                "policies[0].allow_credentials".into(),
                "policies".into(),
            ]))
        );
        // The same key in two objects is no repetition.
        assert_eq!(
            parse(br#"[{"a": 1}, {"a": 2}]"#).unwrap(),
            json!([{"a": 1}, {"a": 2}])
        );
    }

    #[test]
    fn reads_every_kind_of_value_as_serde_json_does() {
        let text = br#"{"n": null, "t": true, "f": false, "i": -7, "u": 18446744073709551615,
                        "d": 1.5, "e": 1e300, "s": "a\"\u00e9", "l": [], "o": {}}"#;
        let expected: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(parse(text).unwrap(), expected);
    }

    #[test]
    fn syntax_errors_say_where() {
        assert_eq!(
            parse(b"[1, 2").unwrap_err(),
            malformed("EOF while parsing a list at line 1 column 5")
        );
        assert_eq!(
            parse(b"[1]\n x").unwrap_err(),
            malformed("trailing characters at line 2 column 2")
        );
        assert_eq!(
            parse(br#"{"a": 1,}"#).unwrap_err(),
            malformed("trailing comma at line 1 column 9")
        );
    }

    #[test]
    fn quotes_as_json_does() {
        assert_eq!(quote("a\"\\\n\u{1}é"), r#""a\"\\\n\u0001é""#);
    }
}
