//! `import envoy`: an Envoy bootstrap, route configuration or discovery response using the
//! native CORS filter (`envoy.filters.http.cors`), read into cors-wasm policies.
//!
//! Envoy takes each route's policy from `typed_per_filter_config` (the route's over its
//! virtual host's over its route configuration's, field by field), and only when none of them
//! has one, from the deprecated `cors` fields (route action over virtual host). A virtual host
//! whose routes all end up with one policy becomes one policy matching its `domains`; other
//! virtual hosts get one policy a route, matched by the route's name (or, for unnamed routes,
//! by the virtual host's domains and each route's `prefix`, in order). Policies of exact
//! domains come before wildcard ones and those before `*`, as Envoy picks virtual hosts.

use super::envoy_cors::{self, merge, translate, EnvoyCors};
use super::{error_at, policy_name, Change, Import, ImportError};
use crate::policy::HostPattern;
use serde_json::{json, Value};

const CORS_FILTER: &str = "envoy.filters.http.cors";
const CORS_FILTER_TYPE: &str = "envoy.extensions.filters.http.cors.v3.Cors";
/// The filter's per-route type, and the route's own (of the deprecated `cors` fields),
/// which Envoy took there before.
const CORS_POLICY_TYPES: &[&str] = &[
    "envoy.extensions.filters.http.cors.v3.CorsPolicy",
    "envoy.config.route.v3.CorsPolicy",
];
const FILTER_CONFIG_TYPE: &str = "envoy.config.route.v3.FilterConfig";

pub fn import(tree: &Value) -> Result<Import, ImportError> {
    check_filter(tree)?;
    let mut route_configs = Vec::new();
    find_route_configs(tree, String::new(), &mut route_configs);
    if route_configs.is_empty() {
        return Err(
            "no route configuration (virtual_hosts) in the file: routes from RDS must be \
             imported from their own file"
                .into(),
        );
    }
    let mut plan = Plan::default();
    // With several, each virtual host is named by its route configuration's place too.
    let several = route_configs.len() > 1;
    for (at, config) in route_configs {
        read_route_config(config, &at, several, &mut plan)?;
    }
    plan.finish()
}

/// A file with connection managers must have the CORS filter in one: without it Envoy
/// applies no CORS policy at all. A route configuration alone is taken as it is.
fn check_filter(tree: &Value) -> Result<(), ImportError> {
    let mut chains = Vec::new();
    find_key(tree, "http_filters", String::new(), &mut chains);
    if chains.is_empty() {
        return Ok(());
    }
    let has_cors = |filter: &Value| {
        filter["name"] == CORS_FILTER || type_is(&filter["typed_config"], CORS_FILTER_TYPE)
    };
    let found = chains
        .iter()
        .any(|(_, list)| list.as_array().is_some_and(|l| l.iter().any(has_cors)));
    if found {
        Ok(())
    } else {
        Err(error_at(
            &chains[0].0,
            format!(
                "no {CORS_FILTER} filter: Envoy applies no CORS policy here, nothing to import"
            ),
        ))
    }
}

fn type_is(any: &Value, type_name: &str) -> bool {
    any["@type"]
        .as_str()
        .is_some_and(|t| t.rsplit('/').next() == Some(type_name))
}

