//! The RTP stream we send to one far end: our SSRC, and sequence numbers and timestamps that
//! stay continuous whatever feeds it — packets relayed from another leg (rewritten), packets we
//! encode ourselves, DTMF events — across source changes, re-INVITEs and re-bridging.
//!
//! Each new source is anchored once: its sequence numbers are offset to follow the last one
//! sent, its timestamps to follow the last timestamp plus the wall-clock time since, and the
//! first packet carries the marker bit (RFC 3551 §4.1: a new talk spurt). Within a source,
//! offsets are fixed, so reordering and loss pass through unchanged.

use std::time::{Duration, Instant};

use crate::{Pt, Ssrc, rtp};

/// Identifies what feeds the stream; a change re-anchors it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Relayed from a leg (by its key) with that leg's current incoming SSRC.
    Relay {
        /// The source leg (a key the caller chooses; changes on re-bridging).
        leg: u64,
        /// The incoming SSRC.
        ssrc: Ssrc,
    },
    /// Encoded or generated here.
    Local,
    /// RFC 4733 events generated here.
    Event,
}

/// Counters for RTCP sender reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCounters {
    /// Packets sent.
    pub packets: u64,
    /// Payload octets sent.
    pub octets: u64,
}

/// One outgoing RTP stream.
#[derive(Debug, Clone)]
pub struct OutStream {
    ssrc: Ssrc,
    clock_rate: u32,
    /// Next sequence number for a new anchor or a local packet.
    next_seq: u16,
    /// Highest timestamp sent and when.
    last_ts: u32,
    last_sent: Option<Instant>,
    source: Option<Source>,
    seq_offset: u16,
    ts_offset: u32,
    /// Timestamp of the next local packet while the source is local.
    local_ts: u32,
    /// Timestamp of the event being sent.
    event_ts: u32,
    counters: SendCounters,
}

