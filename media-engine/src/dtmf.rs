//! DTMF as RFC 4733 telephone-events: the payload, a receiver that turns packets into digit
//! begin/end (tolerating lost and redundant packets) and a sender that turns digits into
//! packets. In-band detection lives in [`crate::inband`].

use std::time::{Duration, Instant};

/// A DTMF digit (RFC 4733 §3.2 events 0–15) or flash (16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digit(u8);

impl Digit {
    /// The digit for an RFC 4733 event code, if it is one (0–16).
    pub fn from_event(code: u8) -> Option<Self> {
        (code <= 16).then_some(Self(code))
    }

    /// The digit for a character `0-9 * # A-D` (either case) or `!` for flash.
    pub fn from_char(c: char) -> Option<Self> {
        let code = match c.to_ascii_uppercase() {
            d @ '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            d @ 'A'..='D' => d as u8 - b'A' + 12,
            '!' => 16,
            _ => return None,
        };
        Some(Self(code))
    }

    /// The RFC 4733 event code.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The character, as ARI spells it.
    pub fn as_char(self) -> char {
        b"0123456789*#ABCD!"[usize::from(self.0)] as char
    }

    /// The (row, column) frequencies in Hz; flash has none.
    pub fn frequencies(self) -> Option<(f32, f32)> {
        const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
        const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
        // Keypad position of each event code.
        let (r, c) = match self.0 {
            0 => (3, 1),
            1..=9 => ((self.0 - 1) / 3, (self.0 - 1) % 3),
            10 => (3, 0),
            11 => (3, 2),
            12..=15 => (self.0 - 12, 3),
            _ => return None,
        };
        Some((ROWS[usize::from(r)], COLS[usize::from(c)]))
    }
}

impl std::fmt::Display for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// An RFC 4733 §2.3 event payload (4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    /// Event code.
    pub event: u8,
    /// The E bit: this is (a retransmission of) the final packet.
    pub end: bool,
    /// Power level in −dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in RTP clock units.
    pub duration: u16,
}

