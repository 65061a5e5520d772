//! Preflights: `OPTIONS` with `Origin` and `Access-Control-Request-Method`
//! (<https://fetch.spec.whatwg.org/#cors-preflight-fetch>), answered by the filter itself.

use super::action::{decorate, Action, LocalResponse};
use super::header::{self, Answer, HeaderValue};
use super::outcome::{Denial, Outcome};
use super::request::RequestView;
use super::response::AllowedOrigin;
use crate::policy::{header_names, is_header_list, Policy, Verdict};
use std::borrow::Cow;
use std::sync::Arc;

pub fn decide(
    policy: &Arc<Policy>,
    origin: Vec<u8>,
    method: &[u8],
    request: &impl RequestView,
) -> (Outcome, Action) {
    match check(policy, &origin, method, request) {
        Ok(granted) => {
            let response = granted.response(policy, origin, method);
            (Outcome::PreflightAllowed, Action::Respond(response))
        }
        Err(denial) if policy.forward_unmatched_preflights => {
            let verdict = if policy.rules.origins.allows(&origin) {
                AllowedOrigin::allowed(policy, origin)
            } else {
                AllowedOrigin::Denied
            };
            (Outcome::PreflightDenied(denial), decorate(policy, verdict))
        }
        Err(denial) => {
            let response = LocalResponse {
                status: 403,
                headers: vec![header::preflight_vary(policy)],
            };
            (Outcome::PreflightDenied(denial), Action::Respond(response))
        }
    }
}

/// What an allowed preflight asked for.
struct Granted {
    /// The requested header names, for a policy that allows any (none otherwise).
    headers: Vec<String>,
    private_network: bool,
}

fn check(
    policy: &Policy,
    origin: &[u8],
    method: &[u8],
    request: &impl RequestView,
) -> Result<Granted, Denial> {
    match policy.rules.origins.judge(origin) {
        Verdict::Allowed => {}
        verdict => return Err(Denial::of_origin(origin.to_vec(), verdict)),
    }
    if !policy.rules.methods.allows(method) {
        return Err(Denial::Method(method.to_vec()));
    }
    // Checked in place: the names are copied only for a policy that answers with them.
    let requested = request.header_ref(header::REQUEST_HEADERS);
    let requested = requested.as_deref().unwrap_or_default();
    if !is_header_list(requested) {
        return Err(Denial::MalformedRequestHeaders(requested.to_vec()));
    }
    if let Some(name) = header_names(requested).find(|name| !policy.rules.headers.allows(name)) {
        return Err(Denial::Header(name.into_owned()));
    }
    let headers = if policy.rules.headers.any {
        header_names(requested).map(Cow::into_owned).collect()
    } else {
        Vec::new()
    };
    // <https://wicg.github.io/private-network-access/#headers>
    let private_network = request
        .header_ref(header::REQUEST_PRIVATE_NETWORK)
        .is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
    if private_network && !policy.allow_private_network {
        return Err(Denial::PrivateNetwork);
    }
    Ok(Granted {
        headers,
        private_network,
    })
}

impl Granted {
    /// The filter's answer, one header at a time from [`header`].
    fn response(self, policy: &Policy, origin: Vec<u8>, method: &[u8]) -> LocalResponse {
        let allowed = match AllowedOrigin::allowed(policy, origin) {
            AllowedOrigin::Allowed(origin) => Some(HeaderValue::Owned(origin)),
            AllowedOrigin::NoOrigin | AllowedOrigin::Denied => None,
        };
        let fixed = |(name, value)| (name, HeaderValue::Static(value));
        let shared = |(name, value): (&'static str, &Arc<str>)| {
            (name, HeaderValue::Shared(Arc::clone(value)))
        };
        let mut headers = Vec::with_capacity(8);
        headers.extend(allowed.map(header::allow_origin));
        headers.extend(header::allow_credentials(policy).map(fixed));
        headers.extend(header::allow_methods(policy, method));
        headers.extend(header::allow_headers(policy, &self.headers));
        headers.extend(header::expose_headers(policy, Answer::Preflight).map(shared));
        headers.extend(header::max_age(policy));
        headers.extend(header::allow_private_network(self.private_network));
        headers.push(header::preflight_vary(policy));
        LocalResponse {
            status: policy.preflight_status,
            headers,
        }
    }
}
