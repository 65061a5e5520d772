//! The proxy-wasm layer: reads the configuration and the headers a decision needs, as
//! bytes, and applies the decision. Every CORS rule lives in the host-independent modules.

use crate::config::Config;
use crate::decision::{self, Action, Evaluation, LocalResponse, Outcome, RequestView};
use crate::metrics::{self, Counters};
use crate::response::{HeaderEdit, ResponsePlan};
use log::{debug, error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action as HostAction, BufferType, ContextType, LogLevel, MapType};
use std::cell::RefCell;
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(CorsRoot { config: None, counters: Rc::default() }));
}}

struct CorsRoot {
    config: Option<Rc<Config>>,
    counters: Rc<Counters>,
}

impl Context for CorsRoot {}

impl RootContext for CorsRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        if let Ok(level) = hostcalls::get_log_level() {
            proxy_wasm::set_log_level(level);
        }
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        let started = hostcalls::get_current_time().ok();
        match Config::parse(&bytes) {
            Ok(config) => {
                let finished = hostcalls::get_current_time().ok();
                let took = started
                    .zip(finished)
                    .and_then(|(start, end)| end.duration_since(start).ok())
                    .unwrap_or_default();
                for w in &config.warnings {
                    warn!("cors-wasm: configuration warning: {w}");
                }
                // Whole numbers only: float formatting would cost the module 15 KB.
                let tenths_of_ms = took.as_micros() / 100;
                info!(
                    "cors-wasm: configured {} policies in {}.{} ms",
                    config.policies.len(),
                    tenths_of_ms / 10,
                    tenths_of_ms % 10
                );
                self.counters.flush();
                self.counters = Rc::new(Counters::define(&config));
                if let Err(status) = hostcalls::set_tick_period(metrics::FLUSH_PERIOD) {
                    error!("cors-wasm: no timer for flushing counters: {status:?}");
                }
                self.config = Some(Rc::new(config));
                true
            }
            Err(errors) => {
                for e in errors.iter() {
                    error!("cors-wasm: invalid configuration: {e}");
                }
                false
            }
        }
    }

    fn on_tick(&mut self) {
        self.counters.flush();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CorsHttp {
            config: self.config.clone(),
            counters: Rc::clone(&self.counters),
            plan: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct CorsHttp {
    /// `None` only if the host runs requests on a plugin that never configured.
    config: Option<Rc<Config>>,
    counters: Rc<Counters>,
    plan: Option<ResponsePlan>,
}

impl Context for CorsHttp {}

impl HttpContext for CorsHttp {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> HostAction {
        let Some(config) = &self.config else {
            return HostAction::Continue;
        };
        let evaluation = decision::evaluate(config, &HostRequest::default());
        log_evaluation(&evaluation);
        self.counters.count(&evaluation);
        match evaluation.action {
            Action::Nothing => HostAction::Continue,
            Action::Decorate(plan) => {
                self.plan = Some(plan);
                HostAction::Continue
            }
            Action::Respond(response) => {
                send(&response);
                HostAction::Pause
            }
        }
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> HostAction {
        if let Some(plan) = self.plan.take() {
            let headers = response_headers();
            let pairs = headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice()));
            for edit in plan.edits(pairs) {
                apply(&edit);
            }
        }
        HostAction::Continue
    }
}

fn log_evaluation(evaluation: &Evaluation) {
    let (Some((_, policy)), Outcome::PreflightDenied(denial) | Outcome::ActualDenied(denial)) =
        (&evaluation.policy, &evaluation.outcome)
    else {
        return;
    };
    let report_only = if policy.report_only {
        " (report only)"
    } else {
        ""
    };
    debug!(
        "cors-wasm: policy {}: denied{report_only}: {denial}",
        policy.name
    );
}

/// Header names and values as the host serialized them.
type HeaderPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The request's headers, one host call each, until the request turns out to be a
/// preflight: a preflight needs several more, so they come from one read of the whole map.
#[derive(Default)]
struct HostRequest {
    all: RefCell<Option<HeaderPairs>>,
}

impl RequestView for HostRequest {
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        if let Some(all) = self.all.borrow().as_ref() {
            // The first value, as Envoy's single-header read gives it.
            let found = all.iter().find(|(n, _)| n.as_slice() == name.as_bytes());
            return found.map(|(_, v)| v.clone());
        }
        let value = hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
            .ok()
            .flatten();
        if name == "access-control-request-method" && value.is_some() {
            let bytes = raw::header_map_pairs(MapType::HttpRequestHeaders as i32);
            *self.all.borrow_mut() = parse_header_map(&bytes);
        }
        value
    }

    fn route_name(&self) -> Option<Vec<u8>> {
        hostcalls::get_property(vec!["xds", "route_name"])
            .ok()
            .flatten()
    }
}

