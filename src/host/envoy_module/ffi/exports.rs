//! The `envoy_dynamic_module_on_*` symbols Envoy resolves in the .so.
//!
//! Envoy 1.40 refuses a filter config unless every hook below exists (it names the first
//! missing one). The glue is thin: it turns pointers into the objects `FilterConfig` /
//! `HttpFilter` and back, and catches every panic at the boundary, answering:
//! - `program_init`: null (Envoy unloads the module);
//! - `config_new`: null (Envoy refuses the filter config);
//! - `new`: a filter slot without a filter, so the request gets the answer below;
//! - request headers: a local `503` with an empty body, as Envoy answers when a wasm filter's
//!   VM fails with `fail_open: false`: no request passes unchecked. The filter is dropped;
//! - response headers: Continue, the response unchanged, and the filter is dropped;
//! - `config_destroy`/`destroy`: nothing (whatever was not freed is leaked).
//!
//! The hooks without a body (bodies, trailers, callouts, scheduling, watermarks) cannot panic:
//! they run no code but returning the "continue" value.

use super::{
    abi, copy_envoy_bytes, log, ConfigHandle, FilterConfig, FilterHandle, HttpFilter, LogLevel,
};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// The ABI version Envoy 1.40 expects (it logs "Dynamic module ABI version v0.2.0 matched.").
static ABI_VERSION: &[u8] = b"v0.2.0\0";

/// What `config_new` hands Envoy: a thin pointer to the boxed trait object.
struct ConfigSlot {
    config: Box<dyn FilterConfig>,
}

/// What `new` hands Envoy for one stream. `None` once the filter panicked (or never was).
/// The `RefCell` turns a re-entrant hook (Envoy calling us while a hook of ours runs) into a
/// skipped call rather than two `&mut` to one filter.
struct FilterSlot {
    filter: RefCell<Option<Box<dyn HttpFilter>>>,
}

/// Frees what a hook handed Envoy as `Box::into_raw`.
///
/// # Safety
/// `ptr` is null, or came from `Box::<T>::into_raw` and is not used again.
unsafe fn free<T>(ptr: *const std::ffi::c_void) {
    if !ptr.is_null() {
        // SAFETY: per the caller, a live `Box<T>` given up to Envoy, taken back once.
        drop(unsafe { Box::from_raw(ptr as *mut T) });
    }
}

/// Runs `f`, answering `on_panic` if it panics.
fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// Routes panic messages of this module to Envoy's log (instead of Rust's default stderr hook).
/// The hook is this .so's own (it has its own copy of std), so Envoy is not affected.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            log(
                LogLevel::Error,
                &format!("cors-wasm: panic caught at the Envoy boundary: {info}"),
            );
        }));
    });
}

// ------------------------------------------------------------------------------------------
// Program and config
// ------------------------------------------------------------------------------------------

/// `envoy_dynamic_module_on_program_init`: called once on the main thread after dlopen.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    guard(std::ptr::null(), || {
        install_panic_hook();
        ABI_VERSION.as_ptr().cast::<c_char>()
    })
}

/// `envoy_dynamic_module_on_http_filter_config_new`: main thread; null refuses the config.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    filter_config_envoy_ptr: abi::HttpFilterConfigEnvoyPtr,
    name: abi::EnvoyBuffer,
    config: abi::EnvoyBuffer,
) -> abi::HttpFilterConfigModulePtr {
    guard(std::ptr::null(), || {
        // SAFETY: Envoy lends both buffers for the duration of this hook (abi.h); copied now.
        let name = unsafe { copy_envoy_bytes(name.ptr, name.length) }.unwrap_or_default();
        // SAFETY: as above.
        let config = unsafe { copy_envoy_bytes(config.ptr, config.length) }.unwrap_or_default();
        let envoy = ConfigHandle {
            ptr: filter_config_envoy_ptr,
            _hook: PhantomData,
        };
        match super::super::new_config(&envoy, &name, &config) {
            Some(config) => {
                Box::into_raw(Box::new(ConfigSlot { config })) as abi::HttpFilterConfigModulePtr
            }
            None => std::ptr::null(),
        }
    })
}

