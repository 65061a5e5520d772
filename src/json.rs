//! The configuration tree, and a strict JSON reader for it ([RFC 8259]).
//!
//! Our own rather than `serde_json`: the module needs only this much of JSON, and the
//! general crate was about 30 KB of a module with a size budget. Numbers are doubles, as a
//! protobuf `Struct` carries them, so both encodings give the same tree.
//!
//! [RFC 8259]: https://www.rfc-editor.org/rfc/rfc8259

use std::fmt;

/// How deep arrays and objects may nest, as with a protobuf `Struct` (and its message).
pub const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

/// An object's fields in key order; a key given twice keeps its last value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn insert(&mut self, key: String, value: Value) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        Some(&self.0[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(pairs: I) -> Map {
        let mut map = Map::new();
        for (key, value) in pairs {
            map.insert(key, value);
        }
        map
    }
}

impl Value {
    /// An object's field; `None` for an absent field or a value that is not an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        *self == Value::Null
    }
}

/// A field of an object, or `null` when there is none (as in JavaScript).
impl std::ops::Index<&str> for Value {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        const NULL: &Value = &Value::Null;
        self.get(key).unwrap_or(NULL)
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        *self == Value::Bool(*other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

/// Compact JSON text.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&number_text(*n)),
            Value::String(s) => f.write_str(&quote(s)),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    let comma = if i == 0 { "" } else { "," };
                    write!(f, "{comma}{item}")?;
                }
                f.write_str("]")
            }
            Value::Object(map) => {
                f.write_str("{")?;
                for (i, (key, value)) in map.iter().enumerate() {
                    let comma = if i == 0 { "" } else { "," };
                    write!(f, "{comma}{}:{value}", quote(key))?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A number for messages: the digits of a whole number below 2^64, otherwise 15
/// significant digits (enough to give back any decimal written with that many), in
/// exponent notation below 1e-6 or from 2^64. Ours because core's float
/// formatting would cost the module 16 KB.
pub fn number_text(n: f64) -> String {
    let sign = if n < 0.0 { "-" } else { "" };
    let n = n.abs();
    if n.fract() == 0.0 && n < TWO_TO_THE_64 {
        return format!("{sign}{}", n as u64);
    }
    if (1e-6..TWO_TO_THE_64).contains(&n) {
        return format!("{sign}{}", decimal(n));
    }
    // Far outside what any configuration field takes: a close, not shortest, rendering.
    let mut exponent = 0i32;
    let mut mantissa = n;
    while mantissa >= 10.0 {
        mantissa /= 10.0;
        exponent += 1;
    }
    while mantissa < 1.0 && mantissa > 0.0 {
        mantissa *= 10.0;
        exponent -= 1;
    }
    format!("{sign}{}e{exponent}", decimal(mantissa))
}

const TWO_TO_THE_64: f64 = 18_446_744_073_709_551_616.0;

/// `n` (from 1e-6, and below 2^64 or not whole) with 15 significant digits, trailing
/// zeros dropped.
fn decimal(n: f64) -> String {
    let whole = n.trunc() as u64;
    let whole_digits = whole.checked_ilog10().map_or(0, |d| d + 1);
    let places = 15u32.saturating_sub(whole_digits);
    let scale = 10u64.pow(places);
    // `n - whole` is exact, and scaling it by a power of ten below 2^53 rounds once.
    let fraction = ((n - n.trunc()) * scale as f64).round() as u64;
    let (whole, fraction) = if fraction >= scale {
        (whole + 1, 0)
    } else {
        (whole, fraction)
    };
    let mut digits = fraction.to_string();
    while digits.len() < places as usize {
        digits.insert(0, '0');
    }
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{digits}")
    }
}

/// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                let hex = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(hex[usize::from(c as u8 >> 4)]));
                out.push(char::from(hex[usize::from(c as u8 & 0xf)]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Why a text is not JSON, and where: line and column count from 1, columns in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: &'static str,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Error {
            message,
            line,
            column,
        } = self;
        write!(f, "{message} at line {line} column {column}")
    }
}

