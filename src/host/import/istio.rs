//! `import istio`: the `corsPolicy` of VirtualServices (networking.istio.io), one policy per
//! HTTP route that has one. Istio carries a `corsPolicy` out with Envoy's native CORS filter:
//! it writes the route an Envoy `CorsPolicy` ([`envoy_policy`], as Istio's route translation
//! does: lists joined with `,`, `maxAge` in whole seconds, `unmatchedPreflights` as
//! `forward_not_matching_preflights`), so what changes is what changes from Envoy's filter.
//! Routes are matched by their `name` (Istio's Envoy route name); a VirtualService with an
//! unnamed route with CORS is matched by its `hosts` and each route's URI prefix, in order.

use super::envoy_cors::{self, translate};
use super::{error_at, policy_name, Change, Import, ImportError};
use crate::policy::HostPattern;
use serde_json::{json, Map, Value};

pub fn import(documents: &[Value]) -> Result<Import, ImportError> {
    let services: Vec<(usize, &Value)> = documents
        .iter()
        .enumerate()
        .filter(|(_, d)| d["kind"] == "VirtualService")
        .collect();
    if services.is_empty() {
        return Err("no VirtualService in the file".into());
    }
    let (mut policies, mut changes) = (Vec::new(), Vec::new());
    for (i, service) in services {
        let name = service["metadata"]["name"]
            .as_str()
            .unwrap_or("virtualservice");
        let at = format!("VirtualService {name}");
        let at = if documents.len() > 1 {
            format!("{at} (document {i})")
        } else {
            at
        };
        read_service(service, &at, &mut policies, &mut changes)?;
    }
    if policies.is_empty() {
        return Err("spec.http: no route has a corsPolicy, nothing to import".into());
    }
    Ok(Import { policies, changes })
}

fn read_service(
    service: &Value,
    at: &str,
    policies: &mut Vec<Value>,
    changes: &mut Vec<Change>,
) -> Result<(), ImportError> {
    let routes: Vec<&Value> = service["spec"]["http"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let with_cors = |r: &Value| r.get("corsPolicy").is_some();
    if !routes.iter().any(|r| with_cors(r)) {
        return Err(error_at(at, "spec.http: no route has a corsPolicy"));
    }
    let by_name = routes
        .iter()
        .filter(|r| with_cors(r))
        .all(|r| r["name"].is_string());
    let hosts = if by_name {
        None
    } else {
        Some(service_hosts(service, at)?)
    };
    for (i, route) in routes.iter().enumerate() {
        let route_at = match route["name"].as_str() {
            Some(name) => format!("{at}, http route {name}"),
            None => format!("{at}, spec.http[{i}]"),
        };
        let matcher = match &hosts {
            None if route.get("corsPolicy").is_none() => continue,
            None => json!({"routes": [route["name"]]}),
            Some(hosts) => {
                let mut m = json!({"path_prefixes": [uri_prefix(route, &route_at)?]});
                if let Some(hosts) = hosts {
                    m["hosts"] = json!(hosts);
                }
                m
            }
        };
        let cors = match route.get("corsPolicy") {
            Some(policy) => {
                let envoy = envoy_policy(policy, &format!("{route_at}.corsPolicy"))?;
                envoy_cors::read(&envoy, &route_at)?
            }
            None => envoy_cors::EnvoyCors::default(),
        };
        let wanted = route["name"].as_str().unwrap_or("route");
        let name = policy_name(wanted, policies);
        let (policy, listed) = translate(&cors, &route_at, &name, Some(matcher))?;
        policies.push(policy);
        changes.extend(listed);
    }
    Ok(())
}

/// The VirtualService's `hosts` as cors-wasm hosts (`None` for `*`).
fn service_hosts(service: &Value, at: &str) -> Result<Option<Vec<String>>, ImportError> {
    let mut hosts = Vec::new();
    for host in service["spec"]["hosts"].as_array().into_iter().flatten() {
        match host.as_str() {
            Some("*") => return Ok(None),
            Some(h) if HostPattern::parse(h).is_ok() => hosts.push(h.to_ascii_lowercase()),
            _ => {
                return Err(error_at(
                    at,
                    format!(
                        "spec.hosts: {host} cannot be matched by cors-wasm; name the routes with a \
                         corsPolicy so policies can match them by name"
                    ),
                ))
            }
        }
    }
    if hosts.is_empty() {
        return Err(error_at(
            at,
            "spec.hosts: none; name the routes with a corsPolicy",
        ));
    }
    Ok(Some(hosts))
}

/// An unnamed route's one `uri.prefix` (`/` when it matches everything).
fn uri_prefix<'a>(route: &'a Value, at: &str) -> Result<&'a str, ImportError> {
    let matches = route["match"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let prefix = match matches {
        [] => Some("/"),
        [only] if only.as_object().is_some_and(|m| m.len() == 1) => only["uri"]["prefix"].as_str(),
        _ => None,
    };
    prefix.ok_or_else(|| {
        error_at(
            at,
            "an unnamed route matched by other than one URI prefix: give it a name, so its \
             policy can match it",
        )
    })
}

