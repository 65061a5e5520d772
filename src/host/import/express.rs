//! `import express`: the options of Express's `cors` middleware (npm `cors`, 2.8), as a JSON
//! file, into one policy. A regular expression is written as a string `"/.../flags"`.
//!
//! What `cors` does, which the changes are listed against (its lib/index.js): every
//! `OPTIONS` request is a preflight, answered `optionsSuccessStatus` (204) with
//! `Access-Control-Allow-Methods`, `-Allow-Headers` (the request's own when `allowedHeaders`
//! is not given), `-Max-Age`, `-Expose-Headers` and `-Allow-Credentials`, whatever the
//! origin, method or headers; other requests get `-Allow-Credentials` and `-Expose-Headers`
//! whatever the origin. `Access-Control-Allow-Origin` is `*` (the default), a fixed string
//! sent to everyone, or the request's origin when it is allowed (`true`, a regex, a list).

use super::envoy_cors::{disabled, max_age, refused_headers, refused_methods, token_list};
use super::envoy_cors::{with_authorization_for_star, Changes, Fields};
use super::origins::{Matcher, Origins};
use super::{error_at, Import, ImportError, Kind};
use serde_json::{json, Map, Value};

const NAME: &str = "express";
const KEYS: &[&str] = &[
    "origin",
    "methods",
    "allowedHeaders",
    "headers",
    "exposedHeaders",
    "credentials",
    "maxAge",
    "preflightContinue",
    "optionsSuccessStatus",
];
const DEFAULT_METHODS: &str = "GET,HEAD,PUT,PATCH,POST,DELETE";

pub fn import(text: &str) -> Result<Import, ImportError> {
    let tree = crate::encoding::json::parse(text.as_bytes())
        .map_err(|e| format!("not a JSON object of cors() options: {e:?}"))?;
    let options = tree
        .as_object()
        .ok_or("expected a JSON object of cors() options")?;
    if let Some(key) = options.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(error_at(
            key,
            format!("not a cors() option (expected one of {})", KEYS.join(", ")),
        ));
    }
    let mut changes = Changes {
        at: "options",
        policy: NAME,
        list: Vec::new(),
    };
    let policy = translate(options, &mut changes)?;
    Ok(Import {
        policies: vec![policy],
        changes: changes.list,
    })
}

/// What the origin option allows.
enum Allowed {
    /// `false`: `cors` does nothing.
    Nothing,
    /// `*`, or `true` (every origin echoed).
    Every { echoed: bool },
    /// A fixed string, sent to every request whatever its origin.
    Fixed(Origins),
    /// Regexes and strings: the request's origin when one fits.
    Some(Origins),
}

fn translate(options: &Map<String, Value>, changes: &mut Changes) -> Result<Value, ImportError> {
    let credentials = flag(options, "credentials")?;
    let head = vec![("name", Some(json!(NAME)))];
    let origins = match origin(options.get("origin"))? {
        Allowed::Nothing => return Ok(disabled(head)),
        Allowed::Every { echoed } => every_origin(echoed, credentials, changes)?,
        Allowed::Fixed(origins) => {
            changes.at = "origin";
            changes.add(
                Kind::DisallowedOriginHeaders,
                "the fixed Access-Control-Allow-Origin was sent on every response, to \
                 every origin; now only to that origin",
            );
            (origins.exact, origins.regexes, credentials)
        }
        Allowed::Some(origins) => (origins.exact, origins.regexes, credentials),
    };
    let fields = read_fields(options, origins, changes)?;
    list_changes(changes, &fields);
    Ok(fields.policy(head))
}

/// The policy's fields: `origins` as read from `origin` and `credentials`, then the other
/// options; what cors-wasm refuses is an error, what it imports otherwise is a change.
fn read_fields(
    options: &Map<String, Value>,
    (allow_origins, regexes, credentials): OriginFields,
    changes: &mut Changes,
) -> Result<Fields, ImportError> {
    let methods = list_option(options.get("methods"), "methods")?;
    let methods = token_list(
        Some(&methods.unwrap_or(DEFAULT_METHODS.into())),
        "methods",
        "methods",
        false,
    )?;
    let headers = allowed_headers(options, credentials, changes)?;
    let expose = list_option(options.get("exposedHeaders"), "exposedHeaders")?;
    let expose = token_list(expose.as_deref(), "exposedHeaders", "exposedHeaders", true)?;
    if credentials && expose.iter().any(|h| h == "*") {
        return Err(error_at(
            "exposedHeaders",
            "\"*\" with credentials: browsers read it as a header named \"*\"; list the headers",
        ));
    }
    changes.at = "maxAge";
    let max_age_text = max_age_text(options.get("maxAge"))?;
    Ok(Fields {
        allow_origins,
        regexes,
        methods,
        headers,
        expose,
        credentials,
        private_network: false,
        max_age: max_age(max_age_text.as_deref(), "maxAge", changes)?,
        preflight_status: preflight_status(options.get("optionsSuccessStatus"))?,
        forward: flag(options, "preflightContinue")?,
        report_only: false,
    })
}

