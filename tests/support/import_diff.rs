//! The difference test of `cors-wasm-check import`: a request catalogue sent to the source's
//! own CORS implementation (Envoy's native filter, Express's `cors`) and to cors-wasm with
//! the imported policy in Envoy; each response that differs must differ in a way the
//! importer listed (its change kinds) for the policy that applies.

use cors_wasm::host::explain::{explain_json, Request};
use cors_wasm::host::import::{Import, Kind};
use cors_wasm::policy::Config;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::http::{self, Response};

pub const ORIGINS: &[Option<&str>] = &[
    None,
    Some("https://app.example.com"),
    Some("https://shop.partner.example"),
    Some("https://evil.example"),
    Some("null"),
];
const ASKED_METHODS: &[&str] = &["GET", "PUT", "DELETE", "PATCH"];
const ASKED_HEADERS: &[Option<&str>] = &[
    None,
    Some("content-type"),
    Some("x-token"),
    Some("authorization"),
];
/// What the upstream adds of its own on some requests: CORS headers that may leak.
const UPSTREAM_CORS: &[&str] = &[
    "access-control-allow-origin: *",
    "access-control-allow-methods: UPSTREAM",
];

/// One request of the catalogue.
#[derive(Debug, Clone)]
pub struct Case {
    pub method: String,
    pub host: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Case {
    pub fn send(&self, port: u16) -> Response {
        let mut headers: Vec<(&str, &str)> = vec![("host", &self.host)];
        headers.extend(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        http::request(port, &self.method, &self.path, &headers)
    }

    pub fn has(&self, name: &str) -> bool {
        self.headers.iter().any(|(n, _)| n == name)
    }

    pub fn is_preflight(&self) -> bool {
        self.method == "OPTIONS" && self.has("origin") && self.has("access-control-request-method")
    }

    /// The cors-wasm explanation of this request under `config` on `route`.
    fn explain(&self, config: &Config, route: Option<&str>) -> Value {
        let headers: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n != "x-upstream-header")
            .map(|(n, v)| format!("{n}: {v}"))
            .collect();
        let line = format!("{} https://{}{}", self.method, self.host, self.path);
        let mut request = Request::from_line(&line, &headers).unwrap();
        request.route = route.map(str::to_string);
        explain_json(config, &request)
    }
}

/// Every request of the catalogue for these hosts and paths.
pub fn catalogue(hosts: &[String], paths: &[String], leaks: bool) -> Vec<Case> {
    let mut cases = Vec::new();
    for host in hosts {
        for path in paths {
            for origin in ORIGINS {
                let base = |method: &str| Case {
                    method: method.into(),
                    host: host.clone(),
                    path: path.clone(),
                    headers: origin
                        .map(|o| vec![("origin".to_string(), o.to_string())])
                        .unwrap_or_default(),
                };
                for leak in [false, leaks] {
                    for method in ["GET", "DELETE"] {
                        let mut case = base(method);
                        if leak {
                            for line in UPSTREAM_CORS {
                                case.headers
                                    .push(("x-upstream-header".into(), line.to_string()));
                            }
                        }
                        cases.push(case);
                    }
                }
                for asked in ASKED_METHODS {
                    for header in ASKED_HEADERS {
                        let mut case = base("OPTIONS");
                        case.headers
                            .push(("access-control-request-method".into(), asked.to_string()));
                        if let Some(h) = header {
                            case.headers
                                .push(("access-control-request-headers".into(), h.to_string()));
                        }
                        cases.push(case);
                    }
                }
                cases.push(base("OPTIONS"));
                let mut private = base("OPTIONS");
                private.headers.extend([
                    ("access-control-request-method".into(), "GET".into()),
                    (
                        "access-control-request-private-network".into(),
                        "true".into(),
                    ),
                ]);
                cases.push(private);
            }
        }
    }
    cases
}

/// What a browser reads of a response: status, whether the upstream answered, and the CORS
/// headers with their lists as sets (order, case and spacing mean nothing to it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    status: u16,
    upstream: bool,
    fields: Vec<(&'static str, String)>,
}

const FIELDS: &[&str] = &[
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-allow-private-network",
    "vary",
];

fn seen(response: &Response) -> Seen {
    let fields = FIELDS
        .iter()
        .map(|&name| {
            let values = response.all(name).join(",");
            let items: BTreeSet<String> = values
                .split(',')
                .map(|i| i.trim().to_ascii_lowercase())
                .filter(|i| !i.is_empty())
                // Browsers allow the safelisted methods whatever the list says.
                .filter(|i| {
                    name != "access-control-allow-methods"
                        || !matches!(i.as_str(), "get" | "head" | "post")
                })
                .collect();
            (name, items.into_iter().collect::<Vec<_>>().join(","))
        })
        .collect();
    Seen {
        status: response.status,
        upstream: response.body == b"upstream",
        fields,
    }
}

/// The change kinds that explain the difference between the source's `native` answer and
/// cors-wasm's `ours` to `case`, given cors-wasm's own explanation of it (`why`); `Err`
/// names a difference no kind explains.
fn explaining_kinds(
    case: &Case,
    native: &Seen,
    ours: &Seen,
    why: &Value,
) -> Result<Vec<Kind>, String> {
    let answer_changed = native.status != ours.status || native.upstream != ours.upstream;
    let plain_options = case.method == "OPTIONS" && !case.is_preflight();
    if answer_changed && plain_options {
        // An OPTIONS request that is no preflight, once answered as one.
        return Ok(vec![Kind::PlainOptions]);
    }
    if answer_changed && case.is_preflight() {
        // The whole preflight answer changed: said by why cors-wasm denied it.
        let reason = why["reason"].as_str().unwrap_or_default();
        let kind = if why["decision"] == "preflight_allowed" {
            Kind::PreflightAnswer
        } else if reason.starts_with("origin") {
            Kind::DeniedPreflight
        } else if reason.starts_with("method") {
            Kind::PreflightMethod
        } else if reason.starts_with("header") {
            Kind::PreflightHeaders
        } else if reason.starts_with("private network") {
            Kind::PrivateNetwork
        } else {
            return Err(format!(
                "the preflight's answer changed, and cors-wasm says {why}"
            ));
        };
        return Ok(vec![kind]);
    }
    if answer_changed {
        return Err("status or upstream differ".into());
    }
    let allowed = why["decision"]
        .as_str()
        .is_some_and(|d| d.ends_with("_allowed"));
    let our_origin = &ours.fields[0].1;
    let mut kinds = Vec::new();
    for ((name, a), (_, b)) in native.fields.iter().zip(&ours.fields) {
        if a == b {
            continue;
        }
        let leaked = case.has("x-upstream-header")
            && UPSTREAM_CORS.iter().any(|l| {
                l.split_once(": ")
                    .is_some_and(|(n, v)| n == *name && v.to_ascii_lowercase() == *a)
            });
        let kind = match *name {
            "vary" => Kind::Vary,
            _ if leaked => Kind::UpstreamHeaders,
            "access-control-allow-origin" if a == "*" || b == "*" => Kind::AnyOrigin,
            "access-control-allow-credentials" if our_origin == "*" && b.is_empty() => {
                Kind::AnyOrigin
            }
            "access-control-expose-headers" if case.is_preflight() && b.is_empty() => {
                Kind::ExposeOnPreflight
            }
            // Preflight headers on an OPTIONS request that is no preflight.
            _ if b.is_empty() && plain_options => Kind::PlainOptions,
            "access-control-max-age" if !a.is_empty() && !b.is_empty() => Kind::MaxAge,
            _ if b.is_empty() && !allowed => Kind::DisallowedOriginHeaders,
            _ => return Err(format!("{name}: {a:?} became {b:?}")),
        };
        kinds.push(kind);
    }
    Ok(kinds)
}

/// Runs `difference` on each file, one thread a file (each starts its own servers and waits
/// on the network), and fails with every unlisted difference found.
pub fn assert_only_listed_differences(files: Vec<PathBuf>, difference: fn(&Path) -> Vec<String>) {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = files
            .iter()
            .map(|file| scope.spawn(move || difference(file)))
            .collect();
        runs.into_iter()
            .flat_map(|run| run.join().expect("a difference run panicked"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} unlisted differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The differences between the source's server and cors-wasm's that the import did not list,
/// each named by `name`. Fails when no response differed, or when the same comparison with
/// nothing listed passes: either way it would prove nothing.
pub fn unlisted_differences(
    name: &str,
    (source, ours): (u16, u16),
    imported: &Import,
    cases: &[Case],
    route_of: &dyn Fn(&Case) -> Option<String>,
) -> Vec<String> {
    let (unlisted, differing) = compare(source, ours, imported, cases, route_of);
    eprintln!(
        "{name}: {} requests, {differing} answered differently",
        cases.len()
    );
    assert!(
        differing > 0,
        "{name}: no response differed, so the comparison proves nothing"
    );
    let unlisting = Import {
        policies: imported.policies.clone(),
        changes: Vec::new(),
    };
    let (all_unlisted, _) = compare(source, ours, &unlisting, cases, route_of);
    assert!(
        !all_unlisted.is_empty(),
        "{name}: differences pass without being listed"
    );
    unlisted
        .into_iter()
        .map(|u| format!("{name}: {u}"))
        .collect()
}

/// Runs the catalogue against the source's server (`native`, a port) and cors-wasm's
/// (`ours`), and returns each unlisted difference, and how many responses differed in all.
fn compare(
    native: u16,
    ours: u16,
    imported: &Import,
    cases: &[Case],
    route_of: &dyn Fn(&Case) -> Option<String>,
) -> (Vec<String>, usize) {
    let config = Config::from_tree(&imported.config()).unwrap();
    let mut unlisted = Vec::new();
    let mut differing = 0;
    for case in cases {
        let (a, b) = (seen(&case.send(native)), seen(&case.send(ours)));
        if a == b {
            continue;
        }
        differing += 1;
        let why = case.explain(&config, route_of(case).as_deref());
        let policy = why["policy"]["name"].as_str().unwrap_or_default();
        let listed: Vec<Kind> = imported
            .changes
            .iter()
            .filter(|c| c.policy == policy)
            .map(|c| c.kind)
            .collect();
        let problem = match explaining_kinds(case, &a, &b, &why) {
            Ok(kinds) => kinds
                .into_iter()
                .find(|k| !listed.contains(k))
                .map(|k| format!("{k:?} not listed for policy {policy:?}")),
            Err(e) => Some(e),
        };
        if let Some(problem) = problem {
            unlisted.push(format!(
                "{case:?}\n  native: {a:?}\n  cors-wasm: {b:?}\n  {problem}"
            ));
        }
    }
    (unlisted, differing)
}
