//! The Gateway API dialect: a policy's `cors` field holds an `HTTPCORSFilter` of a Kubernetes
//! HTTPRoute (`gateway.networking.k8s.io/v1`), in that API's own camelCase names. It is
//! validated against that API's schema and read into the same [`Rules`] as the native fields,
//! with the standard's meaning where the two differ:
//! - origins: `http`/`https` only; `*` as the leftmost label matches any number of labels
//!   (`https://*.com` too); `https://*` is any https host; `*` with `allowCredentials: true`
//!   echoes the request's origin (only a well-formed one; never `null`);
//! - methods: one of the nine the schema lists, case-sensitive; the list is rendered as written;
//! - `exposeHeaders` is sent on allowed preflights too; `maxAge` defaults to 5, minimum 1.
//!
//! What the standard allows but is nearly always a mistake loads with a warning.

use super::error::{ConfigError, ConfigErrors, ConfigWarning};
use super::origin::{browser_form, split_scheme, HostRule, OriginPattern, OriginSet, Port};
use super::read::Object;
use super::rules::{Rendered, Rules, Written};
use super::token::{is_token, HeaderSet, MethodSet};

/// The fields of `cors`: an `HTTPCORSFilter`'s.
pub const FIELDS: &[&str] = &[
    "allowOrigins",
    "allowMethods",
    "allowHeaders",
    "exposeHeaders",
    "allowCredentials",
    "maxAge",
];

/// The native fields `cors` replaces, each with its name inside `cors` (none for regexes).
const REPLACED: &[(&str, Option<&str>)] = &[
    ("allow_origins", Some("allowOrigins")),
    ("allow_origin_regexes", None),
    ("allow_methods", Some("allowMethods")),
    ("allow_headers", Some("allowHeaders")),
    ("expose_headers", Some("exposeHeaders")),
    ("allow_credentials", Some("allowCredentials")),
    ("max_age", Some("maxAge")),
];

/// The schema's `HTTPMethodWithWildcard` enum, but for `*`.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

const MAX_ORIGINS: usize = 64;
const MAX_METHODS: usize = 9;
const MAX_HEADERS: usize = 64;
const MAX_ORIGIN_LENGTH: usize = 253;
const MAX_HEADER_LENGTH: usize = 256;
/// `maxAge` is an int32 with minimum 1 and default 5.
const MAX_AGE: std::ops::RangeInclusive<u64> = 1..=2_147_483_647;
const DEFAULT_MAX_AGE: u64 = 5;

/// Any request origin. A regex is tried only on a well-formed origin, so only such an
/// origin (never `null`) is ever echoed.
const ANY_ORIGIN_REGEX: &str = ".+";
/// Any host of a well-formed origin: a name, or an IPv6 literal.
const ANY_HOST_REGEX: &str = r"(?:[^:\[\]]+|\[[^\]]+\])";

/// Reads the `cors` field of a policy that has one; every problem found goes to `errors`.
pub fn read(policy: &Object, errors: &mut ConfigErrors) -> Rules {
    refuse_native_fields(policy, errors);
    let Some((value, path)) = policy.get("cors") else {
        return Rules::default();
    };
    let Some(cors) = Object::read(value, &path, FIELDS, errors) else {
        return Rules::default();
    };
    let credentials = cors.bool("allowCredentials", errors).unwrap_or(false);
    let mut warnings = Vec::new();
    let (origins, written_origins) = read_origins(&cors, credentials, errors, &mut warnings);
    let (methods, method_list) = read_methods(&cors, errors);
    let (headers, header_list) = read_allow_headers(&cors, errors);
    let expose = read_expose_headers(&cors, credentials, errors);
    let written = Written {
        origins: written_origins,
        max_age: cors.whole("maxAge", MAX_AGE, errors).map(|(n, _)| n),
        ..Written::default()
    };
    let max_age = written.max_age.unwrap_or(DEFAULT_MAX_AGE);
    let rendered = Rendered {
        allow_methods: (!methods.any)
            .then(|| Rendered::list(&method_list))
            .flatten(),
        allow_headers: (!headers.any)
            .then(|| Rendered::list(&header_list))
            .flatten(),
        expose_headers: Rendered::list(&expose),
        expose_on_preflights: true,
        max_age: Some(Rendered::max_age(max_age)),
        ..Rendered::default()
    };
    Rules {
        origins,
        methods,
        headers,
        allow_credentials: credentials,
        rendered,
        written,
        warnings,
    }
}

