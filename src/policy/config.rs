//! The plugin configuration: decoded from either encoding, validated whole.

use super::entry::Policy;
use super::error::{ConfigError, ConfigErrors, ConfigWarning};
use super::matcher::{Coverage, RequestFacts};
use super::read::{wrong_type, Object};
use super::table::Table;
use crate::encoding::{self, DecodeError, Value};
use std::iter::Peekable;
use std::sync::Arc;

pub const MAX_POLICIES: usize = 1000;

/// The largest configuration accepted, in bytes: room for 1,000 policies or 10,000 origins.
pub const MAX_SIZE: usize = 4 * 1024 * 1024;

const MINIMAL: &str = r#"{"policies": [{"allow_origins": ["https://app.example.com"]}]}"#;

#[derive(Debug)]
pub struct Config {
    pub policies: Vec<Arc<Policy>>,
    /// Which request facts any policy matches on, so the others are never read.
    pub needs_route: bool,
    pub needs_authority: bool,
    pub needs_path: bool,
    /// `record_decisions`: each matched request's decision goes to Envoy's filter state,
    /// for its access log (a host call per request, so only when asked).
    pub record_decisions: bool,
    /// Every policy's warnings, in order.
    pub warnings: Vec<ConfigWarning>,
    /// The indices of the policies naming each route, and of those naming none: a request's
    /// candidates, so a route picks among 1,000 route-matched policies in one lookup.
    by_route: Table<Vec<u8>, Vec<usize>>,
    unrouted: Vec<usize>,
}

impl Config {
    /// Parses the plugin configuration bytes: JSON text, or a serialized `google.protobuf.Struct`.
    pub fn parse(bytes: &[u8]) -> Result<Config, ConfigErrors> {
        Config::from_tree(&decode(bytes)?)
    }

    pub fn from_tree(tree: &Value) -> Result<Config, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        if tree.as_object().is_none() {
            return Err(wrong_type("configuration", "an object", tree).into());
        }
        let Some(root) = Object::read(tree, "", &["policies", "record_decisions"], &mut errors)
        else {
            return Err(errors);
        };
        let policies = read_policies(&root, &mut errors);
        let record_decisions = root.bool("record_decisions", &mut errors).unwrap_or(false);
        if !errors.is_empty() {
            return Err(errors);
        }
        let any = |f: fn(&Policy) -> bool| policies.iter().any(|p| f(p));
        let (by_route, unrouted) = index_routes(&policies);
        Ok(Config {
            by_route,
            unrouted,
            needs_route: any(|p| p.matcher.routes.is_some()),
            needs_authority: any(|p| p.matcher.hosts.is_some()),
            needs_path: any(|p| p.matcher.path_prefixes.is_some()),
            record_decisions,
            warnings: policies
                .iter()
                .flat_map(|p| p.rules.warnings.clone())
                .chain(unreachable(&policies))
                .collect(),
            policies,
        })
    }

    /// The first policy whose `match` fits, with its index.
    pub fn select(&self, facts: &RequestFacts) -> Option<(usize, &Arc<Policy>)> {
        let routed = facts
            .route
            .as_deref()
            .and_then(|r| self.by_route.get(r))
            .map_or(&[][..], Vec::as_slice);
        let candidates = Ascending(routed.iter().peekable(), self.unrouted.iter().peekable());
        candidates
            .filter_map(|i| Some((i, self.policies.get(i)?)))
            .find(|(_, p)| p.matcher.fits(facts))
    }
}

/// A warning for each policy that can never apply: an earlier one takes every request its
/// `match` fits (it has no `match`, or a broader one).
#[inline(never)]
fn unreachable(policies: &[Arc<Policy>]) -> Vec<ConfigWarning> {
    let coverage: Vec<Coverage> = policies.iter().map(|p| Coverage::of(&p.matcher)).collect();
    let mut warnings = Vec::new();
    for (later, policy) in policies.iter().enumerate() {
        let earlier = coverage.get(..later).unwrap_or_default();
        let Some(first) = earlier.iter().position(|c| c.covers(&policy.matcher)) else {
            continue;
        };
        let Some(shadow) = policies.get(first) else {
            continue;
        };
        let why = if shadow.matcher.is_everything() {
            format!(
                "policies[{first}] ({}) has no match, so it takes every request first",
                shadow.name
            )
        } else {
            format!(
                "every request it matches is taken first by policies[{first}] ({})",
                shadow.name
            )
        };
        warnings.push(ConfigWarning::new(
            format!("policies[{later}]"),
            format!("never applies: {why}"),
        ));
    }
    warnings
}

