//! Origins: the configured patterns, and matching a request's `Origin` against them.
//! A request's origin is compared as the browser serializes it
//! (<https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin>).

use super::error::{quote, ConfigError};
use regex_lite::{Regex, RegexBuilder};
use std::collections::{HashMap, HashSet};

/// std's tables with a fixed hash. Keys come from the configuration and requests only look
/// up, so a known hash cannot be turned against them, and no random seed is needed.
pub type Table<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
pub type Set<K> = HashSet<K, foldhash::fast::FixedState>;

/// The longest request `Origin` any pattern or regex sees: a real one is a scheme of a few
/// bytes, `://`, a host of at most 253 and a port of at most 6.
pub const MAX_ORIGIN_LEN: usize = 300;
/// The longest scheme of a request `Origin` any pattern or regex sees.
pub const MAX_SCHEME_LEN: usize = 32;

/// The longest `allow_origin_regexes` entry.
pub const MAX_REGEX_LEN: usize = 1024;
/// The most memory, in bytes, one compiled `allow_origin_regexes` entry may take
/// (regex-lite's size limit). regex-lite's cost per byte of origin grows with the states
/// of the compiled regex that can be live at once: with [`MAX_ORIGIN_LEN`], this keeps the
/// worst regex allowed under a millisecond a request in Envoy's V8 (`./build.sh bench`).
pub const MAX_REGEX_SIZE: usize = 2 * 1024;
/// The deepest one entry's groups and repetitions may nest (regex-lite's nest limit).
pub const MAX_REGEX_NESTING: u32 = 50;

/// One entry of `allow_origins`, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OriginPattern {
    Any,
    Null,
    Exact(String),
    Wildcard(HostRule),
}

/// A pattern with `*.` or `:*`: scheme, host (or the suffix after `*.`) and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostRule {
    pub scheme: String,
    pub host: String,
    pub subdomains: bool,
    pub port: Port,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    Default,
    Number(u16),
    Any,
}

impl OriginPattern {
    /// Parses and normalizes one configured origin; the error is the message after the path.
    pub fn parse(text: &str) -> Result<OriginPattern, String> {
        match text {
            "*" => return Ok(OriginPattern::Any),
            "null" => return Ok(OriginPattern::Null),
            _ => {}
        }
        let (scheme, rest) =
            split_scheme(text).ok_or("expected scheme://host[:port], \"null\" or \"*\"")?;
        let scheme = scheme.to_ascii_lowercase();
        if !is_scheme(scheme.as_bytes()) {
            return Err("the scheme is not valid".into());
        }
        if scheme.len() > MAX_SCHEME_LEN {
            return Err(format!(
                "a scheme of {} bytes never matches: a request's Origin is denied when its \
                 scheme is over {MAX_SCHEME_LEN}",
                scheme.len()
            ));
        }
        let authority = authority_only(rest)?;
        let (host, port) = split_port(authority)?;
        let port = match port {
            Port::Number(n) if Some(n) == default_port(scheme.as_bytes()) => Port::Default,
            port => port,
        };
        let (host, subdomains) = parse_host(host).map_err(|e| {
            let port = match port {
                Port::Default => String::new(),
                Port::Number(n) => format!(":{n}"),
                Port::Any => ":*".into(),
            };
            e.message(&scheme, &port)
        })?;
        if !subdomains && port != Port::Any {
            let port = match port {
                Port::Number(n) => format!(":{n}"),
                _ => String::new(),
            };
            return Ok(OriginPattern::Exact(format!("{scheme}://{host}{port}")));
        }
        Ok(OriginPattern::Wildcard(HostRule {
            scheme,
            host,
            subdomains,
            port,
        }))
    }

    /// The pattern in its normal form: the same text for equal patterns only.
    pub fn normalized(&self) -> String {
        match self {
            OriginPattern::Any => "*".into(),
            OriginPattern::Null => "null".into(),
            OriginPattern::Exact(origin) => origin.clone(),
            OriginPattern::Wildcard(rule) => {
                let star = if rule.subdomains { "*." } else { "" };
                let port = match rule.port {
                    Port::Default => String::new(),
                    Port::Number(n) => format!(":{n}"),
                    Port::Any => ":*".into(),
                };
                format!("{}://{star}{}{port}", rule.scheme, rule.host)
            }
        }
    }
}

