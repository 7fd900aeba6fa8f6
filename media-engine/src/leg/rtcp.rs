//! A leg's RTCP (RFC 3550 §6): the B2BUA terminates RTCP on each leg, sending its own
//! SR/RR + SDES every ~5 s and reading the far end's reports for ARI `rtp_statistics`.

use std::time::{Duration, Instant};

use super::Leg;
use crate::{
    Ssrc,
    command::{RtpStatistics, Summary},
    rtcp::{self, ReportBlock, RtcpPacket},
    stats::NtpClock,
    tx::TxQueue,
};

/// RFC 3550 §6.2: the minimum interval (the session is two members, so this is the interval).
const INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub(super) struct RtcpState {
    next: Instant,
    factor: f64,
    /// Packets sent when the last report went out (SR only if we sent since).
    sent_at_last: u64,
    local_jitter: Summary,
    local_loss: Summary,
    remote_jitter: Summary,
    remote_loss: Summary,
    rtt: Summary,
    last_rtt: f64,
    /// The far end's last report about our stream.
    remote_block: Option<ReportBlock>,
    prev_remote_lost: i32,
    prev_local_lost: i32,
}

impl RtcpState {
    pub(super) fn new(now: Instant, factor: f64) -> Self {
        let factor = factor.clamp(0.5, 1.5);
        Self {
            // The first report after half an interval (RFC 3550 §6.2 "initial").
            next: now + INTERVAL.mul_f64(factor / 2.0),
            factor,
            sent_at_last: 0,
            local_jitter: Summary::default(),
            local_loss: Summary::default(),
            remote_jitter: Summary::default(),
            remote_loss: Summary::default(),
            rtt: Summary::default(),
            last_rtt: 0.0,
            remote_block: None,
            prev_remote_lost: 0,
            prev_local_lost: 0,
        }
    }
}

impl Leg {
    /// Reads the far end's reports.
    pub(super) fn on_rtcp(&mut self, now: Instant, ntp: &NtpClock, packets: &[RtcpPacket]) {
        let ours = self.out.ssrc();
        let clock = f64::from(self.out.clock_rate());
        for p in packets {
            let blocks = match p {
                RtcpPacket::SenderReport {
                    ssrc,
                    ntp: t,
                    reports,
                    ..
                } => {
                    if Some(*ssrc) == self.remote_ssrc {
                        self.rx.on_sender_report(now, *t);
                    }
                    reports
                }
                RtcpPacket::ReceiverReport { reports, .. } => reports,
                _ => continue,
            };
            for b in blocks.iter().filter(|b| b.ssrc == ours) {
                let r = &mut self.rtcp;
                r.remote_jitter.add(f64::from(b.jitter) / clock);
                r.remote_loss
                    .add(f64::from(b.cumulative_lost - r.prev_remote_lost).max(0.0));
                r.prev_remote_lost = b.cumulative_lost;
                if let Some(rtt) = ntp.rtt(now, b) {
                    r.last_rtt = rtt.as_secs_f64();
                    r.rtt.add(r.last_rtt);
                }
                r.remote_block = Some(*b);
            }
        }
    }

    /// Sends a report if one is due.
    pub(crate) fn poll_rtcp(&mut self, now: Instant, ntp: &NtpClock, tx: &mut TxQueue) {
        if now < self.rtcp.next {
            return;
        }
        self.rtcp.next = now + INTERVAL.mul_f64(self.rtcp.factor);
        let Some(params) = &self.params else {
            return;
        };
        let (socket, to) = if params.rtcp_mux {
            (self.sockets.rtp, self.rtp_destination())
        } else {
            (
                self.sockets.rtcp,
                self.latched_rtcp.or(params.remote_rtcp).or_else(|| {
                    // RFC 3550 §11: RTCP on the RTP port + 1 by default.
                    self.rtp_destination()
                        .map(|a| std::net::SocketAddr::new(a.ip(), a.port().wrapping_add(1)))
                }),
            )
        };
        let Some(to) = to.filter(|_| !self.held) else {
            return;
        };
        let reports: Vec<ReportBlock> = match self.remote_ssrc {
            Some(ssrc) if self.rx_counters().0 > 0 => {
                let b = self.rx.report_block(now, ssrc);
                let r = &mut self.rtcp;
                r.local_jitter.add(self.rx.jitter_seconds());
                r.local_loss
                    .add(f64::from(b.cumulative_lost - r.prev_local_lost).max(0.0));
                r.prev_local_lost = b.cumulative_lost;
                vec![b]
            }
            _ => Vec::new(),
        };
        let counters = self.out.counters();
        let ssrc = self.out.ssrc();
        let report = if counters.packets > self.rtcp.sent_at_last {
            RtcpPacket::SenderReport {
                ssrc,
                ntp: ntp.ntp(now),
                rtp_timestamp: self.out.timestamp_at(now),
                packets: counters.packets as u32,
                octets: counters.octets as u32,
                reports,
            }
        } else {
            RtcpPacket::ReceiverReport { ssrc, reports }
        };
        self.rtcp.sent_at_last = counters.packets;
        let cname = format!("{:08x}@mediaplane", ssrc.0).into_bytes();
        let buf = tx.next_buf();
        rtcp::write(
            buf,
            &[
                report,
                RtcpPacket::SourceDescription(vec![(ssrc, vec![(1, cname)])]),
            ],
        );
        if let Some(ctx) = &mut self.srtp_out
            && ctx.protect_rtcp(buf).is_err()
        {
            return;
        }
        tx.commit(socket, to);
    }

