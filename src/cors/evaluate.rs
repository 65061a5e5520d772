//! What to do with a request: the CORS protocol of <https://fetch.spec.whatwg.org/#http-cors-protocol>
//! applied by the policy that matches it. Host-independent: headers come through [`RequestView`].

use super::action::{decorate, Action};
use super::header;
use super::outcome::{Denial, Outcome};
use super::preflight;
use super::request::RequestView;
use super::response::AllowedOrigin;
use crate::policy::{Config, Policy, RequestFacts, Verdict};
use std::sync::Arc;

/// What the filter does now, and what it decided (for counters and logs).
#[derive(Debug)]
pub struct Evaluation {
    /// The policy that matched, and its index in the configuration.
    pub policy: Option<(usize, Arc<Policy>)>,
    pub outcome: Outcome,
    pub action: Action,
}

impl Evaluation {
    /// The log line for a denied request, the same from every host:
    /// `cors-wasm: policy api: denied (report only): origin "https://evil.example" is not allowed`.
    pub fn denial_line(&self) -> Option<String> {
        let (Some((_, policy)), Outcome::PreflightDenied(denial) | Outcome::ActualDenied(denial)) =
            (&self.policy, &self.outcome)
        else {
            return None;
        };
        let report_only = if policy.report_only {
            " (report only)"
        } else {
            ""
        };
        Some(format!(
            "cors-wasm: policy {}: denied{report_only}: {denial}",
            policy.name
        ))
    }
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
            .then(|| request.header(header::AUTHORITY))
            .flatten(),
        path: config
            .needs_path
            .then(|| request.header(header::PATH))
            .flatten(),
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
        policy: Some((index, Arc::clone(policy))),
        outcome,
        action,
    }
}

fn decide(policy: &Arc<Policy>, request: &impl RequestView) -> (Outcome, Action) {
    // Asked first: absent from actual requests, so cheap for them; and when present, the
    // preflight's other headers, Origin included, come in one read of the whole map.
    let requested_method = request.header_ref(header::REQUEST_METHOD);
    if requested_method.is_some() {
        request.expect_more_headers();
    }
    let Some(origin) = request.header(header::ORIGIN) else {
        return (Outcome::NoOrigin, decorate(policy, AllowedOrigin::NoOrigin));
    };
    if let Some(method) = requested_method {
        if request.header_ref(header::METHOD).as_deref() == Some(b"OPTIONS") {
            return preflight::decide(policy, origin, &method, request);
        }
    }
    match policy.rules.origins.judge(&origin) {
        Verdict::Allowed => {
            let allowed = AllowedOrigin::allowed(policy, origin);
            (Outcome::ActualAllowed, decorate(policy, allowed))
        }
        verdict => (
            Outcome::ActualDenied(Denial::of_origin(origin, verdict)),
            decorate(policy, AllowedOrigin::Denied),
        ),
    }
}
