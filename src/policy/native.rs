//! The native CORS fields of a policy, `allow_origins` through `max_age`, read into [`Rules`].

use super::error::{ConfigError, ConfigErrors};
use super::origin::{OriginPattern, OriginSet};
use super::read::Object;
use super::rules::{Rendered, Rules, Written};
use super::table::Table;
use super::token::{is_token, normalize_method, HeaderSet, MethodSet};

/// The native fields of a policy; `disabled` policies need no origins.
#[inline(never)]
pub fn read(obj: &Object, disabled: bool, errors: &mut ConfigErrors) -> Rules {
    let allow_credentials = obj.bool("allow_credentials", errors).unwrap_or(false);
    let mut written = Written::default();
    let origins = read_origins(obj, allow_credentials, disabled, &mut written, errors);
    let (methods, method_list) = read_methods(obj, allow_credentials, errors);
    let (headers, header_list) = read_headers(obj, "allow_headers", allow_credentials, errors);
    let (_, expose_list) = read_headers(obj, "expose_headers", allow_credentials, errors);
    written.max_age = obj.whole("max_age", 0..=86_400, errors).map(|(n, _)| n);
    let rendered = Rendered {
        allow_methods: (!methods.any && methods.beyond_safelisted())
            .then(|| Rendered::list(&method_list))
            .flatten(),
        allow_headers: (!headers.any)
            .then(|| Rendered::list(&header_list))
            .flatten(),
        expose_headers: Rendered::list(&expose_list),
        max_age: written.max_age.map(Rendered::max_age),
        ..Rendered::default()
    };
    Rules {
        origins,
        methods,
        headers,
        allow_credentials,
        rendered,
        written,
        warnings: Vec::new(),
    }
}

/// `allow_origins` and `allow_origin_regexes`, into one set.
#[inline(never)]
fn read_origins(
    obj: &Object,
    credentials: bool,
    disabled: bool,
    written: &mut Written,
    errors: &mut ConfigErrors,
) -> OriginSet {
    let mut set = OriginSet::default();
    let origins = obj.strings("allow_origins", errors);
    let regexes = obj
        .strings("allow_origin_regexes", errors)
        .unwrap_or_default();
    let origin_list = origins.as_deref().unwrap_or_default();
    let with_regexes = !regexes.is_empty();
    add_origins(&mut set, origin_list, credentials, with_regexes, errors);
    add_regexes(&mut set, &regexes, errors);
    written.origins = origin_list
        .iter()
        .map(|(text, _)| text.to_string())
        .collect();
    written.origin_regexes = regexes.iter().map(|(text, _)| text.to_string()).collect();
    // Judged on what was written: entries that failed to parse are reported already.
    if !disabled && origin_list.is_empty() && !with_regexes {
        require_origins(obj, origins.is_some(), errors);
    }
    set
}

/// Each entry of `allow_origins` parsed into `set`; one that does not parse, a misplaced
/// `*` and a repeated origin are errors.
#[inline(never)]
fn add_origins(
    set: &mut OriginSet,
    list: &[(&str, String)],
    credentials: bool,
    with_regexes: bool,
    errors: &mut ConfigErrors,
) {
    // Where each origin was first written, to name it in a duplicate's error.
    let mut seen: Table<String, usize> = Table::default();
    for (i, (text, path)) in list.iter().enumerate() {
        let pattern = match OriginPattern::parse(text) {
            Ok(pattern) => pattern,
            Err(message) => {
                errors.push(ConfigError::value(path.as_str(), text, message));
                continue;
            }
        };
        if pattern == OriginPattern::Any {
            check_star(
                path,
                text,
                list.len() > 1,
                credentials,
                with_regexes,
                errors,
            );
        }
        let first = *seen.entry(pattern.normalized()).or_insert(i);
        if let Some((_, first_path)) = list.get(first).filter(|_| first != i) {
            errors.push(ConfigError::value(
                path.as_str(),
                text,
                format!("the same origin as {first_path}"),
            ));
        }
        set.insert(pattern);
    }
}

/// What `*` in `allow_origins` cannot be written with: other origins, credentials, regexes.
fn check_star(
    path: &str,
    text: &str,
    with_others: bool,
    credentials: bool,
    with_regexes: bool,
    errors: &mut ConfigErrors,
) {
    if with_others {
        errors.push(ConfigError::value(
            path,
            text,
            "\"*\" must be alone in the list",
        ));
    }
    if credentials {
        errors.push(star_with_credentials(path, text));
    }
    if with_regexes {
        errors.push(ConfigError::value(
            path,
            text,
            "\"*\" cannot be used together with allow_origin_regexes: it allows every \
             origin, so they would never be tried",
        ));
    }
}

/// Each entry of `allow_origin_regexes` compiled into `set`, or reported.
#[inline(never)]
fn add_regexes(set: &mut OriginSet, regexes: &[(&str, String)], errors: &mut ConfigErrors) {
    for (text, path) in regexes {
        let result = match *text {
            "" => Err("must not be empty".to_string()),
            pattern => set.add_regex(pattern).map_err(|e| e.message),
        };
        if let Err(message) = result {
            errors.push(ConfigError::value(path.as_str(), text, message));
        }
    }
}

/// The error of a policy that allows no origin: an empty `allow_origins` (`written`, a list),
/// or none at all. One written as something else than a list is reported already.
fn require_origins(obj: &Object, written: bool, errors: &mut ConfigErrors) {
    match (written, obj.get("allow_origins")) {
        (true, Some((_, path))) => errors.push(ConfigError::new(path, "must not be empty")),
        (_, None) => errors.push(ConfigError::new(
            obj.path(),
            "allow_origins is required unless the policy is disabled or has allow_origin_regexes",
        )),
        (false, Some(_)) => {}
    }
}

#[inline(never)]
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

#[inline(never)]
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
