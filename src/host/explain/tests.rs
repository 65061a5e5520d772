//! The explain host: requests read from a line or a copied curl command, and what the
//! filter's own decision says about them.

use super::{explain, Request};
use crate::policy::Config;
use serde_json::json;

fn request(line: &str, headers: &[&str]) -> Request {
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    Request::from_line(line, &headers).unwrap()
}

fn config() -> Config {
    Config::from_tree(&json!({"policies": [
        {"name": "admin", "match": {"routes": ["admin"]}, "disabled": true},
        {"name": "api", "match": {"path_prefixes": ["/api/"]},
         "allow_origins": ["https://app.example.com"], "allow_methods": ["PUT"],
         "allow_credentials": true, "timing_allow_origin": true},
        {"name": "watch", "match": {"hosts": ["*.example.org"]},
         "allow_origins": ["https://app.example.com"], "report_only": true},
    ]}))
    .unwrap()
}

#[test]
fn a_line_gives_method_authority_path_and_headers_as_envoy_would() {
    let r = request(
        "OPTIONS https://api.example.com:8443/api/x?a=1#frag",
        &[
            "Origin: https://app.example.com",
            "X-A: 1",
            "x-a:2 ",
            "Host: other.example",
        ],
    );
    assert_eq!(r.method, "OPTIONS");
    assert_eq!(r.scheme, "https");
    assert_eq!(r.authority, "other.example");
    assert_eq!(r.path, "/api/x?a=1");
    assert_eq!(
        r.headers,
        [
            ("origin".to_string(), b"https://app.example.com".to_vec()),
            ("x-a".to_string(), b"1,2".to_vec()),
        ]
    );
    assert_eq!(request("GET http://a.example", &[]).path, "/");
    assert_eq!(request("GET http://a.example?x", &[]).path, "/?x");
}

#[test]
fn malformed_lines_and_headers_are_errors_that_say_what_is_expected() {
    let error = |line: &str, headers: &[&str]| {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        Request::from_line(line, &headers).unwrap_err()
    };
    assert_eq!(
        error("https://a.example/", &[]),
        r#"--request "https://a.example/": expected METHOD URL, such as 'OPTIONS https://api.example.com/api/x'"#
    );
    assert_eq!(
        error("GET /api/x", &[]),
        r#""/api/x" is not an http:// or https:// URL"#
    );
    assert_eq!(
        error("GE(T https://a.example/", &[]),
        r#""GE(T" is not an HTTP method (a token)"#
    );
    assert_eq!(
        error("GET https:///x", &[]),
        r#""https:///x": expected a host after https://, without userinfo"#
    );
    assert_eq!(
        error("GET https://a.example/", &["Origin https://x"]),
        r#"header "Origin https://x": expected 'Name: value'"#
    );
}

/// A pseudo-header sets what it names only with a value a browser could send: a fuzzed HAR
/// once set the method to "\u{fffd}ELETE".
#[test]
fn a_pseudo_header_no_browser_sends_is_an_error() {
    let error = |header: &str| {
        Request::from_line("GET https://a.example/", &[header.to_string()]).unwrap_err()
    };
    assert_eq!(
        error(":method: \u{fffd}ELETE"),
        "header :method: \"\u{fffd}ELETE\" is not a valid :method"
    );
    assert_eq!(
        error(":method:"),
        r#"header :method: "" is not a valid :method"#
    );
    assert_eq!(
        error(":scheme: ftp"),
        r#"header :scheme: "ftp" is not a valid :scheme"#
    );
    assert_eq!(
        error(":path: x"),
        r#"header :path: "x" is not a valid :path"#
    );
    assert_eq!(
        error(":authority: u@a.example"),
        r#"header :authority: "u@a.example" is not a valid :authority"#
    );
    let request = request(
        "GET https://a.example/",
        &[
            ":method: PUT",
            ":path: /b",
            ":authority: b.example",
            ":scheme: http",
        ],
    );
    assert_eq!(request.method, "PUT");
    assert_eq!(request.path, "/b");
    assert_eq!(request.authority, "b.example");
    assert_eq!(request.scheme, "http");
}