/// `allow_origins`, `allow_origin_regexes`, and whether credentials are allowed with them.
type OriginFields = (Vec<String>, Vec<String>, bool);

/// `*` (or `true`, echoing) for every origin: cors-wasm answers `*`, which it refuses with
/// credentials; `cors` sent `*` with credentials too, which browsers refuse to credentialed
/// requests, so with `*` credentials are dropped (and said), and with `true` it is an error.
fn every_origin(
    echoed: bool,
    credentials: bool,
    changes: &mut Changes,
) -> Result<OriginFields, ImportError> {
    if echoed && credentials {
        return Err(error_at(
            "origin",
            "true with credentials lets every site read responses with the user's cookies, \
             which cors-wasm refuses; list the origins",
        ));
    }
    changes.at = "origin";
    if echoed {
        changes.add(
            Kind::AnyOrigin,
            "true echoed the request's Origin; now Access-Control-Allow-Origin is *, on \
             every response",
        );
    }
    if credentials {
        changes.at = "credentials";
        changes.add(
            Kind::AnyOrigin,
            "Access-Control-Allow-Credentials: true is no longer sent; with * \
             browsers refused credentialed requests anyway",
        );
    }
    Ok((vec!["*".into()], Vec::new(), false))
}

fn origin(value: Option<&Value>) -> Result<Allowed, ImportError> {
    let Some(value) = value else {
        return Ok(Allowed::Every { echoed: false });
    };
    let mut origins = Origins::default();
    match value {
        Value::Bool(false) | Value::Null => Ok(Allowed::Nothing),
        Value::Bool(true) => Ok(Allowed::Every { echoed: true }),
        Value::String(s) if s.is_empty() => Ok(Allowed::Nothing),
        Value::String(s) if s == "*" => Ok(Allowed::Every { echoed: false }),
        Value::String(s) if regex_text(s).is_some() => {
            add_entry(&mut origins, s, "origin")?;
            Ok(Allowed::Some(origins))
        }
        Value::String(s) => {
            add_entry(&mut origins, s, "origin")?;
            Ok(Allowed::Fixed(origins))
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("origin[{i}]");
                let text = item
                    .as_str()
                    .ok_or_else(|| error_at(&at, "expected a string or a \"/regex/\""))?;
                add_entry(&mut origins, text, &at)?;
            }
            Ok(Allowed::Some(origins))
        }
        _ => Err(error_at(
            "origin",
            "expected a string, \"/regex/\", a list, true or false",
        )),
    }
}

/// One string of `origin`: a `"/regex/flags"`, or an origin compared exactly. A function
/// written out cannot be imported.
fn add_entry(origins: &mut Origins, text: &str, at: &str) -> Result<(), ImportError> {
    if text.starts_with("function") || text.contains("=>") {
        return Err(error_at(
            at,
            "a function cannot be imported: list the origins it allows",
        ));
    }
    let (matcher, ignore_case) = match regex_text(text) {
        Some((body, flags)) => (js_regex(body, flags, at)?, false),
        None => (Matcher::Exact(text.to_string()), false),
    };
    origins
        .add(&matcher, ignore_case)
        .map_err(|e| error_at(at, e))
}

/// `/body/flags`, split.
fn regex_text(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('/')?;
    let end = rest.rfind('/')?;
    let (body, flags) = (&rest[..end], &rest[end + 1..]);
    flags
        .chars()
        .all(|c| c.is_ascii_lowercase())
        .then_some((body, flags))
}

/// A JavaScript regex as `RegExp.test` uses it (a match anywhere in the origin), as a whole
/// match; `g` and `y` make `test` depend on the one before, which no policy can say.
fn js_regex(body: &str, flags: &str, at: &str) -> Result<Matcher, ImportError> {
    if let Some(flag) = flags.chars().find(|c| !matches!(c, 'i' | 'm' | 's' | 'u')) {
        return Err(error_at(
            at,
            format!("the regex flag {flag} cannot be imported (g and y make test() remember the last match)"),
        ));
    }
    if body.is_empty() {
        return Err(error_at(at, "an empty regex"));
    }
    let mut inline: String = flags.chars().filter(|c| matches!(c, 'i' | 's')).collect();
    if !inline.is_empty() {
        inline = format!("(?{inline})");
    }
    Ok(Matcher::Regex(format!("{inline}.*(?:{body}).*")))
}

/// A string or a list of strings, as `cors` joins it.
fn list_option(value: Option<&Value>, at: &str) -> Result<Option<String>, ImportError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(|l| Some(l.join(",")))
            .ok_or_else(|| error_at(at, "expected a string or a list of strings")),
        Some(_) => Err(error_at(at, "expected a string or a list of strings")),
    }
}

