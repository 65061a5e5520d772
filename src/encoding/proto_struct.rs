//! Envoy's binary `google.protobuf.Struct` (how it hands over a configuration written as
//! plain YAML) into the configuration tree, by prost.
//! Messages: <https://protobuf.dev/reference/protobuf/google.protobuf/#struct>.
//!
//! The messages are declared here rather than taken from `prost_types`, whose `Struct` keeps
//! its fields in a map: a serialized map is a list of (key, value) entries, and decoding it
//! into a map silently keeps the last of two entries with the same key. Declared as the list
//! it is on the wire, every entry arrives, and one repeated in a `Struct` is reported with
//! its path, as JSON text's are.

use super::error::DecodeError;
use super::paths::Paths;
use prost::Message;
use serde_json::{Map, Number, Value};

/// `google.protobuf.Struct`, its `map<string, Value> fields = 1` as the entries it is made of.
#[derive(Clone, PartialEq, Message)]
pub struct Struct {
    #[prost(message, repeated, tag = "1")]
    pub fields: Vec<Entry>,
}

/// One entry of `Struct.fields`: how protobuf serializes a map's key and value.
#[derive(Clone, PartialEq, Message)]
pub struct Entry {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<ProtoValue>,
}

/// `google.protobuf.Value`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoValue {
    #[prost(oneof = "Kind", tags = "1, 2, 3, 4, 5, 6")]
    pub kind: Option<Kind>,
}

/// `google.protobuf.Value.kind`; `NullValue` is an enum of one member, a varint on the wire.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    #[prost(int32, tag = "1")]
    NullValue(i32),
    #[prost(double, tag = "2")]
    NumberValue(f64),
    #[prost(string, tag = "3")]
    StringValue(String),
    #[prost(bool, tag = "4")]
    BoolValue(bool),
    #[prost(message, tag = "5")]
    StructValue(Struct),
    #[prost(message, tag = "6")]
    ListValue(ListValue),
}

/// `google.protobuf.ListValue`.
#[derive(Clone, PartialEq, Message)]
pub struct ListValue {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<ProtoValue>,
}

/// Decodes a serialized `Struct` into the same tree JSON parsing gives. prost refuses
/// messages nested more than 100 deep, which bounds the conversion's recursion too.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let decoded = Struct::decode(bytes).map_err(|e| DecodeError::Malformed(reason(e)))?;
    let mut paths = Paths::default();
    let tree = object(decoded, &mut paths).map_err(DecodeError::Malformed)?;
    paths.into_result(Value::Object(tree))
}

/// prost's reason, without the "failed to decode" and the trail of `Message.field`s before
/// it (a hundred of them when a `Struct` nests too deep).
fn reason(error: prost::DecodeError) -> String {
    let text = error.to_string();
    let mut reason = text
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(&text);
    // Split at a ':' and a space rather than at ": ", whose search would bring core's
    // two-way string searcher into the module: a field name has no ':' either way.
    while let Some((field, rest)) = reason.split_once(':') {
        let is_field = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'_';
        let Some(rest) = rest.strip_prefix(' ') else {
            break;
        };
        if !field.contains('.') || !field.bytes().all(is_field) {
            break;
        }
        reason = rest;
    }
    reason.to_string()
}

fn object(decoded: Struct, paths: &mut Paths) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for Entry { key, value } in decoded.fields {
        let at = paths.enter_key(&key);
        let value = value.map_or(Ok(Value::Null), |v| tree(v, paths));
        if map.contains_key(&key) {
            paths.repeated_here();
        }
        paths.leave(at);
        map.insert(key, value?);
    }
    Ok(map)
}

