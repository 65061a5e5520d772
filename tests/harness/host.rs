//! The host: one module instance, its contexts, and the state tests assert on.

use super::{abi, compiled};
use std::collections::HashMap;
use std::sync::OnceLock;
use wasmtime::{bail, format_err, Engine, Instance, Linker, Module, Result, Store};
use wasmtime::{WasmParams, WasmResults};

/// Header map entries as Envoy holds them: lower-case names, bytes, in order.
pub type Headers = Vec<(Vec<u8>, Vec<u8>)>;

/// Headers from text pairs, as tests write them.
pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

const ROOT_CONTEXT: i32 = 1;
/// The one ABI the host speaks; a module must export this function to say it does too.
pub const ABI_EXPORT: &str = "proxy_abi_version_0_2_1";

/// What a callback told the host to do with the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    Pause,
}

/// A reply the module made with `proxy_send_local_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    pub details: Vec<u8>,
    pub body: Vec<u8>,
    pub headers: Headers,
    pub grpc_status: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// proxy-wasm levels: 0 trace, 1 debug, 2 info, 3 warn, 4 error, 5 critical.
    pub level: u32,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// A metric the module defined; its id is its index in [`State::metrics`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub name: String,
    pub kind: MetricKind,
    /// Counters and gauges: the value; histograms: the last value recorded.
    pub value: i64,
}

/// Everything the host holds. Tests set the inputs (configuration, properties, log level)
/// and read what the module did.
#[derive(Debug, Default)]
pub struct State {
    pub plugin_configuration: Vec<u8>,
    pub vm_configuration: Vec<u8>,
    pub log_level: u32,
    pub logs: Vec<Log>,
    /// By dotted path: `xds.route_name`.
    pub properties: HashMap<String, Vec<u8>>,
    pub request_headers: Headers,
    pub response_headers: Headers,
    pub local_response: Option<LocalResponse>,
    pub metrics: Vec<Metric>,
    pub tick_period_ms: u32,
    pub effective_context: Option<u32>,
    /// What the module wrote with WASI `fd_write`.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Imports the host does not provide (`module.name`); calling one fails with its name.
    pub unprovided: Vec<String>,
    /// Host functions that answer with this status instead of doing their work, as a host
    /// that refuses a call does (`proxy_get_header_map_value` -> 2, BadArgument).
    pub refuse: HashMap<String, i32>,
    /// Once a test sets it, the host calls the module makes that a test can refuse, in
    /// order (`None` keeps long runs from growing it).
    pub calls: Option<Vec<&'static str>>,
}

impl State {
    /// The log messages, in order.
    pub fn log_messages(&self) -> Vec<&str> {
        self.logs.iter().map(|l| l.message.as_str()).collect()
    }
}

/// How the response to a request that went on past the filter comes back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// From the upstream: `:status` and headers.
    Upstream(Headers),
    /// A local reply made after the filter let the request on (another filter's 401,
    /// Envoy's `direct_response`): it never reaches the upstream.
    Local(Headers),
}

/// One request through the filter, as a client and the upstream saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request_action: Action,
    pub reached_upstream: bool,
    pub local_response: Option<LocalResponse>,
    /// The headers the client receives, after the filter's response callback.
    pub response_headers: Headers,
}

pub struct Host {
    store: Store<State>,
    instance: Instance,
    next_context: i32,
}

pub use super::fresh::module_path;

