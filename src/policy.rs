//! One validated policy, with its response header values rendered once.

use crate::config::ConfigWarning;
use crate::error::{ConfigError, ConfigErrors};
use crate::gateway;
use crate::matcher::{HostPattern, RequestMatch};
use crate::origin::{OriginPattern, OriginSet, Table};
use crate::token::{comma_separated, is_token, normalize_method, HeaderSet, MethodSet};
use crate::tree::Object;
use std::rc::Rc;

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
    pub rules: Rules,
}

/// What a policy allows, read from the native fields or from the Gateway API's `cors`.
#[derive(Debug, Default)]
pub struct Rules {
    pub origins: OriginSet,
    pub methods: MethodSet,
    pub headers: HeaderSet,
    pub allow_credentials: bool,
    /// Every value but `preflight_vary`, which belongs to the policy.
    pub rendered: Rendered,
    /// What the configuration allows but is nearly always a mistake; [`Config`] collects them.
    ///
    /// [`Config`]: crate::config::Config
    pub warnings: Vec<ConfigWarning>,
}

/// Header values fixed by the policy, rendered at configure time.
#[derive(Debug, Default)]
pub struct Rendered {
    /// `None` when nothing beyond the safelisted methods is configured, or for `*`.
    pub allow_methods: Option<Rc<str>>,
    /// `None` when no header is configured, or for `*` (the request's are echoed).
    pub allow_headers: Option<Rc<str>>,
    pub expose_headers: Option<Rc<str>>,
    /// `Access-Control-Expose-Headers` on allowed preflights too (the Gateway API's way).
    pub preflight_expose_headers: Option<Rc<str>>,
    pub max_age: Option<Rc<str>>,
    pub preflight_vary: &'static str,
}

const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const PREFLIGHT_VARY_PNA: &str = "Origin, Access-Control-Request-Method, \
     Access-Control-Request-Headers, Access-Control-Request-Private-Network";

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
            read_native(&obj, disabled, errors)
        };
        let allow_private_network = obj.bool("allow_private_network", errors).unwrap_or(false);
        rules.rendered.preflight_vary = if allow_private_network {
            PREFLIGHT_VARY_PNA
        } else {
            PREFLIGHT_VARY
        };
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
            rules,
        };
        (errors.0.len() == before).then_some(policy)
    }

    /// `Vary: Origin` belongs on every response unless any origin gets the same answer.
    pub fn varies_by_origin(&self) -> bool {
        !self.rules.origins.any
    }
}

/// The native CORS fields: `allow_origins` through `max_age`.
fn read_native(obj: &Object, disabled: bool, errors: &mut ConfigErrors) -> Rules {
    let allow_credentials = obj.bool("allow_credentials", errors).unwrap_or(false);
    let origins = read_origins(obj, allow_credentials, disabled, errors);
    let (methods, method_list) = read_methods(obj, allow_credentials, errors);
    let (headers, header_list) = read_headers(obj, "allow_headers", allow_credentials, errors);
    let (_, expose_list) = read_headers(obj, "expose_headers", allow_credentials, errors);
    let rendered = Rendered {
        allow_methods: (!methods.any && methods.beyond_safelisted())
            .then(|| comma_separated(&method_list).into()),
        allow_headers: (!headers.any && !header_list.is_empty())
            .then(|| comma_separated(&header_list).into()),
        expose_headers: (!expose_list.is_empty()).then(|| comma_separated(&expose_list).into()),
        max_age: obj
            .whole("max_age", 0..=86_400, errors)
            .map(|(n, _)| n.to_string().into()),
        ..Rendered::default()
    };
    Rules {
        origins,
        methods,
        headers,
        allow_credentials,
        rendered,
        warnings: Vec::new(),
    }
}

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

