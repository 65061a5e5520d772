//! Hostile requests, each with a defined answer: through the real module in the wasmtime
//! harness, and against a real Envoy wherever Envoy lets the input through. After every one,
//! Envoy must still answer a normal request as the policy says (a crashed VM would answer
//! 503), and no response may carry a byte of the request that did not match.

mod harness;
#[macro_use]
mod support;

use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};
use support::envoy::{bootstrap, cors_filter, Build, Encoding, Envoy};
use support::hostile::{policy, APP};
use support::http::{self, Response};
use support::upstream::Upstream;

fn start(build: Build) -> (Envoy, Upstream) {
    let policy = policy();
    let routes =
        json!([{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let upstream = Upstream::start();
    let mut config = bootstrap(
        vec![cors_filter(build, &policy, Encoding::Struct)],
        routes,
        upstream.port,
    );
    // Let oversized headers through Envoy's own limit (60 KiB by default) to reach the filter.
    let manager: &mut Value = &mut config["static_resources"]["listeners"][0]["filter_chains"][0]
        ["filters"][0]["typed_config"];
    manager["max_request_headers_kb"] = json!(1024);
    (Envoy::start(&config), upstream)
}

/// Envoy still works, and still enforces the policy.
fn still_serving(envoy: &Envoy) {
    let response = envoy.request("GET", "/health", &[("origin", APP)]);
    assert_eq!(response.status, 200, "Envoy no longer serves normally");
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
}

/// No CORS header at all, and Envoy fine afterwards.
fn denied(envoy: &Envoy, response: &Response, what: &str) {
    assert_eq!(response.cors(), vec![], "{what}");
    still_serving(envoy);
}

fn get_with_origin(envoy: &Envoy, origin: &[u8]) -> Response {
    http::send(envoy.port, "GET", "/h", &[("origin", origin)])
}

fn oversized_and_malformed_origins_are_denied(build: Build) {
    let (envoy, _upstream) = start(build);
    let huge = format!("https://{}.example.com", "a".repeat(64 * 1024));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a 64 KB origin", huge.into_bytes()),
        (
            "non-UTF-8 bytes",
            b"https://app.example.com\xff\xfe".to_vec(),
        ),
        ("a path", b"https://app.example.com/x".to_vec()),
        ("userinfo", b"https://user@app.example.com".to_vec()),
        ("upper case", b"https://APP.EXAMPLE.COM".to_vec()),
        ("port 0", b"https://app.example.com:0".to_vec()),
        ("port 65536", b"https://app.example.com:65536".to_vec()),
        ("the default port", b"https://app.example.com:443".to_vec()),
        ("a trailing dot", b"https://app.example.com.".to_vec()),
        ("null", b"null".to_vec()),
        ("a suffix lookalike", b"https://evil-example.com".to_vec()),
        (
            "an allowed origin as a prefix",
            b"https://app.example.com.evil.net".to_vec(),
        ),
        ("empty", b"".to_vec()),
    ];
    for (what, origin) in cases {
        let response = get_with_origin(&envoy, &origin);
        assert_eq!(
            response.status, 200,
            "{what}: the request itself goes through"
        );
        assert_eq!(response.header("vary").as_deref(), Some("Origin"), "{what}");
        denied(&envoy, &response, what);
    }
    // Punycode is how a browser writes an internationalized host: a real subdomain.
    let punycode = get_with_origin(&envoy, b"https://xn--bcher-kva.example.com");
    assert_eq!(
        punycode.header("access-control-allow-origin").as_deref(),
        Some("https://xn--bcher-kva.example.com")
    );
}

fn control_bytes_get_a_defined_answer_from_envoy_or_the_filter(build: Build) {
    let (envoy, _upstream) = start(build);
    for origin in [
        &b"https://app.example.com\x01"[..],
        b"https://app.example.com\x7f",
        b"https://app\x00.example.com",
    ] {
        let response = get_with_origin(&envoy, origin);
        // Envoy's codec may refuse the request (400); if it lets it through, the filter denies it.
        assert!(matches!(response.status, 200 | 400), "{}", response.status);
        denied(&envoy, &response, "control bytes");
    }
}

fn repeated_origin_headers_never_mix(build: Build) {
    let (envoy, _upstream) = start(build);
    let evil_first = http::send(
        envoy.port,
        "GET",
        "/r",
        &[
            ("origin", b"https://evil.example"),
            ("origin", APP.as_bytes()),
        ],
    );
    // Envoy joins the two lines into one value, which is no origin: denied, whatever the order.
    denied(&envoy, &evil_first, "evil origin first");
    let app_first = http::send(
        envoy.port,
        "GET",
        "/r",
        &[
            ("origin", APP.as_bytes()),
            ("origin", b"https://evil.example"),
        ],
    );
    denied(&envoy, &app_first, "allowed origin first");
}

fn huge_request_header_lists_are_handled(build: Build) {
    let (envoy, upstream) = start(build);
    let preflight = |list: &str| {
        envoy.request(
            "OPTIONS",
            "/p",
            &[
                ("origin", APP),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", list),
            ],
        )
    };
    let ten_thousand = vec!["x-a"; 10_000].join(", ");
    let allowed = preflight(&ten_thousand);
    assert_eq!(allowed.status, 204);
    assert_eq!(
        allowed.header("access-control-allow-headers").as_deref(),
        Some("x-a, content-type")
    );
    assert_eq!(preflight(&",".repeat(100_000)).status, 204);
    let last_denied = format!("{ten_thousand}, x-b");
    let denied_response = preflight(&last_denied);
    assert_eq!(denied_response.status, 403);
    assert!(upstream.requests_to("/p").is_empty());
    denied(
        &envoy,
        &denied_response,
        "a denied header at the end of 10,000",
    );
}

fn options_without_request_method_bodies_and_trailers_are_ordinary_requests(build: Build) {
    let (envoy, upstream) = start(build);
    let options = envoy.request("OPTIONS", "/o", &[("origin", APP)]);
    assert_eq!(
        upstream.requests_to("/o").len(),
        1,
        "not a preflight: it goes upstream"
    );
    assert_eq!(
        options.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );

    let body = b"POST /b HTTP/1.1\r\nhost: x\r\norigin: https://app.example.com\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";
    let posted = http::exchange(envoy.port, body).unwrap();
    assert_eq!(
        posted.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert_eq!(upstream.requests_to("/b")[0].body, b"hello");

    let chunked = b"POST /t HTTP/1.1\r\nhost: x\r\norigin: https://app.example.com\r\ntransfer-encoding: chunked\r\n\
                    te: trailers\r\nconnection: close\r\n\r\n5\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n";
    let trailed = http::exchange(envoy.port, chunked).unwrap();
    assert_eq!(trailed.status, 200);
    assert_eq!(
        trailed.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert_eq!(upstream.requests_to("/t")[0].body, b"hello");
    still_serving(&envoy);
}

/// curl with HTTP/2 over cleartext (prior knowledge): headers as curl prints them.
fn h2c(envoy: &Envoy, method: &str, headers: &[&str]) -> (String, String) {
    let mut command = Command::new("curl");
    command.args([
        "-s",
        "-o",
        "/dev/null",
        "-D",
        "-",
        "--http2-prior-knowledge",
        "-X",
        method,
    ]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command
        .arg(format!("http://127.0.0.1:{}/h2", envoy.port))
        .output()
        .expect("run curl");
    let head = String::from_utf8_lossy(&output.stdout).to_ascii_lowercase();
    let status_line = head.lines().next().unwrap_or_default().to_string();
    (status_line, head)
}

fn http2_clients_get_the_same_answers(build: Build) {
    let (envoy, upstream) = start(build);
    let (status, head) = h2c(&envoy, "GET", &["origin: https://app.example.com"]);
    assert_eq!(status.trim(), "http/2 200", "{head}");
    assert!(
        head.contains("access-control-allow-origin: https://app.example.com\r\n"),
        "{head}"
    );
    let (status, head) = h2c(
        &envoy,
        "OPTIONS",
        &[
            "origin: https://app.example.com",
            "access-control-request-method: PUT",
        ],
    );
    assert_eq!(status.trim(), "http/2 204", "{head}");
    assert!(
        head.contains("access-control-allow-methods: put\r\n"),
        "{head}"
    );
    let (status, head) = h2c(&envoy, "GET", &["origin: https://evil.example"]);
    assert_eq!(status.trim(), "http/2 200", "{head}");
    assert!(!head.contains("access-control-"), "{head}");
    assert_eq!(
        upstream.requests_to("/h2").len(),
        2,
        "the preflight never reached the upstream"
    );
    still_serving(&envoy);
}

/// The same policy as [`start`], in the wasmtime harness.
fn harness_host() -> harness::Host {
    let mut host = harness::Host::real();
    let policy = policy();
    assert!(
        host.start(policy.to_string().as_bytes()).unwrap(),
        "{:?}",
        host.state().logs
    );
    host
}

/// The headers of a request through the harness: one `(name, bytes)` per line.
fn through_harness(host: &mut harness::Host, lines: &[(&str, &[u8])]) -> harness::host::Exchange {
    let mut request: harness::host::Headers = vec![(b":path".to_vec(), b"/".to_vec())];
    request.extend(
        lines
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec())),
    );
    if !lines.iter().any(|(n, _)| *n == ":method") {
        request.push((b":method".to_vec(), b"GET".to_vec()));
    }
    let upstream = vec![(b":status".to_vec(), b"200".to_vec())];
    host.exchange(request, harness::Reply::Upstream(upstream))
        .unwrap()
}

fn cors_headers(exchange: &harness::host::Exchange) -> Vec<String> {
    let names = exchange
        .response_headers
        .iter()
        .map(|(n, _)| String::from_utf8_lossy(n).into_owned());
    names.filter(|n| n.starts_with("access-control-")).collect()
}

#[test]
fn the_hostile_catalogue_through_the_harness() {
    let mut host = harness_host();
    let huge = format!("https://{}.example.com", "a".repeat(64 * 1024));
    for (what, origin) in [
        ("a 64 KB origin", huge.as_bytes()),
        ("non-UTF-8 bytes", &b"https://app.example.com\xff"[..]),
        ("a control byte", b"https://app.example.com\x01"),
        ("a NUL byte", b"https://app\x00.example.com"),
        ("a path", b"https://app.example.com/x"),
        ("userinfo", b"https://user@app.example.com"),
        ("upper case", b"https://APP.EXAMPLE.COM"),
        ("port 0", b"https://app.example.com:0"),
        ("port 65536", b"https://app.example.com:65536"),
        ("a trailing dot", b"https://app.example.com."),
        ("null", b"null"),
        (
            "two origins joined",
            b"https://evil.example, https://app.example.com",
        ),
    ] {
        let exchange = through_harness(&mut host, &[("origin", origin)]);
        assert!(exchange.reached_upstream, "{what}");
        assert_eq!(cors_headers(&exchange), Vec::<String>::new(), "{what}");
        // And the next, ordinary request is still allowed: not a filter that denies everything.
        let ordinary = through_harness(&mut host, &[("origin", APP.as_bytes())]);
        assert_eq!(
            cors_headers(&ordinary),
            [
                "access-control-allow-origin",
                "access-control-allow-credentials"
            ],
            "after {what}"
        );
    }
    let punycode = through_harness(
        &mut host,
        &[("origin", b"https://xn--bcher-kva.example.com")],
    );
    assert_eq!(
        cors_headers(&punycode),
        [
            "access-control-allow-origin",
            "access-control-allow-credentials"
        ]
    );

    let preflight = |host: &mut harness::Host, list: &[u8]| {
        let lines: [(&str, &[u8]); 4] = [
            (":method", b"OPTIONS"),
            ("origin", APP.as_bytes()),
            ("access-control-request-method", b"PUT"),
            ("access-control-request-headers", list),
        ];
        through_harness(host, &lines)
            .local_response
            .map(|l| l.status)
    };
    let ten_thousand = vec!["x-a"; 10_000].join(", ");
    assert_eq!(preflight(&mut host, ten_thousand.as_bytes()), Some(204));
    assert_eq!(
        preflight(&mut host, ",".repeat(100_000).as_bytes()),
        Some(204)
    );
    assert_eq!(
        preflight(&mut host, format!("{ten_thousand}, x-b").as_bytes()),
        Some(403)
    );
    assert_eq!(preflight(&mut host, b"x-a\x00"), Some(403));

    let options = through_harness(
        &mut host,
        &[(":method", b"OPTIONS"), ("origin", APP.as_bytes())],
    );
    assert!(
        options.reached_upstream,
        "OPTIONS without Access-Control-Request-Method is not a preflight"
    );
    assert_eq!(
        cors_headers(&options),
        [
            "access-control-allow-origin",
            "access-control-allow-credentials"
        ]
    );
}

/// The review's `.*[a-z]{1,1000}[a-z]{1,1000}` made as large as the regex size limit allows:
/// regex-lite's cost per byte grows with the states that can be live at once, and this keeps
/// about the most of them.
const WORST_REGEX: &str = ".*[a-z]{1,11}[a-z]{1,11}";

fn long_origins_against_the_worst_regex_allowed_are_answered_fast(build: Build) {
    let policy = json!({"policies": [{"name": "worst", "allow_origin_regexes": [WORST_REGEX]}]});
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let upstream = Upstream::start();
    let filter = cors_filter(build, &policy, Encoding::Struct);
    let envoy = Envoy::start(&bootstrap(vec![filter], routes, upstream.port));
    // Under Envoy's default 60 KiB of request headers; every regex would run over all of it.
    let huge = format!("{}://x.example.org", "a".repeat(58_000));
    // The longest Origin a regex still sees: a 32-byte scheme and a 253-byte host.
    let host = [&"a".repeat(63)[..]; 3].join(".") + "." + &"a".repeat(61);
    let longest = format!("{}://{host}", "a".repeat(32));
    assert_eq!(longest.len(), 288);
    for (origin, allowed) in [(&huge, false), (&longest, true)] {
        get_with_origin(&envoy, origin.as_bytes());
        let started = Instant::now();
        for _ in 0..40 {
            let response = get_with_origin(&envoy, origin.as_bytes());
            assert_eq!(response.status, 200);
            let echoed = response.header("access-control-allow-origin");
            assert_eq!(echoed.as_deref(), allowed.then_some(origin.as_str()));
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "40 requests with an Origin of {} bytes took {took:?}",
            origin.len()
        );
    }
    let ordinary = get_with_origin(&envoy, APP.as_bytes());
    assert_eq!(
        ordinary.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert!(
        envoy.log().contains(&format!(
            "denied: origin \"{}\"... is not allowed: 58016 bytes, longer than any real origin \
             (at most 300)",
            "a".repeat(128)
        )),
        "{}",
        envoy.log()
    );
}

for_both_builds!(
    long_origins_against_the_worst_regex_allowed_are_answered_fast,
    oversized_and_malformed_origins_are_denied,
    control_bytes_get_a_defined_answer_from_envoy_or_the_filter,
    repeated_origin_headers_never_mix,
    huge_request_header_lists_are_handled,
    options_without_request_method_bodies_and_trailers_are_ordinary_requests,
    http2_clients_get_the_same_answers,
);