#[test]
fn a_copied_curl_command_is_read_as_the_request_it_sends() {
    let chrome = "curl 'https://api.example.com/api/orders' \\\n  -X 'OPTIONS' \\\n  \
                  -H 'accept: */*' \\\n  -H 'access-control-request-method: PUT' \\\n  \
                  -H 'origin: https://app.example.com' \\\n  --compressed";
    let r = Request::from_curl(chrome).unwrap();
    assert_eq!(
        (r.method.as_str(), r.authority.as_str(), r.path.as_str()),
        ("OPTIONS", "api.example.com", "/api/orders")
    );
    assert_eq!(r.headers.len(), 3);
    let firefox = "curl 'https://api.example.com/api/orders' --compressed -X POST \
                   -H 'Origin: https://app.example.com' --data-raw '{\"a\": 1}'";
    assert_eq!(Request::from_curl(firefox).unwrap().method, "POST");
    let body = "curl https://api.example.com/api/orders --data-raw 'x=1' -b 'a=b'";
    let r = Request::from_curl(body).unwrap();
    assert_eq!(r.method, "POST");
    assert_eq!(r.headers, [("cookie".to_string(), b"a=b".to_vec())]);
    assert_eq!(
        Request::from_curl("curl -I https://a.example/x")
            .unwrap()
            .method,
        "HEAD"
    );
    let windows = "curl 'https://a.example/' \\\r\n  -H 'origin: https://b.example'";
    assert_eq!(Request::from_curl(windows).unwrap().headers.len(), 1);
}

/// curl's own options for headers are the headers they send, `--url` the URL, `-G`
/// makes a request with data a GET, `-g` keeps the URL's backslashes.
#[test]
fn curl_options_for_headers_and_the_url_are_read_as_curl_reads_them() {
    let command = "curl -A agent/1 --referer https://r.example/ -b a=b --url https://a.example/x";
    let request = Request::from_curl(command).unwrap();
    assert_eq!(request.path, "/x");
    let get = "curl -G https://a.example/ --data-raw q=1";
    assert_eq!(Request::from_curl(get).unwrap().method, "GET");
    // Chromium and Safari escape curl's globbing characters, which curl unescapes unless -g.
    let escaped = r"curl 'https://a.example/a\{b'";
    assert_eq!(Request::from_curl(escaped).unwrap().path, "/a{b");
    let globoff = r"curl -g 'https://a.example/a\{b'";
    assert_eq!(Request::from_curl(globoff).unwrap().path, r"/a\{b");
    assert_eq!(
        request.headers,
        [
            ("user-agent".to_string(), b"agent/1".to_vec()),
            ("referer".to_string(), b"https://r.example/".to_vec()),
            ("cookie".to_string(), b"a=b".to_vec()),
        ]
    );
}

#[test]
fn a_curl_command_we_cannot_read_is_an_error() {
    let error = |command: &str| Request::from_curl(command).unwrap_err();
    assert_eq!(
        error("wget https://a.example/"),
        "--curl: the command must start with curl"
    );
    assert_eq!(
        error("curl 'https://a.example/"),
        "--curl: the command has an unclosed quote or a trailing backslash"
    );
    assert_eq!(error("curl -X"), "--curl: -X needs a value");
    assert_eq!(
        error("curl https://a.example/ -u me:pw"),
        "--curl: unsupported curl option -u"
    );
    assert_eq!(error("curl --compressed"), "--curl: the command has no URL");
    assert_eq!(
        error("curl https://a.example/ https://b.example/"),
        r#"--curl: a second URL "https://b.example/""#
    );
    // A lone "-" is no option: a word that is not one is the URL.
    assert_eq!(
        error("curl https://a.example/ -"),
        r#"--curl: a second URL "-""#
    );
    assert_eq!(
        error("curl https://a.example/ --data-raw $'it\\'s"),
        "--curl: the command has an unclosed quote or a trailing backslash"
    );
    assert_eq!(
        error("curl ^\"https://a.example/^\" -H ^\"origin: x^\""),
        "--curl: this is a copy for Windows cmd (^\"...^\"); copy as cURL (bash)"
    );
    assert_eq!(
        error("curl 'https://a.example/' ;\ncurl 'https://b.example/'"),
        "--curl: \";\" joins several commands; give one, or save them as HAR for --har"
    );
    assert_eq!(
        error("curl https://a.example/ -H ': x'"),
        "header \": x\": expected 'Name: value'"
    );
    assert_eq!(
        error("curl https://a.example/ -H ':status: 200'"),
        "header \":status: 200\": expected 'Name: value'"
    );
}

