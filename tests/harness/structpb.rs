//! A JSON object as the binary `google.protobuf.Struct` Envoy hands a plugin whose
//! configuration is written as plain YAML: so the harness sees the same bytes Envoy sends.

use serde_json::{Map, Value};

pub fn encode(object: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in object {
        // Struct.fields is map<string, Value>: entries of key = 1, value = 2.
        let mut entry = Vec::new();
        field(&mut entry, 1, key.as_bytes());
        field(&mut entry, 2, &encode_value(value));
        field(&mut out, 1, &entry);
    }
    out
}

fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        Value::Null => out.extend([1 << 3, 0]),
        Value::Number(n) => {
            out.push((2 << 3) | 1);
            out.extend(n.as_f64().unwrap_or(f64::NAN).to_le_bytes());
        }
        Value::String(s) => field(&mut out, 3, s.as_bytes()),
        Value::Bool(b) => out.extend([4 << 3, u8::from(*b)]),
        Value::Object(object) => field(&mut out, 5, &encode(object)),
        Value::Array(items) => {
            let mut list = Vec::new();
            for item in items {
                field(&mut list, 1, &encode_value(item));
            }
            field(&mut out, 6, &list);
        }
    }
    out
}

/// A length-delimited field.
fn field(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
    out.push((number << 3) | 2);
    let mut len = bytes.len();
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(bytes);
}
