//! The Gateway API's CORS conformance test, `HTTPRouteCORS`, against the module in a real
//! Envoy and in the wasmtime harness. Its routes and cases come from the public repository
//! kubernetes-sigs/gateway-api, at commit 4564255ac2c35d582249b3cdf261bdf51c8bca32:
//! - `conformance/tests/httproute-cors.yaml`: four HTTPRoutes, each rule's CORS filter written
//!   here as a policy in the `cors` dialect, pasted unchanged;
//! - `conformance/tests/httproute-cors.go`: the requests and what each accepts, checked as
//!   `conformance/utils/http/http.go` (`CompareRoundTrip`) checks them.

// Each test crate uses part of the shared harness.
#[allow(unused_imports)]
mod harness;
#[macro_use]
mod support;

use harness::host::Headers;
use harness::{structpb, Host, Reply};
use serde_json::{json, Value};
use support::envoy::{bootstrap, configuration_warnings, cors_filter, Build, Encoding, Envoy};
use support::http::Response;
use support::upstream::Upstream;

/// The HTTPRoutes of httproute-cors.yaml, one policy per rule, matched by its path prefix.
/// The Gateway API matches path prefixes element by element; a policy matches bytes, so the
/// longer `/cors-wildcard-methods-headers-unauth` comes before `/cors-wildcard-methods-headers`.
fn conformance_policies() -> Value {
    json!({"policies": [
        {"name": "cors-multiple-origins-methods-headers",
         "match": {"path_prefixes": ["/cors-1"]},
         "cors": {
             "allowOrigins": ["https://www.foo.com", "https://*.bar.com"],
             "allowMethods": ["GET", "OPTIONS"],
             "allowHeaders": ["x-header-1", "x-header-2"],
             "exposeHeaders": ["x-header-3", "x-header-4"],
             "allowCredentials": true,
             "maxAge": 3600,
         }},
        {"name": "cors-wildcard-methods",
         "match": {"path_prefixes": ["/cors-2"]},
         "cors": {"allowOrigins": ["https://www.foo.com"], "allowMethods": ["*"]}},
        {"name": "cors-wildcard-origin",
         "match": {"path_prefixes": ["/cors-wildcard-origin"]},
         "cors": {"allowOrigins": ["*"], "allowMethods": ["PUT"], "allowCredentials": false}},
        // The second rule of the HTTPRoute cors-wildcard-methods-headers.
        {"name": "cors-wildcard-methods-headers-rule-1",
         "match": {"path_prefixes": ["/cors-wildcard-methods-headers-unauth"]},
         "cors": {"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"],
                  "allowCredentials": false}},
        // Its first rule.
        {"name": "cors-wildcard-methods-headers-rule-0",
         "match": {"path_prefixes": ["/cors-wildcard-methods-headers"]},
         "cors": {"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"],
                  "allowCredentials": true}},
    ]})
}

/// One entry of `testCases` in httproute-cors.go.
struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    /// `StatusCodes` (or `StatusCode`; the suite's default is 200).
    statuses: &'static [u16],
    /// `ValidHeaderValues`, and `Headers` as a single accepted value.
    valid: &'static [(&'static str, &'static [&'static str])],
    absent: &'static [&'static str],
    ignore_whitespace: bool,
    /// `Namespace: ns`: the suite expects the echo backend to have answered.
    reaches_backend: bool,
}

const PREFLIGHT_CORS_1: &[(&str, &[&str])] = &[
    (
        "access-control-allow-methods",
        &["GET, OPTIONS", "OPTIONS, GET"],
    ),
    (
        "access-control-allow-headers",
        &["x-header-1, x-header-2", "x-header-2, x-header-1"],
    ),
    (
        "access-control-expose-headers",
        &["x-header-3, x-header-4", "x-header-4, x-header-3"],
    ),
    ("access-control-max-age", &["3600"]),
    ("access-control-allow-credentials", &["true"]),
];

