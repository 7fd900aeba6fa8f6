//! One leg: an RTP session with one far end — its negotiation, latching and strict source
//! checking, SRTP, statistics, RTCP, DTMF and (when needed) its decode and encode pipelines.
//! Owned by exactly one [`crate::core::MediaCore`]; no I/O.

mod audio;
mod receive;
mod rtcp;

use std::{net::SocketAddr, time::Instant};

pub(crate) use audio::{Decode, Encode};
pub(crate) use receive::Received;

use crate::{
    Ssrc,
    command::{BridgeId, LegConfig, LegId, MediaError, PlaybackId, RecordDirection, RecordingId},
    dtmf::{DtmfReceiver, DtmfSender},
    inband::InbandDetector,
    playback::Player,
    record::RecordingSink,
    sdp::{
        Direction, SessionDescription,
        negotiate::{self, KeySource, LocalOffer, LocalSide, MediaParams},
    },
    snoop::{SnoopSource, SnoopTap},
    srtp::{CryptoSuite, KeyMaterial, SrtpContext},
    stats::ReceiverStats,
    stream::OutStream,
    tx::SocketId,
};

/// The sockets of a leg: RTP, and RTCP on the next port (unused once rtcp-mux is agreed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegSockets {
    /// RTP (and muxed RTCP).
    pub rtp: SocketId,
    /// RTCP.
    pub rtcp: SocketId,
    /// The local RTP address (RTCP is on port + 1).
    pub local: SocketAddr,
}

impl LegSockets {
    /// A virtual leg's (a snoop): no sockets at all.
    pub const NONE: Self = Self {
        rtp: SocketId(u32::MAX),
        rtcp: SocketId(u32::MAX),
        local: SocketAddr::V4(std::net::SocketAddrV4::new(
            std::net::Ipv4Addr::UNSPECIFIED,
            0,
        )),
    };

    /// Whether these are real sockets.
    pub fn is_real(&self) -> bool {
        self.rtp != SocketId(u32::MAX)
    }
}

/// Packets a leg dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// From an address other than the latched one (RTP bleed, hijack attempts).
    pub foreign_source: u64,
    /// SRTP authentication or replay failures.
    pub srtp: u64,
    /// Not RTP at all.
    pub malformed: u64,
    /// A payload type that was not negotiated.
    pub unknown_pt: u64,
    /// Arrived before negotiation finished.
    pub unnegotiated: u64,
}

/// How a bridged leg's media reaches its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Not bridged (or alone in its bridge).
    None,
    /// Packet by packet, rewritten, never decoded.
    Relay,
    /// Decoded, jitter-buffered and re-encoded.
    Transcode,
    /// Decoded into the bridge's conference mixer; hears its own mix-minus.
    Mix,
}

/// A recording tap on a leg.
#[derive(Debug)]
pub(crate) struct Recording {
    pub(crate) id: RecordingId,
    pub(crate) direction: RecordDirection,
    pub(crate) sink: RecordingSink,
    /// Resamplers for the received (0) and sent (1) audio.
    pub(crate) resamplers: [Option<codec_transcoder::Resampler>; 2],
    pub(crate) samples: u64,
    /// Nothing is written while paused.
    pub(crate) paused: bool,
    /// Silence is written while muted.
    pub(crate) muted: bool,
}

/// One leg.
#[derive(Debug)]
pub(crate) struct Leg {
    pub(crate) id: LegId,
    pub(crate) sockets: LegSockets,
    pub(crate) config: LegConfig,
    local: LocalSide,
    last_sdp_body: Option<String>,
    pending: Option<LocalOffer>,
    pub(crate) params: Option<MediaParams>,
    /// We hold the far end.
    pub(crate) held: bool,
    // Receiving.
    pub(crate) latched: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    srtp_in: Option<SrtpContext>,
    pub(crate) srtp_out: Option<SrtpContext>,
    pub(crate) remote_ssrc: Option<Ssrc>,
    /// Changes whenever the incoming stream restarts (new SSRC, renegotiation): relayed
    /// packets re-anchor on the far side.
    pub(crate) source_gen: u64,
    pub(crate) rx: ReceiverStats,
    rx_packets: u64,
    rx_octets: u64,
    pub(crate) last_rx: Option<Instant>,
    pub(crate) timed_out: bool,
    pub(crate) created: Instant,
    /// When media was first negotiated (inactivity counts from here).
    pub(crate) media_since: Option<Instant>,
    pub(crate) drops: Drops,
    // Sending.
    pub(crate) out: OutStream,
    pub(crate) dtmf_rx: Option<DtmfReceiver>,
    pub(crate) dtmf_tx: Option<DtmfSender>,
    pub(crate) inband_rx: Option<InbandDetector>,
    /// Decodes straight from the wire for in-band detection when nothing else decodes
    /// (a relayed leg without telephone-event): no jitter buffer, arrival order.
    pub(crate) inband_decoder: Option<Box<(codec_transcoder::AudioDecoder, Vec<i16>)>>,
    rtcp: rtcp::RtcpState,
    // Decoded media.
    pub(crate) dec: Option<Box<Decode>>,
    pub(crate) enc: Option<Box<Encode>>,
    /// This tick's 20 ms of decoded audio from the far end (empty when not decoding).
    pub(crate) rx_frame: Vec<i16>,
    /// This tick's 20 ms sent to the far end, when it was decoded audio (for recordings).
    pub(crate) tx_frame: Vec<i16>,
    pub(crate) tx_frame_rate: Option<codec_transcoder::SampleRate>,
    /// What the bridge's mixer gives this leg this tick (at its decode rate).
    pub(crate) mix_out: Vec<i16>,
    /// Talk detection on the far end's audio.
    pub(crate) talk: Option<conference_mixer::TalkDetector>,
    pub(crate) playback: Option<(PlaybackId, Player)>,
    /// Playbacks waiting for the current one (ARI queues them per channel).
    pub(crate) playback_queue: std::collections::VecDeque<(PlaybackId, Player)>,
    /// DTMF tones for a far end without telephone-event.
    pub(crate) dtmf_tones: Option<Player>,
    pub(crate) recordings: Vec<Recording>,
    pub(crate) bridge: Option<BridgeId>,
    pub(crate) peer: Option<usize>,
    pub(crate) route: Route,
    /// Echo what it receives back to it.
    pub(crate) echo: bool,
    /// What it receives goes nowhere.
    pub(crate) mute_in: bool,
    /// It is sent nothing.
    pub(crate) mute_out: bool,
    /// Snoops on this leg.
    pub(crate) taps: Vec<SnoopTap>,
    /// This leg is a snoop: what it receives is what it spies.
    pub(crate) snoop: Option<Box<SnoopSource>>,
}

