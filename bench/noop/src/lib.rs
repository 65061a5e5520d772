//! Two reference filters for the benchmark, built with the same SDK and release profile as
//! cors-wasm:
//! - by default, a filter whose every callback is the SDK's default: it continues and
//!   changes nothing (the floor any wasm filter pays);
//! - with the `floor` feature, the least work any wasm CORS filter does: it reads
//!   `Access-Control-Request-Method`, answers a request carrying it with a bare 204 and
//!   `Access-Control-Allow-Origin`, and otherwise reads `Origin` and adds that header to the
//!   response. No policy, no `Vary`, no look at the upstream's headers: not a CORS filter to
//!   use, only the measure of what reading a request header costs in Envoy.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| Box::new(Root));
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter { origin: None }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

#[allow(dead_code)]
struct Filter {
    origin: Option<Vec<u8>>,
}

impl Context for Filter {}

#[cfg(not(feature = "floor"))]
impl HttpContext for Filter {}

#[cfg(feature = "floor")]
impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> proxy_wasm::types::Action {
        use proxy_wasm::types::Action;
        if self.get_http_request_header_bytes("access-control-request-method").is_some() {
            let origin = self.get_http_request_header_bytes("origin").unwrap_or_default();
            let origin = String::from_utf8_lossy(&origin);
            let headers = vec![("access-control-allow-origin", origin.as_ref())];
            self.send_http_response(204, headers, None);
            return Action::Pause;
        }
        self.origin = self.get_http_request_header_bytes("origin");
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> proxy_wasm::types::Action {
        if let Some(origin) = self.origin.take() {
            self.add_http_response_header_bytes("access-control-allow-origin", &origin);
        }
        proxy_wasm::types::Action::Continue
    }
}
