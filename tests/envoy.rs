//! The filter in a real Envoy, over real HTTP on loopback, against an upstream that records
//! what reaches it. Each test starts its own Envoy and upstream, and stops them on drop.

#[macro_use]
mod support;

use serde_json::{json, Value};
use support::envoy::{bootstrap, configuration_warnings, cors_filter, Build, Encoding, Envoy};
use support::http::{self, Response};
use support::upstream::Upstream;

type Headers<'a> = Vec<(&'a str, &'a str)>;

const APP: &str = "https://app.example.com";
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// Several policies, selected by route, host and path, in front of these routes.
fn policies() -> Value {
    json!({"policies": [
        {"name": "admin", "match": {"routes": ["admin-route"]}, "disabled": true},
        {"name": "forwarding", "match": {"path_prefixes": ["/forward/"]},
         "allow_origins": [APP], "allow_methods": ["PUT"], "forward_unmatched_preflights": true},
        {"name": "public", "match": {"hosts": ["*.public.example.com"]},
         "allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"],
         "expose_headers": ["x-request-id"], "max_age": 60, "preflight_status": 200},
        {"name": "report", "match": {"path_prefixes": ["/report/"]},
         "allow_origins": [APP], "report_only": true},
        {"name": "api",
         "allow_origins": [APP, "https://*.example.com", "http://localhost:*"],
         "allow_methods": ["PUT", "DELETE"], "allow_headers": ["content-type", "authorization"],
         "expose_headers": ["x-request-id"], "allow_credentials": true, "max_age": 600},
    ]})
}

fn routes() -> Value {
    json!([
        {"name": "direct-401", "match": {"prefix": "/direct-401"},
         "direct_response": {"status": 401, "body": {"inline_string": "no"}}},
        {"name": "admin-route", "match": {"prefix": "/admin"}, "route": {"cluster": "upstream"}},
        {"name": "api-route", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}},
    ])
}

fn start(build: Build, encoding: Encoding) -> (Envoy, Upstream) {
    let upstream = Upstream::start();
    let config = bootstrap(
        vec![cors_filter(build, &policies(), encoding)],
        routes(),
        upstream.port,
    );
    (Envoy::start(&config), upstream)
}

