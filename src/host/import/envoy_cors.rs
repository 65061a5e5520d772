//! Envoy's native `CorsPolicy` (envoy.config.route.v3.CorsPolicy) in Envoy's own meaning
//! (source/extensions/filters/http/cors/cors_filter.cc), and its translation into one
//! cors-wasm policy with the changes a browser would see. Istio's `corsPolicy` is carried
//! out by this same filter, so its importer lands here too.
//!
//! What Envoy does, which the changes are listed against: a preflight (OPTIONS with a
//! non-empty `Origin` and `Access-Control-Request-Method`) from an allowed origin is answered
//! 200 whatever method and headers it asks, with the configured strings (or the request's
//! own method and headers for `*`); one from another origin goes upstream untouched, or with
//! `forward_not_matching_preflights: false` is answered 200 without
//! `Access-Control-Allow-Origin`. Other requests from an allowed origin get it (the origin,
//! never `*`), credentials and exposed headers; the rest are untouched. No `Vary` ever.

use super::origins::{Matcher, Origins};
use super::{error_at, object, Change, ImportError, Kind};
use crate::policy::{is_safelisted_method, is_token, SAFELISTED_METHODS};
use serde_json::{json, Value};

/// A `CorsPolicy`, or several merged as Envoy merges them (route over virtual host over
/// route configuration, field by field).
#[derive(Debug, Default, Clone)]
pub struct EnvoyCors {
    /// Each matcher and its `ignore_case`; `None` when not written (or empty).
    pub origins: Option<Vec<(Matcher, bool)>>,
    pub methods: Option<String>,
    pub headers: Option<String>,
    pub expose: Option<String>,
    pub max_age: Option<String>,
    pub credentials: Option<bool>,
    pub private_network: Option<bool>,
    pub forward: Option<bool>,
    /// `filter_enabled` (default on) and `shadow_enabled` (default off): Envoy takes them
    /// from the most specific policy alone.
    pub enabled: bool,
    pub shadow: bool,
}

/// A `CorsPolicy` object's fields read from a tree (snake_case or camelCase, as Envoy's
/// YAML reader takes either), its errors named under `at`.
pub fn read(policy: &Value, at: &str) -> Result<EnvoyCors, ImportError> {
    let fields = policy
        .as_object()
        .ok_or_else(|| error_at(at, "expected a CorsPolicy object"))?;
    let mut cors = EnvoyCors {
        enabled: true,
        ..EnvoyCors::default()
    };
    for (key, value) in fields {
        let here = format!("{at}.{key}");
        match snake(key).as_str() {
            "@type" => {}
            "allow_origin_string_match" => cors.origins = matchers(value, &here)?,
            "allow_methods" => cors.methods = text(value, &here)?,
            "allow_headers" => cors.headers = text(value, &here)?,
            "expose_headers" => cors.expose = text(value, &here)?,
            "max_age" => cors.max_age = text(value, &here)?,
            "allow_credentials" => cors.credentials = Some(boolean(value, &here)?),
            "allow_private_network_access" => cors.private_network = Some(boolean(value, &here)?),
            "forward_not_matching_preflights" => cors.forward = Some(boolean(value, &here)?),
            "filter_enabled" => cors.enabled = fraction(value, &here)?,
            "shadow_enabled" => cors.shadow = fraction(value, &here)?,
            _ => return Err(error_at(&here, "not a field of a CorsPolicy")),
        }
    }
    Ok(cors)
}

/// Envoy's merge: each field from the first of `policies` (most specific first) that sets
/// it; `filter_enabled` and `shadow_enabled` from the first alone.
pub fn merge(policies: &[EnvoyCors]) -> Option<EnvoyCors> {
    let first = policies.first()?;
    let pick = |f: &dyn Fn(&EnvoyCors) -> bool| policies.iter().find(|p| f(p)).cloned();
    let or_default = |p: Option<EnvoyCors>| p.unwrap_or_default();
    Some(EnvoyCors {
        origins: or_default(pick(&|p| p.origins.is_some())).origins,
        methods: or_default(pick(&|p| p.methods.is_some())).methods,
        headers: or_default(pick(&|p| p.headers.is_some())).headers,
        expose: or_default(pick(&|p| p.expose.is_some())).expose,
        max_age: or_default(pick(&|p| p.max_age.is_some())).max_age,
        credentials: or_default(pick(&|p| p.credentials.is_some())).credentials,
        private_network: or_default(pick(&|p| p.private_network.is_some())).private_network,
        forward: or_default(pick(&|p| p.forward.is_some())).forward,
        enabled: first.enabled,
        shadow: first.shadow,
    })
}

