//! Configure time: one configured origin parsed and normalized into an [`OriginPattern`],
//! or the reason no browser would ever send it.

use super::syntax::{
    default_port, is_dns_name, is_scheme, parse_port, split_scheme, MAX_SCHEME_LEN,
};
use crate::policy::error::quote;

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

#[inline(never)]
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

#[inline(never)]
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

#[inline(never)]
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
#[inline(never)]
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
    // Four numbers rather than Ipv4Addr's Display, which brings a formatter of its own.
    let [a, b, c, d] = u32::try_from(address).ok()?.to_be_bytes();
    Some(format!("{a}.{b}.{c}.{d}"))
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
#[inline(never)]
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
