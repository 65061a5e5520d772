//! The CORS decisions, end to end through `evaluate` and the response plan.

use super::request::HeaderPairs;
use super::{
    evaluate, Action, Denial, Edit, HeaderEdit, HeaderValue, LocalResponse, Outcome, RequestView,
};
use crate::policy::Config;
use serde_json::{json, Value};
use std::cell::RefCell;

const APP: &str = "https://app.example.com";
const VARY: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

fn config(policy: Value) -> Config {
    Config::from_tree(&json!({ "policies": [policy] })).unwrap()
}

fn api() -> Config {
    config(json!({
        "name": "api", "allow_origins": [APP, "null"], "allow_methods": ["PUT", "delete"],
        "allow_headers": ["Content-Type", "authorization"], "expose_headers": ["X-Request-Id"],
        "allow_credentials": true, "max_age": 600,
    }))
}

fn preflight(origin: &str, method: &str, headers: Option<&str>) -> HeaderPairs {
    let mut request = HeaderPairs::new(&[
        (":method", "OPTIONS"),
        ("origin", origin),
        ("access-control-request-method", method),
    ]);
    if let Some(h) = headers {
        request
            .headers
            .push(("access-control-request-headers", h.as_bytes().to_vec()));
    }
    request
}

fn local(config: &Config, request: &HeaderPairs) -> LocalResponse {
    match evaluate(config, request).action {
        Action::Respond(response) => response,
        other => panic!("expected a local response, got {other:?}"),
    }
}

fn owned(list: &[(&'static str, &str)]) -> Vec<(&'static str, HeaderValue)> {
    list.iter()
        .map(|(n, v)| (*n, HeaderValue::Owned(v.to_string())))
        .collect()
}

/// The edits for a response with these upstream headers.
fn edits(config: &Config, request: &HeaderPairs, upstream: &[(&str, &str)]) -> Vec<HeaderEdit> {
    match evaluate(config, request).action {
        Action::Decorate(plan) => plan
            .edits(upstream.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
            .into_iter()
            .map(HeaderEdit::as_set)
            .collect(),
        Action::Nothing => Vec::new(),
        Action::Respond(r) => panic!("unexpected local response {r:?}"),
    }
}

fn set(name: &'static str, value: &str) -> HeaderEdit {
    HeaderEdit::Set(name, value.to_string())
}

#[test]
fn an_allowed_preflight_is_answered_with_the_policy_headers() {
    let response = local(
        &api(),
        &preflight(APP, "PUT", Some("content-type , Authorization")),
    );
    assert_eq!(
        response,
        LocalResponse {
            status: 204,
            headers: owned(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "PUT, DELETE"),
                (
                    "access-control-allow-headers",
                    "content-type, authorization"
                ),
                ("access-control-max-age", "600"),
                ("vary", VARY),
            ]),
        }
    );
}

#[test]
fn safelisted_methods_need_no_listing_and_are_not_rendered_alone() {
    let config = config(json!({"allow_origins": [APP]}));
    let response = local(&config, &preflight(APP, "GET", None));
    assert_eq!(response.status, 204);
    assert_eq!(
        response.headers,
        owned(&[("access-control-allow-origin", APP), ("vary", VARY)])
    );
    assert_eq!(local(&config, &preflight(APP, "post", None)).status, 204);
}

#[test]
fn denied_preflights_get_403_with_only_vary() {
    let denied = |request: HeaderPairs, denial: Denial| {
        let evaluation = evaluate(&api(), &request);
        assert_eq!(evaluation.outcome, Outcome::PreflightDenied(denial));
        let Action::Respond(response) = evaluation.action else {
            panic!("not answered")
        };
        assert_eq!(
            response,
            LocalResponse {
                status: 403,
                headers: owned(&[("vary", VARY)])
            }
        );
    };
    denied(
        preflight("https://evil.example", "PUT", None),
        Denial::Origin(b"https://evil.example".to_vec()),
    );
    denied(
        preflight("https://app.example.com.evil.net", "GET", None),
        Denial::Origin(b"https://app.example.com.evil.net".to_vec()),
    );
    denied(
        preflight("https://APP.example.com", "GET", None),
        Denial::Origin(b"https://APP.example.com".to_vec()),
    );
    denied(
        preflight(APP, "PATCH", None),
        Denial::Method(b"PATCH".to_vec()),
    );
    denied(preflight(APP, "", None), Denial::Method(b"".to_vec()));
    denied(
        preflight(APP, "PUT", Some("content-type, x-other")),
        Denial::Header("x-other".into()),
    );
    denied(
        preflight(APP, "PUT", Some("content-type x-other")),
        Denial::MalformedRequestHeaders(b"content-type x-other".to_vec()),
    );
    let mut pna = preflight(APP, "PUT", None);
    pna.headers
        .push(("access-control-request-private-network", b"true".to_vec()));
    denied(pna, Denial::PrivateNetwork);
}

#[test]
fn method_case_follows_fetch_normalization() {
    let config = config(json!({"allow_origins": [APP], "allow_methods": ["PATCH", "PUT"]}));
    assert_eq!(local(&config, &preflight(APP, "put", None)).status, 204);
    assert_eq!(local(&config, &preflight(APP, "PATCH", None)).status, 204);
    assert_eq!(local(&config, &preflight(APP, "patch", None)).status, 403);
}

#[test]
fn thousands_of_requested_headers_and_odd_spacing_are_handled() {
    let config = config(json!({"allow_origins": [APP], "allow_headers": ["x-a"]}));
    let many = vec!["x-a"; 5000].join(" ,\t,");
    assert_eq!(
        local(&config, &preflight(APP, "GET", Some(&many))).status,
        204
    );
    assert_eq!(
        local(&config, &preflight(APP, "GET", Some(",,, ,"))).status,
        204
    );
    assert_eq!(
        local(&config, &preflight(APP, "GET", Some(&",".repeat(100_000)))).status,
        204
    );
}

#[test]
fn star_policies_echo_what_was_checked_and_never_cover_authorization() {
    let config =
        config(json!({"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"]}));
    let response = local(
        &config,
        &preflight("https://x.example", "PURGE", Some("X-B, x-a")),
    );
    assert_eq!(
        response.headers,
        owned(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-methods", "PURGE"),
            ("access-control-allow-headers", "x-b, x-a"),
            ("vary", VARY),
        ])
    );
    assert_eq!(
        local(
            &config,
            &preflight("https://x.example", "GET", Some("authorization"))
        )
        .status,
        403
    );
    let named =
        self::config(json!({"allow_origins": ["*"], "allow_headers": ["*", "authorization"]}));
    assert_eq!(
        local(
            &named,
            &preflight("https://x.example", "GET", Some("authorization"))
        )
        .status,
        204
    );
}

