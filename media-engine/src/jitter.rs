//! The adaptive jitter buffer in front of every decoding leg (transcoding, mixing, recording).
//! Relayed legs bypass it.
//!
//! Packets are kept by extended sequence number in a fixed ring of slots (no allocation after
//! warm-up). Play-out pulls one packet per packet interval:
//!
//! - it starts once `target` packets are buffered (or the target's time has passed),
//! - a missing packet with later ones present is reported [`Pop::Lost`] (the decoder conceals),
//! - an empty buffer stalls play-out ([`Pop::Lost`] without advancing, so a late packet still
//!   plays); after [`IDLE_AFTER`] empty pulls (silence suppression, hold) it re-buffers,
//! - the target follows the interarrival jitter (RFC 3550 §6.4.1 estimator) and grows at once
//!   on a late packet,
//! - a depth persistently above target (a sender clock faster than ours, or a burst) is cut by
//!   dropping one packet; a slower sender shows as stalls. Both keep delay bounded under drift.

use std::time::{Duration, Instant};

/// Slots in the ring (packets); at 20 ms that is 1.28 s.
const CAPACITY: usize = 64;
/// Empty pulls after which play-out re-buffers instead of concealing.
pub const IDLE_AFTER: u32 = 5;
/// Pulls the depth must stay above target before a packet is dropped.
const DRIFT_PATIENCE: u32 = 25;

/// What [`JitterBuffer::pop`] yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Pop<'a> {
    /// Still buffering, or idle: play silence (or comfort noise).
    Waiting,
    /// The packet for this interval.
    Packet {
        /// Its payload.
        payload: &'a [u8],
        /// Its RTP timestamp.
        timestamp: u32,
        /// Its payload type.
        pt: u8,
    },
    /// The packet for this interval is missing: conceal `duration` clock units.
    Lost {
        /// Clock units to conceal (one packet interval).
        duration: u32,
    },
}

/// Counters of one buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets stored.
    pub inserted: u64,
    /// Packets played.
    pub played: u64,
    /// Intervals concealed.
    pub concealed: u64,
    /// Packets that arrived after their play-out time.
    pub late: u64,
    /// Duplicates discarded.
    pub duplicates: u64,
    /// Packets dropped to cut excess delay (clock drift, bursts).
    pub dropped: u64,
    /// Times play-out re-buffered (stream restarts, long gaps).
    pub rebuffers: u64,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    seq: u64,
    timestamp: u32,
    pt: u8,
    full: bool,
    data: Vec<u8>,
}

