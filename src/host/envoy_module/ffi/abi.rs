//! Raw declarations of the part of Envoy's dynamic-module ABI this crate uses.
//!
//! Written by hand from `source/extensions/dynamic_modules/abi/abi.h` (envoyproxy/envoy) and
//! checked against the Envoy 1.40.0 binary (`nm -D --defined-only`, the disassembly of each
//! callback's argument use, and `run.sh` against a real Envoy). Only what the crate calls is
//! declared. Nothing here is safe to call directly: `host` wraps it.
//!
//! C enums are passed as their integer type (`u32`; every value is small and non-negative, and
//! the x86-64 / aarch64 C ABI passes and returns them as 32-bit integers).

use std::os::raw::{c_char, c_void};

// ------------------------------------------------------------------------------------------
// Opaque pointers
// ------------------------------------------------------------------------------------------

/// `envoy_dynamic_module_type_http_filter_config_envoy_ptr`: Envoy's `DynamicModuleHttpFilterConfig`.
pub type HttpFilterConfigEnvoyPtr = *mut c_void;
/// `envoy_dynamic_module_type_http_filter_config_module_ptr`: our config object (a `Box` we own).
pub type HttpFilterConfigModulePtr = *const c_void;
/// `envoy_dynamic_module_type_http_filter_envoy_ptr`: Envoy's per-stream `DynamicModuleHttpFilter`.
pub type HttpFilterEnvoyPtr = *mut c_void;
/// `envoy_dynamic_module_type_http_filter_module_ptr`: our per-stream filter object (a `Box`).
pub type HttpFilterModulePtr = *const c_void;

// ------------------------------------------------------------------------------------------
// Value types
// ------------------------------------------------------------------------------------------

/// `envoy_dynamic_module_type_module_buffer`: bytes owned by the module, lent to Envoy for a call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ModuleBuffer {
    pub ptr: *const c_char,
    pub length: usize,
}

/// `envoy_dynamic_module_type_envoy_buffer`: bytes owned by Envoy, lent to the module.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EnvoyBuffer {
    pub ptr: *const c_char,
    pub length: usize,
}

/// `envoy_dynamic_module_type_module_http_header`: a header the module passes to Envoy.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ModuleHttpHeader {
    pub key_ptr: *const c_char,
    pub key_length: usize,
    pub value_ptr: *const c_char,
    pub value_length: usize,
}

/// `envoy_dynamic_module_type_envoy_http_header`: a header in one of Envoy's header maps.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EnvoyHttpHeader {
    pub key_ptr: *const c_char,
    pub key_length: usize,
    pub value_ptr: *const c_char,
    pub value_length: usize,
}

impl EnvoyHttpHeader {
    /// An entry for Envoy to fill in.
    pub const EMPTY: Self = Self {
        key_ptr: std::ptr::null(),
        key_length: 0,
        value_ptr: std::ptr::null(),
        value_length: 0,
    };
}

/// `envoy_dynamic_module_type_http_header_type`: which header map a header callback works on.
pub type HeaderType = u32;
/// `envoy_dynamic_module_type_http_header_type_RequestHeader`.
pub const HEADER_TYPE_REQUEST_HEADER: HeaderType = 0;
/// `envoy_dynamic_module_type_http_header_type_ResponseHeader`.
pub const HEADER_TYPE_RESPONSE_HEADER: HeaderType = 2;

/// `envoy_dynamic_module_type_log_level` (Trace 0 .. Critical 5, Off 6).
pub type LogLevel = u32;

/// `envoy_dynamic_module_type_attribute_id` (CEL attribute names, see abi.h).
pub type AttributeId = u32;
/// `envoy_dynamic_module_type_attribute_id_XdsRouteName` (`xds.route_name`).
pub const ATTRIBUTE_XDS_ROUTE_NAME: AttributeId = 61;

/// `envoy_dynamic_module_type_metrics_result`.
pub type MetricsResult = u32;
/// `envoy_dynamic_module_type_metrics_result_Success`.
pub const METRICS_RESULT_SUCCESS: MetricsResult = 0;

/// `envoy_dynamic_module_type_on_http_filter_{request,response}_headers_status`.
pub type HeadersStatus = u32;
/// `..._headers_status_Continue`.
pub const HEADERS_STATUS_CONTINUE: HeadersStatus = 0;
/// `..._headers_status_StopIteration`.
pub const HEADERS_STATUS_STOP_ITERATION: HeadersStatus = 1;