#[inline(never)]
fn refuse_native_fields(policy: &Object, errors: &mut ConfigErrors) {
    for (native, in_cors) in REPLACED {
        let Some((_, path)) = policy.get(native) else {
            continue;
        };
        let message = match in_cors {
            Some(name) => format!("cannot be used together with cors; write it as cors.{name}"),
            None => "cannot be used together with cors, which has no regexes".to_string(),
        };
        errors.push(ConfigError::new(path, message));
    }
}

/// A list field as the schema's `listType=set` has it: at most `max` strings, none twice,
/// and (when `star_alone`) `*` only by itself. Each string comes with its path.
fn read_set<'a>(
    cors: &Object<'a>,
    key: &str,
    max: usize,
    star_alone: bool,
    errors: &mut ConfigErrors,
) -> Vec<(&'a str, String)> {
    let Some(items) = cors.strings(key, errors) else {
        return Vec::new();
    };
    let count = items.len();
    if let Some((_, path)) = cors.get(key).filter(|_| count > max) {
        errors.push(ConfigError::new(
            path,
            format!("must have at most {max} entries, found {count}"),
        ));
    }
    let mut set: Vec<(&str, String)> = Vec::with_capacity(count);
    for (text, path) in items {
        let problem = if star_alone && text == "*" && count > 1 {
            Some("\"*\" must be alone in the list".to_string())
        } else {
            let first = set.iter().find(|(seen, _)| *seen == text);
            first.map(|(_, first)| format!("the same as {first}"))
        };
        match problem {
            Some(message) => errors.push(ConfigError::value(path, text, message)),
            None => set.push((text, path)),
        }
    }
    set
}

#[inline(never)]
fn read_origins(
    cors: &Object,
    credentials: bool,
    errors: &mut ConfigErrors,
    warnings: &mut Vec<ConfigWarning>,
) -> (OriginSet, Vec<String>) {
    let mut set = OriginSet::default();
    let listed = read_set(cors, "allowOrigins", MAX_ORIGINS, true, errors);
    let written = listed.iter().map(|(text, _)| text.to_string()).collect();
    for (text, path) in listed {
        let origin = match GatewayOrigin::parse(text) {
            Ok(origin) => origin,
            Err(message) => {
                errors.push(ConfigError::value(path, text, message));
                continue;
            }
        };
        if let Some(warning) = origin.warning(credentials) {
            warnings.push(ConfigWarning::value(&path, text, warning));
        }
        if let Err(e) = origin.insert_into(&mut set, credentials) {
            errors.push(ConfigError::value(path, text, e.message));
        }
    }
    (set, written)
}

/// One entry of `allowOrigins`, per the schema's `CORSOrigin` pattern.
#[derive(Debug, PartialEq, Eq)]
enum GatewayOrigin {
    /// `*`: every origin.
    Any,
    /// `scheme://*[:port]`: every host; `None` is the scheme's default port.
    AnyHost {
        scheme: &'static str,
        port: Option<u16>,
    },
    /// An exact origin, or `*.` and the labels it matches any number of labels before.
    Pattern(OriginPattern),
}

impl GatewayOrigin {
    #[inline(never)]
    fn parse(text: &str) -> Result<GatewayOrigin, String> {
        if text == "*" {
            return Ok(GatewayOrigin::Any);
        }
        if text.len() > MAX_ORIGIN_LENGTH {
            return Err(format!("longer than {MAX_ORIGIN_LENGTH} characters"));
        }
        let (scheme, rest) = split_scheme(text).ok_or("expected \"*\" or http(s)://host[:port]")?;
        let (scheme, default_port) = match scheme {
            "http" => ("http", 80),
            "https" => ("https", 443),
            _ => return Err("the scheme must be http or https".into()),
        };
        if rest.contains(['/', '?', '#', '@']) {
            return Err("an origin has no path, query, fragment or userinfo".into());
        }
        let (host, port) = match rest.split_once(':') {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (rest, None),
        };
        let port = port.filter(|&p| p != default_port);
        if host == "*" {
            return Ok(GatewayOrigin::AnyHost { scheme, port });
        }
        let (name, subdomains) = match host.strip_prefix("*.") {
            Some(suffix) => (suffix, true),
            None => (host, false),
        };
        if !is_host_name(name) {
            return Err("the host must be labels of letters, digits and \"-\", \
                 with \"*\" only as the whole host or the whole leftmost label"
                .into());
        }
        // What the schema allows but no browser sends: labels over 63 bytes, an IPv4
        // address not written as a browser writes it.
        let name = name.to_ascii_lowercase();
        browser_form(&name, subdomains)
            .map_err(|e| e.message(scheme, &port.map_or(String::new(), |p| format!(":{p}"))))?;
        Ok(GatewayOrigin::Pattern(pattern(
            scheme, name, subdomains, port,
        )))
    }

