//! The checker's explain mode proven by the conformance table: every request case of
//! `tests/conformance/` explained offline must give the status, the upstream and the
//! headers the table expects (the same checks the harness and Envoy runs pass).

mod support;

use cors_wasm::host::explain::{self, Answered, Reply, Request};
use cors_wasm::policy::Config;
use support::conformance::{
    cases_on_disk, check, envoy_codec, fail_if_any, observe, tables, Case, Loaded, Observed,
    ENVOY_INLINE_REQUEST, ENVOY_INLINE_RESPONSE,
};

/// Lower-case names and bytes, as the explain host holds headers.
fn named(headers: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    headers
        .into_iter()
        .map(|(name, value)| (String::from_utf8(name).unwrap(), value))
        .collect()
}

/// The case's request as the explain host takes it: pseudo-headers apart, the rest joined
/// as Envoy's codec joins them.
fn request(case: &Case) -> Request {
    let r = &case.request;
    let lines = r
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.bytes()))
        .collect();
    Request {
        method: r.method.clone(),
        scheme: "http".into(),
        authority: r.authority.clone(),
        path: r.path.clone(),
        headers: named(envoy_codec(lines, &ENVOY_INLINE_REQUEST)),
        route: Some(r.route.clone().unwrap_or_else(|| "default".into())),
    }
}

fn reply(case: &Case) -> Reply {
    let response = &case.response;
    let lines = response
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.clone().into_bytes()))
        .collect();
    Reply {
        status: response.status,
        headers: named(envoy_codec(lines, &ENVOY_INLINE_RESPONSE)),
        local: response.local,
    }
}

fn explained(config: &Config, case: &Case) -> Observed {
    let Answered {
        status,
        upstream,
        headers,
    } = explain::answer(config, &request(case), reply(case));
    let headers: Vec<(String, String)> = headers
        .into_iter()
        .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    observe(case, status, upstream, &headers)
}

#[test]
fn the_explain_mode_gives_every_answer_of_the_table() {
    let mut ran = 0;
    let mut failures = Vec::new();
    for Loaded { file, table } in tables() {
        // The checker reads a policy file as JSON text, whatever encoding the table sends.
        let config = Config::parse(table.config.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{file}: the configuration was refused: {e:?}"));
        for case in &table.cases {
            if let Err(message) = check(case, &explained(&config, case)) {
                failures.push(format!("{file}: {}: {message}", case.name));
            }
            ran += 1;
        }
    }
    fail_if_any(failures, ran);
    assert_eq!(
        ran,
        cases_on_disk().0,
        "cases in the files that did not run"
    );
}