/// `envoy_dynamic_module_on_http_filter_config_destroy`: frees what `config_new` returned.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(
    config_ptr: abi::HttpFilterConfigModulePtr,
) {
    // SAFETY: `config_ptr` is null or came from config_new; Envoy destroys a config once,
    // after the last filter holding it (each filter keeps a reference).
    guard((), || unsafe { free::<ConfigSlot>(config_ptr) })
}

// ------------------------------------------------------------------------------------------
// Per-stream filter
// ------------------------------------------------------------------------------------------

/// `envoy_dynamic_module_on_http_filter_new`: one per stream, on its worker thread.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config_ptr: abi::HttpFilterConfigModulePtr,
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
) -> abi::HttpFilterModulePtr {
    guard(std::ptr::null(), || {
        let filter = guard(None, || {
            // SAFETY: `config_ptr` is null or came from config_new and is alive: Envoy keeps
            // the config while filters are created from it. Shared across workers: Sync.
            let slot = unsafe { (config_ptr as *const ConfigSlot).as_ref() }?;
            Some(slot.config.new_filter())
        });
        Box::into_raw(Box::new(FilterSlot {
            filter: RefCell::new(filter),
        })) as abi::HttpFilterModulePtr
    })
}

/// `envoy_dynamic_module_on_http_filter_destroy`: frees what `new` returned.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_destroy(
    filter_ptr: abi::HttpFilterModulePtr,
) {
    // SAFETY: `filter_ptr` is null or came from `new`; Envoy destroys a filter once, after its
    // last hook, never from inside one (filters are deferred-deleted).
    guard((), || unsafe { free::<FilterSlot>(filter_ptr) })
}

/// `envoy_dynamic_module_on_http_filter_request_headers`.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    filter_ptr: abi::HttpFilterModulePtr,
    _end_of_stream: bool,
) -> abi::HeadersStatus {
    headers_hook(
        filter_envoy_ptr,
        filter_ptr,
        fail_closed,
        |filter, envoy| filter.on_request_headers(envoy),
    )
}

/// `envoy_dynamic_module_on_http_filter_response_headers`.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    filter_ptr: abi::HttpFilterModulePtr,
    _end_of_stream: bool,
) -> abi::HeadersStatus {
    headers_hook(
        filter_envoy_ptr,
        filter_ptr,
        |_| abi::HEADERS_STATUS_CONTINUE,
        |filter, envoy| filter.on_response_headers(envoy),
    )
}

/// A request whose filter is gone (it panicked, or could not be made): `503`, nothing more.
fn fail_closed(envoy: &mut FilterHandle<'_>) -> abi::HeadersStatus {
    envoy.send_local_reply(503);
    envoy.flush_reply();
    abi::HEADERS_STATUS_STOP_ITERATION
}

