//! The policy checker as users' CI runs it: exit codes and the exact lines it prints.

use std::process::Command;

mod support;

use support::envoy::TempDir;

/// Runs the checker on these files (written to a temporary folder): the exit code, then
/// stdout and stderr, with the folder left out of the paths.
fn check(files: &[(&str, &str)]) -> (i32, String, String) {
    let dir = TempDir::new();
    let paths: Vec<_> = files
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .args(&paths)
        .output()
        .unwrap();
    let text = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes).replace(&format!("{}/", dir.path().display()), "")
    };
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[test]
fn a_valid_yaml_policy_prints_one_line_per_policy() {
    let yaml = "policies:\n  - name: api\n    match: { path_prefixes: [/api/] }\n    allow_origins: [https://app.example.com]\n    allow_methods: [PUT]\n    allow_credentials: true\n    max_age: 600\n  - match: { routes: [admin] }\n    disabled: true\n";
    let (code, out, err) = check(&[("p.yaml", yaml)]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "p.yaml: api: when path_prefixes [/api/]: origins [https://app.example.com]; methods GET, HEAD, POST and [PUT]; \
         request headers none; exposed headers none; credentials; max-age 600\n\
         p.yaml: policy-1: when routes [admin]: disabled, no CORS handling\n"
    );
    assert_eq!(err, "");
}

/// The summary is the validated policy's: names as the filter sends them, hosts as it
/// matches them, a list of safelisted methods as the nothing more it allows, and `*` as any.
#[test]
fn the_summary_describes_the_policy_the_filter_runs() {
    let yaml = "policies:\n  - name: a\n    match: { hosts: [API.Example.com, \"*.Example.org\"] }\n    allow_origins: [https://app.example.com, \"https://*.example.com\"]\n    allow_origin_regexes: [\"https://[a-z]+\\\\.example\\\\.net\"]\n    allow_methods: [GET, post]\n    allow_headers: [X-Trace, Content-Type]\n    expose_headers: [X-Request-Id]\n  - name: b\n    cors: { allowOrigins: [\"*\"], allowMethods: [\"*\"], allowHeaders: [X-Trace], maxAge: 60 }\n";
    let (code, out, err) = check(&[("v.yaml", yaml)]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out,
        "v.yaml: a: when hosts [api.example.com, *.example.org]: origins [https://app.example.com, \
         https://*.example.com]; origins matching [https://[a-z]+\\.example\\.net]; methods GET, HEAD, POST; \
         request headers [x-trace, content-type]; exposed headers [x-request-id]\n\
         v.yaml: b: every request: origins [*]; methods GET, HEAD, POST and [*]; request headers [X-Trace]; \
         exposed headers none; max-age 60\n"
    );
}

/// An empty `match` matches every request, and says so.
#[test]
fn an_empty_match_is_summarised_as_every_request() {
    let yaml = "policies:\n  - name: all\n    match: {}\n    allow_origins: [\"*\"]\n";
    let (code, out, err) = check(&[("m.yaml", yaml)]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out,
        "m.yaml: all: every request: origins [*]; methods GET, HEAD, POST; request headers none; \
         exposed headers none\n"
    );
}

#[test]
fn warnings_are_printed_before_the_policies_and_do_not_fail_the_run() {
    let json = r#"{"policies": [
        {"cors": {"allowOrigins": ["https://*.com", "https://app.example.com"], "allowCredentials": true}},
        {"name": "b", "match": {"path_prefixes": ["/c"]}, "cors": {"allowOrigins": ["*"], "allowCredentials": true}}
    ]}"#;
    let (code, out, err) = check(&[("w.json", json)]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "w.json: warning: policies[0].cors.allowOrigins[0]: \"https://*.com\": allows every site under the top-level domain \"com\"\n\
         w.json: warning: policies[1].cors.allowOrigins[0]: \"*\": with allowCredentials: true, every website may read \
         responses to requests made with the user's credentials (its origin is echoed)\n\
         w.json: warning: policies[1]: never applies: policies[0] (policy-0) has no match, so it \
         takes every request first\n\
         w.json: policy-0: every request: origins [https://*.com, https://app.example.com]; methods GET, HEAD, POST; \
         request headers none; exposed headers none; credentials\n\
         w.json: b: when path_prefixes [/c]: origins [*]; methods GET, HEAD, POST; request headers none; \
         exposed headers none; credentials\n"
    );
    assert_eq!(err, "");
}

