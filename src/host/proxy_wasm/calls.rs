//! The host calls the filter makes, each returning the host's status instead of panicking.
//!
//! Ours rather than the SDK's `hostcalls`: in proxy-wasm 0.2.5 nearly every wrapper panics on
//! a status it does not expect (`BadArgument` from a header call, say), and a panic aborts
//! the module, so the VM dies and every later request is answered 503. Its wrappers also
//! declare the imports as returning its `Status` enum, which has no member for several codes
//! a host may return (`Unimplemented`, 12): these are declared as returning `u32`. A status
//! other than `Ok` comes back as a [`Status`] for the caller to log and go on.

use std::fmt;

/// A proxy-wasm `WasmResult` other than `Ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u32);

pub const NOT_FOUND: Status = Status(1);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The ABI's names: <https://github.com/proxy-wasm/spec/tree/main/abi-versions>.
        let name = match self.0 {
            1 => "NotFound",
            2 => "BadArgument",
            3 => "SerializationFailure",
            4 => "ParseFailure",
            5 => "BadExpression",
            6 => "InvalidMemoryAccess",
            7 => "Empty",
            8 => "CasMismatch",
            9 => "ResultMismatch",
            10 => "InternalFailure",
            11 => "BrokenConnection",
            12 => "Unimplemented",
            _ => return write!(f, "status {}", self.0),
        };
        write!(f, "status {} ({name})", self.0)
    }
}

fn status(code: u32) -> Result<(), Status> {
    match code {
        0 => Ok(()),
        other => Err(Status(other)),
    }
}

/// Header map types.
#[derive(Debug, Clone, Copy)]
pub enum Map {
    RequestHeaders = 0,
    ResponseHeaders = 2,
}

pub const PLUGIN_CONFIGURATION: u32 = 7;
pub const COUNTER: u32 = 0;
pub const GAUGE: u32 = 1;

/// proxy-wasm log levels, in the order of `log`'s.
pub fn log_level_code(level: log::Level) -> u32 {
    match level {
        log::Level::Trace => 0,
        log::Level::Debug => 1,
        log::Level::Info => 2,
        log::Level::Warn => 3,
        log::Level::Error => 4,
    }
}

pub fn log(level: u32, message: &str) -> Result<(), Status> {
    // SAFETY: the host reads `message.len()` bytes at its pointer, which stay borrowed.
    status(unsafe { abi::proxy_log(level, message.as_ptr(), message.len()) })
}

/// The host's log level: 0 trace ... 4 error, 5 critical.
pub fn log_level() -> Result<u32, Status> {
    let mut level = 0u32;
    // SAFETY: the host writes one u32 where we point.
    status(unsafe { abi::proxy_get_log_level(&mut level) })?;
    Ok(level)
}

/// Nanoseconds since the Unix epoch, as the host tells it.
pub fn current_time_ns() -> Result<u64, Status> {
    let mut now = 0u64;
    // SAFETY: the host writes one u64 where we point.
    status(unsafe { abi::proxy_get_current_time_nanoseconds(&mut now) })?;
    Ok(now)
}

pub fn set_tick_period_ms(period: u32) -> Result<(), Status> {
    // SAFETY: no memory is shared.
    status(unsafe { abi::proxy_set_tick_period_milliseconds(period) })
}

/// A whole buffer (the plugin configuration); `None` when the host has none.
pub fn buffer(kind: u32) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
    // SAFETY: on success the host wrote a pointer to memory it allocated through our
    // proxy_on_memory_allocate (a Vec of exactly `size` bytes), and its size.
    let code = unsafe { abi::proxy_get_buffer_bytes(kind, 0, usize::MAX, &mut data, &mut size) };
    match status(code) {
        Err(NOT_FOUND) => Ok(None),
        result => {
            result?;
            // SAFETY: as above; a null pointer is no buffer.
            Ok(unsafe { owned(data, size) })
        }
    }
}