/// One JSON value, with nothing but whitespace around it.
pub fn parse(bytes: &[u8]) -> Result<Value, Error> {
    let mut reader = Reader { bytes, at: 0 };
    if std::str::from_utf8(bytes).is_err() {
        let valid = std::str::from_utf8(bytes)
            .err()
            .map_or(0, |e| e.valid_up_to());
        reader.at = valid;
        return Err(reader.error("not UTF-8"));
    }
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.at < bytes.len() {
        return Err(reader.error("unexpected text after the value"));
    }
    Ok(value)
}

const INSIDE_OBJECT: &str = "the text ends inside an object";

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, message: &'static str) -> Error {
        let before = &self.bytes[..self.at.min(self.bytes.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Error {
            message,
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            column: 1 + before.len() - line_start,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Consumes `byte` after any whitespace, if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("the text ends where a value should be")),
            Some(b'{' | b'[') if depth == MAX_DEPTH => {
                Err(self.error("nesting deeper than 100 levels"))
            }
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.literal(),
        }
    }

    fn literal(&mut self) -> Result<Value, Error> {
        for (text, value) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if self.bytes[self.at..].starts_with(text.as_bytes()) {
                self.at += text.len();
                return Ok(value);
            }
        }
        Err(self.error("expected a value"))
    }

    fn array(&mut self, depth: usize) -> Result<Value, Error> {
        self.at += 1;
        let mut items = Vec::new();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            if self.peek().is_none() {
                return Err(self.error("the text ends inside a list"));
            }
            items.push(self.value(depth)?);
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.end_or("expected , or ]", "the text ends inside a list"));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, Error> {
        self.at += 1;
        let mut map = Map::new();
        if self.eat(b'}') {
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.end_or("expected a key in quotes", INSIDE_OBJECT));
            }
            let key = self.string()?;
            if !self.eat(b':') {
                return Err(self.end_or("expected :", INSIDE_OBJECT));
            }
            self.skip_whitespace();
            if self.peek().is_none() {
                return Err(self.error(INSIDE_OBJECT));
            }
            map.insert(key, self.value(depth)?);
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            if !self.eat(b',') {
                return Err(self.end_or("expected , or }", INSIDE_OBJECT));
            }
        }
    }

    /// `message`, or `ended` if the text ended.
    fn end_or(&self, message: &'static str, ended: &'static str) -> Error {
        if self.at >= self.bytes.len() {
            self.error(ended)
        } else {
            self.error(message)
        }
    }

    /// A string, from its opening quote. The input is known to be UTF-8.
    fn string(&mut self) -> Result<String, Error> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.error("the text ends inside a string"));
            };
            match byte {
                b'"' => break,
                b'\\' => self.escape(&mut out)?,
                0..=0x1f => return Err(self.error("a control character in a string")),
                _ => {
                    out.push(byte);
                    self.at += 1;
                }
            }
        }
        self.at += 1;
        String::from_utf8(out).map_err(|_| self.error("not UTF-8"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        let decoded = match self.bytes.get(self.at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(out),
            _ => return Err(self.error("an invalid escape")),
        };
        out.push(decoded as u8);
        self.at += 2;
        Ok(())
    }

    /// `\uXXXX`, or a surrogate pair of two of them.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        let first = self.hex4(self.at + 2)?;
        let (code, length) = match first {
            0xd800..=0xdbff => {
                let second = match self.bytes.get(self.at + 6..self.at + 8) {
                    Some(b"\\u") => self.hex4(self.at + 8)?,
                    _ => return Err(self.error("a lone surrogate in \\u escapes")),
                };
                if !(0xdc00..=0xdfff).contains(&second) {
                    return Err(self.error("a lone surrogate in \\u escapes"));
                }
                (0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00), 12)
            }
            _ => (first, 6),
        };
        let c =
            char::from_u32(code).ok_or_else(|| self.error("a lone surrogate in \\u escapes"))?;
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        self.at += length;
        Ok(())
    }

    fn hex4(&self, at: usize) -> Result<u32, Error> {
        let digits = self.bytes.get(at..at + 4).unwrap_or_default();
        let value = digits
            .iter()
            .try_fold(0, |n, &b| Some(n << 4 | char::from(b).to_digit(16)?));
        match value {
            Some(n) if digits.len() == 4 => Ok(n),
            _ => Err(self.error("an invalid \\u escape")),
        }
    }

    /// `-? int frac? exp?`. Whole numbers below 2^53 and decimals with up to 15 significant
    /// digits and a small exponent are exact; anything else is the nearest double or close.
    fn number(&mut self) -> Result<Value, Error> {
        let negative = self.bytes[self.at] == b'-';
        if negative {
            self.at += 1;
        }
        let (mut mantissa, mut scale) = (0f64, 0i32);
        let int_digits = self.digits(|d| mantissa = mantissa * 10.0 + d);
        if int_digits == 0 {
            return Err(self.error("a number without digits"));
        }
        if int_digits > 1 && self.bytes[self.at - int_digits] == b'0' {
            return Err(self.error("a number with a leading zero"));
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            let fraction = self.digits(|d| {
                mantissa = mantissa * 10.0 + d;
                scale -= 1;
            });
            if fraction == 0 {
                return Err(self.error("a number without digits after the point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            let sign = match self.peek() {
                Some(b'-') => -1,
                Some(b'+') => 1,
                _ => 0,
            };
            if sign != 0 {
                self.at += 1;
            }
            let mut exponent = 0i32;
            let digits =
                self.digits(|d| exponent = exponent.saturating_mul(10).saturating_add(d as i32));
            if digits == 0 {
                return Err(self.error("a number without digits in its exponent"));
            }
            scale = scale.saturating_add(if sign < 0 { -exponent } else { exponent });
        }
        let magnitude = scaled(mantissa, scale);
        if !magnitude.is_finite() {
            return Err(self.error("a number out of range"));
        }
        Ok(Value::Number(if negative { -magnitude } else { magnitude }))
    }

    /// Reads ASCII digits, giving each to `each`; returns how many there were.
    fn digits(&mut self, mut each: impl FnMut(f64)) -> usize {
        let start = self.at;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            each(f64::from(d - b'0'));
            self.at += 1;
        }
        self.at - start
    }
}

