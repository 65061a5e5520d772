//! Decoder for the protobuf binary encoding of `google.protobuf.Struct`, which Envoy hands
//! the plugin when its configuration is written as plain YAML.
//! Wire format: <https://protobuf.dev/programming-guides/encoding/>; messages:
//! <https://protobuf.dev/reference/protobuf/google.protobuf/#struct>.

use crate::json::{Map, Value, MAX_DEPTH};

/// Decodes a serialized `Struct` into the same tree JSON parsing gives.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    decode_struct(bytes, 0).map(Value::Object)
}

enum Field<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn next_field(&mut self) -> Option<Result<(u64, Field<'a>), String>> {
        if self.bytes.is_empty() {
            return None;
        }
        Some(self.field())
    }

    fn field(&mut self) -> Result<(u64, Field<'a>), String> {
        let key = self.varint()?;
        let number = key >> 3;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(self.take(8)?.try_into().map_err(|_| truncated())?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| truncated())?;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Fixed32
            }
            wire => return Err(format!("unsupported wire type {wire} in field {number}")),
        };
        Ok((number, field))
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let (&byte, rest) = self.bytes.split_first().ok_or_else(truncated)?;
            self.bytes = rest;
            if shift == 63 && byte > 1 {
                return Err("a varint overflows 64 bits".into());
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint overflows 64 bits".into())
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if len > self.bytes.len() {
            return Err(truncated());
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }
}

fn truncated() -> String {
    "the data ends in the middle of a field".into()
}

/// `Struct { map<string, Value> fields = 1; }`
fn decode_struct(bytes: &[u8], depth: usize) -> Result<Map, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
    }
    let mut map = Map::new();
    let mut reader = Reader { bytes };
    while let Some(field) = reader.next_field() {
        if let (1, Field::Bytes(entry)) = field? {
            let (key, value) = decode_entry(entry, depth)?;
            map.insert(key, value);
        }
    }
    Ok(map)
}

/// A map entry: `{ string key = 1; Value value = 2; }`
fn decode_entry(bytes: &[u8], depth: usize) -> Result<(String, Value), String> {
    let mut key = String::new();
    let mut value = Value::Null;
    let mut reader = Reader { bytes };
    while let Some(field) = reader.next_field() {
        match field? {
            (1, Field::Bytes(k)) => key = utf8(k)?,
            (2, Field::Bytes(v)) => value = decode_value(v, depth + 1)?,
            _ => {}
        }
    }
    Ok((key, value))
}

/// `Value { oneof kind { null_value = 1; number_value = 2; string_value = 3;
/// bool_value = 4; struct_value = 5; list_value = 6; } }`
fn decode_value(bytes: &[u8], depth: usize) -> Result<Value, String> {
    let mut value = Value::Null;
    let mut reader = Reader { bytes };
    while let Some(field) = reader.next_field() {
        value = match field? {
            (1, Field::Varint(_)) => Value::Null,
            (2, Field::Fixed64(b)) => number(f64::from_le_bytes(b))?,
            (3, Field::Bytes(s)) => Value::String(utf8(s)?),
            (4, Field::Varint(b)) => Value::Bool(b != 0),
            (5, Field::Bytes(s)) => Value::Object(decode_struct(s, depth + 1)?),
            (6, Field::Bytes(l)) => decode_list(l, depth + 1)?,
            (n @ 1..=6, _) => return Err(format!("field {n} of a Value has the wrong wire type")),
            _ => continue,
        };
    }
    Ok(value)
}

/// `ListValue { repeated Value values = 1; }`
fn decode_list(bytes: &[u8], depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
    }
    let mut items = Vec::new();
    let mut reader = Reader { bytes };
    while let Some(field) = reader.next_field() {
        if let (1, Field::Bytes(item)) = field? {
            items.push(decode_value(item, depth + 1)?);
        }
    }
    Ok(Value::Array(items))
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string is not valid UTF-8".to_string())
}