/// Deterministic parts a new leg needs from the core's random source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LegSeed {
    pub(crate) ssrc: u32,
    pub(crate) seq: u16,
    pub(crate) ts: u32,
    pub(crate) session_id: u64,
    pub(crate) rtcp_jitter: f64,
}

impl Leg {
    pub(crate) fn new(
        now: Instant,
        id: LegId,
        config: LegConfig,
        sockets: LegSockets,
        seed: LegSeed,
    ) -> Self {
        let address = config.advertise.unwrap_or_else(|| sockets.local.ip());
        Self {
            id,
            sockets,
            local: LocalSide {
                address,
                port: sockets.local.port(),
                session_id: seed.session_id,
                version: seed.session_id,
            },
            config,
            last_sdp_body: None,
            pending: None,
            params: None,
            held: false,
            latched: None,
            latched_rtcp: None,
            srtp_in: None,
            srtp_out: None,
            remote_ssrc: None,
            source_gen: 0,
            rx: ReceiverStats::new(8000),
            rx_packets: 0,
            rx_octets: 0,
            last_rx: None,
            timed_out: false,
            created: now,
            media_since: None,
            drops: Drops::default(),
            out: OutStream::new(Ssrc(seed.ssrc), seed.seq, seed.ts, 8000),
            dtmf_rx: None,
            dtmf_tx: None,
            inband_rx: None,
            inband_decoder: None,
            rtcp: rtcp::RtcpState::new(now, seed.rtcp_jitter),
            dec: None,
            enc: None,
            rx_frame: Vec::new(),
            tx_frame: Vec::new(),
            tx_frame_rate: None,
            mix_out: Vec::new(),
            talk: None,
            playback: None,
            playback_queue: std::collections::VecDeque::new(),
            dtmf_tones: None,
            recordings: Vec::new(),
            bridge: None,
            peer: None,
            route: Route::None,
            echo: false,
            mute_in: false,
            mute_out: false,
            taps: Vec::new(),
            snoop: None,
        }
    }

    /// The rate of [`Leg::rx_frame`]: its decoder's, or a snoop's own.
    pub(crate) fn rx_rate(&self) -> Option<codec_transcoder::SampleRate> {
        match (&self.dec, &self.snoop) {
            (Some(d), _) => Some(d.rate()),
            (None, Some(s)) => Some(s.rate()),
            (None, None) => None,
        }
    }

    /// Whether it has audio to exchange (negotiated media, or a snoop).
    pub(crate) fn has_media(&self) -> bool {
        self.params.is_some() || self.snoop.is_some()
    }

    /// Whether its packets can be relayed as they are (no snoop reads or writes its audio).
    pub(crate) fn relayable(&self) -> bool {
        self.taps.is_empty() && self.snoop.is_none()
    }

    /// The direction we want in the next offer or answer.
    fn wish(&self) -> Direction {
        if self.held {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        }
    }

