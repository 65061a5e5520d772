//! The proxy-wasm layer: reads the configuration and the headers a decision needs, as
//! bytes, and applies the decision. Every CORS rule lives in the host-independent modules.
//!
//! The SDK gives the ABI's exports and its contexts; every call to the host goes through
//! [`calls`], which returns the host's status rather than panicking on it, and each failed
//! call is logged and gone past: a panic would abort the VM, and Envoy would answer every
//! later request 503.

mod calls;
mod header_map;
mod metrics;

use super::steps::{self, Level, Log};
use crate::cors::{Action, AllowedOrigin, Edit, LocalResponse, RequestView, ResponsePlan};
use crate::policy::Config;
use ::proxy_wasm::traits::{Context, HttpContext, RootContext};
use ::proxy_wasm::types::{Action as HostAction, ContextType};
use calls::Map;
use header_map::HeaderMap;
use log::error;
use metrics::Counters;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::rc::Rc;

::proxy_wasm::main! {{
    logger::install();
    ::proxy_wasm::set_root_context(|_| Box::new(CorsRoot { config: None, counters: Rc::default() }));
}}

/// The `log` crate's lines to the host's log, at the host's level. Ours rather than the SDK's
/// logger, which unwraps the status of every line (and of its panic hook's).
mod logger {
    use super::calls;

    struct HostLog;

    impl log::Log for HostLog {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.level() <= log::max_level()
        }

        fn log(&self, record: &log::Record) {
            if self.enabled(record.metadata()) {
                // A line the host refuses cannot be logged either.
                let code = calls::log_level_code(record.level());
                let _ = calls::log(code, &record.args().to_string());
            }
        }

        fn flush(&self) {}
    }

    static HOST_LOG: HostLog = HostLog;

    /// Info until the host says its level ([`follow_host_level`]); a panic, which aborts
    /// the module, is logged first at critical level.
    pub fn install() {
        if log::set_logger(&HOST_LOG).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
            std::panic::set_hook(Box::new(|panic| {
                let _ = calls::log(5, &panic.to_string());
            }));
        }
    }

    /// The host's level: 0 trace ... 4 error, 5 critical (nothing of ours is critical).
    pub fn follow_host_level() {
        match calls::log_level() {
            Ok(level) => log::set_max_level(match level {
                0 => log::LevelFilter::Trace,
                1 => log::LevelFilter::Debug,
                2 => log::LevelFilter::Info,
                3 => log::LevelFilter::Warn,
                4 => log::LevelFilter::Error,
                _ => log::LevelFilter::Off,
            }),
            Err(status) => log::error!("cors-wasm: the host did not give its log level: {status}"),
        }
    }
}

/// The [`steps`]' log: the `log` crate's, which [`logger`] sends to the host.
struct HostLog;

impl Log for HostLog {
    fn write(&self, level: Level, line: &str) {
        log::log!(log_level(level), "{line}");
    }

    fn enabled(&self, level: Level) -> bool {
        log::log_enabled!(log_level(level))
    }
}

fn log_level(level: Level) -> log::Level {
    match level {
        Level::Debug => log::Level::Debug,
        Level::Info => log::Level::Info,
        Level::Warn => log::Level::Warn,
        Level::Error => log::Level::Error,
    }
}

struct CorsRoot {
    config: Option<Rc<Config>>,
    counters: Rc<Counters>,
}

impl Context for CorsRoot {}

impl RootContext for CorsRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        logger::follow_host_level();
        let bytes = match calls::buffer(calls::PLUGIN_CONFIGURATION) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                error!("cors-wasm: the host did not give the plugin configuration: {status}");
                Vec::new()
            }
        };
        // Only for the log line: a host that does not tell the time gets 0 ms.
        let started = calls::current_time_ns()
            .map_err(|status| error!("cors-wasm: the host did not give the time: {status}"))
            .ok();
        let Some(config) = steps::configure(&bytes, &HostLog) else {
            return false;
        };
        let finished = started.and_then(|_| calls::current_time_ns().ok());
        let took = started
            .zip(finished)
            .map(|(start, end)| std::time::Duration::from_nanos(end.saturating_sub(start)))
            .unwrap_or_default();
        steps::log_configured(&HostLog, &config, took);
        self.counters.flush();
        self.counters = Rc::new(Counters::define(&config));
        let period = metrics::FLUSH_PERIOD.as_millis() as u32;
        if let Err(status) = calls::set_tick_period_ms(period) {
            error!("cors-wasm: no timer for flushing counters: {status}");
        }
        self.config = Some(Rc::new(config));
        true
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
        let evaluation = steps::decide(config, &HostRequest::default(), &HostLog);
        self.counters.count(&evaluation);
        if let Some(line) = steps::record(config, &evaluation) {
            // Envoy keeps it as filter state `wasm.cors_wasm`; failing to is not a reason
            // to treat the request differently, only to say so.
            if let Err(status) = calls::set_property(b"cors_wasm", line.as_bytes()) {
                error!("cors-wasm: the host refused the decision's filter state: {status}");
            }
        }
        match evaluation.action {
            Action::Nothing => HostAction::Continue,
            Action::Decorate(plan) => {
                self.plan = Some(plan);
                HostAction::Continue
            }
            Action::Respond(response) => {
                if send(&response) {
                    return HostAction::Pause;
                }
                // Paused without a reply, the stream would wait for nothing. It goes on, and
                // its response gets no CORS header, the upstream's removed: the browser
                // reads that as a refusal.
                self.plan = evaluation.policy.map(|(_, policy)| ResponsePlan {
                    policy,
                    origin: AllowedOrigin::Denied,
                });
                HostAction::Continue
            }
        }
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> HostAction {
        if let Some(plan) = self.plan.take() {
            let headers = read_header_map(Map::ResponseHeaders);
            plan.each_edit(headers.pairs(), apply);
        }
        HostAction::Continue
    }
}

