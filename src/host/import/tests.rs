//! The importers on small sources: what they write, what they list, and their errors.

use super::{import, Import, Kind};
use crate::host::explain::{explain_json, Request};
use crate::policy::Config;

fn envoy(yaml: &str) -> Import {
    import("envoy", yaml).unwrap_or_else(|e| panic!("{e}"))
}

/// Each imported policy's `match`, as JSON text.
fn matches(imported: &Import) -> Vec<String> {
    let matches = imported.policies.iter().map(|p| p["match"].to_string());
    matches.collect()
}

/// The decision the imported configuration gives `method url` with `headers`.
fn decide(imported: &Import, line: &str, headers: &[&str], route: Option<&str>) -> String {
    let yaml = imported.yaml();
    let tree = &crate::encoding::yaml::parse(&yaml).unwrap()[0];
    let config = Config::from_tree(tree).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut request = Request::from_line(line, &headers).unwrap();
    request.route = route.map(str::to_string);
    let out = explain_json(&config, &request);
    let policy = out["policy"]["name"].as_str().unwrap_or("-").to_string();
    format!("{policy}: {}", out["decision"].as_str().unwrap())
}

fn kinds(imported: &Import) -> Vec<(String, Kind)> {
    imported
        .changes
        .iter()
        .map(|c| (c.policy.clone(), c.kind))
        .collect()
}

const VHOST_POLICY: &str = r#"
static_resources:
  listeners:
  - filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          route_config:
            virtual_hosts:
            - name: api
              domains: [api.example.com]
              typed_per_filter_config:
                envoy.filters.http.cors:
                  "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                  allow_origin_string_match:
                  - exact: https://app.example.com
                  - suffix: .partner.com
                  - safe_regex: {regex: "https://[a-z]+\\.test"}
                  allow_methods: "GET, PUT,delete"
                  allow_headers: "Content-Type,X-Token"
                  expose_headers: x-request-id
                  max_age: "600"
                  allow_credentials: true
              routes:
              - match: {prefix: /}
                route: {cluster: upstream}
            - name: public
              domains: ["*"]
              routes:
              - match: {prefix: /}
                route: {cluster: upstream}
          http_filters:
          - name: envoy.filters.http.cors
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors}
          - name: envoy.filters.http.router
"#;

#[test]
fn a_virtual_host_policy_becomes_one_policy_for_its_domains() {
    let imported = envoy(VHOST_POLICY);
    let yaml = imported.yaml();
    assert_eq!(
        yaml,
        r#"policies:
  - name: "api"
    match:
      hosts: ["api.example.com"]
    allow_origins: ["https://app.example.com"]
    allow_origin_regexes: [".*\\.partner\\.com", "https://[a-z]+\\.test"]
    allow_methods: ["GET", "PUT", "DELETE"]
    allow_headers: ["content-type", "x-token"]
    expose_headers: ["x-request-id"]
    allow_credentials: true
    max_age: 600
    preflight_status: 200
    forward_unmatched_preflights: true
"#
    );
    let ask = |method: &str| format!("Access-Control-Request-Method: {method}");
    let from_app = "Origin: https://app.example.com";
    let preflight = "OPTIONS https://api.example.com/x";
    assert_eq!(
        decide(&imported, preflight, &[from_app, &ask("DELETE")], None),
        "api: preflight_allowed"
    );
    assert_eq!(
        decide(&imported, preflight, &[from_app, &ask("PATCH")], None),
        "api: preflight_denied"
    );
    let partner = "Origin: https://shop.partner.com";
    assert_eq!(
        decide(&imported, "GET https://api.example.com/", &[partner], None),
        "api: actual_allowed"
    );
    assert_eq!(
        decide(&imported, "GET https://www.example.com/", &[partner], None),
        "-: unmatched"
    );
    let listed = kinds(&imported);
    for kind in [
        Kind::PreflightMethod,
        Kind::PreflightHeaders,
        Kind::PrivateNetwork,
        Kind::Vary,
        Kind::UpstreamHeaders,
        Kind::ExposeOnPreflight,
    ] {
        assert!(
            listed.contains(&("api".into(), kind)),
            "{kind:?} not in {listed:?}"
        );
    }
    assert!(
        !listed.iter().any(|(_, k)| *k == Kind::DeniedPreflight),
        "{listed:?}"
    );
    let method_line = &imported
        .changes
        .iter()
        .find(|c| c.kind == Kind::PreflightMethod)
        .unwrap();
    assert_eq!(method_line.at, "virtual host api");
    assert!(
        method_line
            .text
            .contains("asking PATCH or any method but GET, HEAD, POST, PUT, DELETE were"),
        "{}",
        method_line.text
    );
}