fn preflight(
    envoy: &Envoy,
    path: &str,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> Response {
    let mut list = vec![
        ("origin", origin),
        ("access-control-request-method", method),
    ];
    list.extend(headers.map(|h| ("access-control-request-headers", h)));
    envoy.request("OPTIONS", path, &list)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn an_allowed_preflight_is_answered_by_envoy_and_never_reaches_the_upstream(build: Build) {
    let (envoy, upstream) = start(build, Encoding::Struct);
    let response = preflight(
        &envoy,
        "/p1",
        APP,
        "PUT",
        Some("Content-Type, Authorization"),
    );
    assert_eq!(response.status, 204);
    assert_eq!(
        response.cors(),
        pairs(&[
            ("access-control-allow-credentials", "true"),
            (
                "access-control-allow-headers",
                "content-type, authorization"
            ),
            ("access-control-allow-methods", "PUT, DELETE"),
            ("access-control-allow-origin", APP),
            ("access-control-max-age", "600"),
        ])
    );
    assert_eq!(response.header("vary").as_deref(), Some(PREFLIGHT_VARY));
    assert!(response.body.is_empty());
    assert!(upstream.requests_to("/p1").is_empty());
}

fn a_denied_preflight_gets_403_with_only_vary(build: Build) {
    let (envoy, upstream) = start(build, Encoding::Struct);
    let cases = [
        ("/d1", "https://evil.example", "PUT", None),
        ("/d2", "https://app.example.com.evil.net", "PUT", None),
        ("/d3", APP, "PATCH", None),
        ("/d4", APP, "PUT", Some("x-not-allowed")),
        ("/d5", APP, "PUT", Some("content-type, x-not-allowed")),
        ("/d6", APP, "PUT", Some("content-type;")),
    ];
    for (path, origin, method, headers) in cases {
        let response = preflight(&envoy, path, origin, method, headers);
        assert_eq!(response.status, 403, "{path}");
        assert_eq!(response.cors(), vec![], "{path}");
        assert_eq!(
            response.header("vary").as_deref(),
            Some(PREFLIGHT_VARY),
            "{path}"
        );
        assert!(response.body.is_empty(), "{path}");
        assert!(upstream.requests_to(path).is_empty(), "{path}");
    }
}

fn forward_unmatched_preflights_sends_a_denied_preflight_upstream(build: Build) {
    let (envoy, upstream) = start(build, Encoding::Struct);
    let response = envoy.request(
        "OPTIONS",
        "/forward/x",
        &[
            ("origin", APP),
            ("access-control-request-method", "PATCH"),
            ("x-upstream-header", "access-control-allow-methods: PATCH"),
        ],
    );
    assert_eq!(response.status, 200);
    let seen = upstream.requests_to("/forward/x");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "OPTIONS");
    // Treated as an actual response: the origin is allowed, the upstream's CORS header goes.
    assert_eq!(
        response.cors(),
        pairs(&[("access-control-allow-origin", APP)])
    );
    assert_eq!(response.header("vary").as_deref(), Some("Origin"));
    // An allowed preflight on the same policy is still answered by Envoy.
    let allowed = preflight(&envoy, "/forward/y", APP, "PUT", None);
    assert_eq!(allowed.status, 204);
    assert!(upstream.requests_to("/forward/y").is_empty());
}

fn actual_responses_get_the_policy_headers_and_only_those(build: Build) {
    let (envoy, upstream) = start(build, Encoding::Struct);
    let upstream_cors = [
        (
            "x-upstream-header",
            "access-control-allow-origin: https://evil.example",
        ),
        ("x-upstream-header", "access-control-allow-methods: PATCH"),
        (
            "x-upstream-header",
            "access-control-allow-credentials: false",
        ),
        ("x-upstream-header", "vary: Accept-Encoding"),
    ];
    let mut headers = vec![("origin", APP)];
    headers.extend(upstream_cors);
    let allowed = envoy.request("GET", "/a1", &headers);
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.cors(),
        pairs(&[
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-origin", APP),
            ("access-control-expose-headers", "x-request-id"),
        ])
    );
    assert_eq!(
        allowed.header("vary").as_deref(),
        Some("Accept-Encoding, Origin")
    );
    assert_eq!(upstream.requests_to("/a1").len(), 1);

    headers[0] = ("origin", "https://evil.example");
    let denied = envoy.request("GET", "/a2", &headers);
    assert_eq!(denied.status, 200);
    assert_eq!(denied.cors(), vec![]);
    assert_eq!(
        denied.header("vary").as_deref(),
        Some("Accept-Encoding, Origin")
    );
}

fn vary_is_merged_never_duplicated(build: Build) {
    let (envoy, _upstream) = start(build, Encoding::Struct);
    let vary_after = |upstream_vary: &[&str]| {
        let mut headers = vec![("origin", APP)];
        let lines: Vec<String> = upstream_vary.iter().map(|v| format!("vary: {v}")).collect();
        headers.extend(lines.iter().map(|l| ("x-upstream-header", l.as_str())));
        envoy.request("GET", "/v", &headers).all("vary")
    };
    assert_eq!(vary_after(&[]), ["Origin"]);
    assert_eq!(vary_after(&["origin"]), ["origin"]);
    assert_eq!(vary_after(&["Accept, Origin"]), ["Accept, Origin"]);
    assert_eq!(vary_after(&["*"]), ["*"]);
    assert_eq!(
        vary_after(&["Accept", "Accept-Language"]),
        ["Accept, Accept-Language, Origin"]
    );
}

fn a_request_without_origin_loses_the_upstreams_cors_headers_and_gets_vary(build: Build) {
    let (envoy, upstream) = start(build, Encoding::Struct);
    let upstream_cors = [
        (
            "x-upstream-header",
            "access-control-allow-origin: https://upstream.example",
        ),
        (
            "x-upstream-header",
            "access-control-allow-credentials: true",
        ),
    ];
    let response = envoy.request("GET", "/n1", &upstream_cors);
    assert_eq!(response.status, 200);
    assert_eq!(response.cors(), vec![]);
    assert_eq!(response.header("vary").as_deref(), Some("Origin"));
    assert_eq!(upstream.requests_to("/n1").len(), 1);
    // A `*` policy answers the same with or without Origin, so a shared cache cannot keep
    // the upstream's answer for browsers.
    let mut headers = upstream_cors.to_vec();
    headers.push(("host", "a.public.example.com"));
    let star = envoy.request("GET", "/n2", &headers);
    assert_eq!(
        star.cors(),
        pairs(&[
            ("access-control-allow-origin", "*"),
            ("access-control-expose-headers", "x-request-id"),
        ])
    );
    assert_eq!(star.header("vary"), None);
}

