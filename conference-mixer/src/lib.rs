//! # conference-mixer
//!
//! N-party mix-minus on 20 ms PCM frames: the conference bridge that replaces Asterisk's
//! ConfBridge/softmix. Pure computation — no time, no sockets, no threads; the media engine
//! calls [`Mixer::mix`] once per tick (DESIGN.md §2, §4).
//!
//! Each tick:
//! 1. every participant hands in its frame at its own rate ([`Mixer::input`]); a missing frame
//!    is silence. Its level is measured for talk detection and talker selection;
//! 2. the loudest `max_talkers` (K) unmuted participants above a floor are mixed at the bridge
//!    rate (the highest participant rate, capped by configuration), with an announcer input
//!    (playback into the bridge) added for everyone;
//! 3. a talker hears the mix minus its own contribution; every other participant hears the
//!    same mix, so listeners at one rate share one frame ([`Output::shared`]) — and, with the
//!    same codec, one encoded packet. Cost grows linearly in N with a small constant;
//! 4. a soft limiter keeps sums inside 16 bits without wrap-around or hard clipping.
//!
//! Participants below the bridge rate are resampled in and out. Listeners at one rate share one
//! output resampler; a talker's own mix at a lower rate is that shared output minus its own
//! voice resampled on its own (resampling is linear, so the subtraction is exact to rounding).
//!
//! Controls: mute (not heard), deaf (hears nothing), input gain, whisper (audio to one
//! participant only), spy taps (what a participant says or hears, for snoop channels), and a
//! tap of the full mix (bridge recording). Talk detection reports started/finished events
//! with durations (ARI `ChannelTalkingStarted/Finished`).
#![forbid(unsafe_code)]

mod limiter;
mod mixer;
mod talk;

pub use codec_transcoder::SampleRate;
pub use limiter::limit;
pub use mixer::{MixEvent, Mixer, MixerConfig, Output, ParticipantId, ParticipantOptions};
pub use talk::{TalkConfig, TalkDetector, TalkUpdate, level_dbfs};