/// The Envoy `CorsPolicy` Istio writes for a `corsPolicy`.
pub fn envoy_policy(cors: &Value, at: &str) -> Result<Value, ImportError> {
    let fields = cors
        .as_object()
        .ok_or_else(|| error_at(at, "expected an object"))?;
    let mut out = Map::new();
    out.insert(
        "@type".into(),
        json!("type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy"),
    );
    for (key, value) in fields {
        let here = format!("{at}.{key}");
        let (field, converted) = match key.as_str() {
            "allowOrigins" => ("allow_origin_string_match", origins(value, &here)?),
            "allowOrigin" => ("allow_origin_string_match", exact_origins(value, &here)?),
            "allowMethods" => ("allow_methods", joined(value, &here)?),
            "allowHeaders" => ("allow_headers", joined(value, &here)?),
            "exposeHeaders" => ("expose_headers", joined(value, &here)?),
            "maxAge" => ("max_age", json!(seconds(value, &here)?.to_string())),
            "allowCredentials" => ("allow_credentials", boolean(value, &here)?),
            "unmatchedPreflights" => match value.as_str() {
                Some("FORWARD") => ("forward_not_matching_preflights", json!(true)),
                Some("IGNORE") => ("forward_not_matching_preflights", json!(false)),
                Some("UNMATCHED_PREFLIGHTS_UNSPECIFIED") => continue,
                _ => return Err(error_at(&here, "expected FORWARD or IGNORE")),
            },
            _ => return Err(error_at(&here, "not a field of a corsPolicy")),
        };
        out.insert(field.into(), converted);
    }
    Ok(Value::Object(out))
}

fn strings<'a>(value: &'a Value, at: &str) -> Result<Vec<&'a str>, ImportError> {
    value
        .as_array()
        .and_then(|items| items.iter().map(Value::as_str).collect())
        .ok_or_else(|| error_at(at, "expected a list of strings"))
}

fn joined(value: &Value, at: &str) -> Result<Value, ImportError> {
    Ok(json!(strings(value, at)?.join(",")))
}

fn boolean(value: &Value, at: &str) -> Result<Value, ImportError> {
    value
        .as_bool()
        .map(Value::Bool)
        .ok_or_else(|| error_at(at, "expected true or false"))
}

/// `allowOrigins`: Istio's `StringMatch`es (`exact`, `prefix`, `regex`) as Envoy's.
fn origins(value: &Value, at: &str) -> Result<Value, ImportError> {
    let items = value
        .as_array()
        .ok_or_else(|| error_at(at, "expected a list of string matches"))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let (kind, text) = match item.as_object().map(|m| m.iter().collect::<Vec<_>>()) {
            Some(entries) if entries.len() == 1 => (entries[0].0.as_str(), entries[0].1),
            _ => return Err(error_at(&here, "expected one of exact, prefix or regex")),
        };
        let text = text
            .as_str()
            .ok_or_else(|| error_at(&here, "expected a string"))?;
        out.push(match kind {
            "exact" => json!({"exact": text}),
            "prefix" => json!({"prefix": text}),
            "regex" => json!({"safe_regex": {"regex": text}}),
            other => {
                return Err(error_at(
                    &here,
                    format!("{other}: expected exact, prefix or regex"),
                ))
            }
        });
    }
    Ok(json!(out))
}

/// The deprecated `allowOrigin`: exact origins.
fn exact_origins(value: &Value, at: &str) -> Result<Value, ImportError> {
    let list: Vec<Value> = strings(value, at)?
        .into_iter()
        .map(|o| json!({"exact": o}))
        .collect();
    Ok(json!(list))
}

/// A protobuf `Duration` as Istio writes it (`24h`, `1h30m`, `90s`, `1.5s`), in whole
/// seconds as Istio hands them to Envoy.
fn seconds(value: &Value, at: &str) -> Result<u64, ImportError> {
    let text = value
        .as_str()
        .ok_or_else(|| error_at(at, "expected a duration such as \"24h\""))?;
    let bad = || {
        error_at(
            at,
            format!("{text:?} is not a duration such as \"24h\" or \"90s\""),
        )
    };
    let (mut total, mut rest) = (0f64, text);
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(number_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
        total += number.parse::<f64>().map_err(|_| bad())? * scale;
        rest = tail;
    }
    if text.is_empty() || !total.is_finite() || total > 1e12 {
        return Err(bad());
    }
    Ok(total as u64)
}

#[cfg(test)]
mod tests {
    use super::{envoy_policy, seconds};
    use serde_json::{json, Value};

