//! The request as the decisions see it: a host hands over headers through [`RequestView`].

/// The request as the decision reads it: one header at a time, only those it needs.
pub trait RequestView {
    /// The first value of a header (lower-case name), as bytes.
    fn header(&self, name: &str) -> Option<Vec<u8>>;
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
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    fn route_name(&self) -> Option<Vec<u8>> {
        self.route.map(|r| r.as_bytes().to_vec())
    }
}