/// A route's own policy overrides its virtual host's field by field, as Envoy merges them;
/// a route answering itself gets no CORS; named routes are matched by name.
#[test]
fn route_policies_merge_over_the_virtual_host_field_by_field() {
    let source = r#"
virtual_hosts:
- name: shop
  domains: ["*"]
  typed_per_filter_config:
    cors:
      "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
      allow_origin_string_match: [{exact: "https://shop.example"}]
      allow_methods: PUT
      forward_not_matching_preflights: false
  routes:
  - name: orders
    match: {prefix: /orders}
    route: {cluster: upstream}
    typed_per_filter_config:
      cors:
        "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
        allow_methods: "*"
        allowCredentials: true
  - name: health
    match: {path: /health}
    direct_response: {status: 200}
  - name: shadow
    match: {prefix: /shadow}
    route: {cluster: upstream}
    typed_per_filter_config:
      cors:
        "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
        shadow_enabled: {default_value: {numerator: 100}}
        filter_enabled: {default_value: {numerator: 0}}
  - name: rest
    match: {prefix: /}
    route: {cluster: upstream}
"#;
    let imported = envoy(source);
    let config = imported.config();
    let names: Vec<&str> = config["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["orders", "health", "shadow", "rest"]);
    let orders = &config["policies"][0];
    assert_eq!(orders["match"], serde_json::json!({"routes": ["orders"]}));
    assert_eq!(
        orders["allow_origins"],
        serde_json::json!(["https://shop.example"])
    );
    // `*` with credentials: narrowed to what is listed besides it, and said.
    assert_eq!(orders.get("allow_methods"), None);
    assert_eq!(orders["allow_credentials"], true);
    assert_eq!(orders.get("forward_unmatched_preflights"), None);
    assert_eq!(config["policies"][1]["disabled"], true);
    assert_eq!(config["policies"][2]["report_only"], true);
    assert_eq!(
        config["policies"][3]["allow_methods"],
        serde_json::json!(["PUT"])
    );
    let listed = kinds(&imported);
    assert!(
        listed.contains(&("orders".into(), Kind::DeniedPreflight)),
        "{listed:?}"
    );
    assert!(
        !listed.iter().any(|(p, _)| p == "shadow" || p == "health"),
        "{listed:?}"
    );
    let star = imported
        .changes
        .iter()
        .find(|c| c.policy == "orders" && c.text.contains("\"*\" with allow_credentials"))
        .unwrap();
    assert_eq!(star.at, "virtual host shop, route orders");
    let from_shop = "Origin: https://shop.example";
    let ask_put = "Access-Control-Request-Method: PUT";
    assert_eq!(
        decide(
            &imported,
            "OPTIONS https://x/orders",
            &[from_shop, ask_put],
            Some("orders")
        ),
        "orders: preflight_denied"
    );
    assert_eq!(
        decide(
            &imported,
            "OPTIONS https://x/",
            &[from_shop, ask_put],
            Some("rest")
        ),
        "rest: preflight_allowed"
    );
}

/// The deprecated `cors` fields count only where no typed policy is written; unnamed routes
/// are matched by their domains and prefixes, in order.
#[test]
fn deprecated_fields_and_unnamed_routes() {
    let source = r#"
virtual_hosts:
- name: old
  domains: ["old.example.com", "*.old.example.com"]
  cors:
    allow_origin_string_match: [{prefix: "https://"}]
    max_age: "100000"
  routes:
  - match: {prefix: /private}
    route: {cluster: upstream, cors: {filter_enabled: {default_value: {numerator: 0}}}}
  - match: {prefix: /}
    route: {cluster: upstream}
"#;
    let imported = envoy(source);
    assert_eq!(
        matches(&imported),
        [
            r#"{"hosts":["old.example.com"],"path_prefixes":["/private"]}"#,
            r#"{"hosts":["old.example.com"],"path_prefixes":["/"]}"#,
            r#"{"hosts":["*.old.example.com"],"path_prefixes":["/private"]}"#,
            r#"{"hosts":["*.old.example.com"],"path_prefixes":["/"]}"#,
        ]
    );
    let policies = &imported.policies;
    assert_eq!(policies[0]["disabled"], true);
    assert_eq!(
        policies[1]["allow_origin_regexes"],
        serde_json::json!(["https://.*"])
    );
    assert_eq!(policies[1]["max_age"], 86400);
    assert!(kinds(&imported).iter().any(|(_, k)| *k == Kind::MaxAge));
    assert_eq!(
        decide(
            &imported,
            "GET https://a.old.example.com/private/x",
            &["Origin: https://a.b"],
            None
        ),
        "old-2: disabled"
    );
}

#[test]
fn every_origin_is_star_without_credentials_and_an_error_with_them() {
    let source = |credentials: bool| {
        format!(
            r#"
virtual_hosts:
- name: any
  domains: ["*"]
  typed_per_filter_config:
    envoy.filters.http.cors:
      "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
      allow_origin_string_match: [{{exact: "*"}}]
      allow_headers: "*"
      allow_credentials: {credentials}
  routes: [{{match: {{prefix: /}}, route: {{cluster: upstream}}}}]
"#
        )
    };
    let imported = envoy(&source(false));
    let policy = &imported.config()["policies"][0];
    assert_eq!(policy["allow_origins"], serde_json::json!(["*"]));
    assert_eq!(
        policy["allow_headers"],
        serde_json::json!(["*", "authorization"])
    );
    assert!(kinds(&imported).iter().any(|(_, k)| *k == Kind::AnyOrigin));
    assert!(!kinds(&imported)
        .iter()
        .any(|(_, k)| *k == Kind::PreflightHeaders));
    let error = import("envoy", &source(true)).unwrap_err();
    assert!(
        error.starts_with("virtual host any: every origin is allowed"),
        "{error}"
    );
}

#[test]
fn bad_input_is_one_error_naming_where() {
    let cases = [
        ("static_resources: {listeners: [{filter_chains: [{filters: [{typed_config: {http_filters: [{name: envoy.filters.http.router}], route_config: {virtual_hosts: []}}}]}]}]}",
         "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters: no envoy.filters.http.cors filter"),
        ("admin: {}", "no route configuration (virtual_hosts) in the file"),
        ("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: {prefix: /}, route: {}}]}]", "no route or virtual host has a CORS policy"),
        ("virtual_hosts: [{name: a, domains: ['*'], cors: {allow_origin_string_match: [{exact: x}], filter_enabled: {default_value: {numerator: 50}}}, routes: [{match: {prefix: /}, route: {}}]}]",
         "virtual host a.cors.filter_enabled: 50/100 of requests"),
        ("virtual_hosts: [{name: a, domains: ['*'], cors: {allow_origin_string_match: [{safe_regex: {regex: '(?=x)'}}]}, routes: [{match: {prefix: /}, route: {}}]}]",
         "virtual host a: allow_origin_string_match[0]: not a regex cors-wasm can run"),
        ("virtual_hosts: [{name: a, domains: ['*'], cors: {allow_origin_string_match: [{exact: x}], allow_methods: 'GET POST'}, routes: [{match: {prefix: /}, route: {}}]}]",
         "virtual host a: allow_methods: \"GET POST\" is not a method"),
        ("virtual_hosts: [{name: a, domains: ['a.com:80'], cors: {allow_origin_string_match: [{exact: x}]}, routes: [{match: {path: /}, route: {}}, {match: {prefix: /}, route: {}, cors: {}}]}]",
         "virtual host a: domain \"a.com:80\" cannot be matched"),
        ("virtual_hosts: [{name: a, domains: ['*'], cors: {allow_origin_string_match: [{exact: x}], typo: 1}, routes: []}]",
         "virtual host a.cors.typo: not a field of a CorsPolicy"),
        ("a: [1, 2", "not valid YAML"),
    ];
    for (source, expected) in cases {
        let error = import("envoy", source).unwrap_err();
        assert!(
            error.starts_with(expected),
            "{source}\ngave: {error}\nexpected: {expected}"
        );
        assert!(!error.contains('\n'), "{error}");
    }
}

// Envoy's routes and virtual hosts in the cases the tests above leave out (each kills
// mutants of src/host/import/envoy.rs; docs/mutants.md).

const CORS_POLICY_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";
const FILTER_CONFIG_TYPE: &str = "type.googleapis.com/envoy.config.route.v3.FilterConfig";

/// Each policy's name and the fields that tell them apart here.
fn policies_by_name(imported: &Import) -> Vec<(String, serde_json::Value)> {
    imported
        .policies
        .iter()
        .map(|p| {
            let summary = if p["disabled"] == true {
                serde_json::json!({"match": p["match"], "disabled": true})
            } else {
                serde_json::json!({"match": p["match"], "allow_origins": p["allow_origins"]})
            };
            (p["name"].as_str().unwrap().to_string(), summary)
        })
        .collect()
}

/// A `FilterConfig` disables the filter only under the CORS filter's own name; one that
/// wraps a policy (`config`) without `disabled` applies that policy.
#[test]
fn a_filter_config_disables_the_filter_it_names_and_carries_a_policy() {
    let route = |name: &str, key: &str, config: &str| {
        format!(
            "  - {{name: {name}, match: {{prefix: /{name}}}, route: {{cluster: a}}, \
             typed_per_filter_config: {{{key}: {{'@type': {FILTER_CONFIG_TYPE}, {config}}}}}}}\n"
        )
    };
    let wrapped = format!(
        "config: {{'@type': {CORS_POLICY_TYPE}, allow_origin_string_match: [{{exact: 'https://wrapped.example'}}]}}"
    );
    let source = format!(
        "virtual_hosts:\n- name: api\n  domains: ['*']\n  typed_per_filter_config:\n    \
         envoy.filters.http.cors: {{'@type': {CORS_POLICY_TYPE}, allow_origin_string_match: [{{exact: 'https://app.example'}}]}}\n  \
         routes:\n{}{}{}{}",
        route("wrapped", "envoy.filters.http.cors", &wrapped),
        route("full", "envoy.filters.http.cors", "disabled: true"),
        route("short", "cors", "disabled: true"),
        route("other", "envoy.filters.http.lua", "disabled: true"),
    );
    let by_route = |name: &str| serde_json::json!({"routes": [name]});
    assert_eq!(
        policies_by_name(&envoy(&source)),
        [
            (
                "wrapped".to_string(),
                serde_json::json!({"match": by_route("wrapped"), "allow_origins": ["https://wrapped.example"]})
            ),
            (
                "full".to_string(),
                serde_json::json!({"match": by_route("full"), "disabled": true})
            ),
            (
                "short".to_string(),
                serde_json::json!({"match": by_route("short"), "disabled": true})
            ),
            (
                "other".to_string(),
                serde_json::json!({"match": by_route("other"), "allow_origins": ["https://app.example"]})
            ),
        ]
    );
}

/// Named routes with policies of their own are matched by name, and by their virtual host's
/// domains too when those are one group (exact names, or one wildcard): with several, the
/// policies of the other groups' virtual hosts come later, so the name alone decides.
#[test]
fn named_routes_are_matched_by_their_domains_when_they_are_one_group() {
    let vhost = |name: &str, domains: &str| {
        format!(
            "- name: {name}\n  domains: {domains}\n  typed_per_filter_config: {{envoy.filters.http.cors: \
             {{'@type': {CORS_POLICY_TYPE}, allow_origin_string_match: [{{exact: 'https://app.example'}}]}}}}\n  \
             routes:\n  - {{name: {name}-off, match: {{prefix: /off}}, route: {{cluster: a}}, \
             typed_per_filter_config: {{envoy.filters.http.cors: {{'@type': {FILTER_CONFIG_TYPE}, disabled: true}}}}}}\n  \
             - {{name: {name}-on, match: {{prefix: /}}, route: {{cluster: a}}}}\n"
        )
    };
    let source = format!(
        "virtual_hosts:\n{}{}",
        vhost("one", "[one.example.com, One.example.org]"),
        vhost("two", "[two.example.com, '*.example.net']"),
    );
    assert_eq!(
        matches(&envoy(&source)),
        [
            r#"{"hosts":["one.example.com","one.example.org"],"routes":["one-off"]}"#,
            r#"{"hosts":["one.example.com","one.example.org"],"routes":["one-on"]}"#,
            r#"{"routes":["two-off"]}"#,
            r#"{"routes":["two-on"]}"#,
        ]
    );
}

/// An unnamed route is matched by its `prefix` when nothing else of its `match` narrows it:
/// `case_sensitive: true` (Envoy's default) may be written; `false`, or headers, may not.
#[test]
fn an_unnamed_route_is_matched_by_a_case_sensitive_prefix_only() {
    let source = |first_match: &str| {
        format!(
            "virtual_hosts:\n- name: api\n  domains: [api.example.com]\n  typed_per_filter_config: \
             {{envoy.filters.http.cors: {{'@type': {CORS_POLICY_TYPE}, allow_origin_string_match: [{{exact: 'https://app.example'}}]}}}}\n  \
             routes:\n  - {{match: {first_match}, route: {{cluster: a}}, typed_per_filter_config: \
             {{envoy.filters.http.cors: {{'@type': {FILTER_CONFIG_TYPE}, disabled: true}}}}}}\n  \
             - {{match: {{prefix: /}}, route: {{cluster: a}}}}\n"
        )
    };
    assert_eq!(
        matches(&envoy(&source("{prefix: /a, case_sensitive: true}"))),
        [
            r#"{"hosts":["api.example.com"],"path_prefixes":["/a"]}"#,
            r#"{"hosts":["api.example.com"],"path_prefixes":["/"]}"#,
        ]
    );
    for narrower in [
        "{prefix: /a, case_sensitive: false}",
        "{prefix: /a, headers: [{name: x-a, present_match: true}]}",
    ] {
        assert_eq!(
            import("envoy", &source(narrower)).unwrap_err(),
            "virtual host api, routes[0]: an unnamed route matched by other than a \
             case-sensitive prefix: give it a name, so its policy can match it",
            "{narrower}"
        );
    }
}

const VIRTUAL_SERVICE: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec:
  hosts: [api.example.com]
  http:
  - name: write
    match: [{uri: {prefix: /write}}]
    corsPolicy:
      allowOrigins: [{exact: "https://app.example.com"}, {regex: "https://.*\\.partner\\.example"}]
      allowMethods: [PUT]
      allowHeaders: [X-Token]
      maxAge: 24h
      unmatchedPreflights: IGNORE
  - name: read
    route: []
"#;

#[test]
fn istio_cors_policies_by_route_name() {
    let imported = import("istio", VIRTUAL_SERVICE).unwrap();
    assert_eq!(
        imported.yaml(),
        r#"policies:
  - name: "write"
    match:
      routes: ["write"]
    allow_origins: ["https://app.example.com"]
    allow_origin_regexes: ["https://.*\\.partner\\.example"]
    allow_methods: ["PUT"]
    allow_headers: ["x-token"]
    max_age: 86400
    preflight_status: 200
"#
    );
    let listed = kinds(&imported);
    assert!(
        listed.contains(&("write".into(), Kind::DeniedPreflight)),
        "{listed:?}"
    );
    assert_eq!(
        imported.changes[0].at,
        "VirtualService api, http route write"
    );
    let preflight = [
        "Origin: https://a.partner.example",
        "Access-Control-Request-Method: PUT",
    ];
    assert_eq!(
        decide(
            &imported,
            "OPTIONS https://api.example.com/write",
            &preflight,
            Some("write")
        ),
        "write: preflight_allowed"
    );
    assert_eq!(
        decide(
            &imported,
            "OPTIONS https://api.example.com/",
            &preflight,
            Some("read")
        ),
        "-: unmatched"
    );
}

#[test]
fn istio_unnamed_routes_by_hosts_and_prefix_and_bad_input() {
    let source = VIRTUAL_SERVICE
        .replace("  - name: write\n    match", "  - match")
        .replace("  - name: read\n    route: []\n", "  - route: []\n");
    let imported = import("istio", &source).unwrap();
    assert_eq!(
        matches(&imported),
        [
            r#"{"hosts":["api.example.com"],"path_prefixes":["/write"]}"#,
            r#"{"hosts":["api.example.com"],"path_prefixes":["/"]}"#
        ]
    );
    assert_eq!(imported.policies[1]["disabled"], true);
    let cases = [
        ("kind: VirtualService\nmetadata: {name: x}\nspec: {http: [{name: a}]}", "VirtualService x: spec.http: no route has a corsPolicy"),
        ("kind: Gateway\n", "no VirtualService in the file"),
        ("kind: VirtualService\nmetadata: {name: x}\nspec: {http: [{name: a, corsPolicy: {maxAge: 1d}}]}", "VirtualService x, http route a.corsPolicy.maxAge: \"1d\" is not a duration"),
        ("kind: VirtualService\nmetadata: {name: x}\nspec: {http: [{name: a, corsPolicy: {allowOrigins: [{suffix: x}]}}]}", "VirtualService x, http route a.corsPolicy.allowOrigins[0]: suffix: expected exact"),
        ("kind: VirtualService\nmetadata: {name: x}\nspec: {http: [{name: a, corsPolicy: {allowOrigin: [x], typo: 1}}]}", "VirtualService x, http route a.corsPolicy.typo: not a field"),
    ];
    for (source, expected) in cases {
        let error = import("istio", source).unwrap_err();
        assert!(error.starts_with(expected), "{source}\ngave: {error}");
    }
}

#[test]
fn express_options_become_one_policy() {
    let options = r#"{"origin": ["https://app.example.com", "/\\.Partner\\.example$/i"],
        "methods": ["GET", "PUT"], "allowedHeaders": "Content-Type,X-Token",
        "exposedHeaders": ["X-Request-Id"], "credentials": true, "maxAge": 600,
        "optionsSuccessStatus": 200}"#;
    let imported = import("express", options).unwrap();
    assert_eq!(
        imported.yaml(),
        r#"policies:
  - name: "express"
    allow_origins: ["https://app.example.com"]
    allow_origin_regexes: ["(?i).*(?:\\.Partner\\.example$).*"]
    allow_methods: ["GET", "PUT"]
    allow_headers: ["content-type", "x-token"]
    expose_headers: ["x-request-id"]
    allow_credentials: true
    max_age: 600
    preflight_status: 200
"#
    );
    let preflight = |origin: &str| ["Origin", origin].join(": ");
    let ask = "Access-Control-Request-Method: PUT";
    assert_eq!(
        decide(
            &imported,
            "OPTIONS https://a/x",
            &[&preflight("https://shop.partner.example"), ask],
            None
        ),
        "express: preflight_allowed"
    );
    assert_eq!(
        decide(
            &imported,
            "OPTIONS https://a/x",
            &[&preflight("https://partner.example.evil"), ask],
            None
        ),
        "express: preflight_denied"
    );
    let listed = kinds(&imported);
    for kind in [
        Kind::PlainOptions,
        Kind::DeniedPreflight,
        Kind::PreflightMethod,
        Kind::DisallowedOriginHeaders,
        Kind::ExposeOnPreflight,
        Kind::Vary,
    ] {
        assert!(
            listed.contains(&("express".into(), kind)),
            "{kind:?} not in {listed:?}"
        );
    }
}

