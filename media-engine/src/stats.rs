//! Reception statistics (RFC 3550 Appendix A.1 sequence tracking, A.3 loss, A.8 jitter) and
//! round-trip time from report blocks (§6.4.1), for RTCP and ARI `rtp_statistics`.

use std::time::{Duration, Instant};

use crate::{Ssrc, rtcp::ReportBlock};

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;

/// What a sequence number means for the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// In order or a recoverable gap: the extended sequence number.
    Fresh(u64),
    /// Late or duplicate (behind the highest seen).
    Late(u64),
    /// A jump the stream resynchronised on (the source restarted).
    Restarted(u64),
}

/// Per-source reception statistics.
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    clock_rate: u32,
    started: bool,
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: Option<u16>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Relative transit time of the previous packet, in timestamp units.
    transit: Option<i64>,
    /// Interarrival jitter estimate in timestamp units (§6.4.1, ×16 fixed point as in A.8).
    jitter16: u64,
    epoch: Option<Instant>,
    /// The last sender report: middle 32 bits of its NTP time, and when it arrived.
    last_sr: Option<(u32, Instant)>,
    duplicates: u64,
}

impl ReceiverStats {
    /// Statistics for a stream with this RTP clock rate.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter16: 0,
            epoch: None,
            last_sr: None,
            duplicates: 0,
        }
    }

    /// Records a packet (A.1 `update_seq`, A.8 jitter).
    pub fn on_packet(&mut self, now: Instant, sequence: u16, timestamp: u32) -> Arrival {
        let arrival = self.update_seq(sequence);
        if matches!(arrival, Arrival::Fresh(_) | Arrival::Restarted(_)) {
            self.update_jitter(now, timestamp);
        }
        arrival
    }

    fn update_seq(&mut self, seq: u16) -> Arrival {
        if !self.started {
            self.started = true;
            self.max_seq = seq;
            self.base_seq = u64::from(seq);
            self.received = 1;
            return Arrival::Fresh(u64::from(seq));
        }
        let delta = seq.wrapping_sub(self.max_seq);
        if delta == 0 {
            self.duplicates += 1;
            return Arrival::Late(self.cycles | u64::from(seq));
        }
        if delta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += 1 << 16;
            }
            self.max_seq = seq;
            self.received += 1;
            self.bad_seq = None;
            return Arrival::Fresh(self.cycles | u64::from(seq));
        }
        if delta <= u16::MAX - MAX_MISORDER {
            // A very large jump: restart only if two packets agree on it.
            if self.bad_seq == Some(seq) {
                self.max_seq = seq;
                self.cycles = 0;
                self.base_seq = u64::from(seq);
                self.received = 1;
                self.expected_prior = 0;
                self.received_prior = 0;
                self.transit = None;
                self.bad_seq = None;
                return Arrival::Restarted(u64::from(seq));
            }
            self.bad_seq = Some(seq.wrapping_add(1));
            return Arrival::Late(u64::from(seq));
        }
        // Duplicate or reordered packet.
        self.received += 1;
        let ext = if seq > self.max_seq && self.cycles > 0 {
            (self.cycles - (1 << 16)) | u64::from(seq)
        } else {
            self.cycles | u64::from(seq)
        };
        Arrival::Late(ext)
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = (now.saturating_duration_since(epoch).as_nanos()
            * u128::from(self.clock_rate)
            / 1_000_000_000) as i64;
        let transit = arrival - i64::from(timestamp);
        if let Some(prev) = self.transit {
            let d = (transit - prev).unsigned_abs();
            // J += (|D| - J) / 16, kept ×16 (A.8).
            self.jitter16 = self.jitter16 + d - ((self.jitter16 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// The extended highest sequence number received.
    pub fn extended_max(&self) -> u64 {
        self.cycles | u64::from(self.max_seq)
    }

    /// Packets expected so far (A.3).
    pub fn expected(&self) -> u64 {
        if !self.started {
            0
        } else {
            self.extended_max() - self.base_seq + 1
        }
    }

    /// Packets received so far (duplicates excluded).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Cumulative loss (may be negative with duplicates, A.3).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        (self.jitter16 >> 4) as u32
    }

    /// Jitter in seconds.
    pub fn jitter_seconds(&self) -> f64 {
        f64::from(self.jitter()) / f64::from(self.clock_rate)
    }

    /// Notes a sender report from the source (for LSR/DLSR in our reports).
    pub fn on_sender_report(&mut self, now: Instant, ntp: u64) {
        self.last_sr = Some(((ntp >> 16) as u32, now));
    }

    /// A report block about `ssrc`, with the loss fraction since the previous block (A.3).
    pub fn report_block(&mut self, now: Instant, ssrc: Ssrc) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (
                lsr,
                (now.saturating_duration_since(at).as_secs_f64() * 65536.0) as u32,
            ),
            None => (0, 0),
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_sequence: self.extended_max() as u32,
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        }
    }
}