/// The first value of a header; `None` when the map has none.
pub fn header(map: Map, name: &str) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
    // SAFETY: the host reads the name, borrowed; on success it wrote a pointer to memory it
    // allocated through our proxy_on_memory_allocate, and its size.
    let code = unsafe {
        abi::proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), &mut data, &mut size)
    };
    match status(code) {
        Err(NOT_FOUND) => Ok(None),
        result => {
            result?;
            // SAFETY: as above; a null pointer is an empty value.
            Ok(Some(unsafe { owned(data, size) }.unwrap_or_default()))
        }
    }
}

/// A whole header map, serialized (`header_map::HeaderMap` reads it); empty when the host
/// gave nothing.
pub fn header_map_pairs(map: Map) -> Result<Vec<u8>, Status> {
    let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
    // SAFETY: on success the host wrote a pointer to memory it allocated through our
    // proxy_on_memory_allocate, and its size.
    status(unsafe { abi::proxy_get_header_map_pairs(map as u32, &mut data, &mut size) })?;
    // SAFETY: as above.
    Ok(unsafe { owned(data, size) }.unwrap_or_default())
}

pub fn replace_header(map: Map, name: &str, value: &[u8]) -> Result<(), Status> {
    // SAFETY: the host reads both, borrowed.
    status(unsafe {
        abi::proxy_replace_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

pub fn add_header(map: Map, name: &str, value: &[u8]) -> Result<(), Status> {
    // SAFETY: the host reads both, borrowed.
    status(unsafe {
        abi::proxy_add_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

pub fn remove_header(map: Map, name: &str) -> Result<(), Status> {
    // SAFETY: the host reads the name, borrowed.
    status(unsafe { abi::proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
}

/// A property by its path, given as the ABI wants it: segments each ended by a NUL but the
/// last (`b"xds\0route_name"`); `None` when the host has none.
pub fn property(path: &[u8]) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
    // SAFETY: the host reads the path, borrowed; on success it wrote a pointer to memory it
    // allocated through our proxy_on_memory_allocate, and its size.
    let code = unsafe { abi::proxy_get_property(path.as_ptr(), path.len(), &mut data, &mut size) };
    match status(code) {
        Err(NOT_FOUND) => Ok(None),
        result => {
            result?;
            // SAFETY: as above.
            Ok(unsafe { owned(data, size) })
        }
    }
}

/// Sets a property of the stream (Envoy keeps `cors_wasm` as filter state `wasm.cors_wasm`).
/// The path is as for [`property`].
pub fn set_property(path: &[u8], value: &[u8]) -> Result<(), Status> {
    // SAFETY: the host reads the path and the value, borrowed, during the call.
    status(unsafe {
        abi::proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len())
    })
}

/// A local reply with these headers (serialized as a map) and no body.
pub fn send_local_response(code: u32, headers: &[u8]) -> Result<(), Status> {
    // SAFETY: the host reads the headers, borrowed; null and 0 are "none" for the details
    // and the body; -1 is "not gRPC".
    status(unsafe {
        abi::proxy_send_local_response(
            code,
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    })
}

pub fn define_metric(kind: u32, name: &str) -> Result<u32, Status> {
    let mut id = 0u32;
    // SAFETY: the host reads the name, borrowed, and writes one u32 where we point.
    status(unsafe { abi::proxy_define_metric(kind, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

pub fn increment_metric(id: u32, by: i64) -> Result<(), Status> {
    // SAFETY: no memory is shared.
    status(unsafe { abi::proxy_increment_metric(id, by) })
}

pub fn record_metric(id: u32, value: u64) -> Result<(), Status> {
    // SAFETY: no memory is shared.
    status(unsafe { abi::proxy_record_metric(id, value) })
}

/// Takes ownership of what the host allocated through proxy_on_memory_allocate.
///
/// # Safety
/// `data` is null, or points at `size` bytes that the module's allocator gave out as a
/// `Vec<u8>` of capacity `size` and that nothing else owns.
unsafe fn owned(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    // SAFETY: as the caller promises.
    (!data.is_null()).then(|| unsafe { Vec::from_raw_parts(data, size, size) })
}

#[cfg(target_arch = "wasm32")]
mod abi {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn proxy_log(level: u32, data: *const u8, size: usize) -> u32;
        pub fn proxy_get_log_level(level: *mut u32) -> u32;
        pub fn proxy_get_current_time_nanoseconds(time: *mut u64) -> u32;
        pub fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
        pub fn proxy_get_buffer_bytes(
            kind: u32,
            start: usize,
            max_size: usize,
            data: *mut *mut u8,
            size: *mut usize,
        ) -> u32;
        pub fn proxy_get_header_map_value(
            map: u32,
            key: *const u8,
            key_size: usize,
            data: *mut *mut u8,
            size: *mut usize,
        ) -> u32;
        pub fn proxy_get_header_map_pairs(map: u32, data: *mut *mut u8, size: *mut usize) -> u32;
        pub fn proxy_replace_header_map_value(
            map: u32,
            key: *const u8,
            key_size: usize,
            value: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_add_header_map_value(
            map: u32,
            key: *const u8,
            key_size: usize,
            value: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_remove_header_map_value(map: u32, key: *const u8, key_size: usize) -> u32;
        pub fn proxy_get_property(
            path: *const u8,
            path_size: usize,
            data: *mut *mut u8,
            size: *mut usize,
        ) -> u32;
        #[allow(clippy::too_many_arguments)]
        pub fn proxy_set_property(
            path: *const u8,
            path_size: usize,
            value: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_send_local_response(
            status: u32,
            details: *const u8,
            details_size: usize,
            body: *const u8,
            body_size: usize,
            headers: *const u8,
            headers_size: usize,
            grpc_status: i32,
        ) -> u32;
        pub fn proxy_define_metric(
            kind: u32,
            name: *const u8,
            name_size: usize,
            id: *mut u32,
        ) -> u32;
        pub fn proxy_increment_metric(id: u32, offset: i64) -> u32;
        pub fn proxy_record_metric(id: u32, value: u64) -> u32;
    }
}

/// Native builds (unit tests) have no host: every call is `Unimplemented`.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc, clippy::too_many_arguments)]
mod abi {
    const UNIMPLEMENTED: u32 = 12;
    pub unsafe fn proxy_log(_: u32, _: *const u8, _: usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_log_level(_: *mut u32) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_current_time_nanoseconds(_: *mut u64) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_set_tick_period_milliseconds(_: u32) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_buffer_bytes(
        _: u32,
        _: usize,
        _: usize,
        _: *mut *mut u8,
        _: *mut usize,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_header_map_value(
        _: u32,
        _: *const u8,
        _: usize,
        _: *mut *mut u8,
        _: *mut usize,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_header_map_pairs(_: u32, _: *mut *mut u8, _: *mut usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_replace_header_map_value(
        _: u32,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_add_header_map_value(
        _: u32,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_remove_header_map_value(_: u32, _: *const u8, _: usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_get_property(
        _: *const u8,
        _: usize,
        _: *mut *mut u8,
        _: *mut usize,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_set_property(_: *const u8, _: usize, _: *const u8, _: usize) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_send_local_response(
        _: u32,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: i32,
    ) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_define_metric(_: u32, _: *const u8, _: usize, _: *mut u32) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_increment_metric(_: u32, _: i64) -> u32 {
        UNIMPLEMENTED
    }
    pub unsafe fn proxy_record_metric(_: u32, _: u64) -> u32 {
        UNIMPLEMENTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_with_their_abi_names() {
        assert_eq!(Status(2).to_string(), "status 2 (BadArgument)");
        assert_eq!(Status(12).to_string(), "status 12 (Unimplemented)");
        assert_eq!(Status(99).to_string(), "status 99");
    }

    #[test]
    fn natively_every_call_is_unimplemented_not_a_panic() {
        assert_eq!(header(Map::RequestHeaders, "origin"), Err(Status(12)));
        assert_eq!(header_map_pairs(Map::RequestHeaders), Err(Status(12)));
        assert_eq!(buffer(PLUGIN_CONFIGURATION), Err(Status(12)));
        assert_eq!(send_local_response(204, &[]), Err(Status(12)));
    }
}
