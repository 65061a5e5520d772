//! Preflights: `OPTIONS` with `Origin` and `Access-Control-Request-Method`
//! (<https://fetch.spec.whatwg.org/#cors-preflight-fetch>), answered by the filter itself.

use super::action::{decorate, Action, HeaderValue, LocalResponse};
use super::outcome::{Denial, Outcome};
use super::request::RequestView;
use super::response::AllowedOrigin;
use crate::policy::origin::Verdict;
use crate::policy::token::{comma_separated, first_of_each, parse_header_list};
use crate::policy::Policy;
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
            let vary = HeaderValue::Static(policy.rules.rendered.preflight_vary);
            let response = LocalResponse {
                status: 403,
                headers: vec![("vary", vary)],
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
    let headers = match request.header("access-control-request-headers") {
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
        .header("access-control-request-private-network")
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
    fn response(self, policy: &Policy, origin: Vec<u8>, method: Vec<u8>) -> LocalResponse {
        let rendered = &policy.rules.rendered;
        let shared = |value: &Option<Arc<str>>| value.clone().map(HeaderValue::Shared);
        let mut headers = Vec::with_capacity(8);
        if let AllowedOrigin::Allowed(value) = AllowedOrigin::allowed(policy, origin) {
            headers.push(("access-control-allow-origin", HeaderValue::Owned(value)));
        }
        if policy.rules.allow_credentials {
            headers.push((
                "access-control-allow-credentials",
                HeaderValue::Static("true"),
            ));
        }
        let methods = if policy.rules.methods.any {
            // Checked to be a token, so ASCII.
            String::from_utf8(method).ok().map(HeaderValue::Owned)
        } else {
            shared(&rendered.allow_methods)
        };
        headers.extend(methods.map(|m| ("access-control-allow-methods", m)));
        let allow_headers = if policy.rules.headers.any {
            // Each requested name once: 12,000 `x-a` are answered `x-a`.
            (!self.headers.is_empty())
                .then(|| HeaderValue::Owned(comma_separated(&first_of_each(&self.headers))))
        } else {
            shared(&rendered.allow_headers)
        };
        headers.extend(allow_headers.map(|h| ("access-control-allow-headers", h)));
        let expose = shared(&rendered.preflight_expose_headers);
        headers.extend(expose.map(|e| ("access-control-expose-headers", e)));
        headers.extend(shared(&rendered.max_age).map(|m| ("access-control-max-age", m)));
        if self.private_network {
            let allowed = HeaderValue::Static("true");
            headers.push(("access-control-allow-private-network", allowed));
        }
        headers.push(("vary", HeaderValue::Static(rendered.preflight_vary)));
        LocalResponse {
            status: policy.preflight_status,
            headers,
        }
    }
}
