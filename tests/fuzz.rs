//! Property tests (proptest, on stable): arbitrary configuration bytes and trees, arbitrary
//! origins, and whole decisions fed arbitrary header bytes. No input may panic, and the
//! CORS invariants hold on every one:
//! - an origin is allowed exactly when the test's own model of `allow_origins` ([`oracle`],
//!   no code shared with the matcher) admits it, and nothing else is ever reflected;
//! - a response never carries two `Access-Control-Allow-Origin` values;
//! - `*` is never sent with credentials;
//! - a denied request never gets `Access-Control-Allow-Origin`.
//!
//! A bare `cargo test` tries 4,000 cases per property, `./build.sh test` 20,000
//! (`PROPTEST_CASES`); `PROPTEST_CASES=100000 cargo test --test fuzz` runs longer.

use cors_wasm::cors::{evaluate, Action, Denial, HeaderEdit, HeaderPairs, Outcome, RequestView};
use cors_wasm::encoding::proto_struct;
use cors_wasm::policy::origin::{OriginPattern, OriginSet};
use cors_wasm::policy::{entry, gateway, Config};
use proptest::prelude::*;
use serde_json::{json, Value};

fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4_000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Origins near the allowed ones (prefixes, suffixes, case, ports, dots) and arbitrary bytes.
fn origin() -> impl Strategy<Value = Vec<u8>> {
    let known = prop::sample::select(vec![
        "https://app.example.com",
        "https://a.example.com",
        "https://x.y.example.com",
        "http://localhost:3000",
        "http://localhost",
        "null",
        "https://evil-example.com",
        "https://app.example.com.evil.net",
        "HTTPS://APP.EXAMPLE.COM",
        "https://app.example.com:443",
        "https://app.example.com.",
        "https://example.com",
        "http://[::1]:8080",
        "http://a.example.com",
        "wss://a.example.com",
        "https://a.api.example.com:8443",
        "https://a.b.api.example.com:8443",
        "https://a.api.example.com:9999",
        "https://a.api.example.com:443",
        "https://api.example.com:8443",
        "https://x.dev.example.com:8443",
        "https://x.dev.example.com:443",
        "https://x.dev.example.com",
        "https://dev.example.com:1",
        "http://localhost:65535",
        "http://localhost:80",
        "https://localhost:3000",
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8081",
        "http://127.0.0.1",
    ]);
    let mutated = (known.clone(), any::<u8>(), 0usize..40, prop::bool::ANY).prop_map(
        |(o, byte, at, insert)| {
            let mut bytes = o.as_bytes().to_vec();
            let at = at.min(bytes.len());
            if insert {
                bytes.insert(at, byte);
            } else if at < bytes.len() {
                bytes[at] = byte;
            }
            bytes
        },
    );
    prop_oneof![
        known.prop_map(|o| o.as_bytes().to_vec()),
        mutated,
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn token_list() -> impl Strategy<Value = Vec<u8>> {
    let names = prop::sample::select(vec![
        "content-type",
        "x-a",
        "authorization",
        "X-B",
        "",
        " ",
        "\t",
        "x y",
        "é",
    ]);
    prop_oneof![
        prop::collection::vec(names, 0..12).prop_map(|n| n.join(",").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn method() -> impl Strategy<Value = Vec<u8>> {
    let known = prop::sample::select(vec![
        "GET", "PUT", "put", "PATCH", "patch", "DELETE", "OPTIONS", "PURGE", "", "P T",
    ]);
    prop_oneof![
        known.prop_map(|m| m.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..12)
    ]
}

fn request() -> impl Strategy<Value = HeaderPairs> {
    let optional = |s: BoxedStrategy<Vec<u8>>| prop::option::of(s);
    (
        prop::sample::select(vec!["GET", "OPTIONS", "POST"]),
        optional(origin().boxed()),
        optional(method().boxed()),
        optional(token_list().boxed()),
        optional(
            prop::sample::select(vec!["true", "TRUE", "false", ""])
                .prop_map(|s| s.as_bytes().to_vec())
                .boxed(),
        ),
    )
        .prop_map(|(m, origin, acrm, acrh, pna)| {
            let mut headers = vec![(":method", m.as_bytes().to_vec())];
            let named = [
                ("origin", origin),
                ("access-control-request-method", acrm),
                ("access-control-request-headers", acrh),
                ("access-control-request-private-network", pna),
            ];
            headers.extend(named.into_iter().filter_map(|(n, v)| v.map(|v| (n, v))));
            HeaderPairs::from(headers)
        })
}

/// Upstream response headers, CORS ones and `Vary` among them.
fn upstream_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop::sample::select(vec![
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-methods",
        "access-control-expose-headers",
        "access-control-x",
        "vary",
        "content-type",
    ]);
    prop::collection::vec(
        (
            name.prop_map(String::from),
            prop::collection::vec(any::<u8>(), 0..24),
        ),
        0..8,
    )
}

/// The test policies, each with the test's own model of the origins it admits ([`oracle`]),
/// written by hand beside it rather than derived from the configuration.
fn policies() -> Vec<(Config, Vec<oracle::Entry>)> {
    use oracle::{Entry, Port};
    let app = "https://app.example.com";
    [
        (
            json!({"allow_origins": [app, "https://*.example.com", "http://localhost:*", "null",
                                     "https://*.api.example.com:8443", "https://*.dev.example.com:*",
                                     "http://127.0.0.1:8080"],
                   "allow_methods": ["PUT", "PATCH"], "allow_headers": ["content-type", "authorization"],
                   "expose_headers": ["x-id"], "allow_credentials": true, "max_age": 10}),
            vec![
                Entry::Exact("https", "app.example.com", Port::Default),
                Entry::Subdomains("https", "example.com", Port::Default),
                Entry::Exact("http", "localhost", Port::Any),
                Entry::Null,
                Entry::Subdomains("https", "api.example.com", Port::Is(8443)),
                Entry::Subdomains("https", "dev.example.com", Port::Any),
                Entry::Exact("http", "127.0.0.1", Port::Is(8080)),
            ],
        ),
        (
            json!({"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"], "expose_headers": ["*"]}),
            vec![Entry::Any],
        ),
        (
            json!({"allow_origin_regexes": [r"https://[a-z]+\.example\.com"], "allow_credentials": true,
                   "forward_unmatched_preflights": true, "allow_private_network": true}),
            vec![Entry::HttpsLowercaseLabelOfExampleCom],
        ),
    ]
    .into_iter()
    .map(|(p, entries)| {
        let config = Config::parse(json!({ "policies": [p] }).to_string().as_bytes());
        (config.expect("a valid test policy"), entries)
    })
    .collect()
}

/// Which origins a list of `allow_origins` entries admits, modelled from docs/policy.md
/// ("Origins") with no code shared with the matcher under test: a request's `Origin` is
/// split as a browser serializes it, then compared part by part, scheme and port included.
mod oracle {
    /// What a port part of an entry admits.
    #[derive(Clone, Copy, Debug)]
    pub enum Port {
        /// No port written (or the scheme's default): the origin has no port.
        Default,
        /// `:8443`: exactly that port.
        Is(u16),
        /// `:*`: any port, or none.
        Any,
    }

    /// One `allow_origins` entry (or regex), in the parts the docs give it.
    #[derive(Clone, Copy, Debug)]
    pub enum Entry {
        Any,
        Null,
        /// `scheme://host[:port]`.
        Exact(&'static str, &'static str, Port),
        /// `scheme://*.suffix[:port]`: any name ending in `.suffix`, never `suffix` itself.
        Subdomains(&'static str, &'static str, Port),
        /// The regex `https://[a-z]+\.example\.com`, written out by hand.
        HttpsLowercaseLabelOfExampleCom,
    }

    /// A request's `Origin` as a browser serializes it: `scheme://host[:port]`, lower case,
    /// a port only when it is not the scheme's default.
    #[derive(Debug)]
    pub struct Origin<'a> {
        scheme: &'a str,
        host: &'a str,
        port: Option<u16>,
    }

    pub fn serialized(origin: &[u8]) -> Option<Origin<'_>> {
        let text = std::str::from_utf8(origin).ok()?;
        let (scheme, authority) = text.split_once("://")?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
            && scheme
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        if !scheme_ok {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !authority.ends_with(']') => (host, Some(port)),
            _ => (authority, None),
        };
        if !(is_name(host) || is_ipv6_literal(host)) {
            return None;
        }
        let port = match port {
            None => None,
            Some(digits) => {
                let number: u16 = digits.parse().ok()?;
                let written = digits.chars().all(|c| c.is_ascii_digit())
                    && number.to_string() == digits
                    && number != 0;
                let default = match scheme {
                    "http" | "ws" => Some(80),
                    "https" | "wss" => Some(443),
                    _ => None,
                };
                if !written || default == Some(number) {
                    return None;
                }
                Some(number)
            }
        };
        Some(Origin { scheme, host, port })
    }

    /// A host name: dot-separated labels of 1 to 63 lower-case letters, digits, `-` or `_`,
    /// 253 bytes at most.
    fn is_name(host: &str) -> bool {
        host.len() <= 253
            && host.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    })
            })
    }

    /// `[...]` with hex digits, `:` and `.` inside.
    fn is_ipv6_literal(host: &str) -> bool {
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|inside| {
                !inside.is_empty()
                    && inside
                        .chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || ":.".contains(c))
            })
    }

    impl Port {
        fn admits(self, port: Option<u16>) -> bool {
            match self {
                Port::Default => port.is_none(),
                Port::Is(n) => port == Some(n),
                Port::Any => true,
            }
        }
    }

    impl Entry {
        pub fn admits(self, origin: &[u8]) -> bool {
            let parts = serialized(origin);
            let parts = parts.as_ref();
            match self {
                Entry::Any => true,
                Entry::Null => origin == b"null",
                Entry::Exact(scheme, host, port) => parts
                    .is_some_and(|o| o.scheme == scheme && o.host == host && port.admits(o.port)),
                Entry::Subdomains(scheme, suffix, port) => parts.is_some_and(|o| {
                    o.scheme == scheme
                        && port.admits(o.port)
                        && o.host
                            .strip_suffix(suffix)
                            .and_then(|sub| sub.strip_suffix('.'))
                            .is_some_and(|sub| !sub.is_empty())
                }),
                Entry::HttpsLowercaseLabelOfExampleCom => parts.is_some_and(|o| {
                    o.scheme == "https"
                        && o.port.is_none()
                        && o.host.strip_suffix(".example.com").is_some_and(|label| {
                            !label.is_empty() && label.chars().all(|c| c.is_ascii_lowercase())
                        })
                }),
            }
        }
    }

    pub fn admits(entries: &[Entry], origin: &[u8]) -> bool {
        entries.iter().any(|entry| entry.admits(origin))
    }

    /// The model itself, on the docs' own examples.
    #[test]
    fn the_oracle_reads_the_docs_examples() {
        let sub = [Entry::Subdomains("https", "example.com", Port::Default)];
        assert!(admits(&sub, b"https://a.example.com"));
        assert!(admits(&sub, b"https://a.b.c.example.com"));
        for denied in [
            "https://example.com",
            "https://evil-example.com",
            "https://.example.com",
            "http://a.example.com",
            "https://a.example.com:8443",
            "https://a.example.com:443",
            "https://A.example.com",
            "https://a.example.com.",
            "https://a.example.com/",
        ] {
            assert!(!admits(&sub, denied.as_bytes()), "{denied}");
        }
        let numbered = [Entry::Subdomains("https", "example.com", Port::Is(8443))];
        assert!(admits(&numbered, b"https://a.example.com:8443"));
        assert!(!admits(&numbered, b"https://a.example.com:9999"));
        assert!(!admits(&numbered, b"https://a.example.com"));
        let any_port = [Entry::Exact("http", "localhost", Port::Any)];
        assert!(admits(&any_port, b"http://localhost"));
        assert!(admits(&any_port, b"http://localhost:65535"));
        for denied in [
            "http://localhost:80",
            "http://localhost:0",
            "http://localhost:65536",
            "http://localhost:080",
            "https://localhost:3000",
        ] {
            assert!(!admits(&any_port, denied.as_bytes()), "{denied}");
        }
        assert!(admits(
            &[Entry::Exact("http", "[::1]", Port::Is(8080))],
            b"http://[::1]:8080"
        ));
        assert!(!admits(&[Entry::Null], b"NULL"));
        assert!(admits(&[Entry::Any], b"\xff"));
    }
}