#[test]
fn private_network_access_is_granted_only_when_allowed_and_asked() {
    let config = config(
        json!({"allow_origins": [APP], "allow_private_network": true, "preflight_status": 200}),
    );
    let vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, \
                Access-Control-Request-Private-Network";
    let mut asked = preflight(APP, "GET", None);
    asked
        .headers
        .push(("access-control-request-private-network", b"true".to_vec()));
    assert_eq!(
        local(&config, &asked),
        LocalResponse {
            status: 200,
            headers: owned(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-private-network", "true"),
                ("vary", vary),
            ]),
        }
    );
    let not_asked = local(&config, &preflight(APP, "GET", None));
    assert_eq!(
        not_asked.headers,
        owned(&[("access-control-allow-origin", APP), ("vary", vary)])
    );
}

#[test]
fn the_null_origin_only_when_listed() {
    assert_eq!(
        local(&api(), &preflight("null", "GET", None)).headers[0],
        ("access-control-allow-origin", "null".into())
    );
    let config = config(json!({"allow_origins": [APP]}));
    assert_eq!(local(&config, &preflight("null", "GET", None)).status, 403);
}

#[test]
fn options_without_request_method_is_an_actual_request() {
    let request = HeaderPairs::new(&[(":method", "OPTIONS"), ("origin", APP)]);
    assert_eq!(evaluate(&api(), &request).outcome, Outcome::ActualAllowed);
}

