//! An Envoy configuration as the checker's input: a bootstrap, an ECDS resource
//! (`TypedExtensionConfig`) or a discovery response, as YAML or JSON. It finds each
//! cors-wasm filter (the wasm filter whose code is the module, the dynamic module filter of
//! `cors_wasm`), its plugin configuration, and the routes Envoy would pick among.

use super::Request;
use crate::encoding::{json, Value};

const WASM: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const DYNAMIC_MODULE: &str =
    "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter";
const HCM: &str = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/// Keys only an Envoy configuration has at its top (a plugin configuration has `policies`).
const ENVOY_KEYS: &[&str] = &[
    "static_resources",
    "dynamic_resources",
    "admin",
    "node",
    "typed_config",
    "resources",
    "@type",
];

/// A cors-wasm filter of an Envoy configuration.
#[derive(Debug)]
pub struct Filter {
    /// Where it sits, as a path into the file (`static_resources.listeners[0]...`).
    pub at: String,
    /// Its plugin configuration, or why it cannot be read.
    pub config: Result<Value, String>,
    /// The HTTP connection manager it is a filter of, when the file holds it.
    pub connection_manager: Option<Value>,
}

pub fn is_envoy_config(tree: &Value) -> bool {
    ENVOY_KEYS.iter().any(|key| tree.get(key).is_some())
}

/// Every cors-wasm filter in `tree`, in the order of the file.
pub fn filters(tree: &Value) -> Vec<Filter> {
    let mut found = Vec::new();
    walk(tree, String::new(), None, &mut found);
    found
}

fn walk(value: &Value, path: String, hcm: Option<&Value>, found: &mut Vec<Filter>) {
    let hcm = match value.get("@type").and_then(Value::as_str) {
        Some(HCM) => Some(value),
        Some(WASM) if is_cors_wasm_code(&value["config"]) => {
            let config = plugin_config(&value["config"]["configuration"], "config.configuration");
            found.push(filter(&path, config, hcm));
            return;
        }
        Some(DYNAMIC_MODULE) if is_cors_wasm_module(value) => {
            let config = plugin_config(&value["filter_config"], "filter_config");
            found.push(filter(&path, config, hcm));
            return;
        }
        _ => hcm,
    };
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                let dot = if path.is_empty() { "" } else { "." };
                walk(inner, format!("{path}{dot}{key}"), hcm, found);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                walk(inner, format!("{path}[{i}]"), hcm, found);
            }
        }
        _ => {}
    }
}

fn filter(path: &str, config: Result<Value, String>, hcm: Option<&Value>) -> Filter {
    // A filter's typed_config is named by the filter entry holding it.
    let at = path.strip_suffix(".typed_config").unwrap_or(path);
    let at = match at {
        "" | "typed_config" => "the top of the file".to_string(),
        at => at.to_string(),
    };
    Filter {
        at,
        config,
        connection_manager: hcm.cloned(),
    }
}

/// A wasm filter runs cors-wasm when its code is the module (`cors_wasm.wasm`, locally or
/// fetched) or its root id is the module's.
fn is_cors_wasm_code(config: &Value) -> bool {
    let code = &config["vm_config"]["code"];
    let file = code["local"]["filename"]
        .as_str()
        .or(code["remote"]["http_uri"]["uri"].as_str())
        .unwrap_or_default();
    let name = file.rsplit('/').next().unwrap_or_default();
    name.contains("cors_wasm") || name.contains("cors-wasm") || config["root_id"] == "cors-wasm"
}

fn is_cors_wasm_module(filter: &Value) -> bool {
    filter["dynamic_module_config"]["name"]
        .as_str()
        .is_some_and(|name| name.contains("cors_wasm"))
}

/// The plugin configuration in an `Any`: a `Struct` as the tree it is, a `StringValue` as
/// the JSON text it holds (as Istio sends it).
fn plugin_config(any: &Value, field: &str) -> Result<Value, String> {
    let type_url = any["@type"].as_str().unwrap_or_default();
    match type_url.rsplit('/').next() {
        Some("google.protobuf.Struct") => Ok(any["value"].clone()),
        Some("google.protobuf.StringValue") => {
            let text = any["value"].as_str().unwrap_or_default();
            json::parse(text.as_bytes()).map_err(|e| format!("{field}.value: {e:?}"))
        }
        _ if any.is_null() => Err(format!("{field}: missing: the filter has no policies")),
        _ => Err(format!(
            "{field}: @type {type_url:?}: expected google.protobuf.Struct or StringValue"
        )),
    }
}

/// A route Envoy picks.
#[derive(Debug, PartialEq, Eq)]
pub struct Picked {
    pub virtual_host: String,
    pub index: usize,
    pub name: Option<String>,
    /// `direct_response` or `redirect` when the route answers itself, not an upstream.
    pub answers_itself: Option<&'static str>,
}