/// The test cases of httproute-cors.go, in its order, with its names.
const CASES: &[Case] = &[
    Case {
        name: "CORS preflight request from an exact matching origin should be allowed",
        method: "OPTIONS",
        path: "/cors-1",
        headers: &[
            ("Origin", "https://www.foo.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-header-1, x-header-2"),
        ],
        statuses: &[200, 204],
        valid: &[("access-control-allow-origin", &["https://www.foo.com"])],
        absent: &[],
        ignore_whitespace: true,
        reaches_backend: false,
    },
    Case {
        name: "CORS preflight request from a wildcard matching origin should be allowed",
        method: "OPTIONS",
        path: "/cors-1",
        headers: &[
            ("Origin", "https://www.bar.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-header-1, x-header-2"),
        ],
        statuses: &[200, 204],
        valid: &[("access-control-allow-origin", &["https://www.bar.com"])],
        absent: &[],
        ignore_whitespace: true,
        reaches_backend: false,
    },
    Case {
        name: "CORS preflight request from a wildcard matching any number of periods left to '*' should be allowed",
        method: "OPTIONS",
        path: "/cors-1",
        headers: &[
            ("Origin", "https://xpto.www.bar.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-header-1, x-header-2"),
        ],
        statuses: &[200, 204],
        valid: &[("access-control-allow-origin", &["https://xpto.www.bar.com"])],
        absent: &[],
        ignore_whitespace: true,
        reaches_backend: false,
    },
    Case {
        name: "CORS preflight request from a non-matching origin should not be allowed",
        method: "OPTIONS",
        path: "/cors-1",
        headers: &[
            ("Origin", "https://foobar.com"),
            ("access-control-request-method", "GET"),
        ],
        statuses: &[200, 204, 403],
        valid: &[],
        absent: &["access-control-allow-origin"],
        ignore_whitespace: false,
        reaches_backend: false,
    },
    Case {
        name: "Simple request from an exact matching origin should be allowed",
        method: "GET",
        path: "/cors-1",
        headers: &[
            ("Origin", "https://www.foo.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-header-1, x-header-2"),
        ],
        statuses: &[200],
        valid: &[("access-control-allow-origin", &["https://www.foo.com"])],
        absent: &[],
        ignore_whitespace: false,
        reaches_backend: true,
    },
    Case {
        name: "Simple request from a wildcard matching origin should be allowed",
        method: "GET",
        path: "/cors-1",
        headers: &[
            ("Origin", "https://www.bar.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-header-1, x-header-2"),
        ],
        statuses: &[200],
        valid: &[("access-control-allow-origin", &["https://www.bar.com"])],
        absent: &[],
        ignore_whitespace: false,
        reaches_backend: true,
    },
    Case {
        name: "Simple request from a non-matching origin should not be allowed",
        method: "GET",
        path: "/cors-1",
        headers: &[
            ("Origin", "https://foobar.com"),
            ("access-control-request-method", "GET"),
        ],
        statuses: &[200],
        valid: &[],
        absent: &["access-control-allow-origin"],
        ignore_whitespace: false,
        reaches_backend: true,
    },
    Case {
        name: "CORS preflight request with POST method should be allowed by allowMethods with wildcard",
        method: "OPTIONS",
        path: "/cors-2",
        headers: &[
            ("Origin", "https://www.foo.com"),
            ("access-control-request-method", "POST"),
        ],
        statuses: &[200, 204],
        valid: &[
            ("access-control-allow-methods", &["POST", "*"]),
            ("access-control-allow-origin", &["https://www.foo.com"]),
        ],
        absent: &["access-control-allow-credentials"],
        ignore_whitespace: false,
        reaches_backend: false,
    },
    Case {
        name: "CORS preflight request should not receive access-control-allow-credentials header without access-control-allow-credentials set to true",
        method: "OPTIONS",
        path: "/cors-2",
        headers: &[
            ("Origin", "https://www.foo.com"),
            ("access-control-request-method", "POST"),
        ],
        statuses: &[200, 204],
        valid: &[],
        absent: &["Access-Control-Allow-Credentials"],
        ignore_whitespace: false,
        reaches_backend: false,
    },
    Case {
        name: "CORS preflight request from a wildcard origin should return header with '*' or with the requested Origin",
        method: "OPTIONS",
        path: "/cors-wildcard-origin",
        headers: &[
            ("Origin", "https://foobar.com"),
            ("access-control-request-method", "PUT"),
        ],
        statuses: &[200, 204],
        valid: &[
            ("access-control-allow-origin", &["https://foobar.com", "*"]),
            ("access-control-allow-methods", &["PUT"]),
        ],
        absent: &["Access-Control-Allow-Credentials"],
        ignore_whitespace: false,
        reaches_backend: false,
    },
    Case {
        name: "CORS preflight request from a wildcard origin containing a port should return header with '*' or with the requested Origin",
        method: "OPTIONS",
        path: "/cors-wildcard-origin",
        headers: &[
            ("Origin", "https://foobar.com:12345"),
            ("access-control-request-method", "PUT"),
        ],
        statuses: &[200, 204],
        valid: &[
            ("access-control-allow-origin", &["https://foobar.com:12345", "*"]),
            ("access-control-allow-methods", &["PUT"]),
        ],
        absent: &["Access-Control-Allow-Credentials"],
        ignore_whitespace: false,
        reaches_backend: false,
    },
    Case {
        name: "Request from a wildcard origin containing a port should return header with '*' or with the requested Origin",
        method: "PUT",
        path: "/cors-wildcard-origin",
        headers: &[("Origin", "https://foobar.com:12345")],
        statuses: &[200],
        valid: &[("access-control-allow-origin", &["https://foobar.com:12345", "*"])],
        absent: &[],
        ignore_whitespace: false,
        reaches_backend: true,
    },
    Case {
        name: "Simple request from a wildcard origin should return header with '*' or with the requested Origin",
        method: "PUT",
        path: "/cors-wildcard-origin",
        headers: &[("Origin", "https://foobar.com")],
        statuses: &[200],
        valid: &[("access-control-allow-origin", &["https://foobar.com", "*"])],
        absent: &["Access-Control-Allow-Credentials"],
        ignore_whitespace: false,
        reaches_backend: true,
    },
    Case {
        name: "CORS preflight request requesting specific method and headers should be allowed and always echo the origin with allowCredentials set to true",
        method: "OPTIONS",
        path: "/cors-wildcard-methods-headers",
        headers: &[
            ("Origin", "https://other.foo.com"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "x-header-1, x-header-2"),
        ],
        statuses: &[200, 204],
        valid: &[
            ("access-control-allow-origin", &["https://other.foo.com"]),
            ("access-control-allow-methods", &["PUT"]),
            ("access-control-allow-headers", &["x-header-1, x-header-2", "x-header-2, x-header-1"]),
            ("access-control-allow-credentials", &["true"]),
        ],
        absent: &[],
        ignore_whitespace: true,
        reaches_backend: false,
    },
    Case {
        name: "CORS preflight request requesting specific method and headers should hide access-control-allow-credentials headers with allowCredentials set to false",
        method: "OPTIONS",
        path: "/cors-wildcard-methods-headers-unauth",
        headers: &[
            ("Origin", "https://other.foo.com"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "x-header-1, x-header-2"),
        ],
        statuses: &[200, 204],
        valid: &[
            ("access-control-allow-origin", &["https://other.foo.com", "*"]),
            ("access-control-allow-methods", &["PUT", "*"]),
            (
                "access-control-allow-headers",
                &["x-header-1, x-header-2", "x-header-2, x-header-1", "*"],
            ),
        ],
        absent: &["access-control-allow-credentials"],
        ignore_whitespace: true,
        reaches_backend: false,
    },
    Case {
        name: "CORS request should receive access-control-allow-credentials header with allowCredentials set to true",
        method: "GET",
        path: "/cors-wildcard-methods-headers",
        headers: &[("Origin", "https://other.foo.com")],
        statuses: &[200],
        valid: &[
            ("access-control-allow-origin", &["https://other.foo.com"]),
            ("access-control-allow-credentials", &["true"]),
        ],
        absent: &[],
        ignore_whitespace: false,
        reaches_backend: true,
    },
    Case {
        name: "CORS request should not receive access-control-allow-credentials header without allowCredentials set to true",
        method: "GET",
        path: "/cors-wildcard-methods-headers-unauth",
        headers: &[("Origin", "https://other.foo.com")],
        statuses: &[200],
        valid: &[("access-control-allow-origin", &["https://other.foo.com", "*"])],
        absent: &["access-control-allow-credentials"],
        ignore_whitespace: false,
        reaches_backend: true,
    },
];