#[inline(never)]
fn index_routes(policies: &[Arc<Policy>]) -> (Table<Vec<u8>, Vec<usize>>, Vec<usize>) {
    let mut by_route: Table<Vec<u8>, Vec<usize>> = Table::default();
    let mut unrouted = Vec::new();
    for (i, policy) in policies.iter().enumerate() {
        let Some(routes) = &policy.matcher.routes else {
            unrouted.push(i);
            continue;
        };
        for route in routes {
            let indices = by_route.entry(route.clone()).or_default();
            if indices.last() != Some(&i) {
                indices.push(i);
            }
        }
    }
    (by_route, unrouted)
}

/// Two ascending lists of indices walked as one, in ascending order.
struct Ascending<'a, A: Iterator<Item = &'a usize>, B: Iterator<Item = &'a usize>>(
    Peekable<A>,
    Peekable<B>,
);

impl<'a, A: Iterator<Item = &'a usize>, B: Iterator<Item = &'a usize>> Iterator
    for Ascending<'a, A, B>
{
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let next = match (self.0.peek(), self.1.peek()) {
            (Some(a), Some(b)) if a < b => self.0.next(),
            (_, Some(_)) => self.1.next(),
            (Some(_), None) => self.0.next(),
            (None, None) => None,
        };
        next.copied()
    }
}

#[inline(never)]
fn decode(bytes: &[u8]) -> Result<Value, ConfigErrors> {
    if bytes.len() > MAX_SIZE {
        let message = format!("{} bytes; the limit is {MAX_SIZE} (4 MiB)", bytes.len());
        return Err(root_error(message));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(root_error(format!(
            "the configuration is empty; a minimal one is {MINIMAL}"
        )));
    }
    encoding::decode(bytes).map_err(|error| match error {
        DecodeError::Malformed(reason) => root_error(reason),
        DecodeError::RepeatedKeys(paths) => ConfigErrors(
            paths
                .into_iter()
                .map(|path| ConfigError::new(path, REPEATED_KEY))
                .collect(),
        ),
    })
}

/// The error at the path of a key written more than once in one object.
pub const REPEATED_KEY: &str = "the key is written more than once in this object; write it once";

fn root_error(message: String) -> ConfigErrors {
    ConfigError::new("configuration", message).into()
}

#[inline(never)]
fn read_policies(root: &Object, errors: &mut ConfigErrors) -> Vec<Arc<Policy>> {
    let Some(items) = policy_list(root, errors) else {
        return Vec::new();
    };
    let mut policies: Vec<Arc<Policy>> = Vec::with_capacity(items.len());
    // Each name and the index of its policy. A table of the type `native` keeps origins in:
    // each type of table is another copy of the table's code in the module.
    let mut names: Table<String, usize> = Table::default();
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("policies[{i}]");
        let Some(policy) = Policy::read(item, &item_path, i, errors) else {
            continue;
        };
        match names.get(&policy.name) {
            Some(&first) => errors.push(repeated_name(items, first, i, &policy.name)),
            None => {
                names.insert(policy.name.clone(), i);
            }
        }
        policies.push(Arc::new(policy));
    }
    policies
}

/// `policies`: a list of 1 to `MAX_POLICIES` entries, or its error.
fn policy_list<'a>(root: &Object<'a>, errors: &mut ConfigErrors) -> Option<&'a [Value]> {
    let Some((value, path)) = root.get("policies") else {
        errors.push(ConfigError::new(
            "policies",
            format!("is required; a minimal configuration is {MINIMAL}"),
        ));
        return None;
    };
    let Value::Array(items) = value else {
        errors.push(wrong_type(&path, "a list", value));
        return None;
    };
    if items.is_empty() || items.len() > MAX_POLICIES {
        errors.push(ConfigError::new(
            path,
            format!(
                "must have 1 to {MAX_POLICIES} entries, found {}",
                items.len()
            ),
        ));
        return None;
    }
    Some(items)
}

/// The error of policies[i] named `name` as policies[first] is. It goes where the user wrote
/// the name: a default one has no path.
fn repeated_name(items: &[Value], first: usize, i: usize, name: &str) -> ConfigError {
    // Whether policies[index] writes its name, or has the default one.
    let written = |index: usize| {
        let name = items.get(index).and_then(|item| item.get("name"));
        name.is_some_and(Value::is_string)
    };
    let name_path = |index: usize| format!("policies[{index}].name");
    match (written(first), written(i)) {
        (true, true) => ConfigError::value(
            name_path(i),
            name,
            format!("already the name of policies[{first}]"),
        ),
        (false, _) => ConfigError::value(
            name_path(i),
            name,
            format!("already the default name of policies[{first}], which has no name"),
        ),
        (true, false) => ConfigError::value(
            name_path(first),
            name,
            format!("the default name of policies[{i}], which has no name"),
        ),
    }
}
