//! Where the three browser engines differ on CORS, measured: Chromium, Firefox and WebKit
//! (Safari's engine) each load one page (`tests/engines/`) that runs every scenario with
//! `fetch` against a real Envoy with cors-wasm, in front of a server of the test's own
//! (`tests/engines/server.py`, which also serves the page on another origin). Each engine's
//! verdicts must be the ones in `SCENARIOS`, which say why each engine does what it does;
//! docs/browser-engines.md is that table, and `the_docs_table_is_the_measured_one` fails when
//! it is not.

#[macro_use]
mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use support::demo::{page_results, Engine, PyServer};
use support::envoy::{bootstrap, wasm_filter, Encoding, Envoy};
use support::http;

const ENGINES: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::WebKit];

/// One situation, and what each engine lets the page do in it.
struct Scenario {
    id: &'static str,
    situation: &'static str,
    /// The verdicts of Chromium, Firefox and WebKit, in that order, as measured.
    verdicts: [&'static str; 3],
    /// Why, from the Fetch standard or the engine's own behaviour.
    why: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "allow-headers-star",
        situation: "a preflighted GET with `x-custom`, answered `Access-Control-Allow-Headers: *`",
        verdicts: ["readable", "readable", "readable"],
        why: "Without credentials `*` allows every header name (Fetch standard).",
    },
    Scenario {
        id: "allow-headers-star-authorization",
        situation: "the same with `Authorization`, answered `Access-Control-Allow-Headers: *`",
        verdicts: [
            "readable, Authorization sent: true",
            "readable, Authorization sent: true",
            "readable, Authorization sent: true",
        ],
        why: "The Fetch standard says `*` never covers `Authorization` (a \"CORS non-wildcard \
              request-header name\"), which must be listed by name; none of the three engines \
              enforces it. cors-wasm follows the standard: its \
              `allow_headers: [\"*\"]` answers such a preflight 403, so with cors-wasm \
              `authorization` must be listed in every engine.",
    },
    Scenario {
        id: "allow-headers-star-authorization-cors-wasm",
        situation: "the same through cors-wasm's `allow_headers: [\"*\"]`",
        verdicts: ["blocked", "blocked", "blocked"],
        why: "cors-wasm answers the preflight 403: `*` does not cover `authorization`.",
    },
    Scenario {
        id: "allow-headers-star-credentialed",
        situation: "a credentialed preflighted GET with `x-custom`, answered \
                    `Access-Control-Allow-Headers: *`",
        verdicts: ["blocked", "blocked", "blocked"],
        why: "With credentials `*` is the header name `*`, not a wildcard (Fetch standard); \
              cors-wasm refuses `*` with credentials.",
    },
    Scenario {
        id: "expose-headers-star",
        situation: "a GET answered `Access-Control-Expose-Headers: *` (cors-wasm's \
                    `expose_headers: [\"*\"]`)",
        verdicts: [
            "x-custom readable",
            "x-custom readable",
            "x-custom readable",
        ],
        why: "Without credentials `*` exposes every header (Fetch standard).",
    },
    Scenario {
        id: "expose-headers-star-credentialed",
        situation: "a credentialed GET answered `Access-Control-Expose-Headers: *`",
        verdicts: ["x-custom hidden", "x-custom hidden", "x-custom hidden"],
        why: "With credentials `*` exposes only a header named `*` (Fetch standard); \
              cors-wasm refuses that policy.",
    },
    Scenario {
        id: "no-allow-methods-simple-method",
        situation:
            "a preflighted GET whose preflight answer has no `Access-Control-Allow-Methods` \
                    (cors-wasm omits it when only GET, HEAD and POST are allowed)",
        verdicts: ["readable", "readable", "readable"],
        why: "GET, HEAD and POST need no `Access-Control-Allow-Methods` (Fetch standard).",
    },
    Scenario {
        id: "no-allow-methods-put",
        situation: "a PUT whose preflight answer has no `Access-Control-Allow-Methods`",
        verdicts: ["blocked", "blocked", "blocked"],
        why: "Any other method must be listed (Fetch standard).",
    },
    Scenario {
        id: "lower-case-patch",
        situation: "`fetch` with method `patch`, answered `Access-Control-Allow-Methods: PATCH`",
        verdicts: ["blocked", "blocked", "blocked"],
        why: "`fetch` upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT; `patch` is \
              compared with the allowed methods byte for byte (Fetch standard).",
    },
    Scenario {
        id: "allow-methods-lower-case-put",
        situation: "a PUT answered `Access-Control-Allow-Methods: put`",
        verdicts: ["blocked", "blocked", "blocked"],
        why: "Allowed methods are compared byte for byte (Fetch standard).",
    },
    Scenario {
        id: "range-header-without-preflight",
        situation: "a GET with `Range: bytes=0-`, answered with `Access-Control-Allow-Origin` \
                    only",
        verdicts: ["readable", "readable", "readable"],
        why: "A single byte range is a CORS-safelisted request header (Fetch standard, 2022): \
              no preflight.",
    },
    Scenario {
        id: "long-accept-header",
        situation: "a GET with an `Accept` of 129 bytes, answered with \
                    `Access-Control-Allow-Origin` only",
        verdicts: ["blocked", "blocked", "blocked"],
        why: "A safelisted header's value over 128 bytes needs a preflight (Fetch standard), \
              which this answer does not allow.",
    },
    Scenario {
        id: "redirect-after-preflight",
        situation: "a preflighted GET answered `307` to another path of the same origin",
        verdicts: [
            "readable, Origin: PAGE",
            "readable, Origin: PAGE",
            "readable, Origin: PAGE",
        ],
        why: "A redirect after a preflight is followed (Fetch standard).",
    },
    Scenario {
        id: "redirect-after-preflight-to-another-origin",
        situation: "the same, redirected to another origin (the policy allows `null`)",
        verdicts: [
            "readable, Origin: null",
            "readable, Origin: null",
            "readable, Origin: null",
        ],
        why: "A redirect to another origin taints the request's origin: it is sent as `null` \
              (Fetch standard).",
    },
    Scenario {
        id: "null-origin-sandboxed-iframe",
        situation: "a GET from a sandboxed iframe, to a policy allowing `null`",
        verdicts: [
            "readable, Origin: null",
            "readable, Origin: null",
            "readable, Origin: null",
        ],
        why: "A sandboxed document's origin is opaque and serializes as `null`; \
              `allow_origins: [\"null\"]` allows it, and only when written.",
    },
    Scenario {
        id: "preflight-cached-past-max-age",
        situation: "the same preflighted GET twice, 1.5 s apart, with `max_age: 1`",
        verdicts: [
            "readable, then readable; 2 preflights",
            "readable, then readable; 2 preflights",
            "readable, then readable; 2 preflights",
        ],
        why: "A preflight's answer is cached for at most `Access-Control-Max-Age` seconds \
              (and each engine has a ceiling of its own, by its sources, not measured here: \
              2 hours in Chromium, 24 in Firefox, 10 minutes in WebKit).",
    },
];

