//! What the parts of an origin look like, to a configured pattern and to a request's
//! `Origin` alike: scheme, DNS name, port.

/// The longest scheme of a request `Origin` any pattern or regex sees.
pub const MAX_SCHEME_LEN: usize = 32;

pub(super) fn default_port(scheme: &[u8]) -> Option<u16> {
    match scheme {
        b"http" | b"ws" => Some(80),
        b"https" | b"wss" => Some(443),
        _ => None,
    }
}

pub(super) fn is_scheme(s: &[u8]) -> bool {
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

/// Digits only, no leading zero, 1 to 65535: the way a browser serializes a port.
pub(super) fn parse_port(s: &[u8]) -> Option<u16> {
    if s.len() > 5 || s.first().is_none_or(|&d| d == b'0') || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter()
        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
        .try_into()
        .ok()
}

/// `text` around its first `://`.
pub fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let at = scheme_end(text.as_bytes())?;
    Some((text.get(..at)?, text.get(at + 3..)?))
}

/// Where the first `://` of `text` starts. Searched byte by byte: a search for a `&str`
/// brings core's two-way string searcher into the module (2 KB), for needles of 3 bytes.
pub(super) fn scheme_end(text: &[u8]) -> Option<usize> {
    text.windows(3).position(|w| w == b"://")
}