impl EventPayload {
    /// Parses the first event of a payload (further events of a multi-event payload, RFC 4733
    /// §2.5.1.5, repeat earlier ones and are ignored).
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let b: &[u8; 4] = payload.get(..4)?.try_into().ok()?;
        Some(Self {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The 4 payload bytes (the R bit is always 0).
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// What a receiver learned from the packets so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfUpdate {
    /// A digit started.
    Begin(Digit),
    /// A digit ended after `duration` (in RTP clock units of the stream).
    End {
        /// The digit.
        digit: Digit,
        /// How long it lasted, in RTP clock units.
        duration: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Current {
    digit: Digit,
    /// Timestamp of the event's first segment.
    start: u32,
    /// Timestamp of the segment being received (long events restart it, §2.5.2.3).
    segment: u32,
    /// Duration of earlier segments.
    before: u32,
    duration: u32,
    ended: bool,
    last_seen: Instant,
}

/// Turns received telephone-event packets into digit begins and ends (RFC 4733 §2.5.2).
///
/// Redundant end packets are absorbed, a lost end is recovered from the next event or from
/// [`handle_timeout`](Self::handle_timeout), and long events split into segments stay one digit.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    clock_rate: u32,
    current: Option<Current>,
    out: std::collections::VecDeque<DtmfUpdate>,
}

/// How long an event may go without packets before it is ended.
const EVENT_TIMEOUT: Duration = Duration::from_millis(500);

impl DtmfReceiver {
    /// A receiver for a stream with this RTP clock rate (8000 or 48000 usually).
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            current: None,
            out: std::collections::VecDeque::with_capacity(4),
        }
    }

    /// The stream's clock rate.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Feeds one telephone-event packet. Malformed payloads and unknown events are ignored.
    pub fn on_packet(&mut self, now: Instant, timestamp: u32, payload: &[u8]) {
        let Some(p) = EventPayload::parse(payload) else {
            return;
        };
        let Some(digit) = Digit::from_event(p.event) else {
            return;
        };
        let duration = u32::from(p.duration);
        if let Some(cur) = &mut self.current {
            if cur.segment == timestamp && cur.digit == digit {
                cur.last_seen = now;
                if cur.ended {
                    return; // a redundant end packet
                }
                cur.duration = cur.duration.max(cur.before + duration);
                if p.end {
                    cur.ended = true;
                    let (d, total) = (cur.digit, cur.duration);
                    self.push(DtmfUpdate::End {
                        digit: d,
                        duration: total,
                    });
                }
                return;
            }
            // A new segment of a long event: same digit, continuing where the last ended.
            let contiguous = timestamp.wrapping_sub(cur.segment) == cur.duration - cur.before
                && timestamp != cur.segment;
            if !cur.ended && cur.digit == digit && contiguous {
                cur.before = cur.duration;
                cur.segment = timestamp;
                cur.duration = cur.before + duration;
                cur.last_seen = now;
                if p.end {
                    cur.ended = true;
                    let total = cur.duration;
                    self.push(DtmfUpdate::End {
                        digit,
                        duration: total,
                    });
                }
                return;
            }
            // Late packet of an older event: ignore (RFC 4733 §2.5.2.2).
            if (timestamp.wrapping_sub(cur.segment) as i32) < 0 {
                return;
            }
            if !cur.ended {
                let (d, total) = (cur.digit, cur.duration);
                self.push(DtmfUpdate::End {
                    digit: d,
                    duration: total,
                });
            }
        }
        self.current = Some(Current {
            digit,
            start: timestamp,
            segment: timestamp,
            before: 0,
            duration,
            ended: p.end,
            last_seen: now,
        });
        self.push(DtmfUpdate::Begin(digit));
        if p.end {
            self.push(DtmfUpdate::End { digit, duration });
        }
    }

    /// Ends an event whose packets stopped without an end packet.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(cur) = &mut self.current
            && !cur.ended
            && now.saturating_duration_since(cur.last_seen) >= EVENT_TIMEOUT
        {
            cur.ended = true;
            let (digit, duration) = (cur.digit, cur.duration);
            self.push(DtmfUpdate::End { digit, duration });
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current
            .filter(|c| !c.ended)
            .map(|c| c.last_seen + EVENT_TIMEOUT)
    }

    /// Timestamp of the current (or last) event's start.
    pub fn event_start(&self) -> Option<u32> {
        self.current.map(|c| c.start)
    }

    /// The next update, oldest first.
    pub fn poll_update(&mut self) -> Option<DtmfUpdate> {
        self.out.pop_front()
    }

    fn push(&mut self, u: DtmfUpdate) {
        // Unpolled updates are bounded: keep the newest few.
        if self.out.len() >= 8 {
            self.out.pop_front();
        }
        self.out.push_back(u);
    }
}

/// One packet a [`DtmfSender`] wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// The payload.
    pub payload: EventPayload,
    /// Set on the first packet of an event (RFC 4733 §2.5.1.3): the caller fixes the event's
    /// timestamp at its stream position now and keeps it for every later packet of the event.
    pub marker: bool,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    digit: Digit,
    duration: u32,
}

#[derive(Debug, Clone, Copy)]
enum SendState {
    Idle,
    Playing {
        digit: Digit,
        elapsed: u32,
        total: u32,
    },
    Ending {
        digit: Digit,
        total: u32,
        left: u8,
    },
    Gap {
        left: u32,
    },
}

/// Turns digits into RFC 4733 packets, one call to [`next_packet`](Self::next_packet) per
/// packet interval: a marker packet, updates with growing duration, and three copies of the
/// end packet (§2.5.1.4), then an inter-digit gap.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    clock_rate: u32,
    interval: u32,
    gap: u32,
    volume: u8,
    queue: std::collections::VecDeque<Pending>,
    state: SendState,
}

/// Copies of the final packet.
const END_COPIES: u8 = 3;

