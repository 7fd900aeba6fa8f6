//! Talk detection: frame level against a threshold, with an attack (how long the level must
//! stay above it before talking starts) and a hangover (how long it must stay below before
//! talking finishes). Asterisk's TALK_DETECT defaults: −42 dBFS (average magnitude 256) and
//! 2,500 ms of silence.

/// Thresholds and timing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TalkConfig {
    /// Level (dBFS, frame RMS) at or above which a frame counts as speech.
    pub threshold_dbfs: f32,
    /// Speech must last this long before talking starts.
    pub attack_ms: u32,
    /// Silence must last this long before talking finishes.
    pub hangover_ms: u32,
}

impl Default for TalkConfig {
    fn default() -> Self {
        Self {
            threshold_dbfs: -42.0,
            attack_ms: 40,
            hangover_ms: 2500,
        }
    }
}

/// A change of talking state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TalkUpdate {
    /// Started talking.
    Started,
    /// Stopped, after talking this many milliseconds (up to the last speech frame).
    Finished {
        /// Talking time in ms.
        duration_ms: u64,
    },
}

/// Talk detection for one participant, fed one frame level per tick.
#[derive(Debug, Clone)]
pub struct TalkDetector {
    config: TalkConfig,
    frame_ms: u32,
    talking: bool,
    /// Consecutive frames on the other side of the threshold.
    run: u32,
    /// Talking time so far (ms), excluding the current silent run.
    talked_ms: u64,
}

impl TalkDetector {
    /// A detector for frames of `frame_ms`.
    pub fn new(config: TalkConfig, frame_ms: u32) -> Self {
        Self {
            config,
            frame_ms: frame_ms.max(1),
            talking: false,
            run: 0,
            talked_ms: 0,
        }
    }

    /// Whether the participant is talking.
    pub fn is_talking(&self) -> bool {
        self.talking
    }

    /// Feeds one frame's level.
    pub fn update(&mut self, level_dbfs: f32) -> Option<TalkUpdate> {
        let speech = level_dbfs >= self.config.threshold_dbfs;
        let ms = |frames: u32, f: u32| frames * f;
        if self.talking {
            if speech {
                self.talked_ms += u64::from(ms(self.run, self.frame_ms) + self.frame_ms);
                self.run = 0;
            } else {
                self.run += 1;
                if ms(self.run, self.frame_ms) >= self.config.hangover_ms {
                    self.talking = false;
                    self.run = 0;
                    let d = self.talked_ms;
                    self.talked_ms = 0;
                    return Some(TalkUpdate::Finished { duration_ms: d });
                }
            }
        } else if speech {
            self.run += 1;
            if ms(self.run, self.frame_ms) >= self.config.attack_ms {
                self.talking = true;
                self.talked_ms = u64::from(ms(self.run, self.frame_ms));
                self.run = 0;
                return Some(TalkUpdate::Started);
            }
        } else {
            self.run = 0;
        }
        None
    }
}

/// Level of a frame in dBFS from its sum of squares (−inf for digital silence, 0 for a
/// full-scale square wave; a full-scale sine is −3).
#[inline]
pub fn level_dbfs(sum_squares: u64, samples: usize) -> f32 {
    if sum_squares == 0 || samples == 0 {
        return f32::NEG_INFINITY;
    }
    let mean = sum_squares as f64 / samples as f64;
    (10.0 * (mean / (32_768.0f64 * 32_768.0)).log10()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_and_hangover() {
        let mut d = TalkDetector::new(
            TalkConfig {
                threshold_dbfs: -40.0,
                attack_ms: 40,
                hangover_ms: 100,
            },
            20,
        );
        let mut got = Vec::new();
        // A 20 ms blip, then 300 ms of speech with a 60 ms gap, then silence.
        let levels = [-20.0]
            .into_iter()
            .chain([-80.0; 3])
            .chain([-20.0; 8])
            .chain([-80.0; 3])
            .chain([-20.0; 7])
            .chain([-80.0; 10]);
        for (i, l) in levels.enumerate() {
            if let Some(u) = d.update(l) {
                got.push((i, u));
            }
        }
        assert_eq!(
            got,
            [
                (5, TalkUpdate::Started),
                (26, TalkUpdate::Finished { duration_ms: 360 })
            ]
        );
        assert_eq!(level_dbfs(0, 160), f32::NEG_INFINITY);
        let full_square = 32_768u64 * 32_768 * 160;
        assert!(level_dbfs(full_square, 160).abs() < 1e-3);
    }
}