#[test]
fn an_allowed_actual_response_replaces_every_upstream_cors_header() {
    let request = HeaderPairs::new(&[(":method", "GET"), ("origin", APP)]);
    let upstream = [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-origin", "https://evil.example"),
        ("access-control-max-age", "1"),
        ("vary", "Accept-Encoding"),
        ("vary", "Accept"),
    ];
    assert_eq!(
        edits(&api(), &request, &upstream),
        [
            HeaderEdit::Remove("access-control-max-age".into()),
            set("access-control-allow-origin", APP),
            set("access-control-allow-credentials", "true"),
            set("access-control-expose-headers", "x-request-id"),
            set("vary", "Accept-Encoding, Accept, Origin"),
        ]
    );
}

#[test]
fn a_denied_actual_response_loses_every_cors_header() {
    let request = HeaderPairs::new(&[(":method", "GET"), ("origin", "https://evil.example")]);
    let upstream = [
        ("access-control-allow-origin", "https://evil.example"),
        ("vary", "origin"),
    ];
    assert_eq!(
        edits(&api(), &request, &upstream),
        [HeaderEdit::Remove("access-control-allow-origin".into())]
    );
}

#[test]
fn without_origin_the_upstream_cors_headers_go_and_vary_is_added() {
    let request = HeaderPairs::new(&[(":method", "GET")]);
    let upstream = [
        ("access-control-allow-origin", "https://x.example"),
        ("access-control-allow-credentials", "true"),
    ];
    assert_eq!(
        edits(&api(), &request, &upstream),
        [
            HeaderEdit::Remove("access-control-allow-origin".into()),
            HeaderEdit::Remove("access-control-allow-credentials".into()),
            set("vary", "Origin"),
        ]
    );
    assert_eq!(edits(&api(), &request, &[("vary", "*")]), []);
}

#[test]
fn a_star_policy_answers_a_request_without_origin_the_same() {
    let star = config(json!({"allow_origins": ["*"], "expose_headers": ["x-a"]}));
    let request = HeaderPairs::new(&[(":method", "GET")]);
    let upstream = [
        ("access-control-allow-origin", "https://upstream.example"),
        ("access-control-allow-credentials", "true"),
    ];
    let answer = [
        HeaderEdit::Remove("access-control-allow-credentials".into()),
        set("access-control-allow-origin", "*"),
        set("access-control-expose-headers", "x-a"),
    ];
    assert_eq!(evaluate(&star, &request).outcome, Outcome::NoOrigin);
    assert_eq!(edits(&star, &request, &upstream), answer);
    let with_origin = HeaderPairs::new(&[(":method", "GET"), ("origin", APP)]);
    assert_eq!(edits(&star, &with_origin, &upstream), answer);
    // Even for an Origin refused as too long: the answer does not depend on it.
    let long = format!("{}://x.example.org", "a".repeat(400));
    let refused = HeaderPairs::new(&[(":method", "GET"), ("origin", &long)]);
    assert!(matches!(
        evaluate(&star, &refused).outcome,
        Outcome::ActualDenied(Denial::OversizedOrigin(..))
    ));
    assert_eq!(edits(&star, &refused, &upstream), answer);
}

#[test]
fn a_star_policy_sends_star_and_no_vary() {
    let config = config(json!({"allow_origins": ["*"], "expose_headers": ["*"]}));
    let request = HeaderPairs::new(&[(":method", "GET"), ("origin", "https://x.example")]);
    assert_eq!(
        edits(&config, &request, &[]),
        [
            set("access-control-allow-origin", "*"),
            set("access-control-expose-headers", "*")
        ]
    );
}

#[test]
fn forward_unmatched_preflights_go_upstream_as_actual_requests() {
    let config = config(json!({"allow_origins": [APP], "forward_unmatched_preflights": true}));
    let evaluation = evaluate(&config, &preflight(APP, "PATCH", None));
    assert_eq!(
        evaluation.outcome,
        Outcome::PreflightDenied(Denial::Method(b"PATCH".to_vec()))
    );
    let Action::Decorate(plan) = evaluation.action else {
        panic!("not forwarded")
    };
    let upstream: [(&[u8], &[u8]); 1] = [(b"access-control-allow-methods", b"PATCH")];
    assert_eq!(
        plan.edits(upstream),
        [
            HeaderEdit::Remove("access-control-allow-methods".into()),
            // Absent from the upstream's response: added, which Envoy does for less than a set.
            HeaderEdit::Add("access-control-allow-origin", APP.into()),
            HeaderEdit::Add("vary", "Origin".into()),
        ]
    );
}

