//! The host functions: proxy-wasm ABI 0.2.1 (`env.proxy_*`) with Envoy's semantics, and
//! the WASI calls a wasip1 module makes. Each reads and writes the module's memory with
//! bounds checks, and a bad pointer is an error naming the function, never a crash.
//!
//! Every import of the module is linked: the ones below, and for anything else a function
//! that fails with its name when called. None quietly returns zeros.

use super::host::{Headers, LocalResponse, Log, Metric, MetricKind, State};
use wasmtime::{bail, format_err, Caller, Extern, ExternType, Linker, Module, Result, Store};

// proxy-wasm `WasmResult` codes.
const OK: i32 = 0;
const NOT_FOUND: i32 = 1;
const BAD_ARGUMENT: i32 = 2;

// Header map types.
const REQUEST_HEADERS: i32 = 0;
const RESPONSE_HEADERS: i32 = 2;

// Buffer types.
const VM_CONFIGURATION: i32 = 6;
const PLUGIN_CONFIGURATION: i32 = 7;

/// A fixed clock (2026-01-01T00:00:00Z), so runs are deterministic.
const NOW_NS: u64 = 1_767_225_600_000_000_000;

type C<'a> = Caller<'a, State>;

/// Links every import of `module`; returns the ones the host does not provide.
pub fn link(
    linker: &mut Linker<State>,
    store: &mut Store<State>,
    module: &Module,
) -> Result<Vec<String>> {
    proxy(linker)?;
    wasi(linker)?;
    let mut unprovided = Vec::new();
    for import in module.imports() {
        let (module_name, name) = (import.module(), import.name());
        let ExternType::Func(ty) = import.ty() else {
            bail!("the module imports {module_name}.{name}, which is not a function; the test host provides only functions");
        };
        if linker.get(&mut *store, module_name, name).is_ok() {
            continue;
        }
        let full = format!("{module_name}.{name}");
        unprovided.push(full.clone());
        linker.func_new(module_name, name, ty, move |_, _, _| {
            Err(format_err!(
                "the module called {full}, which the test host does not provide"
            ))
        })?;
    }
    Ok(unprovided)
}