fn tree(value: ProtoValue, paths: &mut Paths) -> Result<Value, String> {
    Ok(match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) => Value::Number(finite(n)?),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::StructValue(s)) => Value::Object(object(s, paths)?),
        Some(Kind::ListValue(list)) => {
            let mut items = Vec::with_capacity(list.values.len());
            for (i, item) in list.values.into_iter().enumerate() {
                let at = paths.enter_index(i);
                let item = tree(item, paths);
                paths.leave(at);
                items.push(item?);
            }
            Value::Array(items)
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
    use prost_types::value::Kind as OfficialKind;
    use serde_json::json;

    fn malformed(reason: &str) -> DecodeError {
        DecodeError::Malformed(reason.to_string())
    }

    /// The tree as a `Struct`'s bytes, through prost's own encoder.
    fn encode(tree: &Value) -> Vec<u8> {
        fn value(tree: &Value) -> prost_types::Value {
            let kind = match tree {
                Value::Null => OfficialKind::NullValue(0),
                Value::Bool(b) => OfficialKind::BoolValue(*b),
                Value::Number(n) => OfficialKind::NumberValue(n.as_f64().unwrap()),
                Value::String(s) => OfficialKind::StringValue(s.clone()),
                Value::Array(items) => OfficialKind::ListValue(prost_types::ListValue {
                    values: items.iter().map(value).collect(),
                }),
                Value::Object(_) => OfficialKind::StructValue(structure(tree)),
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
        assert_eq!(
            decode(&[0x0a, 0x05, 0x0a]).unwrap_err(),
            malformed("buffer underflow")
        );
        assert_eq!(
            decode(&[0x0b]).unwrap_err(),
            malformed("invalid wire type: StartGroup (expected LengthDelimited)")
        );
        // An entry whose key is not UTF-8.
        assert_eq!(
            decode(&[0x0a, 0x03, 0x0a, 0x01, 0xff]).unwrap_err(),
            malformed("invalid string value: data is not UTF-8 encoded")
        );
        let nan = prost_types::Struct {
            fields: [(
                "k".to_string(),
                prost_types::Value {
                    kind: Some(OfficialKind::NumberValue(f64::NAN)),
                },
            )]
            .into(),
        };
        assert_eq!(
            decode(&nan.encode_to_vec()).unwrap_err(),
            malformed("NaN is not a finite number")
        );
    }

    /// The trail prost writes before its reason names each message's field as declared, and
    /// protobuf field names hold `_`: those are stripped like any other. (This module's own
    /// messages have none, so the test declares two that do.)
    #[test]
    fn the_trail_stripped_from_a_reason_may_name_fields_with_underscores() {
        #[derive(Clone, PartialEq, Message)]
        struct Policy {
            #[prost(string, repeated, tag = "1")]
            allow_origins: Vec<String>,
        }
        #[derive(Clone, PartialEq, Message)]
        struct Config {
            #[prost(message, repeated, tag = "1")]
            cors_policies: Vec<Policy>,
        }
        let error = Config::decode([0x0a, 0x03, 0x0a, 0x01, 0xff].as_slice()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to decode Protobuf message: Policy.allow_origins: Config.cors_policies: \
             invalid string value: data is not UTF-8 encoded"
        );
        assert_eq!(
            reason(error),
            "invalid string value: data is not UTF-8 encoded"
        );
    }

    /// prost's limit is 100 messages deep: the Struct, the field's Value, then a ListValue
    /// and a Value per list. 49 lists are 100 messages; 50 are one list too many.
    #[test]
    fn nesting_holds_at_prosts_limit_and_not_one_list_past() {
        let nested = |lists: usize| {
            let mut value = json!("leaf");
            for _ in 0..lists {
                value = json!([value]);
            }
            encode(&json!({ "deep": value }))
        };
        assert!(decode(&nested(49)).is_ok());
        assert_eq!(
            decode(&nested(50)).unwrap_err(),
            malformed("recursion limit reached")
        );
    }

    #[test]
    fn rejects_nesting_too_deep_without_overflowing_the_stack() {
        let mut value = json!("leaf");
        for _ in 0..200 {
            value = json!([value]);
        }
        let err = decode(&encode(&json!({ "deep": value }))).unwrap_err();
        assert_eq!(err, malformed("recursion limit reached"));
    }

    #[test]
    fn a_key_repeated_on_the_wire_is_refused_with_its_path() {
        let entry = |key: &str, kind: Kind| Entry {
            key: key.into(),
            value: Some(ProtoValue { kind: Some(kind) }),
        };
        let policy = Struct {
            fields: vec![
                entry("allow_credentials", Kind::BoolValue(false)),
                entry(
                    "allow_origins",
                    Kind::ListValue(ListValue { values: vec![] }),
                ),
                entry("allow_credentials", Kind::BoolValue(true)),
            ],
        };
        let policies = ListValue {
            values: vec![ProtoValue {
                kind: Some(Kind::StructValue(policy)),
            }],
        };
        let config = Struct {
            fields: vec![entry("policies", Kind::ListValue(policies))],
        };
        let bytes = config.encode_to_vec();
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::RepeatedKeys(vec![
                "policies[0].allow_credentials".into()
            ]))
        );
        // prost's own Struct keeps the last entry without a word.
        let official = prost_types::Struct::decode(bytes.as_slice()).unwrap();
        assert_eq!(official.fields.len(), 1);
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
