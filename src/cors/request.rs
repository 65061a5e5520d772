//! The request as the decisions see it: a host hands over headers through [`RequestView`].

use std::borrow::Cow;

/// The request as the decision reads it: one header at a time, only those it needs.
pub trait RequestView {
    /// The first value of a header (lower-case name), as bytes.
    fn header(&self, name: &str) -> Option<Vec<u8>>;
    /// The same value, borrowed where the host holds it already: for the values a decision
    /// only looks at, so that no copy is made of them.
    fn header_ref(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        self.header(name).map(Cow::Owned)
    }
    /// The name of the route the request was matched to (Envoy's `xds.route_name`).
    fn route_name(&self) -> Option<Vec<u8>>;
    /// Told when several more headers will be read, so a host can fetch them at once.
    fn expect_more_headers(&self) {}
}

/// A request given as its header pairs, lower-case names (the first value wins, as in
/// Envoy), and a route name: what tests and tools hand the decision when no host reads one.
#[derive(Debug, Clone, Default)]
pub struct HeaderPairs {
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub route: Option<&'static str>,
}

impl HeaderPairs {
    pub fn new(headers: &[(&'static str, &str)]) -> HeaderPairs {
        let headers = headers.iter().map(|(n, v)| (*n, v.as_bytes().to_vec()));
        HeaderPairs::from(headers.collect::<Vec<_>>())
    }
}

impl From<Vec<(&'static str, Vec<u8>)>> for HeaderPairs {
    fn from(headers: Vec<(&'static str, Vec<u8>)>) -> HeaderPairs {
        HeaderPairs {
            headers,
            route: None,
        }
    }
}

impl RequestView for HeaderPairs {
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        self.header_ref(name).map(Cow::into_owned)
    }

    fn header_ref(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Cow::Borrowed(v.as_slice()))
    }

    fn route_name(&self) -> Option<Vec<u8>> {
        self.route.map(|r| r.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::{HeaderPairs, RequestView};
    use std::borrow::Cow;

    #[test]
    fn pairs_lend_the_first_value_of_a_header() {
        let request = HeaderPairs::new(&[("origin", "https://a.example"), ("origin", "x")]);
        let lent = request.header_ref("origin");
        assert!(matches!(lent, Some(Cow::Borrowed(b"https://a.example"))));
        assert_eq!(
            request.header("origin").as_deref(),
            Some(&b"https://a.example"[..])
        );
        assert_eq!(request.header_ref("vary"), None);
    }
}