impl Host {
    /// The real module, compiled once per test binary.
    pub fn real() -> Host {
        static COMPILED: OnceLock<(Engine, Module)> = OnceLock::new();
        let (engine, module) = COMPILED.get_or_init(|| {
            let path = module_path();
            let wasm = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "the module {} is missing ({e}): run ./build.sh test, which builds it",
                    path.display()
                )
            });
            let engine = Engine::default();
            let module = compiled::module(&engine, &wasm).expect("compile the module");
            (engine, module)
        });
        Host::instantiate(engine, module).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// The module in an engine that counts fuel (about one unit per wasm instruction), to
    /// measure the work done inside the module; see [`Host::fuel`].
    pub fn metered(wasm: &[u8]) -> Result<Host> {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config)?;
        let module = compiled::module(&engine, wasm)?;
        Host::instantiate(&engine, &module)
    }

    /// The fuel left: what a metered module used is the difference of two readings.
    pub fn fuel(&self) -> u64 {
        self.store.get_fuel().unwrap_or(0)
    }

    /// Compiles and instantiates a module (binary; tests turn text into binary with `wat`).
    pub fn load(wasm: &[u8]) -> Result<Host> {
        let engine = Engine::default();
        let module = Module::new(&engine, wasm)?;
        Host::instantiate(&engine, &module)
    }

    fn instantiate(engine: &Engine, module: &Module) -> Result<Host> {
        let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
        for required in [ABI_EXPORT, "proxy_on_memory_allocate", "memory"] {
            if !exports.contains(&required) {
                bail!(
                    "not a proxy-wasm 0.2.1 module: it does not export {required} (its exports: {exports:?})"
                );
            }
        }
        let mut store = Store::new(
            engine,
            State {
                // Debug, as the tests' Envoy runs (`--component-log-level wasm:debug`).
                log_level: 1,
                ..State::default()
            },
        );
        // Only a metered engine counts fuel; elsewhere this is refused, and that is fine.
        let _ = store.set_fuel(u64::MAX);
        let mut linker = Linker::new(engine);
        let unprovided = abi::link(&mut linker, &mut store, module)?;
        store.data_mut().unprovided = unprovided;
        let instance = linker.instantiate(&mut store, module)?;
        let mut host = Host {
            store,
            instance,
            next_context: ROOT_CONTEXT + 1,
        };
        // A wasip1 reactor runs its constructors (and the SDK its `main!`) in `_initialize`.
        if exports.contains(&"_initialize") {
            host.call::<(), ()>("_initialize", ())?;
        }
        Ok(host)
    }

    /// The size of the module's linear memory, in bytes.
    pub fn memory_bytes(&mut self) -> usize {
        let memory = self.instance.get_memory(&mut self.store, "memory");
        memory.map_or(0, |m| m.data_size(&self.store))
    }

    pub fn state(&self) -> &State {
        self.store.data()
    }

    pub fn state_mut(&mut self) -> &mut State {
        self.store.data_mut()
    }

    /// The root context, `proxy_on_vm_start` and `proxy_on_configure` with this plugin
    /// configuration. `Ok(false)` when the module refused either, as Envoy would see it.
    pub fn start(&mut self, plugin_configuration: &[u8]) -> Result<bool> {
        self.state_mut().plugin_configuration = plugin_configuration.to_vec();
        self.call::<(i32, i32), ()>("proxy_on_context_create", (ROOT_CONTEXT, 0))?;
        let vm_size = len(&self.state().vm_configuration)?;
        if self.call::<(i32, i32), i32>("proxy_on_vm_start", (ROOT_CONTEXT, vm_size))? == 0 {
            return Ok(false);
        }
        let size = len(plugin_configuration)?;
        Ok(self.call::<(i32, i32), i32>("proxy_on_configure", (ROOT_CONTEXT, size))? != 0)
    }

    /// A new plugin configuration for the running VM, as Envoy hands over an update
    /// (`proxy_on_configure` again). Whether the module accepted it.
    pub fn reconfigure(&mut self, plugin_configuration: &[u8]) -> Result<bool> {
        self.state_mut().plugin_configuration = plugin_configuration.to_vec();
        let size = len(plugin_configuration)?;
        Ok(self.call::<(i32, i32), i32>("proxy_on_configure", (ROOT_CONTEXT, size))? != 0)
    }

    /// One tick of the root context's timer (`proxy_set_tick_period_milliseconds`), as
    /// Envoy fires it; tests call it where Envoy's time would have passed.
    pub fn tick(&mut self) -> Result<()> {
        if self.state().tick_period_ms == 0 {
            bail!("the module never asked for a tick period");
        }
        self.call::<i32, ()>("proxy_on_tick", ROOT_CONTEXT)
    }

    pub fn create_http_context(&mut self) -> Result<i32> {
        let id = self.next_context;
        self.next_context += 1;
        self.call::<(i32, i32), ()>("proxy_on_context_create", (id, ROOT_CONTEXT))?;
        Ok(id)
    }

    pub fn request_headers(&mut self, id: i32, headers: Headers, end: bool) -> Result<Action> {
        let state = self.state_mut();
        state.local_response = None;
        let count = len(&headers)?;
        state.request_headers = headers;
        let action = self.call("proxy_on_request_headers", (id, count, i32::from(end)))?;
        to_action("proxy_on_request_headers", action)
    }

    pub fn response_headers(&mut self, id: i32, headers: Headers, end: bool) -> Result<Action> {
        let count = len(&headers)?;
        self.state_mut().response_headers = headers;
        let action = self.call("proxy_on_response_headers", (id, count, i32::from(end)))?;
        to_action("proxy_on_response_headers", action)
    }

    /// The end of a stream, as Envoy ends it: done, log, delete.
    pub fn end(&mut self, id: i32) -> Result<()> {
        self.call::<i32, i32>("proxy_on_done", id)?;
        self.call::<i32, ()>("proxy_on_log", id)?;
        self.call::<i32, ()>("proxy_on_delete", id)
    }

    /// One request the way Envoy runs it: request headers; then either the module's local
    /// response or `reply`, through the response-headers callback; then the end of the stream.
    pub fn exchange(&mut self, request: Headers, reply: Reply) -> Result<Exchange> {
        let id = self.create_http_context()?;
        let request_action = self.request_headers(id, request, true)?;
        let local_response = self.state().local_response.clone();
        let (reached_upstream, headers) = match (&local_response, request_action, reply) {
            // Envoy sends the local reply once the callback returns, through the same
            // filters' response-headers callbacks.
            (Some(local), _, _) => (false, local_reply_headers(local)),
            (None, Action::Pause, _) => bail!(
                "proxy_on_request_headers paused the request without a local response: nothing would resume it"
            ),
            (None, Action::Continue, Reply::Upstream(headers)) => (true, headers),
            (None, Action::Continue, Reply::Local(headers)) => (false, headers),
        };
        if self.response_headers(id, headers, true)? == Action::Pause {
            bail!("proxy_on_response_headers paused the response: nothing would resume it");
        }
        self.end(id)?;
        Ok(Exchange {
            request_action,
            reached_upstream,
            local_response,
            response_headers: self.state().response_headers.clone(),
        })
    }

    fn call<P: WasmParams, R: WasmResults>(&mut self, name: &str, params: P) -> Result<R> {
        let func = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .map_err(|e| e.context(format!("the module's export {name}")))?;
        func.call(&mut self.store, params)
            .map_err(|e| e.context(format!("{name} failed")))
    }
}

fn len<T>(items: &[T]) -> Result<i32> {
    i32::try_from(items.len()).map_err(|_| format_err!("{} items do not fit the ABI", items.len()))
}

fn to_action(callback: &str, action: i32) -> Result<Action> {
    match action {
        0 => Ok(Action::Continue),
        1 => Ok(Action::Pause),
        other => bail!("{callback} returned {other}, which is not an action"),
    }
}

/// The headers of a local reply as Envoy builds them for the response callbacks.
fn local_reply_headers(local: &LocalResponse) -> Headers {
    let mut headers = vec![(b":status".to_vec(), local.status.to_string().into_bytes())];
    headers.extend(local.headers.iter().cloned());
    headers.push((
        b"content-length".to_vec(),
        local.body.len().to_string().into_bytes(),
    ));
    headers
}