#[test]
fn errors_are_the_filters_own_and_fail_the_run() {
    let json =
        r#"{"policies": [{"allow_origins": ["https://*.com"], "allow_credentials": "yes"}]}"#;
    let (code, out, err) = check(&[
        ("ok.json", r#"{"policies": [{"allow_origins": ["*"]}]}"#),
        ("bad.json", json),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out,
        "ok.json: policy-0: every request: origins [*]; methods GET, HEAD, POST; request headers none; \
         exposed headers none\n\
         bad.json: error: policies[0].allow_credentials: expected true or false, found a string\n\
         bad.json: error: policies[0].allow_origins[0]: \"https://*.com\": a wildcard needs at least two labels after it\n"
    );
    assert_eq!(err, "");
}

#[test]
fn the_shipped_wasm_plugin_passes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/envoy/istio/wasmplugin.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .arg(path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout).replace(path, "wasmplugin.yaml");
    assert!(output.status.success(), "{out}");
    assert_eq!(
        out,
        "wasmplugin.yaml: storefront: when routes [storefront-api]: origins [https://shop.example.com, \
         https://*.shop.example.com]; methods GET, HEAD, POST and [PUT, PATCH, DELETE]; request headers \
         [content-type, authorization]; exposed headers [x-request-id]; credentials; max-age 600\n\
         wasmplugin.yaml: catalog: when routes [catalog]: origins [*]; methods GET, HEAD, POST; request headers none; \
         exposed headers none; max-age 86400\n\
         wasmplugin.yaml: internal: when routes [internal-admin]: disabled, no CORS handling\n"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn unreadable_files_and_usage_exit_2() {
    let missing = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .arg("/nonexistent.yaml")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "/nonexistent.yaml: No such file or directory (os error 2)\n"
    );
    let usage = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&usage.stderr),
        "usage: cors-wasm-check FILE... (JSON or YAML policies, or an Istio WasmPlugin)\n       \
         cors-wasm-check FILE --request 'METHOD URL' [-H 'Name: value']... [--route NAME]\n       \
         cors-wasm-check FILE --curl 'curl ...' [--route NAME]   (a browser's \"Copy as cURL\")\n       \
         cors-wasm-check FILE --har NETWORK.har [--route NAME]    (a browser's \"Save all as HAR\")\n       \
         add --json to any of these for one JSON object instead of text\n       \
         cors-wasm-check import {envoy|istio|express} FILE    (another CORS configuration as cors-wasm's)\n"
    );
    for help in [&["-h"][..], &["--help"], &["policy.yaml", "--help"]] {
        let asked = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
            .args(help)
            .output()
            .unwrap();
        assert_eq!(asked.status.code(), Some(2), "{help:?}");
        assert_eq!(asked.stderr, usage.stderr, "{help:?}");
    }
    let (code, out, err) = check(&[("broken.yaml", "policies: ["), ("empty.yaml", "")]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "broken.yaml: not valid YAML: while parsing a node, did not find expected node content at byte 11 line 2 column 1\n\
         empty.yaml: the file is empty\n"
    );
}