/// An NTP-format clock for RTCP: wall-clock time at `epoch` plus monotonic time since.
#[derive(Debug, Clone, Copy)]
pub struct NtpClock {
    epoch: Instant,
    /// NTP time (seconds since 1900, 32.32 fixed point) at `epoch`.
    ntp_at_epoch: u64,
}

impl NtpClock {
    /// A clock that reads `unix_at_epoch` (seconds since 1970) at `epoch`.
    pub fn new(epoch: Instant, unix_at_epoch: Duration) -> Self {
        const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
        let secs = unix_at_epoch.as_secs() + NTP_UNIX_OFFSET;
        let frac = (u64::from(unix_at_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        Self {
            epoch,
            ntp_at_epoch: (secs << 32) | frac,
        }
    }

    /// The NTP time at `now`.
    pub fn ntp(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.epoch);
        let add = (d.as_secs() << 32) + ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000);
        self.ntp_at_epoch.wrapping_add(add)
    }

    /// Round-trip time from a report block about our stream (§6.4.1): now − LSR − DLSR.
    pub fn rtt(&self, now: Instant, block: &ReportBlock) -> Option<Duration> {
        if block.last_sr == 0 {
            return None;
        }
        let now_mid = (self.ntp(now) >> 16) as u32;
        let rtt = now_mid
            .wrapping_sub(block.last_sr)
            .wrapping_sub(block.delay_since_last_sr);
        (rtt < 0x8000_0000).then(|| Duration::from_secs_f64(f64::from(rtt) / 65536.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_loss_reorder_and_restart() {
        let t = Instant::now();
        let mut s = ReceiverStats::new(8000);
        for seq in 65530..=65535u16 {
            assert!(matches!(s.on_packet(t, seq, 0), Arrival::Fresh(_)));
        }
        // Wrap, skipping 0 and 1 (lost).
        assert_eq!(s.on_packet(t, 2, 0), Arrival::Fresh(65536 + 2));
        assert_eq!(s.expected(), 9);
        assert_eq!(s.lost(), 2);
        // 1 arrives late.
        assert_eq!(s.on_packet(t, 1, 0), Arrival::Late(65536 + 1));
        assert_eq!(s.lost(), 1);
        let block = s.report_block(t, Ssrc(5));
        assert_eq!((block.highest_sequence, block.cumulative_lost), (65538, 1));
        assert_eq!(block.fraction_lost, (256 / 9) as u8);
        // A source restart: a huge jump seen twice in a row.
        assert!(matches!(s.on_packet(t, 30000, 0), Arrival::Late(_)));
        assert_eq!(s.on_packet(t, 30001, 0), Arrival::Restarted(30001));
        assert_eq!(s.expected(), 1);
    }

    #[test]
    fn jitter_follows_arrival_variation() {
        let t0 = Instant::now();
        let mut s = ReceiverStats::new(8000);
        // Packets every 20 ms, alternately 0 and 4 ms late: |D| = 32 units each time.
        for i in 0..400u32 {
            let late = if i % 2 == 0 { 0 } else { 4 };
            s.on_packet(
                t0 + Duration::from_millis(u64::from(i * 20 + late)),
                i as u16,
                i * 160,
            );
        }
        assert!((28..=33).contains(&s.jitter()), "jitter {}", s.jitter());
    }

    #[test]
    fn rtt_from_lsr_and_dlsr() {
        let t0 = Instant::now();
        let clock = NtpClock::new(t0, Duration::from_secs(1_700_000_000));
        let sr_sent = t0 + Duration::from_secs(1);
        let lsr = (clock.ntp(sr_sent) >> 16) as u32;
        // The peer held the SR 100 ms and the network took 30 ms each way.
        let block = ReportBlock {
            last_sr: lsr,
            delay_since_last_sr: 6554,
            ..ReportBlock::default()
        };
        let rtt = clock
            .rtt(sr_sent + Duration::from_millis(160), &block)
            .unwrap();
        assert!((rtt.as_secs_f64() - 0.060).abs() < 0.001, "{rtt:?}");
    }
}
