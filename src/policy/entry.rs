//! One policy: its fields read and validated; what it allows comes from `native` or
//! [`gateway`].
//!
//! [`gateway`]: super::gateway

use super::error::{ConfigError, ConfigErrors};
use super::matcher::{HostPattern, RequestMatch};
use super::read::Object;
use super::rules::{Rendered, Rules};
use super::{gateway, native};

/// The fields of a policy.
pub const FIELDS: &[&str] = &[
    "name",
    "match",
    "disabled",
    "allow_origins",
    "allow_origin_regexes",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "allow_private_network",
    "max_age",
    "preflight_status",
    "forward_unmatched_preflights",
    "report_only",
    "timing_allow_origin",
    "cors",
];

/// The fields of a policy's `match`.
pub const MATCH_FIELDS: &[&str] = &["routes", "hosts", "path_prefixes"];

#[derive(Debug)]
pub struct Policy {
    pub name: String,
    pub matcher: RequestMatch,
    pub disabled: bool,
    pub report_only: bool,
    pub forward_unmatched_preflights: bool,
    pub preflight_status: u32,
    pub allow_private_network: bool,
    /// `Timing-Allow-Origin` beside `Access-Control-Allow-Origin` on allowed actual responses.
    pub timing_allow_origin: bool,
    pub rules: Rules,
}

impl Policy {
    /// Reads and validates `policies[index]`; every problem found goes to `errors`.
    pub fn read(
        value: &serde_json::Value,
        path: &str,
        index: usize,
        errors: &mut ConfigErrors,
    ) -> Option<Policy> {
        let before = errors.0.len();
        let obj = Object::read(value, path, FIELDS, errors)?;
        let disabled = obj.bool("disabled", errors).unwrap_or(false);
        let mut rules = if obj.has("cors") {
            gateway::read(&obj, errors)
        } else {
            native::read(&obj, disabled, errors)
        };
        let allow_private_network = obj.bool("allow_private_network", errors).unwrap_or(false);
        rules.rendered.preflight_vary = Rendered::preflight_vary(allow_private_network);
        let policy = Policy {
            name: read_name(&obj, index, errors),
            matcher: read_match(&obj, errors),
            disabled,
            report_only: obj.bool("report_only", errors).unwrap_or(false),
            forward_unmatched_preflights: obj
                .bool("forward_unmatched_preflights", errors)
                .unwrap_or(false),
            preflight_status: read_preflight_status(&obj, errors),
            allow_private_network,
            timing_allow_origin: obj.bool("timing_allow_origin", errors).unwrap_or(false),
            rules,
        };
        (errors.0.len() == before).then_some(policy)
    }

    /// `Vary: Origin` belongs on every response unless any origin gets the same answer.
    pub fn varies_by_origin(&self) -> bool {
        !self.rules.origins.any
    }
}

#[inline(never)]
fn read_name(obj: &Object, index: usize, errors: &mut ConfigErrors) -> String {
    let Some((name, path)) = obj.str("name", errors) else {
        return format!("policy-{index}");
    };
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'));
    if !valid {
        errors.push(ConfigError::value(
            path,
            name,
            "a name is 1 to 64 of a-z, 0-9, _ and -",
        ));
    }
    name.to_string()
}

#[inline(never)]
fn read_match(obj: &Object, errors: &mut ConfigErrors) -> RequestMatch {
    let Some((value, path)) = obj.get("match") else {
        return RequestMatch::default();
    };
    let Some(m) = Object::read(value, &path, MATCH_FIELDS, errors) else {
        return RequestMatch::default();
    };
    RequestMatch {
        routes: read_list(&m, "routes", errors, |route| match route {
            "" => Err("must not be empty".into()),
            route => Ok(route.as_bytes().to_vec()),
        }),
        hosts: read_list(&m, "hosts", errors, HostPattern::parse),
        path_prefixes: read_list(&m, "path_prefixes", errors, |prefix| {
            if prefix.starts_with('/') {
                Ok(prefix.as_bytes().to_vec())
            } else {
                Err("a path prefix starts with \"/\"".into())
            }
        }),
    }
}

/// A non-empty list of strings, each turned into a `T` by `parse` or reported with its path.
fn read_list<T>(
    obj: &Object,
    key: &str,
    errors: &mut ConfigErrors,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<Vec<T>> {
    let items = obj.strings(key, errors)?;
    if items.is_empty() {
        errors.push(ConfigError::new(obj.get(key)?.1, "must not be empty"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (text, path) in items {
        match parse(text) {
            Ok(item) => out.push(item),
            Err(message) => errors.push(ConfigError::value(path, text, message)),
        }
    }
    Some(out)
}

#[inline(never)]
fn read_preflight_status(obj: &Object, errors: &mut ConfigErrors) -> u32 {
    match obj.whole("preflight_status", 0..=u64::MAX, errors) {
        None => 204,
        Some((status @ (200 | 204), _)) => status as u32,
        Some((status, path)) => {
            errors.push(ConfigError::new(
                path,
                format!("{status}: must be 204 or 200"),
            ));
            204
        }
    }
}
