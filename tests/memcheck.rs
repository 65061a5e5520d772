//! The dynamic module inside a real Envoy run by valgrind's memcheck: a memory error in its
//! `unsafe` FFI would be an error of Envoy's process, crash or not. One Envoy takes part of
//! the conformance table (three of its policies, swapped in live: JSON text and Struct),
//! the hostile catalogue's worst requests, and a refused configuration; then it exits, and
//! every memcheck error with a frame in `libcors_wasm.so` fails the test, leaks included.
//! Envoy's own errors (stacks wholly Envoy's) are never failed on: those known are suppressed
//! (tests/memcheck/envoy.supp, each with why), any other is shown as a suppression to review.
//!
//! `./build.sh test` runs this short run beside the rest; `./build.sh memcheck` runs it alone
//! and in full (`CORS_MEMCHECK_FULL=1`): every request table, each swapped in live, and every
//! configuration of `config-errors.json` refused, with its figures. Envoy under memcheck starts in 30 s to 3 minutes (the machine's load decides).

mod support;

use serde_json::{json, Value};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::envoy::{
    cors_filter_text, dynamic_module_dir, dynamic_module_filter, Build, Encoding, Envoy, TempDir,
};
use support::hostile::{self, APP};
use support::http;
use support::lds::{bootstrap_watching, free_port, listener, publish, stat, wait_for};
use support::upstream::Upstream;

/// The conformance tables run, each one a live reconfiguration.
const TABLES: [&str; 3] = ["preflight.json", "json-encoding.json", "star.json"];
const LIBRARY: &str = "libcors_wasm.so";

/// valgrind's command line for Envoy, its XML report going to `xml`.
fn valgrind(xml: &Path, log: &Path) -> Vec<String> {
    let suppressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/memcheck/envoy.supp");
    let found = Command::new("valgrind").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "valgrind is not installed: it is Debian's package valgrind, which ./build.sh test \
         installs (apt-get install valgrind)"
    );
    [
        "valgrind",
        "--tool=memcheck",
        // Envoy's allocator (tcmalloc) is linked into the executable, which exports malloc and
        // free: memcheck must replace them there, where the module's allocations go too.
        "--soname-synonyms=somalloc=NONE",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect",
        "--errors-for-leak-kinds=definite,indirect",
        "--num-callers=50",
        "--xml=yes",
        "--gen-suppressions=all",
    ]
    .map(String::from)
    .into_iter()
    .chain([
        format!("--suppressions={}", suppressions.display()),
        format!("--xml-file={}", xml.display()),
        format!("--log-file={}", log.display()),
    ])
    .collect()
}

/// One memcheck error, as its XML report gives it.
#[derive(Debug)]
struct MemcheckError {
    kind: String,
    what: String,
    /// The object of each frame, innermost first.
    objects: Vec<String>,
    leaked_bytes: u64,
    /// The suppression memcheck wrote for it (`--gen-suppressions`).
    suppression: String,
}

impl MemcheckError {
    /// Its kind and words, and the objects of its frames down to the module's first.
    fn describe(&self) -> String {
        let depth = self.objects.iter().position(|o| o.ends_with(LIBRARY));
        let frames = &self.objects[..depth.map_or(self.objects.len(), |d| d + 1)];
        let names: Vec<&str> = frames
            .iter()
            .map(|o| o.rsplit('/').next().unwrap_or(o))
            .collect();
        format!(
            "{} {} ({} bytes lost) at {}",
            self.kind,
            self.what,
            self.leaked_bytes,
            names.join(" < ")
        )
    }

    fn ours(&self) -> bool {
        self.objects.iter().any(|o| o.ends_with(LIBRARY))
    }
}

/// The text between `<tag>` and `</tag>` at each occurrence in `xml`.
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once(close.as_str()).map(|(inside, _)| inside))
        .collect()
}

fn first<'a>(xml: &'a str, tag: &str) -> &'a str {
    elements(xml, tag).first().copied().unwrap_or_default()
}

/// The errors of memcheck's XML report (suppressed ones are not in it).
fn memcheck_errors(xml: &str) -> Vec<MemcheckError> {
    elements(xml, "error")
        .into_iter()
        .map(|error| MemcheckError {
            kind: first(error, "kind").to_string(),
            what: match first(error, "what") {
                "" => first(first(error, "xwhat"), "text").to_string(),
                what => what.to_string(),
            },
            objects: elements(error, "obj")
                .into_iter()
                .map(String::from)
                .collect(),
            leaked_bytes: first(error, "leakedbytes").parse().unwrap_or(0),
            suppression: first(first(error, "suppression"), "rawtext").to_string(),
        })
        .collect()
}