#[test]
fn report_only_and_disabled_change_nothing() {
    let report = config(json!({"allow_origins": [APP], "report_only": true}));
    let evaluation = evaluate(&report, &preflight("https://evil.example", "GET", None));
    assert!(matches!(evaluation.outcome, Outcome::PreflightDenied(_)));
    assert!(matches!(evaluation.action, Action::Nothing));
    let disabled = config(json!({"disabled": true}));
    let evaluation = evaluate(&disabled, &preflight(APP, "GET", None));
    assert_eq!(evaluation.outcome, Outcome::Disabled);
    assert!(matches!(evaluation.action, Action::Nothing));
}

/// Records which request facts a decision read.
struct Counting(HeaderPairs, RefCell<Vec<String>>);

impl RequestView for Counting {
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        self.1.borrow_mut().push(name.to_string());
        self.0.header(name)
    }
    fn route_name(&self) -> Option<Vec<u8>> {
        self.1.borrow_mut().push("route".to_string());
        self.0.route_name()
    }
    fn expect_more_headers(&self) {
        self.1.borrow_mut().push("(whole map)".to_string());
    }
}

#[test]
fn policies_are_selected_in_order_reading_only_what_they_match_on() {
    let config = Config::from_tree(&json!({"policies": [
        {"name": "admin", "match": {"routes": ["admin"]}, "disabled": true},
        {"name": "cdn", "match": {"hosts": ["*.cdn.example.com"], "path_prefixes": ["/s/"]}, "allow_origins": ["*"]},
        {"name": "rest", "allow_origins": [APP]},
    ]}))
    .unwrap();
    let pick = |route: Option<&'static str>, headers: &[(&'static str, &str)]| {
        let request = HeaderPairs {
            route,
            ..HeaderPairs::new(headers)
        };
        evaluate(&config, &request)
            .policy
            .map(|(_, p)| p.name.clone())
    };
    assert_eq!(pick(Some("admin"), &[]).as_deref(), Some("admin"));
    assert_eq!(
        pick(
            None,
            &[(":authority", "a.cdn.example.com:443"), (":path", "/s/x?y")]
        )
        .as_deref(),
        Some("cdn")
    );
    assert_eq!(
        pick(
            None,
            &[(":authority", "cdn.example.com"), (":path", "/s/x")]
        )
        .as_deref(),
        Some("rest")
    );
    assert_eq!(
        pick(
            None,
            &[(":authority", "a.cdn.example.com"), (":path", "/t/s/")]
        )
        .as_deref(),
        Some("rest")
    );

    let only_origins = self::config(json!({"allow_origins": [APP]}));
    let counting = Counting(HeaderPairs::new(&[(":method", "GET")]), RefCell::default());
    evaluate(&only_origins, &counting);
    assert_eq!(
        counting.1.into_inner(),
        ["access-control-request-method", "origin"]
    );
}

/// In Envoy a read that finds a value costs a call back into the module: a preflight makes
/// two such reads (its requested method, then the whole map), an actual request one.
#[test]
fn reads_are_ordered_to_find_few_values() {
    let reads = |config: &Config, request: HeaderPairs| {
        let counting = Counting(request, RefCell::default());
        evaluate(config, &counting);
        counting.1.into_inner()
    };
    let actual = HeaderPairs::new(&[(":method", "GET"), ("origin", APP)]);
    assert_eq!(
        reads(&api(), actual),
        ["access-control-request-method", "origin"]
    );
    let asked = reads(&api(), preflight(APP, "PUT", Some("content-type")));
    assert_eq!(asked[..2], ["access-control-request-method", "(whole map)"]);
    let by_host = config(json!({"match": {"hosts": ["a.example"]}, "allow_origins": [APP]}));
    let actual = HeaderPairs::new(&[(":authority", "a.example"), ("origin", APP)]);
    assert_eq!(reads(&by_host, actual)[0], "(whole map)");
}