#[test]
fn express_defaults_star_and_echo() {
    let imported = import("express", "{}").unwrap();
    let policy = &imported.policies[0];
    assert_eq!(policy["allow_origins"], serde_json::json!(["*"]));
    assert_eq!(
        policy["allow_methods"],
        serde_json::json!(["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"])
    );
    assert_eq!(
        policy["allow_headers"],
        serde_json::json!(["*", "authorization"])
    );
    let echoing = import("express", r#"{"origin": true, "preflightContinue": true}"#).unwrap();
    assert_eq!(echoing.policies[0]["forward_unmatched_preflights"], true);
    assert!(kinds(&echoing).contains(&("express".into(), Kind::AnyOrigin)));
    assert!(kinds(&echoing).contains(&("express".into(), Kind::PreflightAnswer)));
    let fixed = import(
        "express",
        r#"{"origin": "https://App.example.com", "credentials": true}"#,
    )
    .unwrap();
    assert_eq!(
        fixed.policies[0]["allow_origin_regexes"],
        serde_json::json!([r"https://App\.example\.com"])
    );
    assert_eq!(fixed.policies[0]["allow_headers"], serde_json::Value::Null);
    assert_eq!(
        import("express", r#"{"origin": false}"#).unwrap().policies[0]["disabled"],
        true
    );
}

#[test]
fn express_bad_options_are_one_error_naming_where() {
    let cases = [
        (
            r#"{"origin": "*", "orign": "x"}"#,
            "orign: not a cors() option",
        ),
        (
            r#"{"origin": "function (origin, cb) { cb(null, true) }"}"#,
            "origin: a function cannot be imported",
        ),
        (
            r#"{"origin": ["(o) => true"]}"#,
            "origin[0]: a function cannot be imported",
        ),
        (
            r#"{"origin": "/a/g"}"#,
            "origin: the regex flag g cannot be imported",
        ),
        (
            r#"{"origin": "/(?<=a)b/"}"#,
            "origin: not a regex cors-wasm can run",
        ),
        (
            r#"{"origin": true, "credentials": true}"#,
            "origin: true with credentials",
        ),
        (
            r#"{"optionsSuccessStatus": 201}"#,
            "optionsSuccessStatus: cors-wasm answers preflights 204 or 200 only",
        ),
        (
            r#"{"maxAge": "soon"}"#,
            "maxAge: max_age \"soon\" is not a number",
        ),
        (r#"{"methods": 5}"#, "methods: expected a string or a list"),
        (r#"[1]"#, "expected a JSON object"),
        (r#"{"origin": "*""#, "not a JSON object"),
    ];
    for (source, expected) in cases {
        let error = import("express", source).unwrap_err();
        assert!(error.starts_with(expected), "{source}\ngave: {error}");
        assert!(!error.contains('\n'), "{error}");
    }
}

/// A route whose `FilterConfig` disables the CORS filter gets no CORS, whatever its virtual
/// host says.
#[test]
fn a_route_disabling_the_filter_is_left_alone() {
    let source = r#"
virtual_hosts:
- name: api
  domains: ["*"]
  typed_per_filter_config:
    envoy.filters.http.cors:
      "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
      allow_origin_string_match: [{exact: "https://app.example.com"}]
  routes:
  - name: internal
    match: {prefix: /internal}
    route: {cluster: upstream}
    typed_per_filter_config:
      envoy.filters.http.cors:
        "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
        disabled: true
  - name: api
    match: {prefix: /}
    route: {cluster: upstream}
"#;
    let imported = envoy(source);
    assert_eq!(imported.policies[0]["name"], "internal");
    assert_eq!(imported.policies[0]["disabled"], true);
    assert_eq!(
        imported.policies[1]["allow_origins"],
        serde_json::json!(["https://app.example.com"])
    );
}

/// Virtual hosts in the order Envoy picks them: exact domains, then wildcards (longest
/// first), then `*`; one without CORS keeps a broader one's policy off its requests.
#[test]
fn virtual_hosts_in_envoys_order() {
    let cors = r#"typed_per_filter_config: {envoy.filters.http.cors: {"@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy, allow_origin_string_match: [{exact: "https://app.example.com"}]}}"#;
    let source = format!(
        r#"
virtual_hosts:
- {{name: everyone, domains: ["*"], {cors}, routes: [{{match: {{prefix: /}}, route: {{cluster: a}}}}]}}
- {{name: internal, domains: ["internal.example.com"], routes: [{{match: {{prefix: /}}, route: {{cluster: a}}}}]}}
- {{name: short, domains: ["*.example.com"], {cors}, routes: [{{match: {{prefix: /}}, route: {{cluster: a}}}}]}}
- {{name: long, domains: ["*.api.example.com"], {cors}, routes: [{{match: {{prefix: /}}, route: {{cluster: a}}}}]}}
"#
    );
    let imported = envoy(&source);
    let names: Vec<&str> = imported
        .policies
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["internal", "long", "short", "everyone"]);
    let from_app = "Origin: https://app.example.com";
    assert_eq!(
        decide(
            &imported,
            "GET https://internal.example.com/",
            &[from_app],
            None
        ),
        "internal: disabled"
    );
    assert_eq!(
        decide(
            &imported,
            "GET https://x.api.example.com/",
            &[from_app],
            None
        ),
        "long: actual_allowed"
    );
    assert_eq!(
        decide(&imported, "GET https://elsewhere.org/", &[from_app], None),
        "everyone: actual_allowed"
    );
}

/// Two route configurations (two listeners) with the same routes: one policy when they say
/// the same, an error when they do not.
#[test]
fn two_listeners_alike_or_an_error() {
    let listener = |methods: &str| {
        format!(
            r#"{{filter_chains: [{{filters: [{{typed_config: {{http_filters: [{{name: envoy.filters.http.cors}}],
  route_config: {{virtual_hosts: [{{name: api, domains: ["*"], cors: {{allow_origin_string_match: [{{exact: "https://a.example"}}], allow_methods: "{methods}"}},
  routes: [{{match: {{prefix: /}}, route: {{cluster: a}}}}]}}]}}}}}}]}}]}}"#
        )
    };
    let source = |a: &str, b: &str| {
        format!(
            "static_resources: {{listeners: [{}, {}]}}",
            listener(a),
            listener(b)
        )
    };
    let alike = envoy(&source("PUT", "PUT"));
    assert_eq!(alike.policies.len(), 1);
    assert!(alike.changes.iter().all(|c| c.policy == "api"));
    let error = import("envoy", &source("PUT", "DELETE")).unwrap_err();
    assert_eq!(
        error,
        "static_resources.listeners[1].filter_chains[0].filters[0].typed_config.route_config: \
         virtual host api: its policy differs from that of \
         static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config: \
         virtual host api, and both apply to the same requests: cors-wasm cannot tell listeners \
         apart; import them one at a time"
    );
}