impl DtmfSender {
    /// A sender at `clock_rate` sending one packet every `interval_ms`.
    pub fn new(clock_rate: u32, interval_ms: u32) -> Self {
        Self {
            clock_rate,
            interval: clock_rate / 1000 * interval_ms.max(10),
            gap: clock_rate / 1000 * 100,
            volume: 10,
            queue: std::collections::VecDeque::new(),
            state: SendState::Idle,
        }
    }

    /// Sets the silence between digits (default 100 ms).
    pub fn set_gap(&mut self, gap: Duration) {
        self.gap = (gap.as_millis() as u32).saturating_mul(self.clock_rate / 1000);
    }

    /// Queues a digit lasting `duration` (at least 40 ms, at most the 16-bit field's limit).
    pub fn queue(&mut self, digit: Digit, duration: Duration) {
        let units = (duration.as_millis() as u32)
            .clamp(40, 8000)
            .saturating_mul(self.clock_rate / 1000)
            .min(u32::from(u16::MAX));
        self.queue.push_back(Pending {
            digit,
            duration: units,
        });
    }

    /// Starts an event of unknown length now (translating a digit another leg is receiving),
    /// ahead of anything queued; [`end`](Self::end) finishes it.
    pub fn begin(&mut self, digit: Digit) {
        if let SendState::Playing { digit: d, .. } = self.state
            && d == digit
        {
            return;
        }
        self.state = SendState::Playing {
            digit,
            elapsed: 0,
            total: u32::from(u16::MAX),
        };
    }

    /// Ends the event [`begin`](Self::begin) started, once it has lasted `duration` clock units
    /// (immediately if it has already).
    pub fn end(&mut self, duration: u32) {
        if let SendState::Playing {
            digit,
            elapsed,
            total,
        } = self.state
        {
            let total = duration.clamp(elapsed.max(self.interval), total);
            self.state = SendState::Playing {
                digit,
                elapsed,
                total,
            };
        }
    }

    /// Whether an event is being sent or queued (the leg suppresses audio meanwhile).
    pub fn is_active(&self) -> bool {
        !matches!(self.state, SendState::Idle) || !self.queue.is_empty()
    }

    /// Whether an event (not a gap) is on the wire right now.
    pub fn in_event(&self) -> bool {
        matches!(
            self.state,
            SendState::Playing { .. } | SendState::Ending { .. }
        )
    }

    /// The clock rate.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// The packet for this interval, if any. Call once per packet interval.
    pub fn next_packet(&mut self) -> Option<EventPacket> {
        loop {
            match self.state {
                SendState::Idle => {
                    let p = self.queue.pop_front()?;
                    self.state = SendState::Playing {
                        digit: p.digit,
                        elapsed: 0,
                        total: p.duration,
                    };
                }
                SendState::Playing {
                    digit,
                    elapsed,
                    total,
                } => {
                    let first = elapsed == 0;
                    let elapsed = (elapsed + self.interval).min(total);
                    self.state = if elapsed >= total {
                        SendState::Ending {
                            digit,
                            total,
                            left: END_COPIES,
                        }
                    } else {
                        SendState::Playing {
                            digit,
                            elapsed,
                            total,
                        }
                    };
                    if elapsed >= total && !first {
                        // The end packets carry the final duration; go straight to them.
                        continue;
                    }
                    return Some(self.packet(digit, elapsed, false, first));
                }
                SendState::Ending { digit, total, left } => {
                    self.state = if left > 1 {
                        SendState::Ending {
                            digit,
                            total,
                            left: left - 1,
                        }
                    } else {
                        SendState::Gap { left: self.gap }
                    };
                    return Some(self.packet(digit, total, true, false));
                }
                SendState::Gap { left } => {
                    if left > self.interval {
                        self.state = SendState::Gap {
                            left: left - self.interval,
                        };
                    } else {
                        self.state = SendState::Idle;
                    }
                    return None;
                }
            }
        }
    }

    fn packet(&self, digit: Digit, duration: u32, end: bool, first: bool) -> EventPacket {
        EventPacket {
            payload: EventPayload {
                event: digit.event(),
                end,
                volume: self.volume,
                duration: duration.min(u32::from(u16::MAX)) as u16,
            },
            marker: first,
        }
    }
}

