//! Envoy counters per policy through the proxy-wasm metrics ABI: in Envoy's `/stats` as
//! `wasmcustom.cors_wasm.<policy>.<counter>`, for each [`Counter`].
//!
//! Requests count in wasm memory; the root context flushes the counts to the host once a
//! [`FLUSH_PERIOD`], so a request pays no host call for its counter.

use super::calls;
use crate::cors::{Counter, Evaluation};
use crate::policy::Config;
use log::error;
use std::cell::Cell;
use std::time::Duration;

pub const FLUSH_PERIOD: Duration = Duration::from_secs(1);

const PER_POLICY: usize = Counter::ALL.len();

/// One row per policy in configuration order: each counter's host id and unflushed count;
/// and the gauge of the module's linear memory, `wasmcustom.cors_wasm.memory_bytes`. A
/// metric the host refuses once is logged once and no longer offered.
#[derive(Debug, Default)]
pub struct Counters {
    rows: Vec<[Metric; PER_POLICY]>,
    memory_gauge: Cell<Option<u32>>,
}

/// A counter's host id, and its count not yet flushed.
type Metric = (Cell<Option<u32>>, Cell<u64>);

impl Counters {
    /// Defines every policy's counters; the host hands back the same id for a name it knows.
    pub fn define(config: &Config) -> Counters {
        let rows = config
            .policies
            .iter()
            .map(|policy| {
                Counter::ALL.map(|counter| {
                    let name = format!("cors_wasm.{}.{}", policy.name, counter.name());
                    (Cell::new(define(calls::COUNTER, &name)), Cell::new(0))
                })
            })
            .collect();
        let memory_gauge = Cell::new(define(calls::GAUGE, "cors_wasm.memory_bytes"));
        Counters { rows, memory_gauge }
    }

    pub fn count(&self, evaluation: &Evaluation) {
        let (Some((index, _)), Some(counter)) = (&evaluation.policy, evaluation.outcome.counter())
        else {
            return;
        };
        if let Some((_, pending)) = self
            .rows
            .get(*index)
            .and_then(|row| row.get(counter.slot()))
        {
            pending.set(pending.get() + 1);
        }
    }

    /// Hands the counts gathered since the last flush to the host, and the memory size.
    pub fn flush(&self) {
        if let Some(id) = self.memory_gauge.get() {
            let recorded = calls::record_metric(id, linear_memory_bytes());
            forget_if_refused(&self.memory_gauge, recorded);
        }
        for (id, pending) in self.rows.iter().flatten() {
            let count = pending.replace(0);
            if let (Some(host_id), 1..) = (id.get(), count) {
                forget_if_refused(id, calls::increment_metric(host_id, count as i64));
            }
        }
    }
}

fn forget_if_refused(id: &Cell<Option<u32>>, result: Result<(), calls::Status>) {
    if let Err(status) = result {
        error!("cors-wasm: the host refused a metric, no longer updated: {status}");
        id.set(None);
    }
}

/// A metric's id, or `None` (logged) when the host refuses it: the filter works without.
fn define(kind: u32, name: &str) -> Option<u32> {
    calls::define_metric(kind, name)
        .map_err(|status| error!("cors-wasm: the host refused the metric {name}: {status}"))
        .ok()
}

#[cfg(target_arch = "wasm32")]
fn linear_memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65_536
}

#[cfg(not(target_arch = "wasm32"))]
fn linear_memory_bytes() -> u64 {
    0
}