// envoy_cors.rs and express.rs: killing cargo-mutants' missed mutants

/// A `CorsPolicy` read and translated on its own: the policy and its changes' kinds.
fn envoy_policy(policy: serde_json::Value) -> (serde_json::Value, Vec<Kind>) {
    let cors = super::envoy_cors::read(&policy, "p").unwrap();
    let (policy, changes) = super::envoy_cors::translate(&cors, "here", "p", None).unwrap();
    (policy, changes.iter().map(|c| c.kind).collect())
}

/// Envoy's YAML reader takes camelCase keys too, and an empty string as a field not written.
#[test]
fn a_cors_policy_reads_camel_case_and_empty_strings_as_not_written() {
    let policy = serde_json::json!({
        "allowOriginStringMatch": [{"exact": "https://a.example"}],
        "allowMethods": "",
        "allowPrivateNetworkAccess": true,
    });
    let cors = super::envoy_cors::read(&policy, "p").unwrap();
    assert_eq!(cors.private_network, Some(true));
    assert_eq!(cors.methods, None);
    let route = super::envoy_cors::read(&serde_json::json!({"allow_headers": ""}), "r").unwrap();
    let host = super::envoy_cors::read(&serde_json::json!({"allow_headers": "x-a"}), "h").unwrap();
    let merged = super::envoy_cors::merge(&[route, host]).unwrap();
    assert_eq!(merged.headers.as_deref(), Some("x-a"));
}

