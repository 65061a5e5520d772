//! cors-wasm-check: validates policy files with exactly the filter's own validation and
//! messages, for users' CI. Prints each policy's effect on one line and every warning;
//! exits 1 when a file has errors, 2 on usage or I/O problems.
//!
//! A file is the plugin configuration as JSON or YAML, an Istio `WasmPlugin` manifest (its
//! `spec.pluginConfig` is checked), or an Envoy configuration: each cors-wasm filter in it
//! (`cors_wasm::host::explain::envoy`).
//!
//! With `--request 'METHOD URL' [-H 'Name: value']... [--route NAME]` or `--curl 'COMMAND'`
//! it explains what the filter does with that one request (`cors_wasm::host::explain`); with
//! `--har FILE`, every cross-origin request of a browser's HAR file. `--json` writes the
//! same facts as one JSON object (docs/checker.md describes it).

use cors_wasm::encoding::{json, yaml, DecodeError, Value};
use cors_wasm::host::explain::envoy::{self, Filter, Picked, RouteChoice};
use cors_wasm::host::explain::{self, HarRequest, Request};
use cors_wasm::host::import::{self, SOURCES};
use cors_wasm::policy::{comma_separated, Config, Policy, RequestMatch, Rules};
use cors_wasm::policy::{REPEATED_KEY, SAFELISTED_METHODS};
use std::process::ExitCode;
use std::sync::Arc;

/// `println!` through [`emit`].
macro_rules! say {
    ($($arg:tt)*) => { emit(&format!("{}\n", format_args!($($arg)*))) };
}