/// The first three cases also accept these, as the suite lists them for each.
fn valid_values(index: usize, case: &Case) -> Vec<(&'static str, &'static [&'static str])> {
    let mut valid = case.valid.to_vec();
    if index < 3 {
        valid.extend_from_slice(PREFLIGHT_CORS_1);
    }
    valid
}

fn routes() -> Value {
    json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}])
}

/// `CompareRoundTrip`: the status among those accepted; then, for a 200 or 204, each header's
/// values joined by "," among the accepted values (spaces removed first when whitespace is
/// ignored), and the absent headers absent. Returns what failed, if anything.
fn compare(index: usize, case: &Case, response: &Response) -> Result<(), String> {
    if !case.statuses.contains(&response.status) {
        return Err(format!(
            "status {} is not one of {:?}",
            response.status, case.statuses
        ));
    }
    if !matches!(response.status, 200 | 204) {
        return Ok(());
    }
    let strip = |s: &str| {
        if case.ignore_whitespace {
            s.replace(' ', "")
        } else {
            s.to_string()
        }
    };
    for (name, accepted) in valid_values(index, case) {
        let values = response.all(name);
        if values.is_empty() {
            return Err(format!("{name} is missing"));
        }
        let actual = strip(&values.join(","));
        if !accepted.iter().any(|a| strip(a) == actual) {
            return Err(format!("{name}: {actual:?} is not one of {accepted:?}"));
        }
    }
    absent_ones(case, response)
}

