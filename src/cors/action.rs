//! What a host does with a request: nothing, a local reply, or edits to its response.

use super::response::{AllowedOrigin, ResponsePlan};
use crate::policy::Policy;
use std::ops::Deref;
use std::sync::Arc;

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

/// The response plan of a request the policy matched, with or without `Origin`: the
/// upstream's `Access-Control-*` headers go on every such response, and the origin is
/// answered as the policy answers it ([`AllowedOrigin::as_answered_by`]).
pub fn decorate(policy: &Arc<Policy>, origin: AllowedOrigin) -> Action {
    Action::Decorate(ResponsePlan {
        policy: Arc::clone(policy),
        origin: origin.as_answered_by(policy),
    })
}
