//! The safe face of Envoy's dynamic-module ABI, and (in `exports`) the hooks Envoy calls.
//!
//! With `abi`, the dynamic-module host's only `unsafe` code. The filter above it implements
//! [`FilterConfig`] and [`HttpFilter`] and talks to Envoy through [`ConfigHandle`],
//! [`FilterHandle`], [`log`] and [`log_enabled`].
//!
//! The invariants every `unsafe` block here relies on:
//! - a `ConfigHandle` / `FilterHandle` holds the pointer Envoy passed to the hook that created
//!   it, and cannot outlive that hook: only `exports` can build one, and it only lends it (by
//!   `&` / `&mut`) to the filter for the duration of the call;
//! - bytes Envoy lends us (header values, the config, attribute values) are copied into `Vec`s
//!   before the hook returns and before any setter is called;
//! - bytes we lend Envoy live in a Rust borrow for the whole call.
//!
//! Threads: `config_new`/`config_destroy` run on Envoy's main thread; each stream's filter is
//! created, called and destroyed on one worker thread; one config serves every worker, hence
//! `FilterConfig: Send + Sync`.

use std::marker::PhantomData;
use std::os::raw::c_char;

mod abi;
mod exports;

// ------------------------------------------------------------------------------------------
// What a filter implements
// ------------------------------------------------------------------------------------------

/// One filter configuration, shared by every worker thread.
pub trait FilterConfig: Send + Sync {
    /// A filter for one new HTTP stream (called on that stream's worker thread).
    fn new_filter(&self) -> Box<dyn HttpFilter>;
}

/// A filter for one HTTP stream. When a hook panics, the filter is dropped (its later hooks
/// are not called) and the stream gets the answer `exports` gives: `503` to the request, the
/// response unchanged.
pub trait HttpFilter {
    /// The request headers arrived.
    fn on_request_headers(&mut self, envoy: &mut FilterHandle<'_>) -> HeadersStatus;

    /// The response headers are on their way downstream: the upstream's, or a local reply made
    /// by a later filter or the router (`direct_response`); not this filter's own local reply.
    fn on_response_headers(&mut self, envoy: &mut FilterHandle<'_>) -> HeadersStatus;
}

/// What a headers hook tells Envoy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadersStatus {
    Continue,
    StopIteration,
}

impl HeadersStatus {
    fn raw(self) -> abi::HeadersStatus {
        match self {
            HeadersStatus::Continue => abi::HEADERS_STATUS_CONTINUE,
            HeadersStatus::StopIteration => abi::HEADERS_STATUS_STOP_ITERATION,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Logging
// ------------------------------------------------------------------------------------------

/// Envoy log levels. Lines go to Envoy's `dynamic_modules` logger: shown by
/// `--component-log-level dynamic_modules:LEVEL` (or `-l LEVEL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn raw(self) -> abi::LogLevel {
        match self {
            LogLevel::Debug => 1,
            LogLevel::Info => 2,
            LogLevel::Warn => 3,
            LogLevel::Error => 4,
        }
    }
}

/// Logs `message` at `level` (Envoy drops it when the level is off).
pub fn log(level: LogLevel, message: &str) {
    // SAFETY: the buffer borrows `message` for the duration of the call; Envoy formats the line
    // before returning. Callable from any thread.
    unsafe {
        abi::envoy_dynamic_module_callback_log(level.raw(), module_buffer(message.as_bytes()))
    }
}

/// Whether a line at `level` would be logged (to skip building it when not).
pub fn log_enabled(level: LogLevel) -> bool {
    // SAFETY: takes a plain integer; callable from any thread.
    unsafe { abi::envoy_dynamic_module_callback_log_enabled(level.raw()) }
}

// ------------------------------------------------------------------------------------------
// Config side
// ------------------------------------------------------------------------------------------

/// A counter defined at config time; valid for filters created from that config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterId(usize);

/// Envoy's side of a filter config, lent to [`NewFilterConfig`] for the duration of the call.
pub struct ConfigHandle<'a> {
    ptr: abi::HttpFilterConfigEnvoyPtr,
    _hook: PhantomData<&'a ()>,
}

impl ConfigHandle<'_> {
    /// Defines a counter, shown in Envoy's stats as `dynamicmodulescustom.NAME` (the default
    /// `metrics_namespace`). Only possible while the config is being built; `None` if refused.
    pub fn define_counter(&self, name: &str) -> Option<CounterId> {
        let mut id: usize = 0;
        // SAFETY: `self.ptr` is the config pointer of the running config_new hook; the name
        // buffer borrows `name` for the call; no labels (null, 0); `id` is a valid place.
        let result = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_config_define_counter(
                self.ptr,
                module_buffer(name.as_bytes()),
                std::ptr::null_mut(),
                0,
                &mut id,
            )
        };
        (result == abi::METRICS_RESULT_SUCCESS).then_some(CounterId(id))
    }
}

