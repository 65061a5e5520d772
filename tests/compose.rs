//! The compose demo as the README runs it, in containers: `envoy/docker-compose.yaml` brought
//! up by docker-compose on podman's Docker API, with stand-ins for `envoyproxy/envoy:v1.40.0`
//! (the pinned Envoy behind the official image's entrypoint interface) and `python:3.12-slim`
//! (tests/support/compose.rs). Then the README's curl gets the answer the README shows, and
//! headless Chromium, Firefox and WebKit, loading the page from the containers, get the very outcomes
//! `tests/demo.rs` expects of `./build.sh demo`. The same with the dynamic module
//! (`envoy/docker-compose.dynamic-module.yaml`); and what goes wrong: a policy Envoy refuses,
//! a module file that is not there.
//!
//! One test, its scenarios one after another: they share one build of the stand-in images,
//! and the compose file's fixed ports (3000, 8080).

mod support;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::compose::{Engine, Project};
use support::demo::{
    assert_outcomes, page_results, Engine as Browser, FROM_ANOTHER_ORIGIN, FROM_THE_ALLOWED_ORIGIN,
};
use support::envoy::{dynamic_module_dir, module_path, TempDir};
use support::http;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const COMPOSE_FILE: &str = "envoy/docker-compose.yaml";
const DYNAMIC_MODULE_FILE: &str = "envoy/docker-compose.dynamic-module.yaml";
/// The ports envoy/docker-compose.yaml publishes: the page's and Envoy's.
const PAGE_PORT: u16 = 3000;
const ENVOY_PORT: u16 = 8080;

#[test]
fn the_compose_demo_runs_in_containers_as_the_readme_says() {
    assert_fixed_ports_free();
    let engine = Engine::start();
    // The failures publish no ports: they run beside the demo, to keep the test short.
    std::thread::scope(|scope| {
        let failures = scope.spawn(|| {
            a_missing_module_stops_compose_before_anything_starts(&engine);
            a_policy_envoy_refuses_stops_it_with_the_filters_error_lines(&engine);
        });
        the_demo_runs_with_each_build(&engine);
        failures
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    });
}

fn the_demo_runs_with_each_build(engine: &Engine) {
    let wasm = Project::new(engine, "wasm", &[Path::new(COMPOSE_FILE)])
        .env("CORS_WASM_MODULE", &module_path());
    the_demo_gives_the_readmes_answers_and_the_browsers_verdicts(&wasm);
    drop(wasm);

    let native = Project::new(
        engine,
        "dynamic-module",
        &[Path::new(COMPOSE_FILE), Path::new(DYNAMIC_MODULE_FILE)],
    )
    .env("CORS_WASM_MODULE", &module_path())
    .env("CORS_DYNAMIC_MODULE", &dynamic_module());
    the_demo_gives_the_readmes_answers_and_the_browsers_verdicts(&native);
}

/// The compose file publishes fixed ports: taken, the test cannot run, and says so.
fn assert_fixed_ports_free() {
    for port in [PAGE_PORT, ENVOY_PORT] {
        if let Err(e) = TcpListener::bind(("127.0.0.1", port)) {
            panic!(
                "port {port} on 127.0.0.1 is taken ({e}): envoy/docker-compose.yaml publishes the \
                 fixed ports {PAGE_PORT} and {ENVOY_PORT}; stop what uses it and run again"
            );
        }
    }
}

fn dynamic_module() -> PathBuf {
    dynamic_module_dir().join("libcors_wasm.so")
}

fn the_demo_gives_the_readmes_answers_and_the_browsers_verdicts(project: &Project) {
    project
        .up()
        .unwrap_or_else(|e| panic!("docker-compose up failed:\n{e}"));
    wait_until_serving(project, demo_serves).unwrap_or_else(|e| panic!("{e}"));
    the_readmes_curl_gets_the_readmes_answer(project);
    // The three engines at once, each on a fresh profile: the page server tells their reports
    // apart by user agent.
    let pages = project.follow("pages");
    let origins = [
        ("localhost", FROM_THE_ALLOWED_ORIGIN),
        ("127.0.0.1", FROM_ANOTHER_ORIGIN),
    ];
    for (index, (host, expected)) in origins.into_iter().enumerate() {
        let url = format!("http://{host}:{PAGE_PORT}/?run=all&report=1");
        std::thread::scope(|scope| {
            let runs = [Browser::Chromium, Browser::Firefox, Browser::WebKit].map(|browser| {
                let (url, pages) = (&url, &pages);
                let run = scope.spawn(move || page_results(browser, url, index, || pages.lines()));
                (browser, run)
            });
            for (browser, run) in runs {
                let results = run.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                eprintln!("{browser:?}, page from {url}:");
                assert_outcomes(&results, expected);
            }
        });
    }
}

