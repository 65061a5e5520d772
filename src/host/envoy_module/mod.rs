//! The Envoy dynamic-module layer: the same filter as a native shared library that Envoy
//! loads with `envoy.filters.http.dynamic_modules`. Like the proxy-wasm layer, it reads the
//! configuration and the headers a decision needs, as bytes, and carries out the decision;
//! every CORS rule lives in [`crate::cors`]. All `unsafe` code is in [`ffi`].
//!
//! Counters are Envoy's, per policy: `dynamicmodulescustom.cors_wasm.<policy>.<counter>`.
//! Log lines go to Envoy's `dynamic_modules` logger.

#![deny(unsafe_code)]
// The benchmark's floor build replaces the filter, leaving the rest unused.
#![cfg_attr(cors_wasm_bench_floor, allow(dead_code, unused_imports))]

#[allow(unsafe_code)]
mod ffi;
#[cfg(cors_wasm_bench_floor)]
mod floor;
#[cfg(cors_wasm_bench_floor)]
use floor::new_config;
#[cfg(cors_wasm_panic_probe)]
mod panic_probe;

use super::steps::{self, Level, Log};
use crate::cors::{
    Action, Counter, Evaluation, HeaderEdit, LocalResponse, RequestView, ResponsePlan,
};
use crate::policy::Config;
use ffi::{log, log_enabled, ConfigHandle, CounterId, FilterConfig, FilterHandle, HeadersStatus};
use ffi::{HttpFilter, LogLevel};
use std::cell::OnceCell;
use std::sync::Arc;
use std::time::Instant;

/// Envoy's `filter_config`, validated: a `StringValue`'s text, or the JSON text Envoy makes
/// of a `Struct`. `None` (every error logged) makes Envoy refuse the filter.
#[cfg(not(cors_wasm_bench_floor))]
fn new_config(
    envoy: &ConfigHandle<'_>,
    name: &[u8],
    bytes: &[u8],
) -> Option<Box<dyn FilterConfig>> {
    #[cfg(cors_wasm_panic_probe)]
    panic_probe::at_configure(name);
    let _ = name; // Envoy's label for this filter: cors-wasm needs none.
    let started = Instant::now();
    let config = steps::configure(bytes, &EnvoyLog)?;
    let counters = config
        .policies
        .iter()
        .map(|policy| {
            Counter::ALL.map(|counter| {
                envoy.define_counter(&format!("cors_wasm.{}.{}", policy.name, counter.name()))
            })
        })
        .collect();
    steps::log_configured(&EnvoyLog, &config, started.elapsed());
    Some(Box::new(Arc::new(CorsConfig { config, counters })))
}

/// The [`steps`]' log: Envoy's `dynamic_modules` logger.
struct EnvoyLog;

impl Log for EnvoyLog {
    fn write(&self, level: Level, line: &str) {
        log(log_level(level), line);
    }

    fn enabled(&self, level: Level) -> bool {
        log_enabled(log_level(level))
    }
}

fn log_level(level: Level) -> LogLevel {
    match level {
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    }
}

/// One filter configuration, shared by every worker thread and every stream.
struct CorsConfig {
    config: Config,
    /// Each policy's counters, in the order of [`Counter::ALL`].
    counters: Vec<[Option<CounterId>; Counter::ALL.len()]>,
}

impl FilterConfig for Arc<CorsConfig> {
    fn new_filter(&self) -> Box<dyn HttpFilter> {
        Box::new(CorsFilter {
            shared: Arc::clone(self),
            plan: None,
        })
    }
}

/// One stream: the plan for its response, if its request was decorated.
struct CorsFilter {
    shared: Arc<CorsConfig>,
    plan: Option<ResponsePlan>,
}

impl HttpFilter for CorsFilter {
    fn on_request_headers(&mut self, envoy: &mut FilterHandle<'_>) -> HeadersStatus {
        #[cfg(cors_wasm_panic_probe)]
        panic_probe::at(envoy, "request");
        let config = &self.shared.config;
        let evaluation = steps::decide(config, &EnvoyRequest::new(envoy), &EnvoyLog);
        self.count(envoy, &evaluation);
        if let Some(line) = steps::record(config, &evaluation) {
            envoy.set_filter_state(b"cors_wasm", line.as_bytes());
        }
        match evaluation.action {
            Action::Nothing => HeadersStatus::Continue,
            Action::Decorate(plan) => {
                self.plan = Some(plan);
                HeadersStatus::Continue
            }
            Action::Respond(LocalResponse { status, headers }) => {
                envoy.send_headers(status, headers);
                HeadersStatus::StopIteration
            }
        }
    }

    fn on_response_headers(&mut self, envoy: &mut FilterHandle<'_>) -> HeadersStatus {
        #[cfg(cors_wasm_panic_probe)]
        panic_probe::at(envoy, "response");
        if let Some(plan) = self.plan.take() {
            // Decided on Envoy's own bytes, then applied once they are no longer borrowed.
            let edits = plan.edits(envoy.response_headers());
            for edit in edits {
                apply(envoy, edit);
            }
        }
        HeadersStatus::Continue
    }
}

impl CorsFilter {
    fn count(&self, envoy: &FilterHandle<'_>, evaluation: &Evaluation) {
        let (Some((policy, _)), Some(counter)) = (&evaluation.policy, evaluation.outcome.counter())
        else {
            return;
        };
        let id = self
            .shared
            .counters
            .get(*policy)
            .and_then(|row| row.get(counter.slot()))
            .copied()
            .flatten();
        if let Some(id) = id {
            envoy.increment_counter(id, 1);
        }
    }
}

/// The request's headers, one call each, until the decision expects several more (a
/// preflight, or policies matching on host or path): then from one borrowed view of the map,
/// which costs Envoy no lookup and no copy of a header name per read.
struct EnvoyRequest<'a, 'h> {
    envoy: &'a FilterHandle<'h>,
    all: OnceCell<Vec<(&'a [u8], &'a [u8])>>,
}

impl<'a, 'h> EnvoyRequest<'a, 'h> {
    fn new(envoy: &'a FilterHandle<'h>) -> Self {
        EnvoyRequest {
            envoy,
            all: OnceCell::new(),
        }
    }
}

impl RequestView for EnvoyRequest<'_, '_> {
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        let Some(all) = self.all.get() else {
            return self.envoy.request_header(name.as_bytes());
        };
        // The first value, as Envoy's single-header read gives it.
        all.iter()
            .find(|(key, _)| *key == name.as_bytes())
            .map(|(_, value)| value.to_vec())
    }

    fn route_name(&self) -> Option<Vec<u8>> {
        self.envoy.route_name()
    }

    fn expect_more_headers(&self) {
        self.all.get_or_init(|| self.envoy.request_headers());
    }
}

fn apply(envoy: &mut FilterHandle<'_>, edit: HeaderEdit) {
    let done = match &edit {
        HeaderEdit::Set(name, value) => {
            envoy.set_response_header(name.as_bytes(), value.as_bytes())
        }
        HeaderEdit::Add(name, value) => {
            envoy.add_response_header(name.as_bytes(), value.as_bytes())
        }
        HeaderEdit::Remove(name) => envoy.remove_response_header(name.as_bytes()),
    };
    if !done {
        // Envoy says no more than that: it refuses only when there is no response header map.
        let line = format!("cors-wasm: Envoy refused to {}", edit.describe());
        log(LogLevel::Error, &line);
    }
}