impl OutStream {
    /// A stream with a random SSRC, first sequence number and first timestamp (RFC 3550 §5.1).
    pub fn new(ssrc: Ssrc, first_seq: u16, first_ts: u32, clock_rate: u32) -> Self {
        Self {
            ssrc,
            clock_rate,
            next_seq: first_seq,
            last_ts: first_ts,
            last_sent: None,
            source: None,
            seq_offset: 0,
            ts_offset: 0,
            local_ts: first_ts,
            event_ts: first_ts,
            counters: SendCounters::default(),
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The clock rate timestamps count in.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Changes the clock rate (a re-INVITE switched codec); the next packet re-anchors.
    pub fn set_clock_rate(&mut self, clock_rate: u32) {
        if clock_rate != self.clock_rate {
            self.clock_rate = clock_rate;
            self.source = None;
        }
    }

    /// Packets and octets sent.
    pub fn counters(&self) -> SendCounters {
        self.counters
    }

    /// The last timestamp sent and when (for sender reports).
    pub fn last_sent(&self) -> Option<(u32, Instant)> {
        self.last_sent.map(|t| (self.last_ts, t))
    }

    /// The timestamp that corresponds to `now` (for sender reports and new anchors).
    pub fn timestamp_at(&self, now: Instant) -> u32 {
        match self.last_sent {
            None => self.last_ts,
            Some(t) => self
                .last_ts
                .wrapping_add(self.units(now.saturating_duration_since(t))),
        }
    }

    fn units(&self, d: Duration) -> u32 {
        (d.as_micros() as u64 * u64::from(self.clock_rate) / 1_000_000) as u32
    }

    /// Forces the next packet, whatever its source, to re-anchor (after a hold, a
    /// renegotiation, or anything that broke the timing).
    pub fn reanchor(&mut self) {
        self.source = None;
    }

    /// Rewrites a relayed RTP packet in place for this stream (SSRC, sequence number,
    /// timestamp, payload type). `seq`/`ts` are the packet's own values.
    pub fn relay(
        &mut self,
        now: Instant,
        source: Source,
        packet: &mut [u8],
        seq: u16,
        ts: u32,
        pt: Pt,
    ) {
        let mut marker = false;
        if self.source != Some(source) {
            // The first timestamp of the new source lands where our clock is now.
            let at = if self.last_sent.is_some() {
                self.timestamp_at(now)
            } else {
                self.last_ts
            };
            self.seq_offset = self.next_seq.wrapping_sub(seq);
            self.ts_offset = at.wrapping_sub(ts);
            self.source = Some(source);
            marker = true;
        }
        let out_seq = seq.wrapping_add(self.seq_offset);
        let out_ts = ts.wrapping_add(self.ts_offset);
        rtp::rewrite(packet, self.ssrc, out_seq, out_ts, Some(pt));
        if marker {
            packet[1] |= 0x80;
        }
        self.sent(now, out_seq, out_ts, packet.len());
    }

    /// Sequence number and timestamp for a packet generated here covering `units` clock
    /// units, and whether it starts a new talk spurt (marker). Timestamps advance by the
    /// audio sent, so local streams are sample-exact.
    pub fn next_local(&mut self, now: Instant, units: u32) -> (u16, u32, bool) {
        let new = self.source != Some(Source::Local);
        if new {
            self.local_ts = if self.last_sent.is_some() {
                self.timestamp_at(now)
            } else {
                self.last_ts
            };
            self.source = Some(Source::Local);
        }
        let seq = self.next_seq;
        let ts = self.local_ts;
        self.local_ts = self.local_ts.wrapping_add(units);
        (seq, ts, new)
    }

    /// Sequence number and timestamp for an RFC 4733 event packet: a new event takes the
    /// timestamp of this moment, later packets of the event keep it (§2.5.1.3). Whatever
    /// follows the event re-anchors.
    pub fn next_event(&mut self, now: Instant, event_start: bool) -> (u16, u32) {
        if event_start || self.source != Some(Source::Event) {
            self.event_ts = if self.last_sent.is_some() {
                self.timestamp_at(now)
            } else {
                self.last_ts
            };
            self.source = Some(Source::Event);
        }
        (self.next_seq, self.event_ts)
    }

    /// Records a locally built packet as sent.
    pub fn local_sent(&mut self, now: Instant, seq: u16, ts: u32, len: usize) {
        self.sent(now, seq, ts, len);
    }

    fn sent(&mut self, now: Instant, seq: u16, ts: u32, len: usize) {
        if seq.wrapping_sub(self.next_seq) as i16 >= 0 {
            self.next_seq = seq.wrapping_add(1);
        }
        // Equal timestamps (the packets of one DTMF event) leave the clock anchor alone.
        if ts.wrapping_sub(self.last_ts) as i32 > 0 || self.last_sent.is_none() {
            self.last_ts = ts;
            self.last_sent = Some(now);
        }
        self.counters.packets += 1;
        self.counters.octets += len.saturating_sub(12) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0xff; 172];
        rtp::write_header(&mut p, false, Pt(0), seq, ts, Ssrc(ssrc));
        p
    }

    fn fields(p: &[u8]) -> (u16, u32, u32, bool, u8) {
        let h = rtp::RtpHeader::parse(p).unwrap();
        (
            h.sequence,
            h.timestamp,
            h.ssrc.0,
            h.marker,
            h.payload_type.0,
        )
    }

    #[test]
    fn continuous_across_sources_and_events() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut out = OutStream::new(Ssrc(0xabcd), 1000, 50_000, 8000);
        let a = Source::Relay {
            leg: 1,
            ssrc: Ssrc(7),
        };
        // Source A: seq 500.., ts 9000..; one reordered pair.
        let mut got = Vec::new();
        for (i, s) in [0u16, 1, 3, 2, 4].into_iter().enumerate() {
            let mut p = packet(500 + s, 9000 + u32::from(s) * 160, 7);
            out.relay(
                ms(i as u64 * 20),
                a,
                &mut p,
                500 + s,
                9000 + u32::from(s) * 160,
                Pt(8),
            );
            got.push(fields(&p));
        }
        assert_eq!(
            got,
            [
                (1000, 50_000, 0xabcd, true, 8),
                (1001, 50_160, 0xabcd, false, 8),
                (1003, 50_480, 0xabcd, false, 8),
                (1002, 50_320, 0xabcd, false, 8),
                (1004, 50_640, 0xabcd, false, 8),
            ]
        );
        // A DTMF event 100 ms later: fixed timestamp, next sequence numbers.
        let (s1, t1) = out.next_event(ms(180), true);
        out.local_sent(ms(180), s1, t1, 16);
        let (s2, t2) = out.next_event(ms(200), false);
        out.local_sent(ms(200), s2, t2, 16);
        assert_eq!((s1, t1, s2, t2), (1005, 51_440, 1006, 51_440));
        // Source B (re-bridged, another SSRC and numbering) 60 ms after the event began.
        let b = Source::Relay {
            leg: 2,
            ssrc: Ssrc(99),
        };
        let mut p = packet(7, 123, 99);
        out.relay(ms(240), b, &mut p, 7, 123, Pt(8));
        assert_eq!(fields(&p), (1007, 51_440 + 480, 0xabcd, true, 8));
        // Local audio afterwards: timestamps advance by the audio itself.
        let (s, ts, marker) = out.next_local(ms(260), 160);
        out.local_sent(ms(260), s, ts, 172);
        let (s2, ts2, marker2) = out.next_local(ms(280), 160);
        assert_eq!((s, ts, marker), (1008, 51_920 + 160, true));
        assert_eq!((s2, ts2, marker2), (1009, 51_920 + 320, false));
        assert_eq!(out.counters().packets, 9);
    }
}