fn find_key<'a>(value: &'a Value, key: &str, path: String, found: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(fields) => {
            for (k, inner) in fields {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k == key {
                    found.push((here, inner));
                } else {
                    find_key(inner, key, here, found);
                }
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                find_key(inner, key, format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// Every object holding `virtual_hosts`, with its path.
fn find_route_configs<'a>(value: &'a Value, path: String, found: &mut Vec<(String, &'a Value)>) {
    let mut holders = Vec::new();
    find_key(value, "virtual_hosts", path, &mut holders);
    for (at, _) in holders {
        let parent = at.strip_suffix("virtual_hosts").unwrap_or(&at);
        let parent = parent.strip_suffix('.').unwrap_or(parent);
        if let Some(config) = lookup(value, parent) {
            found.push((parent.to_string(), config));
        }
    }
}

/// The value at a path `find_key` wrote (`a.b[2].c`).
fn lookup<'a>(mut value: &'a Value, path: &str) -> Option<&'a Value> {
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        value = value.get(key)?;
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            value = value.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(value)
}

/// The CORS policy among a `typed_per_filter_config`'s entries.
fn typed_policy(holder: &Value, at: &str) -> Result<Option<EnvoyCors>, ImportError> {
    let Some(configs) = holder
        .get("typed_per_filter_config")
        .and_then(Value::as_object)
    else {
        return Ok(None);
    };
    for (key, any) in configs {
        let here = format!("{at}.typed_per_filter_config.{key}");
        let wrapped = type_is(any, FILTER_CONFIG_TYPE);
        if wrapped && any["disabled"] == true && is_cors_filter_name(key) {
            // The filter does not run here at all.
            return Ok(Some(EnvoyCors::default()));
        }
        let inner = if wrapped { &any["config"] } else { any };
        if CORS_POLICY_TYPES.iter().any(|t| type_is(inner, t)) {
            return envoy_cors::read(inner, &here).map(Some);
        }
    }
    Ok(None)
}

/// A `typed_per_filter_config` key naming the CORS filter (its usual name; a filter named
/// otherwise is known by the policy's type only).
fn is_cors_filter_name(key: &str) -> bool {
    key == CORS_FILTER || key == "cors"
}

/// A deprecated `cors` field, when written.
fn deprecated_policy(holder: &Value, at: &str) -> Result<Option<EnvoyCors>, ImportError> {
    match holder.get("cors") {
        Some(policy) => envoy_cors::read(policy, &format!("{at}.cors")).map(Some),
        None => Ok(None),
    }
}

/// How specific a group of domains is, in the order Envoy tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Exact,
    /// A `*.suffix` wildcard: longer suffixes first.
    Wildcard(std::cmp::Reverse<usize>),
    Any,
}

/// The policies found so far: those matched by route name first, then by domains.
#[derive(Default)]
struct Plan {
    /// Each with where it comes from.
    by_route: Vec<(String, Value)>,
    by_host: Vec<(Rank, String, Value)>,
    changes: Vec<Change>,
}

impl Plan {
    fn taken(&self) -> Vec<Value> {
        let mut all: Vec<Value> = self.by_route.iter().map(|(_, p)| p.clone()).collect();
        all.extend(self.by_host.iter().map(|(_, _, p)| p.clone()));
        all
    }

