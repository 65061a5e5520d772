//! What every fuzz target asserts, beyond "no panic". One function per target, taking the
//! fuzzer's bytes; the fuzz targets (fuzz_targets/) call them under libFuzzer, and
//! tests/fuzz_corpus.rs calls them on every kept input (fuzz/corpus/, fuzz/artifacts/).
//!
//! - An accepted configuration is valid by the contract: a non-empty list of policies, read
//!   the same from JSON text and from a Struct's bytes, and the checker reads it too.
//! - An origin the policy does not allow is never reflected; `*` never goes with credentials.
//! - A preflight answer never carries a method, header or origin the policy does not allow.
//! - Header values the filter writes stay valid bytes (visible ASCII, space, tab).

use cors_wasm::cors::{evaluate, Action, Denial, Outcome};
use cors_wasm::encoding::{json, proto_struct, Value};
use cors_wasm::host::explain::{self, Request};
use cors_wasm::policy::Config;
use serde_json::json;

#[path = "../../tests/harness/structpb.rs"]
mod structpb;

/// A target: what it asserts of the fuzzer's bytes.
pub type Target = fn(&[u8]);

/// Which origins a policy allows, where a target can tell by itself.
pub type Allows<'a> = Option<&'a dyn Fn(&[u8]) -> bool>;

/// Every target, by the name of its folder under fuzz/corpus/ and fuzz/artifacts/ (each also
/// has a file in fuzz_targets/ and a `[[bin]]` in fuzz/Cargo.toml).
pub const TARGETS: [(&str, Target); 9] = [
    ("config_json", config_json),
    ("config_struct", config_struct),
    ("config_cors_dialect", config_cors_dialect),
    ("decision", decision),
    ("check_request", check_request),
    ("check_curl", check_curl),
    ("check_har", check_har),
    ("check_envoy_config", check_envoy_config),
    ("import", import),
];

// ------------------------------------------------------------------------------------------
// Configurations, in each encoding
// ------------------------------------------------------------------------------------------

/// The plugin configuration as JSON text (a `StringValue`, as Istio sends it).
pub fn config_json(data: &[u8]) {
    let Ok(tree) = json::parse(data) else {
        if data.first() != Some(&0x0a) {
            assert!(
                Config::parse(data).is_err(),
                "accepted bytes that are not JSON"
            );
        }
        return;
    };
    let accepted = Config::from_tree(&tree);
    if data.first() != Some(&0x0a) {
        assert_eq!(
            Config::parse(data).is_ok(),
            accepted.is_ok(),
            "the filter and the tree it decodes disagree"
        );
    }
    if let Ok(config) = accepted {
        valid_by_contract(&tree, &config);
        struct_agrees(&tree);
    }
}

/// The plugin configuration as a `google.protobuf.Struct`'s bytes (Envoy's YAML form).
pub fn config_struct(data: &[u8]) {
    let Ok(tree) = proto_struct::decode(data) else {
        return;
    };
    let config = Config::from_tree(&tree);
    if data.first() == Some(&0x0a) {
        assert_eq!(
            Config::parse(data).is_ok(),
            config.is_ok(),
            "the filter and the Struct it decodes disagree"
        );
    }
    if let Ok(config) = config {
        valid_by_contract(&tree, &config);
        let text = tree.to_string();
        assert!(
            Config::parse(text.as_bytes()).is_ok(),
            "a Struct accepted, its JSON text refused: {text}"
        );
    }
}

/// The Gateway API dialect: the bytes, as JSON text, are a policy's `cors` field.
pub fn config_cors_dialect(data: &[u8]) {
    let Ok(cors) = json::parse(data) else {
        return;
    };
    let tree = json!({"policies": [{"name": "gateway", "cors": cors}]});
    if let Ok(config) = Config::from_tree(&tree) {
        valid_by_contract(&tree, &config);
        struct_agrees(&tree);
        let allowed = |origin: &[u8]| dialect_allows(&cors, origin);
        for request in probes(&tree) {
            check_decision(&config, &request, Some(&allowed));
        }
    }
}

/// What an accepted configuration must be, read from its tree alone: a non-empty list of
/// policies, every probe request decided within the invariants, and the checker explains it.
fn valid_by_contract(tree: &Value, config: &Config) {
    let policies = tree["policies"].as_array().map_or(0, Vec::len);
    assert!(policies > 0, "accepted a configuration without policies");
    assert_eq!(config.policies.len(), policies, "a policy lost or made up");
    for request in probes(tree) {
        check_decision(config, &request, None);
        explain::explain(config, &request);
    }
}