#[test]
fn route_matched_and_other_policies_keep_their_order() {
    let config = Config::from_tree(&json!({"policies": [
        {"name": "a", "match": {"routes": ["r1"], "hosts": ["a.example"]}, "allow_origins": [APP]},
        {"name": "b", "match": {"path_prefixes": ["/b/"]}, "allow_origins": [APP]},
        {"name": "c", "match": {"routes": ["r2", "r1"]}, "allow_origins": [APP]},
        {"name": "d", "allow_origins": [APP]},
    ]}))
    .unwrap();
    let pick = |route: &'static str, headers: &[(&'static str, &str)]| {
        let request = HeaderPairs {
            route: Some(route),
            ..HeaderPairs::new(headers)
        };
        let selected = evaluate(&config, &request).policy;
        selected.map(|(i, p)| format!("{i} {}", p.name))
    };
    let a = [(":authority", "a.example"), (":path", "/b/x")];
    assert_eq!(pick("r1", &a).as_deref(), Some("0 a"));
    let b = [(":authority", "x.example"), (":path", "/b/x")];
    assert_eq!(pick("r1", &b).as_deref(), Some("1 b"));
    let neither = [(":authority", "x.example"), (":path", "/x")];
    assert_eq!(pick("r1", &neither).as_deref(), Some("2 c"));
    assert_eq!(pick("r2", &neither).as_deref(), Some("2 c"));
    assert_eq!(pick("r3", &neither).as_deref(), Some("3 d"));
}

#[test]
fn no_policy_matched_means_untouched() {
    let config = config(json!({"match": {"path_prefixes": ["/api"]}, "allow_origins": [APP]}));
    let request = HeaderPairs::new(&[(":path", "/other"), ("origin", APP)]);
    let evaluation = evaluate(&config, &request);
    assert_eq!(evaluation.outcome, Outcome::Unmatched);
    assert!(matches!(evaluation.action, Action::Nothing));
}

#[test]
fn denials_read_well_in_a_log_line() {
    assert_eq!(
        Denial::Origin(b"https://e\xff".to_vec()).to_string(),
        r#"origin "https://e\xff" is not allowed"#
    );
    assert_eq!(
        Denial::Header("x-a".into()).to_string(),
        r#"header "x-a" is not allowed"#
    );
    let long = Denial::Method(vec![b'A'; 300]).to_string();
    assert!(
        long.ends_with("\"... is not allowed") && long.len() < 170,
        "{long}"
    );
}

