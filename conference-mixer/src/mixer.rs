//! The mixer: participants, one tick of mixing, outputs.

use codec_transcoder::{Resampler, SampleRate};

use crate::{
    limiter::limit_into,
    talk::{TalkConfig, TalkDetector, TalkUpdate, level_dbfs},
};

/// Tick length.
const FRAME_MS: u32 = 20;
/// Participants quieter than this (dBFS) are never mixed (background hiss, comfort noise).
const FLOOR_DBFS: f32 = -60.0;
/// Ticks a talker's own output resampler keeps running on silence after it stops being a
/// talker, until the shared output has no trace of its voice left (filter memory < 40 ms).
const FLUSH_TICKS: u8 = 3;

/// Mixer settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixerConfig {
    /// The highest rate the bridge mixes at.
    pub max_rate: SampleRate,
    /// How many of the loudest participants are mixed (K).
    pub max_talkers: usize,
    /// Talk detection.
    pub talk: TalkConfig,
}

impl Default for MixerConfig {
    fn default() -> Self {
        Self {
            max_rate: SampleRate::Hz48000,
            max_talkers: 5,
            talk: TalkConfig::default(),
        }
    }
}

/// A participant, by slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u32);

/// How a participant joins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParticipantOptions {
    /// The rate of its frames in and out.
    pub rate: SampleRate,
    /// Not heard.
    pub muted: bool,
    /// Hears nothing.
    pub deaf: bool,
    /// Input gain in dB.
    pub gain_db: f32,
    /// Report talking started/finished.
    pub talk_detect: bool,
}

impl Default for ParticipantOptions {
    fn default() -> Self {
        Self {
            rate: SampleRate::Hz8000,
            muted: false,
            deaf: false,
            gain_db: 0.0,
            talk_detect: false,
        }
    }
}

/// Talk detection news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixEvent {
    /// Started talking.
    TalkStarted(ParticipantId),
    /// Finished talking.
    TalkFinished {
        /// Who.
        id: ParticipantId,
        /// For how long (ms).
        duration_ms: u64,
    },
}

/// What a participant hears this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output<'a> {
    /// 20 ms at the participant's rate.
    pub samples: &'a [i16],
    /// `Some(key)` when every participant with the same key hears exactly these samples this
    /// tick (non-talkers at one rate): encode once, send to all of them.
    pub shared: Option<u32>,
}

#[derive(Debug)]
struct Participant {
    rate: SampleRate,
    muted: bool,
    deaf: bool,
    /// Input gain, Q12 (4096 = 0 dB).
    gain_q12: i32,
    /// This tick's input at its own rate (gain applied).
    native: Vec<i16>,
    /// This tick's input at the bridge rate (valid when `active`).
    at_bridge: Vec<i16>,
    /// Sum of squares of `native`.
    energy: u64,
    /// This tick's input arrived (else the participant is silent this tick).
    fresh: bool,
    /// `native` holds this tick's samples (possible talkers, resampled or spied ones).
    has_samples: bool,
    /// Samples kept every tick for spying.
    spied: bool,
    active: bool,
    talker: bool,
    talk: Option<TalkDetector>,
    /// To the bridge rate (participants below it).
    in_resampler: Option<Resampler>,
    /// Its own voice resampled to its rate, while a talker at a lower rate (plus flush ticks).
    self_resampler: Option<(Resampler, u8)>,
    /// Its own output this tick (talkers, whispered-to participants).
    own: Vec<i16>,
    has_own: bool,
    /// Audio whispered to it this tick, at its rate.
    whisper: Vec<i16>,
}

/// One shared output per listener rate.
#[derive(Debug)]
struct RateGroup {
    rate: SampleRate,
    resampler: Option<Resampler>,
    /// The mix resampled (before limiting), and limited.
    linear: Vec<i16>,
    limited: Vec<i16>,
}

/// The conference mixer.
#[derive(Debug)]
pub struct Mixer {
    config: MixerConfig,
    rate: SampleRate,
    participants: Vec<Option<Participant>>,
    free: Vec<u32>,
    /// The full mix (talkers + announcer) at the bridge rate, 32-bit.
    sums: Vec<i32>,
    /// Announcer input at the bridge rate this tick.
    announcer: Vec<i16>,
    announcer_resampler: Option<Resampler>,
    tap: Vec<i16>,
    groups: Vec<RateGroup>,
    talkers: Vec<u32>,
    candidates: Vec<(u64, u32)>,
    /// The K largest per-sample energies among this tick's inputs so far (smallest first).
    top: Vec<u64>,
    tap_on: bool,
    silence: Vec<i16>,
    scratch: Vec<i16>,
    scratch32: Vec<i32>,
    events: Vec<MixEvent>,
}