/// Calls one headers hook of the stream's filter; then sends the local reply it queued.
/// Without a filter, or when it panics, the answer is `on_failure`'s.
fn headers_hook(
    filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    filter_ptr: abi::HttpFilterModulePtr,
    on_failure: fn(&mut FilterHandle<'_>) -> abi::HeadersStatus,
    call: impl FnOnce(&mut dyn HttpFilter, &mut FilterHandle<'_>) -> super::HeadersStatus,
) -> abi::HeadersStatus {
    guard(abi::HEADERS_STATUS_CONTINUE, || {
        // SAFETY: `filter_ptr` is null or came from `new` and is not destroyed yet (Envoy only
        // calls a stream's hooks between its `new` and `destroy`, on one thread).
        let Some(slot) = (unsafe { (filter_ptr as *const FilterSlot).as_ref() }) else {
            return abi::HEADERS_STATUS_CONTINUE;
        };
        let mut envoy = FilterHandle::new(filter_envoy_ptr);
        let status = {
            let Ok(mut borrowed) = slot.filter.try_borrow_mut() else {
                log(LogLevel::Warn, "cors-wasm: re-entrant hook call skipped");
                return abi::HEADERS_STATUS_CONTINUE;
            };
            let Some(filter) = borrowed.as_mut() else {
                drop(borrowed);
                return on_failure(&mut envoy);
            };
            match catch_unwind(AssertUnwindSafe(|| call(filter.as_mut(), &mut envoy))) {
                Ok(status) => status,
                Err(_) => {
                    // Drop the filter (its state is unknown) and any reply it queued.
                    let dead = borrowed.take();
                    drop(borrowed);
                    guard((), move || drop(dead));
                    envoy.discard_reply();
                    return on_failure(&mut envoy);
                }
            }
        };
        if envoy.flush_reply() {
            return abi::HEADERS_STATUS_STOP_ITERATION;
        }
        status.raw()
    })
}

// ------------------------------------------------------------------------------------------
// Hooks Envoy requires that cors-wasm does not use
// ------------------------------------------------------------------------------------------

/// `envoy_dynamic_module_on_http_filter_request_body`: Continue.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_body(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _end_of_stream: bool,
) -> abi::BodyStatus {
    abi::BODY_STATUS_CONTINUE
}

/// `envoy_dynamic_module_on_http_filter_request_trailers`: Continue.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
) -> abi::TrailersStatus {
    abi::TRAILERS_STATUS_CONTINUE
}

/// `envoy_dynamic_module_on_http_filter_response_body`: Continue.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _end_of_stream: bool,
) -> abi::BodyStatus {
    abi::BODY_STATUS_CONTINUE
}

/// `envoy_dynamic_module_on_http_filter_response_trailers`: Continue.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
) -> abi::TrailersStatus {
    abi::TRAILERS_STATUS_CONTINUE
}

/// `envoy_dynamic_module_on_http_filter_stream_complete`: nothing (before destroy and access logs).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
) {
}

/// `envoy_dynamic_module_on_http_filter_http_callout_done`: nothing (no callouts are made).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _callout_id: u64,
    _result: abi::HttpCalloutResult,
    _headers: *mut abi::EnvoyHttpHeader,
    _headers_size: usize,
    _body_chunks: *mut abi::EnvoyBuffer,
    _body_chunks_size: usize,
) {
}

/// `envoy_dynamic_module_on_http_filter_http_stream_headers`: nothing (no streams are started).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _stream_id: u64,
    _headers: *mut abi::EnvoyHttpHeader,
    _headers_size: usize,
    _end_stream: bool,
) {
}

/// `envoy_dynamic_module_on_http_filter_http_stream_data`: nothing.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _stream_id: u64,
    _data: *const abi::EnvoyBuffer,
    _data_count: usize,
    _end_stream: bool,
) {
}

/// `envoy_dynamic_module_on_http_filter_http_stream_trailers`: nothing.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _stream_id: u64,
    _trailers: *mut abi::EnvoyHttpHeader,
    _trailers_size: usize,
) {
}

/// `envoy_dynamic_module_on_http_filter_http_stream_complete`: nothing.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _stream_id: u64,
) {
}

/// `envoy_dynamic_module_on_http_filter_http_stream_reset`: nothing.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _stream_id: u64,
    _reason: abi::HttpStreamResetReason,
) {
}

/// `envoy_dynamic_module_on_http_filter_scheduled`: nothing (nothing is scheduled).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
    _event_id: u64,
) {
}

/// `envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark`: nothing.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
) {
}

/// `envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark`: nothing.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
    _filter_envoy_ptr: abi::HttpFilterEnvoyPtr,
    _filter_ptr: abi::HttpFilterModulePtr,
) {
}
