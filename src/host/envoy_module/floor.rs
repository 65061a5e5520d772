//! Benchmark builds only (`--cfg cors_wasm_bench_floor`, set by `./build.sh bench` alone,
//! never shipped): the least work any dynamic-module CORS filter does, through the same FFI
//! layer.
//! It reads `Access-Control-Request-Method`, answers a request carrying it with a 204 and
//! `Access-Control-Allow-Origin`, and otherwise reads `Origin` and adds that header to the
//! response. No policy, no `Vary`: the measure of what the dynamic-module ABI costs in Envoy,
//! as bench/noop's `floor` is for wasm.
//!
//! Configured `{"preflight_headers": [[name, value], ...], "response_headers": [...]}`, it
//! adds those headers to its preflight answer and to other responses: the least a filter does
//! to give a policy's whole answer (bench.py checks that it is the real filter's).

use super::ffi::{ConfigHandle, FilterConfig, FilterHandle, HeadersStatus, HttpFilter};
use crate::cors::header::{ALLOW_ORIGIN, ORIGIN, REQUEST_METHOD};
use crate::cors::HeaderValue;
use std::sync::Arc;

/// Takes the place of the real filter's `new_config`.
pub fn new_config(_: &ConfigHandle<'_>, _: &[u8], bytes: &[u8]) -> Option<Box<dyn FilterConfig>> {
    let config: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    Some(Box::new(Arc::new(FloorConfig {
        preflight_headers: pairs(&config["preflight_headers"]),
        response_headers: pairs(&config["response_headers"]),
    })))
}

/// `[[name, value], ...]` as header values shared by every request.
fn pairs(list: &serde_json::Value) -> Vec<(HeaderValue, HeaderValue)> {
    let shared = |text: &serde_json::Value| Some(HeaderValue::Shared(Arc::from(text.as_str()?)));
    let pairs = list.as_array().map(Vec::as_slice).unwrap_or_default();
    pairs
        .iter()
        .filter_map(|pair| Some((shared(&pair[0])?, shared(&pair[1])?)))
        .collect()
}

struct FloorConfig {
    preflight_headers: Vec<(HeaderValue, HeaderValue)>,
    response_headers: Vec<(HeaderValue, HeaderValue)>,
}

impl FilterConfig for Arc<FloorConfig> {
    fn new_filter(&self) -> Box<dyn HttpFilter> {
        Box::new(FloorFilter {
            config: Arc::clone(self),
            origin: None,
        })
    }
}

struct FloorFilter {
    config: Arc<FloorConfig>,
    origin: Option<Vec<u8>>,
}

impl HttpFilter for FloorFilter {
    fn on_request_headers(&mut self, envoy: &mut FilterHandle<'_>) -> HeadersStatus {
        if envoy.request_header(REQUEST_METHOD.as_bytes()).is_some() {
            let origin = envoy.request_header(ORIGIN.as_bytes()).unwrap_or_default();
            let origin = HeaderValue::Owned(String::from_utf8_lossy(&origin).into_owned());
            let mut headers = Vec::with_capacity(1 + self.config.preflight_headers.len());
            headers.push((HeaderValue::Static(ALLOW_ORIGIN), origin));
            headers.extend(self.config.preflight_headers.iter().cloned());
            envoy.send_headers(204, headers);
            return HeadersStatus::StopIteration;
        }
        self.origin = envoy.request_header(ORIGIN.as_bytes());
        HeadersStatus::Continue
    }

    fn on_response_headers(&mut self, envoy: &mut FilterHandle<'_>) -> HeadersStatus {
        if let Some(origin) = self.origin.take() {
            envoy.add_response_header(ALLOW_ORIGIN.as_bytes(), &origin);
            for (name, value) in &self.config.response_headers {
                envoy.add_response_header(name.as_bytes(), value.as_bytes());
            }
        }
        HeadersStatus::Continue
    }
}