    #[test]
    fn durations_in_whole_seconds() {
        for (text, expected) in [
            ("24h", 86400),
            ("1h30m", 5400),
            ("90s", 90),
            ("1.5s", 1),
            ("500ms", 0),
        ] {
            assert_eq!(seconds(&json!(text), "x").unwrap(), expected, "{text}");
        }
        for bad in ["", "10", "1d", "s", "1.2.3s"] {
            assert!(seconds(&json!(bad), "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_in_every_unit_up_to_10_to_the_12_seconds() {
        for (text, expected) in [
            ("1500000us", 1),
            ("2500000µs", 2),
            ("3500000000ns", 3),
            ("1000000000000s", 1_000_000_000_000),
        ] {
            assert_eq!(seconds(&json!(text), "x").unwrap(), expected, "{text}");
        }
        assert_eq!(
            seconds(&json!("1000000000001s"), "x").unwrap_err(),
            "x: \"1000000000001s\" is not a duration such as \"24h\" or \"90s\""
        );
    }

    const CORS_POLICY: &str =
        "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";

    #[test]
    fn unmatched_preflights_and_allow_origin_become_envoys_fields() {
        let envoy = |cors: Value| envoy_policy(&cors, "x").unwrap();
        assert_eq!(
            envoy(json!({"unmatchedPreflights": "FORWARD"})),
            json!({"@type": CORS_POLICY, "forward_not_matching_preflights": true})
        );
        assert_eq!(
            envoy(json!({"unmatchedPreflights": "IGNORE"})),
            json!({"@type": CORS_POLICY, "forward_not_matching_preflights": false})
        );
        assert_eq!(
            envoy(json!({"unmatchedPreflights": "UNMATCHED_PREFLIGHTS_UNSPECIFIED"})),
            json!({"@type": CORS_POLICY})
        );
        assert_eq!(
            envoy(json!({"allowOrigin": ["https://a.example"]})),
            json!({"@type": CORS_POLICY, "allow_origin_string_match": [{"exact": "https://a.example"}]})
        );
    }

    #[test]
    fn a_string_match_has_exactly_one_kind() {
        for matches in [
            json!([{}]),
            json!([{"exact": "https://a.example", "prefix": "https://"}]),
        ] {
            assert_eq!(
                envoy_policy(&json!({ "allowOrigins": matches }), "x").unwrap_err(),
                "x.allowOrigins[0]: expected one of exact, prefix or regex"
            );
        }
    }

    fn istio(source: &str) -> Result<Vec<Value>, String> {
        crate::host::import::import("istio", source).map(|i| i.policies)
    }

    #[test]
    fn an_error_names_the_document_only_in_a_file_of_several() {
        let broken = "kind: VirtualService\nmetadata: {name: x}\nspec: {http: [{name: a}]}";
        assert_eq!(
            istio(broken).unwrap_err(),
            "VirtualService x: spec.http: no route has a corsPolicy"
        );
        assert_eq!(
            istio(&format!("kind: Gateway\n---\n{broken}")).unwrap_err(),
            "VirtualService x (document 1): spec.http: no route has a corsPolicy"
        );
    }

    /// The `match` of the policy of one unnamed route matching `uri` in a VirtualService of `hosts`.
    fn unnamed_route_match(hosts: &str, uri: &str) -> Result<Value, String> {
        let source = format!(
            "kind: VirtualService\nmetadata: {{name: x}}\nspec: {{hosts: {hosts}, http: [{{match: [{uri}], \
             corsPolicy: {{allowOrigins: [{{exact: \"https://a.example\"}}]}}}}]}}"
        );
        istio(&source).map(|policies| policies[0]["match"].clone())
    }

    #[test]
    fn unnamed_routes_are_matched_by_hosts_cors_wasm_can_read_and_one_uri_prefix() {
        let prefix = "{uri: {prefix: /a}}";
        assert_eq!(
            unnamed_route_match("['*', a.example.com]", prefix).unwrap(),
            json!({"path_prefixes": ["/a"]})
        );
        assert_eq!(
            unnamed_route_match("[A.example.com, '*.b.example.com']", prefix).unwrap(),
            json!({"hosts": ["a.example.com", "*.b.example.com"], "path_prefixes": ["/a"]})
        );
        assert_eq!(
            unnamed_route_match("[a.example.com:8080]", prefix).unwrap_err(),
            "VirtualService x: spec.hosts: \"a.example.com:8080\" cannot be matched by cors-wasm; \
             name the routes with a corsPolicy so policies can match them by name"
        );
        assert_eq!(
            unnamed_route_match(
                "[a.example.com]",
                "{uri: {prefix: /a}, headers: {x: {exact: y}}}"
            )
            .unwrap_err(),
            "VirtualService x, spec.http[0]: an unnamed route matched by other than one URI \
             prefix: give it a name, so its policy can match it"
        );
    }
}
