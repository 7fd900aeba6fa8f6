//! # media-engine
//!
//! The media half of the mediaplane B2BUA (DESIGN.md §2, §4).
//!
//! Sans-IO cores: [`rtp`], [`rtcp`], [`stats`], [`sdp`] with offer/answer, [`srtp`].
// Unsafe code is confined to `worker::io` (recvmmsg/sendmmsg).
#![deny(unsafe_code)]
// Unit tests may read the clock; the library may not.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod command;
pub mod core;
pub mod dtmf;
pub mod inband;
pub mod jitter;
mod leg;
pub use leg::{Drops, LegSockets};
pub mod playback;
pub mod record;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod snoop;
pub mod srtp;
pub mod stats;
pub mod stream;
pub mod tone;
pub mod tx;
pub mod worker;

/// An RTP synchronisation source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

/// An RTP payload type (0–127).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Pt(pub u8);