/// Converts a duration between RTP clock rates (e.g. 8000 → 48000), for translating events
/// between legs.
pub fn convert_units(units: u32, from_rate: u32, to_rate: u32) -> u32 {
    (u64::from(units) * u64::from(to_rate) / u64::from(from_rate.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(event: u8, end: bool, duration: u16) -> [u8; 4] {
        EventPayload {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    fn drain(r: &mut DtmfReceiver) -> Vec<DtmfUpdate> {
        std::iter::from_fn(|| r.poll_update()).collect()
    }

    #[test]
    fn digits_and_payload() {
        for (c, code) in [
            ('0', 0),
            ('9', 9),
            ('*', 10),
            ('#', 11),
            ('a', 12),
            ('D', 15),
        ] {
            let d = Digit::from_char(c).unwrap();
            assert_eq!(d.event(), code);
            assert_eq!(d.as_char(), c.to_ascii_uppercase());
        }
        assert_eq!(
            Digit::from_char('1').unwrap().frequencies(),
            Some((697.0, 1209.0))
        );
        assert_eq!(
            Digit::from_char('#').unwrap().frequencies(),
            Some((941.0, 1477.0))
        );
        assert_eq!(
            Digit::from_char('D').unwrap().frequencies(),
            Some((941.0, 1633.0))
        );
        assert!(Digit::from_char('x').is_none());
        // RFC 4733 §2.3 layout: event, E|R|volume, duration.
        assert_eq!(pkt(5, true, 800), [5, 0x8a, 0x03, 0x20]);
        let p = EventPayload::parse(&[11, 0x80 | 0x40 | 7, 0, 160]).unwrap();
        assert!(p.end);
        assert_eq!((p.event, p.volume, p.duration), (11, 7, 160));
        assert_eq!(EventPayload::parse(&[1, 2, 3]), None);
    }

    #[test]
    fn receiver_absorbs_redundancy_and_recovers_lost_ends() {
        let t = Instant::now();
        let mut r = DtmfReceiver::new(8000);
        r.on_packet(t, 1000, &pkt(1, false, 160));
        r.on_packet(t, 1000, &pkt(1, false, 320));
        r.on_packet(t, 1000, &pkt(1, true, 800));
        r.on_packet(t, 1000, &pkt(1, true, 800));
        r.on_packet(t, 1000, &pkt(1, true, 800));
        let d1 = Digit::from_char('1').unwrap();
        assert_eq!(
            drain(&mut r),
            [
                DtmfUpdate::Begin(d1),
                DtmfUpdate::End {
                    digit: d1,
                    duration: 800
                }
            ]
        );
        // Lost end packets: the next event ends the previous one.
        r.on_packet(t, 3000, &pkt(2, false, 160));
        r.on_packet(t, 3000, &pkt(2, false, 480));
        r.on_packet(t, 5000, &pkt(3, false, 160));
        let (d2, d3) = (
            Digit::from_char('2').unwrap(),
            Digit::from_char('3').unwrap(),
        );
        assert_eq!(
            drain(&mut r),
            [
                DtmfUpdate::Begin(d2),
                DtmfUpdate::End {
                    digit: d2,
                    duration: 480
                },
                DtmfUpdate::Begin(d3)
            ]
        );
        // ... or the timeout does.
        assert_eq!(r.poll_timeout(), Some(t + EVENT_TIMEOUT));
        r.handle_timeout(t + EVENT_TIMEOUT);
        assert_eq!(
            drain(&mut r),
            [DtmfUpdate::End {
                digit: d3,
                duration: 160
            }]
        );
        // A late packet of the old event changes nothing.
        r.on_packet(t, 3000, &pkt(2, true, 800));
        assert!(drain(&mut r).is_empty());
    }

    #[test]
    fn long_events_are_one_digit() {
        let t = Instant::now();
        let mut r = DtmfReceiver::new(8000);
        r.on_packet(t, 0, &pkt(5, false, 65535));
        r.on_packet(t, 65535, &pkt(5, false, 1000));
        r.on_packet(t, 65535, &pkt(5, true, 2000));
        let d5 = Digit::from_char('5').unwrap();
        assert_eq!(
            drain(&mut r),
            [
                DtmfUpdate::Begin(d5),
                DtmfUpdate::End {
                    digit: d5,
                    duration: 67535
                }
            ]
        );
    }

    #[test]
    fn sender_marks_grows_and_repeats_the_end() {
        let mut s = DtmfSender::new(8000, 20);
        s.queue(Digit::from_char('7').unwrap(), Duration::from_millis(100));
        s.queue(Digit::from_char('#').unwrap(), Duration::from_millis(40));
        let mut packets = Vec::new();
        for _ in 0..40 {
            packets.push(s.next_packet());
        }
        let sent: Vec<_> = packets.iter().flatten().collect();
        // 7: 160,320,480,640 then 3×800 end; gap of 100 ms (5 intervals); #: 160, 3×320 end.
        let durations: Vec<(u8, bool, u16, bool)> = sent
            .iter()
            .map(|p| (p.payload.event, p.payload.end, p.payload.duration, p.marker))
            .collect();
        assert_eq!(
            durations,
            [
                (7, false, 160, true),
                (7, false, 320, false),
                (7, false, 480, false),
                (7, false, 640, false),
                (7, true, 800, false),
                (7, true, 800, false),
                (7, true, 800, false),
                (11, false, 160, true),
                (11, true, 320, false),
                (11, true, 320, false),
                (11, true, 320, false),
            ]
        );
        let gap = packets.iter().skip(7).take_while(|p| p.is_none()).count();
        assert_eq!(gap, 5);
        assert!(!s.is_active());
        // At 48 kHz the same digit has 6× the units.
        let mut s = DtmfSender::new(48_000, 20);
        s.queue(Digit::from_char('1').unwrap(), Duration::from_millis(60));
        let d: Vec<u16> = std::iter::from_fn(|| s.next_packet())
            .map(|p| p.payload.duration)
            .collect();
        assert_eq!(d, [960, 1920, 2880, 2880, 2880]);
        assert_eq!(convert_units(800, 8000, 48_000), 4800);
    }

    #[test]
    fn open_ended_events_for_translation() {
        let mut s = DtmfSender::new(48_000, 20);
        s.begin(Digit::from_char('4').unwrap());
        let a = s.next_packet().unwrap();
        let b = s.next_packet().unwrap();
        // The far leg's digit lasted 400 units at 8 kHz = 2400 at 48 kHz.
        s.end(convert_units(400, 8000, 48_000));
        let rest: Vec<(u16, bool)> = std::iter::from_fn(|| s.next_packet())
            .map(|p| (p.payload.duration, p.payload.end))
            .collect();
        assert_eq!(
            (a.marker, a.payload.duration, b.payload.duration),
            (true, 960, 1920)
        );
        assert_eq!(rest, [(2400, true), (2400, true), (2400, true)]);
    }

    #[test]
    fn sender_output_round_trips_through_the_receiver() {
        let t = Instant::now();
        let mut s = DtmfSender::new(8000, 20);
        let mut r = DtmfReceiver::new(8000);
        for c in "19#*".chars() {
            s.queue(Digit::from_char(c).unwrap(), Duration::from_millis(80));
        }
        let mut ts = 0u32;
        let mut event_ts = 0;
        let mut got = Vec::new();
        for _ in 0..100 {
            if let Some(p) = s.next_packet() {
                if p.marker {
                    event_ts = ts;
                }
                r.on_packet(t, event_ts, &p.payload.to_bytes());
            }
            ts += 160;
            while let Some(u) = r.poll_update() {
                if let DtmfUpdate::End { digit, duration } = u {
                    got.push((digit.as_char(), duration));
                }
            }
        }
        assert_eq!(got, [('1', 640), ('9', 640), ('#', 640), ('*', 640)]);
    }
}