    fn add(
        &mut self,
        cors: &EnvoyCors,
        at: &str,
        name: &str,
        matcher: Value,
        rank: Option<Rank>,
    ) -> Result<(), ImportError> {
        let name = policy_name(name, &self.taken());
        let matcher = (!matcher.as_object().is_some_and(|m| m.is_empty())).then_some(matcher);
        let (policy, changes) = translate(cors, at, &name, matcher)?;
        self.changes.extend(changes);
        match rank {
            None => self.by_route.push((at.to_string(), policy)),
            Some(rank) => self.by_host.push((rank, at.to_string(), policy)),
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Import, ImportError> {
        self.by_host.sort_by_key(|(rank, _, _)| *rank);
        // A disabled policy matters only before an enforcing one of broader domains.
        let enforcing = |(_, _, p): &(Rank, String, Value)| p["disabled"] != true;
        let last_enforcing = self.by_host.iter().rposition(enforcing).unwrap_or(0);
        let mut i = 0;
        self.by_host.retain(|entry| {
            i += 1;
            enforcing(entry) || i <= last_enforcing
        });
        let mut all = self.by_route;
        all.extend(self.by_host.into_iter().map(|(_, at, p)| (at, p)));
        let policies = without_repeats(all, &mut self.changes)?;
        if policies.iter().all(|p| p["disabled"] == true) {
            return Err("no route or virtual host has a CORS policy: nothing to import".into());
        }
        Ok(Import {
            policies,
            changes: self.changes,
        })
    }
}

/// The policies with a repeated `match` (the same routes or hosts in two route
/// configurations, for two listeners) left out when they say the same, and an error when
/// they do not: cors-wasm cannot tell listeners apart.
fn without_repeats(
    all: Vec<(String, Value)>,
    changes: &mut Vec<Change>,
) -> Result<Vec<Value>, ImportError> {
    let mut kept: Vec<(String, Value)> = Vec::new();
    for (at, policy) in all {
        let Some((first_at, first)) = kept.iter().find(|(_, p)| p["match"] == policy["match"])
        else {
            kept.push((at, policy));
            continue;
        };
        let unnamed = |p: &Value| {
            let mut p = p.clone();
            p["name"] = Value::Null;
            p
        };
        if unnamed(first) != unnamed(&policy) {
            return Err(error_at(
                &at,
                format!(
                    "its policy differs from that of {first_at}, and both apply to the same \
                     requests: cors-wasm cannot tell listeners apart; import them one at a time"
                ),
            ));
        }
        changes.retain(|c| c.policy != policy["name"]);
    }
    Ok(kept.into_iter().map(|(_, p)| p).collect())
}

/// One route of a virtual host: where, its name, and the policy Envoy applies to it (`None`:
/// no CORS at all, as for a route answering itself).
struct Route<'a> {
    at: String,
    value: &'a Value,
    cors: Option<EnvoyCors>,
}

fn read_route_config(
    config: &Value,
    at: &str,
    several: bool,
    plan: &mut Plan,
) -> Result<(), ImportError> {
    let config_policy = typed_policy(config, at)?;
    let hosts = config["virtual_hosts"].as_array().into_iter().flatten();
    for (j, vhost) in hosts.enumerate() {
        let vh_at = match vhost["name"].as_str() {
            Some(name) if several => format!("{at}: virtual host {name}"),
            Some(name) => format!("virtual host {name}"),
            None => format!("{at}.virtual_hosts[{j}]"),
        };
        let routes = read_routes(vhost, &vh_at, config_policy.as_ref())?;
        plan_vhost(vhost, &vh_at, &routes, plan)?;
    }
    Ok(())
}

fn read_routes<'a>(
    vhost: &'a Value,
    vh_at: &str,
    config_policy: Option<&EnvoyCors>,
) -> Result<Vec<Route<'a>>, ImportError> {
    let vh_typed = typed_policy(vhost, vh_at)?;
    let vh_deprecated = deprecated_policy(vhost, vh_at)?;
    let mut routes = Vec::new();
    for (i, route) in vhost["routes"].as_array().into_iter().flatten().enumerate() {
        let at = match route["name"].as_str() {
            Some(name) => format!("{vh_at}, route {name}"),
            None => format!("{vh_at}, routes[{i}]"),
        };
        let typed: Vec<EnvoyCors> = [
            typed_policy(route, &at)?,
            vh_typed.clone(),
            config_policy.cloned(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let deprecated: Vec<EnvoyCors> = [
            deprecated_policy(&route["route"], &format!("{at}.route"))?,
            vh_deprecated.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        // A route answering itself (direct_response, redirect) is no route entry to Envoy's
        // CORS filter, which then does nothing.
        let forwards = route.get("route").is_some();
        let cors = if !forwards {
            None
        } else if typed.is_empty() {
            merge(&deprecated)
        } else {
            merge(&typed)
        };
        routes.push(Route {
            at,
            value: route,
            cors,
        });
    }
    Ok(routes)
}

/// A policy that does nothing: for routes Envoy's filter leaves alone.
fn untouched() -> EnvoyCors {
    EnvoyCors {
        enabled: false,
        ..EnvoyCors::default()
    }
}

/// A virtual host's policies: one a group of its domains when its routes have the same (or
/// none), else one a route, by the route's name or by the domains and the route's prefix.
fn plan_vhost(
    vhost: &Value,
    vh_at: &str,
    routes: &[Route],
    plan: &mut Plan,
) -> Result<(), ImportError> {
    let name = vhost["name"].as_str().unwrap_or("vhost");
    let groups = host_groups(vhost);
    if routes.iter().all(|r| r.cors.is_none()) {
        // Kept in front of broader domains' policies only (see `Plan::finish`).
        let groups = groups.unwrap_or_default();
        return plan_by_host(&untouched(), &groups, vh_at, name, plan);
    }
    if let (Some(cors), Ok(groups)) = (uniform_policy(routes), &groups) {
        return plan_by_host(cors, groups, vh_at, name, plan);
    }
    if routes.iter().all(|r| r.value["name"].is_string()) {
        let hosts = groups.ok().filter(|g| g.len() == 1);
        let hosts = hosts.and_then(|g| g.into_iter().next()?.1);
        return plan_by_route_name(routes, hosts.as_deref(), plan);
    }
    let groups = groups.map_err(|domain| {
        error_at(
            vh_at,
            format!(
                "domain {domain:?} cannot be matched by cors-wasm (hosts are names or \
                 *.suffix, without a port): name every route so policies can match them by name"
            ),
        )
    })?;
    plan_by_prefix(routes, &groups, name, plan)
}

/// The policy every route has, when they all have the same.
fn uniform_policy<'a>(routes: &'a [Route]) -> Option<&'a EnvoyCors> {
    let first = routes.first()?.cors.as_ref()?;
    routes
        .iter()
        .all(|r| same(r.cors.as_ref(), Some(first)))
        .then_some(first)
}

