//! Snoop channels (ARI `POST /channels/{id}/snoop`): a virtual leg that hears another leg's
//! audio — what that leg receives (`in`), what it is sent (`out`), or both — and whose own
//! audio is whispered into that leg's media: into what it receives (so its bridge hears it),
//! into what it is sent (so its far end hears it), or both.
//!
//! The two ends meet in a pipe of 20 ms frames per direction, so they may live on different
//! workers. A reader takes one frame per tick and never lets more than [`KEEP`] pile up
//! (ticks of two workers drift in phase, not in rate), so the added delay stays at 20–60 ms.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use codec_transcoder::{Resampler, SampleRate};

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
/// Frames queued before the oldest is dropped (a reader that stopped reading).
const MAX_QUEUED: usize = 5;

#[derive(Debug, Default)]
struct Frames(VecDeque<(SampleRate, Vec<i16>)>);

impl Frames {
    fn push(&mut self, rate: SampleRate, pcm: &[i16]) {
        let mut buf = if self.0.len() >= MAX_QUEUED {
            self.0.pop_front().map(|(_, b)| b).unwrap_or_default()
        } else {
            Vec::with_capacity(pcm.len())
        };
        buf.clear();
        buf.extend_from_slice(pcm);
        self.0.push_back((rate, buf));
    }

    fn pop(&mut self) -> Option<(SampleRate, Vec<i16>)> {
        while self.0.len() > KEEP + 1 {
            self.0.pop_front();
        }
        self.0.pop_front()
    }
}

#[derive(Debug, Default)]
struct PipeState {
    spy_in: Frames,
    spy_out: Frames,
    whisper: Frames,
    closed: bool,
}

#[derive(Debug, Default)]
struct Pipe(Mutex<PipeState>);

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
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
#[derive(Debug)]
pub(crate) struct SnoopTap {
    pipe: Arc<Pipe>,
    spy: SnoopDirection,
    whisper: SnoopDirection,
    /// This tick's whispered frame, taken at the start of the leg's tick.
    frame: Option<(SampleRate, Vec<i16>)>,
    conv_in: Converter,
    conv_out: Converter,
}

impl SnoopTap {
    /// Whether the snoop leg is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.pipe.lock().closed
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
        let mut p = self.pipe.lock();
        if let Some(r) = rate.filter(|_| self.spy.includes_in() && !rx.is_empty()) {
            p.spy_in.push(r, rx);
        }
        self.frame = if self.whisper == SnoopDirection::None {
            None
        } else {
            p.whisper.pop()
        };
    }

    /// Adds the whisper into the received frame (whispering `in`).
    pub(crate) fn whisper_in(&mut self, rx: &mut Vec<i16>, rate: SampleRate) {
        if let Some((r, f)) = self.frame.as_ref().filter(|_| self.whisper.includes_in()) {
            self.conv_in.add_into(f, *r, rate, rx);
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
            self.pipe.lock().spy_out.push(r, tx);
        }
        let Some((r, f)) = self.frame.take().filter(|_| self.whisper.includes_out()) else {
            return rate;
        };
        match rate {
            Some(to) if !tx.is_empty() => {
                self.conv_out.add_into(&f, r, to, tx);
                Some(to)
            }
            _ => {
                tx.clear();
                tx.extend_from_slice(&f);
                Some(r)
            }
        }
    }
}

impl Drop for SnoopTap {
    fn drop(&mut self) {
        self.pipe.lock().closed = true;
    }
}

/// The snoop leg's end: its "received" audio is what it spies.
#[derive(Debug)]
pub(crate) struct SnoopSource {
    pipe: Arc<Pipe>,
    rate: SampleRate,
    whispers: bool,
    conv: Converter,
}

impl SnoopSource {
    /// The rate the snoop leg works at.
    pub(crate) fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Whether the spied leg is gone.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.pipe.lock().closed
    }

    /// This tick's 20 ms of spied audio (both directions mixed; silence when none came).
    pub(crate) fn next_frame(&mut self, out: &mut Vec<i16>) {
        out.clear();
        out.resize(self.rate.samples_in_ms(20), 0);
        let (a, b) = {
            let mut p = self.pipe.lock();
            (p.spy_in.pop(), p.spy_out.pop())
        };
        for (r, f) in [a, b].into_iter().flatten() {
            self.conv.add_into(&f, r, self.rate, out);
        }
    }

    /// What the snoop leg is sent this tick: whispered into the spied leg.
    pub(crate) fn whisper(&self, frame: &[i16], rate: SampleRate) {
        if self.whispers && !frame.is_empty() {
            self.pipe.lock().whisper.push(rate, frame);
        }
    }
}

impl Drop for SnoopSource {
    fn drop(&mut self) {
        self.pipe.lock().closed = true;
    }
}

/// A connected pair: the tap goes on the spied leg, the source on the snoop leg (working at
/// `rate`).
pub(crate) fn pair(
    spy: SnoopDirection,
    whisper: SnoopDirection,
    rate: SampleRate,
) -> (SnoopTap, SnoopSource) {
    let pipe = Arc::new(Pipe::default());
    (
        SnoopTap {
            pipe: Arc::clone(&pipe),
            spy,
            whisper,
            frame: None,
            conv_in: Converter::default(),
            conv_out: Converter::default(),
        },
        SnoopSource {
            pipe,
            rate,
            whispers: whisper != SnoopDirection::None,
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
        let (mut tap, src) = pair(
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
        let (mut tap, src) = pair(
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
        let left = src.pipe.lock().spy_in.0.len();
        assert_eq!(left, KEEP);
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
