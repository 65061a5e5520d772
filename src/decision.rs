//! What to do with a request: the CORS protocol of <https://fetch.spec.whatwg.org/#http-cors-protocol>
//! applied by the policy that matches it. Host-independent: headers come through [`RequestView`].

use crate::config::Config;
use crate::matcher::RequestFacts;
use crate::policy::Policy;
use crate::preflight;
use crate::response::{AllowedOrigin, ResponsePlan};
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

/// The request as the decision reads it: one header at a time, only those it needs.
pub trait RequestView {
    /// The first value of a header (lower-case name), as bytes.
    fn header(&self, name: &str) -> Option<Vec<u8>>;
    /// The name of the route the request was matched to (Envoy's `xds.route_name`).
    fn route_name(&self) -> Option<Vec<u8>>;
    /// Told when several more headers will be read, so a host can fetch them at once.
    fn expect_more_headers(&self) {}
}

/// What the filter does now, and what it decided (for counters and logs).
#[derive(Debug)]
pub struct Evaluation {
    /// The policy that matched, and its index in the configuration.
    pub policy: Option<(usize, Rc<Policy>)>,
    pub outcome: Outcome,
    pub action: Action,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Unmatched,
    Disabled,
    NoOrigin,
    PreflightAllowed,
    PreflightDenied(Denial),
    ActualAllowed,
    ActualDenied(Denial),
}

/// The counters kept for every policy, by name.
pub const COUNTERS: [&str; 5] = [
    "preflight_allowed",
    "preflight_denied",
    "actual_allowed",
    "actual_denied",
    "no_origin",
];

impl Outcome {
    /// Which of [`COUNTERS`] this outcome counts in, if any.
    pub fn counter(&self) -> Option<usize> {
        match self {
            Outcome::PreflightAllowed => Some(0),
            Outcome::PreflightDenied(_) => Some(1),
            Outcome::ActualAllowed => Some(2),
            Outcome::ActualDenied(_) => Some(3),
            Outcome::NoOrigin => Some(4),
            Outcome::Unmatched | Outcome::Disabled => None,
        }
    }
}

#[derive(Debug)]
pub enum Action {
    /// Let the request and its response through untouched.
    Nothing,
    /// Answer the request locally; it never reaches the upstream.
    Respond(LocalResponse),
    /// Let the request through and apply the plan to its response.
    Decorate(ResponsePlan),
}

#[derive(Debug, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    pub headers: Vec<(&'static str, HeaderValue)>,
}

/// A header value of a local response: a constant, the policy's own (rendered at configure
/// time, shared, not copied), or made from this request.
#[derive(Debug, Clone, Eq)]
pub enum HeaderValue {
    Static(&'static str),
    Shared(Rc<str>),
    Owned(String),
}

impl Deref for HeaderValue {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            HeaderValue::Static(value) => value,
            HeaderValue::Shared(value) => value,
            HeaderValue::Owned(value) => value,
        }
    }
}

impl From<&str> for HeaderValue {
    fn from(value: &str) -> HeaderValue {
        HeaderValue::Owned(value.to_string())
    }
}

impl PartialEq for HeaderValue {
    fn eq(&self, other: &HeaderValue) -> bool {
        **self == **other
    }
}

/// Why a request was denied; the offending value is kept for the log line.
#[derive(Debug, PartialEq, Eq)]
pub enum Denial {
    Origin(Vec<u8>),
    Method(Vec<u8>),
    Header(String),
    MalformedRequestHeaders(Vec<u8>),
    PrivateNetwork,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Origin(o) => write!(f, "origin {} is not allowed", shown(o)),
            Denial::Method(m) => write!(f, "method {} is not allowed", shown(m)),
            Denial::Header(h) => write!(f, "header {} is not allowed", shown(h.as_bytes())),
            Denial::MalformedRequestHeaders(v) => {
                write!(
                    f,
                    "Access-Control-Request-Headers {} is not a list of tokens",
                    shown(v)
                )
            }
            Denial::PrivateNetwork => f.write_str("private network access is not allowed"),
        }
    }
}

/// A request value for a log line: quoted, cut at 128 bytes, and every byte outside
/// printable ASCII written as `\xNN`, so the line shows exactly what was sent.
fn shown(value: &[u8]) -> String {
    let cut = &value[..value.len().min(128)];
    let mut text = String::with_capacity(cut.len() + 5);
    text.push('"');
    for &byte in cut {
        match byte {
            b'"' | b'\\' => {
                text.push('\\');
                text.push(char::from(byte));
            }
            b' '..=b'~' => text.push(char::from(byte)),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text.push('"');
    if cut.len() < value.len() {
        text.push_str("...");
    }
    text
}

/// On cost: every header read is a host call, and one that finds a value also makes Envoy
/// call back into the module for the memory to put it in; a read of the whole map is one of
/// those. So reads are few, and ordered to find as few values as they can.
pub fn evaluate(config: &Config, request: &impl RequestView) -> Evaluation {
    if config.needs_authority || config.needs_path {
        request.expect_more_headers();
    }
    let facts = RequestFacts {
        route: config.needs_route.then(|| request.route_name()).flatten(),
        authority: config
            .needs_authority
            .then(|| request.header(":authority"))
            .flatten(),
        path: config.needs_path.then(|| request.header(":path")).flatten(),
    };
    let Some((index, policy)) = config.select(&facts) else {
        return Evaluation {
            policy: None,
            outcome: Outcome::Unmatched,
            action: Action::Nothing,
        };
    };
    let (outcome, action) = if policy.disabled {
        (Outcome::Disabled, Action::Nothing)
    } else {
        decide(policy, request)
    };
    let action = if policy.report_only {
        Action::Nothing
    } else {
        action
    };
    Evaluation {
        policy: Some((index, Rc::clone(policy))),
        outcome,
        action,
    }
}

fn decide(policy: &Rc<Policy>, request: &impl RequestView) -> (Outcome, Action) {
    // Asked first: absent from actual requests, so cheap for them; and when present, the
    // preflight's other headers, Origin included, come in one read of the whole map.
    let requested_method = request.header("access-control-request-method");
    if requested_method.is_some() {
        request.expect_more_headers();
    }
    let Some(origin) = request.header("origin") else {
        return (Outcome::NoOrigin, decorate(policy, AllowedOrigin::NoOrigin));
    };
    if let Some(method) = requested_method {
        if request.header(":method").as_deref() == Some(b"OPTIONS") {
            return preflight::decide(policy, origin, method, request);
        }
    }
    if policy.rules.origins.allows(&origin) {
        let allowed = AllowedOrigin::allowed(policy, origin);
        (Outcome::ActualAllowed, decorate(policy, allowed))
    } else {
        (
            Outcome::ActualDenied(Denial::Origin(origin)),
            decorate(policy, AllowedOrigin::Denied),
        )
    }
}

/// The response plan, or nothing when the plan would change nothing.
pub fn decorate(policy: &Rc<Policy>, origin: AllowedOrigin) -> Action {
    if origin == AllowedOrigin::NoOrigin && !policy.varies_by_origin() {
        return Action::Nothing;
    }
    Action::Decorate(ResponsePlan {
        policy: Rc::clone(policy),
        origin,
    })
}