fn snake(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A string field; an empty one is as if not written, as Envoy reads it.
fn text(value: &Value, at: &str) -> Result<Option<String>, ImportError> {
    match value {
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(error_at(at, "expected a string")),
    }
}

fn boolean(value: &Value, at: &str) -> Result<bool, ImportError> {
    value
        .as_bool()
        .ok_or_else(|| error_at(at, "expected true or false"))
}

/// `allow_origin_string_match`: a list of `StringMatcher`s.
fn matchers(value: &Value, at: &str) -> Result<Option<Vec<(Matcher, bool)>>, ImportError> {
    let items = value
        .as_array()
        .ok_or_else(|| error_at(at, "expected a list of string matchers"))?;
    let read: Vec<(Matcher, bool)> = items
        .iter()
        .enumerate()
        .map(|(i, m)| string_matcher(m, &format!("{at}[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok((!read.is_empty()).then_some(read))
}

/// One `StringMatcher` (`exact`, `prefix`, `suffix`, `contains`, `safe_regex`, and
/// `ignore_case`).
pub fn string_matcher(value: &Value, at: &str) -> Result<(Matcher, bool), ImportError> {
    let fields = value
        .as_object()
        .ok_or_else(|| error_at(at, "expected a string matcher"))?;
    let (mut matcher, mut ignore_case) = (None, false);
    for (key, inner) in fields {
        let here = format!("{at}.{key}");
        let string = || inner.as_str().map(str::to_string);
        let found = match snake(key).as_str() {
            "ignore_case" => {
                ignore_case = boolean(inner, &here)?;
                continue;
            }
            "exact" => string().map(Matcher::Exact),
            "prefix" => string().map(Matcher::Prefix),
            "suffix" => string().map(Matcher::Suffix),
            "contains" => string().map(Matcher::Contains),
            "safe_regex" => inner["regex"].as_str().map(|r| Matcher::Regex(r.into())),
            _ => return Err(error_at(&here, "a string matcher cors-wasm cannot import")),
        };
        let found = found.ok_or_else(|| error_at(&here, "expected a string"))?;
        if matcher.replace(found).is_some() {
            return Err(error_at(at, "more than one kind of match"));
        }
    }
    let matcher =
        matcher.ok_or_else(|| error_at(at, "no exact, prefix, suffix, contains or safe_regex"))?;
    Ok((matcher, ignore_case))
}

/// A `RuntimeFractionalPercent`: on at 100 %, off at 0 %; a share of requests between cannot
/// be expressed.
fn fraction(value: &Value, at: &str) -> Result<bool, ImportError> {
    let default = &value["default_value"];
    let default = if default.is_null() {
        &value["defaultValue"]
    } else {
        default
    };
    let numerator = default["numerator"].as_u64().unwrap_or(0);
    let denominator = match default["denominator"].as_str().unwrap_or("HUNDRED") {
        "HUNDRED" => 100,
        "TEN_THOUSAND" => 10_000,
        "MILLION" => 1_000_000,
        other => return Err(error_at(at, format!("unknown denominator {other}"))),
    };
    match numerator {
        0 => Ok(false),
        n if n >= denominator => Ok(true),
        n => Err(error_at(
            at,
            format!(
                "{n}/{denominator} of requests: cors-wasm applies a policy to all of a route's requests or to none"
            ),
        )),
    }
}

/// The cors-wasm policy that does what `cors` does, named `name`, matching `matcher`; and
/// what a browser sees differently, each change named by `at`.
pub fn translate(
    cors: &EnvoyCors,
    at: &str,
    name: &str,
    matcher: Option<Value>,
) -> Result<(Value, Vec<Change>), ImportError> {
    let mut changes = Changes {
        at,
        policy: name,
        list: Vec::new(),
    };
    let head = vec![("name", Some(json!(name))), ("match", matcher)];
    if !cors.enabled && !cors.shadow {
        return Ok((disabled(head), Vec::new()));
    }
    let origins = allowed_origins(cors, at)?;
    if origins.is_empty() {
        list_no_origin(cors, &mut changes);
        return Ok((disabled(head), changes.list));
    }
    let fields = policy_fields(cors, &origins, at, &mut changes)?;
    if cors.enabled {
        list_enforcement(&mut changes, &fields);
    } else {
        changes.list.clear();
    }
    Ok((fields.policy(head), changes.list))
}

/// A policy of `head` (its name and match) that does nothing.
pub(super) fn disabled(mut head: Vec<(&str, Option<Value>)>) -> Value {
    head.push(("disabled", Some(json!(true))));
    object(head)
}

/// `allow_origin_string_match` as cors-wasm origins and regexes.
fn allowed_origins(cors: &EnvoyCors, at: &str) -> Result<Origins, ImportError> {
    let mut origins = Origins::default();
    for (i, (m, ignore_case)) in cors.origins.iter().flatten().enumerate() {
        origins
            .add(m, *ignore_case)
            .map_err(|e| error_at(&format!("{at}: allow_origin_string_match[{i}]"), e))?;
    }
    Ok(origins)
}

/// No origin is allowed: Envoy changes nothing but answering preflights itself when told not
/// to forward them.
fn list_no_origin(cors: &EnvoyCors, changes: &mut Changes) {
    if !cors.forward.unwrap_or(true) && cors.enabled {
        changes.add(
            Kind::DeniedPreflight,
            "no origin is allowed, and preflights were answered 200 without \
             Access-Control-Allow-Origin; now they reach the upstream",
        );
    }
}

/// The fields of the policy allowing `origins`: what cors-wasm refuses is an error, what it
/// imports otherwise than Envoy did is a change.
fn policy_fields(
    cors: &EnvoyCors,
    origins: &Origins,
    at: &str,
    changes: &mut Changes,
) -> Result<Fields, ImportError> {
    let credentials = cors.credentials.unwrap_or(false);
    let (allow_origins, regexes) = origin_fields(origins, credentials, at, changes)?;
    let methods = token_list(cors.methods.as_deref(), "allow_methods", at, false)?;
    let headers = token_list(cors.headers.as_deref(), "allow_headers", at, true)?;
    let expose = token_list(cors.expose.as_deref(), "expose_headers", at, true)?;
    let methods = star_with_credentials(methods, credentials, "allow_methods", changes);
    let headers = star_with_credentials(headers, credentials, "allow_headers", changes);
    if credentials && expose.iter().any(|h| h == "*") {
        return Err(error_at(
            at,
            "expose_headers \"*\" with allow_credentials: browsers read it as a header named \"*\"; list the headers",
        ));
    }
    Ok(Fields {
        allow_origins,
        regexes,
        methods,
        headers: with_authorization_for_star(headers),
        expose,
        credentials,
        private_network: cors.private_network.unwrap_or(false),
        max_age: max_age(cors.max_age.as_deref(), at, changes)?,
        preflight_status: 200,
        forward: cors.forward.unwrap_or(true),
        report_only: !cors.enabled,
    })
}

/// An imported policy's fields after its name and match.
pub(super) struct Fields {
    pub allow_origins: Vec<String>,
    pub regexes: Vec<String>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub expose: Vec<String>,
    pub credentials: bool,
    pub private_network: bool,
    pub max_age: Option<u64>,
    pub preflight_status: u64,
    pub forward: bool,
    pub report_only: bool,
}

impl Fields {
    /// The policy: `head`, then each field that does not say the policy language's default.
    pub fn policy(self, mut head: Vec<(&str, Option<Value>)>) -> Value {
        let list = |items: Vec<String>| (!items.is_empty()).then(|| json!(items));
        let yes = |on: bool| on.then_some(json!(true));
        let status = self.preflight_status;
        head.extend([
            ("allow_origins", list(self.allow_origins)),
            ("allow_origin_regexes", list(self.regexes)),
            ("allow_methods", list(self.methods)),
            ("allow_headers", list(self.headers)),
            ("expose_headers", list(self.expose)),
            ("allow_credentials", yes(self.credentials)),
            ("allow_private_network", yes(self.private_network)),
            ("max_age", self.max_age.map(|n| json!(n))),
            ("preflight_status", (status != 204).then_some(json!(status))),
            ("forward_unmatched_preflights", yes(self.forward)),
            ("report_only", yes(self.report_only)),
        ]);
        object(head)
    }
}

/// The changes being listed for one policy.
pub(super) struct Changes<'a> {
    pub at: &'a str,
    pub policy: &'a str,
    pub list: Vec<Change>,
}

impl Changes<'_> {
    pub fn add(&mut self, kind: Kind, text: impl Into<String>) {
        self.list.push(Change {
            at: self.at.to_string(),
            policy: self.policy.to_string(),
            kind,
            text: text.into(),
        });
    }
}

/// `allow_origins` and `allow_origin_regexes`; a matcher of `*` allows every origin, which
/// Envoy echoes and cors-wasm answers `*` to (and refuses with credentials).
fn origin_fields(
    origins: &Origins,
    credentials: bool,
    at: &str,
    changes: &mut Changes,
) -> Result<(Vec<String>, Vec<String>), ImportError> {
    if !origins.matches_star {
        return Ok((origins.exact.clone(), origins.regexes.clone()));
    }
    if credentials {
        return Err(error_at(
            at,
            "every origin is allowed (a matcher matches \"*\") with allow_credentials: any site \
             could read responses with the user's cookies, which cors-wasm refuses; list the origins",
        ));
    }
    changes.add(
        Kind::AnyOrigin,
        "every origin is allowed: responses echoed the request's Origin in \
         Access-Control-Allow-Origin; now they say *, also to requests without Origin",
    );
    Ok((vec!["*".into()], Vec::new()))
}

/// A comma-separated list of tokens (or `*`), normalized as cors-wasm reads it.
pub(super) fn token_list(
    value: Option<&str>,
    field: &str,
    at: &str,
    lower: bool,
) -> Result<Vec<String>, ImportError> {
    let mut out: Vec<String> = Vec::new();
    for item in value.unwrap_or_default().split(',').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        if item != "*" && !is_token(item.as_bytes()) {
            return Err(error_at(
                at,
                format!("{field}: {item:?} is not a method or header name (a token)"),
            ));
        }
        let item = if lower {
            item.to_ascii_lowercase()
        } else {
            normal_method(item)
        };
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(out)
}

/// The methods the Fetch standard upper-cases, upper-cased; others as written.
fn normal_method(method: &str) -> String {
    let upper = method.to_ascii_uppercase();
    match upper.as_str() {
        "DELETE" | "GET" | "HEAD" | "OPTIONS" | "POST" | "PUT" => upper,
        _ => method.to_string(),
    }
}

/// `*` with credentials: Envoy echoes whatever is asked, which cors-wasm refuses; imported
/// as nothing beyond the safelisted, and listed.
fn star_with_credentials(
    list: Vec<String>,
    credentials: bool,
    field: &str,
    changes: &mut Changes,
) -> Vec<String> {
    if !credentials || !list.iter().any(|i| i == "*") {
        return list;
    }
    let kind = if field == "allow_methods" {
        Kind::PreflightMethod
    } else {
        Kind::PreflightHeaders
    };
    changes.add(
        kind,
        format!(
            "{field} \"*\" with allow_credentials echoed whatever a preflight asked; cors-wasm \
             refuses \"*\" with credentials, so only what is listed besides it is imported: \
             add the names your pages use"
        ),
    );
    list.into_iter().filter(|i| i != "*").collect()
}

/// Envoy's `*` echoes `authorization` too; cors-wasm's `*` covers it only when named.
pub(super) fn with_authorization_for_star(mut headers: Vec<String>) -> Vec<String> {
    if headers.iter().any(|h| h == "*") && !headers.iter().any(|h| h == "authorization") {
        headers.push("authorization".into());
    }
    headers
}

/// The changes of enforcing what Envoy only echoed: methods, headers, private network, the
/// origin of a preflight; and those of the responses.
fn list_enforcement(changes: &mut Changes, fields: &Fields) {
    let now = if fields.forward {
        "now they go to the upstream (forward_unmatched_preflights)"
    } else {
        "now 403"
    };
    if !fields.methods.iter().any(|m| m == "*") {
        changes.add(
            Kind::PreflightMethod,
            format!(
                "preflights asking {} were answered 200; {now}, as it is not in allow_methods",
                refused_methods(&fields.methods)
            ),
        );
    }
    if !fields.headers.iter().any(|h| h == "*") {
        changes.add(
            Kind::PreflightHeaders,
            format!(
                "preflights asking {} were answered 200; {now}, as it is not in allow_headers",
                refused_headers(&fields.headers)
            ),
        );
    }
    if !fields.private_network {
        changes.add(
            Kind::PrivateNetwork,
            format!(
                "preflights asking Access-Control-Request-Private-Network were answered 200 \
                 without allowing it; {now}"
            ),
        );
    }
    if !fields.forward {
        changes.add(
            Kind::DeniedPreflight,
            "preflights from disallowed origins were answered 200 without \
             Access-Control-Allow-Origin; now 403",
        );
    }
    list_responses(changes, !fields.expose.is_empty());
}

/// The two changes every policy brings (Vary, the upstream's headers), and that of exposed
/// headers on preflights.
fn list_responses(changes: &mut Changes, exposes: bool) {
    changes.add(
        Kind::Vary,
        "responses now carry Vary: Origin (preflight answers also \
         Access-Control-Request-Method, -Headers); Envoy sent no Vary",
    );
    changes.add(
        Kind::UpstreamHeaders,
        "an upstream's Access-Control-* headers reached disallowed origins; now removed from \
         every response",
    );
    if exposes {
        changes.add(
            Kind::ExposeOnPreflight,
            "allowed preflights carried Access-Control-Expose-Headers; now only other \
             responses do (browsers read it there only)",
        );
    }
}

/// The methods a preflight may ask that `methods` does not allow, the common ones by name
/// (`DELETE, PATCH or another method`), and what is allowed.
pub(super) fn refused_methods(methods: &[String]) -> String {
    let allows = |m: &str| methods.iter().any(|a| a.eq_ignore_ascii_case(m));
    let named: Vec<&str> = ["PUT", "DELETE", "PATCH"]
        .into_iter()
        .filter(|m| !allows(m))
        .collect();
    let mut allowed: Vec<&str> = SAFELISTED_METHODS.to_vec();
    allowed.extend(
        methods
            .iter()
            .map(String::as_str)
            .filter(|m| !is_safelisted_method(m.as_bytes())),
    );
    let allowed = allowed.join(", ");
    match named.as_slice() {
        [] => format!("any method but {allowed}"),
        named => format!("{} or any method but {allowed}", named.join(", ")),
    }
}

/// The headers a preflight may ask that `headers` does not allow, `authorization` by name
/// when it is one of them.
pub(super) fn refused_headers(headers: &[String]) -> String {
    let listed = if headers.is_empty() {
        "the CORS-safelisted ones".to_string()
    } else {
        headers.join(", ")
    };
    let authorization = if headers.iter().any(|h| h == "authorization") {
        ""
    } else {
        "authorization or "
    };
    format!("{authorization}any header but {listed}")
}

/// `max_age` in seconds, capped at cors-wasm's 86400 (the most any browser keeps).
pub(super) fn max_age(
    value: Option<&str>,
    at: &str,
    changes: &mut Changes,
) -> Result<Option<u64>, ImportError> {
    let Some(text) = value else { return Ok(None) };
    let seconds: u64 = text
        .trim()
        .parse()
        .map_err(|_| error_at(at, format!("max_age {text:?} is not a number of seconds")))?;
    if seconds > 86_400 {
        changes.add(
            Kind::MaxAge,
            format!(
                "Access-Control-Max-Age was {seconds}; now 86400, the most cors-wasm sends (and \
                 Firefox keeps; Chromium keeps 7200)"
            ),
        );
        return Ok(Some(86_400));
    }
    Ok(Some(seconds))
}
