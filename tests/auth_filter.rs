//! A real auth filter behind cors-wasm: Envoy's `ext_authz`, asking an HTTP authorization
//! service that the test runs on loopback, which answers `401` to any request without the
//! right token. docs/policy.md: "a local reply from another filter" gets the CORS headers,
//! and the `Access-Control-*` headers it brings are removed; preflights are answered before
//! the auth filter sees them.

#[macro_use]
mod support;

use serde_json::{json, Value};
use support::envoy::{bootstrap, cors_filter, Build, Encoding, Envoy};
use support::http::Response;
use support::upstream::{self, Recorded, Upstream};

const APP: &str = "https://app.example.com";

/// The authorization service: `200` for `authorization: Bearer good`, else `401` with a
/// challenge and an `Access-Control-Allow-Origin` of its own, which must never reach a page.
fn authorize(check: &Recorded) -> Vec<u8> {
    let token = check.headers.iter().find(|(n, _)| n == "authorization");
    if token.is_some_and(|(_, v)| v == "Bearer good") {
        return upstream::response(200, &[], "");
    }
    let headers = [
        ("www-authenticate", "Bearer"),
        ("access-control-allow-origin", "https://authz.example"),
    ];
    upstream::response(401, &headers, "who are you?")
}

/// `ext_authz` asking the HTTP service on `port`, and the cluster for it.
fn ext_authz(port: u16) -> (Value, Value) {
    let filter = json!({
        "name": "envoy.filters.http.ext_authz",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
            "transport_api_version": "V3",
            "failure_mode_allow": false,
            "http_service": {
                "server_uri": {"uri": format!("http://127.0.0.1:{port}"), "cluster": "authz", "timeout": "5s"},
                "path_prefix": "/check",
            },
        },
    });
    let cluster = json!({
        "name": "authz",
        "type": "STATIC",
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": "authz",
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {
                "address": "127.0.0.1", "port_value": port,
            }}}}]}],
        },
    });
    (filter, cluster)
}

struct Setup {
    envoy: Envoy,
    upstream: Upstream,
    authz: Upstream,
}

/// cors-wasm, then `ext_authz`, then the router.
fn start(build: Build) -> Setup {
    let policy = json!({"policies": [{
        "name": "api", "allow_origins": [APP], "allow_methods": ["PUT"],
        "allow_headers": ["authorization"], "expose_headers": ["www-authenticate"],
        "allow_credentials": true,
    }]});
    let (upstream, authz) = (Upstream::start(), Upstream::answering(authorize));
    let (authz_filter, authz_cluster) = ext_authz(authz.port);
    let routes =
        json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let mut config = bootstrap(
        vec![cors_filter(build, &policy, Encoding::Struct), authz_filter],
        routes,
        upstream.port,
    );
    config["static_resources"]["clusters"]
        .as_array_mut()
        .unwrap()
        .push(authz_cluster);
    let envoy = Envoy::start(&config);
    Setup {
        envoy,
        upstream,
        authz,
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn get(setup: &Setup, path: &str, origin: &str, token: &str) -> Response {
    let authorization = format!("Bearer {token}");
    setup.envoy.request(
        "GET",
        path,
        &[("origin", origin), ("authorization", &authorization)],
    )
}

fn a_401_from_ext_authz_carries_the_cors_headers(build: Build) {
    let setup = start(build);
    let response = get(&setup, "/api/me", APP, "expired");
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(response.body, b"who are you?");
    assert_eq!(
        response.header("www-authenticate").as_deref(),
        Some("Bearer")
    );
    assert_eq!(
        response.cors(),
        pairs(&[
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-origin", APP),
            ("access-control-expose-headers", "www-authenticate"),
        ]),
        "{response:?}"
    );
    assert_eq!(response.header("vary").as_deref(), Some("Origin"));
    let checks = setup.authz.requests_to("/check/api/me");
    assert_eq!(checks.len(), 1, "the authorization service was not asked");
    assert!(
        setup.upstream.requests_to("/api/me").is_empty(),
        "the denied request reached the upstream"
    );
}

fn a_401_from_ext_authz_to_a_denied_origin_has_no_cors_headers(build: Build) {
    let setup = start(build);
    let response = get(&setup, "/api/me", "https://evil.example", "expired");
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(
        response.header("www-authenticate").as_deref(),
        Some("Bearer")
    );
    // Not even the authorization service's own Access-Control-Allow-Origin.
    assert_eq!(response.cors(), vec![], "{response:?}");
    assert_eq!(response.header("vary").as_deref(), Some("Origin"));
    assert_eq!(setup.authz.requests_to("/check/api/me").len(), 1);
}

/// The same request with the right token passes the auth filter to the upstream, and its
/// response is decorated as any other: the service's 401 above was its decision.
fn an_authorized_request_reaches_the_upstream_with_the_cors_headers(build: Build) {
    let setup = start(build);
    let response = get(&setup, "/api/me", APP, "good");
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, b"upstream");
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert_eq!(setup.authz.requests_to("/check/api/me").len(), 1);
    assert_eq!(setup.upstream.requests_to("/api/me").len(), 1);
}

fn a_preflight_is_answered_before_the_auth_filter(build: Build) {
    let setup = start(build);
    let response = setup.envoy.request(
        "OPTIONS",
        "/api/me",
        &[
            ("origin", APP),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "authorization"),
        ],
    );
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert!(
        setup.authz.requests_to("/check/api/me").is_empty(),
        "the preflight reached the authorization service"
    );
    assert!(setup.upstream.requests_to("/api/me").is_empty());
}

for_both_builds!(
    a_401_from_ext_authz_carries_the_cors_headers,
    a_401_from_ext_authz_to_a_denied_origin_has_no_cors_headers,
    an_authorized_request_reaches_the_upstream_with_the_cors_headers,
    a_preflight_is_answered_before_the_auth_filter,
);
