//! The headers of the CORS protocol: every name the filter reads or writes, in one block,
//! and each response header's value in one function, which the preflight's answer
//! ([`preflight`](super::preflight)) and the actual response's plan
//! ([`response`](super::response)) both take. The values a policy fixes are rendered once,
//! at configure time ([`Rendered`](crate::policy::Rendered)); these pick them or copy what
//! a request must get reflected.

use crate::policy::{comma_separated, first_of_each, Policy};
use std::ops::Deref;
use std::sync::Arc;

// The request's: lower-case, as hosts hand them over.
pub const METHOD: &str = ":method";
pub const AUTHORITY: &str = ":authority";
pub const PATH: &str = ":path";
pub const ORIGIN: &str = "origin";
pub const REQUEST_METHOD: &str = "access-control-request-method";
pub const REQUEST_HEADERS: &str = "access-control-request-headers";
pub const REQUEST_PRIVATE_NETWORK: &str = "access-control-request-private-network";

// The response's.
pub const ALLOW_ORIGIN: &str = "access-control-allow-origin";
pub const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
pub const ALLOW_METHODS: &str = "access-control-allow-methods";
pub const ALLOW_HEADERS: &str = "access-control-allow-headers";
pub const EXPOSE_HEADERS: &str = "access-control-expose-headers";
pub const MAX_AGE: &str = "access-control-max-age";
pub const ALLOW_PRIVATE_NETWORK: &str = "access-control-allow-private-network";
pub const TIMING_ALLOW_ORIGIN: &str = "timing-allow-origin";
pub const VARY: &str = "vary";

/// What every `Access-Control-*` header's name starts with.
pub const CORS_PREFIX: &str = "access-control-";

/// A header value of a local response: a constant, the policy's own (rendered at configure
/// time, shared, not copied), or made from this request.
#[derive(Debug, Clone, Eq)]
pub enum HeaderValue {
    Static(&'static str),
    Shared(Arc<str>),
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

impl AsRef<[u8]> for HeaderValue {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
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

/// Which response a header is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The filter's own answer to an allowed preflight.
    Preflight,
    /// The response to any other request the policy matched.
    Actual,
}

/// `Access-Control-Allow-Origin`, for an allowed origin: the request's, or `*`. Borrowed
/// or owned, as the caller holds it: the preflight's answer takes the request's own copy.
pub fn allow_origin<V: Deref<Target = str>>(allowed: V) -> (&'static str, V) {
    (ALLOW_ORIGIN, allowed)
}

/// `Access-Control-Allow-Credentials: true`, when the policy allows credentials.
pub fn allow_credentials(policy: &Policy) -> Option<(&'static str, &'static str)> {
    policy
        .rules
        .allow_credentials
        .then_some((ALLOW_CREDENTIALS, "true"))
}

/// `Access-Control-Expose-Headers`: on actual responses, and on preflights too where the
/// policy says so (the Gateway API's way).
pub fn expose_headers(policy: &Policy, answer: Answer) -> Option<(&'static str, &Arc<str>)> {
    let rendered = &policy.rules.rendered;
    let sent = answer == Answer::Actual || rendered.expose_on_preflights;
    let value = rendered.expose_headers.as_ref().filter(|_| sent)?;
    Some((EXPOSE_HEADERS, value))
}

/// `Timing-Allow-Origin`, when the policy asks for it: the origin that may read the
/// response may read its timing, so the same value as `Access-Control-Allow-Origin`.
pub fn timing_allow_origin<'o>(
    policy: &Policy,
    allowed: &'o str,
) -> Option<(&'static str, &'o str)> {
    policy
        .timing_allow_origin
        .then_some((TIMING_ALLOW_ORIGIN, allowed))
}

/// `Access-Control-Allow-Methods` on a preflight: the requested method when the policy
/// allows any (it was checked to be a token, so ASCII), else the policy's list, if any.
pub fn allow_methods(policy: &Policy, requested: &[u8]) -> Option<(&'static str, HeaderValue)> {
    let value = if policy.rules.methods.any {
        String::from_utf8(requested.to_vec())
            .ok()
            .map(HeaderValue::Owned)
    } else {
        shared(&policy.rules.rendered.allow_methods)
    };
    Some((ALLOW_METHODS, value?))
}

/// `Access-Control-Allow-Headers` on a preflight: the requested names when the policy
/// allows any, each once (12,000 `x-a` are answered `x-a`), else the policy's list, if any.
pub fn allow_headers(policy: &Policy, requested: &[String]) -> Option<(&'static str, HeaderValue)> {
    let value = if policy.rules.headers.any {
        (!requested.is_empty())
            .then(|| HeaderValue::Owned(comma_separated(&first_of_each(requested))))
    } else {
        shared(&policy.rules.rendered.allow_headers)
    };
    Some((ALLOW_HEADERS, value?))
}

/// `Access-Control-Max-Age` on a preflight, when the policy has one.
pub fn max_age(policy: &Policy) -> Option<(&'static str, HeaderValue)> {
    Some((MAX_AGE, shared(&policy.rules.rendered.max_age)?))
}

/// `Access-Control-Allow-Private-Network: true`, when an allowed preflight asked for it.
pub fn allow_private_network(asked: bool) -> Option<(&'static str, HeaderValue)> {
    asked.then_some((ALLOW_PRIVATE_NETWORK, HeaderValue::Static("true")))
}

/// `Vary` on the filter's answers to preflights, allowed or denied.
pub fn preflight_vary(policy: &Policy) -> (&'static str, HeaderValue) {
    (
        VARY,
        HeaderValue::Static(policy.rules.rendered.preflight_vary),
    )
}

fn shared(value: &Option<Arc<str>>) -> Option<HeaderValue> {
    value.clone().map(HeaderValue::Shared)
}
