//! Snoop channels (ARI `POST /channels/{id}/snoop`): a virtual leg that hears another leg's
//! audio — what that leg receives (`in`), what it is sent (`out`), or both — and whose own
//! audio is whispered into that leg's media: into what it receives (so its bridge hears it),
//! into what it is sent (so its far end hears it), or both.
//!
//! The two ends meet in three single-producer single-consumer ring buffers of samples (spy
//! in, spy out, whisper), so they may live on different workers without a lock. A reader takes
//! 20 ms per tick and never lets more than [`KEEP`] frames pile up (ticks of two workers drift
//! in phase, not in rate), so the added delay stays at 20–60 ms.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU32, Ordering},
};

use codec_transcoder::{Resampler, SampleRate};
use ringbuf::{
    HeapCons, HeapProd, HeapRb,
    traits::{Consumer, Observer, Producer, Split},
};

/// Which audio of the spied leg a snoop hears or whispers into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnoopDirection {
    /// Nothing.
    #[default]
    None,
    /// What the leg receives from its far end.
    In,
    /// What the leg sends to its far end.
    Out,
    /// Both.
    Both,
}

impl SnoopDirection {
    /// ARI's spelling: `none`, `in`, `out`, `both`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "in" => Self::In,
            "out" => Self::Out,
            "both" => Self::Both,
            _ => return None,
        })
    }

    /// Whether it covers the received audio.
    pub fn includes_in(self) -> bool {
        matches!(self, Self::In | Self::Both)
    }

    /// Whether it covers the sent audio.
    pub fn includes_out(self) -> bool {
        matches!(self, Self::Out | Self::Both)
    }
}

/// Frames kept after a read: more means the writer's ticks run ahead of the reader's phase.
const KEEP: usize = 2;
/// Frames a lane holds (at 48 kHz) before new ones are dropped (a reader that stopped).
const MAX_QUEUED: usize = 5;

/// What both ends share besides the lanes: whether either is gone, and each lane's rate.
#[derive(Debug, Default)]
struct Shared {
    closed: AtomicBool,
    rates: [AtomicU32; 3],
}

const SPY_IN: usize = 0;
const SPY_OUT: usize = 1;
const WHISPER: usize = 2;

/// The writing end of one lane.
struct LaneTx {
    prod: HeapProd<i16>,
    lane: usize,
}

impl LaneTx {
    /// Queues a frame (dropped whole when the reader has fallen behind).
    fn push(&mut self, shared: &Shared, rate: SampleRate, pcm: &[i16]) {
        shared.rates[self.lane].store(rate.hz(), Ordering::Release);
        if self.prod.vacant_len() >= pcm.len() {
            self.prod.push_slice(pcm);
        }
    }
}

/// The reading end of one lane.
struct LaneRx {
    cons: HeapCons<i16>,
    lane: usize,
}

impl LaneRx {
    /// Takes 20 ms into `out` (at the writer's rate, returned), skipping whole frames beyond
    /// [`KEEP`]; `None` when less than a frame is there.
    fn pop(&mut self, shared: &Shared, out: &mut Vec<i16>) -> Option<SampleRate> {
        let rate = SampleRate::from_hz(shared.rates[self.lane].load(Ordering::Acquire))?;
        let n = rate.samples_in_ms(20);
        let queued = self.cons.occupied_len() / n;
        if queued == 0 {
            return None;
        }
        if queued > KEEP + 1 {
            self.cons.skip((queued - KEEP - 1) * n);
        }
        out.clear();
        out.resize(n, 0);
        let got = self.cons.pop_slice(out);
        out.truncate(got);
        Some(rate)
    }
}

fn lane(index: usize) -> (LaneTx, LaneRx) {
    let (prod, cons) =
        HeapRb::<i16>::new(SampleRate::Hz48000.samples_in_ms(20) * MAX_QUEUED).split();
    (LaneTx { prod, lane: index }, LaneRx { cons, lane: index })
}

/// Adds audio at one rate into a frame at another.
#[derive(Debug, Default)]
struct Converter {
    resamplers: Vec<Resampler>,
    buf: Vec<i16>,
}

impl Converter {
    /// Adds `src` (at `from`) into `acc` (20 ms at `to`; filled with silence first if empty).
    fn add_into(&mut self, src: &[i16], from: SampleRate, to: SampleRate, acc: &mut Vec<i16>) {
        if acc.is_empty() {
            acc.resize(to.samples_in_ms(20), 0);
        }
        let src = if from == to {
            src
        } else {
            let i = match self
                .resamplers
                .iter()
                .position(|r| r.from_rate() == from && r.to_rate() == to)
            {
                Some(i) => i,
                None => match Resampler::new(from, to) {
                    Ok(r) => {
                        self.resamplers.push(r);
                        self.resamplers.len() - 1
                    }
                    Err(_) => return,
                },
            };
            self.buf.clear();
            if self.resamplers[i].process(src, &mut self.buf).is_err() {
                return;
            }
            &self.buf
        };
        for (a, s) in acc.iter_mut().zip(src) {
            *a = a.saturating_add(*s);
        }
    }
}

