//! The proxy-wasm layer: reads the configuration and the headers a decision needs, as
//! bytes, and applies the decision. Every CORS rule lives in the host-independent modules.

mod header_map;
mod metrics;

use crate::cors::{self, Action, Edit, LocalResponse, RequestView, ResponsePlan};
use crate::policy::Config;
use ::proxy_wasm::hostcalls;
use ::proxy_wasm::traits::{Context, HttpContext, RootContext};
use ::proxy_wasm::types::{Action as HostAction, BufferType, ContextType, LogLevel, MapType};
use header_map::HeaderMap;
use log::{debug, error, info, warn};
use metrics::Counters;
use std::cell::RefCell;
use std::rc::Rc;

::proxy_wasm::main! {{
    ::proxy_wasm::set_log_level(LogLevel::Info);
    ::proxy_wasm::set_root_context(|_| Box::new(CorsRoot { config: None, counters: Rc::default() }));
}}

struct CorsRoot {
    config: Option<Rc<Config>>,
    counters: Rc<Counters>,
}

impl Context for CorsRoot {}

impl RootContext for CorsRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        if let Ok(level) = hostcalls::get_log_level() {
            ::proxy_wasm::set_log_level(level);
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
                // u64 only: float (16 KB) and u128 (3 KB) formatting are large in wasm.
                let tenths_of_ms = took.as_secs() * 10_000 + u64::from(took.subsec_micros() / 100);
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
        let evaluation = cors::evaluate(config, &HostRequest::default());
        if log::log_enabled!(log::Level::Debug) {
            if let Some(line) = evaluation.denial_line() {
                debug!("{line}");
            }
        }
        self.counters.count(&evaluation);
        if config.record_decisions {
            if let Some(line) = evaluation.record() {
                // Envoy keeps it as filter state `wasm.cors_wasm`; failing to is not a reason
                // to treat the request differently.
                let _ = hostcalls::set_property(vec!["cors_wasm"], Some(line.as_bytes()));
            }
        }
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
            let headers = read_header_map(MapType::HttpResponseHeaders);
            plan.each_edit(headers.pairs(), apply);
        }
        HostAction::Continue
    }
}

/// The request's headers, one host call each, until the decision expects several more (a
/// preflight, or policies matching on host or path): then from one read of the whole map.
#[derive(Default)]
struct HostRequest {
    all: RefCell<Option<HeaderMap>>,
}

impl RequestView for HostRequest {
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        if let Some(all) = self.all.borrow().as_ref() {
            // The first value, as Envoy's single-header read gives it.
            return all.first(name.as_bytes()).map(<[u8]>::to_vec);
        }
        hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
            .ok()
            .flatten()
    }

    fn route_name(&self) -> Option<Vec<u8>> {
        hostcalls::get_property(vec!["xds", "route_name"])
            .ok()
            .flatten()
    }

    fn expect_more_headers(&self) {
        let mut all = self.all.borrow_mut();
        if all.is_none() {
            *all = Some(read_header_map(MapType::HttpRequestHeaders));
        }
    }
}

fn send(response: &LocalResponse) {
    let headers = response
        .headers
        .iter()
        .map(|(name, value)| (*name, &**value))
        .collect();
    if let Err(status) = hostcalls::send_http_response(response.status, headers, None) {
        error!("cors-wasm: the host refused a local response: {status:?}");
    }
}

fn apply(edit: Edit) {
    let result = match edit {
        Edit::Set(name, value) => hostcalls::set_map_value_bytes(
            MapType::HttpResponseHeaders,
            name,
            Some(value.as_bytes()),
        ),
        Edit::Add(name, value) => {
            hostcalls::add_map_value_bytes(MapType::HttpResponseHeaders, name, value.as_bytes())
        }
        Edit::Remove(name) => hostcalls::remove_map_value(MapType::HttpResponseHeaders, name),
    };
    if let Err(status) = result {
        error!("cors-wasm: the host refused a header edit: {status:?}");
    }
}

/// A whole header map in one host call. The SDK's own reader copies every name and value,
/// insists on UTF-8 names and trusts every size; this reads in place, after checking each.
/// A map that does not add up reads as empty.
fn read_header_map(map: MapType) -> HeaderMap {
    let bytes = raw::header_map_pairs(map as i32);
    HeaderMap::parse(bytes).unwrap_or_else(|| {
        error!("cors-wasm: the host sent a malformed {map:?} map");
        HeaderMap::default()
    })
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
