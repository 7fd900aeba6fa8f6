//! # media-engine
//!
//! The media half of the mediaplane B2BUA (DESIGN.md §2, §4).
//!
//! Sans-IO cores: [`rtp`], [`rtcp`], [`stats`], [`sdp`] with offer/answer, [`srtp`].
#![forbid(unsafe_code)]

pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod srtp;
pub mod stats;

/// An RTP synchronisation source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

/// An RTP payload type (0–127).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Pt(pub u8);
