//! The response side: CORS headers on every response to a request a policy matched,
//! the upstream's and other filters' local replies alike.

use super::header::{self, Answer, CORS_PREFIX, VARY};
use crate::policy::Policy;
use std::borrow::Cow;
use std::sync::Arc;

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
        String::from_utf8(origin)
            .map_or(AllowedOrigin::Denied, AllowedOrigin::Allowed)
            .as_answered_by(policy)
    }

    /// What `policy` answers: a `*` policy answers every response the same,
    /// `Access-Control-Allow-Origin: *`, whatever the request's `Origin` (or its absence),
    /// so a shared cache never holds one that breaks a later browser.
    pub fn as_answered_by(self, policy: &Policy) -> AllowedOrigin {
        if policy.rules.origins.any {
            AllowedOrigin::Allowed("*".to_string())
        } else {
            self
        }
    }
}

/// What [`ResponsePlan::each_edit`] does with the upstream's own CORS headers, in words (the
/// checker's explain mode says it): kept beside the code that does it.
pub const REPLACES_UPSTREAM_CORS: &str = "every access-control-* header of the upstream's response";
/// What [`merge_vary`] does with the upstream's `Vary`, in words, for the same.
pub const MERGES_VARY: &str =
    "merged into the upstream's Vary, unless it already names Origin or is *";

/// What to do to the response of a forwarded request.
#[derive(Debug)]
pub struct ResponsePlan {
    pub policy: Arc<Policy>,
    pub origin: AllowedOrigin,
}

/// One edit of the response headers, borrowing its strings: what the filter applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit<'a> {
    /// Replace every value of the header with this one.
    Set(&'static str, &'a str),
    /// The same for a header the response does not have: Envoy adds for less than it sets.
    Add(&'static str, &'a str),
    Remove(&'a str),
}

impl Edit<'_> {
    /// What it does, for a log line: `add response header vary`.
    pub fn describe(&self) -> String {
        match self {
            Edit::Set(name, _) => format!("set response header {name}"),
            Edit::Add(name, _) => format!("add response header {name}"),
            Edit::Remove(name) => format!("remove response header {name}"),
        }
    }
}

/// An [`Edit`] that owns its strings, for hosts and tools that keep edits.
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderEdit {
    Set(&'static str, String),
    Add(&'static str, String),
    Remove(String),
}

impl HeaderEdit {
    /// The same as [`Edit::describe`].
    pub fn describe(&self) -> String {
        match self {
            HeaderEdit::Set(name, value) => Edit::Set(name, value).describe(),
            HeaderEdit::Add(name, value) => Edit::Add(name, value).describe(),
            HeaderEdit::Remove(name) => Edit::Remove(name).describe(),
        }
    }

    /// Add as Set: what either leaves on the response, for tests that do not care which it was.
    #[cfg(test)]
    pub fn as_set(self) -> HeaderEdit {
        match self {
            HeaderEdit::Add(name, value) => HeaderEdit::Set(name, value),
            edit => edit,
        }
    }
}

/// How many headers a plan may set besides `Vary`.
const SETS: usize = 4;

impl ResponsePlan {
    /// Passes `apply` each edit for a response with these headers (lower-case names, as
    /// Envoy has them), in order. Allocates only to merge a `Vary` the upstream sent, or to
    /// remember which of its own CORS headers it removed.
    pub fn each_edit<'h, H>(&self, headers: H, mut apply: impl FnMut(Edit<'_>))
    where
        H: IntoIterator<Item = (&'h [u8], &'h [u8])>,
        H::IntoIter: Clone,
    {
        let headers = headers.into_iter();
        let sets = self.cors_headers();
        let survey = Survey::of(headers.clone(), &sets);
        for name in survey.foreign_cors {
            // Envoy only has token names, which are ASCII; anything else stays.
            if let Ok(name) = std::str::from_utf8(name) {
                apply(Edit::Remove(name));
            }
        }
        for (set, present) in sets.into_iter().zip(survey.present) {
            if let Some((name, value)) = set {
                apply(Edit::put(name, value, present));
            }
        }
        if self.policy.varies_by_origin() {
            let merged = match survey.vary_lines {
                0 | 1 => merge_vary(&mut survey.first_vary.into_iter()),
                _ => merge_vary(
                    &mut headers
                        .filter(|(n, _)| *n == VARY.as_bytes())
                        .map(|(_, v)| v),
                ),
            };
            if let Some(merged) = merged {
                apply(Edit::put(VARY, &merged, survey.vary_lines > 0));
            }
        }
    }

    /// The same edits as [`ResponsePlan::each_edit`], owned.
    pub fn edits<'h, H>(&self, headers: H) -> Vec<HeaderEdit>
    where
        H: IntoIterator<Item = (&'h [u8], &'h [u8])>,
        H::IntoIter: Clone,
    {
        let mut edits = Vec::new();
        self.each_edit(headers, |edit| edits.push(HeaderEdit::from(edit)));
        edits
    }

    /// The CORS headers the response gets, each from [`header`]; none for an origin that
    /// is not allowed.
    fn cors_headers(&self) -> [Option<(&'static str, &str)>; SETS] {
        let AllowedOrigin::Allowed(origin) = &self.origin else {
            return [None; SETS];
        };
        let expose = header::expose_headers(&self.policy, Answer::Actual);
        [
            Some(header::allow_origin(origin.as_str())),
            header::allow_credentials(&self.policy),
            expose.map(|(name, value)| (name, &**value)),
            header::timing_allow_origin(&self.policy, origin),
        ]
    }
}

impl<'a> Edit<'a> {
    fn put(name: &'static str, value: &'a str, present: bool) -> Edit<'a> {
        if present {
            Edit::Set(name, value)
        } else {
            Edit::Add(name, value)
        }
    }
}