/// With no origin allowed, the one change is Envoy's own answer to preflights when it does
/// not forward them, and only when the filter is enabled (not in shadow mode).
#[test]
fn no_origin_allowed_changes_only_unforwarded_preflights() {
    let disabled = serde_json::json!({"name": "p", "disabled": true});
    let forwarded = envoy_policy(serde_json::json!({"allow_methods": "PUT"}));
    assert_eq!(forwarded, (disabled.clone(), vec![]));
    let answered = envoy_policy(serde_json::json!({"forward_not_matching_preflights": false}));
    assert_eq!(answered, (disabled.clone(), vec![Kind::DeniedPreflight]));
    let shadow = serde_json::json!({
        "forward_not_matching_preflights": false,
        "filter_enabled": {"default_value": {"numerator": 0}},
        "shadow_enabled": {"default_value": {"numerator": 100}},
    });
    assert_eq!(envoy_policy(shadow), (disabled, vec![]));
}

/// `*` in `allow_methods` or `allow_headers` with credentials is dropped, each listed as a
/// change of its own kind, before the changes every enforced list brings.
#[test]
fn a_star_list_with_credentials_is_a_change_of_its_own_kind() {
    let (policy, kinds) = envoy_policy(serde_json::json!({
        "allow_origin_string_match": [{"exact": "https://a.example"}],
        "allow_methods": "*",
        "allow_headers": "x-a, *",
        "allow_credentials": true,
    }));
    assert_eq!(policy["allow_methods"], serde_json::Value::Null);
    assert_eq!(policy["allow_headers"], serde_json::json!(["x-a"]));
    assert_eq!(
        kinds,
        [
            Kind::PreflightMethod,
            Kind::PreflightHeaders,
            Kind::PreflightMethod,
            Kind::PreflightHeaders,
            Kind::PrivateNetwork,
            Kind::Vary,
            Kind::UpstreamHeaders,
        ]
    );
}