/// The sum of squares of `n` samples at [`FLOOR_DBFS`] (no logarithm per frame).
#[inline]
fn floor_energy(n: usize) -> u64 {
    // 32768² · 10^(−60/10) = 1073.74 per sample.
    const PER_SAMPLE: f64 = 32_768.0 * 32_768.0 * 1e-6;
    debug_assert!(
        (FLOOR_DBFS - -60.0).abs() < f32::EPSILON,
        "keep PER_SAMPLE in step"
    );
    (PER_SAMPLE * n as f64) as u64
}

fn q12(db: f32) -> i32 {
    (4096.0 * 10f32.powf(db / 20.0))
        .round()
        .clamp(0.0, 4096.0 * 64.0) as i32
}

impl Mixer {
    /// An empty bridge.
    pub fn new(config: MixerConfig) -> Self {
        let rate = SampleRate::Hz8000.min(config.max_rate);
        let mut m = Self {
            config,
            rate,
            participants: Vec::new(),
            free: Vec::new(),
            sums: Vec::new(),
            announcer: Vec::new(),
            announcer_resampler: None,
            tap: Vec::new(),
            groups: Vec::new(),
            talkers: Vec::new(),
            candidates: Vec::new(),
            top: Vec::new(),
            tap_on: false,
            silence: Vec::new(),
            scratch: Vec::new(),
            scratch32: Vec::new(),
            events: Vec::new(),
        };
        m.set_rate(rate);
        m
    }

    /// The bridge rate: the highest participant rate, capped.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Participants.
    pub fn len(&self) -> usize {
        self.participants.len() - self.free.len()
    }

    /// Whether nobody is in.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a participant.
    pub fn add(&mut self, options: ParticipantOptions) -> ParticipantId {
        let n = options.rate.samples_in_ms(FRAME_MS);
        let p = Participant {
            rate: options.rate,
            muted: options.muted,
            deaf: options.deaf,
            gain_q12: q12(options.gain_db),
            native: Vec::with_capacity(n),
            at_bridge: Vec::new(),
            energy: 0,
            fresh: false,
            has_samples: false,
            spied: false,
            active: false,
            talker: false,
            talk: options
                .talk_detect
                .then(|| TalkDetector::new(self.config.talk, FRAME_MS)),
            in_resampler: None,
            self_resampler: None,
            own: Vec::new(),
            has_own: false,
            whisper: Vec::new(),
        };
        let id = match self.free.pop() {
            Some(i) => {
                self.participants[i as usize] = Some(p);
                i
            }
            None => {
                self.participants.push(Some(p));
                (self.participants.len() - 1) as u32
            }
        };
        self.retune();
        ParticipantId(id)
    }

    /// Removes a participant (its id may be reused).
    pub fn remove(&mut self, id: ParticipantId) {
        if let Some(slot) = self.participants.get_mut(id.0 as usize)
            && slot.take().is_some()
        {
            self.free.push(id.0);
            self.retune();
        }
    }

    fn get(&mut self, id: ParticipantId) -> Option<&mut Participant> {
        self.participants.get_mut(id.0 as usize)?.as_mut()
    }

    /// Mutes (not heard) or unmutes.
    pub fn set_muted(&mut self, id: ParticipantId, muted: bool) {
        if let Some(p) = self.get(id) {
            p.muted = muted;
        }
    }

    /// Deafens (hears nothing) or undeafens.
    pub fn set_deaf(&mut self, id: ParticipantId, deaf: bool) {
        if let Some(p) = self.get(id) {
            p.deaf = deaf;
        }
    }

    /// Sets the input gain.
    pub fn set_gain(&mut self, id: ParticipantId, gain_db: f32) {
        if let Some(p) = self.get(id) {
            p.gain_q12 = q12(gain_db);
        }
    }

    /// A participant's rate.
    pub fn participant_rate(&self, id: ParticipantId) -> Option<SampleRate> {
        self.participants
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .map(|p| p.rate)
    }

    /// Whether the participant is among this tick's mixed talkers.
    pub fn is_talker(&self, id: ParticipantId) -> bool {
        self.participants
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .is_some_and(|p| p.talker)
    }