/// The same tree as a Struct's bytes is accepted too.
fn struct_agrees(tree: &Value) {
    let Some(object) = tree.as_object() else {
        return;
    };
    let bytes = structpb::encode(object);
    if let Err(errors) = Config::parse(&bytes) {
        panic!("accepted as JSON text, refused as a Struct: {errors:?}\n{tree}");
    }
}

/// Requests to decide against a configuration: its own origins, lookalikes, and preflights.
fn probes(tree: &Value) -> Vec<Request> {
    let mut origins: Vec<String> = ["https://evil.example", "null", "https://a.example.com"]
        .map(String::from)
        .to_vec();
    for policy in tree["policies"].as_array().into_iter().flatten() {
        let named = [&policy["allow_origins"], &policy["cors"]["allowOrigins"]];
        for origin in named.into_iter().filter_map(Value::as_array).flatten() {
            if let Some(origin) = origin.as_str() {
                origins.push(origin.to_string());
                origins.push(origin.replace('*', "x"));
                origins.push(format!("{origin}.evil.net"));
            }
        }
    }
    origins.truncate(24);
    let mut requests = Vec::new();
    for origin in origins {
        requests.push(request("GET", &[("origin", origin.as_bytes())]));
        requests.push(request(
            "OPTIONS",
            &[
                ("origin", origin.as_bytes()),
                ("access-control-request-method", b"PUT"),
                ("access-control-request-headers", b"content-type, x-a"),
            ],
        ));
    }
    requests
}

/// A request to `https://api.example.com/` with these headers.
fn request(method: &str, headers: &[(&str, &[u8])]) -> Request {
    Request {
        method: method.into(),
        scheme: "https".into(),
        authority: "api.example.com".into(),
        path: "/".into(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect(),
        route: None,
    }
}

// ------------------------------------------------------------------------------------------
// Decisions
// ------------------------------------------------------------------------------------------

/// Fixed policies whose allowed origins the target knows by itself: exact origins only, so
/// that "allowed" is plain byte equality, and a `*` policy.
const EXACT: [&str; 3] = [
    "https://app.example.com",
    "http://localhost:3000",
    "http://[::1]:8080",
];

fn fixed_config() -> Config {
    let config = json!({"policies": [
        {"name": "exact", "match": {"path_prefixes": ["/exact"]}, "allow_origins": EXACT,
         "allow_methods": ["PUT", "PATCH"], "allow_headers": ["content-type", "x-a"],
         "expose_headers": ["x-id"], "allow_credentials": true, "max_age": 600,
         "allow_private_network": true},
        {"name": "star", "match": {"path_prefixes": ["/star"]}, "allow_origins": ["*"],
         "allow_methods": ["*"], "allow_headers": ["*"]},
        {"name": "pattern", "allow_origins": ["https://*.example.com", "http://localhost:*"],
         "allow_origin_regexes": ["https://[a-z]+\\.example\\.org"],
         "allow_methods": ["DELETE"], "allow_credentials": true},
    ]});
    Config::from_tree(&config).expect("the fixed policies are valid")
}

/// A request from arbitrary bytes: fields split at `\n` (Envoy never hands the filter a
/// value with one): method, path, origin, requested method, requested headers, private
/// network, route name.
pub fn decision(data: &[u8]) {
    let mut fields = data.split(|&b| b == b'\n');
    let mut next = || fields.next().map(<[u8]>::to_vec);
    let method = String::from_utf8_lossy(&next().unwrap_or_default()).into_owned();
    let path = format!("/{}", String::from_utf8_lossy(&next().unwrap_or_default()));
    let named = [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
        "access-control-request-private-network",
    ];
    let headers = named
        .iter()
        .filter_map(|name| next().map(|value| (name.to_string(), value)))
        .collect();
    let route = next().map(|r| String::from_utf8_lossy(&r).into_owned());
    let request = Request {
        method,
        scheme: "https".into(),
        authority: "api.example.com".into(),
        path,
        headers,
        route,
    };
    let config = fixed_config();
    let exact_allows = |origin: &[u8]| EXACT.iter().any(|o| o.as_bytes() == origin);
    let allowed: Allows<'_> = match request.path.as_str() {
        p if p.starts_with("/exact") => Some(&exact_allows),
        _ => None,
    };
    let evaluation = check_decision(&config, &request, allowed);
    if request.path.starts_with("/exact") {
        preflight_within(&evaluation, &["PUT", "PATCH"], &["content-type", "x-a"]);
    }
}

