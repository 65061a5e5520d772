//! What a host does with a request: nothing, a local reply, or edits to its response.

use super::header::HeaderValue;
use super::response::{AllowedOrigin, ResponsePlan};
use crate::policy::Policy;
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

/// The response plan of a request the policy matched, with or without `Origin`: the
/// upstream's `Access-Control-*` headers go on every such response, and the origin is
/// answered as the policy answers it ([`AllowedOrigin::as_answered_by`]).
pub fn decorate(policy: &Arc<Policy>, origin: AllowedOrigin) -> Action {
    Action::Decorate(ResponsePlan {
        policy: Arc::clone(policy),
        origin: origin.as_answered_by(policy),
    })
}
