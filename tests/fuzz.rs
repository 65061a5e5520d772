//! Property tests (proptest, on stable): arbitrary configuration bytes and trees, arbitrary
//! origins, and whole decisions fed arbitrary header bytes. No input may panic, and the
//! CORS invariants hold on every one:
//! - nothing is reflected into a response unless it matched;
//! - a response never carries two `Access-Control-Allow-Origin` values;
//! - `*` is never sent with credentials;
//! - a denied request never gets `Access-Control-Allow-Origin`.
//!
//! `PROPTEST_CASES=100000 cargo test --test fuzz` runs longer than the default below.

use cors_wasm::cors::{evaluate, Action, HeaderEdit, Outcome, RequestView};
use cors_wasm::encoding::proto_struct;
use cors_wasm::policy::origin::{OriginPattern, OriginSet};
use cors_wasm::policy::{entry, gateway, Config};
use proptest::prelude::*;
use serde_json::{json, Value};

fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20_000);
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

#[derive(Debug)]
struct Request(Vec<(&'static str, Vec<u8>)>);

impl RequestView for Request {
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
    fn route_name(&self) -> Option<Vec<u8>> {
        None
    }
}

fn request() -> impl Strategy<Value = Request> {
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
            Request(headers)
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

fn policies() -> Vec<Config> {
    let app = "https://app.example.com";
    [
        json!({"allow_origins": [app, "https://*.example.com", "http://localhost:*", "null"],
               "allow_methods": ["PUT", "PATCH"], "allow_headers": ["content-type", "authorization"],
               "expose_headers": ["x-id"], "allow_credentials": true, "max_age": 10}),
        json!({"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"], "expose_headers": ["*"]}),
        json!({"allow_origin_regexes": [r"https://[a-z]+\.example\.com"], "allow_credentials": true,
               "forward_unmatched_preflights": true, "allow_private_network": true}),
    ]
    .into_iter()
    .map(|p| Config::parse(json!({ "policies": [p] }).to_string().as_bytes()).expect("a valid test policy"))
    .collect()
}

/// The response after the edits, applied as Envoy applies them.
fn apply(mut headers: Vec<(String, Vec<u8>)>, edits: Vec<HeaderEdit>) -> Vec<(String, Vec<u8>)> {
    for edit in edits {
        match edit {
            HeaderEdit::Set(name, value) => {
                headers.retain(|(n, _)| n != name);
                headers.push((name.to_string(), value.into_bytes()));
            }
            HeaderEdit::Remove(name) => headers.retain(|(n, _)| *n != name),
        }
    }
    headers
}

/// The invariants, for a request with an `Origin` (without one, the contract leaves the
/// upstream's headers as they are and adds only `Vary`).
fn check_response(
    config: &Config,
    request: &Request,
    outcome: &Outcome,
    headers: &[(String, Vec<u8>)],
) {
    let policy = &config.policies[0];
    let Some(request_origin) = request.header("origin") else {
        return;
    };
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
        None => {}
        Some(value) if value.as_slice() == b"*" => assert!(!credentials, "* with credentials"),
        Some(value) => {
            assert_eq!(
                value.as_slice(),
                request_origin.as_slice(),
                "reflected something else"
            );
            assert!(
                policy.rules.origins.allows(value),
                "reflected an origin that did not match"
            );
        }
    }
    let allowed = matches!(outcome, Outcome::PreflightAllowed | Outcome::ActualAllowed)
        || matches!(outcome, Outcome::PreflightDenied(_))
            && policy.rules.origins.allows(&request_origin);
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
    fn origin_matching_never_panics_and_admits_only_well_formed_origins(o in origin()) {
        let mut set = OriginSet::default();
        for p in ["https://app.example.com", "https://*.example.com", "http://localhost:*"] {
            set.insert(OriginPattern::parse(p).unwrap());
        }
        if set.allows(&o) {
            let text = std::str::from_utf8(&o).expect("an allowed origin is UTF-8");
            prop_assert!(text.bytes().all(|b| b.is_ascii_graphic()), "{text:?}");
            prop_assert!(!text.contains('/') || text.matches('/').count() == 2, "{text:?}");
            prop_assert!(text == "https://app.example.com" || text.ends_with(".example.com") || text.starts_with("http://localhost"));
        }
    }

    #[test]
    fn decisions_keep_the_cors_invariants(request in request(), upstream in upstream_headers()) {
        for config in policies() {
            let evaluation = evaluate(&config, &request);
            match evaluation.action {
                Action::Nothing => {}
                Action::Respond(response) => {
                    let headers: Vec<(String, Vec<u8>)> =
                        response.headers.into_iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect();
                    check_response(&config, &request, &evaluation.outcome, &headers);
                    if response.status == 403 {
                        prop_assert!(headers.iter().all(|(n, _)| n == "vary"));
                    }
                }
                Action::Decorate(plan) => {
                    let edits = plan.edits(upstream.iter().map(|(n, v)| (n.as_bytes(), v.as_slice())));
                    let response = apply(upstream.clone(), edits);
                    check_response(&config, &request, &evaluation.outcome, &response);
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
