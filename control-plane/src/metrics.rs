//! Prometheus metrics: one registry per process (no global), process figures read from
//! `/proc/self` on each scrape.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge, info::Info},
    registry::{Registry, Unit},
};

/// Builds the registry with the metrics every instance has.
pub fn registry(instance_id: &str) -> Registry {
    let mut registry = Registry::with_prefix("mediaplane");
    registry.register(
        "build",
        "Version and instance of this mediaplane",
        Info::new(vec![
            ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("instance".to_string(), instance_id.to_string()),
        ]),
    );
    registry.register_collector(Box::new(ProcessCollector));
    registry
}

/// `process_*` figures: resident memory, CPU time, threads, open descriptors.
#[derive(Debug)]
struct ProcessCollector;

/// Clock ticks per second of `/proc/self/stat`'s `utime`/`stime` (USER_HZ, 100 on Linux).
const CLOCK_TICKS: f64 = 100.0;

/// A `Name:   value kB` line of `/proc/self/status`.
fn status_field(status: &str, name: &str) -> i64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // The fields after the parenthesised command name (which may contain spaces):
        // state is 0, utime 11, stime 12.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let cpu = (field(11) + field(12)) as f64 / CLOCK_TICKS;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let rss = status_field(&status, "VmRSS") * 1024;
        let threads = status_field(&status, "Threads");
        let fds = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count() as i64)
            .unwrap_or(0);

        let c = ConstCounter::new(cpu);
        let m = encoder.encode_descriptor(
            "process_cpu",
            "User and system CPU time",
            Some(&Unit::Seconds),
            c.metric_type(),
        )?;
        c.encode(m)?;
        let g = ConstGauge::new(rss);
        let m = encoder.encode_descriptor(
            "process_resident_memory",
            "Resident memory",
            Some(&Unit::Bytes),
            g.metric_type(),
        )?;
        g.encode(m)?;
        let g = ConstGauge::new(threads);
        g.encode(encoder.encode_descriptor(
            "process_threads",
            "OS threads",
            None,
            g.metric_type(),
        )?)?;
        let g = ConstGauge::new(fds);
        g.encode(encoder.encode_descriptor(
            "process_open_fds",
            "Open file descriptors",
            None,
            g.metric_type(),
        )?)?;
        Ok(())
    }
}

/// Registers the call core's figures: channels, bridges, and the media workers' counters.
pub fn register_core(
    registry: &mut Registry,
    media: std::sync::Arc<media_engine::worker::MediaEngine>,
    gauges: std::sync::Arc<crate::telephony::CoreGauges>,
) {
    registry.register_collector(Box::new(CoreCollector { media, gauges }));
}

#[derive(Debug)]
struct CoreCollector {
    media: std::sync::Arc<media_engine::worker::MediaEngine>,
    gauges: std::sync::Arc<crate::telephony::CoreGauges>,
}

impl Collector for CoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let gauges = [
            ("channels", "Channels", self.gauges.channels.load(Relaxed)),
            ("bridges", "Bridges", self.gauges.bridges.load(Relaxed)),
        ];
        let s = self.media.stats();
        for (name, help, v) in gauges
            .into_iter()
            .chain([("rtp_legs", "Media legs", s.legs)])
        {
            let g = ConstGauge::new(v as i64);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        let counters = [
            (
                "rtp_received",
                "Datagrams received on RTP/RTCP sockets",
                s.received,
            ),
            (
                "rtp_relayed",
                "RTP packets relayed without decoding",
                s.relayed,
            ),
            ("rtp_sent", "Datagrams sent", s.sent),
            (
                "rtp_send_errors",
                "Datagrams the kernel refused",
                s.send_errors,
            ),
            (
                "media_events_dropped",
                "Media events lost for want of a reader",
                s.events_dropped,
            ),
        ];
        for (name, help, v) in counters {
            let c = ConstCounter::new(v);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        let c = ConstCounter::new(s.busy.as_secs_f64());
        c.encode(encoder.encode_descriptor(
            "media_busy",
            "Time the media workers spent working",
            Some(&Unit::Seconds),
            c.metric_type(),
        )?)?;
        Ok(())
    }
}