fn authority_only(rest: &str) -> Result<&str, String> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at_checked(end).unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err("an origin has no userinfo".into());
    }
    match tail.as_bytes().first() {
        None => Ok(authority),
        Some(b'/') if tail == "/" => Err("an origin has no trailing slash".into()),
        Some(b'/') => Err("an origin has no path".into()),
        Some(b'?') => Err("an origin has no query".into()),
        _ => Err("an origin has no fragment".into()),
    }
}

fn split_port(authority: &str) -> Result<(&str, Port), String> {
    // The last colon starts a port, unless it is inside an IPv6 literal.
    let split = authority
        .rsplit_once(':')
        .filter(|(_, port)| !port.contains(']'));
    let Some((host, port)) = split else {
        return Ok((authority, Port::Default));
    };
    if port == "*" {
        return Ok((host, Port::Any));
    }
    parse_port(port.as_bytes())
        .map(|n| (host, Port::Number(n)))
        .ok_or_else(|| "the port must be a number from 1 to 65535".into())
}

/// Why a configured host can never match.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HostError {
    /// The message after the path.
    Never(String),
    /// A browser writes this host otherwise, as this: it would never send it as written.
    WrittenAs(String),
}

impl From<&str> for HostError {
    fn from(message: &str) -> HostError {
        HostError::Never(message.to_string())
    }
}

impl HostError {
    /// The message after the path, for a pattern of this scheme and port (`:8080`, `:*`
    /// or nothing), saying what a browser sends instead when it sends it otherwise.
    pub(crate) fn message(self, scheme: &str, port: &str) -> String {
        match self {
            HostError::Never(message) => message,
            HostError::WrittenAs(written) => {
                let origin = format!("{scheme}://{written}{port}");
                format!("a browser sends {} instead; write that", quote(&origin))
            }
        }
    }
}

fn parse_host(host: &str) -> Result<(String, bool), HostError> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if !host.is_ascii() {
        return Err("the host is not ASCII; write it in punycode (xn--...)".into());
    }
    let host = host.to_ascii_lowercase();
    if host.starts_with('[') {
        return match ipv6_form(&host) {
            None => Err("not a valid IPv6 address, so no browser can send it".into()),
            Some(written) if written != host => Err(HostError::WrittenAs(written)),
            Some(_) => Ok((host, false)),
        };
    }
    if host.ends_with('.') {
        return Err("the host has a trailing dot".into());
    }
    if host == "*" {
        return Err("a wildcard needs at least two labels after it".into());
    }
    let (host, subdomains) = match host.strip_prefix("*.") {
        Some(suffix) if suffix.split('.').count() < 2 => {
            return Err("a wildcard needs at least two labels after it".into())
        }
        Some(suffix) => (suffix.to_string(), true),
        None => (host, false),
    };
    if host.contains('*') {
        return Err("\"*\" must be the whole leftmost label".into());
    }
    browser_form(&host, subdomains)?;
    if !is_dns_name(host.as_bytes()) {
        return Err("the host is not a valid name".into());
    }
    Ok((host, subdomains))
}

/// Whether a browser could send `host` (lower-case, after any `*.`) as written: a name
/// within DNS's lengths, or an IPv4 address in the dotted-decimal form the URL standard
/// writes. A host whose last label is a number is an IPv4 address to a browser
/// (<https://url.spec.whatwg.org/#ends-in-a-number-checker>), which has no subdomains.
pub(crate) fn browser_form(host: &str, subdomains: bool) -> Result<(), HostError> {
    for label in host.split('.') {
        if label.len() > 63 {
            return Err(HostError::Never(format!(
                "a label of {} bytes, so no browser can send it (DNS allows at most 63)",
                label.len()
            )));
        }
    }
    if host.len() > 253 {
        return Err(HostError::Never(format!(
            "a host of {} bytes, so no browser can send it (DNS allows at most 253)",
            host.len()
        )));
    }
    let last = host.rsplit('.').next().unwrap_or(host);
    let ends_in_a_number = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit()) || ipv4_number(last).is_some());
    if !ends_in_a_number {
        return Ok(());
    }
    if subdomains {
        return Err(
            "\"*.\" before a number never matches: a host ending in a number is an \
             IPv4 address, which has no subdomains"
                .into(),
        );
    }
    match ipv4_form(host) {
        None => Err("not a valid IPv4 address, so no browser can send it".into()),
        Some(written) if written != host => Err(HostError::WrittenAs(written)),
        Some(_) => Ok(()),
    }
}

