//! Methods and header names: RFC 9110 tokens, and the sets a policy allows.

use super::table::Set;
use std::borrow::Cow;

/// `items` joined by ", ", as header values list them. Ours rather than `join`, whose code
/// the module would carry once per item type (1.2 KB each).
pub fn comma_separated<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    for item in items {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(item.as_ref());
    }
    out
}

/// Tokens of <https://www.rfc-editor.org/rfc/rfc9110#name-tokens>: one or more `tchar`.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| TCHAR[usize::from(b)])
}

/// Whether each byte is a `tchar`: looked up, since a preflight's method and header names
/// are checked byte by byte.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < table.len() {
        table[byte] = is_tchar(byte as u8);
        byte += 1;
    }
    table
};

const fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Methods the Fetch standard upper-cases when it normalizes a method
/// (<https://fetch.spec.whatwg.org/#concept-method-normalize>).
const NORMALIZED_METHODS: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

/// CORS-safelisted methods (<https://fetch.spec.whatwg.org/#cors-safelisted-method>).
pub const SAFELISTED_METHODS: [&str; 3] = ["GET", "HEAD", "POST"];

/// A method as compared: one of the normalized six upper-cased, anything else byte-exact.
pub fn normalize_method(method: &[u8]) -> &[u8] {
    NORMALIZED_METHODS
        .iter()
        .find(|m| m.as_bytes().eq_ignore_ascii_case(method))
        .map_or(method, |m| m.as_bytes())
}

pub fn is_safelisted_method(method: &[u8]) -> bool {
    SAFELISTED_METHODS.iter().any(|m| m.as_bytes() == method)
}

/// The methods a policy allows beyond the safelisted ones.
#[derive(Debug, Default)]
pub struct MethodSet {
    pub any: bool,
    /// Looked up by hash: the keys come from the configuration, a request only looks up.
    listed: Set<Vec<u8>>,
}

impl MethodSet {
    /// Adds a configured method (already a valid token, or `*`).
    pub fn insert(&mut self, method: &str) {
        if method == "*" {
            self.any = true;
        } else {
            self.listed
                .insert(normalize_method(method.as_bytes()).to_vec());
        }
    }

    /// Whether a preflight may ask for `requested` (the raw `Access-Control-Request-Method`).
    pub fn allows(&self, requested: &[u8]) -> bool {
        if !is_token(requested) {
            return false;
        }
        let method = normalize_method(requested);
        self.any || is_safelisted_method(method) || self.listed.contains(method)
    }

    /// Whether anything beyond GET, HEAD and POST is configured.
    pub fn beyond_safelisted(&self) -> bool {
        self.any || self.listed.iter().any(|m| !is_safelisted_method(m))
    }
}

/// Header names a policy allows in a preflight's `Access-Control-Request-Headers`.
#[derive(Debug, Default)]
pub struct HeaderSet {
    pub any: bool,
    /// Looked up by hash, so a preflight's check costs one lookup a requested name whatever
    /// the list's length: the keys come from the configuration, a request only looks up.
    listed: Set<Vec<u8>>,
}

impl HeaderSet {
    /// Adds a configured header name (a valid token, or `*`), lower-cased.
    pub fn insert(&mut self, name: &str) {
        if name == "*" {
            self.any = true;
        } else {
            self.listed.insert(name.to_ascii_lowercase().into_bytes());
        }
    }

    /// `name` is lower-case. `*` never covers `authorization`
    /// (<https://fetch.spec.whatwg.org/#cors-non-wildcard-request-header-name>).
    pub fn allows(&self, name: &str) -> bool {
        (self.any && name != "authorization") || self.listed.contains(name.as_bytes())
    }
}

/// `names` without repeats, each kept at its first place. By sorting rather than by a hash
/// set: the names come from the request, and the tables' hash is fixed, so a request could
/// choose names that collide. Sorted as byte strings, as `Coverage` (`matcher`) sorts its
/// lists: each type sorted is another copy of the sort's code in the module.
pub fn first_of_each(names: &[String]) -> Vec<&str> {
    let mut distinct: Vec<&[u8]> = names.iter().map(|name| name.as_bytes()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut taken = vec![false; distinct.len()];
    let mut first_time = |name: &&String| {
        let at = distinct.binary_search(&name.as_bytes()).ok();
        at.and_then(|at| taken.get_mut(at))
            .is_some_and(|taken| !std::mem::replace(taken, true))
    };
    names
        .iter()
        .filter(|name| first_time(name))
        .map(String::as_str)
        .collect()
}

/// The elements of a list header such as `Access-Control-Request-Headers`: separated by
/// commas with optional white space; empty elements are skipped (RFC 9110 §5.6.1).
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|element| !element.is_empty())
}

/// Whether every element of an `Access-Control-Request-Headers` value is a token.
pub fn is_header_list(value: &[u8]) -> bool {
    list_elements(value).all(is_token)
}

