//! What was decided about a request, for counters and log lines.

use crate::policy::{Oversized, Verdict};
use std::fmt;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Unmatched,
    Disabled,
    NoOrigin,
    PreflightAllowed,
    PreflightDenied(Denial),
    ActualAllowed,
    ActualDenied(Denial),
}

/// The counters kept for every policy: one list, so a name and its slot cannot drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    PreflightAllowed,
    PreflightDenied,
    ActualAllowed,
    ActualDenied,
    NoOrigin,
}

impl Counter {
    /// Every counter, in the order of its slot ([`Counter::slot`]).
    pub const ALL: [Counter; 5] = [
        Counter::PreflightAllowed,
        Counter::PreflightDenied,
        Counter::ActualAllowed,
        Counter::ActualDenied,
        Counter::NoOrigin,
    ];

    /// Its name in the proxy's stats and in a decision's record.
    pub fn name(self) -> &'static str {
        match self {
            Counter::PreflightAllowed => "preflight_allowed",
            Counter::PreflightDenied => "preflight_denied",
            Counter::ActualAllowed => "actual_allowed",
            Counter::ActualDenied => "actual_denied",
            Counter::NoOrigin => "no_origin",
        }
    }

    /// Its place in [`Counter::ALL`], and so in a host's row of counters.
    pub fn slot(self) -> usize {
        self as usize
    }
}

impl Outcome {
    /// The counter this outcome counts in, if any.
    pub fn counter(&self) -> Option<Counter> {
        match self {
            Outcome::PreflightAllowed => Some(Counter::PreflightAllowed),
            Outcome::PreflightDenied(_) => Some(Counter::PreflightDenied),
            Outcome::ActualAllowed => Some(Counter::ActualAllowed),
            Outcome::ActualDenied(_) => Some(Counter::ActualDenied),
            Outcome::NoOrigin => Some(Counter::NoOrigin),
            Outcome::Unmatched | Outcome::Disabled => None,
        }
    }
}

/// Why a request was denied; the offending value is kept for the log line.
#[derive(Debug, PartialEq, Eq)]
pub enum Denial {
    Origin(Vec<u8>),
    /// An `Origin` longer than any real one, refused before any pattern or regex saw it.
    OversizedOrigin(Vec<u8>, Oversized),
    Method(Vec<u8>),
    Header(String),
    MalformedRequestHeaders(Vec<u8>),
    PrivateNetwork,
}

impl Denial {
    /// Why a request's `Origin` was not allowed, by what its policy's origins said of it.
    pub fn of_origin(origin: Vec<u8>, verdict: Verdict) -> Denial {
        match verdict {
            Verdict::Oversized(why) => Denial::OversizedOrigin(origin, why),
            Verdict::Allowed | Verdict::NotAllowed => Denial::Origin(origin),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Origin(o) => write!(f, "origin {} is not allowed", shown(o)),
            Denial::OversizedOrigin(o, why) => {
                write!(f, "origin {} is not allowed: {why}", shown(o))
            }
            Denial::Method(m) => write!(f, "method {} is not allowed", shown(m)),
            Denial::Header(h) => write!(f, "header {} is not allowed", shown(h.as_bytes())),
            Denial::MalformedRequestHeaders(v) => {
                write!(
                    f,
                    "Access-Control-Request-Headers {} is not a list of tokens",
                    shown(v)
                )
            }
            Denial::PrivateNetwork => f.write_str("private network access is not allowed"),
        }
    }
}

/// A request value for a log line: quoted, cut at 128 bytes, and every byte outside
/// printable ASCII written as `\xNN`, so the line shows exactly what was sent.
fn shown(value: &[u8]) -> String {
    let cut = value.get(..128).unwrap_or(value);
    let mut text = String::with_capacity(cut.len() + 5);
    text.push('"');
    for &byte in cut {
        match byte {
            b'"' | b'\\' => {
                text.push('\\');
                text.push(char::from(byte));
            }
            b' '..=b'~' => text.push(char::from(byte)),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text.push('"');
    if cut.len() < value.len() {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::Counter;

    #[test]
    fn each_counter_has_its_own_slot_and_name() {
        for (slot, counter) in Counter::ALL.into_iter().enumerate() {
            assert_eq!(counter.slot(), slot, "{counter:?}");
        }
        let mut names = Counter::ALL.map(Counter::name);
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "actual_allowed",
                "actual_denied",
                "no_origin",
                "preflight_allowed",
                "preflight_denied"
            ]
        );
    }
}