    /// The bridge rate follows the highest participant rate (capped); changing it rebuilds
    /// the resamplers.
    fn retune(&mut self) {
        let highest = self
            .participants
            .iter()
            .flatten()
            .map(|p| p.rate)
            .max()
            .unwrap_or(SampleRate::Hz8000)
            .min(self.config.max_rate);
        if highest != self.rate || self.sums.is_empty() {
            self.set_rate(highest);
        }
        // One shared output per listener rate.
        let mut rates: Vec<SampleRate> =
            self.participants.iter().flatten().map(|p| p.rate).collect();
        rates.sort();
        rates.dedup();
        self.groups.retain(|g| rates.contains(&g.rate));
        for r in rates {
            if !self.groups.iter().any(|g| g.rate == r) {
                self.groups.push(RateGroup {
                    rate: r,
                    resampler: (r != self.rate)
                        .then(|| Resampler::new(self.rate, r).ok())
                        .flatten(),
                    linear: Vec::new(),
                    limited: Vec::new(),
                });
            }
        }
    }

    fn set_rate(&mut self, rate: SampleRate) {
        self.rate = rate;
        let n = rate.samples_in_ms(FRAME_MS);
        self.sums = vec![0; n];
        self.tap = vec![0; n];
        self.announcer.clear();
        self.announcer_resampler = None;
        self.groups.clear();
        for p in self.participants.iter_mut().flatten() {
            p.in_resampler = None;
            p.self_resampler = None;
        }
        self.silence = vec![0; SampleRate::Hz48000.samples_in_ms(FRAME_MS)];
    }

    /// This tick's frame from a participant: 20 ms at its rate (shorter is padded with silence,
    /// longer is cut). Not calling it for a tick means silence.
    pub fn input(&mut self, id: ParticipantId, pcm: &[i16]) {
        let bridge = self.rate;
        let k = self.config.max_talkers;
        let Some(p) = self
            .participants
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
        else {
            return;
        };
        let n = p.rate.samples_in_ms(FRAME_MS);
        let take = pcm.len().min(n);
        let g = p.gain_q12;
        let gained = |x: i16| ((i32::from(x) * g) >> 12).clamp(-32768, 32767);
        // Energy first (one pass over the caller's frame, in cache).
        p.energy = if g == 4096 {
            pcm[..take]
                .iter()
                .map(|&x| (i32::from(x) * i32::from(x)) as u64)
                .sum()
        } else {
            pcm[..take]
                .iter()
                .map(|&x| {
                    let y = gained(x);
                    (y * y) as u64
                })
                .sum()
        };
        p.fresh = true;
        let per_sample = p.energy / n.max(1) as u64;
        // Keep the samples only when they may be needed: a possible talker (louder than the
        // K-th loudest so far this tick), an input resampler to keep warm, a spied participant.
        let active = p.energy >= floor_energy(n);
        let contender = active && !p.muted && {
            let top = &mut self.top;
            if top.len() < k {
                top.push(per_sample);
                let last = top.len() - 1;
                if top[last] < top[0] {
                    top.swap(0, last);
                }
                true
            } else if k > 0 && per_sample > top[0] {
                top[0] = per_sample;
                // top[0] stays the smallest (K is small).
                let min = top
                    .iter()
                    .enumerate()
                    .min_by_key(|e| e.1)
                    .map_or(0, |e| e.0);
                top.swap(0, min);
                true
            } else {
                false
            }
        };
        p.has_samples = contender || p.spied || (active && p.rate != bridge);
        if !p.has_samples {
            return;
        }
        p.native.clear();
        if g == 4096 {
            p.native.extend_from_slice(&pcm[..take]);
        } else {
            p.native
                .extend(pcm[..take].iter().map(|&x| gained(x) as i16));
        }
        p.native.resize(n, 0);
    }

    /// Keeps a participant's input samples every tick (for [`said`](Self::said): snoop spies).
    pub fn set_spied(&mut self, id: ParticipantId, spied: bool) {
        if let Some(p) = self.get(id) {
            p.spied = spied;
        }
    }

    /// Computes the tap (the full mix, for a bridge recording) from now on, or stops.
    pub fn set_tap(&mut self, on: bool) {
        self.tap_on = on;
        if !on {
            self.tap.iter_mut().for_each(|x| *x = 0);
        }
    }

    /// Audio for one participant's ears only this tick (at `rate`).
    pub fn whisper(&mut self, id: ParticipantId, pcm: &[i16], rate: SampleRate) {
        let Some(p) = self
            .participants
            .get(id.0 as usize)
            .and_then(Option::as_ref)
        else {
            return;
        };
        if rate != p.rate {
            return; // the caller converts whisper audio to the target's rate
        }
        let n = p.rate.samples_in_ms(FRAME_MS);
        let p = self.participants[id.0 as usize].as_mut().expect("checked");
        p.whisper.clear();
        p.whisper.extend_from_slice(&pcm[..pcm.len().min(n)]);
        p.whisper.resize(n, 0);
    }

