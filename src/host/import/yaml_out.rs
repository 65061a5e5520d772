//! A configuration tree written as block YAML. Every string is double-quoted as JSON quotes
//! it, which YAML reads back as the same string, so no value can turn into another type.

use crate::policy;
use serde_json::Value;

pub fn write(tree: &Value) -> String {
    let mut out = String::new();
    block(&mut out, tree, 0);
    out
}

fn block(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in in_policy_order(fields) {
                out.push_str(&" ".repeat(indent));
                out.push_str(key);
                out.push(':');
                nested(out, inner, indent + 2);
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&" ".repeat(indent));
                out.push('-');
                match item {
                    Value::Object(fields) if !fields.is_empty() => {
                        // The first field on the dash's line, the rest under it.
                        let mut first = String::new();
                        block(&mut first, item, indent + 2);
                        out.push(' ');
                        out.push_str(first.trim_start());
                    }
                    _ => nested(out, item, indent + 2),
                }
            }
        }
        scalar => {
            out.push_str(&flow(scalar));
            out.push('\n');
        }
    }
}

/// A policy's fields in the order the policy language lists them (docs/policy.md's), its
/// `match` likewise; other keys after them, sorted (serde_json's map sorts keys).
fn in_policy_order(fields: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = fields.iter().collect();
    let order = || policy::FIELDS.iter().chain(policy::MATCH_FIELDS);
    let rank = |key: &str| order().position(|k| *k == key).unwrap_or(usize::MAX);
    entries.sort_by_key(|(key, _)| rank(key));
    entries
}

/// What follows `key:` or `-`: a scalar or flow list on the same line, a block below it.
fn nested(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            out.push('\n');
            block(out, value, indent);
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            out.push('\n');
            block(out, value, indent);
        }
        _ => {
            out.push(' ');
            out.push_str(&flow(value));
            out.push('\n');
        }
    }
}

/// A scalar, an empty object or a list of scalars on one line.
fn flow(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(_) => "{}".into(),
        scalar => scalar.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::write;
    use crate::encoding::yaml;
    use serde_json::json;

    #[test]
    fn writes_yaml_that_reads_back_the_same() {
        let tree = json!({"policies": [
            {"name": "api", "match": {"routes": ["a: b", "#x"]}, "allow_origins": ["https://a.com"],
             "allow_origin_regexes": ["https://.*\\.a\\.com", "'\"\u{7f}"], "max_age": 600,
             "allow_credentials": true, "allow_methods": [], "x": {}},
            {"name": "n", "disabled": true},
        ]});
        let text = write(&tree);
        assert!(text.starts_with("policies:\n  - name: \"api\"\n"), "{text}");
        assert_eq!(yaml::parse(&text).unwrap(), vec![tree], "{text}");
    }

    #[test]
    fn nested_blocks_are_indented_two_spaces_a_level() {
        let tree = json!([{"a": [{"b": 1, "c": 2}]}, [{"d": 3, "e": 4}], {}]);
        let text = write(&tree);
        assert_eq!(
            text,
            "- a:\n    - b: 1\n      c: 2\n-\n  - d: 3\n    e: 4\n- {}\n"
        );
        assert_eq!(yaml::parse(&text).unwrap(), vec![tree], "{text}");
    }
}
