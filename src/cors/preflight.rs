//! Preflights: `OPTIONS` with `Origin` and `Access-Control-Request-Method`
//! (<https://fetch.spec.whatwg.org/#cors-preflight-fetch>), answered by the filter itself.

use super::action::{decorate, Action, LocalResponse};
use super::header::{self, Answer, HeaderValue};
use super::outcome::{Denial, Outcome};
use super::request::RequestView;
use super::response::AllowedOrigin;
use crate::policy::{parse_header_list, Policy, Verdict};
use std::sync::Arc;

pub fn decide(
    policy: &Arc<Policy>,
    origin: Vec<u8>,
    method: Vec<u8>,
    request: &impl RequestView,
) -> (Outcome, Action) {
    match check(policy, &origin, &method, request) {
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
    let headers = match request.header(header::REQUEST_HEADERS) {
        None => Vec::new(),
        Some(value) => parse_header_list(&value).ok_or(Denial::MalformedRequestHeaders(value))?,
    };
    if let Some(name) = headers
        .iter()
        .find(|name| !policy.rules.headers.allows(name))
    {
        return Err(Denial::Header(name.clone()));
    }
    // <https://wicg.github.io/private-network-access/#headers>
    let private_network = request
        .header(header::REQUEST_PRIVATE_NETWORK)
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
    fn response(self, policy: &Policy, origin: Vec<u8>, method: Vec<u8>) -> LocalResponse {
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