/// The policies that make each situation; paths under /raw/ match none, and the server
/// answers them with the CORS headers the page asks for.
fn policy(page_origin: &str) -> Value {
    json!({"policies": [
        {"name": "star", "match": {"path_prefixes": ["/star/"]},
         "allow_origins": [page_origin], "allow_headers": ["*"]},
        {"name": "expose", "match": {"path_prefixes": ["/expose/"]},
         "allow_origins": [page_origin], "expose_headers": ["*"]},
        {"name": "simple", "match": {"path_prefixes": ["/simple/"]},
         "allow_origins": [page_origin], "allow_headers": ["x-custom"]},
        {"name": "redirect", "match": {"path_prefixes": ["/redirect/"]},
         "allow_origins": [page_origin, "null"], "allow_headers": ["x-custom"]},
        {"name": "null", "match": {"path_prefixes": ["/null/"]}, "allow_origins": ["null"]},
        {"name": "maxage", "match": {"path_prefixes": ["/maxage/"]},
         "allow_origins": [page_origin], "allow_headers": ["x-custom"], "max_age": 1},
    ]})
}

in_every_engine!(each_engine_gives_its_measured_verdicts);

fn each_engine_gives_its_measured_verdicts(engine: Engine) {
    let server = PyServer::start_path(Path::new("tests/engines/server.py"), &[]);
    let page_origin = format!("http://localhost:{}", server.port);
    let filter = wasm_filter(&policy(&page_origin), Encoding::Struct);
    let routes = json!([{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]);
    let envoy = Envoy::start(&bootstrap(vec![filter], routes, server.port));
    the_filter_makes_the_situations(&envoy, &page_origin);
    let url = format!(
        "{page_origin}/?api=http://localhost:{0}&other=http://127.0.0.1:{0}",
        envoy.port
    );
    let results = page_results(engine, &url, 0, || server.lines());
    let preflights = preflights_allowed(&envoy, "maxage");
    let observed: Vec<String> = SCENARIOS
        .iter()
        .map(|scenario| {
            let verdict = results[scenario.id]["verdict"]
                .as_str()
                .unwrap_or("missing");
            let verdict = verdict.replace(&page_origin, "PAGE");
            match scenario.id {
                "preflight-cached-past-max-age" => format!("{verdict}; {preflights} preflights"),
                _ => verdict,
            }
        })
        .collect();
    let column = ENGINES.iter().position(|&e| e == engine).unwrap();
    let expected: Vec<&str> = SCENARIOS.iter().map(|s| s.verdicts[column]).collect();
    assert_eq!(
        observed,
        expected,
        "{engine:?} does not do what SCENARIOS says (the verdicts in its order: {:?}); \
         all results:\n{results:#}\nserver:\n{:#?}",
        SCENARIOS.iter().map(|s| s.id).collect::<Vec<_>>(),
        server.lines()
    );
}

/// What the page's requests through cors-wasm get, without a browser: the situations the
/// table says the filter makes are the filter's own answers.
fn the_filter_makes_the_situations(envoy: &Envoy, page_origin: &str) {
    let preflight = |path: &str, headers: &str| {
        let asked = [
            ("origin", page_origin),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", headers),
        ];
        envoy.request("OPTIONS", path, &asked)
    };
    let simple = preflight("/simple/a", "x-custom");
    assert_eq!(simple.status, 204);
    assert_eq!(simple.header("access-control-allow-methods"), None);
    assert_eq!(preflight("/star/a", "authorization").status, 403);
    let expose = envoy.request("GET", "/expose/a", &[("origin", page_origin)]);
    assert_eq!(
        expose.header("access-control-expose-headers").as_deref(),
        Some("*")
    );
}

/// Policy `name`'s `preflight_allowed` counter, once it has stopped changing: the module hands
/// its counters to Envoy once a second.
fn preflights_allowed(envoy: &Envoy, name: &str) -> u64 {
    let stat = format!("wasmcustom.cors_wasm.{name}.preflight_allowed");
    let read = || {
        let stats = http::request(
            envoy.admin_port,
            "GET",
            &format!("/stats?filter={stat}"),
            &[],
        );
        let stats = String::from_utf8_lossy(&stats.body).to_string();
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{stat}: ")))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_millis(1100));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = read();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = read();
        if (now == last && now > 0) || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

const DOC: &str = "docs/browser-engines.md";

/// docs/browser-engines.md is SCENARIOS as a table, which the tests above check against each
/// engine. `CORS_WRITE_DOCS=1 cargo test --test engines the_docs_table` rewrites it.
#[test]
fn the_docs_table_is_the_measured_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    let table = docs_table();
    if std::env::var_os("CORS_WRITE_DOCS").is_some() {
        std::fs::write(&path, &table).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == table,
        "{DOC} is not the table of tests/engines.rs's SCENARIOS; rewrite it with \
         CORS_WRITE_DOCS=1 cargo test --test engines the_docs_table"
    );
}

fn docs_table() -> String {
    let mut doc = String::from(DOC_HEAD);
    for s in SCENARIOS {
        let [chromium, firefox, webkit] = s.verdicts.map(|v| v.replace("PAGE", "the page's"));
        doc += &format!(
            "| `{}`: {} | {chromium} | {firefox} | {webkit} | {} |\n",
            s.id, s.situation, s.why
        );
    }
    doc
}

const DOC_HEAD: &str = "\
# Where browser engines differ on CORS

What Chromium, Firefox and WebKit (Safari's engine) let a page read in the situations where
engines disagree or changed their behaviour, as measured by `tests/engines.rs`: each engine
loads one page (`tests/engines/`) that makes every request across origins, to a real Envoy
with cors-wasm in front of a server of the test's own. The table is generated from the
test's expectations, which each engine must meet (`./build.sh test` fails otherwise);
regenerate it with `CORS_WRITE_DOCS=1 cargo test --test engines the_docs_table`.

Measured with Debian's chromium, firefox-esr and WebKitGTK 2.50 (`libwebkit2gtk-4.1-0`,
its MiniBrowser). In every situation measured here, the three engines agree; where they
part from the Fetch standard (`Authorization` under `Allow-Headers: *`), they part alike,
and cors-wasm keeps to the standard. \"blocked\" means `fetch` failed: the browser withheld the answer, or never
sent the request. \"x-custom hidden\" means the answer was readable but its header
`x-custom` was not. The `Origin` is what the server received.

| situation | Chromium | Firefox | WebKit | why |
|---|---|---|---|---|
";