/// `allowedHeaders` (or its other name `headers`): not given (or an empty string), `cors`
/// echoes the requested headers, which is `*` and `authorization` (refused with credentials:
/// then only the safelisted ones, and said).
fn allowed_headers(
    options: &Map<String, Value>,
    credentials: bool,
    changes: &mut Changes,
) -> Result<Vec<String>, ImportError> {
    let (key, value) = match (options.get("allowedHeaders"), options.get("headers")) {
        (Some(v), _) if v != "" && !v.is_null() => ("allowedHeaders", Some(v)),
        (_, Some(v)) => ("headers", Some(v)),
        _ => ("allowedHeaders", None),
    };
    let written =
        list_option(value, key)?.filter(|s| !s.is_empty() || value.is_some_and(Value::is_array));
    match written {
        Some(list) => token_list(Some(&list), key, key, true),
        None if credentials => {
            changes.at = "allowedHeaders";
            changes.add(
                Kind::PreflightHeaders,
                "allowedHeaders is not given, so cors echoed whatever headers a preflight asked; \
                 cors-wasm refuses \"*\" with credentials, so now only the CORS-safelisted \
                 headers are allowed: list the headers your pages send",
            );
            Ok(Vec::new())
        }
        None => Ok(with_authorization_for_star(vec!["*".into()])),
    }
}

fn max_age_text(value: Option<&Value>) -> Result<Option<String>, ImportError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(error_at("maxAge", "expected a number of seconds")),
    }
}

fn preflight_status(value: Option<&Value>) -> Result<u64, ImportError> {
    match value.map(Value::as_u64) {
        None => Ok(204),
        Some(Some(status @ (200 | 204))) => Ok(status),
        _ => Err(error_at(
            "optionsSuccessStatus",
            "cors-wasm answers preflights 204 or 200 only",
        )),
    }
}

fn flag(options: &Map<String, Value>, key: &str) -> Result<bool, ImportError> {
    match options.get(key) {
        None => Ok(false),
        Some(value) => value
            .as_bool()
            .ok_or_else(|| error_at(key, "expected true or false")),
    }
}

/// What every imported `cors` policy changes: preflights are checked, other `OPTIONS`
/// requests reach the app, headers go to allowed origins only, `Vary` is complete.
fn list_changes(changes: &mut Changes, fields: &Fields) {
    let (status, proceed) = (fields.preflight_status, fields.forward);
    if proceed {
        changes.at = "preflightContinue";
        changes.add(
            Kind::PreflightAnswer,
            format!("preflightContinue: allowed preflights went on to your app; now the filter answers them {status}"),
        );
    }
    list_refused_preflights(changes, fields);
    list_plain_options(changes, status, proceed);
    list_responses(changes, !fields.expose.is_empty());
}

/// The preflights `cors` answered (or let go on) whatever they asked, which are now refused.
fn list_refused_preflights(changes: &mut Changes, fields: &Fields) {
    let (now, answered) = if fields.forward {
        (
            "now they go on to your app",
            "went on to your app (preflightContinue)".to_string(),
        )
    } else {
        (
            "now 403",
            format!("were answered {}", fields.preflight_status),
        )
    };
    changes.at = "methods";
    if !fields.methods.iter().any(|m| m == "*") {
        changes.add(
            Kind::PreflightMethod,
            format!(
                "preflights asking {} {answered}; {now}",
                refused_methods(&fields.methods)
            ),
        );
    }
    changes.at = "allowedHeaders";
    if !fields.headers.iter().any(|h| h == "*") {
        changes.add(
            Kind::PreflightHeaders,
            format!(
                "preflights asking {} {answered}; {now}",
                refused_headers(&fields.headers)
            ),
        );
    }
    changes.at = "options";
    changes.add(
        Kind::PrivateNetwork,
        format!("preflights asking Access-Control-Request-Private-Network {answered} without allowing it; {now}"),
    );
    changes.at = "origin";
    changes.add(
        Kind::DeniedPreflight,
        format!("preflights from disallowed origins {answered} (without Access-Control-Allow-Origin); {now}"),
    );
}

/// `OPTIONS` requests that are no preflights, and the preflight headers sent to every origin.
fn list_plain_options(changes: &mut Changes, status: u64, proceed: bool) {
    let plain = if proceed {
        "every OPTIONS request got cors's preflight headers, also without Origin or \
         Access-Control-Request-Method; now only preflights do"
            .to_string()
    } else {
        format!(
            "every OPTIONS request was answered {status} by cors, also without Origin or \
             Access-Control-Request-Method; now only preflights are, the others reach your app"
        )
    };
    changes.at = "options";
    changes.add(Kind::PlainOptions, plain);
    changes.add(
        Kind::DisallowedOriginHeaders,
        "Access-Control-Allow-Methods, -Allow-Headers, -Max-Age, -Allow-Credentials and \
         -Expose-Headers were sent whatever the origin; now only to allowed origins",
    );
}

/// Exposed headers on preflights, `Vary`, and the app's own `Access-Control-*` headers.
fn list_responses(changes: &mut Changes, exposes: bool) {
    changes.at = "exposedHeaders";
    if exposes {
        changes.add(
            Kind::ExposeOnPreflight,
            "preflight answers carried Access-Control-Expose-Headers; now only other responses \
             do (browsers read it there only)",
        );
    }
    changes.at = "options";
    changes.add(
        Kind::Vary,
        "responses now carry Vary: Origin (preflight answers also \
         Access-Control-Request-Method, -Headers)",
    );
    changes.add(
        Kind::UpstreamHeaders,
        "Access-Control-* headers your app sets itself are now removed from every response",
    );
}