/// `envoy_dynamic_module_type_on_http_filter_{request,response}_body_status`.
pub type BodyStatus = u32;
/// `..._body_status_Continue`.
pub const BODY_STATUS_CONTINUE: BodyStatus = 0;

/// `envoy_dynamic_module_type_on_http_filter_{request,response}_trailers_status`.
pub type TrailersStatus = u32;
/// `..._trailers_status_Continue`.
pub const TRAILERS_STATUS_CONTINUE: TrailersStatus = 0;

/// `envoy_dynamic_module_type_http_callout_result`.
pub type HttpCalloutResult = u32;
/// `envoy_dynamic_module_type_http_stream_reset_reason`.
pub type HttpStreamResetReason = u32;

// ------------------------------------------------------------------------------------------
// Callbacks Envoy exports (resolved from the Envoy executable when the .so is loaded)
// ------------------------------------------------------------------------------------------

extern "C" {
    /// `envoy_dynamic_module_callback_log`: log `message` under Envoy's `dynamic_modules` logger.
    pub fn envoy_dynamic_module_callback_log(level: LogLevel, message: ModuleBuffer);

    /// `envoy_dynamic_module_callback_log_enabled`: whether `level` is on for `dynamic_modules`.
    pub fn envoy_dynamic_module_callback_log_enabled(level: LogLevel) -> bool;

    /// `envoy_dynamic_module_callback_http_filter_config_define_counter` (only during config_new).
    pub fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
        name: ModuleBuffer,
        label_names: *mut ModuleBuffer,
        label_names_length: usize,
        counter_id_ptr: *mut usize,
    ) -> MetricsResult;

    /// `envoy_dynamic_module_callback_http_set_filter_state_bytes`: a string in the stream's
    /// filter state (Envoy's `StringAccessor`, which `%FILTER_STATE(key:PLAIN)%` prints).
    /// Older headers spelled each buffer as a pointer and a length: the same registers.
    pub fn envoy_dynamic_module_callback_http_set_filter_state_bytes(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    /// `envoy_dynamic_module_callback_http_filter_increment_counter`.
    pub fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> MetricsResult;

    /// `envoy_dynamic_module_callback_http_get_header`: value number `index` of header `key`.
    pub fn envoy_dynamic_module_callback_http_get_header(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        result_buffer: *mut EnvoyBuffer,
        index: usize,
        optional_size: *mut usize,
    ) -> bool;

    /// `envoy_dynamic_module_callback_http_get_headers_size`: number of entries in a header map.
    pub fn envoy_dynamic_module_callback_http_get_headers_size(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HeaderType,
    ) -> usize;

    /// `envoy_dynamic_module_callback_http_get_headers`: fills `get_headers_size` entries.
    pub fn envoy_dynamic_module_callback_http_get_headers(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HeaderType,
        result_headers: *mut EnvoyHttpHeader,
    ) -> bool;

    /// `envoy_dynamic_module_callback_http_set_header`: replace all values; a null value removes.
    pub fn envoy_dynamic_module_callback_http_set_header(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    /// `envoy_dynamic_module_callback_http_add_header`: add a value, keeping any others.
    pub fn envoy_dynamic_module_callback_http_add_header(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    /// `envoy_dynamic_module_callback_http_send_response`: send a local reply downstream.
    pub fn envoy_dynamic_module_callback_http_send_response(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        status_code: u32,
        headers_vector: *mut ModuleHttpHeader,
        headers_vector_size: usize,
        body: ModuleBuffer,
        details: ModuleBuffer,
    );

    /// `envoy_dynamic_module_callback_http_send_response_headers`: answer with these headers
    /// (`:status` among them), through the encoder filters, as Envoy's `encodeHeaders`.
    pub fn envoy_dynamic_module_callback_http_send_response_headers(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        headers_vector: *mut ModuleHttpHeader,
        headers_vector_size: usize,
        end_stream: bool,
    );

    /// `envoy_dynamic_module_callback_http_filter_get_attribute_string` (1.40: 3 arguments, the
    /// result is one `EnvoyBuffer`; older headers had a `char**` and a `size_t*`).
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_string(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        attribute_id: AttributeId,
        result: *mut EnvoyBuffer,
    ) -> bool;
}