/// The request's headers, one host call each, until the decision expects several more (a
/// preflight, or policies matching on host or path): then from one read of the whole map.
/// Each call costs Envoy more than its work, and one that hands back a value makes Envoy call
/// back into the module for its memory. Read this way, an actual request and a request
/// without `Origin` make the wasm floor's two reads, and a preflight its read of
/// `Access-Control-Request-Method` and then the map; the map read first made every request
/// pay for it (bench/analysis.md).
#[derive(Default)]
struct HostRequest {
    all: OnceCell<HeaderMap>,
}

impl RequestView for HostRequest {
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        self.header_ref(name).map(Cow::into_owned)
    }

    fn header_ref(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        if let Some(all) = self.all.get() {
            // The first value, as Envoy's single-header read gives it.
            return all.first(name.as_bytes()).map(Cow::Borrowed);
        }
        let value = calls::header(Map::RequestHeaders, name).unwrap_or_else(|status| {
            error!("cors-wasm: the host refused to read request header {name}: {status}");
            None
        });
        value.map(Cow::Owned)
    }

    fn route_name(&self) -> Option<Vec<u8>> {
        calls::property(b"xds\0route_name").unwrap_or_else(|status| {
            error!("cors-wasm: the host refused to read the route name: {status}");
            None
        })
    }

    fn expect_more_headers(&self) {
        self.all
            .get_or_init(|| read_header_map(Map::RequestHeaders));
    }
}

/// Whether the host took the local reply.
fn send(response: &LocalResponse) -> bool {
    let headers = response
        .headers
        .iter()
        .map(|(name, value)| (name.as_bytes(), value.as_bytes()));
    match calls::send_local_response(response.status, &header_map::serialize(headers)) {
        Ok(()) => true,
        Err(status) => {
            error!("cors-wasm: the host refused a local response: {status}");
            false
        }
    }
}

fn apply(edit: Edit) {
    let map = Map::ResponseHeaders;
    let result = match &edit {
        Edit::Set(name, value) => calls::replace_header(map, name, value.as_bytes()),
        Edit::Add(name, value) => calls::add_header(map, name, value.as_bytes()),
        Edit::Remove(name) => calls::remove_header(map, name),
    };
    if let Err(status) = result {
        error!(
            "cors-wasm: the host refused to {}: {status}",
            edit.describe()
        );
    }
}

/// A whole header map in one host call. The SDK's own reader copies every name and value,
/// insists on UTF-8 names and trusts every size; this reads in place, after checking each.
/// A map that the host refuses, or that does not add up, reads as empty.
fn read_header_map(map: Map) -> HeaderMap {
    let bytes = calls::header_map_pairs(map).unwrap_or_else(|status| {
        error!("cors-wasm: the host refused to read the {map:?} map: {status}");
        Vec::new()
    });
    HeaderMap::parse(bytes).unwrap_or_else(|| {
        error!("cors-wasm: the host sent a malformed {map:?} map");
        HeaderMap::default()
    })
}

#[cfg(test)]
mod tests {
    use super::header_map::{serialize, HeaderMap};
    use super::HostRequest;
    use crate::cors::RequestView;
    use std::borrow::Cow;
    use std::cell::OnceCell;

    #[test]
    fn once_the_map_is_read_every_header_comes_from_it() {
        let pairs = [
            (":scheme", "https"),
            (":method", "OPTIONS"),
            ("origin", "https://a.example"),
            ("x-custom", "1"),
            ("origin", "https://b.example"),
        ];
        let bytes = serialize(pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        let map = HeaderMap::parse(bytes).unwrap();
        let request = HostRequest {
            all: OnceCell::from(map),
        };
        // Natively every host call fails: each value here is the map's.
        request.expect_more_headers();
        assert_eq!(
            request.header("origin").as_deref(),
            Some(&b"https://a.example"[..])
        );
        assert!(matches!(
            request.header_ref(":method"),
            Some(Cow::Borrowed(b"OPTIONS"))
        ));
        assert_eq!(request.header("x-custom").as_deref(), Some(&b"1"[..]));
        assert_eq!(request.header(":path"), None);
        assert_eq!(request.header_ref("vary"), None);
    }
}