#[test]
fn a_denial_line_quotes_escapes_and_cuts_the_request_value_at_128_bytes() {
    let mut origin = b"https://a\"b\\c\xff".to_vec();
    origin.resize(200, b'x');
    let request = HeaderPairs {
        headers: vec![("origin", origin)],
        route: None,
    };
    let line = evaluate(&api(), &request).denial_line();
    let shown = format!(r#""https://a\"b\\c\xff{}"..."#, "x".repeat(128 - 14));
    assert_eq!(
        line.as_deref(),
        Some(format!("cors-wasm: policy api: denied: origin {shown} is not allowed").as_str())
    );
    let short = HeaderPairs::new(&[("origin", "https://evil.example")]);
    assert_eq!(
        evaluate(&api(), &short).denial_line().as_deref(),
        Some(r#"cors-wasm: policy api: denied: origin "https://evil.example" is not allowed"#)
    );
}

/// README and docs/policy.md: on a `cors` (Gateway API) policy, `disabled`,
/// `allow_private_network`, `preflight_status`, `forward_unmatched_preflights` and
/// `report_only` keep their meaning.
#[test]
fn a_cors_policy_keeps_every_native_option_that_applies_to_it() {
    let cors = |options: Value| {
        let mut policy =
            json!({"name": "gw", "cors": {"allowOrigins": [APP], "allowMethods": ["PUT"]}});
        policy
            .as_object_mut()
            .unwrap()
            .extend(options.as_object().unwrap().clone());
        config(policy)
    };
    let evil = || preflight("https://evil.example", "PUT", None);

    let report = cors(json!({"report_only": true}));
    let evaluation = evaluate(&report, &evil());
    assert!(matches!(evaluation.outcome, Outcome::PreflightDenied(_)));
    assert!(matches!(evaluation.action, Action::Nothing));
    assert_eq!(
        evaluation.denial_line().as_deref(),
        Some(
            r#"cors-wasm: policy gw: denied (report only): origin "https://evil.example" is not allowed"#
        )
    );

    let forward = cors(json!({"forward_unmatched_preflights": true}));
    let evaluation = evaluate(&forward, &evil());
    assert!(matches!(evaluation.outcome, Outcome::PreflightDenied(_)));
    assert!(
        matches!(evaluation.action, Action::Decorate(_)),
        "not forwarded"
    );

    let status = cors(json!({"preflight_status": 200}));
    assert_eq!(local(&status, &preflight(APP, "PUT", None)).status, 200);

    let disabled = cors(json!({"disabled": true}));
    let evaluation = evaluate(&disabled, &evil());
    assert_eq!(evaluation.outcome, Outcome::Disabled);
    assert!(matches!(evaluation.action, Action::Nothing));

    let mut asks_private = preflight(APP, "PUT", None);
    asks_private
        .headers
        .push(("access-control-request-private-network", b"true".to_vec()));
    let private = cors(json!({"allow_private_network": true}));
    let response = local(&private, &asks_private);
    assert!(
        response
            .headers
            .iter()
            .any(|(n, v)| *n == "access-control-allow-private-network" && &**v == "true"),
        "{response:?}"
    );
    assert_eq!(local(&cors(json!({})), &asks_private).status, 403);
}

/// The Gateway API's answer to an allowed preflight: its methods and headers as written,
/// `exposeHeaders` on the preflight too, and `maxAge` 5 when none is written.
#[test]
fn a_cors_policy_answers_a_preflight_with_its_lists_as_written() {
    let gateway = config(json!({"name": "gw", "cors": {
        "allowOrigins": [APP], "allowMethods": ["GET", "PUT"],
        "allowHeaders": ["X-Token", "content-type"], "exposeHeaders": ["X-Request-Id"]}}));
    assert_eq!(
        local(&gateway, &preflight(APP, "PUT", Some("x-token"))),
        LocalResponse {
            status: 204,
            headers: owned(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-methods", "GET, PUT"),
                ("access-control-allow-headers", "X-Token, content-type"),
                ("access-control-expose-headers", "X-Request-Id"),
                ("access-control-max-age", "5"),
                ("vary", VARY),
            ]),
        }
    );
}

#[test]
fn origins_longer_than_any_real_one_are_denied_as_such() {
    let config = config(json!({"name": "api", "allow_origin_regexes": [".*"]}));
    let long = format!("{}://x.example.org", "a".repeat(58_000));
    let evaluation = evaluate(&config, &HeaderPairs::new(&[("origin", &long)]));
    let line = evaluation.denial_line().unwrap();
    let shown = format!(r#""{}"..."#, "a".repeat(128));
    assert_eq!(
        line,
        format!(
            "cors-wasm: policy api: denied: origin {shown} is not allowed: 58016 bytes, \
             longer than any real origin (at most 300)"
        )
    );
    assert_eq!(
        edits(&config, &HeaderPairs::new(&[("origin", &long)]), &[]),
        [set("vary", "Origin")]
    );
    let scheme = format!("{}://x.example.org", "a".repeat(33));
    let denied = evaluate(&config, &preflight(&scheme, "GET", None));
    assert_eq!(
        denied.denial_line().unwrap(),
        format!(
            "cors-wasm: policy api: denied: origin \"{scheme}\" is not allowed: a scheme of 33 \
             bytes, longer than any real one (at most 32)"
        )
    );
    assert!(matches!(
        denied.action,
        Action::Respond(LocalResponse { status: 403, .. })
    ));
    let fits = format!("{}://x.example.org", "a".repeat(32));
    assert_eq!(local(&config, &preflight(&fits, "GET", None)).status, 204);
}

#[test]
fn a_star_policy_echoes_each_requested_header_once() {
    let config = config(json!({"allow_origins": ["*"], "allow_headers": ["*"]}));
    let header = |list: &str| {
        let response = local(&config, &preflight(APP, "GET", Some(list)));
        let value = response
            .headers
            .iter()
            .find(|(n, _)| *n == "access-control-allow-headers");
        value.map(|(_, v)| v.to_string())
    };
    assert_eq!(
        header("X-B, x-a, x-b, X-A, x-c").as_deref(),
        Some("x-b, x-a, x-c")
    );
    assert_eq!(
        header(&vec!["x-a"; 12_000].join(",")).as_deref(),
        Some("x-a")
    );
}

/// `timing_allow_origin`: `Timing-Allow-Origin` with the allowed origin (or `*`) on allowed
/// actual responses only, set like `Access-Control-Allow-Origin` (the upstream's replaced).
#[test]
fn timing_allow_origin_follows_the_allowed_origin_on_actual_responses() {
    let timed = config(json!({"allow_origins": [APP], "timing_allow_origin": true}));
    let get = |origin: &str| HeaderPairs::new(&[(":method", "GET"), ("origin", origin)]);
    assert_eq!(
        edits(&timed, &get(APP), &[]),
        [
            set("access-control-allow-origin", APP),
            set("timing-allow-origin", APP),
            set("vary", "Origin"),
        ]
    );
    let star = config(json!({"allow_origins": ["*"], "timing_allow_origin": true}));
    assert_eq!(
        edits(&star, &get(APP), &[]),
        [
            set("access-control-allow-origin", "*"),
            set("timing-allow-origin", "*"),
        ]
    );
    // Denied, without Origin, or not asked for: the upstream's own value is left alone.
    let upstream = [("timing-allow-origin", "*")];
    let evil = edits(&timed, &get("https://evil.example"), &upstream);
    assert_eq!(evil, [set("vary", "Origin")]);
    let no_origin = HeaderPairs::new(&[(":method", "GET")]);
    assert_eq!(
        edits(&timed, &no_origin, &upstream),
        [set("vary", "Origin")]
    );
    let untimed = config(json!({"allow_origins": [APP]}));
    assert_eq!(
        edits(&untimed, &get(APP), &upstream),
        [
            set("access-control-allow-origin", APP),
            set("vary", "Origin"),
        ]
    );
    // A preflight is not an actual response.
    let response = local(&timed, &preflight(APP, "GET", None));
    assert!(
        response
            .headers
            .iter()
            .all(|(n, _)| *n != "timing-allow-origin"),
        "{response:?}"
    );
}

#[test]
fn timing_allow_origin_replaces_the_upstreams_and_adds_when_absent() {
    let timed = config(json!({"allow_origins": [APP], "timing_allow_origin": true}));
    let request = HeaderPairs::new(&[(":method", "GET"), ("origin", APP)]);
    let Action::Decorate(plan) = evaluate(&timed, &request).action else {
        panic!("not decorated")
    };
    let timing_edits = |upstream: &[(&[u8], &[u8])]| {
        let mut found = Vec::new();
        plan.each_edit(upstream.iter().copied(), |edit| {
            let name = match edit {
                Edit::Set(n, _) | Edit::Add(n, _) => n,
                Edit::Remove(n) => n,
            };
            if name == "timing-allow-origin" {
                found.push(format!("{edit:?}"));
            }
        });
        found
    };
    assert_eq!(
        timing_edits(&[(b"timing-allow-origin", b"*")]),
        [format!("Set(\"timing-allow-origin\", \"{APP}\")")]
    );
    assert_eq!(
        timing_edits(&[]),
        [format!("Add(\"timing-allow-origin\", \"{APP}\")")]
    );
}

#[test]
fn edits_describe_themselves_for_a_log_line() {
    let described = [
        HeaderEdit::Set("access-control-allow-origin", APP.into()),
        HeaderEdit::Add("vary", "Origin".into()),
        HeaderEdit::Remove("access-control-max-age".into()),
    ]
    .map(|edit| edit.describe());
    assert_eq!(
        described,
        [
            "set response header access-control-allow-origin",
            "add response header vary",
            "remove response header access-control-max-age",
        ]
    );
}

/// Hosts write a local response's values through `AsRef<[u8]>`, and tests compare them by
/// content, whichever way each is held (killed mutants of `header.rs`: docs/mutants.md).
#[test]
fn a_header_value_is_its_text_however_it_is_held() {
    let held = [
        HeaderValue::Static("Origin"),
        HeaderValue::Shared("Origin".into()),
        HeaderValue::Owned("Origin".into()),
    ];
    for value in &held {
        let bytes: &[u8] = value.as_ref();
        assert_eq!(bytes, b"Origin", "{value:?}");
        assert!(held.iter().all(|other| other == value), "{value:?}");
        assert_ne!(*value, HeaderValue::Static("Origin, Accept"), "{value:?}");
        assert_ne!(*value, HeaderValue::Owned(String::new()), "{value:?}");
    }
}
