//! The policy language: what a configuration may say, validated whole at configure time
//! with every error named by its JSON path, and rendered into what requests look up.
//!
//! [`Config`] is the list of policies and picks one per request; each [`Policy`] reads its
//! CORS fields natively ([`native`]) or from a pasted Gateway API `HTTPCORSFilter`
//! ([`gateway`]) into the same [`Rules`]: origins ([`origin`]), methods and headers
//! ([`token`]), and which requests it applies to ([`matcher`]).

pub mod config;
pub mod entry;
pub mod error;
pub mod gateway;
pub mod matcher;
pub mod native;
pub mod origin;
mod read;
pub mod rules;
mod table;
pub mod token;

pub use config::Config;
pub use entry::Policy;
pub use error::{ConfigError, ConfigErrors, ConfigWarning};
pub use matcher::RequestFacts;
pub use rules::{Rendered, Rules};

#[cfg(test)]
mod tests;
