//! Benchmark builds only (`--features bench-floor`, made by `./build.sh bench`, never
//! shipped): the least work any dynamic-module CORS filter does, through the same FFI layer.
//! It reads `Access-Control-Request-Method`, answers a request carrying it with a bare 204
//! and `Access-Control-Allow-Origin`, and otherwise reads `Origin` and adds that header to the
//! response. No policy, no `Vary`: the measure of what the dynamic-module ABI costs in Envoy,
//! as bench/noop's `floor` is for wasm.

use super::ffi::{ConfigHandle, FilterConfig, FilterHandle, HeadersStatus, HttpFilter};

/// Takes the place of the real filter's `new_config`: any configuration will do.
pub fn new_config(_: &ConfigHandle<'_>, _: &[u8], _: &[u8]) -> Option<Box<dyn FilterConfig>> {
    Some(Box::new(FloorConfig))
}

struct FloorConfig;

impl FilterConfig for FloorConfig {
    fn new_filter(&self) -> Box<dyn HttpFilter> {
        Box::new(FloorFilter { origin: None })
    }
}

struct FloorFilter {
    origin: Option<Vec<u8>>,
}

impl HttpFilter for FloorFilter {
    fn on_request_headers(&mut self, envoy: &mut FilterHandle<'_>) -> HeadersStatus {
        if envoy
            .request_header(b"access-control-request-method")
            .is_some()
        {
            let origin = envoy.request_header(b"origin").unwrap_or_default();
            envoy.send_headers(204, &[("access-control-allow-origin", &origin)]);
            return HeadersStatus::StopIteration;
        }
        self.origin = envoy.request_header(b"origin");
        HeadersStatus::Continue
    }

    fn on_response_headers(&mut self, envoy: &mut FilterHandle<'_>) -> HeadersStatus {
        if let Some(origin) = self.origin.take() {
            envoy.set_response_header(b"access-control-allow-origin", &origin);
        }
        HeadersStatus::Continue
    }
}
