//! What a policy allows, and the response header values that follow from it, rendered once.

use super::error::ConfigWarning;
use super::origin::OriginSet;
use super::token::{comma_separated, HeaderSet, MethodSet};
use std::sync::Arc;

/// What a policy allows, read from the native fields or from the Gateway API's `cors`.
#[derive(Debug, Default)]
pub struct Rules {
    pub origins: OriginSet,
    pub methods: MethodSet,
    pub headers: HeaderSet,
    pub allow_credentials: bool,
    /// Every value but `preflight_vary`, which belongs to the policy.
    pub rendered: Rendered,
    pub written: Written,
    /// What the configuration allows but is nearly always a mistake; [`Config`] collects them.
    ///
    /// [`Config`]: super::Config
    pub warnings: Vec<ConfigWarning>,
}

/// What the configuration wrote that the sets above keep no order of, or that takes a
/// default: for telling a user what a policy allows (the checker). Requests never read it.
#[derive(Debug, Default)]
pub struct Written {
    /// `allow_origins` (or `cors.allowOrigins`) in the written order.
    pub origins: Vec<String>,
    pub origin_regexes: Vec<String>,
    /// `max_age` (or `cors.maxAge`) when written: the Gateway API's default of 5 is not.
    pub max_age: Option<u64>,
}

/// Header values fixed by the policy, rendered at configure time.
#[derive(Debug, Default)]
pub struct Rendered {
    /// `None` when nothing beyond the safelisted methods is configured, or for `*`.
    pub allow_methods: Option<Arc<str>>,
    /// `None` when no header is configured, or for `*` (the request's are echoed).
    pub allow_headers: Option<Arc<str>>,
    pub expose_headers: Option<Arc<str>>,
    /// `Access-Control-Expose-Headers` on allowed preflights too (the Gateway API's way).
    pub expose_on_preflights: bool,
    pub max_age: Option<Arc<str>>,
    pub preflight_vary: &'static str,
}

const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const PREFLIGHT_VARY_PNA: &str = "Origin, Access-Control-Request-Method, \
     Access-Control-Request-Headers, Access-Control-Request-Private-Network";

impl Rendered {
    /// A header value listing `names`, or `None` when there are none: every list a policy
    /// sends (methods, request headers, exposed headers) is rendered here.
    pub fn list<S: AsRef<str>>(names: &[S]) -> Option<Arc<str>> {
        (!names.is_empty()).then(|| comma_separated(names).into())
    }

    /// An `Access-Control-Max-Age` value.
    pub fn max_age(seconds: u64) -> Arc<str> {
        seconds.to_string().into()
    }

    /// The `Vary` of preflight answers: what they depend on besides `Origin`.
    pub fn preflight_vary(private_network: bool) -> &'static str {
        if private_network {
            PREFLIGHT_VARY_PNA
        } else {
            PREFLIGHT_VARY
        }
    }
}