fn read_origins(
    obj: &Object,
    credentials: bool,
    disabled: bool,
    errors: &mut ConfigErrors,
) -> OriginSet {
    let mut set = OriginSet::default();
    let origins = obj.strings("allow_origins", errors);
    let regexes = obj
        .strings("allow_origin_regexes", errors)
        .unwrap_or_default();
    let origin_list = origins.as_deref().unwrap_or_default();
    // Where each origin was first written, to name it in a duplicate's error.
    let mut seen: Table<String, usize> = Table::default();
    for (i, (text, path)) in origin_list.iter().enumerate() {
        let pattern = match OriginPattern::parse(text) {
            Ok(pattern) => pattern,
            Err(message) => {
                errors.push(ConfigError::value(path.as_str(), text, message));
                continue;
            }
        };
        if pattern == OriginPattern::Any && origin_list.len() > 1 {
            errors.push(ConfigError::value(
                path.as_str(),
                text,
                "\"*\" must be alone in the list",
            ));
        }
        if pattern == OriginPattern::Any && credentials {
            errors.push(star_with_credentials(path, text));
        }
        let first = *seen.entry(pattern.normalized()).or_insert(i);
        if let Some((_, first_path)) = origin_list.get(first).filter(|_| first != i) {
            errors.push(ConfigError::value(
                path.as_str(),
                text,
                format!("the same origin as {first_path}"),
            ));
        }
        set.insert(pattern);
    }
    for (text, path) in &regexes {
        let result = match *text {
            "" => Err("must not be empty".to_string()),
            pattern => set.add_regex(pattern).map_err(|e| e.message),
        };
        if let Err(message) = result {
            errors.push(ConfigError::value(path.as_str(), text, message));
        }
    }
    // Judged on what was written: entries that failed to parse are reported already.
    if !disabled && origin_list.is_empty() && regexes.is_empty() {
        match (&origins, obj.get("allow_origins")) {
            (Some(_), Some((_, path))) => errors.push(ConfigError::new(path, "must not be empty")),
            (_, None) => errors.push(ConfigError::new(
                obj.path(),
                "allow_origins is required unless the policy is disabled or has allow_origin_regexes",
            )),
            (None, Some(_)) => {}
        }
    }
    set
}

fn read_methods(
    obj: &Object,
    credentials: bool,
    errors: &mut ConfigErrors,
) -> (MethodSet, Vec<String>) {
    let mut set = MethodSet::default();
    let names = read_tokens(obj, "allow_methods", credentials, errors, |m| {
        // A token, so ASCII.
        String::from_utf8(normalize_method(m.as_bytes()).to_vec()).unwrap_or_default()
    });
    names.iter().for_each(|m| set.insert(m));
    (set, names)
}

fn read_headers(
    obj: &Object,
    key: &str,
    credentials: bool,
    errors: &mut ConfigErrors,
) -> (HeaderSet, Vec<String>) {
    let mut set = HeaderSet::default();
    let names = read_tokens(obj, key, credentials, errors, str::to_ascii_lowercase);
    names.iter().for_each(|h| set.insert(h));
    (set, names.into_iter().collect())
}

/// A list of tokens or `*`, normalized by `normalize`, without duplicates.
fn read_tokens(
    obj: &Object,
    key: &str,
    credentials: bool,
    errors: &mut ConfigErrors,
    normalize: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut names: Vec<(String, String)> = Vec::new();
    for (text, path) in obj.strings(key, errors).unwrap_or_default() {
        if text == "*" && credentials {
            errors.push(star_with_credentials(&path, text));
        }
        let problem = if text.is_empty() {
            Some("must not be empty".to_string())
        } else if text != "*" && !is_token(text.as_bytes()) {
            Some("not a valid token (RFC 9110)".to_string())
        } else {
            let normalized = normalize(text);
            let first = names.iter().find(|(name, _)| *name == normalized);
            first.map(|(_, first)| format!("the same as {first}"))
        };
        match problem {
            Some(message) => errors.push(ConfigError::value(path, text, message)),
            None => names.push((normalize(text), path)),
        }
    }
    names.into_iter().map(|(name, _)| name).collect()
}

fn star_with_credentials(path: &str, text: &str) -> ConfigError {
    ConfigError::value(
        path,
        text,
        "\"*\" cannot be used with allow_credentials: true",
    )
}

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
