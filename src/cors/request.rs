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

/// A request for tests: headers by lower-case name (first value wins, as in Envoy).
#[cfg(test)]
#[derive(Default)]
pub struct FakeRequest {
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub route: Option<&'static str>,
}

#[cfg(test)]
impl FakeRequest {
    pub fn new(headers: &[(&'static str, &str)]) -> FakeRequest {
        let headers = headers
            .iter()
            .map(|(n, v)| (*n, v.as_bytes().to_vec()))
            .collect();
        FakeRequest {
            headers,
            route: None,
        }
    }
}

#[cfg(test)]
impl RequestView for FakeRequest {
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