#[test]
fn an_allowed_actual_request_lists_every_header_the_filter_sets() {
    let r = request(
        "GET https://api.example.com/api/x",
        &["Origin: https://app.example.com"],
    );
    assert_eq!(
        explain(&config(), &r),
        "request: GET https://api.example.com/api/x, no route name (--route gives one)
  origin: https://app.example.com
policies[0] (admin): not this one: match.routes needs a route name and the request has none
policies[1] (api): applies: its match fits
decision: actual_allowed
status: the upstream's (the request goes upstream)
remove: every access-control-* header of the upstream's response
set: access-control-allow-origin: https://app.example.com
set: access-control-allow-credentials: true
set: timing-allow-origin: https://app.example.com
set: vary: Origin (merged into the upstream's Vary, unless it already names Origin or is *)
"
    );
}

#[test]
fn a_denied_preflight_says_why_and_what_is_sent() {
    let mut r = request(
        "OPTIONS https://api.example.com/api/x",
        &[
            "Origin: https://app.example.com",
            "Access-Control-Request-Method: PATCH",
        ],
    );
    r.route = Some("web".into());
    assert_eq!(
        explain(&config(), &r),
        r#"request: OPTIONS https://api.example.com/api/x, route "web"
  origin: https://app.example.com
  access-control-request-method: PATCH
policies[0] (admin): not this one: route "web" is not in match.routes
policies[1] (api): applies: its match fits
decision: preflight_denied: method "PATCH" is not allowed
log (debug level): cors-wasm: policy api: denied: method "PATCH" is not allowed
status: 403, answered by the filter (the request never reaches the upstream)
send: vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers
"#
    );
}

#[test]
fn disabled_report_only_unmatched_and_no_origin_are_said_plainly() {
    let tail = |r: &Request| {
        let text = explain(&config(), r);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("  ")).collect();
        lines.get(1..).unwrap_or_default().join("\n")
    };
    let mut admin = request("GET https://api.example.com/admin", &[]);
    admin.route = Some("admin".into());
    assert_eq!(
        tail(&admin),
        "policies[0] (admin): applies: its match fits\n\
         decision: disabled: no CORS handling, the request and its response pass untouched\n\
         status: the upstream's; the filter changes nothing"
    );
    let watched = request(
        "GET https://a.example.org/x",
        &["Origin: https://evil.example"],
    );
    assert!(tail(&watched).ends_with(
        "decision: actual_denied: origin \"https://evil.example\" is not allowed\n\
         log (debug level): cors-wasm: policy watch: denied (report only): origin \"https://evil.example\" is not allowed\n\
         report_only: counted and logged as above, but nothing is changed\n\
         status: the upstream's; the filter changes nothing"
    ), "{}", tail(&watched));
    assert!(tail(&request("GET https://a.example.net/x", &[])).ends_with(
        "policies[1] (api): not this one: path \"/x\" starts with no entry of match.path_prefixes\n\
         policies[2] (watch): not this one: host \"a.example.net\" fits no entry of match.hosts\n\
         no policy applies: the request and its response pass untouched"
    ));
    let no_origin = request("GET https://api.example.com/api/x", &[]);
    assert!(
        tail(&no_origin).contains(
            "decision: no_origin: the request has no Origin header, so it is no CORS request\n\
         status: the upstream's (the request goes upstream)\n\
         remove: every access-control-* header of the upstream's response\n\
         set: vary: Origin"
        ),
        "{}",
        tail(&no_origin)
    );
}

#[test]
fn a_request_a_browser_preflights_gets_a_note() {
    let r = request(
        "PUT https://api.example.com/api/x",
        &["Origin: https://app.example.com"],
    );
    assert!(explain(&config(), &r).ends_with(
        "note: a browser first sends a preflight for a PUT request; explain it with \
         --request 'OPTIONS https://api.example.com/api/x' -H 'Origin: https://app.example.com' \
         -H 'Access-Control-Request-Method: PUT'\n"
    ));
}

proptest::proptest! {
    /// Whatever is pasted, the readers answer with a request or an error, never a panic.
    #[test]
    fn no_paste_makes_the_readers_panic(text in "(curl |[-$'\"\\\\ :;^a-zA-Z0-9\\[\\]{}/.\n]){0,60}") {
        let _ = Request::from_curl(&text);
        let _ = Request::from_line(&text, std::slice::from_ref(&text));
        let _ = super::read_har(&text);
        let _ = super::ansi_c::unquote(text.as_bytes());
    }
}

