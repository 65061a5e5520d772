//! The CORS decisions, pure: a request's few headers meet the [`Config`] and become an
//! [`Evaluation`], whose [`Action`] a host carries out. No host type appears here.
//!
//! [`Config`]: crate::policy::Config

pub mod action;
pub mod evaluate;
pub mod header;
pub mod outcome;
pub mod preflight;
pub mod record;
pub mod request;
pub mod response;

pub use action::{Action, LocalResponse};
pub use evaluate::{evaluate, Evaluation};
pub use header::HeaderValue;
pub use outcome::{Counter, Denial, Outcome};
pub use request::{HeaderPairs, RequestView};
pub use response::{AllowedOrigin, Edit, HeaderEdit, ResponsePlan};
pub use response::{MERGES_VARY, REPLACES_UPSTREAM_CORS};

#[cfg(test)]
mod tests;
