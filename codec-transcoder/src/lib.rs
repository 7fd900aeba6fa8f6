//! # codec-transcoder
//!
//! The audio codecs every mediaplane media path goes through: frame in, frame out. No time, no
//! I/O, no threads: the media workers own the instances and call them once per packet.
//!
//! | codec | audio rate | RTP clock | module |
//! |---|---|---|---|
//! | PCMU / PCMA (G.711 µ-law / A-law) | 8 kHz | 8000 | [`g711`], loss concealment in [`plc`] |
//! | G722 (64 kbit/s) | **16 kHz** | **8000** (RFC 3551 §4.5.2) | [`g722`] |
//! | opus | 8/16/24/48 kHz | 48000 (RFC 7587) | [`opus`] (libopus 1.6) |
//! | L16 | 8/16/24/48 kHz | = audio rate | big-endian PCM (RFC 3551 §4.5.11) |
//!
//! [`AudioDecoder`] and [`AudioEncoder`] put the codecs behind one interface, [`Resampler`]
//! converts between 8, 16, 24 and 48 kHz (rubato's FFT resampler), and [`Transcoder`] chains
//! decode → resample → encode for one stream, reporting the delay it adds.
//!
//! ```
//! use codec_transcoder::{Codec, Transcoder, TranscoderConfig};
//! let mut t = Transcoder::new(Codec::Pcmu, Codec::G722, &TranscoderConfig::default())?;
//! t.push(&[0xFF; 160])?; // 20 ms of µ-law silence
//! let mut packet = Vec::new();
//! while t.poll_packet(&mut packet)?.is_some() {
//!     // send `packet` ...
//!     packet.clear();
//! }
//! # Ok::<(), codec_transcoder::Error>(())
//! ```
#![forbid(unsafe_code)]

mod codec;
mod error;
pub mod g711;
pub mod g722;
pub mod opus;
mod pipeline;
pub mod plc;
mod resample;

pub use codec::{AudioDecoder, AudioEncoder, Codec, EncoderConfig, SampleRate};
pub use error::Error;
pub use pipeline::{Transcoder, TranscoderConfig};
pub use resample::Resampler;
