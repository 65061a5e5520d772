//! YAML files (a policy, or an Istio `WasmPlugin`) read into the same tree the filter's two
//! encodings decode to, for the native policy checker and tests. Not in the wasm module.

use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Every document in `text`, as trees.
pub fn parse(text: &str) -> Result<Vec<Value>, String> {
    let documents = YamlLoader::load_from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    documents.iter().map(to_tree).collect()
}

fn to_tree(yaml: &Yaml) -> Result<Value, String> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(text) => {
            let f: f64 = text
                .parse()
                .map_err(|_| format!("{text} is not a number"))?;
            let finite = Number::from_f64(f);
            Value::Number(finite.ok_or_else(|| format!("{text} is not a finite number"))?)
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(items.iter().map(to_tree).collect::<Result<_, _>>()?),
        Yaml::Hash(hash) => {
            let mut map = Map::new();
            for (key, value) in hash {
                map.insert(key_text(key)?, to_tree(value)?);
            }
            Value::Object(map)
        }
        Yaml::Alias(_) | Yaml::BadValue => {
            return Err("unsupported YAML (an alias or a bad value)".into())
        }
    })
}

fn key_text(key: &Yaml) -> Result<String, String> {
    match key {
        Yaml::String(s) | Yaml::Real(s) => Ok(s.clone()),
        Yaml::Integer(i) => Ok(i.to_string()),
        Yaml::Boolean(b) => Ok(b.to_string()),
        _ => Err("a mapping key is not a scalar".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::json;

    #[test]
    fn reads_yaml_as_the_json_tree() {
        let text = "policies:\n  - name: api\n    max_age: 600\n    allow_credentials: yes\n    allow_origins: [\"*\"]\n    x: 1.5\n    y: ~\n";
        let tree = &parse(text).unwrap()[0];
        assert_eq!(
            tree,
            &json!({"policies": [{"name": "api", "max_age": 600, "allow_credentials": "yes",
                                  "allow_origins": ["*"], "x": 1.5, "y": null}]})
        );
    }

    /// An integer or boolean key is the key's text, as in JSON; a sequence is none.
    #[test]
    fn scalar_keys_become_their_text() {
        let tree = &parse("1: a\ntrue: b\n1.5: c\n").unwrap()[0];
        assert_eq!(tree, &json!({"1": "a", "true": "b", "1.5": "c"}));
        assert_eq!(
            parse("[a]: b\n").unwrap_err(),
            "a mapping key is not a scalar"
        );
    }

    #[test]
    fn malformed_yaml_is_an_error() {
        assert!(parse("a: [1, 2")
            .unwrap_err()
            .starts_with("not valid YAML: "));
    }
}
