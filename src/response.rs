//! The response side: CORS headers on every response to a request a policy matched,
//! the upstream's and other filters' local replies alike.

use crate::policy::Policy;
use std::rc::Rc;

/// The request's origin as the policy judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigin {
    NoOrigin,
    Denied,
    /// The `Access-Control-Allow-Origin` value: the request's origin, or `*`.
    Allowed(String),
}

impl AllowedOrigin {
    /// For an origin the policy allows. It matched, so it is well-formed ASCII.
    pub fn allowed(policy: &Policy, origin: Vec<u8>) -> AllowedOrigin {
        if policy.rules.origins.any {
            return AllowedOrigin::Allowed("*".to_string());
        }
        String::from_utf8(origin).map_or(AllowedOrigin::Denied, AllowedOrigin::Allowed)
    }
}

/// What to do to the response of a forwarded request.
#[derive(Debug)]
pub struct ResponsePlan {
    pub policy: Rc<Policy>,
    pub origin: AllowedOrigin,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Replace every value of the header with this one.
    Set(&'static str, String),
    Remove(String),
}

const ALLOW_ORIGIN: &str = "access-control-allow-origin";
const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
const EXPOSE_HEADERS: &str = "access-control-expose-headers";

impl ResponsePlan {
    /// The edits for a response with these headers (lower-case names, as Envoy has them).
    pub fn edits<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Vec<HeaderEdit> {
        let mut vary: Vec<&[u8]> = Vec::new();
        let mut upstream_cors: Vec<&[u8]> = Vec::new();
        for (name, value) in headers {
            if name == b"vary" {
                vary.push(value);
            } else if name.starts_with(b"access-control-") && !upstream_cors.contains(&name) {
                upstream_cors.push(name);
            }
        }
        let sets = self.cors_headers();
        let mut edits = Vec::with_capacity(sets.len() + upstream_cors.len() + 1);
        if self.origin != AllowedOrigin::NoOrigin {
            let replaced = |name: &[u8]| sets.iter().any(|(set, _)| set.as_bytes() == name);
            edits.extend(
                upstream_cors
                    .into_iter()
                    .filter(|name| !replaced(name))
                    .map(|name| HeaderEdit::Remove(String::from_utf8_lossy(name).into_owned())),
            );
        }
        edits.extend(
            sets.into_iter()
                .map(|(name, value)| HeaderEdit::Set(name, value)),
        );
        if self.policy.varies_by_origin() {
            edits.extend(merge_vary(&vary).map(|v| HeaderEdit::Set("vary", v)));
        }
        edits
    }

    fn cors_headers(&self) -> Vec<(&'static str, String)> {
        let AllowedOrigin::Allowed(origin) = &self.origin else {
            return Vec::new();
        };
        let mut sets = vec![(ALLOW_ORIGIN, origin.clone())];
        if self.policy.rules.allow_credentials {
            sets.push((ALLOW_CREDENTIALS, "true".to_string()));
        }
        if let Some(expose) = &self.policy.rules.rendered.expose_headers {
            sets.push((EXPOSE_HEADERS, expose.clone()));
        }
        sets
    }
}

/// The `Vary` value with `Origin` added, or `None` when it needs no change
/// (it already names `Origin`, or is `*`). Several `Vary` lines become one.
pub fn merge_vary(values: &[&[u8]]) -> Option<String> {
    let elements = values
        .iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|e| e.trim_ascii())
        .filter(|e| !e.is_empty());
    let mut merged = String::new();
    for element in elements {
        if element == b"*" || element.eq_ignore_ascii_case(b"origin") {
            return None;
        }
        merged.push_str(&String::from_utf8_lossy(element));
        merged.push_str(", ");
    }
    merged.push_str("Origin");
    Some(merged)
}