/// `max_age` is capped at 86400, which itself is kept as it is, unlisted.
#[test]
fn a_max_age_of_a_day_is_kept_and_a_longer_one_capped() {
    let max_age = |text: &str| {
        let mut changes = super::envoy_cors::Changes {
            at: "here",
            policy: "p",
            list: Vec::new(),
        };
        let seconds = super::envoy_cors::max_age(Some(text), "here", &mut changes).unwrap();
        let kinds: Vec<Kind> = changes.list.iter().map(|c| c.kind).collect();
        (seconds, kinds)
    };
    assert_eq!(max_age(" 86400 "), (Some(86_400), vec![]));
    assert_eq!(max_age("86401"), (Some(86_400), vec![Kind::MaxAge]));
}

/// Express options imported: the policy and where each change is (`at`) and its kind.
fn express(options: &str) -> (serde_json::Value, Vec<(String, Kind)>) {
    let imported = import("express", options).unwrap_or_else(|e| panic!("{e}"));
    let changes = imported.changes.iter().map(|c| (c.at.clone(), c.kind));
    (imported.policies[0].clone(), changes.collect())
}

/// The string forms of `origin`: empty (nothing allowed), `*`, a `/regex/`, and a fixed
/// origin sent to everyone (the one listed as a change at `origin`).
#[test]
fn express_origin_strings_by_kind() {
    let nothing = serde_json::json!({"name": "express", "disabled": true});
    assert_eq!(express(r#"{"origin": ""}"#), (nothing, vec![]));
    let at_origin = |options: &str| {
        let (policy, changes) = express(options);
        let kinds: Vec<Kind> = changes
            .into_iter()
            .filter(|(at, _)| at == "origin")
            .map(|(_, kind)| kind)
            .collect();
        (policy["allow_origins"].clone(), kinds)
    };
    assert_eq!(
        at_origin(r#"{"origin": "*"}"#),
        (serde_json::json!(["*"]), vec![Kind::DeniedPreflight])
    );
    assert_eq!(
        at_origin(r#"{"origin": "/a\\.example$/"}"#),
        (serde_json::Value::Null, vec![Kind::DeniedPreflight])
    );
    assert_eq!(
        at_origin(r#"{"origin": "https://a.example"}"#),
        (
            serde_json::json!(["https://a.example"]),
            vec![Kind::DisallowedOriginHeaders, Kind::DeniedPreflight]
        )
    );
}

/// `headers` is `allowedHeaders`' other name, read when `allowedHeaders` is not given, empty
/// or `null`; neither given, every header is allowed.
#[test]
fn express_headers_stand_in_for_allowed_headers_not_given() {
    let headers = |options: &str| express(options).0["allow_headers"].clone();
    let x_a = serde_json::json!(["x-a"]);
    assert_eq!(headers(r#"{"headers": "X-A"}"#), x_a);
    assert_eq!(
        headers(r#"{"allowedHeaders": "", "headers": ["X-A"]}"#),
        x_a
    );
    assert_eq!(
        headers(r#"{"allowedHeaders": null, "headers": "X-A"}"#),
        x_a
    );
    assert_eq!(
        headers(r#"{"allowedHeaders": "X-B", "headers": "X-A"}"#),
        serde_json::json!(["x-b"])
    );
    assert_eq!(
        headers(r#"{"allowedHeaders": ""}"#),
        serde_json::json!(["*", "authorization"])
    );
}

/// An empty `maxAge` is not given; every header allowed (the default) is no change of
/// headers, a list of them is.
#[test]
fn express_changes_of_the_defaults_and_of_a_header_list() {
    let defaults = [
        ("methods", Kind::PreflightMethod),
        ("options", Kind::PrivateNetwork),
        ("origin", Kind::DeniedPreflight),
        ("options", Kind::PlainOptions),
        ("options", Kind::DisallowedOriginHeaders),
        ("options", Kind::Vary),
        ("options", Kind::UpstreamHeaders),
    ]
    .map(|(at, kind)| (at.to_string(), kind));
    let (policy, changes) = express(r#"{"maxAge": ""}"#);
    assert_eq!(policy["max_age"], serde_json::Value::Null);
    assert_eq!(changes, defaults);
    let (_, changes) = express(r#"{"allowedHeaders": "X-A"}"#);
    let mut listed = defaults.to_vec();
    listed.insert(1, ("allowedHeaders".into(), Kind::PreflightHeaders));
    assert_eq!(changes, listed);
}