    /// Audio everyone hears this tick (a playback into the bridge), at `rate`.
    pub fn announce(&mut self, pcm: &[i16], rate: SampleRate) {
        let n = self.rate.samples_in_ms(FRAME_MS);
        self.announcer.clear();
        if rate == self.rate {
            self.announcer.extend_from_slice(&pcm[..pcm.len().min(n)]);
        } else {
            let bridge = self.rate;
            let r = self
                .announcer_resampler
                .get_or_insert_with(|| Resampler::new(rate, bridge).expect("supported rates"));
            if r.from_rate() != rate {
                *r = Resampler::new(rate, bridge).expect("supported rates");
            }
            let _ = r.process(pcm, &mut self.announcer);
        }
        self.announcer.resize(n, 0);
    }

    /// Mixes this tick: selects the talkers, builds the mix, every output and the tap.
    pub fn mix(&mut self) {
        let n = self.rate.samples_in_ms(FRAME_MS);
        let k = self.config.max_talkers;
        let bridge = self.rate;
        // 1. Levels, talk detection, activity; the K loudest unmuted active participants.
        self.talkers.clear();
        self.candidates.clear();
        for (i, slot) in self.participants.iter_mut().enumerate() {
            let Some(p) = slot else { continue };
            if !p.fresh {
                p.energy = 0;
                p.has_samples = false;
            }
            let samples = p.rate.samples_in_ms(FRAME_MS);
            if let Some(t) = &mut p.talk {
                match t.update(level_dbfs(p.energy, samples)) {
                    Some(TalkUpdate::Started) => {
                        self.events
                            .push(MixEvent::TalkStarted(ParticipantId(i as u32)));
                    }
                    Some(TalkUpdate::Finished { duration_ms }) => {
                        self.events.push(MixEvent::TalkFinished {
                            id: ParticipantId(i as u32),
                            duration_ms,
                        });
                    }
                    None => {}
                }
            }
            p.active = p.energy >= floor_energy(samples);
            p.talker = false;
            if p.active && !p.muted && p.has_samples {
                // Per-sample energy, so that rates do not matter.
                self.candidates.push((p.energy / samples as u64, i as u32));
            }
        }
        if self.candidates.len() > k && k > 0 {
            // Loudest first: an O(N) partition, not a sort.
            self.candidates
                .select_nth_unstable_by(k - 1, |a, b| b.0.cmp(&a.0));
            self.candidates.truncate(k);
        } else if k == 0 {
            self.candidates.clear();
        }
        self.talkers.extend(self.candidates.iter().map(|c| c.1));
        // 2. Inputs at the bridge rate for the active ones (resamplers stay warm while active).
        for p in self.participants.iter_mut().flatten() {
            if p.rate == bridge || !p.active || !p.has_samples {
                continue;
            }
            let r = p
                .in_resampler
                .get_or_insert_with(|| Resampler::new(p.rate, bridge).expect("supported rates"));
            p.at_bridge.clear();
            let _ = r.process(&p.native, &mut p.at_bridge);
            p.at_bridge.resize(n, 0);
        }
        // 3. The mix.
        self.sums.clear();
        self.sums.resize(n, 0);
        if !self.announcer.is_empty() {
            for (s, &a) in self.sums.iter_mut().zip(&self.announcer) {
                *s = i32::from(a);
            }
        }
        for &t in &self.talkers {
            let p = self.participants[t as usize]
                .as_mut()
                .expect("talkers exist");
            p.talker = true;
            let x = if p.rate == bridge {
                &p.native
            } else {
                &p.at_bridge
            };
            for (s, &v) in self.sums.iter_mut().zip(x) {
                *s += i32::from(v);
            }
        }
        if self.tap_on {
            limit_into(&self.sums, &mut self.tap);
        }
        // 4. Shared outputs per listener rate.
        for g in &mut self.groups {
            g.linear.clear();
            match &mut g.resampler {
                None => {
                    g.limited.resize(n, 0);
                    limit_into(&self.sums, &mut g.limited);
                }
                Some(r) => {
                    // Saturate before resampling (differs from the limiter only in overload).
                    self.scratch.clear();
                    self.scratch
                        .extend(self.sums.iter().map(|&s| s.clamp(-32768, 32767) as i16));
                    let _ = r.process(&self.scratch, &mut g.linear);
                    let m = g.rate.samples_in_ms(FRAME_MS);
                    g.linear.resize(m, 0);
                    g.limited.clear();
                    g.limited.extend_from_slice(&g.linear);
                }
            }
        }
        // 5. Own outputs: talkers (mix minus self), whispered-to participants.
        for p in self.participants.iter_mut().flatten() {
            p.has_own = false;
            let rate = p.rate;
            let m = rate.samples_in_ms(FRAME_MS);
            let resampled = rate != bridge;
            // Keep a lower-rate talker's own-voice resampler in step (zeros after it stops).
            if resampled {
                let feed_self = match (&mut p.self_resampler, p.talker) {
                    (None, false) => None,
                    (None, true) => {
                        p.self_resampler = Resampler::new(bridge, rate).ok().map(|r| (r, 0));
                        Some(true)
                    }
                    (Some(_), true) => Some(true),
                    (Some((_, idle)), false) => {
                        *idle += 1;
                        Some(false)
                    }
                };
                if let Some(talking) = feed_self
                    && let Some((r, idle)) = &mut p.self_resampler
                {
                    self.scratch.clear();
                    if talking {
                        *idle = 0;
                        self.scratch.extend_from_slice(&p.at_bridge);
                    } else {
                        self.scratch.resize(n, 0);
                    }
                    p.own.clear();
                    let _ = r.process(&self.scratch, &mut p.own);
                    p.own.resize(m, 0);
                    if *idle > FLUSH_TICKS {
                        p.self_resampler = None;
                    }
                }
            }
            if p.deaf {
                continue;
            }
            let whispered = !p.whisper.is_empty();
            // A lower-rate ex-talker still has its voice in the shared output's filter memory.
            let flushing = resampled && p.self_resampler.is_some();
            if !p.talker && !whispered && !flushing {
                continue;
            }
            let group = self
                .groups
                .iter()
                .find(|g| g.rate == rate)
                .expect("a group per listener rate");
            self.scratch32.clear();
            if resampled {
                // Shared mix at this rate minus our own voice at this rate.
                let own_voice = (p.talker || flushing).then_some(&p.own);
                self.scratch32.extend(
                    group
                        .linear
                        .iter()
                        .enumerate()
                        .map(|(i, &s)| i32::from(s) - own_voice.map_or(0, |o| i32::from(o[i]))),
                );
            } else {
                self.scratch32.extend_from_slice(&self.sums);
                if p.talker {
                    for (s, &v) in self.scratch32.iter_mut().zip(&p.native) {
                        *s -= i32::from(v);
                    }
                }
            }
            if whispered {
                for (s, &w) in self.scratch32.iter_mut().zip(&p.whisper) {
                    *s += i32::from(w);
                }
                p.whisper.clear();
            }
            p.own.clear();
            p.own.resize(m, 0);
            limit_into(&self.scratch32, &mut p.own);
            p.has_own = true;
        }
        // Next tick starts silent unless inputs arrive.
        for p in self.participants.iter_mut().flatten() {
            p.fresh = false;
        }
        self.top.clear();
        self.announcer.clear();
    }

