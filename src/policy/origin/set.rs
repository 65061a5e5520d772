//! Request time: the origins a policy allows, indexed, and the verdict on a request's
//! `Origin`, which is compared as the browser serializes it.

use super::pattern::{HostRule, OriginPattern, Port};
use super::syntax::{default_port, is_dns_name, is_scheme, parse_port, scheme_end, MAX_SCHEME_LEN};
use crate::policy::error::ConfigError;
use crate::policy::table::{Set, Table};
use regex_lite::{Regex, RegexBuilder};

/// The longest request `Origin` any pattern or regex sees: a real one is a scheme of a few
/// bytes, `://`, a host of at most 253 and a port of at most 6.
pub const MAX_ORIGIN_LEN: usize = 300;

/// The longest `allow_origin_regexes` entry.
pub const MAX_REGEX_LEN: usize = 1024;
/// The most memory, in bytes, one compiled `allow_origin_regexes` entry may take
/// (regex-lite's size limit). regex-lite's cost per byte of origin grows with the states
/// of the compiled regex that can be live at once: with [`MAX_ORIGIN_LEN`], this keeps the
/// worst regex allowed under a millisecond a request in Envoy's V8 (`./build.sh bench`).
pub const MAX_REGEX_SIZE: usize = 2 * 1024;
/// The deepest one entry's groups and repetitions may nest (regex-lite's nest limit).
pub const MAX_REGEX_NESTING: u32 = 50;

fn is_ipv6_literal(s: &[u8]) -> bool {
    s.strip_prefix(b"[")
        .and_then(|s| s.strip_suffix(b"]"))
        .is_some_and(|inside| {
            !inside.is_empty()
                && inside
                    .iter()
                    .all(|&b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b':' | b'.'))
        })
}

/// A request's `Origin`, split, when it is a well-formed serialized origin.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestOrigin<'a> {
    scheme: &'a [u8],
    host: &'a [u8],
    port: Option<u16>,
}

impl<'a> RequestOrigin<'a> {
    pub fn parse(origin: &'a [u8]) -> Option<RequestOrigin<'a>> {
        let sep = scheme_end(origin)?;
        let (scheme, rest) = origin.split_at_checked(sep)?;
        let authority = rest.get(3..)?;
        if !is_scheme(scheme) {
            return None;
        }
        let (host, port) = match authority.iter().rposition(|&b| b == b':') {
            Some(i) if !authority.get(i..)?.contains(&b']') => {
                let (host, port) = authority.split_at_checked(i)?;
                (host, Some(parse_port(port.get(1..)?)?))
            }
            _ => (authority, None),
        };
        let valid = is_dns_name(host) || is_ipv6_literal(host);
        valid.then_some(RequestOrigin { scheme, host, port })
    }

    fn port_fits(&self, rule: &HostRule) -> bool {
        match rule.port {
            // A spelled-out default port is no browser's serialization: no pattern admits it.
            Port::Any => self
                .port
                .is_none_or(|p| Some(p) != default_port(self.scheme)),
            Port::Default => self.port.is_none(),
            Port::Number(n) => self.port == Some(n),
        }
    }
}

/// Why a request's `Origin` is refused before any pattern or regex sees it: it is longer
/// than any real origin can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversized {
    /// Over [`MAX_ORIGIN_LEN`] bytes in all.
    Origin(usize),
    /// A scheme (what comes before `://`) over [`MAX_SCHEME_LEN`] bytes.
    Scheme(usize),
}

impl Oversized {
    /// `Some` when `origin` is longer, in all or in its scheme, than any real origin can be.
    /// Reads at most [`MAX_ORIGIN_LEN`] bytes.
    pub fn of(origin: &[u8]) -> Option<Oversized> {
        if origin.len() > MAX_ORIGIN_LEN {
            return Some(Oversized::Origin(origin.len()));
        }
        let scheme = scheme_end(origin)?;
        (scheme > MAX_SCHEME_LEN).then_some(Oversized::Scheme(scheme))
    }
}

impl std::fmt::Display for Oversized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Oversized::Origin(n) => write!(
                f,
                "{n} bytes, longer than any real origin (at most {MAX_ORIGIN_LEN})"
            ),
            Oversized::Scheme(n) => write!(
                f,
                "a scheme of {n} bytes, longer than any real one (at most {MAX_SCHEME_LEN})"
            ),
        }
    }
}