fn a_local_reply_from_envoy_itself_carries_the_cors_headers(build: Build) {
    let (envoy, _upstream) = start(build, Encoding::Struct);
    let response = envoy.request("GET", "/direct-401", &[("origin", APP)]);
    assert_eq!(response.status, 401);
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert_eq!(
        response
            .header("access-control-allow-credentials")
            .as_deref(),
        Some("true")
    );
    assert_eq!(response.header("vary").as_deref(), Some("Origin"));
    let denied = envoy.request("GET", "/direct-401", &[("origin", "https://evil.example")]);
    assert_eq!(denied.cors(), vec![]);
}

fn policies_are_selected_by_route_host_and_path(build: Build) {
    let (envoy, upstream) = start(build, Encoding::Struct);
    // Route "admin-route": a disabled policy, so the preflight goes upstream untouched.
    let admin = preflight(&envoy, "/admin/x", APP, "PUT", None);
    assert_eq!(admin.status, 200);
    assert_eq!(upstream.requests_to("/admin/x").len(), 1);
    assert_eq!(admin.header("vary"), None);

    // Host "*.public.example.com": the public policy, "*" and preflight_status 200.
    let public = envoy.request(
        "OPTIONS",
        "/h1",
        &[
            ("host", "cdn.public.example.com"),
            ("origin", "https://anyone.example"),
            ("access-control-request-method", "PATCH"),
            ("access-control-request-headers", "x-a, x-b"),
        ],
    );
    assert_eq!(public.status, 200);
    assert_eq!(
        public.cors(),
        pairs(&[
            ("access-control-allow-headers", "x-a, x-b"),
            ("access-control-allow-methods", "PATCH"),
            ("access-control-allow-origin", "*"),
            ("access-control-max-age", "60"),
        ])
    );
    let public_get = envoy.request(
        "GET",
        "/h2",
        &[
            ("host", "cdn.public.example.com:8443"),
            ("origin", "https://x.example"),
        ],
    );
    assert_eq!(
        public_get.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert_eq!(public_get.header("vary"), None);

    // The apex is not a subdomain: it falls through to the api policy.
    let apex = envoy.request(
        "GET",
        "/h3",
        &[
            ("host", "public.example.com"),
            ("origin", "https://x.example"),
        ],
    );
    assert_eq!(apex.cors(), vec![]);
    assert_eq!(apex.header("vary").as_deref(), Some("Origin"));

    // Path "/report/": report_only decides but changes nothing.
    let report = preflight(&envoy, "/report/x", "https://evil.example", "PUT", None);
    assert_eq!(report.status, 200);
    assert_eq!(upstream.requests_to("/report/x").len(), 1);
}

/// The same requests against both encodings of the same policy give the same answers.
fn both_configuration_encodings_behave_the_same(build: Build) {
    let answers = |encoding| {
        let (envoy, _upstream) = start(build, encoding);
        let requests: Vec<(&str, &str, Headers)> = vec![
            (
                "OPTIONS",
                "/e1",
                vec![("origin", APP), ("access-control-request-method", "DELETE")],
            ),
            (
                "OPTIONS",
                "/e2",
                vec![
                    ("origin", "http://localhost:3000"),
                    ("access-control-request-method", "PUT"),
                ],
            ),
            (
                "OPTIONS",
                "/e3",
                vec![("origin", APP), ("access-control-request-method", "PATCH")],
            ),
            ("GET", "/e4", vec![("origin", "https://a.b.example.com")]),
            ("GET", "/e5", vec![("origin", "https://example.com")]),
            ("GET", "/direct-401", vec![("origin", APP)]),
            (
                "OPTIONS",
                "/forward/e",
                vec![("origin", APP), ("access-control-request-method", "GET")],
            ),
        ];
        requests
            .into_iter()
            .map(|(method, path, headers)| {
                let r = envoy.request(method, path, &headers);
                (path, r.status, r.cors(), r.all("vary"))
            })
            .collect::<Vec<_>>()
    };
    let from_json = answers(Encoding::Json);
    let from_struct = answers(Encoding::Struct);
    assert_eq!(from_json, from_struct);
    assert_eq!(from_json[0].1, 204);
    assert_eq!(from_json[2].1, 403);
}

fn an_invalid_configuration_keeps_envoy_from_starting_and_names_every_error(build: Build) {
    let policy = json!({"policies": [
        {"allow_origins": ["https://app.example.com/"]},
        {"allow_origins": ["https://*.com"], "max_age": 90000, "allow_method": ["PUT"]},
    ]});
    for encoding in [Encoding::Json, Encoding::Struct] {
        let config = bootstrap(vec![cors_filter(build, &policy, encoding)], routes(), 9);
        let log = Envoy::refuse(&config);
        for expected in [
            r#"policies[0].allow_origins[0]: "https://app.example.com/": an origin has no trailing slash"#,
            r#"policies[1].allow_origins[0]: "https://*.com": a wildcard needs at least two labels after it"#,
            "policies[1].max_age: 90000",
            "policies[1].allow_method: unknown field",
        ] {
            assert!(
                log.contains(expected),
                "{encoding:?}: {expected:?} not in the log:\n{log}"
            );
        }
    }
}

fn non_utf8_and_repeated_origins_get_a_defined_answer(build: Build) {
    let (envoy, upstream) = start(build, Encoding::Struct);
    let bad = http::send(
        envoy.port,
        "GET",
        "/u1",
        &[("origin", b"https://app.example.com\xff")],
    );
    assert_eq!(bad.status, 200);
    assert_eq!(bad.cors(), vec![]);
    let repeated = http::send(
        envoy.port,
        "GET",
        "/u2",
        &[
            ("origin", b"https://evil.example"),
            ("origin", APP.as_bytes()),
        ],
    );
    assert_eq!(repeated.status, 200);
    assert!(repeated.all("access-control-allow-origin").len() <= 1);
    assert_ne!(
        repeated.header("access-control-allow-origin").as_deref(),
        Some("https://evil.example")
    );
    assert_eq!(upstream.requests_to("/u2").len(), 1);
}

/// `envoy/envoy.yaml` (wasm) and `envoy/dynamic-module.yaml` as shipped, on free ports: a
/// curl-style preflight is answered as POLICY.md says.
fn the_shipped_envoy_yaml_answers_a_preflight(build: Build) {
    let upstream = Upstream::start();
    let shipped = match build {
        Build::Wasm => "envoy.yaml",
        Build::DynamicModule => "dynamic-module.yaml",
    };
    let envoy = support::shipped::start(shipped, upstream.port);
    let response = preflight(
        &envoy,
        "/api/orders",
        "https://pr-7.preview.example.com",
        "PATCH",
        Some("content-type"),
    );
    assert_eq!(response.status, 204);
    assert_eq!(
        response.cors(),
        pairs(&[
            ("access-control-allow-credentials", "true"),
            (
                "access-control-allow-headers",
                "content-type, authorization, x-request-id"
            ),
            ("access-control-allow-methods", "PUT, PATCH, DELETE"),
            (
                "access-control-allow-origin",
                "https://pr-7.preview.example.com"
            ),
            ("access-control-max-age", "600"),
        ])
    );
    assert_eq!(response.header("vary").as_deref(), Some(PREFLIGHT_VARY));
    assert!(upstream.requests_to("/api/orders").is_empty());
    let health = envoy.request("GET", "/healthz", &[("origin", "https://monitor.example")]);
    assert_eq!(
        health.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
}

/// A policy that can never apply loads, with one warning line per configure in Envoy's log.
fn an_unreachable_policy_is_warned_about_when_envoy_configures_it(build: Build) {
    let policy = json!({"policies": [
        {"name": "api", "match": {"path_prefixes": ["/api/"]}, "allow_origins": [APP]},
        {"name": "api-v1", "match": {"path_prefixes": ["/api/v1/"]}, "allow_origins": ["*"]},
    ]});
    let upstream = Upstream::start();
    let filter = cors_filter(build, &policy, Encoding::Struct);
    let envoy = Envoy::start(&bootstrap(vec![filter], routes(), upstream.port));
    let response = envoy.request("GET", "/api/v1/x", &[("origin", APP)]);
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    let log = envoy.log();
    let warnings = configuration_warnings(&log);
    let configures = log.matches("cors-wasm: configured 2 policies").count();
    assert!(configures >= 1, "never configured:\n{log}");
    let expected =
        "policies[1]: never applies: every request it matches is taken first by policies[0] (api)";
    assert_eq!(warnings, vec![expected; configures], "{log}");
}

/// The filter state key each build records its decision under.
fn decision_key(build: Build) -> &'static str {
    match build {
        Build::Wasm => "wasm.cors_wasm",
        Build::DynamicModule => "cors_wasm",
    }
}

/// Envoy with `config` and a stdout access log of `format` (stdout is Envoy's log file here).
fn start_with_access_log(build: Build, config: &Value, format: &str) -> (Envoy, Upstream) {
    let upstream = Upstream::start();
    let mut bootstrap = bootstrap(
        vec![cors_filter(build, config, Encoding::Struct)],
        routes(),
        upstream.port,
    );
    let manager = &mut bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
        [0]["typed_config"];
    manager["access_log"] = json!([{
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"text_format_source": {"inline_string": format}},
        },
    }]);
    (Envoy::start(&bootstrap), upstream)
}