/// The response headers a decision leaves, as `(name, value)`: a local reply's, or the
/// plan's edits applied to a hostile upstream response.
fn response_headers(action: &Action) -> Vec<(String, Vec<u8>)> {
    let upstream: Vec<(String, Vec<u8>)> = vec![
        (
            "access-control-allow-origin".into(),
            b"https://evil.example".to_vec(),
        ),
        ("access-control-allow-credentials".into(), b"true".to_vec()),
        ("vary".into(), b"Accept".to_vec()),
    ];
    match action {
        Action::Nothing => upstream,
        Action::Respond(response) => response
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect(),
        Action::Decorate(plan) => {
            let mut headers = upstream.clone();
            let edits = plan.edits(upstream.iter().map(|(n, v)| (n.as_bytes(), v.as_slice())));
            for edit in edits {
                use cors_wasm::cors::HeaderEdit::{Add, Remove, Set};
                match edit {
                    Set(name, value) => {
                        headers.retain(|(n, _)| n != name);
                        headers.push((name.to_string(), value.into_bytes()));
                    }
                    Add(name, value) => headers.push((name.to_string(), value.into_bytes())),
                    Remove(name) => headers.retain(|(n, _)| *n != name),
                }
            }
            headers
        }
    }
}

/// The CORS invariants on one decision; `allows`, when known, says which origins the policy
/// allows. Returns the evaluation for more checks.
fn check_decision(
    config: &Config,
    request: &Request,
    allows: Allows<'_>,
) -> cors_wasm::cors::Evaluation {
    use cors_wasm::cors::RequestView;
    let evaluation = evaluate(config, request);
    if !matches!(evaluation.action, Action::Nothing) {
        let headers = response_headers(&evaluation.action);
        check_response(
            &evaluation.outcome,
            &headers,
            request.header("origin"),
            allows,
        );
    }
    evaluation
}

/// The invariants on the response headers the filter leaves after deciding `outcome` for a
/// request from `origin`.
pub fn check_response(
    outcome: &Outcome,
    headers: &[(String, Vec<u8>)],
    origin: Option<Vec<u8>>,
    allows: Allows<'_>,
) {
    for (name, value) in headers {
        assert!(
            value
                .iter()
                .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)),
            "{name}: {value:?} is no valid header value"
        );
    }
    let value_of = |name: &str| -> Vec<&Vec<u8>> {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect()
    };
    let allow_origin = value_of("access-control-allow-origin");
    let credentials = !value_of("access-control-allow-credentials").is_empty();
    let allowed = matches!(outcome, Outcome::ActualAllowed | Outcome::PreflightAllowed);
    // `forward_unmatched_preflights`: a preflight denied for its method or headers goes
    // upstream, and its response is treated as an actual one from an allowed origin.
    let origin_denied = matches!(
        outcome,
        Outcome::ActualDenied(_)
            | Outcome::PreflightDenied(Denial::Origin(_) | Denial::OversizedOrigin(..))
    );
    let forwarded = matches!(outcome, Outcome::PreflightDenied(_)) && !origin_denied;
    assert!(allow_origin.len() <= 1, "two Access-Control-Allow-Origin");
    match allow_origin.first() {
        Some(value) if value.as_slice() == b"*" => assert!(!credentials, "* with credentials"),
        Some(value) => {
            assert_eq!(
                Some(value.as_slice()),
                origin.as_deref(),
                "reflected another origin"
            );
            assert!(allowed || forwarded, "an origin reflected on {outcome:?}");
            if let Some(allows) = allows {
                assert!(
                    allows(value),
                    "reflected an origin the policy does not allow"
                );
            }
        }
        None => assert!(!allowed, "allowed without Access-Control-Allow-Origin"),
    }
    // A `*` policy answers every actual request alike, whatever its Origin (one refused as too
    // long included): an answer that depended on the origin could be kept by a shared cache
    // and served to others (src/cors/tests.rs). `*` reflects no origin.
    let star_answer = matches!(outcome, Outcome::ActualDenied(_))
        && allow_origin.first().is_some_and(|v| v.as_slice() == b"*");
    if origin_denied && !star_answer {
        let cors: Vec<&String> = headers
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "a denied request got {cors:?}");
    }
}

/// An allowed preflight names only methods and headers the policy allows.
fn preflight_within(evaluation: &cors_wasm::cors::Evaluation, methods: &[&str], headers: &[&str]) {
    let Action::Respond(response) = &evaluation.action else {
        return;
    };
    for (name, value) in &response.headers {
        let allowed: &[&str] = match *name {
            "access-control-allow-methods" => methods,
            "access-control-allow-headers" => headers,
            _ => continue,
        };
        for item in value.split(',').map(str::trim) {
            assert!(
                allowed.iter().any(|a| a.eq_ignore_ascii_case(item)),
                "{name} carries {item:?}, which the policy does not allow"
            );
        }
    }
}