/// What a policy's origins say about a request's `Origin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    NotAllowed,
    /// Refused before any pattern or regex saw it.
    Oversized(Oversized),
}

/// The origins a policy allows, indexed so a lookup costs the same for 1 or 10,000 entries.
#[derive(Debug, Default)]
pub struct OriginSet {
    pub any: bool,
    null: bool,
    exact: Set<Vec<u8>>,
    /// Wildcard rules keyed by host (for `:*`) or by the suffix after `*.`.
    rules: Table<Vec<u8>, Vec<HostRule>>,
    regexes: Vec<Regex>,
}

impl OriginSet {
    pub fn insert(&mut self, pattern: OriginPattern) {
        match pattern {
            OriginPattern::Any => self.any = true,
            OriginPattern::Null => self.null = true,
            OriginPattern::Exact(origin) => {
                self.exact.insert(origin.into_bytes());
            }
            OriginPattern::Wildcard(rule) => {
                let key = rule.host.as_bytes().to_vec();
                self.rules.entry(key).or_default().push(rule);
            }
        }
    }

    /// Compiles `pattern` to match whole origins; regex-lite runs in time linear in the
    /// origin, and the compiled size and nesting are bounded.
    pub fn add_regex(&mut self, pattern: &str) -> Result<(), ConfigError> {
        if pattern.len() > MAX_REGEX_LEN {
            let message = format!(
                "a regex of {} bytes; the limit is {MAX_REGEX_LEN}",
                pattern.len()
            );
            return Err(ConfigError::new("", message));
        }
        let regex = whole_match(pattern).map_err(|e| {
            let mut message = format!("not a valid regex: {e}");
            if message.ends_with("exceeded size limit") {
                message.push_str(&format!(
                    " ({MAX_REGEX_SIZE} bytes, so that no Origin can make it slow; a counted \
                     repetition such as {{1,63}} compiles to a copy per count: prefer + or *)"
                ));
            }
            ConfigError::new("", message)
        })?;
        self.regexes.push(regex);
        Ok(())
    }

    /// What the policy says about a request's `Origin` value. One longer than any real
    /// origin is refused first, so that no lookup, pattern or regex ever reads it; anything
    /// else not well-formed is not allowed.
    pub fn judge(&self, origin: &[u8]) -> Verdict {
        if let Some(oversized) = Oversized::of(origin) {
            return Verdict::Oversized(oversized);
        }
        let allowed = self.any
            || self.exact.contains(origin)
            || if origin == b"null" {
                self.null
            } else {
                RequestOrigin::parse(origin)
                    .is_some_and(|parsed| self.rule_allows(&parsed) || self.regex_allows(origin))
            };
        if allowed {
            Verdict::Allowed
        } else {
            Verdict::NotAllowed
        }
    }

    /// Whether a request's `Origin` value is allowed.
    pub fn allows(&self, origin: &[u8]) -> bool {
        self.judge(origin) == Verdict::Allowed
    }

    fn rule_allows(&self, origin: &RequestOrigin) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let fits = |key: &[u8], subdomains: bool| {
            let rules = self.rules.get(key).map_or(&[][..], Vec::as_slice);
            rules.iter().any(|rule| {
                rule.subdomains == subdomains
                    && rule.scheme.as_bytes() == origin.scheme
                    && origin.port_fits(rule)
            })
        };
        if fits(origin.host, false) {
            return true;
        }
        // Every proper suffix that starts after a dot: "a.b.example.com" tries
        // "b.example.com", then "example.com", then "com".
        origin
            .host
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'.')
            .any(|(i, _)| {
                origin
                    .host
                    .get(i + 1..)
                    .is_some_and(|suffix| fits(suffix, true))
            })
    }

    /// `origin` is well-formed, so ASCII.
    fn regex_allows(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        self.regexes.iter().any(|re| re.is_match(origin))
    }
}

/// `pattern` anchored at both ends. It is compiled alone first, so that it cannot close
/// the group around it: `a)|(.*` is refused, not read as `^(?:a)|(.*)$`.
fn whole_match(pattern: &str) -> Result<Regex, regex_lite::Error> {
    let compile = |pattern: &str, nesting: u32| {
        RegexBuilder::new(pattern)
            .size_limit(MAX_REGEX_SIZE)
            .nest_limit(nesting)
            .build()
    };
    compile(pattern, MAX_REGEX_NESTING)?;
    compile(&format!("^(?:{pattern})$"), MAX_REGEX_NESTING + 1)
}
