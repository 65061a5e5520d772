//! The demo (`./build.sh demo`) in a real Envoy and a real browser: `demo/api.py` behind Envoy
//! with `envoy/demo.yaml` (made this machine's by `./build.sh demo-config`, as the demo runs
//! it), `demo/pages.py` serving the page, and headless Chromium, headless Firefox and WebKit
//! (WebKitGTK's MiniBrowser on an Xvfb display), each on a fresh profile, loading it from the
//! origin the policy allows and from one it does not. The page runs every scenario with
//! `fetch`, the browser itself decides what the page may read, and the page posts what it saw
//! back to `demo/pages.py` (no WebDriver needed). Plus `envoy/docker-compose.yaml`, checked by
//! `docker-compose config`.

#[macro_use]
mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::demo::{
    assert_outcomes, demo_config, page_results, Engine, PyServer, FROM_ANOTHER_ORIGIN,
    FROM_THE_ALLOWED_ORIGIN,
};
use support::envoy::{module_path, Envoy};

/// The API, the page server and Envoy, on free loopback ports.
struct Demo {
    api: PyServer,
    pages: PyServer,
    envoy: Envoy,
}

impl Demo {
    fn start() -> Demo {
        let api = PyServer::start("api.py", &[]);
        let pages = PyServer::start("pages.py", &[]);
        let config = demo_config(pages.port, 0, api.port, &module_path());
        let envoy = Envoy::start_yaml(&config, "yaml");
        Demo { api, pages, envoy }
    }

    /// Loads the page in `engine` from `http://{host}:{port}`, with every scenario run on load,
    /// and returns what each one saw, as the page reports it to its own server:
    /// `{"outcome": "readable" | "blocked", "status", "body", "headers"}`.
    fn run_page(&self, engine: Engine, host: &str) -> Value {
        let url = format!(
            "http://{host}:{}/?run=all&report=1&api=http://localhost:{}",
            self.pages.port, self.envoy.port
        );
        let results = page_results(engine, &url, 0, || self.pages.lines());
        // The last scenario is a simple GET, sent from any origin: once the API has printed
        // its line, it has printed every line of this page's requests.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self
            .api_saw("GET", "/api/private?scenario=unauthorized")
            .is_empty()
        {
            assert!(Instant::now() < deadline, "the API never saw the last call");
            std::thread::sleep(Duration::from_millis(50));
        }
        results
    }

    /// The API's lines for requests `METHOD PATH` that reached it.
    fn api_saw(&self, method: &str, path: &str) -> Vec<String> {
        let prefix = format!("api: {method} {path} ");
        let lines = self.api.lines();
        lines
            .into_iter()
            .filter(|l| l.starts_with(&prefix))
            .collect()
    }

    /// Envoy's access log lines for `METHOD PATH`: every request Envoy got.
    fn envoy_got(&self, method: &str, path: &str) -> Vec<String> {
        let prefix = format!("envoy: {method} {path} ");
        let log = self.envoy.log();
        log.lines()
            .filter(|l| l.starts_with(&prefix))
            .map(String::from)
            .collect()
    }