/// An adaptive jitter buffer for one RTP stream.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    slots: Box<[Slot]>,
    clock_rate: u32,
    /// Clock units per packet (learned from consecutive packets).
    frame: u32,
    highest: Option<(u64, u32)>,
    /// Next sequence to play; `None` while buffering.
    next: Option<u64>,
    lowest_buffered: u64,
    buffering_since: Option<Instant>,
    empty_pulls: u32,
    above_target: u32,
    min_target: u32,
    max_target: u32,
    target: u32,
    late_boost: u32,
    last_late: Option<Instant>,
    // RFC 3550 §6.4.1 jitter, in clock units ×16.
    epoch: Option<Instant>,
    last_transit: Option<i64>,
    jitter16: u64,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer for a stream at `clock_rate` whose packets last `ptime_ms`, adapting between
    /// `min_delay` and `max_delay`.
    pub fn new(clock_rate: u32, ptime_ms: u32, min_delay: Duration, max_delay: Duration) -> Self {
        let frame = (clock_rate / 1000 * ptime_ms.max(1)).max(1);
        let packets = |d: Duration| {
            let ms = d.as_millis() as u32;
            ms.div_ceil(ptime_ms.max(1)).clamp(1, CAPACITY as u32 - 4)
        };
        let min_target = packets(min_delay);
        Self {
            slots: vec![Slot::default(); CAPACITY].into_boxed_slice(),
            clock_rate,
            frame,
            highest: None,
            next: None,
            lowest_buffered: 0,
            buffering_since: None,
            empty_pulls: 0,
            above_target: 0,
            min_target,
            max_target: packets(max_delay).max(min_target),
            target: min_target,
            late_boost: 0,
            last_late: None,
            epoch: None,
            last_transit: None,
            jitter16: 0,
            stats: JitterStats::default(),
        }
    }

    /// The usual settings: 40–300 ms.
    pub fn with_defaults(clock_rate: u32, ptime_ms: u32) -> Self {
        Self::new(
            clock_rate,
            ptime_ms,
            Duration::from_millis(40),
            Duration::from_millis(300),
        )
    }

    /// Counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The current target delay.
    pub fn target_delay(&self) -> Duration {
        Duration::from_micros(
            u64::from(self.target) * u64::from(self.frame) * 1_000_000 / u64::from(self.clock_rate),
        )
    }

    /// Interarrival jitter in clock units.
    pub fn jitter(&self) -> u32 {
        (self.jitter16 >> 4) as u32
    }

    /// Clock units per packet.
    pub fn frame(&self) -> u32 {
        self.frame
    }

    /// Stores a packet.
    pub fn insert(&mut self, now: Instant, seq: u16, timestamp: u32, pt: u8, payload: &[u8]) {
        let ext = match self.highest {
            None => u64::from(seq) + (1 << 16), // room below for reordered starts
            Some((h, _)) => {
                let delta = i64::from(seq.wrapping_sub(h as u16) as i16);
                (h as i64 + delta).max(0) as u64
            }
        };
        if let Some(next) = self.next {
            if ext < next {
                self.stats.late += 1;
                self.on_late(now);
                return;
            }
            if ext >= next + CAPACITY as u64 {
                // A jump (restart, long gap): start over from this packet.
                self.reset();
                self.stats.rebuffers += 1;
                return self.insert(now, seq, timestamp, pt, payload);
            }
        } else if let Some((h, _)) = self.highest
            && (ext + CAPACITY as u64 <= h || ext >= h + CAPACITY as u64)
        {
            self.reset();
            self.stats.rebuffers += 1;
            return self.insert(now, seq, timestamp, pt, payload);
        }
        let slot = &mut self.slots[(ext as usize) & (CAPACITY - 1)];
        if slot.full && slot.seq == ext {
            self.stats.duplicates += 1;
            return;
        }
        slot.seq = ext;
        slot.timestamp = timestamp;
        slot.pt = pt;
        slot.full = true;
        slot.data.clear();
        slot.data.extend_from_slice(payload);
        self.stats.inserted += 1;
        self.update_jitter(now, timestamp);
        match self.highest {
            Some((h, _)) if ext <= h => {}
            Some((h, hts)) => {
                if ext == h + 1 {
                    let d = timestamp.wrapping_sub(hts);
                    if d > 0 && d <= self.clock_rate / 8 {
                        self.frame = d;
                    }
                }
                self.highest = Some((ext, timestamp));
            }
            None => self.highest = Some((ext, timestamp)),
        }
        if self.next.is_none() {
            if self.buffering_since.is_none() {
                self.buffering_since = Some(now);
                self.lowest_buffered = ext;
            }
            self.lowest_buffered = self.lowest_buffered.min(ext);
        }
    }

    /// Pulls the packet for the next interval. Call once per packet interval.
    pub fn pop(&mut self, now: Instant) -> Pop<'_> {
        self.relax_target(now);
        let next = match self.next {
            Some(n) => n,
            None => {
                let Some((h, _)) = self.highest else {
                    return Pop::Waiting;
                };
                let Some(since) = self.buffering_since else {
                    return Pop::Waiting;
                };
                let depth = h + 1 - self.lowest_buffered;
                let waited = now.saturating_duration_since(since);
                if depth < u64::from(self.target) && waited < self.target_delay() {
                    return Pop::Waiting;
                }
                self.buffering_since = None;
                self.empty_pulls = 0;
                self.lowest_buffered
            }
        };
        let highest = self.highest.map_or(0, |h| h.0);
        // Excess delay: drop the oldest packet (drift or the tail of a burst).
        let depth = (highest + 1).saturating_sub(next);
        let mut next = next;
        if depth > u64::from(self.target) + 2 {
            self.above_target += 1;
            if self.above_target >= DRIFT_PATIENCE || depth > u64::from(2 * self.target + 4) {
                let slot = &mut self.slots[(next as usize) & (CAPACITY - 1)];
                if slot.full && slot.seq == next {
                    slot.full = false;
                    self.stats.dropped += 1;
                }
                next += 1;
                self.above_target = 0;
            }
        } else {
            self.above_target = 0;
        }
        if next > highest {
            // Empty: stall (a late packet may still come), then go idle.
            self.next = Some(next);
            self.empty_pulls += 1;
            if self.empty_pulls > IDLE_AFTER {
                self.next = None;
                self.buffering_since = None;
                self.stats.rebuffers += 1;
                return Pop::Waiting;
            }
            self.stats.concealed += 1;
            return Pop::Lost {
                duration: self.frame,
            };
        }
        self.empty_pulls = 0;
        self.next = Some(next + 1);
        let slot = &mut self.slots[(next as usize) & (CAPACITY - 1)];
        if slot.full && slot.seq == next {
            slot.full = false;
            self.stats.played += 1;
            let slot = &self.slots[(next as usize) & (CAPACITY - 1)];
            Pop::Packet {
                payload: &slot.data,
                timestamp: slot.timestamp,
                pt: slot.pt,
            }
        } else {
            self.stats.concealed += 1;
            Pop::Lost {
                duration: self.frame,
            }
        }
    }

    /// Forgets every packet (e.g. the far end restarted its stream); counters stay.
    pub fn reset(&mut self) {
        for s in self.slots.iter_mut() {
            s.full = false;
        }
        self.highest = None;
        self.next = None;
        self.buffering_since = None;
        self.empty_pulls = 0;
        self.above_target = 0;
        self.last_transit = None;
    }

    fn on_late(&mut self, now: Instant) {
        self.last_late = Some(now);
        self.late_boost = (self.late_boost + 1).min(self.max_target);
        self.retarget();
    }

    fn relax_target(&mut self, now: Instant) {
        // Late-packet boosts decay one packet per 5 s without lateness.
        if let Some(t) = self.last_late
            && self.late_boost > 0
            && now.saturating_duration_since(t) >= Duration::from_secs(5)
        {
            self.late_boost -= 1;
            self.last_late = Some(now);
            self.retarget();
        }
    }

    fn retarget(&mut self) {
        // Cover three times the jitter plus half a frame.
        let from_jitter = (u64::from(self.jitter()) * 3 + u64::from(self.frame) / 2)
            .div_ceil(u64::from(self.frame)) as u32
            + 1;
        self.target = (from_jitter + self.late_boost).clamp(self.min_target, self.max_target);
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        // RFC 3550 §6.4.1: J += (|D| - J) / 16, here in units ×16.
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = (now.saturating_duration_since(epoch).as_micros() as u64
            * u64::from(self.clock_rate)
            / 1_000_000) as i64;
        let transit = arrival - i64::from(timestamp);
        if let Some(last) = self.last_transit {
            let d = (transit - last)
                .unsigned_abs()
                .min(u64::from(self.clock_rate));
            self.jitter16 = self.jitter16 + d - (self.jitter16 >> 4);
        }
        self.last_transit = Some(transit);
        let before = self.target;
        self.retarget();
        if self.target < before {
            // Lower slowly: only the drift control drains the extra packets.
            self.target = before.saturating_sub(1).max(self.target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS20: Duration = Duration::from_millis(20);

    fn payload(seq: u16) -> [u8; 160] {
        [seq as u8; 160]
    }

    /// Plays `n` intervals and returns what each pop gave: Some(seq byte) / None (lost) / W.
    fn play(jb: &mut JitterBuffer, t: &mut Instant, n: usize) -> Vec<Option<u8>> {
        (0..n)
            .filter_map(|_| {
                *t += MS20;
                match jb.pop(*t) {
                    Pop::Packet { payload, .. } => Some(Some(payload[0])),
                    Pop::Lost { .. } => Some(None),
                    Pop::Waiting => None,
                }
            })
            .collect()
    }

    #[test]
    fn reorders_and_conceals() {
        let mut t = Instant::now();
        let mut jb = JitterBuffer::with_defaults(8000, 20);
        let order = [0u16, 2, 1, 3, 5, 4, 7, 8, 9]; // 6 lost
        for &s in &order {
            jb.insert(t, s, u32::from(s) * 160, 0, &payload(s));
        }
        jb.insert(t, 4, 640, 0, &payload(4)); // duplicate
        let got = play(&mut jb, &mut t, 10);
        assert_eq!(
            got[..10],
            [
                Some(0),
                Some(1),
                Some(2),
                Some(3),
                Some(4),
                Some(5),
                None,
                Some(7),
                Some(8),
                Some(9)
            ]
        );
        let s = jb.stats();
        assert_eq!((s.played, s.concealed, s.duplicates), (9, 1, 1));
        assert_eq!(jb.frame(), 160);
    }

    #[test]
    fn wraps_the_sequence_space() {
        let mut t = Instant::now();
        let mut jb = JitterBuffer::with_defaults(8000, 20);
        let mut out = Vec::new();
        for i in 0..200u32 {
            let seq = 65500u16.wrapping_add(i as u16);
            jb.insert(t, seq, i * 160, 0, &[i as u8; 160]);
            t += MS20;
            if let Pop::Packet { payload, .. } = jb.pop(t) {
                out.push(payload[0]);
            }
        }
        assert_eq!(out.len(), 199);
        assert!(out.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    }

    /// Packets sent every 20 ms by a sender clock `ppm` off ours, with a delay that jumps
    /// between 0 and `jitter_ms`, played for `secs`: the delay stays bounded and nearly all
    /// packets play.
    fn run(ppm: i64, jitter_ms: u64, secs: u64) -> (JitterStats, Duration) {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::with_defaults(8000, 20);
        let mut arrivals: Vec<(Instant, u16)> = (0..secs * 50)
            .map(|i| {
                let sent = Duration::from_nanos(i * (20_000_000 - 20 * ppm) as u64);
                let extra = Duration::from_millis((i * 7919 % 13) * jitter_ms / 12);
                (t0 + sent + extra, i as u16)
            })
            .collect();
        arrivals.sort();
        let mut ai = 0;
        let mut tick = t0;
        let mut max_depth = Duration::ZERO;
        while tick < t0 + Duration::from_secs(secs) {
            tick += MS20;
            while ai < arrivals.len() && arrivals[ai].0 <= tick {
                let s = arrivals[ai].1;
                jb.insert(arrivals[ai].0, s, u32::from(s) * 160, 0, &[0; 160]);
                ai += 1;
            }
            let _ = jb.pop(tick);
            max_depth = max_depth.max(jb.target_delay());
        }
        (jb.stats(), max_depth)
    }

    #[test]
    fn adapts_to_jitter_and_bounds_drift() {
        // Steady: nothing lost, minimum delay.
        let (s, d) = run(0, 0, 20);
        assert!(s.concealed <= 1 && s.late == 0, "{s:?}");
        assert!(d <= Duration::from_millis(60), "{d:?}");
        // 60 ms of jitter: the target grows, few packets are late.
        let (s, d) = run(0, 60, 30);
        assert!(s.late * 100 <= s.inserted, "{s:?}");
        assert!(
            d >= Duration::from_millis(60) && d <= Duration::from_millis(300),
            "{d:?}"
        );
        // A sender 1% fast (far beyond real clocks): drops keep the depth bounded.
        let (s, _) = run(10_000, 0, 60);
        assert!(s.dropped >= 20, "{s:?}");
        assert!(s.played + s.dropped + 5 >= s.inserted, "{s:?}");
        // 1% slow: play-out stalls now and then, nothing is lost.
        let (s, _) = run(-10_000, 0, 60);
        assert!(s.late <= 2 && s.played + 2 >= s.inserted, "{s:?}");
    }

    #[test]
    fn rebuffers_after_silence_and_on_jumps() {
        let mut t = Instant::now();
        let mut jb = JitterBuffer::with_defaults(8000, 20);
        for s in 0..5u16 {
            jb.insert(t, s, u32::from(s) * 160, 0, &payload(s));
        }
        let got = play(&mut jb, &mut t, 20);
        assert_eq!(got.iter().filter(|g| g.is_some()).count(), 5);
        assert!(got.len() <= 5 + IDLE_AFTER as usize);
        // A new talk spurt 400 ms later, and then a jump of 1000 sequence numbers.
        for s in (25..30u16).chain(1030..1035) {
            t += MS20;
            jb.insert(t, s, u32::from(s) * 160, 0, &payload(s));
        }
        let got = play(&mut jb, &mut t, 10);
        assert_eq!(got[0], Some(1030u16 as u8));
        assert!(jb.stats().rebuffers >= 2);
    }
}
