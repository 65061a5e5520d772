//! Envoy's binary `google.protobuf.Struct` (how it hands over a configuration written as
//! plain YAML) into the configuration tree, by prost's own `prost_types::Struct`.
//! Messages: <https://protobuf.dev/reference/protobuf/google.protobuf/#struct>.

use super::{Map, Number, Value};
use prost::Message;
use prost_types::value::Kind;

/// Decodes a serialized `Struct` into the same tree JSON parsing gives. prost refuses
/// messages nested more than 100 deep, which bounds the conversion's recursion too.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    let decoded = prost_types::Struct::decode(bytes).map_err(reason)?;
    object(decoded).map(Value::Object)
}

/// prost's reason, without the "failed to decode" and the trail of `Message.field`s before
/// it (a hundred of them when a `Struct` nests too deep).
fn reason(error: prost::DecodeError) -> String {
    let text = error.to_string();
    let mut reason = text
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(&text);
    while let Some((field, rest)) = reason.split_once(": ") {
        let is_field = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'_';
        if !field.contains('.') || !field.bytes().all(is_field) {
            break;
        }
        reason = rest;
    }
    reason.to_string()
}

fn object(decoded: prost_types::Struct) -> Result<Map<String, Value>, String> {
    let fields = decoded.fields.into_iter();
    fields.map(|(key, value)| Ok((key, tree(value)?))).collect()
}

fn tree(value: prost_types::Value) -> Result<Value, String> {
    Ok(match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) => Value::Number(finite(n)?),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::StructValue(s)) => Value::Object(object(s)?),
        Some(Kind::ListValue(list)) => {
            let items = list.values.into_iter().map(tree);
            Value::Array(items.collect::<Result<_, _>>()?)
        }
    })
}

fn finite(n: f64) -> Result<Number, String> {
    let name = if n.is_nan() { "NaN" } else { "an infinity" };
    Number::from_f64(n).ok_or_else(|| format!("{name} is not a finite number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The tree as a `Struct`'s bytes, through prost's own encoder.
    fn encode(tree: &Value) -> Vec<u8> {
        fn value(tree: &Value) -> prost_types::Value {
            let kind = match tree {
                Value::Null => Kind::NullValue(0),
                Value::Bool(b) => Kind::BoolValue(*b),
                Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap()),
                Value::String(s) => Kind::StringValue(s.clone()),
                Value::Array(items) => Kind::ListValue(prost_types::ListValue {
                    values: items.iter().map(value).collect(),
                }),
                Value::Object(_) => Kind::StructValue(structure(tree)),
            };
            prost_types::Value { kind: Some(kind) }
        }
        fn structure(tree: &Value) -> prost_types::Struct {
            let map = tree.as_object().unwrap();
            prost_types::Struct {
                fields: map.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
            }
        }
        structure(tree).encode_to_vec()
    }

    #[test]
    fn decodes_every_kind_of_value_with_numbers_as_doubles() {
        let tree = json!({
            "policies": [{"name": "api", "max_age": 600.0, "allow_credentials": true,
                          "match": {"hosts": ["a.example.com"]}, "disabled": null}],
            "empty": {}, "list": []
        });
        assert_eq!(decode(&encode(&tree)).unwrap(), tree);
        let decoded = decode(&encode(&json!({"max_age": 600}))).unwrap();
        assert_eq!(decoded["max_age"], json!(600.0));
    }

    #[test]
    fn rejects_truncated_input_at_every_length() {
        let encoded = encode(&json!({"policies": [{"allow_origins": ["https://a.example"]}]}));
        for len in 1..encoded.len() {
            assert!(
                decode(&encoded[..len]).is_err(),
                "prefix of {len} bytes decoded"
            );
        }
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        assert_eq!(decode(&[0x0a, 0x05, 0x0a]).unwrap_err(), "buffer underflow");
        assert_eq!(
            decode(&[0x0b]).unwrap_err(),
            "invalid wire type: StartGroup (expected LengthDelimited)"
        );
        // An entry whose key is not UTF-8.
        assert_eq!(
            decode(&[0x0a, 0x03, 0x0a, 0x01, 0xff]).unwrap_err(),
            "invalid string value: data is not UTF-8 encoded"
        );
        let nan = prost_types::Struct {
            fields: [(
                "k".to_string(),
                prost_types::Value {
                    kind: Some(Kind::NumberValue(f64::NAN)),
                },
            )]
            .into(),
        };
        assert_eq!(
            decode(&nan.encode_to_vec()).unwrap_err(),
            "NaN is not a finite number"
        );
    }

    #[test]
    fn rejects_nesting_too_deep_without_overflowing_the_stack() {
        let mut value = json!("leaf");
        for _ in 0..200 {
            value = json!([value]);
        }
        let err = decode(&encode(&json!({ "deep": value }))).unwrap_err();
        assert_eq!(err, "recursion limit reached");
    }

    #[test]
    fn skips_unknown_fields() {
        // Field 9 (varint) before the real entry.
        let tree = json!({"a": true});
        let mut input = vec![0x48, 0x01];
        input.extend(encode(&tree));
        assert_eq!(decode(&input).unwrap(), tree);
    }
}
