//! The policy language: what a configuration may say, validated whole at configure time
//! with every error named by its JSON path, and rendered into what requests look up.
//!
//! [`Config`] is the list of policies and picks one per request; each [`Policy`] reads its
//! CORS fields natively (`native`) or from a pasted Gateway API `HTTPCORSFilter`
//! ([`gateway`]) into the same [`Rules`]: origins ([`origin`]), methods and headers
//! (`token`), and which requests it applies to (`matcher`).
//!
//! The rooms are the policy's own; what the decisions, the hosts and the checker use is
//! re-exported here, in one place.

// The configuration's readers are `#[inline(never)]`: LLVM inlines a private function with
// one caller into it whatever its size, which made `Policy::read` and `gateway::read` single
// functions of 6 KB of wasm. Envoy's V8 compiles every function of the module as it loads it,
// and the memory that takes, which Envoy keeps, grows faster than the function: kept apart,
// the readers cost 1.3 MiB less per Envoy at 1 worker and 1.7 at 4 (bench/analysis.md).
mod config;
// Public for what tests/fuzz.rs reads: the field names, to fuzz configurations with, and
// the origin patterns, to check the matcher against a model of its own.
pub mod entry;
mod error;
pub mod gateway;
mod matcher;
mod native;
pub mod origin;
mod read;
mod rules;
mod table;
mod token;

pub use config::{Config, REPEATED_KEY};
pub use entry::{Policy, FIELDS, MATCH_FIELDS};
pub use error::{ConfigError, ConfigErrors, ConfigWarning};
pub use matcher::{Condition, HostPattern, RequestFacts, RequestMatch};
pub use origin::{Oversized, Verdict};
pub use rules::{Rendered, Rules};
pub use token::{comma_separated, first_of_each, header_names, is_header_list, parse_header_list};
pub use token::{is_safelisted_method, is_token, SAFELISTED_METHODS};

#[cfg(test)]
mod tests;