/// The route Envoy picks for a request, as far as the checker can tell.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteChoice {
    Route(Picked),
    /// No virtual host or route fits: Envoy answers 404 itself, after the filter ran.
    NoRoute(String),
    /// Why the checker cannot tell.
    Unknown(String),
}

/// The route `connection_manager` picks for `request`: virtual host by `domains` (exact,
/// then `*.suffix` and `prefix.*` wildcards, longest first, then `*`; the authority's port
/// stripped only as `strip_any_host_port` or `strip_matching_host_port` say), then its first
/// route whose `prefix`, `path` or `path_separated_prefix` fits.
pub fn route_for(connection_manager: &Value, request: &Request) -> RouteChoice {
    let config = &connection_manager["route_config"];
    if config.is_null() {
        return RouteChoice::Unknown(
            "the routes come from RDS, not this file; give --route NAME".into(),
        );
    }
    let hosts = config["virtual_hosts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let authority = request.authority.to_ascii_lowercase();
    // Envoy matches the authority with its port, unless told to strip it.
    let strips = ["strip_any_host_port", "strip_matching_host_port"]
        .iter()
        .any(|key| connection_manager[key] == true);
    let authority = match authority.rsplit_once(':') {
        Some((host, port)) if strips && !port.contains(']') => host.to_string(),
        _ => authority,
    };
    let Some(host) = virtual_host(&hosts, &authority) else {
        return RouteChoice::NoRoute(format!("no virtual host's domains fit {authority:?}"));
    };
    let host_name = host["name"].as_str().unwrap_or_default().to_string();
    let routes = host["routes"].as_array().cloned().unwrap_or_default();
    for (index, route) in routes.iter().enumerate() {
        match route_fits(&route["match"], &request.path) {
            Ok(false) => continue,
            Ok(true) => {
                let answers_itself = ["direct_response", "redirect"]
                    .into_iter()
                    .find(|key| route.get(key).is_some());
                return RouteChoice::Route(Picked {
                    virtual_host: host_name,
                    index,
                    name: route["name"].as_str().map(str::to_string),
                    answers_itself,
                });
            }
            Err(what) => {
                return RouteChoice::Unknown(format!(
                    "routes[{index}] of virtual host {host_name:?} matches on {what}, which the \
                     checker does not evaluate; give --route NAME"
                ))
            }
        }
    }
    RouteChoice::NoRoute(format!("no route of virtual host {host_name:?} fits"))
}

fn virtual_host<'h>(hosts: &'h [Value], authority: &str) -> Option<&'h Value> {
    let domains = |h: &'h Value| {
        h["domains"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(move |d| (h, d.to_ascii_lowercase()))
    };
    let all: Vec<(&Value, String)> = hosts.iter().flat_map(domains).collect();
    let best = |fits: &dyn Fn(&str) -> bool| {
        all.iter()
            .filter(|(_, d)| fits(d))
            .max_by_key(|(_, d)| d.len())
            .map(|(h, _)| *h)
    };
    best(&|d| d == authority)
        .or_else(|| {
            best(&|d| {
                d.len() > 1
                    && d.starts_with('*')
                    && authority.len() > d.len() - 1
                    && authority.ends_with(&d[1..])
            })
        })
        .or_else(|| {
            best(&|d| {
                d.len() > 1
                    && d.ends_with('*')
                    && authority.len() > d.len() - 1
                    && authority.starts_with(&d[..d.len() - 1])
            })
        })
        .or_else(|| best(&|d| d == "*"))
}

/// Whether a route's `match` fits the path; `Err` names what the checker cannot evaluate.
fn route_fits(route_match: &Value, path: &str) -> Result<bool, String> {
    let insensitive = route_match["case_sensitive"] == false;
    let fold = |s: &str| {
        if insensitive {
            s.to_ascii_lowercase()
        } else {
            s.to_string()
        }
    };
    let (path, bare) = (fold(path), fold(path.split('?').next().unwrap_or_default()));
    let text = |key: &str| route_match[key].as_str().map(fold);
    let fits = if let Some(prefix) = text("prefix") {
        path.starts_with(&prefix)
    } else if let Some(exact) = text("path") {
        bare == exact
    } else if let Some(prefix) = text("path_separated_prefix") {
        bare == prefix || bare.starts_with(&format!("{prefix}/"))
    } else {
        let what = route_match
            .as_object()
            .and_then(|m| m.keys().next().cloned());
        return Err(what.unwrap_or_else(|| "nothing the checker knows".into()));
    };
    let unknown = route_match
        .as_object()
        .into_iter()
        .flatten()
        .find(|(k, _)| {
            !matches!(
                k.as_str(),
                "prefix" | "path" | "path_separated_prefix" | "case_sensitive"
            )
        });
    match unknown {
        Some((key, _)) if fits => Err(key.clone()),
        _ => Ok(fits),
    }
}