const USAGE: &str = "usage: cors-wasm-check FILE... (JSON or YAML policies, or an Istio WasmPlugin)
       cors-wasm-check FILE --request 'METHOD URL' [-H 'Name: value']... [--route NAME]
       cors-wasm-check FILE --curl 'curl ...' [--route NAME]   (a browser's \"Copy as cURL\")
       cors-wasm-check FILE --har NETWORK.har [--route NAME]    (a browser's \"Save all as HAR\")
       add --json to any of these for one JSON object instead of text
       cors-wasm-check import {envoy|istio|express} FILE    (another CORS configuration as cors-wasm's)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "import") {
        return ExitCode::from(import(&args[1..]));
    }
    if args.is_empty() || args.iter().any(|p| p == "-h" || p == "--help") {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let checks_as_json = args.iter().any(|a| a == "--json")
        && args.iter().filter(|a| a.starts_with('-')).count() == 1;
    if checks_as_json && args.len() == 1 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    if checks_as_json {
        return ExitCode::from(check_all_json(args.iter().filter(|a| *a != "--json")));
    }
    if args.iter().any(|a| a.starts_with('-')) {
        return match explain_args(&args) {
            Ok((path, input, route, json)) => {
                ExitCode::from(explain_input(&path, input, route, json))
            }
            Err(message) => {
                eprintln!("cors-wasm-check: {message}\n{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    let paths = args;
    let mut worst = 0;
    for path in &paths {
        worst = worst.max(check(path));
    }
    ExitCode::from(worst)
}

/// What an explain run is asked to explain: one request, or a HAR file's.
enum Input {
    One(Request),
    HarFile(String),
}

/// What it explains: one request, or the cross-origin requests of a HAR file and how many
/// other entries it has.
enum Subject {
    One(Request),
    Har(Vec<HarRequest>, usize),
}

/// The policy file, the input and `--json` of an explain run: one file, one of `--request`
/// (with its `-H` headers), `--curl` or `--har`, and `--route`.
fn explain_args(args: &[String]) -> Result<(String, Input, Option<String>, bool), String> {
    let (mut paths, mut line, mut curl, mut har, mut route) = (Vec::new(), None, None, None, None);
    let (mut headers, mut json) = (Vec::new(), false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--request" => line = Some(value()?),
            "--curl" => curl = Some(value()?),
            "--har" => har = Some(value()?),
            "-H" | "--header" => headers.push(value()?),
            "--route" => route = Some(value()?),
            "--json" => json = true,
            option if option.starts_with('-') => return Err(format!("unknown option {option}")),
            path => paths.push(path.to_string()),
        }
    }
    let [path] = <[String; 1]>::try_from(paths)
        .map_err(|paths| format!("explain one policy file at a time, not {}", paths.len()))?;
    if !headers.is_empty() && line.is_none() {
        return Err("-H goes with --request; put headers in the curl command".into());
    }
    let input = match (line, curl, har) {
        (Some(line), None, None) => Input::One(Request::from_line(&line, &headers)?),
        (None, Some(curl), None) => Input::One(Request::from_curl(&curl)?),
        (None, None, Some(har)) => Input::HarFile(har),
        (None, None, None) => return Err("-H and --route need --request, --curl or --har".into()),
        _ => return Err("give one of --request, --curl and --har".into()),
    };
    Ok((path, input, route, json))
}

/// The input with a HAR file read; an error says what is wrong in which file, and where.
fn read_har(input: Input) -> Result<Subject, String> {
    let path = match input {
        Input::One(request) => return Ok(Subject::One(request)),
        Input::HarFile(path) => path,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("--har {path}: {e}"))?;
    let (requests, others) = explain::read_har(&text).map_err(|e| format!("--har {path}: {e}"))?;
    Ok(Subject::Har(requests, others))
}

fn with_route(input: Subject, route: Option<String>) -> Subject {
    match input {
        Subject::One(mut request) => {
            request.route = route;
            Subject::One(request)
        }
        Subject::Har(mut requests, others) => {
            for r in &mut requests {
                r.request.route.clone_from(&route);
            }
            Subject::Har(requests, others)
        }
    }
}

/// 0 when explained, 1 when the policy file has errors, 2 when a file cannot be read.
fn explain_input(path: &str, input: Input, route: Option<String>, json: bool) -> u8 {
    let input = match read_har(input) {
        Ok(input) => with_route(input, route),
        Err(message) => {
            eprintln!("cors-wasm-check: {message}");
            return 2;
        }
    };
    let (tree, filter) = match read_source(path).and_then(|source| one_config(path, source)) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let config = match Config::from_tree(&tree) {
        Ok(config) => config,
        Err(errors) => {
            for error in errors.iter() {
                say!("{path}: error: {error}");
            }
            return 1;
        }
    };
    let mut input = input;
    let envoy = filter.map(|filter| {
        let routing = locate_all(&filter, &mut input);
        (filter.at, routing)
    });
    let warnings: Vec<String> = config
        .warnings
        .iter()
        .map(|w| format!("{path}: warning: {w}"))
        .collect();
    if json {
        write_json(&config, &input, warnings, envoy);
    } else {
        write_text(&config, &input, warnings, envoy);
    }
    0
}

/// Where the filter sits in an Envoy configuration, and how the checker found the route.
type EnvoyFound = Option<(String, Option<String>)>;

fn write_json(config: &Config, input: &Subject, warnings: Vec<String>, envoy: EnvoyFound) {
    let mut out = match input {
        Subject::One(request) => explain::explain_json(config, request),
        Subject::Har(requests, others) => explain::explain_har(config, requests, *others),
    };
    out["warnings"] = warnings.into();
    if let Some((at, routing)) = envoy {
        out["envoy"] = serde_json::json!({"filter": at, "routing": routing});
    }
    emit(&format!("{out:#}\n"));
}

fn write_text(config: &Config, input: &Subject, warnings: Vec<String>, envoy: EnvoyFound) {
    for warning in warnings {
        say!("{warning}");
    }
    if let Some((at, Some(routing))) = envoy {
        say!("envoy: the cors-wasm filter at {at}; {routing}");
    }
    let text = match input {
        Subject::One(request) => explain::explain(config, request),
        Subject::Har(requests, others) => {
            explain::har_text(&explain::explain_har(config, requests, *others))
        }
    };
    emit(&text);
}

/// The plugin configuration to explain with, and the Envoy filter it is from: an Envoy
/// configuration must have exactly one cors-wasm filter.
fn one_config(path: &str, source: Source) -> Result<(Value, Option<Filter>), u8> {
    let mut filters = match source {
        Source::Plugin(tree) => return Ok((tree, None)),
        Source::Envoy(filters) => filters,
    };
    if filters.len() > 1 {
        let at: Vec<&str> = filters.iter().map(|f| f.at.as_str()).collect();
        eprintln!(
            "{path}: {} cors-wasm filters, at {}: explain takes a configuration with one",
            at.len(),
            at.join(" and at ")
        );
        return Err(2);
    }
    let Some(filter) = filters.pop() else {
        eprintln!("{path}: {NO_FILTER}");
        return Err(2);
    };
    match &filter.config {
        Ok(tree) => Ok((tree.clone(), Some(filter))),
        Err(error) => {
            say!("{path}: {}: error: {error}", filter.at);
            Err(1)
        }
    }
}

/// Each request without `--route` given the route Envoy picks; for one request, what the
/// checker found (`None` when `--route` named it).
fn locate_all(filter: &Filter, input: &mut Subject) -> Option<String> {
    match input {
        Subject::One(request) => locate(filter, request),
        Subject::Har(requests, _) => {
            for r in requests {
                locate(filter, &mut r.request);
            }
            None
        }
    }
}

/// The route Envoy picks for `request`, set on it when the checker can tell, in words.
fn locate(filter: &Filter, request: &mut Request) -> Option<String> {
    if request.route.is_some() {
        return None;
    }
    let Some(manager) = &filter.connection_manager else {
        return Some("its routes are not in this file; give --route NAME".into());
    };
    Some(match envoy::route_for(manager, request) {
        RouteChoice::Route(picked) => picked_route(picked, request),
        RouteChoice::NoRoute(why) => {
            format!("{why}: Envoy answers 404 itself; the filter still runs, with no route name")
        }
        RouteChoice::Unknown(why) => format!("which route Envoy picks is unknown: {why}"),
    })
}

/// The route Envoy picks, in words; its name set on the request.
fn picked_route(picked: Picked, request: &mut Request) -> String {
    let Picked {
        virtual_host,
        index,
        name,
        answers_itself,
    } = picked;
    let named = match &name {
        Some(name) => format!("named {name:?}"),
        None => "which has no name".to_string(),
    };
    let local = answers_itself.map_or(String::new(), |how| {
        format!("; it answers itself ({how}), and the filter's headers go on that answer")
    });
    request.route = name;
    format!("Envoy picks virtual host {virtual_host:?}, routes[{index}], {named}{local}")
}

/// Writes `text` to stdout. A reader that went away (`| head -1`) is no reason to panic, as
/// `print!` would: the rest is not read, and the exit code still says what was found.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `cors-wasm-check import SOURCE FILE`: the configuration on standard output, each change
/// on standard error (`FILE: where: what`); 0 when imported, 2 with one error line.
fn import(args: &[String]) -> u8 {
    let [source, path] = args else {
        eprintln!(
            "usage: cors-wasm-check import {{{}}} FILE",
            SOURCES.join("|")
        );
        return 2;
    };
    let imported = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| import::import(source, &text));
    match imported {
        Ok(imported) => {
            emit(&imported.yaml());
            for change in &imported.changes {
                eprintln!("{path}: {}: {}", change.at, change.text);
            }
            0
        }
        Err(error) => {
            eprintln!("{path}: {error}");
            2
        }
    }
}

/// The plugin configuration in the file at `path`; or the exit code, its reasons printed:
/// 1 for keys written twice in one object, 2 when the file cannot be read.
fn read_source(path: &str) -> Result<Source, u8> {
    let read = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| plugin_config(&t));
    match read {
        Ok(Ok(tree)) => Ok(tree),
        Ok(Err(repeated)) => {
            for key in repeated {
                say!("{path}: error: {key}: {REPEATED_KEY}");
            }
            Err(1)
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            Err(2)
        }
    }
}

/// 0 when the file is valid, 1 when it has errors, 2 when it cannot be read (or is an
/// Envoy configuration without a cors-wasm filter, or with two in one filter chain).
fn check(path: &str) -> u8 {
    match read_source(path) {
        Ok(Source::Plugin(tree)) => check_tree(path, &tree),
        Ok(Source::Envoy(filters)) => check_filters(path, &filters),
        Err(code) => code,
    }
}

/// Each filter checked, its lines named by where it sits.
fn check_filters(path: &str, filters: &[Filter]) -> u8 {
    if filters.is_empty() {
        eprintln!("{path}: {NO_FILTER}");
        return 2;
    }
    if let Some((a, b)) = twice_in_one_chain(filters) {
        eprintln!("{path}: two cors-wasm filters in one filter chain, at {a} and at {b}");
        return 2;
    }
    let mut worst = 0;
    for filter in filters {
        let name = format!("{path}: {}", filter.at);
        let code = match &filter.config {
            Ok(tree) => check_tree(&name, tree),
            Err(error) => {
                say!("{name}: error: {error}");
                1
            }
        };
        worst = worst.max(code);
    }
    worst
}

/// Two filters in the same `http_filters` list: every request would pass both.
fn twice_in_one_chain(filters: &[Filter]) -> Option<(&str, &str)> {
    let chain = |f: &Filter| {
        f.at.rsplit_once("http_filters[")
            .map(|(chain, _)| chain.to_string())
    };
    filters.iter().enumerate().find_map(|(i, a)| {
        let b = filters[i + 1..]
            .iter()
            .find(|b| chain(a).is_some() && chain(a) == chain(b))?;
        Some((a.at.as_str(), b.at.as_str()))
    })
}

/// 0 when the configuration is valid, 1 when it has errors; its lines start with `name`.
fn check_tree(name: &str, tree: &Value) -> u8 {
    match Config::from_tree(tree) {
        Ok(config) => {
            for warning in &config.warnings {
                say!("{name}: warning: {warning}");
            }
            for policy in &config.policies {
                say!("{name}: {}: {}", policy.name, describe(policy));
            }
            0
        }
        Err(errors) => {
            for error in errors.iter() {
                say!("{name}: error: {error}");
            }
            1
        }
    }
}

/// `--json` without a request: every file's check as one object; the exit code as without.
fn check_all_json<'a>(paths: impl Iterator<Item = &'a String>) -> u8 {
    let (mut worst, mut files) = (0, Vec::new());
    for path in paths {
        let (code, file) = check_json(path);
        worst = worst.max(code);
        files.push(file);
    }
    emit(&format!("{:#}\n", serde_json::json!({ "files": files })));
    worst
}

/// One file's check as data: `result` (`valid`, `invalid` or `unreadable`), the errors,
/// the warnings and each valid policy's summary (the line the text gives it).
fn check_json(path: &str) -> (u8, serde_json::Value) {
    let read = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| plugin_config(&t));
    let (code, mut report) = match read {
        Ok(Ok(Source::Plugin(tree))) => tree_json(&tree),
        Ok(Ok(Source::Envoy(filters))) => filters_json(&filters),
        Ok(Err(repeated)) => {
            let errors: Vec<String> = repeated
                .iter()
                .map(|k| format!("{k}: {REPEATED_KEY}"))
                .collect();
            (1, report_json("invalid", errors, vec![], vec![]))
        }
        Err(e) => (2, report_json("unreadable", vec![e], vec![], vec![])),
    };
    report["path"] = path.into();
    (code, report)
}

fn report_json(
    result: &str,
    errors: Vec<String>,
    warnings: Vec<String>,
    policies: Vec<serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({"result": result, "errors": errors, "warnings": warnings,
        "policies": policies})
}

/// An Envoy configuration's check: the file's result, and each filter's under `filters`.
fn filters_json(filters: &[Filter]) -> (u8, serde_json::Value) {
    let chained = twice_in_one_chain(filters)
        .map(|(a, b)| format!("two cors-wasm filters in one filter chain, at {a} and at {b}"));
    let refused = chained.or((filters.is_empty()).then(|| NO_FILTER.to_string()));
    if let Some(error) = refused {
        let mut report = report_json("unreadable", vec![error], vec![], vec![]);
        report["filters"] = serde_json::json!([]);
        return (2, report);
    }
    let checked: Vec<(u8, serde_json::Value)> = filters
        .iter()
        .map(|filter| {
            let (code, mut report) = match &filter.config {
                Ok(tree) => tree_json(tree),
                Err(error) => (
                    1,
                    report_json("invalid", vec![error.clone()], vec![], vec![]),
                ),
            };
            report["at"] = filter.at.clone().into();
            (code, report)
        })
        .collect();
    let worst = checked.iter().map(|(code, _)| *code).max().unwrap_or(0);
    let result = if worst == 0 { "valid" } else { "invalid" };
    let mut report = report_json(result, vec![], vec![], vec![]);
    report["filters"] = checked.into_iter().map(|(_, r)| r).collect();
    (worst, report)
}

/// A plugin configuration's check: `result`, `errors`, `warnings` and `policies`.
fn tree_json(tree: &Value) -> (u8, serde_json::Value) {
    match Config::from_tree(tree) {
        Ok(config) => {
            let policies: Vec<serde_json::Value> = config
                .policies
                .iter()
                .map(|p| serde_json::json!({"name": p.name, "summary": describe(p)}))
                .collect();
            let warnings = config.warnings.iter().map(ToString::to_string).collect();
            (0, report_json("valid", vec![], warnings, policies))
        }
        Err(errors) => {
            let errors = errors.iter().map(ToString::to_string).collect();
            (1, report_json("invalid", errors, vec![], vec![]))
        }
    }
}

/// What a file holds: a plugin configuration, or an Envoy configuration's cors-wasm filters.
enum Source {
    Plugin(Value),
    Envoy(Vec<Filter>),
}

const NO_FILTER: &str = "no cors-wasm filter in this Envoy configuration (a wasm filter whose \
                         code is cors_wasm.wasm, or a dynamic module filter of cors_wasm)";

/// The plugin configuration in a file: JSON, YAML, a `WasmPlugin`'s `spec.pluginConfig`, or
/// an Envoy configuration (its filters);
/// or, for JSON that writes a key twice in one object, the path of each such key.
fn plugin_config(text: &str) -> Result<Result<Source, Vec<String>>, String> {
    let documents = match json::parse(text.as_bytes()) {
        Ok(tree) => vec![tree],
        Err(DecodeError::RepeatedKeys(paths)) => return Ok(Err(paths)),
        Err(DecodeError::Malformed(_)) => yaml::parse(text)?,
    };
    let wasm_plugin = documents.iter().find(|d| d["kind"] == "WasmPlugin");
    match (wasm_plugin, documents.as_slice()) {
        (Some(plugin), _) => Ok(Ok(Source::Plugin(plugin["spec"]["pluginConfig"].clone()))),
        (None, [single]) if envoy::is_envoy_config(single) => {
            Ok(Ok(Source::Envoy(envoy::filters(single))))
        }
        (None, [single]) => Ok(Ok(Source::Plugin(single.clone()))),
        (None, []) => Err("the file is empty".into()),
        (None, _) => Err("several documents and none is a WasmPlugin".into()),
    }
}

/// One line on what a valid policy allows, from the validated policy; its lists in the order
/// they were written.
fn describe(policy: &Policy) -> String {
    let scope = scope(&policy.matcher);
    if policy.disabled {
        return format!("{scope}: disabled, no CORS handling");
    }
    let rules = &policy.rules;
    let mut parts = allowed_lists(rules);
    if rules.allow_credentials {
        parts.push("credentials".into());
    }
    if let Some(max_age) = rules.written.max_age {
        parts.push(format!("max-age {max_age}"));
    }
    for (set, words) in [
        (policy.allow_private_network, "private network access"),
        (
            policy.forward_unmatched_preflights,
            "denied preflights forwarded upstream",
        ),
        (policy.timing_allow_origin, "Timing-Allow-Origin"),
        (policy.report_only, "REPORT ONLY: nothing is enforced"),
    ] {
        if set {
            parts.push(words.into());
        }
    }
    format!("{scope}: {}", parts.join("; "))
}

/// Which requests a policy takes: its `match`.
fn scope(matcher: &RequestMatch) -> String {
    let conditions: Vec<String> = matcher
        .conditions()
        .into_iter()
        .map(|(condition, entries)| format!("{} {}", condition.field(), list(&entries)))
        .collect();
    match conditions.is_empty() {
        true => "every request".to_string(),
        false => format!("when {}", conditions.join(" and ")),
    }
}

/// The origins, methods and headers a policy allows.
fn allowed_lists(rules: &Rules) -> Vec<String> {
    let written = &rules.written;
    let mut parts = vec![format!("origins {}", list(&written.origins))];
    if !written.origin_regexes.is_empty() {
        parts.push(format!(
            "origins matching {}",
            list(&written.origin_regexes)
        ));
    }
    let safelisted = comma_separated(&SAFELISTED_METHODS);
    let methods = listed(rules.methods.any, &rules.rendered.allow_methods);
    let methods = methods.map_or(String::new(), |m| format!(" and {m}"));
    parts.push(format!("methods {safelisted}{methods}"));
    let headers = listed(rules.headers.any, &rules.rendered.allow_headers);
    parts.push(format!(
        "request headers {}",
        headers.as_deref().unwrap_or("none")
    ));
    let exposed = listed(false, &rules.rendered.expose_headers);
    parts.push(format!(
        "exposed headers {}",
        exposed.as_deref().unwrap_or("none")
    ));
    parts
}

/// A list the policy renders into a header, in brackets: `[*]` for any.
fn listed(any: bool, rendered: &Option<Arc<str>>) -> Option<String> {
    match (any, rendered) {
        (true, _) => Some("[*]".into()),
        (false, Some(value)) => Some(format!("[{value}]")),
        (false, None) => None,
    }
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}