    /// A BYE for our stream (sent when the leg is destroyed).
    pub(crate) fn send_bye(&mut self, tx: &mut TxQueue) {
        let Some(params) = &self.params else {
            return;
        };
        let (socket, to) = if params.rtcp_mux {
            (self.sockets.rtp, self.rtp_destination())
        } else {
            (self.sockets.rtcp, self.latched_rtcp.or(params.remote_rtcp))
        };
        let Some(to) = to else {
            return;
        };
        let ssrc = self.out.ssrc();
        let buf = tx.next_buf();
        rtcp::write(
            buf,
            &[
                RtcpPacket::ReceiverReport {
                    ssrc,
                    reports: Vec::new(),
                },
                RtcpPacket::Bye {
                    ssrcs: vec![ssrc],
                    reason: None,
                },
            ],
        );
        if let Some(ctx) = &mut self.srtp_out
            && ctx.protect_rtcp(buf).is_err()
        {
            return;
        }
        tx.commit(socket, to);
    }

    /// ARI `rtp_statistics`.
    pub(crate) fn statistics(&self) -> RtpStatistics {
        let r = &self.rtcp;
        let (lminj, lmaxj, lavgj, lsdj) = r.local_jitter.get();
        let (rminj, rmaxj, ravgj, rsdj) = r.remote_jitter.get();
        let (lminl, lmaxl, lavgl, lsdl) = r.local_loss.get();
        let (rminl, rmaxl, ravgl, rsdl) = r.remote_loss.get();
        let (minrtt, maxrtt, avgrtt, sdrtt) = r.rtt.get();
        let (rxcount, rxoctets) = self.rx_counters();
        let tx = self.out.counters();
        let clock = f64::from(self.out.clock_rate());
        RtpStatistics {
            txcount: tx.packets,
            rxcount,
            txjitter: r.remote_block.map_or(0.0, |b| f64::from(b.jitter) / clock),
            rxjitter: self.rx.jitter_seconds(),
            remote_maxjitter: rmaxj,
            remote_minjitter: rminj,
            remote_normdevjitter: ravgj,
            remote_stdevjitter: rsdj,
            local_maxjitter: lmaxj,
            local_minjitter: lminj,
            local_normdevjitter: lavgj,
            local_stdevjitter: lsdj,
            txploss: r.remote_block.map_or(0, |b| i64::from(b.cumulative_lost)),
            rxploss: if rxcount > 0 { self.rx.lost() } else { 0 },
            remote_maxrxploss: rmaxl,
            remote_minrxploss: rminl,
            remote_normdevrxploss: ravgl,
            remote_stdevrxploss: rsdl,
            local_maxrxploss: lmaxl,
            local_minrxploss: lminl,
            local_normdevrxploss: lavgl,
            local_stdevrxploss: lsdl,
            rtt: r.last_rtt,
            maxrtt,
            minrtt,
            normdevrtt: avgrtt,
            stdevrtt: sdrtt,
            local_ssrc: self.out.ssrc().0,
            remote_ssrc: self.remote_ssrc.unwrap_or(Ssrc(0)).0,
            txoctetcount: tx.octets,
            rxoctetcount: rxoctets,
        }
    }
}