fn proxy(l: &mut Linker<State>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_log",
        |mut c: C, level: i32, ptr: i32, size: i32| {
            if let Some(status) = refused(&mut c, "proxy_log") {
                return Ok(status);
            }
            let message = read(&mut c, "proxy_log", ptr, size)?;
            let message = String::from_utf8_lossy(&message).into_owned();
            c.data_mut().logs.push(Log {
                level: level as u32,
                message,
            });
            Ok(OK)
        },
    )?;
    l.func_wrap("env", "proxy_get_log_level", |mut c: C, ret: i32| {
        if let Some(status) = refused(&mut c, "proxy_get_log_level") {
            return Ok(status);
        }
        let level = c.data().log_level;
        write(&mut c, "proxy_get_log_level", ret, &level.to_le_bytes())?;
        Ok(OK)
    })?;
    l.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: C, ret: i32| {
            if let Some(status) = refused(&mut c, "proxy_get_current_time_nanoseconds") {
                return Ok(status);
            }
            write(
                &mut c,
                "proxy_get_current_time_nanoseconds",
                ret,
                &NOW_NS.to_le_bytes(),
            )?;
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut c: C, ms: i32| {
            if let Some(status) = refused(&mut c, "proxy_set_tick_period_milliseconds") {
                return Ok(status);
            }
            c.data_mut().tick_period_ms = ms as u32;
            Ok(OK)
        },
    )?;
    l.func_wrap("env", "proxy_set_effective_context", |mut c: C, id: i32| {
        if let Some(status) = refused(&mut c, "proxy_set_effective_context") {
            return Ok(status);
        }
        c.data_mut().effective_context = Some(id as u32);
        Ok(OK)
    })?;
    l.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: C, kind: i32, start: i32, max: i32, ret_ptr: i32, ret_size: i32| {
            if let Some(status) = refused(&mut c, "proxy_get_buffer_bytes") {
                return Ok(status);
            }
            let buffer = match kind {
                VM_CONFIGURATION => &c.data().vm_configuration,
                PLUGIN_CONFIGURATION => &c.data().plugin_configuration,
                _ => return Ok(BAD_ARGUMENT),
            };
            let start = (start as u32 as usize).min(buffer.len());
            let end = start.saturating_add(max as u32 as usize).min(buffer.len());
            if start == end {
                return Ok(NOT_FOUND);
            }
            let bytes = buffer[start..end].to_vec();
            give(&mut c, "proxy_get_buffer_bytes", &bytes, ret_ptr, ret_size)?;
            Ok(OK)
        },
    )?;
    headers(l)?;
    l.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: C, path_ptr: i32, path_size: i32, ret_ptr: i32, ret_size: i32| {
            if let Some(status) = refused(&mut c, "proxy_get_property") {
                return Ok(status);
            }
            let path = read(&mut c, "proxy_get_property", path_ptr, path_size)?;
            let Some(value) = c.data().properties.get(&property_path(&path)).cloned() else {
                return Ok(NOT_FOUND);
            };
            give(&mut c, "proxy_get_property", &value, ret_ptr, ret_size)?;
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_property",
        |mut c: C, path_ptr: i32, path_size: i32, value_ptr: i32, value_size: i32| {
            if let Some(status) = refused(&mut c, "proxy_set_property") {
                return Ok(status);
            }
            let path = read(&mut c, "proxy_set_property", path_ptr, path_size)?;
            let value = read(&mut c, "proxy_set_property", value_ptr, value_size)?;
            c.data_mut().properties.insert(property_path(&path), value);
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: C,
         status: i32,
         details_ptr: i32,
         details_size: i32,
         body_ptr: i32,
         body_size: i32,
         headers_ptr: i32,
         headers_size: i32,
         grpc_status: i32| {
            if let Some(status) = refused(&mut c, "proxy_send_local_response") {
                return Ok(status);
            }
            let f = "proxy_send_local_response";
            let details = read(&mut c, f, details_ptr, details_size)?;
            let body = read(&mut c, f, body_ptr, body_size)?;
            let serialized = read(&mut c, f, headers_ptr, headers_size)?;
            let mut headers = deserialize(&serialized)
                .ok_or_else(|| format_err!("{f}: the headers are not a valid serialized map"))?;
            headers
                .iter_mut()
                .for_each(|(name, _)| name.make_ascii_lowercase());
            c.data_mut().local_response = Some(LocalResponse {
                status: status as u32,
                details,
                body,
                headers,
                grpc_status,
            });
            Ok(OK)
        },
    )?;
    metrics(l)
}