fn absent_ones(case: &Case, response: &Response) -> Result<(), String> {
    match case
        .absent
        .iter()
        .find(|name| !response.all(name).is_empty())
    {
        Some(name) => Err(format!("{name} should be absent: {:?}", response.all(name))),
        None => Ok(()),
    }
}

/// Every case through `send`, which answers the response and whether the request reached
/// the upstream; returns the failures, each naming its case.
fn failures(mut send: impl FnMut(&Case) -> (Response, bool)) -> Vec<String> {
    assert_eq!(CASES.len(), 17, "every case of httproute-cors.go");
    let mut failures = Vec::new();
    for (index, case) in CASES.iter().enumerate() {
        let (response, reached) = send(case);
        let mut result = compare(index, case, &response);
        // The suite checks the echo backend answered; and cors-wasm never sends a preflight on.
        if result.is_ok() && reached != case.reaches_backend {
            result = Err(format!("reached the upstream: {reached}"));
        }
        // The suite looks at headers only on a 200 or 204; cors-wasm's 403 has none either.
        if result.is_ok() && response.status == 403 {
            result = absent_ones(case, &response);
        }
        if let Err(why) = result {
            failures.push(format!(
                "case {index} {:?}: {why}\n  {:?}",
                case.name, response.headers
            ));
        }
    }
    failures
}

fn run_in_envoy(build: Build, encoding: Encoding) {
    let upstream = Upstream::start();
    let filter = cors_filter(build, &conformance_policies(), encoding);
    let envoy = Envoy::start(&bootstrap(vec![filter], routes(), upstream.port));
    let failures = failures(|case| {
        let before = upstream.requests_to(case.path).len();
        let response = envoy.request(case.method, case.path, case.headers);
        (response, upstream.requests_to(case.path).len() > before)
    });
    assert!(
        failures.is_empty(),
        "{build:?}, {encoding:?}:\n{}",
        failures.join("\n")
    );
}