fn number(f: f64) -> Result<Value, String> {
    // Only NaN and the infinities fail; named here, as float formatting is large in wasm.
    let name = if f.is_nan() { "NaN" } else { "an infinity" };
    if f.is_finite() {
        Ok(Value::Number(f))
    } else {
        Err(format!("{name} is not a finite number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // A tiny encoder, only to build test input.
    fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    fn bytes_field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }
    fn encode_value(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        match v {
            Value::Null => out.extend_from_slice(&[0x08, 0x00]),
            Value::Bool(b) => out.extend_from_slice(&[0x20, *b as u8]),
            Value::Number(n) => {
                out.push(0x11);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::String(s) => bytes_field(3, s.as_bytes(), &mut out),
            Value::Array(items) => {
                let mut list = Vec::new();
                for item in items {
                    bytes_field(1, &encode_value(item), &mut list);
                }
                bytes_field(6, &list, &mut out);
            }
            Value::Object(map) => bytes_field(5, &encode_struct(map), &mut out),
        }
        out
    }
    fn encode_struct(map: &Map) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in map.iter() {
            let mut entry = Vec::new();
            bytes_field(1, k.as_bytes(), &mut entry);
            bytes_field(2, &encode_value(v), &mut entry);
            bytes_field(1, &entry, &mut out);
        }
        out
    }

    #[test]
    fn decodes_every_kind_of_value() {
        let tree = Value::from(json!({
            "policies": [{"name": "api", "max_age": 600.0, "allow_credentials": true,
                          "match": {"hosts": ["a.example.com"]}, "disabled": null}],
            "empty": {}, "list": []
        }));
        let Value::Object(map) = &tree else {
            unreachable!()
        };
        assert_eq!(decode(&encode_struct(map)).unwrap(), tree);
    }

    #[test]
    fn numbers_arrive_as_doubles() {
        let map = Value::from(json!({"max_age": 600}));
        let map = map.as_object().unwrap();
        let decoded = decode(&encode_struct(map)).unwrap();
        assert_eq!(decoded["max_age"], Value::Number(600.0));
    }

    #[test]
    fn rejects_truncated_input_at_every_length() {
        let map = Value::from(json!({"policies": [{"allow_origins": ["https://a.example"]}]}));
        let encoded = encode_struct(map.as_object().unwrap());
        for len in 1..encoded.len() {
            assert!(
                decode(&encoded[..len]).is_err(),
                "prefix of {len} bytes decoded"
            );
        }
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        assert_eq!(
            decode(&[0x0a, 0x05, 0x0a]).unwrap_err(),
            "the data ends in the middle of a field"
        );
        assert_eq!(
            decode(&[0x0b]).unwrap_err(),
            "unsupported wire type 3 in field 1"
        );
        assert_eq!(
            decode(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
                .unwrap_err(),
            "a varint overflows 64 bits"
        );
        // An entry whose key is not UTF-8.
        assert_eq!(
            decode(&[0x0a, 0x03, 0x0a, 0x01, 0xff]).unwrap_err(),
            "a string is not valid UTF-8"
        );
        // A number_value that is NaN.
        let mut entry = Vec::new();
        bytes_field(1, b"k", &mut entry);
        let mut nan = vec![0x11];
        nan.extend_from_slice(&f64::NAN.to_le_bytes());
        bytes_field(2, &nan, &mut entry);
        let mut input = Vec::new();
        bytes_field(1, &entry, &mut input);
        assert_eq!(decode(&input).unwrap_err(), "NaN is not a finite number");
    }

    #[test]
    fn rejects_nesting_too_deep_without_overflowing_the_stack() {
        let mut value = json!("leaf");
        for _ in 0..200 {
            value = json!([value]);
        }
        let map = Value::from(json!({"deep": value}));
        let err = decode(&encode_struct(map.as_object().unwrap())).unwrap_err();
        assert_eq!(err, "nesting deeper than 100 levels");
    }

    #[test]
    fn skips_unknown_fields() {
        // Field 9 (varint) before the real entry.
        let mut input = vec![0x48, 0x01];
        let tree = Value::from(json!({"a": true}));
        input.extend(encode_struct(tree.as_object().unwrap()));
        assert_eq!(decode(&input).unwrap(), tree);
    }
}