/// An IPv4 address as the URL standard reads one (<https://url.spec.whatwg.org/#concept-ipv4-parser>:
/// one to four numbers, each decimal, octal after a `0` or hex after `0x`, the last filling
/// the bytes left), in the dotted-decimal form it writes; `None` when it is not one.
fn ipv4_form(host: &str) -> Option<String> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| ipv4_number(p))
        .collect::<Option<_>>()?;
    let (last, leading) = numbers.split_last()?;
    let room = 256u64.pow(5 - numbers.len() as u32);
    if leading.iter().any(|&n| n > 255) || *last >= room {
        return None;
    }
    let address = leading
        .iter()
        .zip([1u64 << 24, 1 << 16, 1 << 8])
        .fold(*last, |sum, (n, weight)| sum + n * weight);
    Some(std::net::Ipv4Addr::from(u32::try_from(address).ok()?).to_string())
}

/// One number of an IPv4 address: <https://url.spec.whatwg.org/#ipv4-number-parser>.
fn ipv4_number(part: &str) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x") {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (part.get(1..)?, 8)
    } else {
        (part, 10)
    };
    if part.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, radix).ok()
}

/// A bracketed IPv6 literal in the form the URL standard writes it
/// (<https://url.spec.whatwg.org/#concept-ipv6-serializer>: lower-case hexadecimal without
/// leading zeros, the first longest run of two or more zero pieces as `::`, never a dotted
/// IPv4 tail); `None` when it is not an IPv6 address.
fn ipv6_form(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('[')?.strip_suffix(']')?;
    let pieces = inner.parse::<std::net::Ipv6Addr>().ok()?.segments();
    let (mut compress, mut longest, mut run) = (None, 1, 0);
    for (i, &piece) in pieces.iter().enumerate() {
        run = if piece == 0 { run + 1 } else { 0 };
        if run > longest {
            (compress, longest) = (Some(i + 1 - run), run);
        }
    }
    let mut out = String::from("[");
    let mut i = 0;
    while let Some(&piece) = pieces.get(i) {
        if Some(i) == compress {
            out.push_str(if i == 0 { "::" } else { ":" });
            i += longest;
            continue;
        }
        out.push_str(&format!("{piece:x}"));
        if i < 7 {
            out.push(':');
        }
        i += 1;
    }
    out.push(']');
    Some(out)
}

fn default_port(scheme: &[u8]) -> Option<u16> {
    match scheme {
        b"http" | b"ws" => Some(80),
        b"https" | b"wss" => Some(443),
        _ => None,
    }
}

fn is_scheme(s: &[u8]) -> bool {
    matches!(s.first(), Some(b'a'..=b'z'))
        && s.iter()
            .all(|&b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'+' | b'-' | b'.'))
}

/// Lower-case labels of letters, digits, `-` and `_`, none empty, within DNS's lengths
/// (63 bytes a label, 253 a name: RFC 1035 §2.3.4).
pub(crate) fn is_dns_name(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split(|&b| b == b'.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .iter()
                    .all(|&b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
        })
}

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