    /// Why an origin the standard accepts is nearly always a mistake, if it is.
    fn warning(&self, credentials: bool) -> Option<String> {
        match self {
            GatewayOrigin::Any if credentials => Some(
                "with allowCredentials: true, every website may read responses to \
                 requests made with the user's credentials (its origin is echoed)"
                    .to_string(),
            ),
            GatewayOrigin::AnyHost { scheme, port } => {
                let on_port = port.map_or(String::new(), |p| format!(" on port {p}"));
                Some(format!("allows every {scheme} origin{on_port}"))
            }
            GatewayOrigin::Pattern(OriginPattern::Wildcard(rule)) if !rule.host.contains('.') => {
                Some(format!(
                    "allows every site under the top-level domain \"{}\"",
                    rule.host
                ))
            }
            _ => None,
        }
    }

    fn insert_into(self, set: &mut OriginSet, credentials: bool) -> Result<(), ConfigError> {
        match self {
            GatewayOrigin::Any if credentials => set.add_regex(ANY_ORIGIN_REGEX),
            GatewayOrigin::Any => {
                set.insert(OriginPattern::Any);
                Ok(())
            }
            GatewayOrigin::AnyHost { scheme, port } => {
                let port = port.map_or(String::new(), |p| format!(":{p}"));
                set.add_regex(&format!("{scheme}://{ANY_HOST_REGEX}{port}"))
            }
            GatewayOrigin::Pattern(pattern) => {
                set.insert(pattern);
                Ok(())
            }
        }
    }
}

fn pattern(scheme: &str, host: String, subdomains: bool, port: Option<u16>) -> OriginPattern {
    if !subdomains {
        let port = port.map_or(String::new(), |p| format!(":{p}"));
        return OriginPattern::Exact(format!("{scheme}://{host}{port}"));
    }
    OriginPattern::Wildcard(HostRule {
        scheme: scheme.to_string(),
        host,
        subdomains,
        port: port.map_or(Port::Default, Port::Number),
    })
}

/// One to five digits (the schema's pattern), from 1 to 65535 (its description).
fn parse_port(text: &str) -> Result<u16, String> {
    let digits = (1..=5).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    let port = text.parse::<u16>().ok().filter(|&p| digits && p != 0);
    port.ok_or_else(|| "the port must be a number from 1 to 65535".into())
}

/// The schema's host: dot-separated labels of ASCII letters, digits and `-`.
fn is_host_name(host: &str) -> bool {
    host.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// `allowMethods`: the set that preflights are checked against, and the methods as written.
#[inline(never)]
fn read_methods<'a>(cors: &Object<'a>, errors: &mut ConfigErrors) -> (MethodSet, Vec<&'a str>) {
    let mut set = MethodSet::default();
    let mut list = Vec::new();
    for (text, path) in read_set(cors, "allowMethods", MAX_METHODS, true, errors) {
        if text == "*" || METHODS.contains(&text) {
            set.insert(text);
            list.push(text);
        } else {
            errors.push(ConfigError::value(
                path,
                text,
                "not one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH \
                 and \"*\" (methods are case-sensitive)",
            ));
        }
    }
    (set, list)
}