/// The spied leg's end of a snoop.
pub(crate) struct SnoopTap {
    shared: Arc<Shared>,
    spy_in: LaneTx,
    spy_out: LaneTx,
    whisper_rx: LaneRx,
    spy: SnoopDirection,
    whisper: SnoopDirection,
    /// This tick's whispered frame, taken at the start of the leg's tick.
    frame: Vec<i16>,
    frame_rate: Option<SampleRate>,
    conv_in: Converter,
    conv_out: Converter,
}

impl std::fmt::Debug for SnoopTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnoopTap")
            .field("spy", &self.spy)
            .field("whisper", &self.whisper)
            .finish_non_exhaustive()
    }
}

impl SnoopTap {
    /// Whether the snoop leg is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Whether the leg must decode what it receives (to be heard, or whispered into).
    pub(crate) fn needs_decode(&self) -> bool {
        self.spy.includes_in() || self.whisper.includes_in()
    }

    /// Whether the leg must encode what it sends (the whisper is added to it).
    pub(crate) fn needs_encode(&self) -> bool {
        self.whisper.includes_out()
    }

    /// Start of a tick: hands over what the leg received (`rx`, before any whisper) and
    /// takes the frame whispered this tick.
    pub(crate) fn begin_tick(&mut self, rx: &[i16], rate: Option<SampleRate>) {
        if let Some(r) = rate.filter(|_| self.spy.includes_in() && !rx.is_empty()) {
            self.spy_in.push(&self.shared, r, rx);
        }
        self.frame_rate = if self.whisper == SnoopDirection::None {
            None
        } else {
            self.whisper_rx.pop(&self.shared, &mut self.frame)
        };
    }

    /// Adds the whisper into the received frame (whispering `in`).
    pub(crate) fn whisper_in(&mut self, rx: &mut Vec<i16>, rate: SampleRate) {
        if let Some(r) = self.frame_rate.filter(|_| self.whisper.includes_in()) {
            self.conv_in.add_into(&self.frame, r, rate, rx);
        }
    }

    /// Hands over what the leg sends this tick (before any whisper), then adds the whisper
    /// (whispering `out`). Returns the rate of `tx` afterwards (the whisper's own when the
    /// leg had nothing else to send).
    pub(crate) fn end_tick(
        &mut self,
        tx: &mut Vec<i16>,
        rate: Option<SampleRate>,
    ) -> Option<SampleRate> {
        if let Some(r) = rate.filter(|_| self.spy.includes_out() && !tx.is_empty()) {
            self.spy_out.push(&self.shared, r, tx);
        }
        let Some(r) = self
            .frame_rate
            .take()
            .filter(|_| self.whisper.includes_out())
        else {
            return rate;
        };
        match rate {
            Some(to) if !tx.is_empty() => {
                self.conv_out.add_into(&self.frame, r, to, tx);
                Some(to)
            }
            _ => {
                tx.clear();
                tx.extend_from_slice(&self.frame);
                Some(r)
            }
        }
    }
}

impl Drop for SnoopTap {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
    }
}

/// The snoop leg's end: its "received" audio is what it spies.
pub(crate) struct SnoopSource {
    shared: Arc<Shared>,
    spy_in: LaneRx,
    spy_out: LaneRx,
    whisper_tx: LaneTx,
    rate: SampleRate,
    whispers: bool,
    scratch: Vec<i16>,
    conv: Converter,
}

impl std::fmt::Debug for SnoopSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnoopSource")
            .field("rate", &self.rate)
            .field("whispers", &self.whispers)
            .finish_non_exhaustive()
    }
}

impl SnoopSource {
    /// The rate the snoop leg works at.
    pub(crate) fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Whether the spied leg is gone.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// This tick's 20 ms of spied audio (both directions mixed; silence when none came).
    pub(crate) fn next_frame(&mut self, out: &mut Vec<i16>) {
        out.clear();
        out.resize(self.rate.samples_in_ms(20), 0);
        for lane in [&mut self.spy_in, &mut self.spy_out] {
            if let Some(r) = lane.pop(&self.shared, &mut self.scratch) {
                self.conv.add_into(&self.scratch, r, self.rate, out);
            }
        }
    }

    /// What the snoop leg is sent this tick: whispered into the spied leg.
    pub(crate) fn whisper(&mut self, frame: &[i16], rate: SampleRate) {
        if self.whispers && !frame.is_empty() {
            self.whisper_tx.push(&self.shared, rate, frame);
        }
    }
}

impl Drop for SnoopSource {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
    }
}