/// What in the upstream's headers the edits depend on, found in one pass.
struct Survey<'h> {
    /// Its `Access-Control-*` headers the plan does not set, each once.
    foreign_cors: Vec<&'h [u8]>,
    /// Which of the plan's CORS headers it has.
    present: [bool; SETS],
    vary_lines: usize,
    first_vary: Option<&'h [u8]>,
}

impl<'h> Survey<'h> {
    fn of(
        headers: impl Iterator<Item = (&'h [u8], &'h [u8])>,
        sets: &[Option<(&'static str, &str)>; SETS],
    ) -> Survey<'h> {
        let mut survey = Survey {
            foreign_cors: Vec::new(),
            present: [false; SETS],
            vary_lines: 0,
            first_vary: None,
        };
        for (name, value) in headers {
            if name == header::VARY.as_bytes() {
                survey.first_vary = survey.first_vary.or(Some(value));
                survey.vary_lines += 1;
            } else if !(name.starts_with(CORS_PREFIX.as_bytes())
                || name == header::TIMING_ALLOW_ORIGIN.as_bytes())
            {
                continue;
            } else if let Some(present) = sets
                .iter()
                .position(|s| s.is_some_and(|(n, _)| n.as_bytes() == name))
                .and_then(|i| survey.present.get_mut(i))
            {
                *present = true;
            } else if name.starts_with(CORS_PREFIX.as_bytes())
                && !survey.foreign_cors.contains(&name)
            {
                survey.foreign_cors.push(name);
            }
        }
        survey
    }
}

impl From<Edit<'_>> for HeaderEdit {
    fn from(edit: Edit<'_>) -> HeaderEdit {
        match edit {
            Edit::Set(name, value) => HeaderEdit::Set(name, value.to_string()),
            Edit::Add(name, value) => HeaderEdit::Add(name, value.to_string()),
            Edit::Remove(name) => HeaderEdit::Remove(name.to_string()),
        }
    }
}

/// The `Vary` value with `Origin` added, or `None` when it needs no change
/// (it already names `Origin`, or is `*`). Several `Vary` lines become one.
/// `dyn`, so the module carries one copy for both callers.
pub fn merge_vary(values: &mut dyn Iterator<Item = &[u8]>) -> Option<Cow<'static, str>> {
    let elements = values
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|e| e.trim_ascii())
        .filter(|e| !e.is_empty());
    let mut merged = String::new();
    for element in elements {
        if element == b"*" || element.eq_ignore_ascii_case(header::ORIGIN.as_bytes()) {
            return None;
        }
        // Not a field name if not UTF-8: kept, as one replacement character.
        merged.push_str(std::str::from_utf8(element).unwrap_or("\u{fffd}"));
        merged.push_str(", ");
    }
    if merged.is_empty() {
        return Some(Cow::Borrowed("Origin"));
    }
    merged.push_str("Origin");
    Some(Cow::Owned(merged))
}