/// `cors` as one policy a group of domains.
fn plan_by_host(
    cors: &EnvoyCors,
    groups: &[HostGroup],
    at: &str,
    name: &str,
    plan: &mut Plan,
) -> Result<(), ImportError> {
    for (rank, hosts) in groups {
        plan.add(cors, at, name, host_match(hosts), Some(*rank))?;
    }
    Ok(())
}

/// One policy a route, matched by the route's name (and by `hosts`, the virtual host's
/// domains when they are one group).
fn plan_by_route_name(
    routes: &[Route],
    hosts: Option<&[String]>,
    plan: &mut Plan,
) -> Result<(), ImportError> {
    for route in routes {
        let route_name = route.value["name"].as_str().unwrap_or_default();
        let mut matcher = json!({"routes": [route_name]});
        if let Some(hosts) = hosts {
            matcher["hosts"] = json!(hosts);
        }
        let cors = route.cors.clone().unwrap_or_else(untouched);
        plan.add(&cors, &route.at, route_name, matcher, None)?;
    }
    Ok(())
}

/// One policy a route and group of domains, matched by the domains and the route's prefix
/// (which an unnamed route must match by alone), in the routes' order.
fn plan_by_prefix(
    routes: &[Route],
    groups: &[HostGroup],
    name: &str,
    plan: &mut Plan,
) -> Result<(), ImportError> {
    for route in routes {
        let prefix = route_prefix(route.value).ok_or_else(|| {
            error_at(
                &route.at,
                "an unnamed route matched by other than a case-sensitive prefix: give it a \
                 name, so its policy can match it",
            )
        })?;
        let cors = route.cors.clone().unwrap_or_else(untouched);
        for (rank, hosts) in groups {
            let mut matcher = host_match(hosts);
            matcher["path_prefixes"] = json!([prefix]);
            plan.add(&cors, &route.at, name, matcher, Some(*rank))?;
        }
    }
    Ok(())
}

/// Two routes' policies are the same when they translate alike.
fn same(a: Option<&EnvoyCors>, b: Option<&EnvoyCors>) -> bool {
    let key = |c: Option<&EnvoyCors>| c.map(|c| translate(c, "", "x", None).map(|(p, _)| p).ok());
    key(a) == key(b)
}

fn host_match(hosts: &Option<Vec<String>>) -> Value {
    match hosts {
        Some(hosts) => json!({"hosts": hosts}),
        None => json!({}),
    }
}

/// Domains as specific as each other: `hosts` (`None`: every host).
type HostGroup = (Rank, Option<Vec<String>>);

/// A virtual host's `domains` as cors-wasm `hosts`, grouped by how specific they are
/// (`None`: every host); the domain that cannot be expressed, as the error.
fn host_groups(vhost: &Value) -> Result<Vec<HostGroup>, String> {
    let mut exact = Vec::new();
    let mut wildcards: Vec<String> = Vec::new();
    let mut any = false;
    for domain in vhost["domains"].as_array().into_iter().flatten() {
        let domain = domain.as_str().unwrap_or_default();
        let valid = HostPattern::parse(domain).is_ok();
        match domain {
            "*" => any = true,
            d if d.starts_with("*.") && valid => wildcards.push(d.to_ascii_lowercase()),
            d if !d.contains('*') && valid => exact.push(d.to_ascii_lowercase()),
            d => return Err(d.to_string()),
        }
    }
    let mut groups = Vec::new();
    if !exact.is_empty() {
        groups.push((Rank::Exact, Some(exact)));
    }
    wildcards.sort_by_key(|w| std::cmp::Reverse(w.len()));
    for w in wildcards {
        groups.push((Rank::Wildcard(std::cmp::Reverse(w.len())), Some(vec![w])));
    }
    if any {
        groups.push((Rank::Any, None));
    }
    if groups.is_empty() {
        return Err(String::new());
    }
    Ok(groups)
}

/// A route's `match.prefix`, when that is all it matches on, case-sensitively.
fn route_prefix(route: &Value) -> Option<&str> {
    let matcher = route["match"].as_object()?;
    let only_prefix = matcher
        .keys()
        .all(|k| k == "prefix" || (k == "case_sensitive" && matcher[k] != false));
    only_prefix
        .then(|| matcher.get("prefix")?.as_str())
        .flatten()
}