/// A connected pair: the tap goes on the spied leg, the source on the snoop leg (working at
/// `rate`).
pub(crate) fn pair(
    spy: SnoopDirection,
    whisper: SnoopDirection,
    rate: SampleRate,
) -> (SnoopTap, SnoopSource) {
    let shared = Arc::new(Shared::default());
    let (in_tx, in_rx) = lane(SPY_IN);
    let (out_tx, out_rx) = lane(SPY_OUT);
    let (w_tx, w_rx) = lane(WHISPER);
    (
        SnoopTap {
            shared: Arc::clone(&shared),
            spy_in: in_tx,
            spy_out: out_tx,
            whisper_rx: w_rx,
            spy,
            whisper,
            frame: Vec::new(),
            frame_rate: None,
            conv_in: Converter::default(),
            conv_out: Converter::default(),
        },
        SnoopSource {
            shared,
            spy_in: in_rx,
            spy_out: out_rx,
            whisper_tx: w_tx,
            rate,
            whispers: whisper != SnoopDirection::None,
            scratch: Vec::new(),
            conv: Converter::default(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: i16, n: usize) -> Vec<i16> {
        vec![v; n]
    }

    #[test]
    fn spies_the_chosen_directions_mixed() {
        let (mut tap, mut src) = pair(
            SnoopDirection::Both,
            SnoopDirection::None,
            SampleRate::Hz8000,
        );
        tap.begin_tick(&frame(100, 160), Some(SampleRate::Hz8000));
        let mut tx = frame(20, 160);
        assert_eq!(
            tap.end_tick(&mut tx, Some(SampleRate::Hz8000)),
            Some(SampleRate::Hz8000)
        );
        assert_eq!(tx, frame(20, 160), "nothing whispered");
        let mut out = Vec::new();
        src.next_frame(&mut out);
        assert_eq!(out, frame(120, 160));
        // Nothing came: silence, still 20 ms.
        src.next_frame(&mut out);
        assert_eq!(out, frame(0, 160));
    }

    #[test]
    fn spy_in_only_ignores_what_is_sent() {
        let (mut tap, mut src) = pair(SnoopDirection::In, SnoopDirection::None, SampleRate::Hz8000);
        tap.begin_tick(&frame(7, 160), Some(SampleRate::Hz8000));
        tap.end_tick(&mut frame(9, 160), Some(SampleRate::Hz8000));
        let mut out = Vec::new();
        src.next_frame(&mut out);
        assert_eq!(out, frame(7, 160));
    }

    #[test]
    fn whispers_into_each_direction() {
        let (mut tap, mut src) = pair(
            SnoopDirection::None,
            SnoopDirection::Both,
            SampleRate::Hz8000,
        );
        src.whisper(&frame(5, 160), SampleRate::Hz8000);
        tap.begin_tick(&[], None);
        let mut rx = frame(1, 160);
        tap.whisper_in(&mut rx, SampleRate::Hz8000);
        assert_eq!(rx, frame(6, 160));
        // A leg with nothing else to send sends the whisper alone.
        let mut tx = Vec::new();
        assert_eq!(tap.end_tick(&mut tx, None), Some(SampleRate::Hz8000));
        assert_eq!(tx, frame(5, 160));
    }

    #[test]
    fn whisper_out_only_leaves_the_received_audio_alone() {
        let (mut tap, mut src) = pair(
            SnoopDirection::None,
            SnoopDirection::Out,
            SampleRate::Hz8000,
        );
        src.whisper(&frame(5, 160), SampleRate::Hz8000);
        tap.begin_tick(&[], None);
        let mut rx = frame(1, 160);
        tap.whisper_in(&mut rx, SampleRate::Hz8000);
        assert_eq!(rx, frame(1, 160));
        let mut tx = frame(2, 160);
        tap.end_tick(&mut tx, Some(SampleRate::Hz8000));
        assert_eq!(tx, frame(7, 160));
    }

    #[test]
    fn other_rates_are_resampled_and_delay_is_bounded() {
        let (mut tap, mut src) = pair(
            SnoopDirection::In,
            SnoopDirection::None,
            SampleRate::Hz16000,
        );
        for _ in 0..10 {
            tap.begin_tick(&frame(1000, 160), Some(SampleRate::Hz8000));
        }
        let mut out = Vec::new();
        src.next_frame(&mut out);
        assert_eq!(out.len(), 320);
        // At most KEEP frames remain after a read.
        assert_eq!(src.spy_in.cons.occupied_len(), KEEP * 160);
    }

    #[test]
    fn either_end_dropping_closes_the_pipe() {
        let (tap, src) = pair(SnoopDirection::In, SnoopDirection::None, SampleRate::Hz8000);
        drop(src);
        assert!(tap.is_closed());
        let (tap, src) = pair(SnoopDirection::In, SnoopDirection::None, SampleRate::Hz8000);
        drop(tap);
        assert!(src.is_closed());
    }
}