/// Header maps with Envoy's semantics: names lower-case, a get returns the first value,
/// a replace leaves one value, a remove removes every value.
fn headers(l: &mut Linker<State>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: C, kind: i32, ret_ptr: i32, ret_size: i32| {
            if let Some(status) = refused(&mut c, "proxy_get_header_map_pairs") {
                return Ok(status);
            }
            let Some(map) = header_map(c.data_mut(), kind) else {
                return Ok(BAD_ARGUMENT);
            };
            let bytes = serialize(map);
            give(
                &mut c,
                "proxy_get_header_map_pairs",
                &bytes,
                ret_ptr,
                ret_size,
            )?;
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: C, kind: i32, ptr: i32, size: i32| {
            if let Some(status) = refused(&mut c, "proxy_set_header_map_pairs") {
                return Ok(status);
            }
            let f = "proxy_set_header_map_pairs";
            let bytes = read(&mut c, f, ptr, size)?;
            let mut pairs = deserialize(&bytes)
                .ok_or_else(|| format_err!("{f}: not a valid serialized map"))?;
            pairs
                .iter_mut()
                .for_each(|(name, _)| name.make_ascii_lowercase());
            let Some(map) = header_map(c.data_mut(), kind) else {
                return Ok(BAD_ARGUMENT);
            };
            *map = pairs;
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: C, kind: i32, key_ptr: i32, key_size: i32, ret_ptr: i32, ret_size: i32| {
            if let Some(status) = refused(&mut c, "proxy_get_header_map_value") {
                return Ok(status);
            }
            let f = "proxy_get_header_map_value";
            let key = read(&mut c, f, key_ptr, key_size)?.to_ascii_lowercase();
            let Some(map) = header_map(c.data_mut(), kind) else {
                return Ok(BAD_ARGUMENT);
            };
            let Some((_, value)) = map.iter().find(|(name, _)| *name == key) else {
                return Ok(NOT_FOUND);
            };
            let value = value.clone();
            give(&mut c, f, &value, ret_ptr, ret_size)?;
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut c: C, kind: i32, key_ptr: i32, key_size: i32, value_ptr: i32, value_size: i32| {
            if let Some(status) = refused(&mut c, "proxy_replace_header_map_value") {
                return Ok(status);
            }
            let f = "proxy_replace_header_map_value";
            let key = read(&mut c, f, key_ptr, key_size)?.to_ascii_lowercase();
            let value = read(&mut c, f, value_ptr, value_size)?;
            let Some(map) = header_map(c.data_mut(), kind) else {
                return Ok(BAD_ARGUMENT);
            };
            match map.iter().position(|(name, _)| *name == key) {
                Some(first) => {
                    map[first].1 = value;
                    let mut index = 0;
                    map.retain(|(name, _)| {
                        index += 1;
                        index - 1 == first || *name != key
                    });
                }
                None => map.push((key, value)),
            }
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut c: C, kind: i32, key_ptr: i32, key_size: i32, value_ptr: i32, value_size: i32| {
            if let Some(status) = refused(&mut c, "proxy_add_header_map_value") {
                return Ok(status);
            }
            let f = "proxy_add_header_map_value";
            let key = read(&mut c, f, key_ptr, key_size)?.to_ascii_lowercase();
            let value = read(&mut c, f, value_ptr, value_size)?;
            let Some(map) = header_map(c.data_mut(), kind) else {
                return Ok(BAD_ARGUMENT);
            };
            map.push((key, value));
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: C, kind: i32, key_ptr: i32, key_size: i32| {
            if let Some(status) = refused(&mut c, "proxy_remove_header_map_value") {
                return Ok(status);
            }
            let f = "proxy_remove_header_map_value";
            let key = read(&mut c, f, key_ptr, key_size)?.to_ascii_lowercase();
            let Some(map) = header_map(c.data_mut(), kind) else {
                return Ok(BAD_ARGUMENT);
            };
            map.retain(|(name, _)| *name != key);
            Ok(OK)
        },
    )?;
    Ok(())
}

fn metrics(l: &mut Linker<State>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_define_metric",
        |mut c: C, kind: i32, name_ptr: i32, name_size: i32, ret: i32| {
            if let Some(status) = refused(&mut c, "proxy_define_metric") {
                return Ok(status);
            }
            let f = "proxy_define_metric";
            let name = String::from_utf8_lossy(&read(&mut c, f, name_ptr, name_size)?).into_owned();
            let kind = match kind {
                0 => MetricKind::Counter,
                1 => MetricKind::Gauge,
                2 => MetricKind::Histogram,
                _ => return Ok(BAD_ARGUMENT),
            };
            let metrics = &mut c.data_mut().metrics;
            let id = match metrics
                .iter()
                .position(|m| m.name == name && m.kind == kind)
            {
                Some(id) => id,
                None => {
                    metrics.push(Metric {
                        name,
                        kind,
                        value: 0,
                    });
                    metrics.len() - 1
                }
            };
            write(&mut c, f, ret, &(id as u32).to_le_bytes())?;
            Ok(OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_increment_metric",
        |mut c: C, id: i32, offset: i64| {
            if let Some(status) = refused(&mut c, "proxy_increment_metric") {
                return Ok(status);
            }
            let Some(metric) = c.data_mut().metrics.get_mut(id as u32 as usize) else {
                return Ok(NOT_FOUND);
            };
            match metric.kind {
                MetricKind::Counter if offset < 0 => Ok(BAD_ARGUMENT),
                MetricKind::Counter | MetricKind::Gauge => {
                    metric.value = metric.value.saturating_add(offset);
                    Ok(OK)
                }
                MetricKind::Histogram => Ok(BAD_ARGUMENT),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_record_metric",
        |mut c: C, id: i32, value: i64| {
            if let Some(status) = refused(&mut c, "proxy_record_metric") {
                return Ok(status);
            }
            let Some(metric) = c.data_mut().metrics.get_mut(id as u32 as usize) else {
                return Ok(NOT_FOUND);
            };
            metric.value = value;
            Ok(OK)
        },
    )?;
    l.func_wrap("env", "proxy_get_metric", |mut c: C, id: i32, ret: i32| {
        if let Some(status) = refused(&mut c, "proxy_get_metric") {
            return Ok(status);
        }
        let Some(metric) = c.data().metrics.get(id as u32 as usize) else {
            return Ok(NOT_FOUND);
        };
        let value = metric.value;
        write(&mut c, "proxy_get_metric", ret, &value.to_le_bytes())?;
        Ok(OK)
    })?;
    Ok(())
}

const WASI: &str = "wasi_snapshot_preview1";

/// The WASI a wasip1 reactor needs: output, an empty environment, no exit.
fn wasi(l: &mut Linker<State>) -> Result<()> {
    l.func_wrap(
        WASI,
        "fd_write",
        |mut c: C, fd: i32, iovs: i32, iovs_len: i32, ret: i32| {
            let f = "fd_write";
            let mut written = Vec::new();
            for i in 0..iovs_len {
                let iov = read(&mut c, f, iovs.wrapping_add(i * 8), 8)?;
                let ptr = i32::from_le_bytes(iov[..4].try_into()?);
                let size = i32::from_le_bytes(iov[4..].try_into()?);
                written.extend(read(&mut c, f, ptr, size)?);
            }
            write(&mut c, f, ret, &(written.len() as u32).to_le_bytes())?;
            match fd {
                1 => c.data_mut().stdout.extend(written),
                2 => c.data_mut().stderr.extend(written),
                _ => return Ok(8), // EBADF
            }
            Ok(0)
        },
    )?;
    for (sizes, get) in [
        ("environ_sizes_get", "environ_get"),
        ("args_sizes_get", "args_get"),
    ] {
        l.func_wrap(WASI, sizes, move |mut c: C, count: i32, size: i32| {
            write(&mut c, sizes, count, &0u32.to_le_bytes())?;
            write(&mut c, sizes, size, &0u32.to_le_bytes())?;
            Ok(0)
        })?;
        l.func_wrap(WASI, get, |_: C, _: i32, _: i32| Ok(0))?;
    }
    l.func_wrap(WASI, "proc_exit", |_: C, code: i32| -> Result<()> {
        bail!("the module called proc_exit({code})")
    })?;
    // Deterministic "randomness": tests must repeat exactly.
    l.func_wrap(WASI, "random_get", |mut c: C, ptr: i32, size: i32| {
        let bytes: Vec<u8> = (0..size as u32).map(|i| (i % 251) as u8).collect();
        write(&mut c, "random_get", ptr, &bytes)?;
        Ok(0)
    })?;
    l.func_wrap(
        WASI,
        "clock_time_get",
        |mut c: C, _id: i32, _precision: i64, ret: i32| {
            write(&mut c, "clock_time_get", ret, &NOW_NS.to_le_bytes())?;
            Ok(0)
        },
    )?;
    Ok(())
}

/// The status a test told the host to answer this function with, instead of doing it.
/// Whether the host refuses the call; recorded in `State::calls` when a test asks for them.
fn refused(c: &mut C, f: &'static str) -> Option<i32> {
    if let Some(calls) = &mut c.data_mut().calls {
        calls.push(f);
    }
    c.data().refuse.get(f).copied()
}

fn header_map(state: &mut State, kind: i32) -> Option<&mut Headers> {
    match kind {
        REQUEST_HEADERS => Some(&mut state.request_headers),
        RESPONSE_HEADERS => Some(&mut state.response_headers),
        _ => None,
    }
}

/// A property path arrives as segments separated by NUL bytes.
fn property_path(path: &[u8]) -> String {
    let segments: Vec<_> = path
        .split(|&b| b == 0)
        .map(String::from_utf8_lossy)
        .collect();
    segments.join(".")
}

fn memory(c: &mut C, f: &str) -> Result<wasmtime::Memory> {
    match c.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => bail!("{f}: the module exports no memory"),
    }
}

fn read(c: &mut C, f: &str, ptr: i32, size: i32) -> Result<Vec<u8>> {
    let data = memory(c, f)?.data(&*c);
    let (start, size) = (ptr as u32 as usize, size as u32 as usize);
    start
        .checked_add(size)
        .and_then(|end| data.get(start..end))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| out_of_bounds(f, "read", start, size, data.len()))
}

fn write(c: &mut C, f: &str, ptr: i32, bytes: &[u8]) -> Result<()> {
    let data = memory(c, f)?.data_mut(&mut *c);
    let start = ptr as u32 as usize;
    let total = data.len();
    let target = start
        .checked_add(bytes.len())
        .and_then(|end| data.get_mut(start..end))
        .ok_or_else(|| out_of_bounds(f, "write", start, bytes.len(), total))?;
    target.copy_from_slice(bytes);
    Ok(())
}

fn out_of_bounds(f: &str, what: &str, start: usize, size: usize, total: usize) -> wasmtime::Error {
    format_err!("{f}: cannot {what} {size} bytes at {start:#x}: outside the module's memory of {total} bytes")
}

/// Hands bytes to the module the way proxy-wasm does: in memory it allocates through
/// `proxy_on_memory_allocate`, with the pointer and size written where it asked.
fn give(c: &mut C, f: &str, bytes: &[u8], ret_ptr: i32, ret_size: i32) -> Result<()> {
    let size = i32::try_from(bytes.len())?;
    let allocate = match c.get_export("proxy_on_memory_allocate") {
        Some(Extern::Func(func)) => func.typed::<i32, i32>(&*c)?,
        _ => bail!("{f}: the module exports no proxy_on_memory_allocate(i32) -> i32"),
    };
    let ptr = allocate.call(&mut *c, size)?;
    let total = memory(c, f)?.data_size(&*c);
    if (ptr as u32 as usize).saturating_add(bytes.len()) > total {
        bail!(
            "{f}: proxy_on_memory_allocate({size}) returned {:#x}, outside the module's memory of {total} bytes",
            ptr as u32
        );
    }
    write(c, f, ptr, bytes)?;
    write(c, f, ret_ptr, &ptr.to_le_bytes())?;
    write(c, f, ret_size, &size.to_le_bytes())
}

/// The proxy-wasm map serialization: a u32 count, a (name size, value size) u32 pair per
/// entry, then each name and value followed by a NUL.
pub fn serialize(pairs: &Headers) -> Vec<u8> {
    let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
    for (name, value) in pairs {
        out.extend((name.len() as u32).to_le_bytes());
        out.extend((value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend(name.iter().chain(&[0]));
        out.extend(value.iter().chain(&[0]));
    }
    out
}

/// The inverse of [`serialize`]; `None` if any size runs past the end.
pub fn deserialize(bytes: &[u8]) -> Option<Headers> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let u32_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?) as usize)
    };
    let count = u32_at(0)?;
    let mut at = count.checked_mul(8)?.checked_add(4)?;
    let mut take = |size: usize| -> Option<Vec<u8>> {
        let item = bytes.get(at..at.checked_add(size)?)?.to_vec();
        at = at.checked_add(size + 1)?;
        Some(item)
    };
    let mut pairs = Vec::new();
    for i in 0..count {
        let (name_size, value_size) = (u32_at(4 + i * 8)?, u32_at(8 + i * 8)?);
        pairs.push((take(name_size)?, take(value_size)?));
    }
    Some(pairs)
}
