//! `import envoy` and `import istio`, proven by difference: each native configuration of
//! tests/import/envoy/ (and the Envoy routes Istio makes of each VirtualService of
//! tests/import/istio/) runs in a real Envoy with its native CORS filter, and again with
//! cors-wasm in its place given the imported policy. The same request catalogue goes to
//! both; every response that differs must differ in a way the importer listed for the policy
//! that applies (its change kinds), or the test fails. Needs Envoy and the built module.

mod support;

use cors_wasm::host::import::{self, Import};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::envoy::{bootstrap, cors_filter, Build, Encoding, Envoy};
use support::import_diff::{assert_only_listed_differences, catalogue, unlisted_differences, Case};
use support::upstream::Upstream;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Every `http_filters` list of the tree, each visited with `f`.
fn each_filter_list(tree: &mut Value, f: &mut dyn FnMut(&mut Vec<Value>)) {
    match tree {
        Value::Object(fields) => {
            for (key, inner) in fields.iter_mut() {
                match (key.as_str(), inner) {
                    ("http_filters", Value::Array(list)) => f(list),
                    (_, inner) => each_filter_list(inner, f),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| each_filter_list(i, f)),
        _ => {}
    }
}

/// The tree without Envoy's CORS policies (typed per-filter configs and `cors` fields).
fn without_native_policies(tree: &mut Value) {
    match tree {
        Value::Object(fields) => {
            fields.remove("cors");
            if let Some(Value::Object(typed)) = fields.get_mut("typed_per_filter_config") {
                typed.retain(|_, any| {
                    !any["@type"]
                        .as_str()
                        .unwrap_or_default()
                        .ends_with("CorsPolicy")
                });
            }
            fields.values_mut().for_each(without_native_policies);
        }
        Value::Array(items) => items.iter_mut().for_each(without_native_policies),
        _ => {}
    }
}

/// The bootstrap with its `upstream` cluster pointed at `port`, and connection managers
/// that close at once after a local reply (the client sends `connection: close`; Envoy's
/// default waits a second for it to close first).
fn with_upstream(mut tree: Value, port: u16) -> Value {
    for listener in tree["static_resources"]["listeners"]
        .as_array_mut()
        .unwrap()
    {
        for chain in listener["filter_chains"].as_array_mut().unwrap() {
            for filter in chain["filters"].as_array_mut().unwrap() {
                filter["typed_config"]["delayed_close_timeout"] = json!("0s");
            }
        }
    }
    for cluster in tree["static_resources"]["clusters"].as_array_mut().unwrap() {
        cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
            ["socket_address"]["port_value"] = json!(port);
    }
    tree
}

/// The same bootstrap with cors-wasm in place of Envoy's CORS filter.
fn with_cors_wasm(mut tree: Value, imported: &Import) -> Value {
    let ours = cors_filter(Build::Wasm, &imported.config(), Encoding::Struct);
    each_filter_list(&mut tree, &mut |list| {
        for filter in list.iter_mut() {
            if filter["name"] == "envoy.filters.http.cors" {
                *filter = ours.clone();
            }
        }
    });
    without_native_policies(&mut tree);
    tree
}

/// The hosts and paths worth asking for: each virtual host's domains (a wildcard made a
/// name) and each route's prefix or path, plus one no route has.
fn hosts_and_paths(tree: &Value) -> (Vec<String>, Vec<String>) {
    let (mut hosts, mut paths) = (BTreeSet::new(), BTreeSet::from(["/elsewhere".to_string()]));
    let text = tree.to_string();
    let routes: Value = serde_json::from_str(&text).unwrap();
    let mut stack = vec![&routes];
    while let Some(v) = stack.pop() {
        if let Some(domains) = v.get("domains").and_then(Value::as_array) {
            for d in domains.iter().filter_map(Value::as_str) {
                hosts.insert(match d {
                    "*" => "other.example".to_string(),
                    d => d.replace('*', "a"),
                });
            }
        }
        if let Some(m) = v.get("match") {
            for key in ["prefix", "path"] {
                if let Some(p) = m[key].as_str() {
                    paths.insert(format!("{}x", p.trim_end_matches('/').to_string() + "/"));
                    paths.insert(p.to_string());
                }
            }
        }
        match v {
            Value::Object(f) => stack.extend(f.values()),
            Value::Array(i) => stack.extend(i.iter()),
            _ => {}
        }
    }
    (hosts.into_iter().collect(), paths.into_iter().collect())
}

/// The route Envoy picks for a case: its name, from the bootstrap's routes (prefix and path
/// matchers, domains exact, `*.suffix` or `*`).
fn route_for(tree: &Value, case: &Case) -> Option<String> {
    let mut found = Vec::new();
    find_vhosts(tree, &mut found);
    let fits = |d: &str| {
        d == "*" || d == case.host || d.strip_prefix('*').is_some_and(|s| case.host.ends_with(s))
    };
    let rank = |d: &str| {
        if d == "*" {
            2
        } else if d.starts_with('*') {
            1
        } else {
            0
        }
    };
    let vhost = found
        .iter()
        .filter_map(|v| {
            let best = v["domains"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .filter(|d| fits(d))
                .map(rank)
                .min()?;
            Some((best, *v))
        })
        .min_by_key(|(r, _)| *r)?
        .1;
    vhost["routes"].as_array()?.iter().find_map(|r| {
        let m = &r["match"];
        let hit = m["prefix"]
            .as_str()
            .is_some_and(|p| case.path.starts_with(p))
            || m["path"].as_str().is_some_and(|p| case.path == p);
        hit.then(|| r["name"].as_str().unwrap_or_default().to_string())
    })
}

fn find_vhosts<'a>(v: &'a Value, found: &mut Vec<&'a Value>) {
    match v {
        Value::Object(f) => {
            if let Some(Value::Array(hosts)) = f.get("virtual_hosts") {
                found.extend(hosts.iter());
            }
            f.values().for_each(|i| find_vhosts(i, found));
        }
        Value::Array(i) => i.iter().for_each(|x| find_vhosts(x, found)),
        _ => {}
    }
}

/// One native bootstrap against its import; returns the failures.
fn difference(name: &str, bootstrap: Value, imported: &Import) -> Vec<String> {
    let upstream = Upstream::start();
    let native_tree = with_upstream(bootstrap, upstream.port);
    let ours_tree = with_cors_wasm(native_tree.clone(), imported);
    let native = Envoy::start(&native_tree);
    let ours = Envoy::start(&ours_tree);
    let (hosts, paths) = hosts_and_paths(&native_tree);
    let cases = catalogue(&hosts, &paths, true);
    let route_of = |case: &Case| route_for(&native_tree, case);
    unlisted_differences(name, (native.port, ours.port), imported, &cases, &route_of)
}

fn envoy_difference(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let imported =
        import::import("envoy", &text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let tree = cors_wasm::encoding::yaml::parse(&text).unwrap().remove(0);
    difference(&file.display().to_string(), tree, &imported)
}

#[test]
fn envoy_native_configs_differ_only_as_listed() {
    assert_only_listed_differences(files("envoy"), envoy_difference);
}

/// The Envoy routes Istio makes of a VirtualService: one virtual host of its `hosts`, one
/// route a `http` entry (its name, its URI prefix), with the `CorsPolicy` Istio writes.
fn istio_bootstrap(service: &Value) -> Value {
    let routes: Vec<Value> = service["spec"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .map(|http| {
            let prefix = http["match"][0]["uri"]["prefix"].as_str().unwrap_or("/");
            let mut route = json!({"match": {"prefix": prefix}, "route": {"cluster": "upstream"}});
            if let Some(name) = http["name"].as_str() {
                route["name"] = json!(name);
            }
            if let Some(cors) = http.get("corsPolicy") {
                let policy = import::istio::envoy_policy(cors, "corsPolicy").unwrap();
                route["typed_per_filter_config"] = json!({"envoy.filters.http.cors": policy});
            }
            route
        })
        .collect();
    let cors = json!({
        "name": "envoy.filters.http.cors",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"},
    });
    let mut tree = bootstrap(vec![cors], json!(routes), 1);
    let hcm = &mut tree["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"];
    hcm["route_config"]["virtual_hosts"][0]["domains"] = service["spec"]["hosts"].clone();
    tree
}

#[test]
fn istio_virtual_services_differ_only_as_listed() {
    let mut failures = Vec::new();
    for file in files("istio") {
        let text = std::fs::read_to_string(&file).unwrap();
        let imported =
            import::import("istio", &text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let service = cors_wasm::encoding::yaml::parse(&text).unwrap().remove(0);
        failures.extend(difference(
            &file.display().to_string(),
            istio_bootstrap(&service),
            &imported,
        ));
    }
    assert!(
        failures.is_empty(),
        "{} unlisted differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