/// Envoy's choice of virtual host: exact domains, then `*.suffix`, then `prefix.*` (each
/// wildcard standing for at least one character), then `*`.
#[test]
fn the_virtual_host_is_chosen_as_envoy_chooses_it() {
    let manager = json!({"route_config": {"virtual_hosts": [
        {"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"}}]},
        {"name": "suffix", "domains": ["*.example.com"], "routes": [{"match": {"prefix": "/"}}]},
        {"name": "prefix", "domains": ["api.*"], "routes": [{"match": {"prefix": "/"}}]},
    ]}});
    let host = |authority: &str| {
        let request = Request::from_line(&format!("GET https://{authority}/"), &[]).unwrap();
        match super::envoy::route_for(&manager, &request) {
            super::envoy::RouteChoice::Route(picked) => picked.virtual_host,
            _ => "none".to_string(),
        }
    };
    assert_eq!(host("a.example.com"), "suffix");
    assert_eq!(host(".example.com"), "all");
    assert_eq!(host("api.other.org"), "prefix");
    assert_eq!(host("api.x"), "prefix");
    assert_eq!(host("api."), "all");
    assert_eq!(host("www.other.org"), "all");
}

/// Which filters of an Envoy config are cors-wasm's, and what an unreadable configuration
/// of one says.
#[test]
fn the_cors_wasm_filters_of_an_envoy_config_are_found_by_their_code() {
    let wasm = |file: &str, root_id: &str, configuration: serde_json::Value| {
        json!({"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
               "config": {"root_id": root_id, "configuration": configuration,
                          "vm_config": {"code": {"local": {"filename": file}}}}})
    };
    let module = |name: &str| {
        json!({"@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
               "dynamic_module_config": {"name": name},
               "filter_config": {"@type": "type.googleapis.com/google.protobuf.Struct", "value": {}}})
    };
    let found = |filter: serde_json::Value| super::envoy::filters(&json!({"f": filter}));
    let string = json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": "{}"});
    assert_eq!(
        found(wasm("/etc/cors-wasm.wasm", "x", string.clone())).len(),
        1
    );
    assert_eq!(
        found(wasm("/etc/cors_wasm.wasm", "x", string.clone())).len(),
        1
    );
    assert_eq!(
        found(wasm("/etc/other.wasm", "cors-wasm", string.clone())).len(),
        1
    );
    assert_eq!(found(wasm("/etc/other.wasm", "x", string)).len(), 0);
    assert_eq!(found(module("cors_wasm")).len(), 1);
    assert_eq!(found(module("other")).len(), 0);
    let error = |configuration| {
        found(wasm("cors_wasm.wasm", "x", configuration))
            .remove(0)
            .config
    };
    assert_eq!(
        error(serde_json::Value::Null),
        Err("config.configuration: missing: the filter has no policies".to_string())
    );
    assert_eq!(
        error(json!({"@type": "type.googleapis.com/google.protobuf.BytesValue"})),
        Err(
            "config.configuration: @type \"type.googleapis.com/google.protobuf.BytesValue\": \
             expected google.protobuf.Struct or StringValue"
                .to_string()
        )
    );
}

/// The route Envoy picks in a virtual host: the first whose match fits; one with a condition
/// the checker cannot evaluate is skipped when its path does not fit, and is a question when
/// it does.
#[test]
fn the_route_is_the_first_whose_match_fits() {
    let manager = json!({"route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"],
    "routes": [
        {"name": "api", "match": {"path_separated_prefix": "/api"}},
        {"name": "header", "match": {"prefix": "/h", "headers": [{"name": "x"}]}},
        {"name": "rest", "match": {"prefix": "/"}},
    ]}]}});
    let route = |path: &str| {
        let request = Request::from_line(&format!("GET https://a.example{path}"), &[]).unwrap();
        match super::envoy::route_for(&manager, &request) {
            super::envoy::RouteChoice::Route(picked) => picked.name.unwrap_or_default(),
            super::envoy::RouteChoice::NoRoute(_) => "no route".to_string(),
            super::envoy::RouteChoice::Unknown(_) => "unknown".to_string(),
        }
    };
    assert_eq!(route("/api"), "api");
    assert_eq!(route("/api/x"), "api");
    assert_eq!(route("/apix"), "rest");
    assert_eq!(route("/x"), "rest");
    assert_eq!(route("/h"), "unknown");
}
