//! The receive path of a leg: strict source checking with latching, SRTP, payload type
//! classification, statistics, DTMF, and the jitter buffer when the leg decodes.

use std::{net::SocketAddr, time::Instant};

use super::Leg;
use crate::{
    command::MediaEvent,
    dtmf::DtmfUpdate,
    rtp::RtpHeader,
    stats::{Arrival, NtpClock, ReceiverStats},
};

/// What an incoming datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    /// Dropped (reason counted in [`super::Drops`]).
    Dropped,
    /// Audio in the negotiated codec; `len` is the packet length after SRTP.
    Audio { header: RtpHeader, len: usize },
    /// RFC 4733 telephone-event.
    Event { header: RtpHeader, len: usize },
    /// RFC 3389 comfort noise.
    ComfortNoise { header: RtpHeader, len: usize },
}

impl Leg {
    /// Handles a datagram from `from` on the leg's RTP socket, decrypting `data` in place.
    /// DTMF updates are appended to `dtmf` (the core translates them for the peer).
    pub(crate) fn receive_rtp(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &mut [u8],
        events: &mut Vec<MediaEvent>,
        dtmf: &mut Vec<DtmfUpdate>,
    ) -> Received {
        let Some(params) = &self.params else {
            self.drops.unnegotiated += 1;
            return Received::Dropped;
        };
        // Strict RTP: once latched, only the latched source is heard (no RTP bleed).
        if self.latched.is_some_and(|l| l != from) {
            self.drops.foreign_source += 1;
            return Received::Dropped;
        }
        let len = match &mut self.srtp_in {
            Some(ctx) => match ctx.unprotect_rtp(data) {
                Ok(n) => n,
                Err(_) => {
                    self.drops.srtp += 1;
                    return Received::Dropped;
                }
            },
            None => data.len(),
        };
        let data = &data[..len];
        let Ok(header) = RtpHeader::parse(data) else {
            self.drops.malformed += 1;
            return Received::Dropped;
        };
        let pt = header.payload_type;
        let kind = if pt == params.pt {
            Kind::Audio
        } else if params.telephone_event.is_some_and(|(p, _)| p == pt) {
            Kind::Event
        } else if params.comfort_noise == Some(pt) {
            Kind::Cn
        } else {
            self.drops.unknown_pt += 1;
            return Received::Dropped;
        };
        if self.latched.is_none() {
            // Latch on the first authentic, well-formed packet (RFC 4961 symmetric RTP).
            self.latched = Some(from);
            events.push(MediaEvent::Latched {
                leg: self.id,
                remote: from,
            });
        }
        if self.remote_ssrc != Some(header.ssrc) {
            // A new source (or the far end restarted): fresh statistics, re-anchor the relay.
            self.remote_ssrc = Some(header.ssrc);
            self.rx = ReceiverStats::new(params.codec.rtp_clock_rate());
            self.source_gen += 1;
            if let Some(dec) = &mut self.dec {
                dec.jb.reset();
            }
        }
        let arrival = self.rx.on_packet(now, header.sequence, header.timestamp);
        if let Arrival::Restarted(_) = arrival {
            self.source_gen += 1;
        }
        self.rx_packets += 1;
        self.rx_octets += (header.payload_end - header.payload_start) as u64;
        self.last_rx = Some(now);
        if self.timed_out {
            self.timed_out = false;
            events.push(MediaEvent::Resumed { leg: self.id });
        }
        let payload = header.payload(data);
        match kind {
            Kind::Event => {
                if let Some(rx) = &mut self.dtmf_rx {
                    rx.on_packet(now, header.timestamp, payload);
                    self.drain_dtmf(events, dtmf);
                }
                Received::Event { header, len }
            }
            Kind::Audio | Kind::Cn => {
                if kind == Kind::Audio
                    && let Some(b) = &mut self.inband_decoder
                    && let Some(det) = &mut self.inband_rx
                {
                    let (decoder, pcm) = &mut **b;
                    pcm.clear();
                    if decoder.decode(payload, pcm).is_ok() {
                        det.process(pcm);
                    }
                    self.drain_inband(events);
                }
                if let Some(dec) = &mut self.dec {
                    dec.jb
                        .insert(now, header.sequence, header.timestamp, pt.0, payload);
                }
                if kind == Kind::Audio {
                    Received::Audio { header, len }
                } else {
                    Received::ComfortNoise { header, len }
                }
            }
        }
    }

    /// Moves DTMF receiver updates into events (and the translation list).
    pub(crate) fn drain_dtmf(&mut self, events: &mut Vec<MediaEvent>, dtmf: &mut Vec<DtmfUpdate>) {
        let Some(rx) = &mut self.dtmf_rx else {
            return;
        };
        let rate = rx.clock_rate();
        while let Some(u) = rx.poll_update() {
            events.push(match u {
                DtmfUpdate::Begin(digit) => MediaEvent::DtmfBegin {
                    leg: self.id,
                    digit,
                },
                DtmfUpdate::End { digit, duration } => MediaEvent::Dtmf {
                    leg: self.id,
                    digit,
                    duration: std::time::Duration::from_micros(
                        u64::from(duration) * 1_000_000 / u64::from(rate.max(1)),
                    ),
                    inband: false,
                },
            });
            dtmf.push(u);
        }
    }

    /// Moves in-band detector updates into events.
    pub(crate) fn drain_inband(&mut self, events: &mut Vec<MediaEvent>) {
        let Some(det) = &mut self.inband_rx else {
            return;
        };
        let rate = det.rate();
        while let Some(u) = det.poll_update() {
            events.push(match u {
                DtmfUpdate::Begin(digit) => MediaEvent::DtmfBegin {
                    leg: self.id,
                    digit,
                },
                DtmfUpdate::End { digit, duration } => MediaEvent::Dtmf {
                    leg: self.id,
                    digit,
                    duration: std::time::Duration::from_micros(
                        u64::from(duration) * 1_000_000 / u64::from(rate.max(1)),
                    ),
                    inband: true,
                },
            });
        }
    }

    /// Handles a datagram on the RTCP socket (or RTCP demultiplexed from the RTP socket).
    pub(crate) fn receive_rtcp(
        &mut self,
        now: Instant,
        ntp: &NtpClock,
        from: SocketAddr,
        data: &mut [u8],
    ) {
        if self.params.is_none() {
            self.drops.unnegotiated += 1;
            return;
        }
        if self.latched_rtcp.is_some_and(|l| l != from) {
            self.drops.foreign_source += 1;
            return;
        }
        let len = match &mut self.srtp_in {
            Some(ctx) => match ctx.unprotect_rtcp(data) {
                Ok(n) => n,
                Err(_) => {
                    self.drops.srtp += 1;
                    return;
                }
            },
            None => data.len(),
        };
        let Ok(packets) = crate::rtcp::parse(&data[..len]) else {
            self.drops.malformed += 1;
            return;
        };
        if self.latched_rtcp.is_none() {
            self.latched_rtcp = Some(from);
        }
        self.on_rtcp(now, ntp, &packets);
    }

    /// Receive counters: packets, payload octets.
    pub(crate) fn rx_counters(&self) -> (u64, u64) {
        (self.rx_packets, self.rx_octets)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Audio,
    Event,
    Cn,
}