/// Whether Envoy answers through the API (`GET /public/ping`, 200) and the page server serves
/// the page, both on the published ports.
fn demo_serves() -> bool {
    let api = http::try_send(ENVOY_PORT, "GET", "/public/ping", &[]);
    let page = http::try_send(PAGE_PORT, "GET", "/", &[]);
    matches!((api, page), (Ok(a), Ok(p)) if a.status == 200 && p.status == 200)
}

/// Waits until `serving` says the demo is up. The error, once Envoy's container has stopped or
/// after 60 s, holds the containers' logs: Envoy's says why it did not start.
fn wait_until_serving(project: &Project, serving: fn() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if serving() {
            return Ok(());
        }
        let stopped = !project.running("envoy");
        if stopped || Instant::now() > deadline {
            let why = if stopped {
                "Envoy's container stopped"
            } else {
                "nothing served in 60 s"
            };
            return Err(format!(
                "the compose demo did not come up: {why}.\nEnvoy's log:\n{}\nthe API's log:\n{}\n\
                 the page server's log:\n{}",
                project.log("envoy"),
                project.log("api"),
                project.log("pages")
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The README's curl command, run as written, prints its status line and every header it
/// shows (others, such as `date`, may come too).
fn the_readmes_curl_gets_the_readmes_answer(project: &Project) {
    let (command, expected) = readme_curl();
    let output = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run sh -c {command:?} ({e}): ./build.sh test installs curl")
        });
    let printed = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = printed.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert_eq!(
        lines.first().copied(),
        expected.first().map(String::as_str),
        "{command}\nprinted:\n{printed}"
    );
    let missing: Vec<&String> = expected
        .iter()
        .filter(|l| !lines.contains(&l.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the README's curl did not print {missing:#?}; it printed:\n{printed}\nEnvoy's log:\n{}",
        project.log("envoy")
    );
}

/// From README.md: the curl command against localhost:8080 and the answer shown under it.
fn readme_curl() -> (String, Vec<String>) {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let start = readme
        .find("curl -si -X OPTIONS http://localhost:8080/")
        .expect("README.md has the curl command for the demo");
    let command_end = readme[start..].find("\n```").unwrap() + start;
    let command = readme[start..command_end].to_string();
    // Past the command's closing fence, the next block is the answer.
    let after_command = command_end + "\n```".len();
    let answer_start = readme[after_command..].find("```\n").unwrap() + after_command + 4;
    let answer_end = readme[answer_start..].find("```").unwrap() + answer_start;
    let answer = readme[answer_start..answer_end]
        .lines()
        .map(String::from)
        .collect();
    (command, answer)
}

/// A copy of the compose setup whose policy Envoy refuses (and that publishes no ports):
/// Envoy's container stops, and the error the test gives holds the filter's own line, naming
/// the field by its JSON path.
fn a_policy_envoy_refuses_stops_it_with_the_filters_error_lines(engine: &Engine) {
    let copy = TempDir::new();
    let envoy_dir = copy.path().join("envoy");
    fs::create_dir(&envoy_dir).unwrap();
    fs::copy(
        Path::new(ROOT).join("envoy/check-modules.py"),
        envoy_dir.join("check-modules.py"),
    )
    .unwrap();
    let compose = fs::read_to_string(Path::new(ROOT).join(COMPOSE_FILE)).unwrap();
    let unpublished = ["8080", "3000"].iter().fold(compose, |compose, port| {
        let published = format!("    ports:\n      - \"127.0.0.1:{port}:{port}\"\n");
        assert!(
            compose.contains(&published),
            "{COMPOSE_FILE} no longer has {published}"
        );
        compose.replace(&published, "")
    });
    fs::write(envoy_dir.join("docker-compose.yaml"), unpublished).unwrap();
    std::os::unix::fs::symlink(Path::new(ROOT).join("demo"), copy.path().join("demo")).unwrap();
    let policy = fs::read_to_string(Path::new(ROOT).join("envoy/demo.yaml")).unwrap();
    let allowed = "allow_origins: [http://localhost:3000]";
    assert!(
        policy.contains(allowed),
        "envoy/demo.yaml no longer has {allowed}"
    );
    let broken = policy.replace(allowed, r#"allow_origins: ["https://*.com"]"#);
    fs::write(envoy_dir.join("demo.yaml"), broken).unwrap();

    let project = Project::new(
        engine,
        "broken-policy",
        &[&envoy_dir.join("docker-compose.yaml")],
    )
    .env("CORS_WASM_MODULE", &module_path());
    project
        .up()
        .unwrap_or_else(|e| panic!("docker-compose up failed:\n{e}"));
    // Nothing counts as serving: this waits for Envoy to stop, or 60 s.
    let error = wait_until_serving(&project, || false).unwrap_err();
    let line = r#"cors-wasm: invalid configuration: policies[1].allow_origins[0]: "https://*.com": a wildcard needs at least two labels after it"#;
    assert!(
        error.contains("Envoy's container stopped") && error.contains(line),
        "the failure should say that Envoy stopped and show {line:?}; it says:\n{error}"
    );
}

/// A module file that is not there: `up` fails, naming it, and no container of the demo
/// (Envoy, the API, the page server) is ever made.
fn a_missing_module_stops_compose_before_anything_starts(engine: &Engine) {
    let dir = TempDir::new();
    let missing = dir.path().join("libcors_wasm.so");
    let project = Project::new(
        engine,
        "missing-module",
        &[Path::new(COMPOSE_FILE), Path::new(DYNAMIC_MODULE_FILE)],
    )
    .env("CORS_WASM_MODULE", &module_path())
    .env("CORS_DYNAMIC_MODULE", &missing);
    let error = project
        .up()
        .expect_err("docker-compose up succeeded without the module file");
    let check = project.log("modules");
    let named = format!("error: the module {} is missing", missing.display());
    assert!(
        check.contains(&named),
        "the module check should say {named:?}; it says:\n{check}\ndocker-compose said:\n{error}"
    );
    for service in ["envoy", "api", "pages"] {
        assert_eq!(
            project.containers(service),
            Vec::<String>::new(),
            "a container for {service} was made; docker-compose said:\n{error}"
        );
    }
}

/// envoy/demo-dynamic-module.yaml is envoy/demo.yaml with the dynamic module's filter in place
/// of the wasm one: the same policy, and everything else the same.
#[test]
fn the_dynamic_module_demo_config_is_the_demo_config_with_the_other_filter() {
    use yaml_rust2::{Yaml, YamlLoader};
    let load = |file: &str| {
        let text = fs::read_to_string(Path::new(ROOT).join("envoy").join(file)).unwrap();
        YamlLoader::load_from_str(&text).unwrap().remove(0)
    };
    let (wasm, native) = (load("demo.yaml"), load("demo-dynamic-module.yaml"));
    let manager = |doc: &Yaml| -> Yaml {
        doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
            .clone()
    };
    let (wasm_manager, native_manager) = (manager(&wasm), manager(&native));
    let (wasm_filter, native_filter) = (
        &wasm_manager["http_filters"][0]["typed_config"],
        &native_manager["http_filters"][0]["typed_config"],
    );
    assert_eq!(
        wasm_filter["config"]["configuration"]["value"],
        native_filter["filter_config"]["value"]
    );
    assert!(!native_filter["filter_config"]["value"]["policies"].is_badvalue());
    assert_eq!(
        native_filter["dynamic_module_config"]["name"].as_str(),
        Some("cors_wasm")
    );
    for key in ["stat_prefix", "access_log", "route_config"] {
        assert_eq!(wasm_manager[key], native_manager[key], "{key}");
    }
    assert_eq!(
        wasm_manager["http_filters"][1],
        native_manager["http_filters"][1]
    );
    assert_eq!(wasm["admin"], native["admin"]);
    assert_eq!(
        wasm["static_resources"]["clusters"],
        native["static_resources"]["clusters"]
    );
    let listener = |doc: &Yaml| doc["static_resources"]["listeners"][0]["address"].clone();
    assert_eq!(listener(&wasm), listener(&native));
}