// ------------------------------------------------------------------------------------------
// Filter side
// ------------------------------------------------------------------------------------------

/// Envoy's side of one stream, lent to a hook of [`HttpFilter`]. Header names are lowercase
/// bytes; values are bytes, not necessarily UTF-8.
pub struct FilterHandle<'a> {
    ptr: abi::HttpFilterEnvoyPtr,
    pending_reply: Option<LocalReply>,
    _hook: PhantomData<&'a mut ()>,
}

/// A local reply queued by [`FilterHandle::send_headers`] or
/// [`FilterHandle::send_local_reply`], sent when the hook returns.
enum LocalReply {
    /// Response headers and no body, sent down the encoder filters (`encodeHeaders`).
    Headers(u32, Box<dyn ReplyHeaders>),
    /// Envoy's local reply of this status, empty (`sendLocalReply`).
    Status(u32),
}

/// The headers of a queued reply, owned by it until Envoy has copied them: moved in, not
/// copied, since each copy is an allocation on every preflight.
trait ReplyHeaders {
    /// Views of `:status` and then each header (lowercase name, value) for Envoy, borrowing
    /// `status` and `self`.
    fn views(&self, status: &[u8]) -> Vec<abi::ModuleHttpHeader>;
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> ReplyHeaders for Vec<(K, V)> {
    fn views(&self, status: &[u8]) -> Vec<abi::ModuleHttpHeader> {
        let headers = self
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_ref()));
        std::iter::once((&b":status"[..], status))
            .chain(headers)
            .map(|(key, value)| abi::ModuleHttpHeader {
                key_ptr: key.as_ptr().cast::<c_char>(),
                key_length: key.len(),
                value_ptr: value.as_ptr().cast::<c_char>(),
                value_length: value.len(),
            })
            .collect()
    }
}

