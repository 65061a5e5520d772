//! JSON text ([RFC 8259]) into the configuration tree, by `serde_json`, within our limits.
//!
//! [RFC 8259]: https://www.rfc-editor.org/rfc/rfc8259

use serde_json::Value;

/// How deep arrays and objects may nest, about as deep as prost lets a `Struct` nest.
pub const MAX_DEPTH: usize = 100;

/// One JSON value, with nothing but whitespace around it. Nesting is measured before
/// parsing, so no text deeper than [`MAX_DEPTH`] is ever parsed.
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    if let Some((line, column)) = too_deep(bytes) {
        return Err(format!(
            "nesting deeper than {MAX_DEPTH} levels at line {line} column {column}"
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
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

/// `text` as a JSON string literal, for messages that quote a configured value.
pub fn quote(text: &str) -> String {
    Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nesting_is_bounded_before_parsing() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(deep(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(
            parse(deep(MAX_DEPTH + 1).as_bytes()).unwrap_err(),
            format!("nesting deeper than {MAX_DEPTH} levels at line 1 column 101")
        );
        assert_eq!(
            parse(format!("\n {{\"a\": {}", deep(MAX_DEPTH)).as_bytes()).unwrap_err(),
            format!("nesting deeper than {MAX_DEPTH} levels at line 2 column 107")
        );
        // Far deeper than the stack would allow, if the limit were not checked first.
        assert!(parse(deep(1_000_000).as_bytes()).is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_nest() {
        let text = format!(r#"["{}\"{}"]"#, "[".repeat(200), "{".repeat(200));
        assert_eq!(parse(text.as_bytes()).unwrap().as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let value = parse(br#"{"b": 1, "a": 2, "b": 3}"#).unwrap();
        assert_eq!(value, json!({"a": 2, "b": 3}));
    }

    #[test]
    fn syntax_errors_say_where() {
        assert_eq!(
            parse(b"[1, 2").unwrap_err(),
            "EOF while parsing a list at line 1 column 5"
        );
        assert_eq!(
            parse(b"[1]\n x").unwrap_err(),
            "trailing characters at line 2 column 2"
        );
    }

    #[test]
    fn quotes_as_json_does() {
        assert_eq!(quote("a\"\\\n\u{1}é"), r#""a\"\\\n\u0001é""#);
    }
}