#[test]
fn a_key_written_twice_fails_the_run_with_its_path() {
    let json = r#"{"policies": [{"allow_origins": ["https://a.example"], "allow_credentials": false, "allow_credentials": true}]}"#;
    let yaml = "policies:\n  - allow_origins: [https://a.example]\n    allow_credentials: false\n    allow_credentials: true\n";
    let (code, out, err) = check(&[("twice.json", json)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out,
        "twice.json: error: policies[0].allow_credentials: the key is written more than once in \
         this object; write it once\n"
    );
    assert_eq!(err, "");
    // YAML's own reader refuses it too (Envoy's keeps one of the two, silently).
    let (code, out, err) = check(&[("twice.yaml", yaml)]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "twice.yaml: not valid YAML: String(\"allow_credentials\"): duplicated key in mapping \
         at byte 101 line 4 column 24\n"
    );
}

// ---------------------------------------------------------------------------------------
// Issue 16: timing_allow_origin, unreachable policies, explaining a request.
// ---------------------------------------------------------------------------------------

#[test]
fn the_summary_names_timing_allow_origin() {
    let yaml = "policies:\n  - name: api\n    allow_origins: [https://app.example.com]\n    timing_allow_origin: true\n";
    let (code, out, err) = check(&[("t.yaml", yaml)]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(err, "");
    assert_eq!(
        out,
        "t.yaml: api: every request: origins [https://app.example.com]; methods GET, HEAD, POST; \
         request headers none; exposed headers none; Timing-Allow-Origin\n"
    );
}

#[test]
fn a_policy_that_can_never_apply_is_a_warning_not_an_error() {
    let yaml = "policies:\n  - name: all\n    allow_origins: [\"*\"]\n  - name: api\n    match: { path_prefixes: [/api/] }\n    allow_origins: [https://app.example.com]\n";
    let (code, out, err) = check(&[("shadow.yaml", yaml)]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(err, "");
    assert_eq!(
        out,
        "shadow.yaml: warning: policies[1]: never applies: policies[0] (all) has no match, so it \
         takes every request first\n\
         shadow.yaml: all: every request: origins [*]; methods GET, HEAD, POST; request headers \
         none; exposed headers none\n\
         shadow.yaml: api: when path_prefixes [/api/]: origins [https://app.example.com]; methods \
         GET, HEAD, POST; request headers none; exposed headers none\n"
    );
}

#[test]
fn an_unknown_field_close_to_a_known_one_gets_a_suggestion() {
    let yaml = "policies:\n  - allow_origins: [\"*\"]\n    allow_header: [x-a]\n";
    let (code, out, err) = check(&[("typo.yaml", yaml)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err, "");
    assert_eq!(
        out,
        "typo.yaml: error: policies[0].allow_header: unknown field; did you mean allow_headers?\n"
    );
}

/// The checker run with these arguments: exit code, stdout and stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const README_REQUEST: [&str; 9] = [
    "envoy/policies.yaml",
    "--request",
    "OPTIONS https://api.example.com/api/orders",
    "-H",
    "Origin: https://app.example.com",
    "-H",
    "Access-Control-Request-Method: PUT",
    "-H",
    "Access-Control-Request-Headers: content-type, x-trace",
];

/// The README's example, word for word: its command gives exactly the output it shows.
#[test]
fn the_readmes_explain_example_is_what_the_checker_prints() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let command = "./build.sh check envoy/policies.yaml --request 'OPTIONS https://api.example.com/api/orders' \\\n  \
                   -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: PUT' \\\n  \
                   -H 'Access-Control-Request-Headers: content-type, x-trace'\n";
    assert!(
        readme.contains(command),
        "README.md should show:\n{command}"
    );
    let (code, out, err) = run(&README_REQUEST);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        readme.contains(&format!("```\n{out}```\n")),
        "README.md should show this output:\n{out}"
    );
    assert!(
        out.contains("decision: preflight_denied: header \"x-trace\" is not allowed\n"),
        "{out}"
    );
    // envoy/policies.yaml is the README's per-route policy list, line for line.
    let policies =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/envoy/policies.yaml"))
            .unwrap();
    for line in policies.lines().skip_while(|l| *l != "policies:").skip(1) {
        assert!(
            readme.contains(&format!("\n{line}\n")),
            "not in README.md: {line}"
        );
    }
}

#[test]
fn a_copied_curl_command_is_explained_like_the_same_request() {
    let curl = "curl 'https://api.example.com/api/orders' \\\n  -X 'OPTIONS' \\\n  \
                -H 'accept: */*' \\\n  -H 'access-control-request-method: PUT' \\\n  \
                -H 'origin: https://app.example.com' \\\n  --compressed";
    let (code, out, err) = run(&["envoy/policies.yaml", "--curl", curl, "--route", "api"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("request: OPTIONS https://api.example.com/api/orders, route \"api\"\n"),
        "{out}"
    );
    assert!(
        out.contains("policies[0] (admin): not this one: route \"api\" is not in match.routes\n"),
        "{out}"
    );
    assert!(out.contains("decision: preflight_allowed\nstatus: 204, answered by the filter (the request never reaches the upstream)\n\
                          send: access-control-allow-origin: https://app.example.com\n"), "{out}");
}

#[test]
fn malformed_requests_are_errors_with_exit_2() {
    for (args, message) in [
        (
            &["envoy/policies.yaml", "--request", "GET /api"][..],
            "\"/api\" is not an http:// or https:// URL",
        ),
        (
            &[
                "envoy/policies.yaml",
                "--request",
                "GET https://a.example/",
                "-H",
                "Origin",
            ],
            "header \"Origin\": expected 'Name: value'",
        ),
        (
            &[
                "envoy/policies.yaml",
                "--curl",
                "curl https://a.example/ --proxy x",
            ],
            "--curl: unsupported curl option --proxy",
        ),
        (
            &["envoy/policies.yaml", "--request"],
            "--request needs a value",
        ),
        (
            &[
                "envoy/policies.yaml",
                "envoy/policies.yaml",
                "--request",
                "GET https://a.example/",
            ],
            "explain one policy file at a time, not 2",
        ),
        (
            &["envoy/policies.yaml", "--route", "api"],
            "-H and --route need --request, --curl or --har",
        ),
        (
            &["envoy/policies.yaml", "--verbose"],
            "unknown option --verbose",
        ),
        (&["envoy/policies.yaml", "--har"], "--har needs a value"),
        (
            &[
                "envoy/policies.yaml",
                "--har",
                "x.har",
                "--curl",
                "curl https://a.example/",
            ],
            "give one of --request, --curl and --har",
        ),
        (
            &[
                "envoy/policies.yaml",
                "--har",
                "x.har",
                "-H",
                "Origin: https://a.example",
            ],
            "-H goes with --request; put headers in the curl command",
        ),
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(
            err.starts_with(&format!("cors-wasm-check: {message}\nusage: ")),
            "{args:?}: {err}"
        );
        assert_eq!(out, "", "{args:?}");
    }
    let (code, out, err) = run(&["--json"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.starts_with("usage: "), "{err}");
    let (code, _, err) = run(&["/nonexistent.yaml", "--request", "GET https://a.example/"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("/nonexistent.yaml: "), "{err}");
}

#[test]
fn an_invalid_policy_file_is_reported_and_not_explained() {
    let dir = TempDir::new();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, r#"{"policies": [{"allow_origin": ["*"]}]}"#).unwrap();
    let path = path.to_string_lossy().into_owned();
    let (code, out, _) = run(&[&path, "--request", "GET https://a.example/"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error: policies[0].allow_origin: unknown field; did you mean allow_origins?"),
        "{out}"
    );
    assert!(!out.contains("decision:"), "{out}");
}

/// `./build.sh check` hands every flag to the checker unchanged.
#[test]
fn build_sh_check_passes_the_flags_through() {
    let output = Command::new("./build.sh")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("check")
        .args(README_REQUEST)
        .output()
        .unwrap();
    let (_, direct, _) = run(&README_REQUEST);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), direct);
}

/// The checker run on envoy/policies.yaml with a copied command: exit 0, and each line in
/// `lines` is in what it prints.
fn explains_copied(browser: &str, curl: &str, lines: &[&str]) {
    let (code, out, err) = run(&["envoy/policies.yaml", "--curl", curl]);
    assert_eq!(code, 0, "{browser}: {out}{err}");
    for line in lines {
        assert!(
            out.contains(&format!("{line}\n")),
            "{browser}: no line {line:?} in\n{out}"
        );
    }
}

/// Chromium's "Copy as cURL (bash)": one option a line, values in `$'...'` when they hold a
/// `'`, a control character or `!` (written `\uHHHH`), cookies in `-b`.
#[test]
fn chromiums_copy_as_curl_is_explained() {
    let actual = r#"curl 'https://api.example.com/api/orders' \
  -X 'PUT' \
  -H 'accept: */*' \
  -H 'accept-language: en-US,en;q=0.9' \
  -H 'content-type: application/json' \
  -b 'session=abc; theme=dark' \
  -H 'origin: https://app.example.com' \
  -H 'priority: u=1, i' \
  -H 'referer: https://app.example.com/' \
  -H 'sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"' \
  -H 'sec-fetch-mode: cors' \
  -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' \
  --data-raw $'{"note":"it\'s done\u0021"}'"#;
    explains_copied(
        "chromium",
        actual,
        &[
            "request: PUT https://api.example.com/api/orders, no route name (--route gives one)",
            "  cookie: session=abc; theme=dark",
            "decision: actual_allowed",
            "set: access-control-allow-origin: https://app.example.com",
        ],
    );
    let preflight = "curl 'https://api.example.com/api/orders' \\\r\n  -X 'OPTIONS' \\\r\n  \
        -H 'accept: */*' \\\r\n  -H 'access-control-request-headers: content-type,x-trace' \\\r\n  \
        -H 'access-control-request-method: PUT' \\\r\n  -H 'origin: https://app.example.com' \\\r\n  \
        -H $'user-agent: it\\'s \\u0021' \\\r\n  --compressed";
    explains_copied(
        "chromium",
        preflight,
        &[
            "  user-agent: it's !",
            "decision: preflight_denied: header \"x-trace\" is not allowed",
        ],
    );
}

/// Firefox's "Copy as cURL (POSIX)": options on one line, `$'...'` with `\xHH` for each byte
/// outside printable ASCII (a UTF-8 value shows as its bytes).
#[test]
fn firefoxs_copy_as_curl_is_explained() {
    let curl = r#"curl 'https://api.example.com/api/orders?q=caf%C3%A9' -X PUT -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' -H 'Accept: */*' -H 'Accept-Language: en-US,en;q=0.5' -H 'Accept-Encoding: gzip, deflate, br, zstd' -H 'Content-Type: application/json' -H 'Origin: https://evil.example' -H 'Connection: keep-alive' -H $'Cookie: name=Jos\xc3\xa9' -H 'Sec-Fetch-Dest: empty' -H 'Sec-Fetch-Mode: cors' -H 'Sec-Fetch-Site: cross-site' -H 'Priority: u=0' --data-raw $'{"a":"it\'s"}'"#;
    explains_copied(
        "firefox",
        curl,
        &[
            "request: PUT https://api.example.com/api/orders?q=caf%C3%A9, no route name (--route gives one)",
            "  cookie: name=José",
            "decision: actual_denied: origin \"https://evil.example\" is not allowed",
        ],
    );
}

/// Safari's "Copy as cURL": `-XMETHOD` attached, a line per option without indent, `!` as
/// `\041`, and curl's globbing characters of the URL escaped with `\`.
#[test]
fn safaris_copy_as_curl_is_explained() {
    let curl = r#"curl 'https://api.example.com/api/orders?ids=\[1,2\]' \
-XDELETE \
-H 'Accept: */*' \
-H 'Origin: https://pr-7.preview.example.com' \
-H 'User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15' \
-H $'Referer: https://pr-7.preview.example.com/caf\xc3\xa9\041'"#;
    explains_copied(
        "safari",
        curl,
        &[
            "request: DELETE https://api.example.com/api/orders?ids=[1,2], no route name (--route gives one)",
            "  referer: https://pr-7.preview.example.com/café!",
            "decision: actual_allowed",
            "set: access-control-allow-origin: https://pr-7.preview.example.com",
        ],
    );
    let post = "curl 'https://cdn.example.com/static/app.js' \\\n-XPOST \\\n\
                -H 'Content-Type: text/plain' \\\n-H 'Origin: https://anyone.example' \\\n\
                --data-binary $'line\\nnext'";
    explains_copied(
        "safari",
        post,
        &[
            "policies[1] (assets): applies: its match fits",
            "set: access-control-allow-origin: *",
        ],
    );
}

#[test]
fn a_command_of_another_tool_or_option_is_an_error_that_names_it() {
    for (curl, message) in [
        (
            "http POST https://a.example/ a=1",
            "--curl: the command must start with curl",
        ),
        (
            "curl -u me:pw https://a.example/",
            "--curl: unsupported curl option -u",
        ),
        (
            "curl https://a.example/ -H $'x: \\'",
            "--curl: the command has an unclosed quote or a trailing backslash",
        ),
    ] {
        let (code, out, err) = run(&["envoy/policies.yaml", "--curl", curl]);
        assert_eq!(code, 2, "{curl}: {out}{err}");
        assert!(
            err.starts_with(&format!("cors-wasm-check: {message}\nusage: ")),
            "{curl}: {err}"
        );
    }
}

/// A HAR file of each browser's shape (Chromium's HTTP/2 pseudo-headers, Firefox's HTTP/1.1
/// `Host`, Safari's capitalised names and an opaque `null` origin):
/// a line per cross-origin request, preflights paired, same-origin and `data:` entries
/// counted apart.
#[test]
fn a_har_file_is_explained_a_line_per_cross_origin_request() {
    let (code, out, err) = run(&["envoy/policies.yaml", "--har", "tests/har/chromium.har"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out,
        "entries[1]: GET https://api.example.com/api/orders?page=2 from https://app.example.com: actual_allowed\n\
         entries[2]: OPTIONS https://api.example.com/api/orders/7 from https://app.example.com: preflight_denied: header \"x-trace\" is not allowed\n\
         entries[3]: OPTIONS https://api.example.com/api/orders/8 from https://app.example.com: preflight_allowed (the preflight of entries[4])\n\
         entries[4]: DELETE https://api.example.com/api/orders/8 from https://app.example.com: actual_allowed (after the preflight entries[3])\n\
         entries[5]: GET https://cdn.example.com/static/app.js from https://app.example.com: actual_allowed\n\
         summary: 5 cross-origin requests, 1 after a preflight in the file: 4 allowed, 1 denied, 0 passed untouched; \
         3 other entries (same-origin, without Origin, or not HTTP)\n"
    );
    let firefox = [
        "envoy/policies.yaml",
        "--har",
        "tests/har/firefox.har",
        "--route",
        "admin",
    ];
    let (code, out, _) = run(&firefox);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().next(),
        Some("entries[0]: OPTIONS https://api.example.com/api/orders/9 from https://evil.example: disabled: no CORS handling, the request and its response pass untouched")
    );
    assert!(out.ends_with("summary: 4 cross-origin requests, 1 after a preflight in the file: 0 allowed, 0 denied, 4 passed untouched; \
                           0 other entries (same-origin, without Origin, or not HTTP)\n"), "{out}");
    let (code, out, _) = run(&["envoy/policies.yaml", "--har", "tests/har/safari.har"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "entries[0]: GET https://api.example.com/api/me from null: actual_denied: origin \"null\" is not allowed\n\
         entries[1]: OPTIONS https://api.example.com/api/orders/11 from https://pr-7.preview.example.com: preflight_allowed (the preflight of entries[2])\n\
         entries[2]: DELETE https://api.example.com/api/orders/11 from https://pr-7.preview.example.com: actual_allowed (after the preflight entries[1])\n\
         summary: 3 cross-origin requests, 1 after a preflight in the file: 2 allowed, 1 denied, 0 passed untouched; \
         0 other entries (same-origin, without Origin, or not HTTP)\n"
    );
}

#[test]
fn a_malformed_har_is_a_one_line_error_that_says_where() {
    let dir = TempDir::new();
    for (har, message) in [
        (
            r#"{"log":"#,
            "not JSON: EOF while parsing a value at line 1 column 7",
        ),
        (
            r#"{"log": {"pages": []}}"#,
            "log.entries: missing, so this is no HAR file",
        ),
        (
            r#"{"log": {"entries": [{"request": {"method": "GET", "url": 5}}]}}"#,
            "log.entries[0].request.url: expected a string",
        ),
        (
            r#"{"log": {"entries": [{"response": {}}]}}"#,
            "log.entries[0].request.method: expected a string",
        ),
        (
            r#"{"log": {"entries": [{"request": {"method": "GET", "url": "https://a.example/"}}]}}"#,
            r#"log.entries[0].request.headers: expected a list of {"name", "value"}"#,
        ),
        (
            r#"{"log": {"entries": [{"request": {"method": "GET", "url": "https://a.example/", "headers": [{"name": "Origin"}]}}]}}"#,
            r#"log.entries[0].request.headers[0]: expected {"name", "value"} strings"#,
        ),
        (
            r#"{"log": {"entries": [{"request": {"method": "GET", "url": "https://a.example/", "headers": [{"name": "Bad Name", "value": "x"}]}}]}}"#,
            r#"log.entries[0].request.headers[0]: header "Bad Name: x": expected 'Name: value'"#,
        ),
        (
            r#"{"log": {"entries": [{"request": {"method": "G T", "url": "https://a.example/", "headers": []}}]}}"#,
            r#"log.entries[0].request: "G T" is not an HTTP method (a token)"#,
        ),
    ] {
        let path = dir.path().join("bad.har");
        std::fs::write(&path, har).unwrap();
        let path = path.to_string_lossy().into_owned();
        for json in [&[][..], &["--json"][..]] {
            let args = [&["envoy/policies.yaml", "--har", path.as_str()][..], json].concat();
            let (code, out, err) = run(&args);
            assert_eq!((code, out.as_str()), (2, ""), "{har}: {err}");
            assert_eq!(
                err,
                format!("cors-wasm-check: --har {path}: {message}\n"),
                "{har}"
            );
        }
    }
    let (code, _, err) = run(&["envoy/policies.yaml", "--har", "/nonexistent.har"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "cors-wasm-check: --har /nonexistent.har: No such file or directory (os error 2)\n"
    );
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// Each key of `value` (and of the objects in it) is named, as `key`, in docs/checker.md.
fn documented(value: &serde_json::Value) {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checker.md")).unwrap();
    match value {
        serde_json::Value::Object(fields) => {
            for (key, inner) in fields {
                assert!(
                    docs.contains(&format!("`{key}`")),
                    "docs/checker.md does not describe `{key}`"
                );
                documented(inner);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(documented),
        _ => {}
    }
}

/// `--json` of the README's request: the facts of the text, as data, each key documented.
#[test]
fn json_gives_the_facts_of_the_text() {
    let value = json_of(&[&README_REQUEST[..], &["--json"]].concat());
    documented(&value);
    let (_, text, _) = run(&README_REQUEST);
    let decision = format!(
        "decision: {}: {}\n",
        value["decision"].as_str().unwrap(),
        value["reason"].as_str().unwrap()
    );
    assert!(text.contains(&decision), "{decision} not in\n{text}");
    assert_eq!(value["decision"], "preflight_denied");
    assert_eq!(value["reason"], "header \"x-trace\" is not allowed");
    assert_eq!(
        (value["status"].as_u64(), value["upstream"].as_bool()),
        (Some(403), Some(false))
    );
    assert_eq!(value["policy"]["name"], "api");
    let passed: Vec<&str> = value["passed_over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(passed, ["admin", "assets"]);
    for pair in value["send"].as_array().unwrap() {
        let line = format!(
            "send: {}: {}\n",
            pair[0].as_str().unwrap(),
            pair[1].as_str().unwrap()
        );
        assert!(text.contains(&line), "{line} not in\n{text}");
    }
    let actual = json_of(&[
        "envoy/policies.yaml",
        "--json",
        "--request",
        "PUT https://api.example.com/api/x",
        "-H",
        "Origin: https://app.example.com",
    ]);
    documented(&actual);
    assert_eq!(
        (actual["status"].clone(), actual["upstream"].as_bool()),
        (serde_json::Value::Null, Some(true))
    );
    assert!(actual["edits"].as_array().unwrap().contains(&serde_json::json!({"set": "access-control-allow-origin", "value": "https://app.example.com"})));
    assert!(actual["note"]
        .as_str()
        .unwrap()
        .starts_with("a browser first sends a preflight"));
}

#[test]
fn json_of_a_har_file_and_of_a_check_is_documented_data() {
    let har = json_of(&[
        "envoy/policies.yaml",
        "--har",
        "tests/har/chromium.har",
        "--json",
    ]);
    documented(&har);
    let decisions: Vec<&str> = har["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        [
            "actual_allowed",
            "preflight_denied",
            "preflight_allowed",
            "actual_allowed",
            "actual_allowed"
        ]
    );
    assert_eq!(
        (
            har["requests"][2]["preflight_for"].as_u64(),
            har["requests"][3]["preflight"].as_u64()
        ),
        (Some(4), Some(3))
    );
    assert_eq!(
        har["summary"],
        serde_json::json!({"cross_origin": 5, "paired_preflights": 1, "allowed": 4, "denied": 1, "untouched": 0, "other_entries": 3})
    );
    let dir = TempDir::new();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"policies": [{"allow_origin": ["*"]}]}"#).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "envoy/policies.yaml",
            "--json",
            &bad.to_string_lossy(),
            "/nonexistent.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let check: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    documented(&check);
    let results: Vec<&str> = check["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["valid", "invalid", "unreadable"]);
    assert_eq!(check["files"][0]["policies"][2]["name"], "api");
    assert_eq!(
        check["files"][1]["errors"][0],
        "policies[0].allow_origin: unknown field; did you mean allow_origins?"
    );
    assert_eq!(
        check["files"][2]["errors"][0],
        "No such file or directory (os error 2)"
    );
}

const ENVOY_FILTER: &str =
    "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]";

/// The shipped Envoy configurations, as users have them: each cors-wasm filter found (the
/// wasm filter, the dynamic module filter) and checked with the filter's own messages.
#[test]
fn an_envoy_bootstrap_is_checked_filter_by_filter() {
    let (code, out, err) = run(&["envoy/envoy.yaml", "envoy/dynamic-module.yaml"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    for file in ["envoy/envoy.yaml", "envoy/dynamic-module.yaml"] {
        let line = format!("{file}: {ENVOY_FILTER}: health: when routes [health]: origins [*]; methods GET, HEAD, POST; request headers none; exposed headers none\n");
        assert!(out.contains(&line), "{line} not in\n{out}");
    }
}

/// In explain mode the route is the one Envoy picks (virtual host by domain, then the first
/// route whose prefix fits), so `match.routes` works without `--route`.
#[test]
fn explaining_with_an_envoy_bootstrap_takes_the_route_envoy_picks() {
    let (code, out, err) = run(&[
        "envoy/envoy.yaml",
        "--request",
        "GET https://api.example.com/healthz",
        "-H",
        "Origin: https://x.example",
    ]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.starts_with(&format!(
        "envoy: the cors-wasm filter at {ENVOY_FILTER}; Envoy picks virtual host \"api\", routes[0], named \"health\"; \
         it answers itself (direct_response), and the filter's headers go on that answer\n\
         request: GET https://api.example.com/healthz, route \"health\"\n")), "{out}");
    assert!(
        out.contains("policies[0] (health): applies: its match fits\ndecision: actual_allowed\n"),
        "{out}"
    );
    let (_, out, _) = run(&[
        "envoy/dynamic-module.yaml",
        "--route",
        "api",
        "--request",
        "GET https://api.example.com/healthz",
        "-H",
        "Origin: https://x.example",
    ]);
    assert!(
        out.starts_with("request: GET https://api.example.com/healthz, route \"api\"\n"),
        "--route wins: {out}"
    );
    let json = json_of(&[
        "envoy/envoy.yaml",
        "--json",
        "--request",
        "GET https://api.example.com/api/x",
    ]);
    documented(&json);
    assert_eq!(json["request"]["route"], "api");
    assert_eq!(json["envoy"]["filter"], ENVOY_FILTER);
    let har = json_of(&[
        "envoy/gateway.yaml",
        "--har",
        "tests/har/chromium.har",
        "--json",
    ]);
    let routes: Vec<Option<&str>> = har["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["explanation"]["request"]["route"].as_str())
        .collect();
    let api = Some("api");
    assert_eq!(
        routes,
        [api, api, api, api, None],
        "each request of a HAR file takes its own route; /static/ has none in envoy/gateway.yaml"
    );
}

/// `--json` on an Envoy configuration: the file's result, and each filter's under `filters`.
#[test]
fn json_of_an_envoy_bootstrap_is_filter_by_filter() {
    let json = json_of(&["--json", "envoy/envoy.yaml"]);
    let file = &json["files"][0];
    assert_eq!(file["path"], "envoy/envoy.yaml");
    assert_eq!(file["result"], "valid", "{json}");
    assert_eq!(file["filters"][0]["at"], ENVOY_FILTER, "{json}");
    assert_eq!(file["filters"][0]["result"], "valid", "{json}");
    assert_eq!(
        file["filters"][0]["policies"][0]["name"], "health",
        "{json}"
    );
    documented(&json);
}

/// An Envoy configuration written for one test: a listener whose connection manager has
/// these routes and these HTTP filters.
fn bootstrap(routes: &str, filters: &[&str]) -> String {
    let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    format!(
        r#"{{"static_resources": {{"listeners": [{{"name": "l", "filter_chains": [{{"filters": [{{
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {{"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          {routes}, "http_filters": [{}]}}}}]}}]}}]}}}}"#,
        filters.join(",")
    )
}

const WASM_FILTER: &str = r#"{"name": "envoy.filters.http.wasm", "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
    "config": {"vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"remote": {"http_uri": {"uri": "https://example.com/cors_wasm.wasm"}}}},
      "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
        "value": "{\"policies\": [{\"name\": \"web\", \"match\": {\"routes\": [\"web\"]}, \"allow_origins\": [\"https://app.example.com\"]}]}"}}}}"#;

const OTHER_WASM: &str = r#"{"name": "other", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
    "config": {"vm_config": {"code": {"local": {"filename": "/etc/envoy/auth.wasm"}}}}}}"#;

fn explain_in(dir: &TempDir, config: &str, request: &str) -> (i32, String, String) {
    let path = dir.path().join("envoy.json");
    std::fs::write(&path, config).unwrap();
    let path = path.to_string_lossy().into_owned();
    let (code, out, err) = run(&[
        &path,
        "--request",
        request,
        "-H",
        "Origin: https://app.example.com",
    ]);
    (
        code,
        out.replace(&path, "envoy.json"),
        err.replace(&path, "envoy.json"),
    )
}

#[test]
fn routes_envoy_picks_and_those_the_checker_cannot_tell() {
    let dir = TempDir::new();
    let routes = r#""route_config": {"virtual_hosts": [
        {"name": "other", "domains": ["other.example.com"], "routes": [{"name": "no", "match": {"prefix": "/"}}]},
        {"name": "wild", "domains": ["*.example.com"], "routes": [
            {"name": "exact", "match": {"path": "/web"}},
            {"name": "web", "match": {"prefix": "/Web/", "case_sensitive": false}},
            {"name": "regex", "match": {"safe_regex": {"regex": "/x.*"}}},
            {"name": "last", "match": {"prefix": "/"}}]}]}"#;
    let config = bootstrap(routes, &[OTHER_WASM, WASM_FILTER]);
    let line = |request: &str| {
        explain_in(&dir, &config, request)
            .1
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let at =
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1]";
    assert_eq!(line("GET https://api.example.com/web/a?x=1"),
        format!("envoy: the cors-wasm filter at {at}; Envoy picks virtual host \"wild\", routes[1], named \"web\""));
    assert_eq!(line("GET https://api.example.com/web?x=1"),
        format!("envoy: the cors-wasm filter at {at}; Envoy picks virtual host \"wild\", routes[0], named \"exact\""));
    assert_eq!(line("GET https://api.example.com/x"),
        format!("envoy: the cors-wasm filter at {at}; which route Envoy picks is unknown: routes[2] of virtual host \"wild\" \
                 matches on safe_regex, which the checker does not evaluate; give --route NAME"));
    assert_eq!(line("GET https://api.example.com:8443/web/a"),
        format!("envoy: the cors-wasm filter at {at}; no virtual host's domains fit \"api.example.com:8443\": Envoy answers 404 itself; \
                 the filter still runs, with no route name"));
    let stripping = config.replace(
        "\"route_config\"",
        "\"strip_any_host_port\": true, \"route_config\"",
    );
    let (_, out, _) = explain_in(&dir, &stripping, "GET https://api.example.com:8443/web/a");
    assert!(out.starts_with(&format!("envoy: the cors-wasm filter at {at}; Envoy picks virtual host \"wild\", routes[1], named \"web\"\n")), "{out}");
    assert_eq!(line("GET https://example.org/"),
        format!("envoy: the cors-wasm filter at {at}; no virtual host's domains fit \"example.org\": Envoy answers 404 itself; \
                 the filter still runs, with no route name"));
    let (code, out, _) = explain_in(&dir, &config, "GET https://api.example.com/web/a");
    assert_eq!(code, 0);
    assert!(
        out.contains("policies[0] (web): applies: its match fits\ndecision: actual_allowed\n"),
        "{out}"
    );
    let rds = bootstrap(r#""rds": {"route_config_name": "r"}"#, &[WASM_FILTER]);
    assert!(explain_in(&dir, &rds, "GET https://a.example.com/").1.starts_with(
        "envoy: the cors-wasm filter at static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]; \
         which route Envoy picks is unknown: the routes come from RDS, not this file; give --route NAME\n"));
}

/// An ECDS resource (a `TypedExtensionConfig`, here the dynamic module filter with its
/// policies as a `Struct`) is read like a bootstrap.
#[test]
fn an_ecds_resource_is_checked() {
    let ecds = "name: cors\ntyped_config:\n  \"@type\": type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter\n  \
                dynamic_module_config: { name: cors_wasm }\n  filter_name: cors\n  filter_config:\n    \
                \"@type\": type.googleapis.com/google.protobuf.Struct\n    value:\n      policies:\n        \
                - { name: all, allow_origins: [\"https://app.example.com\", \"x\"] }\n";
    let (code, out, err) = check(&[("ecds.yaml", ecds)]);
    assert_eq!((code, err.as_str()), (1, ""), "{out}");
    assert_eq!(out, "ecds.yaml: the top of the file: error: policies[0].allow_origins[1]: \"x\": expected scheme://host[:port], \"null\" or \"*\"\n");
}

/// No cors-wasm filter, two in one chain, or (to explain) two anywhere: one line naming
/// them, exit 2.
#[test]
fn an_envoy_config_without_one_cors_wasm_filter_is_an_error_that_says_where() {
    let dir = TempDir::new();
    let routes = r#""route_config": {"virtual_hosts": []}"#;
    let none = bootstrap(routes, &[OTHER_WASM]);
    let (code, out, err) = check(&[("none.json", &none)]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, "none.json: no cors-wasm filter in this Envoy configuration (a wasm filter whose code is cors_wasm.wasm, or a dynamic module filter of cors_wasm)\n");
    let chain =
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters";
    let two = bootstrap(routes, &[WASM_FILTER, WASM_FILTER]);
    let (code, out, err) = check(&[("two.json", &two)]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, format!("two.json: two cors-wasm filters in one filter chain, at {chain}[0] and at {chain}[1]\n"));
    // One in each of two listeners is two filters, each checked.
    let mut apart: serde_json::Value =
        serde_json::from_str(&bootstrap(routes, &[WASM_FILTER])).unwrap();
    let listener = apart["static_resources"]["listeners"][0].clone();
    apart["static_resources"]["listeners"]
        .as_array_mut()
        .unwrap()
        .push(listener);
    let (code, out, err) = check(&[("apart.json", &apart.to_string())]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out.matches("apart.json: static_resources.listeners[")
            .count(),
        2,
        "{out}"
    );
    let (code, out, err) = explain_in(&dir, &two, "GET https://a.example/");
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, format!("envoy.json: 2 cors-wasm filters, at {chain}[0] and at {chain}[1]: explain takes a configuration with one\n"));
    let (code, out, err) = explain_in(&dir, &none, "GET https://a.example/");
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("envoy.json: no cors-wasm filter in this Envoy configuration"),
        "{err}"
    );
}

/// `cors-wasm-check ... | head -1`: a reader that went away ends the output, not the checker
/// (`print!` would panic on the closed pipe, exit 101); the exit code still says what it found.
#[test]
fn a_closed_stdout_ends_the_output_not_the_checker() {
    let dir = TempDir::new();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "policies:\n  - allow_origins: [\"*\"]\n    allow_header: [x-a]\n",
    )
    .unwrap();
    let broken = broken.to_str().unwrap();
    let cases: [(&[&str], i32); 5] = [
        (&["envoy/policies.yaml"], 0),
        (&[broken], 1),
        (&["envoy/policies.yaml", "--json"], 0),
        (&README_REQUEST, 0),
        (&["import", "envoy", "tests/import/readme/envoy.yaml"], 0),
    ];
    for (args, code) in cases {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(env!("CARGO_BIN_EXE_cors-wasm-check"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