    /// Envoy writes its access log every few seconds: waits for the line of `METHOD PATH`.
    fn wait_for_access_log(&self, method: &str, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.envoy_got(method, path).is_empty() {
            assert!(
                Instant::now() < deadline,
                "no access log line for {method} {path} in 30 s:\n{}",
                self.envoy.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

// Every check below holds in all three engines as written. Where they could differ, they do
// not here: the page, Envoy and the API are all on loopback, so Chromium's Private Network
// Access checks (the others have none) never apply; and what a blocked `fetch` says differs
// ("Failed to fetch", "NetworkError when attempting to fetch resource.", "Load failed"),
// which is why only outcomes are compared.
in_every_engine!(
    from_the_allowed_origin_the_browser_reads_what_the_policy_allows_and_no_more,
    from_an_origin_the_policy_does_not_allow_the_browser_reads_only_the_public_route,
);

fn from_the_allowed_origin_the_browser_reads_what_the_policy_allows_and_no_more(engine: Engine) {
    let demo = Demo::start();
    let results = demo.run_page(engine, "localhost");
    assert_outcomes(&results, FROM_THE_ALLOWED_ORIGIN);

    // A simple GET: readable, and of its headers only the exposed one.
    let get = &results["simple-get"];
    assert_eq!(get["status"], 200);
    assert_eq!(get["body"], r#"{"msg": "Hello, World"}"#);
    let request_id = get["headers"]["x-request-id"].as_str().unwrap_or_default();
    assert!(request_id.starts_with("req-"), "{results:#}");
    assert_eq!(get["headers"]["x-backend"], Value::Null, "{results:#}");
    // x-backend is there; it is the browser that keeps the page from reading it.
    let direct = demo.envoy.request(
        "GET",
        "/api/ping",
        &[("origin", &format!("http://localhost:{}", demo.pages.port))],
    );
    assert_eq!(direct.header("x-backend").as_deref(), Some("demo-api"));

    // A preflighted JSON POST: readable, and the preflight never reached the API.
    assert_eq!(
        results["json-post"]["body"],
        r#"{"you_sent": {"hello": "world"}}"#
    );
    let echo = "/api/echo?scenario=json-post";
    assert_eq!(demo.api_saw("POST", echo).len(), 2);
    let api_lines = demo.api.lines();
    assert!(
        !api_lines.iter().any(|l| l.starts_with("api: OPTIONS ")),
        "an OPTIONS reached the API:\n{api_lines:#?}"
    );

    // Credentials: the cookie goes along, and the page reads the answer, only where the
    // policy allows credentials (/api/); /public/ answers "*", which a browser refuses then.
    assert_eq!(
        results["credentialed"]["body"],
        r#"{"user": "demo", "session": "s3cr3t"}"#
    );
    let public = demo.api_saw("GET", "/public/ping?scenario=public-credentialed");
    assert_eq!(public.len(), 1);
    assert!(public[0].contains("cookie=yes"), "{public:?}");

    // A blocked preflight keeps the actual request from ever reaching the API.
    assert_eq!(
        demo.api_saw("GET", "/api/ping?scenario=disallowed-header"),
        Vec::<String>::new()
    );
    assert_eq!(
        demo.api_saw("DELETE", "/api/items/1?scenario=disallowed-method"),
        Vec::<String>::new()
    );

    // A 401 from the API is readable, its exposed header too.
    assert_eq!(results["unauthorized"]["status"], 401);
    assert_eq!(
        results["unauthorized"]["body"],
        r#"{"error": "login required"}"#
    );
    assert!(results["unauthorized"]["headers"]["x-request-id"].is_string());
    // The API sends x-request-id on every response; only the /api/ policy exposes it.
    assert!(results["public-get"]["headers"]["x-request-id"].is_null());

    // Envoy's access log: one preflight for the two POSTs (the second within max_age used
    // the browser's preflight cache), each answered by Envoy itself.
    demo.wait_for_access_log("GET", "/api/private?scenario=unauthorized");
    let preflights = demo.envoy_got("OPTIONS", echo);
    assert_eq!(preflights.len(), 1, "{preflights:#?}");
    assert!(
        preflights[0].ends_with("-> 204 upstream=-"),
        "{preflights:?}"
    );
    assert_eq!(demo.envoy_got("POST", echo).len(), 2);
    for (path, status) in [
        ("/api/ping?scenario=custom-header", "204"),
        ("/api/ping?scenario=disallowed-header", "403"),
        ("/api/items/1?scenario=disallowed-method", "403"),
    ] {
        let preflights = demo.envoy_got("OPTIONS", path);
        assert_eq!(preflights.len(), 1, "{path}: {preflights:#?}");
        assert!(
            preflights[0].ends_with(&format!("-> {status} upstream=-")),
            "{preflights:?}"
        );
    }
}

fn from_an_origin_the_policy_does_not_allow_the_browser_reads_only_the_public_route(
    engine: Engine,
) {
    let demo = Demo::start();
    // http://127.0.0.1:port is not http://localhost:port, the origin the policy names.
    let results = demo.run_page(engine, "127.0.0.1");
    assert_outcomes(&results, FROM_ANOTHER_ORIGIN);
    // A simple request is sent, and only its answer withheld from the page ...
    assert_eq!(
        demo.api_saw("GET", "/api/ping?scenario=simple-get").len(),
        1
    );
    // ... a preflighted one never leaves the browser once its preflight is refused.
    let echo = "/api/echo?scenario=json-post";
    assert_eq!(demo.api_saw("POST", echo), Vec::<String>::new());
    demo.wait_for_access_log("GET", "/api/private?scenario=unauthorized");
    let preflights = demo.envoy_got("OPTIONS", echo);
    assert!(!preflights.is_empty());
    assert!(
        preflights.iter().all(|l| l.ends_with("-> 403 upstream=-")),
        "{preflights:#?}"
    );
    assert_eq!(demo.envoy_got("POST", echo), Vec::<String>::new());
}

/// `docker-compose config` (Debian's docker-compose; no Docker engine needed) accepts
/// envoy/docker-compose.yaml, and it runs envoy/demo.yaml, the config the tests above run,
/// in the official Envoy 1.40 image with the built module.
#[test]
fn the_docker_compose_file_runs_the_demo_config_with_the_official_envoy_image() {
    let root = env!("CARGO_MANIFEST_DIR");
    let module = module_path();
    let output = Command::new("docker-compose")
        .args(["-f", "envoy/docker-compose.yaml", "config"])
        .env("CORS_WASM_MODULE", &module)
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run docker-compose ({e}): ./build.sh test installs Debian's \
                 docker-compose package (apt-get install docker-compose)"
            )
        });
    let config = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "docker-compose config refused envoy/docker-compose.yaml:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Checked as text that docker-compose 1.x (short syntax) and 2.x (long syntax) both print.
    let module = module.display().to_string();
    for expected in [
        "image: envoyproxy/envoy:v1.40.",
        &format!("{root}/envoy/demo.yaml"),
        "/etc/envoy/envoy.yaml",
        &module,
        "/etc/envoy/cors_wasm.wasm",
        &format!("{root}/demo"),
        "/demo/api.py",
        "/demo/pages.py",
        "http://localhost:8080",
        "8081",
    ] {
        assert!(
            config.contains(expected),
            "{expected:?} not in docker-compose config:\n{config}"
        );
    }
    // What demo.yaml expects of the containers: the module's mount point, the API's service
    // name and port, the listener's port, and the page's origin.
    let demo_yaml = std::fs::read_to_string(Path::new(root).join("envoy/demo.yaml")).unwrap();
    for expected in [
        "filename: /etc/envoy/cors_wasm.wasm",
        "address: api, port_value: 8081",
        "address: 0.0.0.0, port_value: 8080",
        "allow_origins: [http://localhost:3000]",
    ] {
        assert!(
            demo_yaml.contains(expected),
            "{expected:?} not in demo.yaml"
        );
    }
}