    /// Answers the far end's offer (initial or re-INVITE).
    pub(crate) fn answer(
        &mut self,
        sdp: &[u8],
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Vec<u8>, MediaError> {
        let offer = SessionDescription::from_bytes(sdp)?;
        let keep = self.kept_keys();
        let mut keys = KeySource::keeping(&keep, random);
        let (mut answer, params) = negotiate::answer(
            &offer,
            &self.config.caps,
            &self.local,
            self.wish(),
            &mut keys,
        )?;
        self.pending = None;
        self.apply(params);
        Ok(self.finish_sdp(&mut answer))
    }

    /// Makes an offer (initial, re-INVITE, hold).
    pub(crate) fn offer(&mut self, random: &mut dyn FnMut(&mut [u8])) -> Vec<u8> {
        let keep = self.kept_keys();
        let mut keys = KeySource::keeping(&keep, random);
        let mut offer = negotiate::offer(&self.config.caps, &self.local, self.wish(), &mut keys);
        let bytes = self.finish_sdp(&mut offer.sdp);
        self.pending = Some(offer);
        bytes
    }

    /// Takes the far end's answer to our pending offer.
    pub(crate) fn accept_answer(&mut self, sdp: &[u8]) -> Result<(), MediaError> {
        let answer = SessionDescription::from_bytes(sdp)?;
        let offer = self
            .pending
            .as_ref()
            .ok_or(MediaError::State("no offer is pending"))?;
        let params = offer.accept(&answer, &self.config.caps)?;
        self.pending = None;
        self.apply(params);
        Ok(())
    }

    /// Our current local keys, to keep across re-negotiation.
    fn kept_keys(&self) -> Vec<(CryptoSuite, KeyMaterial)> {
        let mut keep: Vec<(CryptoSuite, KeyMaterial)> = Vec::new();
        if let Some(s) = self.params.as_ref().and_then(|p| p.srtp.as_ref()) {
            keep.push((s.suite, s.local.clone()));
        }
        keep
    }

    /// Bumps the `o=` version when the SDP differs from the last one we sent (RFC 3264 §8),
    /// and prints it.
    fn finish_sdp(&mut self, sdp: &mut SessionDescription) -> Vec<u8> {
        let body: String = sdp
            .to_text()
            .lines()
            .filter(|l| !l.starts_with("o="))
            .collect();
        if self.last_sdp_body.as_deref() != Some(body.as_str()) {
            if self.last_sdp_body.is_some() {
                self.local.version += 1;
            }
            self.last_sdp_body = Some(body);
        }
        if let Some(o) = sdp.lines.iter_mut().find(|l| l.kind == 'o') {
            o.value = negotiate::origin(&self.local);
        }
        sdp.to_text().into_bytes()
    }

    /// Installs negotiated parameters: addresses, SRTP (re-keyed with the rollover counters
    /// kept), codec clock, DTMF.
    fn apply(&mut self, params: MediaParams) {
        let old = self.params.take();
        let changed_remote = old.as_ref().map(|o| (o.remote, o.remote_rtcp))
            != Some((params.remote, params.remote_rtcp));
        if changed_remote {
            // A new address in SDP: learn the source again (RFC 4961 symmetric RTP).
            self.latched = None;
            self.latched_rtcp = None;
        }
        match &params.srtp {
            None => {
                self.srtp_in = None;
                self.srtp_out = None;
            }
            Some(s) => {
                let prev = old.as_ref().and_then(|o| o.srtp.as_ref());
                let same_in = prev.is_some_and(|p| p.remote == s.remote && p.suite == s.suite);
                let same_out = prev.is_some_and(|p| p.local == s.local && p.suite == s.suite);
                match &mut self.srtp_in {
                    Some(ctx) if !same_in => ctx.rekey(s.suite, &s.remote),
                    Some(_) => {}
                    None => self.srtp_in = Some(SrtpContext::new(s.suite, &s.remote)),
                }
                match &mut self.srtp_out {
                    Some(ctx) if !same_out => ctx.rekey(s.suite, &s.local),
                    Some(_) => {}
                    None => self.srtp_out = Some(SrtpContext::new(s.suite, &s.local)),
                }
            }
        }
        let clock = params.codec.rtp_clock_rate();
        let codec_changed = old
            .as_ref()
            .is_none_or(|o| o.codec != params.codec || o.pt != params.pt);
        if codec_changed {
            self.out.set_clock_rate(clock);
            self.rx = ReceiverStats::new(clock);
            self.remote_ssrc = None;
            self.source_gen += 1;
            self.dec = None;
            self.enc = None;
        }
        let te_changed = old.as_ref().map(|o| o.telephone_event) != Some(params.telephone_event);
        if te_changed {
            self.dtmf_rx = params
                .telephone_event
                .map(|(_, rate)| DtmfReceiver::new(rate));
            self.dtmf_tx = params
                .telephone_event
                .map(|(_, rate)| DtmfSender::new(rate, 20));
        }
        self.inband_rx = None; // re-created at the decoder's rate when decoding starts
        self.params = Some(params);
    }

    /// Whether in-band DTMF detection applies (no telephone-event negotiated).
    pub(crate) fn wants_inband(&self) -> bool {
        self.config.inband_dtmf
            && self
                .params
                .as_ref()
                .is_some_and(|p| p.telephone_event.is_none())
    }

    /// Where to send RTP: the latched source (symmetric RTP), else the SDP address.
    pub(crate) fn rtp_destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.params.as_ref()?.remote)
    }

    /// Whether we may send media to the far end now.
    pub(crate) fn can_send(&self) -> bool {
        !self.held
            && !self.mute_out
            && self.params.as_ref().is_some_and(|p| p.direction.sends())
            && self.rtp_destination().is_some()
    }
}