impl FilterHandle<'_> {
    fn new(ptr: abi::HttpFilterEnvoyPtr) -> Self {
        FilterHandle {
            ptr,
            pending_reply: None,
            _hook: PhantomData,
        }
    }

    /// The first value of request header `name`.
    pub fn request_header(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.header(abi::HEADER_TYPE_REQUEST_HEADER, name)
    }

    /// Every request header entry, in order, borrowed from Envoy's map, not copied (see
    /// [`response_headers`](Self::response_headers)).
    pub fn request_headers(&self) -> Vec<(&[u8], &[u8])> {
        self.headers(abi::HEADER_TYPE_REQUEST_HEADER)
    }

    /// Every response header entry, in order, borrowed from Envoy's map, not copied. While
    /// they are borrowed, so is `self`, and every setter takes `&mut self`: the map cannot
    /// change under them.
    pub fn response_headers(&self) -> Vec<(&[u8], &[u8])> {
        self.headers(abi::HEADER_TYPE_RESPONSE_HEADER)
    }

    /// Replaces every value of response header `name` with `value`. Envoy 1.40 treats an empty
    /// value like a null one: the header is removed. False when there is no response header map.
    pub fn set_response_header(&mut self, name: &[u8], value: &[u8]) -> bool {
        self.set_header(abi::HEADER_TYPE_RESPONSE_HEADER, name, module_buffer(value))
    }

    /// Adds `value` to response header `name`, keeping any values it has: for a header the
    /// response lacks, cheaper for Envoy than a set, which first looks for values to remove.
    /// False when there is no response header map.
    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) -> bool {
        // SAFETY: `self.ptr` is the filter pointer of the running hook; the key and value
        // borrow caller slices for the call; Envoy copies both.
        unsafe {
            abi::envoy_dynamic_module_callback_http_add_header(
                self.ptr,
                abi::HEADER_TYPE_RESPONSE_HEADER,
                module_buffer(name),
                module_buffer(value),
            )
        }
    }

    /// Removes every value of response header `name` (the ABI's set_header with a null value).
    pub fn remove_response_header(&mut self, name: &[u8]) -> bool {
        self.set_header(abi::HEADER_TYPE_RESPONSE_HEADER, name, NULL_BUFFER)
    }

    /// Queues an answer of `status` with these headers and no body; it is sent when the
    /// current hook returns (the filter no longer borrowed while Envoy runs the encoder
    /// chain), and the hook then answers StopIteration whatever the filter returned. Sent with
    /// `send_response_headers`, Envoy's `encodeHeaders`, as its own CORS filter answers a
    /// preflight: cheaper than a local reply, and with exactly these headers. Meant for the
    /// request phase (tested there only).
    pub fn send_headers<K, V>(&mut self, status: u32, headers: Vec<(K, V)>)
    where
        K: AsRef<[u8]> + 'static,
        V: AsRef<[u8]> + 'static,
    {
        self.pending_reply = Some(LocalReply::Headers(status, Box::new(headers)));
    }

    /// Queues Envoy's own local reply of `status`, with an empty body (`send_response`), sent
    /// as [`send_headers`](Self::send_headers) is. Envoy does not call this filter's own
    /// response hook for it.
    pub fn send_local_reply(&mut self, status: u32) {
        self.pending_reply = Some(LocalReply::Status(status));
    }

    /// The name of the route Envoy matched (`xds.route_name`); `None` without a route or name.
    pub fn route_name(&self) -> Option<Vec<u8>> {
        let mut out = abi::EnvoyBuffer {
            ptr: std::ptr::null(),
            length: 0,
        };
        // SAFETY: `self.ptr` is the filter pointer of the running hook; `out` is a valid place
        // for the one buffer the 1.40 signature writes.
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_get_attribute_string(
                self.ptr,
                abi::ATTRIBUTE_XDS_ROUTE_NAME,
                &mut out,
            )
        };
        if !ok {
            return None;
        }
        // SAFETY: on success `out` points at Envoy-owned bytes valid during this hook; copied now.
        unsafe { copy_envoy_bytes(out.ptr, out.length) }
    }

    /// Sets the stream's filter state `key` to the string `value` (for the access log).
    pub fn set_filter_state(&self, key: &[u8], value: &[u8]) -> bool {
        // SAFETY: `self.ptr` is the filter pointer of the running hook; both buffers are
        // borrowed for the call only, and Envoy copies them.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_filter_state_bytes(
                self.ptr,
                module_buffer(key),
                module_buffer(value),
            )
        }
    }

    /// Adds `n` to a counter defined by this filter's config. False if Envoy refused.
    pub fn increment_counter(&self, id: CounterId, n: u64) -> bool {
        // SAFETY: `self.ptr` is the filter pointer of the running hook; the id came from
        // define_counter on this filter's config; no labels (null, 0), as defined.
        let result = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_increment_counter(
                self.ptr,
                id.0,
                std::ptr::null_mut(),
                0,
                n,
            )
        };
        result == abi::METRICS_RESULT_SUCCESS
    }

    fn header(&self, header_type: abi::HeaderType, name: &[u8]) -> Option<Vec<u8>> {
        let mut out = abi::EnvoyBuffer {
            ptr: std::ptr::null(),
            length: 0,
        };
        // SAFETY: `self.ptr` is the filter pointer of the running hook; the key borrows `name`
        // for the call; `out` is a valid place; optional_size may be null (abi.h).
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_get_header(
                self.ptr,
                header_type,
                module_buffer(name),
                &mut out,
                0,
                std::ptr::null_mut(),
            )
        };
        if !ok {
            return None;
        }
        // SAFETY: `out` is null (no such header) or points into Envoy's header map, valid until
        // the hook ends or a setter runs; copied now, before either.
        unsafe { copy_envoy_bytes(out.ptr, out.length) }
    }

    fn headers(&self, header_type: abi::HeaderType) -> Vec<(&[u8], &[u8])> {
        // SAFETY: `self.ptr` is the filter pointer of the running hook.
        let count = unsafe {
            abi::envoy_dynamic_module_callback_http_get_headers_size(self.ptr, header_type)
        };
        if count == 0 {
            return Vec::new();
        }
        let mut entries = vec![abi::EnvoyHttpHeader::EMPTY; count];
        // SAFETY: `entries` has room for the `count` entries Envoy reported for this map just now,
        // on this thread, with no change to the map in between.
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_get_headers(
                self.ptr,
                header_type,
                entries.as_mut_ptr(),
            )
        };
        if !ok {
            return Vec::new();
        }
        let mut headers = Vec::with_capacity(count);
        for entry in &entries {
            // SAFETY: each filled entry points into Envoy's header map, which stays as it is
            // while `self` is borrowed (setters need `&mut self`) and the hook runs (a handle
            // does not outlive it). Unfilled entries are null.
            let Some(key) = (unsafe { envoy_bytes(entry.key_ptr, entry.key_length) }) else {
                continue;
            };
            // SAFETY: as above.
            let value = unsafe { envoy_bytes(entry.value_ptr, entry.value_length) };
            headers.push((key, value.unwrap_or_default()));
        }
        headers
    }

    fn set_header(
        &mut self,
        header_type: abi::HeaderType,
        name: &[u8],
        value: abi::ModuleBuffer,
    ) -> bool {
        // SAFETY: `self.ptr` is the filter pointer of the running hook; the key borrows `name`,
        // the value borrows a caller slice or is the null buffer (= remove); Envoy copies both.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_header(
                self.ptr,
                header_type,
                module_buffer(name),
                value,
            )
        }
    }

    /// Forgets a queued local reply (of a hook that then panicked).
    fn discard_reply(&mut self) {
        self.pending_reply = None;
    }

    /// Sends the queued answer, if any. Returns whether one was sent.
    fn flush_reply(&mut self) -> bool {
        match self.pending_reply.take() {
            None => return false,
            Some(LocalReply::Headers(status, headers)) => {
                let status = status.to_string();
                let mut views = headers.views(status.as_bytes());
                // SAFETY: `self.ptr` is the filter pointer of the running hook; `views` and
                // the `status` and `headers` they point into live until after the call;
                // Envoy copies them.
                unsafe {
                    abi::envoy_dynamic_module_callback_http_send_response_headers(
                        self.ptr,
                        views.as_mut_ptr(),
                        views.len(),
                        true,
                    )
                }
            }
            // SAFETY: `self.ptr` is the filter pointer of the running hook; no headers (null,
            // 0), no body, no details.
            Some(LocalReply::Status(status)) => unsafe {
                abi::envoy_dynamic_module_callback_http_send_response(
                    self.ptr,
                    status,
                    std::ptr::null_mut(),
                    0,
                    NULL_BUFFER,
                    NULL_BUFFER,
                )
            },
        }
        true
    }
}

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

const NULL_BUFFER: abi::ModuleBuffer = abi::ModuleBuffer {
    ptr: std::ptr::null(),
    length: 0,
};

/// A buffer lending `bytes` to Envoy (never null, even when empty).
fn module_buffer(bytes: &[u8]) -> abi::ModuleBuffer {
    abi::ModuleBuffer {
        ptr: bytes.as_ptr().cast::<c_char>(),
        length: bytes.len(),
    }
}

/// Envoy-owned bytes, borrowed; `None` for a null pointer.
///
/// # Safety
/// `ptr` is null, or valid for reads of `length` bytes, unchanged, for as long as `'b`.
unsafe fn envoy_bytes<'b>(ptr: *const c_char, length: usize) -> Option<&'b [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null and, per the caller, valid for `length` bytes for `'b`; u8 has
    // alignment 1.
    Some(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), length) })
}

/// Copies Envoy-owned bytes; `None` for a null pointer.
///
/// # Safety
/// `ptr` is null, or valid for reads of `length` bytes for the duration of the call.
unsafe fn copy_envoy_bytes(ptr: *const c_char, length: usize) -> Option<Vec<u8>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null and, per the caller, valid for `length` bytes; u8 has alignment 1.
    Some(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), length) }.to_vec())
}