/// The response after the edits, applied as Envoy applies them.
fn apply(mut headers: Vec<(String, Vec<u8>)>, edits: Vec<HeaderEdit>) -> Vec<(String, Vec<u8>)> {
    for edit in edits {
        match edit {
            HeaderEdit::Set(name, value) => {
                headers.retain(|(n, _)| n != name);
                headers.push((name.to_string(), value.into_bytes()));
            }
            // Kept values stay: an Add to a header the response has would leave two.
            HeaderEdit::Add(name, value) => headers.push((name.to_string(), value.into_bytes())),
            HeaderEdit::Remove(name) => headers.retain(|(n, _)| *n != name),
        }
    }
    headers
}

/// The invariants, for a request with an `Origin` (without one, the contract leaves the
/// upstream's headers as they are and adds only `Vary`). Whether the origin is allowed is the
/// [`oracle`]'s answer, never the matcher's.
fn check_response(
    entries: &[oracle::Entry],
    request: &HeaderPairs,
    outcome: &Outcome,
    headers: &[(String, Vec<u8>)],
) {
    let Some(request_origin) = request.header("origin") else {
        return;
    };
    let admitted = oracle::admits(entries, &request_origin);
    match outcome {
        Outcome::ActualAllowed | Outcome::PreflightAllowed => {
            assert!(admitted, "allowed an origin the oracle does not admit");
        }
        Outcome::ActualDenied(Denial::Origin(_)) | Outcome::PreflightDenied(Denial::Origin(_)) => {
            assert!(!admitted, "denied an origin the oracle admits");
        }
        Outcome::PreflightDenied(_) => {
            assert!(admitted, "a preflight denied for more than its origin");
        }
        other => panic!("a request with an Origin decided as {other:?}"),
    }
    let allow_origin: Vec<&Vec<u8>> = headers
        .iter()
        .filter(|(n, _)| n == "access-control-allow-origin")
        .map(|(_, v)| v)
        .collect();
    assert!(
        allow_origin.len() <= 1,
        "two Access-Control-Allow-Origin values"
    );
    let credentials = headers
        .iter()
        .any(|(n, _)| n == "access-control-allow-credentials");
    match allow_origin.first() {
        None => assert!(
            !matches!(outcome, Outcome::ActualAllowed | Outcome::PreflightAllowed),
            "an allowed request without Access-Control-Allow-Origin"
        ),
        Some(value) if value.as_slice() == b"*" => assert!(!credentials, "* with credentials"),
        Some(value) => {
            assert_eq!(
                value.as_slice(),
                request_origin.as_slice(),
                "reflected something else"
            );
            assert!(admitted, "reflected an origin the oracle does not admit");
        }
    }
    let allowed = matches!(outcome, Outcome::PreflightAllowed | Outcome::ActualAllowed)
        || matches!(outcome, Outcome::PreflightDenied(_)) && admitted;
    if !allowed {
        let cors: Vec<&String> = headers
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "a denied request got {cors:?}");
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn configuration_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Config::parse(&bytes);
        let _ = proto_struct::decode(&bytes);
    }

    #[test]
    fn struct_like_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..128)) {
        let mut bytes = vec![0x0a];
        bytes.extend(tail);
        let _ = Config::parse(&bytes);
    }

    #[test]
    fn configuration_trees_never_panic(tree in config_tree()) {
        if let Ok(config) = Config::parse(tree.to_string().as_bytes()) {
            prop_assert!(!config.policies.is_empty());
        }
    }

    #[test]
    fn origin_matching_agrees_with_the_oracle(o in origin()) {
        use oracle::{Entry, Port};
        let patterns = [
            ("https://app.example.com", Entry::Exact("https", "app.example.com", Port::Default)),
            ("https://*.example.com", Entry::Subdomains("https", "example.com", Port::Default)),
            ("http://localhost:*", Entry::Exact("http", "localhost", Port::Any)),
            ("https://*.api.example.com:8443", Entry::Subdomains("https", "api.example.com", Port::Is(8443))),
            ("https://*.dev.example.com:*", Entry::Subdomains("https", "dev.example.com", Port::Any)),
            ("http://127.0.0.1:8080", Entry::Exact("http", "127.0.0.1", Port::Is(8080))),
            ("http://[::1]:8080", Entry::Exact("http", "[::1]", Port::Is(8080))),
        ];
        let mut set = OriginSet::default();
        for (pattern, _) in patterns {
            set.insert(OriginPattern::parse(pattern).unwrap());
        }
        let entries = patterns.map(|(_, entry)| entry);
        prop_assert_eq!(
            set.allows(&o),
            oracle::admits(&entries, &o),
            "{:?}",
            String::from_utf8_lossy(&o)
        );
    }

    #[test]
    fn decisions_keep_the_cors_invariants(request in request(), upstream in upstream_headers()) {
        for (config, entries) in policies() {
            let evaluation = evaluate(&config, &request);
            match evaluation.action {
                Action::Nothing => {}
                Action::Respond(response) => {
                    let headers: Vec<(String, Vec<u8>)> =
                        response.headers.into_iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect();
                    check_response(&entries, &request, &evaluation.outcome, &headers);
                    if response.status == 403 {
                        prop_assert!(headers.iter().all(|(n, _)| n == "vary"));
                    }
                }
                Action::Decorate(plan) => {
                    let edits = plan.edits(upstream.iter().map(|(n, v)| (n.as_bytes(), v.as_slice())));
                    let response = apply(upstream.clone(), edits);
                    check_response(&entries, &request, &evaluation.outcome, &response);
                }
            }
        }
    }
}

/// Trees shaped like configurations, with plausible and implausible values.
fn config_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0u64..100_000).prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "*",
            "null",
            "https://a.com",
            "https://*.a.com",
            "http://x:*",
            "PUT",
            "x-a",
            "",
            "/api",
            "(",
            "https://*.com"
        ])
        .prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ];
    // Every field name the configuration knows, so a new field is fuzzed without a change here.
    let known = [
        &["policies"][..],
        entry::FIELDS,
        entry::MATCH_FIELDS,
        gateway::FIELDS,
    ];
    let keys = prop::sample::select(known.concat());
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}