/// Digits only, no leading zero, 1 to 65535: the way a browser serializes a port.
fn parse_port(s: &[u8]) -> Option<u16> {
    if s.len() > 5 || s.first().is_none_or(|&d| d == b'0') || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter()
        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
        .try_into()
        .ok()
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
        let sep = origin.windows(3).position(|w| w == b"://")?;
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
        let scheme = origin.windows(3).position(|w| w == b"://")?;
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

/// `text` around its first `://`.
pub fn split_scheme(text: &str) -> Option<(&str, &str)> {
    text.split_once("://")
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

    pub fn is_empty(&self) -> bool {
        !self.any
            && !self.null
            && self.exact.is_empty()
            && self.rules.is_empty()
            && self.regexes.is_empty()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> OriginSet {
        let mut set = OriginSet::default();
        for p in patterns {
            set.insert(OriginPattern::parse(p).unwrap());
        }
        set
    }

    #[test]
    fn normalizes_case_and_default_ports() {
        let exact = |s: &str| OriginPattern::Exact(s.to_string());
        assert_eq!(
            OriginPattern::parse("HTTPS://App.Example.COM"),
            Ok(exact("https://app.example.com"))
        );
        assert_eq!(
            OriginPattern::parse("https://a.com:443"),
            Ok(exact("https://a.com"))
        );
        assert_eq!(
            OriginPattern::parse("http://a.com:80"),
            Ok(exact("http://a.com"))
        );
        assert_eq!(
            OriginPattern::parse("http://a.com:443"),
            Ok(exact("http://a.com:443"))
        );
        assert_eq!(
            OriginPattern::parse("http://[::1]:8080"),
            Ok(exact("http://[::1]:8080"))
        );
        assert_eq!(OriginPattern::parse("null"), Ok(OriginPattern::Null));
        assert_eq!(OriginPattern::parse("*"), Ok(OriginPattern::Any));
    }

    #[test]
    fn refuses_what_is_not_an_origin_with_exact_messages() {
        let cases = [
            (
                "https://*.com",
                "a wildcard needs at least two labels after it",
            ),
            ("https://a.com/", "an origin has no trailing slash"),
            ("https://a.com/x", "an origin has no path"),
            ("https://a.com?x", "an origin has no query"),
            ("https://a.com#x", "an origin has no fragment"),
            ("https://u@a.com", "an origin has no userinfo"),
            ("a.com", "expected scheme://host[:port], \"null\" or \"*\""),
            ("NULL", "expected scheme://host[:port], \"null\" or \"*\""),
            ("1http://a.com", "the scheme is not valid"),
            ("https://", "the host is empty"),
            ("https://a.com.", "the host has a trailing dot"),
            ("https://a*.b.com", "\"*\" must be the whole leftmost label"),
            (
                "https://a.*.b.com",
                "\"*\" must be the whole leftmost label",
            ),
            (
                "https://*.*.b.com",
                "\"*\" must be the whole leftmost label",
            ),
            ("https://a..com", "the host is not a valid name"),
            ("https://a b.com", "the host is not a valid name"),
            (
                "https://bücher.de",
                "the host is not ASCII; write it in punycode (xn--...)",
            ),
            (
                "https://a.com:0",
                "the port must be a number from 1 to 65535",
            ),
            (
                "https://a.com:65536",
                "the port must be a number from 1 to 65535",
            ),
            (
                "https://a.com:08",
                "the port must be a number from 1 to 65535",
            ),
            (
                "https://a.com:",
                "the port must be a number from 1 to 65535",
            ),
            (
                "http://[::g]",
                "not a valid IPv6 address, so no browser can send it",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(
                OriginPattern::parse(input),
                Err(message.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn hosts_no_browser_sends_are_errors_that_say_what_it_sends() {
        let instead = |form: &str| format!("a browser sends \"{form}\" instead; write that");
        let never_v4 = "not a valid IPv4 address, so no browser can send it".to_string();
        let never_v6 = "not a valid IPv6 address, so no browser can send it".to_string();
        let cases = [
            ("http://[1]", never_v6.clone()),
            ("http://[1::2::3]", never_v6.clone()),
            ("http://[fe80::1%25eth0]", never_v6.clone()),
            ("http://[0:0:0:0:0:0:0:1]", instead("http://[::1]")),
            (
                "http://[0:0:0:0:0:0:0:1]:8080",
                instead("http://[::1]:8080"),
            ),
            ("http://[0:0::1]:*", instead("http://[::1]:*")),
            (
                "http://[::ffff:1.2.3.4]",
                instead("http://[::ffff:102:304]"),
            ),
            (
                "http://[2001:db8:0:0:1:0:0:1]",
                instead("http://[2001:db8::1:0:0:1]"),
            ),
            ("http://[0001::]", instead("http://[1::]")),
            ("http://[1:0:0:2:0:0:0:3]", instead("http://[1:0:0:2::3]")),
            ("http://127.1", instead("http://127.0.0.1")),
            ("http://0x7f.0.0.1", instead("http://127.0.0.1")),
            ("http://0x7F.1:3000", instead("http://127.0.0.1:3000")),
            ("http://010.0.0.1", instead("http://8.0.0.1")),
            ("http://2130706433", instead("http://127.0.0.1")),
            (
                "http://127.0.0.1.",
                "the host has a trailing dot".to_string(),
            ),
            ("http://1.2.3.256", never_v4.clone()),
            ("http://1.2.3.4.5", never_v4.clone()),
            ("http://08.0.0.1", never_v4.clone()),
            ("http://a.123", never_v4.clone()),
            ("http://a.0x", never_v4.clone()),
            ("http://1.+2.3.4", never_v4.clone()),
            ("http://4294967296", never_v4),
            (
                "https://*.0.0.1",
                "\"*.\" before a number never matches: a host ending in a number is an IPv4 \
                 address, which has no subdomains"
                    .to_string(),
            ),
            (
                &format!("https://{}.example.com", "a".repeat(64)),
                "a label of 64 bytes, so no browser can send it (DNS allows at most 63)"
                    .to_string(),
            ),
            (
                &format!("https://*.{}.com", ["a"; 127].join(".")),
                "a host of 257 bytes, so no browser can send it (DNS allows at most 253)"
                    .to_string(),
            ),
        ];
        for (input, message) in cases {
            assert_eq!(OriginPattern::parse(input), Err(message), "{input}");
        }
        // What browsers do send loads as it was.
        for written in [
            "http://[::1]",
            "http://[2001:db8::1]:8080",
            "http://[::ffff:102:304]",
            "http://[::]",
            "http://127.0.0.1",
            "http://0.0.0.0:*",
            "http://255.255.255.255",
            "https://a1.example.com",
            "https://*.example.123a",
            &format!("https://{}.example.com", "a".repeat(63)),
        ] {
            let pattern = OriginPattern::parse(written);
            assert_eq!(
                pattern.map(|p| p.normalized()).as_deref(),
                Ok(written),
                "{written}"
            );
        }
    }

    #[test]
    fn exact_origins_match_byte_for_byte() {
        let s = set(&["https://app.example.com", "http://localhost:3000"]);
        assert!(s.allows(b"https://app.example.com"));
        assert!(s.allows(b"http://localhost:3000"));
        for denied in [
            &b"https://APP.example.com"[..],
            b"https://app.example.com:443",
            b"https://app.example.com.",
            b"https://app.example.com/",
            b"http://app.example.com",
            b"https://app.example.com.evil.net",
            b"https://evil-app.example.com",
            b"http://localhost:30000",
            b"null",
            b"",
            b"\xff\xfe",
        ] {
            assert!(!s.allows(denied), "{}", String::from_utf8_lossy(denied));
        }
    }

    #[test]
    fn subdomain_wildcards_match_any_depth_but_never_the_apex() {
        let s = set(&["https://*.example.com"]);
        assert!(s.allows(b"https://a.example.com"));
        assert!(s.allows(b"https://a.b.c.example.com"));
        for denied in [
            &b"https://example.com"[..],
            b"https://evil-example.com",
            b"https://aexample.com",
            b"https://.example.com",
            b"https://a..example.com",
            b"http://a.example.com",
            b"https://a.example.com:8443",
            b"https://a.example.com.evil.net",
            b"https://A.example.com",
            b"https://a.example.com/",
        ] {
            assert!(!s.allows(denied), "{}", String::from_utf8_lossy(denied));
        }
    }

    #[test]
    fn hosts_beyond_dns_lengths_never_match() {
        let s = set(&["https://*.example.com"]);
        let label = |n| "a".repeat(n);
        assert!(s.allows(format!("https://{}.example.com", label(63)).as_bytes()));
        assert!(!s.allows(format!("https://{}.example.com", label(64)).as_bytes()));
        assert!(!s.allows(format!("https://{}.example.com", label(65_536)).as_bytes()));
        let long = [label(60).as_str(); 4].join(".");
        assert!(!s.allows(format!("https://{long}.example.com").as_bytes()));
    }

    #[test]
    fn origins_longer_than_any_real_one_are_refused_before_any_pattern() {
        let mut s = set(&["*"]);
        let scheme = |n: usize| format!("{}://x.example.org", "a".repeat(n));
        assert_eq!(s.judge(scheme(32).as_bytes()), Verdict::Allowed);
        assert_eq!(
            s.judge(scheme(33).as_bytes()),
            Verdict::Oversized(Oversized::Scheme(33))
        );
        assert_eq!(s.judge(&[b'x'; 300]), Verdict::Allowed);
        assert_eq!(
            s.judge(&[b'x'; 301]),
            Verdict::Oversized(Oversized::Origin(301))
        );
        let long = scheme(58_000);
        assert_eq!(
            s.judge(long.as_bytes()),
            Verdict::Oversized(Oversized::Origin(58_016))
        );
        // The regex would allow them all; it never sees them.
        s = OriginSet::default();
        s.add_regex(".*").unwrap();
        assert!(s.allows(scheme(32).as_bytes()));
        assert!(!s.allows(scheme(33).as_bytes()));
        assert!(!s.allows(long.as_bytes()));
        // The scheme is what comes before the first "://", wherever that is.
        assert_eq!(Oversized::of(b"null"), None);
        assert_eq!(Oversized::of(&[b'a'; 300]), None);
        assert_eq!(
            Oversized::of(format!("{}://a://b", "a".repeat(33)).as_bytes()),
            Some(Oversized::Scheme(33))
        );
    }

    #[test]
    fn oversized_origins_say_why() {
        assert_eq!(
            Oversized::Origin(58_016).to_string(),
            "58016 bytes, longer than any real origin (at most 300)"
        );
        assert_eq!(
            Oversized::Scheme(33).to_string(),
            "a scheme of 33 bytes, longer than any real one (at most 32)"
        );
    }

    #[test]
    fn a_configured_scheme_over_the_cap_is_an_error() {
        let scheme = |n: usize| format!("{}://a.example.com", "a".repeat(n));
        assert!(OriginPattern::parse(&scheme(32)).is_ok());
        assert_eq!(
            OriginPattern::parse(&scheme(33)),
            Err(
                "a scheme of 33 bytes never matches: a request's Origin is denied when its \
                 scheme is over 32"
                    .to_string()
            )
        );
    }

    #[test]
    fn the_pathological_regex_of_the_review_is_refused() {
        let mut s = OriginSet::default();
        let error = s.add_regex(".*[a-z]{1,1000}[a-z]{1,1000}").unwrap_err();
        assert_eq!(
            error.message,
            "not a valid regex: compiled regex exceeded size limit (2048 bytes, so that no \
             Origin can make it slow; a counted repetition such as {1,63} compiles to a copy \
             per count: prefer + or *)"
        );
        assert!(s
            .add_regex(r"https://[a-z0-9-]{1,63}\.example\.com")
            .is_err());
        assert!(s.add_regex(r"https://[a-z0-9-]+\.example\.com").is_ok());
        assert!(s
            .add_regex(r"https://(app|admin|api)-[0-9]{1,4}\.example\.com")
            .is_ok());
        // The same shape as large as the limit allows: the worst regex tests/hostile.rs and
        // the benchmark run over the longest Origin a regex sees.
        assert!(s.add_regex(".*[a-z]{1,11}[a-z]{1,11}").is_ok());
        assert!(s.add_regex(".*[a-z]{1,12}[a-z]{1,12}").is_err());
    }

    #[test]
    fn any_port_includes_none() {
        let s = set(&["http://localhost:*", "https://*.dev.example.com:*"]);
        assert!(s.allows(b"http://localhost"));
        assert!(s.allows(b"http://localhost:1"));
        assert!(s.allows(b"http://localhost:65535"));
        assert!(s.allows(b"https://x.dev.example.com:8443"));
        assert!(!s.allows(b"http://localhost:0"));
        assert!(!s.allows(b"http://localhost:65536"));
        assert!(!s.allows(b"http://localhost:080"));
        assert!(!s.allows(b"https://localhost:3000"));
        assert!(!s.allows(b"http://localhost.evil.net:3000"));
        assert!(!s.allows(b"https://dev.example.com:8443"));
    }

    #[test]
    fn any_port_excludes_a_spelled_out_default_port() {
        let s = set(&[
            "https://example.com:*",
            "https://*.example.com:*",
            "http://127.0.0.1:*",
        ]);
        assert!(!s.allows(b"https://example.com:443"));
        assert!(!s.allows(b"https://a.example.com:443"));
        assert!(!s.allows(b"http://127.0.0.1:80"));
        assert!(s.allows(b"https://example.com:80"));
        assert!(s.allows(b"https://a.example.com:8443"));
        assert!(s.allows(b"http://127.0.0.1:443"));
    }

    #[test]
    fn a_numbered_port_admits_only_that_port() {
        let s = set(&["https://*.example.com:8443", "http://localhost:3000"]);
        assert!(s.allows(b"https://a.example.com:8443"));
        assert!(!s.allows(b"https://a.example.com:9999"));
        assert!(!s.allows(b"https://a.example.com"));
        assert!(!s.allows(b"http://localhost:3001"));
        assert!(!s.allows(b"http://localhost"));
    }

    #[test]
    fn null_only_when_listed_and_star_allows_all() {
        assert!(!set(&["https://a.com"]).allows(b"null"));
        assert!(set(&["null"]).allows(b"null"));
        assert!(set(&["*"]).allows(b"https://anything.example"));
    }

    #[test]
    fn regexes_are_anchored_at_both_ends() {
        let mut s = OriginSet::default();
        s.add_regex(r"https://[a-z]+\.example\.com").unwrap();
        assert!(s.allows(b"https://app.example.com"));
        assert!(!s.allows(b"https://app.example.com.evil.net"));
        assert!(!s.allows(b"https://evil.net/https://app.example.com"));
        assert!(!s.allows(b"xhttps://app.example.com"));
        // Alternation is grouped before anchoring, so neither branch escapes.
        let mut s = OriginSet::default();
        s.add_regex(r"https://a\.com|https://b\.com").unwrap();
        assert!(!s.allows(b"https://a.com.evil.net"));
        assert!(!s.allows(b"https://evil.net.https://b.com"));
        assert!(s.allows(b"https://b.com"));
    }

    #[test]
    fn a_regex_cannot_close_the_group_that_anchors_it() {
        let mut s = OriginSet::default();
        let error = s.add_regex(r"https://a\.com)|(.*").unwrap_err();
        assert!(error.message.starts_with("not a valid regex: "), "{error}");
        assert!(s.add_regex(r"(?x)https://a\.com # a comment").is_err());
        assert!(!s.allows(b"https://evil.net"));
    }

    #[test]
    fn regexes_are_bounded_in_size_and_nesting() {
        let mut s = OriginSet::default();
        assert!(s.add_regex("https://[a-z]{0,10}").is_ok());
        assert!(s.add_regex("https://[a-z]{0,1000}").is_err());
        assert!(s.add_regex("(?:a{0,100}){0,100}").is_err());
        let nested = |n: usize| format!("{}a{}", "(?:".repeat(n), ")".repeat(n));
        let at_limit = s.add_regex(&nested(MAX_REGEX_NESTING as usize));
        assert!(at_limit.is_ok(), "{at_limit:?}");
        let error = s
            .add_regex(&nested(MAX_REGEX_NESTING as usize + 1))
            .unwrap_err();
        assert_eq!(
            error.message,
            "not a valid regex: pattern has too much nesting"
        );
    }

    #[test]
    fn a_regex_never_admits_a_malformed_origin() {
        let mut s = OriginSet::default();
        s.add_regex(".*").unwrap();
        assert!(s.allows(b"https://x.y"));
        assert!(!s.allows(b"https://x.y/path"));
        assert!(!s.allows(b"https://x.y\r\nset-cookie: a=b"));
    }

    #[test]
    fn request_origins_parse_strictly() {
        assert!(RequestOrigin::parse(b"https://a.com:8080").is_some());
        assert!(RequestOrigin::parse(b"http://[::1]:3000").is_some());
        assert!(RequestOrigin::parse(b"https://a.com:").is_none());
        assert!(RequestOrigin::parse(b"https://user@a.com").is_none());
        assert!(RequestOrigin::parse(b"HTTPS://a.com").is_none());
    }
}
