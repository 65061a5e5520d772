//! The per-route example `envoy/gateway.yaml`, run as shipped in a real Envoy: each route
//! behaves as its comment says.

mod support;

use support::upstream::Upstream;

const APP: &str = "https://app.example.com";

#[test]
fn the_gateway_example_applies_a_policy_per_route() {
    let upstream = Upstream::start();
    let envoy = support::shipped::start("gateway.yaml", upstream.port);

    // /assets/: any origin, "*", no credentials and no Vary: Origin.
    let asset = envoy.request(
        "GET",
        "/assets/app.js",
        &[("origin", "https://anyone.example")],
    );
    assert_eq!(
        asset.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert_eq!(
        asset.header("access-control-expose-headers").as_deref(),
        Some("content-length, etag")
    );
    assert_eq!(asset.header("access-control-allow-credentials"), None);
    assert_eq!(asset.header("vary"), None);

    // /api/: the app's origins with credentials; a preflight never reaches the upstream.
    let preflight = envoy.request(
        "OPTIONS",
        "/api/orders",
        &[
            ("origin", "https://eu.app.example.com"),
            ("access-control-request-method", "DELETE"),
        ],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin").as_deref(),
        Some("https://eu.app.example.com")
    );
    assert_eq!(
        preflight
            .header("access-control-allow-credentials")
            .as_deref(),
        Some("true")
    );
    assert!(upstream.requests_to("/api/orders").is_empty());
    let other = envoy.request("GET", "/api/orders", &[("origin", "https://evil.example")]);
    assert_eq!(other.cors(), vec![]);
    assert_eq!(other.header("vary").as_deref(), Some("Origin"));

    // /admin/: the filter is disabled by Envoy for the route; the preflight goes upstream,
    // and the upstream's own CORS headers pass untouched.
    let admin = envoy.request(
        "OPTIONS",
        "/admin/users",
        &[
            ("origin", APP),
            ("access-control-request-method", "DELETE"),
            (
                "x-upstream-header",
                "access-control-allow-origin: https://admin.example",
            ),
        ],
    );
    assert_eq!(admin.status, 200);
    assert_eq!(upstream.requests_to("/admin/users").len(), 1);
    assert_eq!(
        admin.header("access-control-allow-origin").as_deref(),
        Some("https://admin.example")
    );
    assert_eq!(admin.header("vary"), None);

    // /status: Envoy's own direct_response, decorated for an allowed origin.
    let status = envoy.request("GET", "/status", &[("origin", APP)]);
    assert_eq!(status.status, 200);
    assert_eq!(status.body, b"up\n");
    assert_eq!(
        status.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert_eq!(
        status.header("access-control-allow-credentials").as_deref(),
        Some("true")
    );
}

/// `envoy/gateway-api.yaml`: an HTTPCORSFilter pasted as a policy's `cors`, with the Gateway
/// API's own semantics, beside a native policy.
#[test]
fn the_gateway_api_example_speaks_the_standards_cors() {
    let upstream = Upstream::start();
    let envoy = support::shipped::start("gateway-api.yaml", upstream.port);
    let preflight = envoy.request(
        "OPTIONS",
        "/api/orders",
        &[
            ("origin", "https://eu.app.example.com"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type"),
        ],
    );
    assert_eq!(preflight.status, 204);
    let header = |name: &str| preflight.header(name);
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some("https://eu.app.example.com")
    );
    assert_eq!(
        header("access-control-allow-credentials").as_deref(),
        Some("true")
    );
    // The configured list as written, safelisted methods included, unlike native policies.
    assert_eq!(
        header("access-control-allow-methods").as_deref(),
        Some("GET, PUT, DELETE")
    );
    // The Gateway API sends exposed headers on preflights too.
    assert_eq!(
        header("access-control-expose-headers").as_deref(),
        Some("x-request-id")
    );
    assert_eq!(header("access-control-max-age").as_deref(), Some("600"));
    assert!(upstream.requests_to("/api/orders").is_empty());

    let denied = envoy.request(
        "OPTIONS",
        "/api/orders",
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "PUT"),
        ],
    );
    assert_eq!(
        denied.status, 403,
        "what cors-wasm adds: a denied preflight is refused"
    );
    assert_eq!(denied.cors(), vec![]);

    let asset = envoy.request(
        "GET",
        "/assets/logo.svg",
        &[("origin", "https://anyone.example")],
    );
    assert_eq!(
        asset.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
}
