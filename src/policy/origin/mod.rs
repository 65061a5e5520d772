//! Origins: the configured patterns (`pattern.rs`, at configure time) and matching a
//! request's `Origin` against them (`set.rs`, at request time). A request's origin is
//! compared as the browser serializes it
//! (<https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin>).

mod pattern;
mod set;
mod syntax;

pub(crate) use pattern::browser_form;
pub use pattern::{HostRule, OriginPattern, Port};
pub use set::{OriginSet, Oversized, Verdict};
pub use set::{MAX_ORIGIN_LEN, MAX_REGEX_LEN, MAX_REGEX_NESTING, MAX_REGEX_SIZE};
pub(crate) use syntax::is_dns_name;
pub use syntax::{split_scheme, MAX_SCHEME_LEN};

#[cfg(test)]
mod tests;