/// The same cases with the module in the wasmtime harness, configured with these bytes.
fn run_in_harness(configuration: &[u8]) {
    let mut host = Host::real();
    assert!(
        host.start(configuration).unwrap(),
        "{:?}",
        host.state().logs
    );
    let failures = failures(|case| {
        let upstream_reply = Reply::Upstream(vec![(b":status".to_vec(), b"200".to_vec())]);
        let exchange = host
            .exchange(harness_request(case), upstream_reply)
            .unwrap();
        let response = as_response(exchange.response_headers);
        (response, exchange.reached_upstream)
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The request headers as Envoy hands them to the filter: pseudo-headers, lower-case names.
fn harness_request(case: &Case) -> Headers {
    let pseudo = [
        (":method", case.method),
        (":path", case.path),
        (":authority", "gateway.example"),
        (":scheme", "http"),
    ];
    pseudo
        .iter()
        .chain(case.headers)
        .map(|(n, v)| (n.to_ascii_lowercase().into_bytes(), v.as_bytes().to_vec()))
        .collect()
}

/// The headers a client would receive, as a response: `:status` and the rest.
fn as_response(headers: Headers) -> Response {
    let status = headers
        .iter()
        .find(|(n, _)| n == b":status")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
        .expect("a :status");
    let headers = headers
        .into_iter()
        .filter(|(n, _)| !n.starts_with(b":"))
        .map(|(n, v)| (String::from_utf8_lossy(&n).into_owned(), v))
        .collect();
    Response {
        status,
        headers,
        body: Vec::new(),
    }
}

fn the_gateway_api_conformance_cases_pass_in_envoy_with_the_policy_as_json(build: Build) {
    run_in_envoy(build, Encoding::Json);
}

fn the_gateway_api_conformance_cases_pass_in_envoy_with_the_policy_as_yaml(build: Build) {
    run_in_envoy(build, Encoding::Struct);
}

#[test]
fn the_gateway_api_conformance_cases_pass_in_the_wasmtime_harness() {
    let policies = conformance_policies();
    run_in_harness(policies.to_string().as_bytes());
    let Value::Object(object) = &policies else {
        unreachable!("the policies are an object")
    };
    run_in_harness(&structpb::encode(object));
}

/// What cors-wasm adds to the standard holds for a `cors` policy too.
fn a_cors_policy_keeps_what_cors_wasm_adds(build: Build) {
    let upstream = Upstream::start();
    let filter = cors_filter(build, &conformance_policies(), Encoding::Struct);
    let envoy = Envoy::start(&bootstrap(vec![filter], routes(), upstream.port));
    // `*` with credentials echoes the origin, so the answer varies by it.
    let response = envoy.request(
        "GET",
        "/cors-wildcard-methods-headers",
        &[
            ("origin", "https://other.foo.com"),
            ("x-upstream-header", "access-control-allow-origin: *"),
            ("x-upstream-header", "access-control-allow-methods: PATCH"),
        ],
    );
    assert_eq!(
        response.cors(),
        [
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-origin", "https://other.foo.com"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
    );
    assert_eq!(response.header("vary").as_deref(), Some("Origin"));
    // `null` is never echoed with credentials.
    let null = envoy.request(
        "OPTIONS",
        "/cors-wildcard-methods-headers",
        &[("origin", "null"), ("access-control-request-method", "PUT")],
    );
    assert_eq!(null.status, 403);
    assert_eq!(null.cors(), vec![]);
    // maxAge defaults to 5; `*` in allowHeaders does not cover authorization.
    let preflight = |headers: &str| {
        envoy.request(
            "OPTIONS",
            "/cors-wildcard-origin",
            &[
                ("origin", "https://a.example"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", headers),
            ],
        )
    };
    let allowed = preflight("");
    assert_eq!(allowed.status, 204);
    assert_eq!(
        allowed.header("access-control-max-age").as_deref(),
        Some("5")
    );
    let unauth = |headers: &str| {
        envoy.request(
            "OPTIONS",
            "/cors-wildcard-methods-headers-unauth",
            &[
                ("origin", "https://a.example"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", headers),
            ],
        )
    };
    assert_eq!(unauth("x-a").status, 204);
    assert_eq!(unauth("x-a, authorization").status, 403);
    assert!(upstream
        .requests_to("/cors-wildcard-methods-headers-unauth")
        .is_empty());
}

/// What the standard allows but is nearly always a mistake loads, with one warning line each.
fn suspicious_policies() -> Value {
    json!({"policies": [
        {"match": {"path_prefixes": ["/a"]}, "cors": {"allowOrigins": ["https://app.example.com"]}},
        {"match": {"path_prefixes": ["/b"]}, "cors": {"allowOrigins": ["https://*.com", "https://*"]}},
        {"match": {"path_prefixes": ["/c"]}, "cors": {"allowOrigins": ["*"], "allowCredentials": true}},
    ]})
}

const SUSPICIOUS_WARNINGS: [&str; 3] = [
    r#"policies[1].cors.allowOrigins[0]: "https://*.com": allows every site under the top-level domain "com""#,
    r#"policies[1].cors.allowOrigins[1]: "https://*": allows every https origin"#,
    r#"policies[2].cors.allowOrigins[0]: "*": with allowCredentials: true, every website may read responses to requests made with the user's credentials (its origin is echoed)"#,
];

/// In the harness, the module's own log: each warning once, at warn level (3), at configure.
#[test]
fn warnings_are_logged_once_each_at_warn_level() {
    let mut host = Host::real();
    assert!(host
        .start(suspicious_policies().to_string().as_bytes())
        .unwrap());
    let warnings: Vec<String> = host
        .state()
        .logs
        .iter()
        .filter(|log| log.level == 3)
        .map(|log| log.message.clone())
        .collect();
    let expected = SUSPICIOUS_WARNINGS.map(|w| format!("cors-wasm: configuration warning: {w}"));
    assert_eq!(warnings, expected);
}

fn suspicious_patterns_load_with_a_warning_naming_their_path(build: Build) {
    let policy = suspicious_policies();
    for encoding in [Encoding::Json, Encoding::Struct] {
        let upstream = Upstream::start();
        let filter = cors_filter(build, &policy, encoding);
        let envoy = Envoy::start(&bootstrap(vec![filter], routes(), upstream.port));
        let response = envoy.request("GET", "/b", &[("origin", "https://any.host.example")]);
        assert_eq!(
            response.header("access-control-allow-origin").as_deref(),
            Some("https://any.host.example")
        );
        let log = envoy.log();
        let warnings = configuration_warnings(&log);
        let expected = SUSPICIOUS_WARNINGS;
        // Envoy configures the plugin once per thread; each time, the same lines, once each.
        let configures = log.matches("cors-wasm: configured 3 policies").count();
        assert!(configures >= 1, "{encoding:?}: never configured:\n{log}");
        assert_eq!(
            warnings,
            expected.repeat(configures),
            "{encoding:?}:\n{log}"
        );
    }
}

fn mixing_cors_with_native_fields_or_unknown_fields_in_cors_keeps_envoy_from_starting(
    build: Build,
) {
    let policy = json!({"policies": [
        {"cors": {"allowOrigins": ["https://a.com"], "allowOrigin": ["https://b.com"]}},
        {"cors": {"allowOrigins": ["https://a.com"], "maxAge": 0}, "allow_credentials": true},
    ]});
    for encoding in [Encoding::Json, Encoding::Struct] {
        let config = bootstrap(vec![cors_filter(build, &policy, encoding)], routes(), 9);
        let log = Envoy::refuse(&config);
        for expected in [
            "policies[0].cors.allowOrigin: unknown field; did you mean allowOrigins?",
            "policies[1].allow_credentials: cannot be used together with cors; write it as cors.allowCredentials",
            "policies[1].cors.maxAge: 0",
        ] {
            assert!(
                log.contains(expected),
                "{encoding:?}: {expected:?} not in the log:\n{log}"
            );
        }
    }
}

for_both_builds!(
    the_gateway_api_conformance_cases_pass_in_envoy_with_the_policy_as_json,
    the_gateway_api_conformance_cases_pass_in_envoy_with_the_policy_as_yaml,
    a_cors_policy_keeps_what_cors_wasm_adds,
    suspicious_patterns_load_with_a_warning_naming_their_path,
    mixing_cors_with_native_fields_or_unknown_fields_in_cors_keeps_envoy_from_starting,
);
