//! Native tests of the configuration and of the decisions, through the public API.

mod config;
mod decisions;

use crate::decision::RequestView;

/// A request for the decision: headers by lower-case name (first value wins, as in Envoy).
#[derive(Default)]
pub struct FakeRequest {
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub route: Option<&'static str>,
}

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