/// `mantissa × 10^scale`, dividing for negative scales so that decimals such as 1.5 are exact.
fn scaled(mantissa: f64, scale: i32) -> f64 {
    if scale >= 0 {
        mantissa * 10f64.powi(scale)
    } else if scale >= -308 {
        mantissa / 10f64.powi(-scale)
    } else {
        mantissa / 10f64.powi(308) / 10f64.powi(-scale - 308)
    }
}

/// Test support: `json!` builds our tree from `serde_json`'s macro.
#[cfg(test)]
impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Value {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::Array(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_kind_of_value() {
        let text = r#" {"b": [true, false, null], "n": [0, -1, 1.5, 2e3, 6E-1, 600.0],
                        "s": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "o": {}} "#;
        let value = parse(text.as_bytes()).unwrap();
        assert_eq!(
            value,
            Value::from(
                serde_json::json!({"b": [true, false, null], "n": [0, -1, 1.5, 2000, 0.6, 600],
                          "s": "a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}", "o": {}})
            )
        );
    }

    #[test]
    fn objects_keep_keys_in_order_and_the_last_of_a_repeated_key() {
        let value = parse(br#"{"b": 1, "a": 2, "b": 3}"#).unwrap();
        let map = value.as_object().unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(value["b"], Value::Number(3.0));
        assert_eq!(value["absent"], Value::Null);
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases = [
            (
                "",
                "the text ends where a value should be at line 1 column 1",
            ),
            ("[1, 2", "the text ends inside a list at line 1 column 6"),
            ("[1, ", "the text ends inside a list at line 1 column 5"),
            (
                "{\"a\": ",
                "the text ends inside an object at line 1 column 7",
            ),
            (
                "{\"a\"",
                "the text ends inside an object at line 1 column 5",
            ),
            ("{\"a\" 1}", "expected : at line 1 column 6"),
            ("{\"a\": 1,}", "expected a key in quotes at line 1 column 9"),
            ("[1 2]", "expected , or ] at line 1 column 4"),
            ("{\"a\": 1 \"b\"}", "expected , or } at line 1 column 9"),
            (
                "[1]\n x",
                "unexpected text after the value at line 2 column 2",
            ),
            ("nul", "expected a value at line 1 column 1"),
            ("'a'", "expected a value at line 1 column 1"),
            ("01", "a number with a leading zero at line 1 column 3"),
            ("-", "a number without digits at line 1 column 2"),
            (
                "1.",
                "a number without digits after the point at line 1 column 3",
            ),
            (
                "1e",
                "a number without digits in its exponent at line 1 column 3",
            ),
            ("1e400", "a number out of range at line 1 column 6"),
            ("\"a", "the text ends inside a string at line 1 column 3"),
            (
                "\"\t\"",
                "a control character in a string at line 1 column 2",
            ),
            ("\"\\x\"", "an invalid escape at line 1 column 2"),
            ("\"\\u12\"", "an invalid \\u escape at line 1 column 2"),
            (
                "\"\\ud800\"",
                "a lone surrogate in \\u escapes at line 1 column 2",
            ),
            (
                "\"\\ud800\\u0041\"",
                "a lone surrogate in \\u escapes at line 1 column 2",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(error(text), message, "{text:?}");
        }
        assert_eq!(
            parse(b"\"\xff\"").unwrap_err().to_string(),
            "not UTF-8 at line 1 column 2"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(deep(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(
            error(&deep(MAX_DEPTH + 1)),
            format!(
                "nesting deeper than {MAX_DEPTH} levels at line 1 column {}",
                MAX_DEPTH + 1
            )
        );
        // Far deeper than the stack would allow, if the limit were not checked first.
        assert!(parse(deep(1_000_000).as_bytes()).is_err());
    }

    #[test]
    fn decimals_are_exact_and_agree_with_the_standard_parser() {
        for text in [
            "0.1",
            "1.5",
            "600.5",
            "123456.789",
            "1e-5",
            "2.5e3",
            "9007199254740991",
        ] {
            let Value::Number(n) = parse(text.as_bytes()).unwrap() else {
                panic!("{text}: not a number");
            };
            assert_eq!(n, text.parse::<f64>().unwrap(), "{text}");
        }
    }

    #[test]
    fn numbers_are_written_as_javascript_writes_them() {
        let cases = [
            (0.0, "0"),
            (600.0, "600"),
            (-1.0, "-1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (600.5, "600.5"),
            (-0.001234, "-0.001234"),
            (123456.789, "123456.789"),
            (0.999_999_999_999_999_9, "1"),
            (1e19, "10000000000000000000"),
            (1e20, "1e20"),
            (1e21, "1e21"),
            (1.5e300, "1.5e300"),
            (1e-7, "1e-7"),
        ];
        for (n, text) in cases {
            assert_eq!(number_text(n), text, "{n:?}");
        }
    }

    #[test]
    fn display_writes_json_that_reads_back() {
        let value = Value::from(
            serde_json::json!({"a": [1, 1.5, "x\u{1}\"y"], "b": {"c": null, "d": false}}),
        );
        let text = value.to_string();
        assert_eq!(
            text,
            r#"{"a":[1,1.5,"x\u0001\"y"],"b":{"c":null,"d":false}}"#
        );
        assert_eq!(parse(text.as_bytes()).unwrap(), value);
    }
}
