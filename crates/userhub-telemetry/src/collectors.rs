//! Metrics read at scrape time: the database pool and the process (Linux
//! `/proc`; on other systems the process metrics are absent).

use std::sync::{Arc, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// One reading of a connection pool, taken on every scrape. Telemetry knows
/// no storage: the binary implements this over the storage layer's
/// `PoolStats` (`userhub::db_metrics`), so the snapshot is defined once.
pub trait PoolGauges {
    /// Connections lent out.
    fn in_use(&self) -> u64;
    /// Open connections not lent out.
    fn idle(&self) -> u64;
    /// The most connections the pool opens.
    fn max(&self) -> u64;
    /// Tasks waiting for a connection.
    fn waiters(&self) -> u64;
}

/// Takes one reading of the pool.
pub(crate) type PoolReader = Arc<dyn Fn() -> Box<dyn PoolGauges> + Send + Sync>;

/// Shared slot for the pool reader.
type PoolSource = RwLock<Option<PoolReader>>;

/// Pool gauges from the reader the storage layer registered.
#[derive(Default)]
pub(crate) struct PoolCollector {
    source: PoolSource,
}

impl std::fmt::Debug for PoolCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolCollector").finish_non_exhaustive()
    }
}

impl PoolCollector {
    pub(crate) fn set_source(&self, source: PoolReader) {
        *self.source.write().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let source = self
            .source
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(source) = source else {
            return Ok(());
        };
        let stats = source();
        let gauge = |v: u64| ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
        {
            let mut family = encoder.encode_descriptor(
                "db_client_connection_count",
                "Connections in the pool by state (used, idle)",
                None,
                gauge(0).metric_type(),
            )?;
            for (state, value) in [("used", stats.in_use()), ("idle", stats.idle())] {
                let labels = [("db_client_connection_state", state)];
                gauge(value).encode(family.encode_family(&labels)?)?;
            }
        }
        for (name, help, value) in [
            (
                "db_client_connection_max",
                "Maximum number of connections the pool opens",
                stats.max(),
            ),
            (
                "db_client_connection_pending_requests",
                "Tasks waiting to acquire a connection",
                stats.waiters(),
            ),
        ] {
            let metric = gauge(value);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
        }
        Ok(())
    }
}

/// `process_*` metrics in the Prometheus client convention.
#[derive(Debug)]
pub(crate) struct ProcessCollector;

/// Linux clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on every
/// mainstream Linux architecture; reading it needs `unsafe` FFI).
const CLOCK_TICKS: f64 = 100.0;

#[derive(Debug, Default, PartialEq)]
pub(crate) struct ProcessSnapshot {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
    pub start_time_seconds: f64,
}

impl ProcessSnapshot {
    pub(crate) fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name, which may hold spaces.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `fields[0]` is field 3 (state) of proc(5).
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        let cpu_ticks = field(14)? + field(15)?;
        let start_ticks = field(22)?;
        let vsize = field(23)?;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())?;
        let boot_time = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<u64>().ok())?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|limits| {
                limits
                    .lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3))
                    .and_then(|v| v.parse::<u64>().ok())
            });
        Some(Self {
            cpu_seconds: cpu_ticks as f64 / CLOCK_TICKS,
            resident_bytes: rss_kib * 1024,
            virtual_bytes: vsize,
            open_fds,
            max_fds,
            start_time_seconds: boot_time as f64 + start_ticks as f64 / CLOCK_TICKS,
        })
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(p) = ProcessSnapshot::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(p.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let mut gauges = vec![
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                p.resident_bytes as f64,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                p.virtual_bytes as f64,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                p.open_fds as f64,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                p.start_time_seconds,
            ),
        ];
        if let Some(max) = p.max_fds {
            gauges.push((
                "process_max_fds",
                "Maximum number of open file descriptors",
                max as f64,
            ));
        }
        for (name, help, value) in gauges {
            let g = ConstGauge::new(value);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn process_snapshot_reads_this_process() {
        let p = ProcessSnapshot::read().expect("/proc is readable on Linux");
        assert!(p.resident_bytes > 1024 * 1024, "{p:?}");
        assert!(p.virtual_bytes >= p.resident_bytes, "{p:?}");
        assert!(p.open_fds >= 3, "{p:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            p.start_time_seconds <= now + 1.0 && p.start_time_seconds > now - 3600.0,
            "{p:?} vs {now}"
        );
        let before = p.cpu_seconds;
        let mut x = 0u64;
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_millis(200) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        std::hint::black_box(x);
        let after = ProcessSnapshot::read().unwrap().cpu_seconds;
        assert!(after > before, "busy loop used no CPU: {before} -> {after}");
    }
}