fn send(response: &LocalResponse) {
    let headers = response
        .headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    if let Err(status) = hostcalls::send_http_response(response.status, headers, None) {
        error!("cors-wasm: the host refused a local response: {status:?}");
    }
}

fn apply(edit: &HeaderEdit) {
    let result = match edit {
        HeaderEdit::Set(name, value) => hostcalls::set_map_value_bytes(
            MapType::HttpResponseHeaders,
            name,
            Some(value.as_bytes()),
        ),
        HeaderEdit::Remove(name) => hostcalls::remove_map_value(MapType::HttpResponseHeaders, name),
    };
    if let Err(status) = result {
        error!("cors-wasm: the host refused a header edit: {status:?}");
    }
}

/// All response headers as byte pairs. The SDK's own reader insists on UTF-8 names and
/// trusts every length; this one checks each and stops at the first inconsistency.
fn response_headers() -> HeaderPairs {
    let bytes = raw::header_map_pairs(MapType::HttpResponseHeaders as i32);
    parse_header_map(&bytes).unwrap_or_default()
}

/// The proxy-wasm map serialization: a u32 count, count pairs of u32 sizes, then each
/// name and value followed by a NUL byte.
pub fn parse_header_map(bytes: &[u8]) -> Option<HeaderPairs> {
    let u32_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = u32_at(0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    let mut take = |len: usize| -> Option<Vec<u8>> {
        let item = bytes.get(data..data.checked_add(len)?)?.to_vec();
        data = data.checked_add(len + 1)?;
        Some(item)
    };
    let mut pairs = Vec::with_capacity(count.min(256));
    for i in 0..count {
        let name_len = u32_at(4 + i * 8)?;
        let value_len = u32_at(8 + i * 8)?;
        pairs.push((take(name_len)?, take(value_len)?));
    }
    Some(pairs)
}

#[cfg(target_arch = "wasm32")]
mod raw {
    #[link(wasm_import_module = "env")]
    extern "C" {
        fn proxy_get_header_map_pairs(map_type: i32, data: *mut *mut u8, size: *mut usize) -> u32;
    }

    /// The serialized map, or empty bytes when the host has none to give.
    pub fn header_map_pairs(map_type: i32) -> Vec<u8> {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: on success the host wrote a buffer it allocated through
        // proxy_on_memory_allocate (a Vec of exactly `size` bytes), which we now own.
        unsafe {
            if proxy_get_header_map_pairs(map_type, &mut data, &mut size) != 0 || data.is_null() {
                return Vec::new();
            }
            Vec::from_raw_parts(data, size, size)
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod raw {
    pub fn header_map_pairs(_map_type: i32) -> Vec<u8> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_header_map;

    fn serialize(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (n, v) in pairs {
            out.extend((n.len() as u32).to_le_bytes());
            out.extend((v.len() as u32).to_le_bytes());
        }
        for (n, v) in pairs {
            out.extend(n.bytes().chain([0]));
            out.extend(v.bytes().chain([0]));
        }
        out
    }

    #[test]
    fn parses_the_map_serialization() {
        let bytes = serialize(&[(":status", "200"), ("vary", "Accept")]);
        let pairs = parse_header_map(&bytes).unwrap();
        assert_eq!(pairs[1], (b"vary".to_vec(), b"Accept".to_vec()));
        assert_eq!(parse_header_map(&[]), Some(vec![]));
    }

    #[test]
    fn refuses_inconsistent_maps_at_every_length() {
        let bytes = serialize(&[("a", "b"), ("vary", "x")]);
        // Every cut short of the last value's NUL terminator loses data.
        for len in 1..bytes.len() - 1 {
            assert_eq!(parse_header_map(&bytes[..len]), None, "{len}");
        }
        assert_eq!(parse_header_map(&[0xff, 0xff, 0xff, 0xff]), None);
    }
}