/// The names in an `Access-Control-Request-Headers` value that [`is_header_list`],
/// lower-cased: borrowed when they are already, as browsers send them.
pub fn header_names(value: &[u8]) -> impl Iterator<Item = Cow<'_, str>> {
    list_elements(value).filter_map(|name| {
        if name.iter().any(u8::is_ascii_uppercase) {
            String::from_utf8(name.to_ascii_lowercase())
                .ok()
                .map(Cow::Owned)
        } else {
            std::str::from_utf8(name).ok().map(Cow::Borrowed)
        }
    })
}

/// The names in an `Access-Control-Request-Headers` value, lower-cased; `None` when an
/// element is not a token.
pub fn parse_header_list(value: &[u8]) -> Option<Vec<String>> {
    is_header_list(value).then(|| header_names(value).map(Cow::into_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods(list: &[&str]) -> MethodSet {
        let mut set = MethodSet::default();
        list.iter().for_each(|m| set.insert(m));
        set
    }

    #[test]
    fn tokens() {
        assert!(is_token(b"X-Custom_1.2~"));
        for bad in [&b""[..], b"a b", b"a,b", b"a:b", b"\xff", b"a\0", b"(x)"] {
            assert!(!is_token(bad));
        }
    }

    #[test]
    fn the_six_methods_compare_case_insensitively_others_byte_exact() {
        let set = methods(&["put", "PATCH"]);
        assert!(set.allows(b"PUT"));
        assert!(set.allows(b"put"));
        assert!(set.allows(b"PATCH"));
        assert!(!set.allows(b"patch"));
        assert!(set.allows(b"get"));
        assert!(set.allows(b"POST"));
        assert!(!set.allows(b"DELETE"));
        assert!(!set.allows(b"OPTIONS"));
        assert!(!set.allows(b""));
        assert!(!set.allows(b"PU T"));
    }

    #[test]
    fn star_allows_any_token() {
        let set = methods(&["*"]);
        assert!(set.allows(b"PURGE"));
        assert!(!set.allows(b"BAD METHOD"));
    }

    #[test]
    fn beyond_safelisted() {
        assert!(!methods(&[]).beyond_safelisted());
        assert!(!methods(&["GET", "post"]).beyond_safelisted());
        assert!(methods(&["GET", "PUT"]).beyond_safelisted());
    }

    #[test]
    fn header_star_never_covers_authorization() {
        let mut set = HeaderSet::default();
        set.insert("*");
        assert!(set.allows("x-anything"));
        assert!(!set.allows("authorization"));
        set.insert("Authorization");
        assert!(set.allows("authorization"));
    }

    #[test]
    fn repeated_names_are_kept_once_at_their_first_place() {
        let names: Vec<String> = ["x-b", "x-a", "x-b", "x-c", "x-a", "x-b"]
            .map(String::from)
            .into();
        assert_eq!(first_of_each(&names), ["x-b", "x-a", "x-c"]);
        assert_eq!(first_of_each(&vec!["x-a".to_string(); 12_000]), ["x-a"]);
        assert!(first_of_each(&[]).is_empty());
    }

    #[test]
    fn header_names_are_borrowed_unless_they_need_lower_casing() {
        let value = b"x-a, X-B,,content-type";
        assert!(is_header_list(value));
        let names: Vec<Cow<str>> = header_names(value).collect();
        assert_eq!(names, ["x-a", "x-b", "content-type"]);
        assert!(matches!(names[0], Cow::Borrowed("x-a")));
        assert!(matches!(&names[1], Cow::Owned(name) if name == "x-b"));
        assert!(matches!(names[2], Cow::Borrowed("content-type")));
        assert!(is_header_list(b""));
        assert!(is_header_list(b" , ,"));
        assert!(!is_header_list(b"x-a, x b"));
        assert!(!is_header_list(b"x-a,\xff"));
    }

    #[test]
    fn token_bytes_are_exactly_rfc_9110_tchar() {
        let tchar =
            b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for byte in 0..=255u8 {
            assert_eq!(is_token(&[byte]), tchar.contains(&byte), "{byte:#x}");
        }
    }

    #[test]
    fn header_lists_tolerate_spacing_and_empty_elements() {
        let parsed = parse_header_list(b" X-A ,\tx-b,, ,Content-Type ").unwrap();
        assert_eq!(parsed, ["x-a", "x-b", "content-type"]);
        assert_eq!(parse_header_list(b""), Some(vec![]));
        assert_eq!(parse_header_list(b",,,"), Some(vec![]));
        assert_eq!(parse_header_list(b"x-a, x b"), None);
        assert_eq!(parse_header_list(b"x-a;x-b"), None);
        assert_eq!(parse_header_list(b"\xff"), None);
    }
}