/// Which origins an `HTTPCORSFilter`'s `allowOrigins` allows, where the target can tell by
/// itself: exact entries, whose host is read without regard to case as a browser writes it
/// (`https://a.example.coM` allows `https://a.example.com`); a `*` anywhere: unknown, so
/// anything.
fn dialect_allows(cors: &Value, origin: &[u8]) -> bool {
    let entries = cors["allowOrigins"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    entries.iter().any(|entry| match entry.as_str() {
        Some(entry) if entry.contains('*') => true,
        Some(entry) => entry.as_bytes().eq_ignore_ascii_case(origin),
        None => false,
    })
}

// ------------------------------------------------------------------------------------------
// The checker's readers
// ------------------------------------------------------------------------------------------

/// `cors-wasm-check --request 'METHOD URL' -H 'Name: value'...`: the first line is the
/// request line, each further line a header.
pub fn check_request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let line = lines.next().unwrap_or_default();
    let headers: Vec<String> = lines.map(String::from).collect();
    if let Ok(request) = Request::from_line(line, &headers) {
        read_well(&request);
    }
}

/// `cors-wasm-check --curl 'curl ...'`: a browser's "Copy as cURL" command.
pub fn check_curl(data: &[u8]) {
    if let Ok(request) = Request::from_curl(&String::from_utf8_lossy(data)) {
        read_well(&request);
    }
}

/// `cors-wasm-check --har FILE`: a browser's HAR export. Each cross-origin request it reads is
/// read well, and the explanation of them all names each one.
pub fn check_har(data: &[u8]) {
    let Ok((requests, others)) = explain::read_har(&String::from_utf8_lossy(data)) else {
        return;
    };
    for har in &requests {
        read_well(&har.request);
    }
    let explained = explain::explain_har(&fixed_config(), &requests, others);
    let text = explain::har_text(&explained);
    for har in &requests {
        let entry = format!("entries[{}]", har.entry);
        assert!(text.contains(&entry), "{entry} is not explained:\n{text}");
    }
}

/// `cors-wasm-check envoy.yaml`: an Envoy configuration. Every cors-wasm filter found sits at
/// a path of the file; a configuration read from it is judged by the filter's own validation;
/// the route Envoy would pick for a request is found or said to be unknown, never a panic.
pub fn check_envoy_config(data: &[u8]) {
    let Ok(trees) = cors_wasm::encoding::yaml::parse(&String::from_utf8_lossy(data)) else {
        return;
    };
    let request = Request::from_line("OPTIONS https://api.example.com/api/x", &[]);
    let request = request.expect("a request line the checker reads");
    for tree in trees.iter().filter(|t| explain::envoy::is_envoy_config(t)) {
        for filter in explain::envoy::filters(tree) {
            if let Ok(config) = &filter.config {
                let _ = Config::parse(config.to_string().as_bytes());
            }
            if let Some(manager) = &filter.connection_manager {
                let _ = explain::envoy::route_for(manager, &request);
            }
        }
    }
}

/// `cors-wasm-check import SOURCE FILE`: the first byte picks the source (Envoy, Istio,
/// Express), the rest is the file. An import is a configuration the filter accepts, written
/// as YAML that reads back as itself, its changes one line each; an error is one line.
pub fn import(data: &[u8]) {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let sources = cors_wasm::host::import::SOURCES;
    let source = sources[usize::from(pick) % sources.len()];
    match cors_wasm::host::import::import(source, &String::from_utf8_lossy(file)) {
        Ok(imported) => {
            let config = imported.config();
            let yaml = imported.yaml();
            let read = cors_wasm::encoding::yaml::parse(&yaml).expect("the YAML written reads");
            assert_eq!(read, std::slice::from_ref(&config), "{yaml}");
            assert!(Config::from_tree(&config).is_ok(), "{yaml}");
            for change in &imported.changes {
                assert!(!change.at.is_empty() && !change.text.is_empty());
                assert!(!change.at.contains('\n') && !change.text.contains('\n'));
            }
        }
        Err(error) => assert!(!error.is_empty() && !error.contains('\n'), "{error:?}"),
    }
}

/// What a request the checker read must be: a token method, an http(s) URL with a host and
/// a path, lower-case header names each once; and the filter decides it in the invariants.
fn read_well(request: &Request) {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"(),/:;<=>?@[\\]{}".contains(&b))
    };
    assert!(token(&request.method), "method {:?}", request.method);
    assert!(matches!(request.scheme.as_str(), "http" | "https"));
    assert!(request.path.starts_with('/'), "path {:?}", request.path);
    for (i, (name, _)) in request.headers.iter().enumerate() {
        assert!(
            token(name) && *name == name.to_ascii_lowercase(),
            "header name {name:?}"
        );
        assert!(
            request.headers[..i].iter().all(|(n, _)| n != name),
            "{name} listed twice"
        );
    }
    let config = fixed_config();
    check_decision(&config, request, None);
    explain::explain(&config, request);
}