    /// What `id` hears this tick (after [`mix`](Self::mix)).
    pub fn output(&self, id: ParticipantId) -> Output<'_> {
        let Some(p) = self
            .participants
            .get(id.0 as usize)
            .and_then(Option::as_ref)
        else {
            return Output {
                samples: &[],
                shared: None,
            };
        };
        let rate = p.rate;
        let m = rate.samples_in_ms(FRAME_MS);
        if p.deaf {
            return Output {
                samples: &self.silence[..m],
                shared: Some(u32::MAX - rate.hz()),
            };
        }
        if p.has_own {
            return Output {
                samples: &p.own,
                shared: None,
            };
        }
        let g = self
            .groups
            .iter()
            .find(|g| g.rate == rate)
            .expect("a group per listener rate");
        Output {
            samples: &g.limited,
            shared: Some(rate.hz()),
        }
    }

    /// The full mix at the bridge rate (everything mixed this tick), for bridge recordings;
    /// silence unless [`set_tap`](Self::set_tap) turned it on.
    pub fn tap(&self) -> &[i16] {
        &self.tap
    }

    /// What `id` said this tick (its input after gain, at its own rate; silence if it sent
    /// nothing), for spying. Call it between [`input`](Self::input) and [`mix`](Self::mix).
    pub fn said(&self, id: ParticipantId) -> &[i16] {
        match self
            .participants
            .get(id.0 as usize)
            .and_then(Option::as_ref)
        {
            Some(p) if p.fresh && p.has_samples => &p.native,
            Some(p) => &self.silence[..p.rate.samples_in_ms(FRAME_MS)],
            None => &[],
        }
    }

    /// The next talk detection event.
    pub fn poll_event(&mut self) -> Option<MixEvent> {
        if self.events.is_empty() {
            None
        } else {
            Some(self.events.remove(0))
        }
    }
}