/// `allowHeaders`: the set that preflights are checked against, and the names as written.
#[inline(never)]
fn read_allow_headers<'a>(
    cors: &Object<'a>,
    errors: &mut ConfigErrors,
) -> (HeaderSet, Vec<&'a str>) {
    let names = read_header_names(cors, "allowHeaders", true, errors);
    let mut set = HeaderSet::default();
    names.iter().for_each(|(name, _)| set.insert(name));
    (set, names.into_iter().map(|(name, _)| name).collect())
}

#[inline(never)]
fn read_expose_headers<'a>(
    cors: &Object<'a>,
    credentials: bool,
    errors: &mut ConfigErrors,
) -> Vec<&'a str> {
    let names = read_header_names(cors, "exposeHeaders", false, errors);
    if let Some((star, path)) = names.iter().find(|(name, _)| credentials && *name == "*") {
        errors.push(ConfigError::value(
            path,
            star,
            "cannot be used with allowCredentials: true (browsers then read it as \
             a header named \"*\"); list the headers by name",
        ));
    }
    names.into_iter().map(|(name, _)| name).collect()
}

/// Header names as written, with their paths; one that differs from an earlier one only in
/// case is dropped.
fn read_header_names<'a>(
    cors: &Object<'a>,
    key: &str,
    star_alone: bool,
    errors: &mut ConfigErrors,
) -> Vec<(&'a str, String)> {
    let mut names: Vec<(&str, String)> = Vec::new();
    for (text, path) in read_set(cors, key, MAX_HEADERS, star_alone, errors) {
        let problem = if text.is_empty() {
            Some("must not be empty".to_string())
        } else if text.len() > MAX_HEADER_LENGTH {
            Some(format!("longer than {MAX_HEADER_LENGTH} characters"))
        } else if !is_token(text.as_bytes()) {
            Some("not a valid header name (RFC 9110 token)".to_string())
        } else {
            None
        };
        match problem {
            Some(message) => errors.push(ConfigError::value(path, text, message)),
            None if names.iter().any(|(n, _)| n.eq_ignore_ascii_case(text)) => {}
            None => names.push((text, path)),
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use crate::cors::{evaluate, Action, HeaderEdit, HeaderPairs, HeaderValue, LocalResponse};
    use crate::policy::Config;
    use serde_json::{json, Value};

    fn dialect(cors: Value) -> Config {
        Config::from_tree(&json!({"policies": [{"cors": cors}]})).unwrap()
    }

    fn error_lines(policy: Value) -> Vec<String> {
        Config::from_tree(&json!({"policies": [policy]}))
            .unwrap_err()
            .lines()
    }

    fn warning_lines(config: &Config) -> Vec<String> {
        config.warnings.iter().map(ToString::to_string).collect()
    }

    fn preflight(config: &Config, origin: &'static str, method: &'static str) -> LocalResponse {
        preflight_with(config, origin, method, None)
    }

    fn preflight_with(
        config: &Config,
        origin: &'static str,
        method: &'static str,
        headers: Option<&'static str>,
    ) -> LocalResponse {
        let mut request = vec![
            (":method", "OPTIONS"),
            ("origin", origin),
            ("access-control-request-method", method),
        ];
        request.extend(headers.map(|h| ("access-control-request-headers", h)));
        match evaluate(config, &HeaderPairs::new(&request)).action {
            Action::Respond(response) => response,
            other => panic!("not answered locally: {other:?}"),
        }
    }

    fn header<'r>(response: &'r LocalResponse, name: &str) -> Option<&'r str> {
        let found = response.headers.iter().find(|(n, _)| *n == name);
        found.map(|(_, v)| &**v)
    }

    /// The headers set on the response to an actual request with this origin.
    fn actual(config: &Config, origin: &'static str) -> Vec<HeaderEdit> {
        let request = HeaderPairs::new(&[(":method", "GET"), ("origin", origin)]);
        match evaluate(config, &request).action {
            Action::Decorate(plan) => plan.edits([]).into_iter().map(HeaderEdit::as_set).collect(),
            other => panic!("not decorated: {other:?}"),
        }
    }

    fn set(name: &'static str, value: &str) -> HeaderEdit {
        HeaderEdit::Set(name, value.to_string())
    }

    /// The first HTTPRoute of the conformance suite's httproute-cors.yaml.
    fn cors_1() -> Config {
        dialect(json!({
            "allowOrigins": ["https://www.foo.com", "https://*.bar.com"],
            "allowMethods": ["GET", "OPTIONS"],
            "allowHeaders": ["x-header-1", "x-header-2"],
            "exposeHeaders": ["x-header-3", "x-header-4"],
            "allowCredentials": true,
            "maxAge": 3600,
        }))
    }

    #[test]
    fn an_allowed_preflight_lists_methods_as_written_and_exposes_headers() {
        let response = preflight_with(
            &cors_1(),
            "https://xpto.www.bar.com",
            "GET",
            Some("x-header-1"),
        );
        assert_eq!(response.status, 204);
        assert_eq!(
            response.headers,
            [
                ("access-control-allow-origin", "https://xpto.www.bar.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, OPTIONS"),
                ("access-control-allow-headers", "x-header-1, x-header-2"),
                ("access-control-expose-headers", "x-header-3, x-header-4"),
                ("access-control-max-age", "3600"),
                (
                    "vary",
                    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
                ),
            ]
            .map(|(n, v)| (n, HeaderValue::from(v)))
        );
    }

    #[test]
    fn origins_follow_the_gateway_pattern() {
        let config = cors_1();
        for denied in [
            "https://bar.com",
            "https://foobar.com",
            "http://www.foo.com",
            "https://www.foo.com:8443",
            "null",
        ] {
            assert_eq!(preflight(&config, denied, "GET").status, 403, "{denied}");
        }
        let config = config_of(json!([
            "http://*",
            "https://*.com",
            "https://a.example:443"
        ]));
        for allowed in [
            "http://anything.example",
            "http://[::1]",
            "https://a.com",
            "https://a.b.com",
            "https://a.example",
        ] {
            assert_eq!(preflight(&config, allowed, "GET").status, 204, "{allowed}");
        }
        for denied in [
            "http://anything.example:8080",
            "https://anything.example",
            "https://com",
            "https://a.example:8443",
        ] {
            assert_eq!(preflight(&config, denied, "GET").status, 403, "{denied}");
        }
    }

    fn config_of(origins: Value) -> Config {
        dialect(json!({"allowOrigins": origins}))
    }

    #[test]
    fn star_with_credentials_echoes_the_origin_method_and_headers() {
        let config = dialect(json!({
            "allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"],
            "allowCredentials": true,
        }));
        let response = preflight_with(&config, "https://other.foo.com", "PURGE", Some("X-A, x-b"));
        assert_eq!(response.status, 204);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some("https://other.foo.com")
        );
        assert_eq!(
            header(&response, "access-control-allow-methods"),
            Some("PURGE")
        );
        assert_eq!(
            header(&response, "access-control-allow-headers"),
            Some("x-a, x-b")
        );
        assert_eq!(
            header(&response, "access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(header(&response, "access-control-max-age"), Some("5"));
        assert_eq!(
            actual(&config, "https://other.foo.com:12345"),
            [
                set("access-control-allow-origin", "https://other.foo.com:12345"),
                set("access-control-allow-credentials", "true"),
                set("vary", "Origin"),
            ]
        );
        // Only a well-formed origin is echoed; `null` is never allowed with credentials.
        for denied in ["null", "https://a.com/x", "https://a.com\r\nx: y", ""] {
            assert_eq!(preflight(&config, denied, "GET").status, 403, "{denied:?}");
            assert_eq!(
                actual(&config, denied),
                [set("vary", "Origin")],
                "{denied:?}"
            );
        }
        // `*` in allowHeaders never covers authorization.
        let response = preflight_with(&config, "https://a.com", "GET", Some("authorization"));
        assert_eq!(response.status, 403);
    }

    #[test]
    fn star_without_credentials_answers_star() {
        let config = dialect(json!({"allowOrigins": ["*"], "allowMethods": ["PUT"]}));
        let response = preflight(&config, "https://foobar.com:12345", "PUT");
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            header(&response, "access-control-allow-methods"),
            Some("PUT")
        );
        assert_eq!(header(&response, "access-control-allow-credentials"), None);
        assert_eq!(
            actual(&config, "https://foobar.com"),
            [set("access-control-allow-origin", "*")]
        );
    }

    #[test]
    fn methods_are_listed_even_when_only_safelisted_and_compared_case_sensitively() {
        let config = dialect(json!({"allowOrigins": ["https://a.com"], "allowMethods": ["GET"]}));
        let response = preflight(&config, "https://a.com", "GET");
        assert_eq!(
            header(&response, "access-control-allow-methods"),
            Some("GET")
        );
        let config = dialect(json!({"allowOrigins": ["https://a.com"], "allowMethods": ["PATCH"]}));
        assert_eq!(preflight(&config, "https://a.com", "PATCH").status, 204);
        assert_eq!(preflight(&config, "https://a.com", "patch").status, 403);
        assert_eq!(preflight(&config, "https://a.com", "PUT").status, 403);
    }

    #[test]
    fn defaults_and_header_lists_as_written() {
        let config = dialect(json!({
            "allowOrigins": ["https://a.com"],
            "allowHeaders": ["X-Trace", "x-trace", "Content-Type"],
            "exposeHeaders": ["*"],
        }));
        let response = preflight_with(&config, "https://a.com", "POST", Some("x-trace"));
        assert_eq!(response.status, 204);
        assert_eq!(header(&response, "access-control-allow-methods"), None);
        assert_eq!(
            header(&response, "access-control-allow-headers"),
            Some("X-Trace, Content-Type")
        );
        assert_eq!(
            header(&response, "access-control-expose-headers"),
            Some("*")
        );
        assert_eq!(header(&response, "access-control-max-age"), Some("5"));
        assert_eq!(header(&response, "access-control-allow-credentials"), None);
        // No allowOrigins, as the schema permits: no origin is allowed.
        assert_eq!(
            preflight(&config_of(json!([])), "https://a.com", "GET").status,
            403
        );
    }

    #[test]
    fn a_native_policy_still_sends_no_expose_headers_on_a_preflight() {
        let config = Config::from_tree(&json!({"policies": [{
            "allow_origins": ["https://a.com"], "expose_headers": ["x-a"], "allow_methods": ["GET"],
        }]}))
        .unwrap();
        let response = preflight(&config, "https://a.com", "GET");
        assert_eq!(header(&response, "access-control-expose-headers"), None);
        assert_eq!(header(&response, "access-control-allow-methods"), None);
        assert_eq!(header(&response, "access-control-max-age"), None);
    }

    #[test]
    fn warnings_name_the_path_and_do_not_refuse() {
        let config = Config::from_tree(&json!({"policies": [
            {"match": {"routes": ["a"]}, "cors": {"allowOrigins": ["https://a.com"]}},
            {"match": {"routes": ["b"]}, "cors": {"allowOrigins": ["https://*.com", "https://*", "http://*:8080", "https://*.co.uk"]}},
            {"match": {"routes": ["c"]}, "cors": {"allowOrigins": ["*"], "allowCredentials": true}},
            {"cors": {"allowOrigins": ["*"], "allowCredentials": false}},
        ]}))
        .unwrap();
        assert_eq!(
            warning_lines(&config),
            [
                r#"policies[1].cors.allowOrigins[0]: "https://*.com": allows every site under the top-level domain "com""#,
                r#"policies[1].cors.allowOrigins[1]: "https://*": allows every https origin"#,
                r#"policies[1].cors.allowOrigins[2]: "http://*:8080": allows every http origin on port 8080"#,
                r#"policies[2].cors.allowOrigins[0]: "*": with allowCredentials: true, every website may read responses to requests made with the user's credentials (its origin is echoed)"#,
            ]
        );
    }

    #[test]
    fn origins_the_schema_allows_but_no_browser_sends_are_errors() {
        let long = format!("https://{}.example.com", "a".repeat(64));
        let policy = json!({"cors": {"allowOrigins": [
            long, "http://127.1", "http://0x7f.0.0.1:8080", "https://1.2.3.256",
            "https://*.0.0.1", "http://127.0.0.1", "HTTP://127.0.0.1:80",
        ]}});
        assert_eq!(
            error_lines(policy),
            [
                format!(
                    r#"policies[0].cors.allowOrigins[0]: "{long}": a label of 64 bytes, so no browser can send it (DNS allows at most 63)"#
                ),
                r#"policies[0].cors.allowOrigins[1]: "http://127.1": a browser sends "http://127.0.0.1" instead; write that"#.to_string(),
                r#"policies[0].cors.allowOrigins[2]: "http://0x7f.0.0.1:8080": a browser sends "http://127.0.0.1:8080" instead; write that"#.to_string(),
                r#"policies[0].cors.allowOrigins[3]: "https://1.2.3.256": not a valid IPv4 address, so no browser can send it"#.to_string(),
                r#"policies[0].cors.allowOrigins[4]: "https://*.0.0.1": "*." before a number never matches: a host ending in a number is an IPv4 address, which has no subdomains"#.to_string(),
                r#"policies[0].cors.allowOrigins[6]: "HTTP://127.0.0.1:80": the scheme must be http or https"#.to_string(),
            ]
        );
    }

    #[test]
    fn invalid_values_are_errors_with_exact_messages() {
        let policy = json!({"cors": {
            "allowOrigins": [
                "ftp://a.com", "a.com", "https://a.com/", "https://a.com:0", "https://a.com:*",
                "https://a_b.com", "https://a.*.com", "https://*a.com", "HTTPS://a.com",
                "https://a.com", "https://a.com", "*",
            ],
            "allowMethods": ["get", "PURGE", "*"],
            "allowHeaders": ["x a", ""],
            "exposeHeaders": ["*"],
            "allowCredentials": true,
            "maxAge": 0,
            "allowOrigin": [],
        }});
        let host = r#"the host must be labels of letters, digits and "-", with "*" only as the whole host or the whole leftmost label"#;
        let method = r#"not one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH and "*" (methods are case-sensitive)"#;
        let expected = [
            "policies[0].cors.allowOrigin: unknown field; did you mean allowOrigins?".to_string(),
            r#"policies[0].cors.allowOrigins[10]: "https://a.com": the same as policies[0].cors.allowOrigins[9]"#.to_string(),
            r#"policies[0].cors.allowOrigins[11]: "*": "*" must be alone in the list"#.to_string(),
            r#"policies[0].cors.allowOrigins[0]: "ftp://a.com": the scheme must be http or https"#.to_string(),
            r#"policies[0].cors.allowOrigins[1]: "a.com": expected "*" or http(s)://host[:port]"#.to_string(),
            r#"policies[0].cors.allowOrigins[2]: "https://a.com/": an origin has no path, query, fragment or userinfo"#.to_string(),
            r#"policies[0].cors.allowOrigins[3]: "https://a.com:0": the port must be a number from 1 to 65535"#.to_string(),
            r#"policies[0].cors.allowOrigins[4]: "https://a.com:*": the port must be a number from 1 to 65535"#.to_string(),
            format!(r#"policies[0].cors.allowOrigins[5]: "https://a_b.com": {host}"#),
            format!(r#"policies[0].cors.allowOrigins[6]: "https://a.*.com": {host}"#),
            format!(r#"policies[0].cors.allowOrigins[7]: "https://*a.com": {host}"#),
            r#"policies[0].cors.allowOrigins[8]: "HTTPS://a.com": the scheme must be http or https"#.to_string(),
            r#"policies[0].cors.allowMethods[2]: "*": "*" must be alone in the list"#.to_string(),
            format!(r#"policies[0].cors.allowMethods[0]: "get": {method}"#),
            format!(r#"policies[0].cors.allowMethods[1]: "PURGE": {method}"#),
            r#"policies[0].cors.allowHeaders[0]: "x a": not a valid header name (RFC 9110 token)"#.to_string(),
            r#"policies[0].cors.allowHeaders[1]: "": must not be empty"#.to_string(),
            r#"policies[0].cors.exposeHeaders[0]: "*": cannot be used with allowCredentials: true (browsers then read it as a header named "*"); list the headers by name"#.to_string(),
            "policies[0].cors.maxAge: 0: must be a whole number from 1 to 2147483647".to_string(),
        ];
        assert_eq!(error_lines(policy), expected);
    }

    /// The schema's port is one to five digits: no sign and no sixth digit, even where Rust
    /// would read the number (`+443`, `000443`).
    #[test]
    fn a_port_is_one_to_five_digits_and_nothing_else() {
        let port = "the port must be a number from 1 to 65535";
        assert_eq!(
            error_lines(json!({"cors": {"allowOrigins": [
                "https://a.com:+443", "https://a.com:000443", "https://a.com:08080",
            ]}})),
            [
                format!(r#"policies[0].cors.allowOrigins[0]: "https://a.com:+443": {port}"#),
                format!(r#"policies[0].cors.allowOrigins[1]: "https://a.com:000443": {port}"#),
            ]
        );
    }

    #[test]
    fn list_limits_are_the_schemas() {
        let origins: Vec<String> = (0..65).map(|i| format!("https://a{i}.com")).collect();
        let headers: Vec<String> = (0..65).map(|i| format!("x-{i}")).collect();
        let lines = error_lines(json!({"cors": {
            "allowOrigins": origins, "allowHeaders": headers, "exposeHeaders": headers,
        }}));
        assert_eq!(
            lines,
            [
                "policies[0].cors.allowOrigins: must have at most 64 entries, found 65",
                "policies[0].cors.allowHeaders: must have at most 64 entries, found 65",
                "policies[0].cors.exposeHeaders: must have at most 64 entries, found 65",
            ]
        );
        let at_limit = dialect(json!({
            "allowOrigins": origins[..64], "allowHeaders": headers[..64],
            "allowMethods": ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"],
            "maxAge": 2_147_483_647,
        }));
        assert_eq!(
            at_limit.policies[0].rules.rendered.max_age.as_deref(),
            Some("2147483647")
        );
    }

    #[test]
    fn length_limits_hold_at_their_boundary_and_not_one_past() {
        // 253 characters in all, in labels of at most 63.
        let origin = |last: usize| {
            let labels = [
                "a".repeat(63),
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(last),
            ];
            format!("https://{}", labels.join("."))
        };
        let header = |n: usize| "h".repeat(n);
        let config = dialect(json!({"allowOrigins": [origin(53)], "allowHeaders": [header(256)]}));
        assert_eq!(preflight(&config, origin(53).leak(), "GET").status, 204);
        assert_eq!(
            error_lines(json!({"cors": {
                "allowOrigins": [origin(54)], "allowHeaders": [header(257)],
                "maxAge": 2_147_483_648_u64,
            }})),
            [
                format!(
                    r#"policies[0].cors.allowOrigins[0]: "{}": longer than 253 characters"#,
                    origin(54)
                ),
                format!(
                    r#"policies[0].cors.allowHeaders[0]: "{}": longer than 256 characters"#,
                    header(257)
                ),
                "policies[0].cors.maxAge: 2147483648: must be a whole number from 1 to 2147483647"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn cors_and_the_native_fields_do_not_mix() {
        let lines = error_lines(json!({
            "cors": {"allowOrigins": ["https://a.com"]},
            "allow_origins": ["https://a.com"], "allow_origin_regexes": ["x"],
            "allow_methods": [], "allow_headers": [], "expose_headers": [],
            "allow_credentials": false, "max_age": 5,
            "preflight_status": 200, "allow_private_network": true,
        }));
        assert_eq!(
            lines,
            [
                "policies[0].allow_origins: cannot be used together with cors; write it as cors.allowOrigins",
                "policies[0].allow_origin_regexes: cannot be used together with cors, which has no regexes",
                "policies[0].allow_methods: cannot be used together with cors; write it as cors.allowMethods",
                "policies[0].allow_headers: cannot be used together with cors; write it as cors.allowHeaders",
                "policies[0].expose_headers: cannot be used together with cors; write it as cors.exposeHeaders",
                "policies[0].allow_credentials: cannot be used together with cors; write it as cors.allowCredentials",
                "policies[0].max_age: cannot be used together with cors; write it as cors.maxAge",
            ]
        );
        assert_eq!(
            error_lines(json!({"cors": ["https://a.com"]})),
            ["policies[0].cors: expected an object, found a list"]
        );
    }

    #[test]
    fn both_encodings_read_the_same_dialect() {
        // A Struct carries numbers as doubles.
        let config = Config::from_tree(&json!({"policies": [{"cors": {
            "allowOrigins": ["https://a.com"], "maxAge": 3600.0,
        }}]}))
        .unwrap();
        assert_eq!(
            config.policies[0].rules.rendered.max_age.as_deref(),
            Some("3600")
        );
    }
}