/// A conformance table's file, parsed.
fn table(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/conformance", name]
        .iter()
        .collect();
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The table's cases that need no route of their own and no special upstream answer: a plain
/// request to the upstream, with headers in plain text.
fn plain_cases(table: &Value) -> Vec<&Value> {
    let plain = |case: &&Value| {
        let request = &case["request"];
        let headers = request["headers"].as_array().map_or(&[][..], Vec::as_slice);
        case.get("response").is_none()
            && request.get("route").is_none()
            && headers
                .iter()
                .all(|h| h[1].as_str().is_some_and(|v| !v.contains("\\x")))
    };
    table["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(plain)
        .collect()
}

/// Sends a case's request; checks its status and the origin it allows.
fn run_case(port: u16, case: &Value) -> Result<(), String> {
    let request = &case["request"];
    let text = |v: &Value, default: &str| v.as_str().unwrap_or(default).to_string();
    let mut headers = vec![(
        "host".to_string(),
        text(&request["authority"], "api.example.com"),
    )];
    for header in request["headers"].as_array().into_iter().flatten() {
        headers.push((text(&header[0], ""), text(&header[1], "")));
    }
    let headers: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let method = text(&request["method"], "GET");
    let response = http::try_send(port, &method, &text(&request["path"], "/"), &headers)?;
    let expect = &case["expect"];
    let wanted_origin = expect["headers"]["access-control-allow-origin"].as_str();
    let origin = response.header("access-control-allow-origin");
    if u64::from(response.status) != expect["status"].as_u64().unwrap_or(0)
        || origin.as_deref() != wanted_origin
    {
        return Err(format!(
            "{}: expected {} allowing {wanted_origin:?}, got {response:?}",
            case["name"], expect["status"]
        ));
    }
    Ok(())
}

/// A request's headers: (name, value) lines.
type Headers<'a> = Vec<(&'a str, &'a [u8])>;

/// The hostile catalogue's worst: what reaches the module's parsers with the most bytes,
/// each with whether the policy allows it.
fn hostile_requests(port: u16) -> usize {
    let huge_origin = format!("https://{}.example.com", "a".repeat(64 * 1024));
    let ten_thousand = vec!["x-a"; 10_000].join(", ");
    fn preflight<'a>(method: &'a [u8], list: &'a [u8]) -> Headers<'a> {
        vec![
            ("origin", APP.as_bytes()),
            ("access-control-request-method", method),
            ("access-control-request-headers", list),
        ]
    }
    let requests: Vec<(&str, Headers, bool)> = vec![
        ("GET", vec![("origin", huge_origin.as_bytes())], false),
        (
            "GET",
            vec![("origin", b"https://app.example.com\xff\xfe")],
            false,
        ),
        (
            "GET",
            vec![
                ("origin", b"https://evil.example"),
                ("origin", APP.as_bytes()),
            ],
            false,
        ),
        ("GET", vec![("origin", b"")], false),
        ("GET", vec![("origin", APP.as_bytes())], true),
        ("OPTIONS", preflight(b"PUT", ten_thousand.as_bytes()), true),
        ("OPTIONS", preflight(b"PUT", b"x-a\x01,,\xff"), false),
        ("OPTIONS", preflight(b"P\xffT", b"x-a"), false),
    ];
    for (method, headers, allowed) in &requests {
        let response = http::send(port, method, "/hostile", headers);
        assert_eq!(
            response.header("access-control-allow-origin").is_some(),
            *allowed,
            "{method} {headers:?}: {response:?}"
        );
    }
    requests.len()
}

fn encoding(table: &Value) -> Encoding {
    match table["encoding"].as_str() {
        Some("json") => Encoding::Json,
        _ => Encoding::Struct,
    }
}

/// The listener with `filter` in front of the router; oversized headers let through to
/// reach the filter.
fn module_listener(filter: Value, upstream: u16, port: u16, version: u64) -> Value {
    let mut lds = listener(filter, upstream, port, version as u32);
    lds["resources"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        ["max_request_headers_kb"] = json!(1024);
    lds
}

/// `CORS_MEMCHECK_FULL` set (`./build.sh memcheck`): every table and every refused
/// configuration of the conformance table, not the suite's short run.
fn full() -> bool {
    std::env::var_os("CORS_MEMCHECK_FULL").is_some()
}

/// The request tables to run: [`TABLES`], or in a full run all of them.
fn table_names() -> Vec<String> {
    if !full() {
        return TABLES.map(String::from).to_vec();
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && name != "config-errors.json")
        .collect();
    names.sort();
    names
}

/// Filters Envoy must refuse: one of the test's own, or in a full run every configuration of
/// `config-errors.json`.
fn refused_filters() -> Vec<Value> {
    if !full() {
        let refused = json!({"policies": [{"allow_origins": ["https://*.com"]}]});
        return vec![dynamic_module_filter(&refused, Encoding::Struct)];
    }
    let errors = table("config-errors.json");
    let cases = errors["cases"].as_array().unwrap();
    cases
        .iter()
        .map(|case| match &case["config"] {
            Value::String(text) => cors_filter_text(Build::DynamicModule, text),
            config => dynamic_module_filter(config, encoding(case)),
        })
        .collect()
}

/// Publishes listener version `version` and waits until Envoy has taken or refused it.
fn reconfigure(envoy: &Envoy, dir: &TempDir, lds: &Value, version: u64) {
    publish(dir, lds);
    wait_for("the listener update", Duration::from_secs(300), || {
        stat(envoy.admin_port, "listener_manager.lds.update_success")
            + stat(envoy.admin_port, "listener_manager.lds.update_rejected")
            >= version
    });
}

/// What Envoy under memcheck was put through: requests sent, and the failures among them.
struct Run {
    requests: usize,
    failures: Vec<String>,
}

fn exercise(envoy: &Envoy, dir: &TempDir, upstream: u16, port: u16) -> Run {
    let mut run = Run {
        requests: hostile_requests(port),
        failures: Vec::new(),
    };
    // Version 1 (the hostile policy) was the listener Envoy started with.
    let mut version = 1;
    for name in table_names() {
        let table = table(&name);
        version += 1;
        let filter = dynamic_module_filter(&table["config"], encoding(&table));
        reconfigure(
            envoy,
            dir,
            &module_listener(filter, upstream, port, version),
            version,
        );
        for case in plain_cases(&table) {
            run.requests += 1;
            run.failures.extend(run_case(port, case).err());
        }
    }
    let refused = refused_filters();
    for filter in &refused {
        version += 1;
        let lds = module_listener(filter.clone(), upstream, port, version);
        reconfigure(envoy, dir, &lds, version);
    }
    let rejected = stat(envoy.admin_port, "listener_manager.lds.update_rejected");
    assert_eq!(
        rejected,
        refused.len() as u64,
        "not every invalid policy was refused:\n{}",
        envoy.log()
    );
    run
}

#[test]
fn the_dynamic_module_has_no_memory_error_in_envoy_under_memcheck() {
    let started = Instant::now();
    let reports = TempDir::new();
    let (xml, log) = (
        reports.path().join("memcheck.xml"),
        reports.path().join("valgrind.log"),
    );
    let upstream = Upstream::start();
    let lds_dir = TempDir::new();
    let port = free_port();
    let hostile = dynamic_module_filter(&hostile::policy(), Encoding::Struct);
    let initial = module_listener(hostile, upstream.port, port, 1);
    publish(&lds_dir, &initial);
    let envoy = Envoy::start_under(
        &valgrind(&xml, &log),
        &bootstrap_watching(&lds_dir, upstream.port).to_string(),
        "json",
        &dynamic_module_dir(),
        Duration::from_secs(420),
    );
    let ready = started.elapsed();
    // A crash or a wrong answer is reported after memcheck's errors, which explain it.
    let exercised = std::panic::catch_unwind(AssertUnwindSafe(|| {
        exercise(&envoy, &lds_dir, upstream.port, port)
    }));
    let envoy_log = envoy.log();
    let status = envoy.quit(Duration::from_secs(180));
    let report = std::fs::read_to_string(&xml).unwrap_or_default();
    let errors = memcheck_errors(&report);
    let (ours, envoys): (Vec<_>, Vec<_>) = errors.iter().partition(|e| e.ours());
    let lost: u64 = ours.iter().map(|e| e.leaked_bytes).sum();
    let suppressed: u64 = elements(first(&report, "suppcounts"), "count")
        .into_iter()
        .filter_map(|count| count.parse::<u64>().ok())
        .sum();
    eprintln!(
        "memcheck: {} requests, {} errors with a frame in {LIBRARY} ({lost} bytes lost from \
         its frames), {} of Envoy's own and {suppressed} suppressed (tests/memcheck/envoy.supp); \
         ready in {ready:?}, {:?} in all",
        exercised.as_ref().map_or(0, |run| run.requests),
        ours.len(),
        envoys.len(),
        started.elapsed()
    );
    for error in &envoys {
        eprintln!(
            "Envoy's own: {} {}{}",
            error.kind, error.what, error.suppression
        );
    }
    let described: Vec<String> = ours.iter().map(|e| e.describe()).collect();
    assert!(
        ours.is_empty(),
        "{} memcheck errors with a frame in {LIBRARY}:\n{}",
        ours.len(),
        described.join("\n")
    );
    let run = exercised.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    assert!(
        status.success() && report.contains("</valgrindoutput>"),
        "Envoy under valgrind did not exit cleanly ({status}):\n{}\n{envoy_log}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(run.failures.is_empty(), "{}", run.failures.join("\n"));
}