/// The access log's lines, once there are `count` (Envoy flushes it every 10 s by default).
fn access_lines(envoy: &Envoy, count: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let lines: Vec<String> = envoy
            .log()
            .lines()
            .filter(|l| l.starts_with("access: "))
            .map(str::to_string)
            .collect();
        if lines.len() >= count || std::time::Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `record_decisions`: each matched request's decision in Envoy's access log, through the
/// format operator docs/operations.md shows (`wasm.cors_wasm` for the wasm module, set with
/// proxy_set_property; `cors_wasm` for the dynamic module).
fn record_decisions_puts_each_decision_in_envoys_access_log(build: Build) {
    let mut config = policies();
    config["record_decisions"] = json!(true);
    let format = format!(
        "access: %REQ(:PATH)% %RESPONSE_CODE% %FILTER_STATE({}:PLAIN)%\n",
        decision_key(build)
    );
    let (envoy, _upstream) = start_with_access_log(build, &config, &format);
    envoy.request("GET", "/a/1", &[("origin", "https://evil.example")]);
    envoy.request("GET", "/a/2", &[("origin", APP)]);
    preflight(&envoy, "/a/3", APP, "PATCH", None);
    envoy.request("GET", "/report/4", &[("origin", "https://evil.example")]);
    envoy.request("GET", "/admin/5", &[("origin", APP)]);
    envoy.request("GET", "/a/6", &[]);
    let expected = [
        r#"access: /a/1 200 actual_denied policy=api origin "https://evil.example" is not allowed"#,
        "access: /a/2 200 actual_allowed policy=api",
        r#"access: /a/3 403 preflight_denied policy=api method "PATCH" is not allowed"#,
        r#"access: /report/4 200 actual_denied policy=report report_only origin "https://evil.example" is not allowed"#,
        "access: /admin/5 200 disabled policy=admin",
        "access: /a/6 200 no_origin policy=api",
    ];
    assert_eq!(
        access_lines(&envoy, expected.len()),
        expected,
        "{}",
        envoy.log()
    );
}

/// Without `record_decisions` the filter sets no filter state: the operator prints `-`.
fn without_record_decisions_the_access_log_has_no_decision(build: Build) {
    let format = format!(
        "access: %REQ(:PATH)% %FILTER_STATE({}:PLAIN)%\n",
        decision_key(build)
    );
    let (envoy, _upstream) = start_with_access_log(build, &policies(), &format);
    envoy.request("GET", "/a/1", &[("origin", "https://evil.example")]);
    assert_eq!(
        access_lines(&envoy, 1),
        ["access: /a/1 -"],
        "{}",
        envoy.log()
    );
}

for_both_builds!(
    record_decisions_puts_each_decision_in_envoys_access_log,
    without_record_decisions_the_access_log_has_no_decision,
    an_unreachable_policy_is_warned_about_when_envoy_configures_it,
    an_allowed_preflight_is_answered_by_envoy_and_never_reaches_the_upstream,
    a_denied_preflight_gets_403_with_only_vary,
    forward_unmatched_preflights_sends_a_denied_preflight_upstream,
    actual_responses_get_the_policy_headers_and_only_those,
    vary_is_merged_never_duplicated,
    a_request_without_origin_loses_the_upstreams_cors_headers_and_gets_vary,
    a_local_reply_from_envoy_itself_carries_the_cors_headers,
    policies_are_selected_by_route_host_and_path,
    both_configuration_encodings_behave_the_same,
    an_invalid_configuration_keeps_envoy_from_starting_and_names_every_error,
    non_utf8_and_repeated_origins_get_a_defined_answer,
    the_shipped_envoy_yaml_answers_a_preflight,
);
