//! RTCP (RFC 3550 §6): compound packets of SR, RR, SDES, BYE (and others passed through),
//! parsed and written.

use crate::Ssrc;

/// Why bytes are not an RTCP compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// A length field runs past the end, or a packet is shorter than its type needs.
    #[error("truncated RTCP packet")]
    Truncated,
    /// Version is not 2.
    #[error("RTCP version is not 2")]
    Version,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// Source this block is about.
    pub ssrc: Ssrc,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// One SDES chunk: a source and its `(item type, value)` pairs.
pub type SdesChunk = (Ssrc, Vec<(u8, Vec<u8>)>);

/// One RTCP packet of a compound packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// Sender report (PT 200).
    SenderReport {
        /// Sender.
        ssrc: Ssrc,
        /// NTP timestamp (64-bit fixed point).
        ntp: u64,
        /// RTP timestamp matching `ntp`.
        rtp_timestamp: u32,
        /// Packets sent.
        packets: u32,
        /// Payload octets sent.
        octets: u32,
        /// Reception reports.
        reports: Vec<ReportBlock>,
    },
    /// Receiver report (PT 201).
    ReceiverReport {
        /// Reporter.
        ssrc: Ssrc,
        /// Reception reports.
        reports: Vec<ReportBlock>,
    },
    /// Source description (PT 202): items per source, `(type, value)`; CNAME is type 1.
    SourceDescription(Vec<SdesChunk>),
    /// Goodbye (PT 203).
    Bye {
        /// Sources leaving.
        ssrcs: Vec<Ssrc>,
        /// Optional reason.
        reason: Option<Vec<u8>>,
    },
    /// Anything else (APP, feedback...), kept as bytes.
    Other {
        /// Packet type.
        packet_type: u8,
        /// The whole packet.
        data: Vec<u8>,
    },
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn report_block(b: &[u8]) -> ReportBlock {
    let lost = (i32::from(b[5]) << 16) | (i32::from(b[6]) << 8) | i32::from(b[7]);
    ReportBlock {
        ssrc: Ssrc(be32(&b[0..4])),
        fraction_lost: b[4],
        cumulative_lost: (lost << 8) >> 8,
        highest_sequence: be32(&b[8..12]),
        jitter: be32(&b[12..16]),
        last_sr: be32(&b[16..20]),
        delay_since_last_sr: be32(&b[20..24]),
    }
}

fn reports(body: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    if body.len() < count * 24 {
        return Err(RtcpError::Truncated);
    }
    Ok(body
        .chunks_exact(24)
        .take(count)
        .map(report_block)
        .collect())
}

/// Parses a compound RTCP packet.
pub fn parse(mut data: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 4 {
            return Err(RtcpError::Truncated);
        }
        if data[0] >> 6 != 2 {
            return Err(RtcpError::Version);
        }
        let count = usize::from(data[0] & 0x1F);
        let pt = data[1];
        let len = (usize::from(u16::from_be_bytes([data[2], data[3]])) + 1) * 4;
        if data.len() < len {
            return Err(RtcpError::Truncated);
        }
        let packet = &data[..len];
        let body = &packet[4..];
        out.push(match pt {
            200 => {
                if body.len() < 24 {
                    return Err(RtcpError::Truncated);
                }
                RtcpPacket::SenderReport {
                    ssrc: Ssrc(be32(&body[0..4])),
                    ntp: (u64::from(be32(&body[4..8])) << 32) | u64::from(be32(&body[8..12])),
                    rtp_timestamp: be32(&body[12..16]),
                    packets: be32(&body[16..20]),
                    octets: be32(&body[20..24]),
                    reports: reports(&body[24..], count)?,
                }
            }
            201 => {
                if body.len() < 4 {
                    return Err(RtcpError::Truncated);
                }
                RtcpPacket::ReceiverReport {
                    ssrc: Ssrc(be32(&body[0..4])),
                    reports: reports(&body[4..], count)?,
                }
            }
            202 => RtcpPacket::SourceDescription(parse_sdes(body, count)?),
            203 => {
                if body.len() < 4 * count {
                    return Err(RtcpError::Truncated);
                }
                let ssrcs = body
                    .chunks_exact(4)
                    .take(count)
                    .map(|c| Ssrc(be32(c)))
                    .collect();
                let rest = &body[4 * count..];
                let reason = match rest.first() {
                    Some(&n) if rest.len() > usize::from(n) => {
                        Some(rest[1..1 + usize::from(n)].to_vec())
                    }
                    Some(_) => return Err(RtcpError::Truncated),
                    None => None,
                };
                RtcpPacket::Bye { ssrcs, reason }
            }
            _ => RtcpPacket::Other {
                packet_type: pt,
                data: packet.to_vec(),
            },
        });
        data = &data[len..];
    }
    Ok(out)
}

fn parse_sdes(mut body: &[u8], count: usize) -> Result<Vec<SdesChunk>, RtcpError> {
    let mut chunks = Vec::with_capacity(count);
    for _ in 0..count {
        if body.len() < 4 {
            return Err(RtcpError::Truncated);
        }
        let ssrc = Ssrc(be32(&body[0..4]));
        let mut i = 4;
        let mut items = Vec::new();
        loop {
            let t = *body.get(i).ok_or(RtcpError::Truncated)?;
            if t == 0 {
                // End of the item list, then padding to a 32-bit boundary.
                i = (i + 4) & !3;
                break;
            }
            let n = usize::from(*body.get(i + 1).ok_or(RtcpError::Truncated)?);
            let value = body.get(i + 2..i + 2 + n).ok_or(RtcpError::Truncated)?;
            items.push((t, value.to_vec()));
            i += 2 + n;
        }
        chunks.push((ssrc, items));
        body = body.get(i..).unwrap_or_default();
    }
    Ok(chunks)
}

fn header(out: &mut Vec<u8>, count: usize, pt: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0x80 | (count as u8 & 0x1F), pt, 0, 0]);
    start
}

fn finish(out: &mut Vec<u8>, start: usize) {
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0);
    }
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

fn write_block(out: &mut Vec<u8>, r: &ReportBlock) {
    out.extend_from_slice(&r.ssrc.0.to_be_bytes());
    out.push(r.fraction_lost);
    let lost = (r.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
    out.extend_from_slice(&lost.to_be_bytes()[1..]);
    for v in [
        r.highest_sequence,
        r.jitter,
        r.last_sr,
        r.delay_since_last_sr,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends `packets` as one compound packet to `out`.
pub fn write(out: &mut Vec<u8>, packets: &[RtcpPacket]) {
    for p in packets {
        match p {
            RtcpPacket::SenderReport {
                ssrc,
                ntp,
                rtp_timestamp,
                packets,
                octets,
                reports,
            } => {
                let s = header(out, reports.len(), 200);
                out.extend_from_slice(&ssrc.0.to_be_bytes());
                out.extend_from_slice(&ntp.to_be_bytes());
                for v in [*rtp_timestamp, *packets, *octets] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                reports.iter().take(31).for_each(|r| write_block(out, r));
                finish(out, s);
            }
            RtcpPacket::ReceiverReport { ssrc, reports } => {
                let s = header(out, reports.len(), 201);
                out.extend_from_slice(&ssrc.0.to_be_bytes());
                reports.iter().take(31).for_each(|r| write_block(out, r));
                finish(out, s);
            }
            RtcpPacket::SourceDescription(chunks) => {
                let s = header(out, chunks.len(), 202);
                for (ssrc, items) in chunks {
                    let c = out.len();
                    out.extend_from_slice(&ssrc.0.to_be_bytes());
                    for (t, v) in items {
                        out.push(*t);
                        out.push(v.len().min(255) as u8);
                        out.extend_from_slice(&v[..v.len().min(255)]);
                    }
                    out.push(0);
                    while !(out.len() - c).is_multiple_of(4) {
                        out.push(0);
                    }
                }
                finish(out, s);
            }
            RtcpPacket::Bye { ssrcs, reason } => {
                let s = header(out, ssrcs.len(), 203);
                for x in ssrcs {
                    out.extend_from_slice(&x.0.to_be_bytes());
                }
                if let Some(r) = reason {
                    out.push(r.len().min(255) as u8);
                    out.extend_from_slice(&r[..r.len().min(255)]);
                }
                finish(out, s);
            }
            RtcpPacket::Other { data, .. } => out.extend_from_slice(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_round_trip() {
        let block = ReportBlock {
            ssrc: Ssrc(9),
            fraction_lost: 12,
            cumulative_lost: -3,
            highest_sequence: 70_000,
            jitter: 44,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65_536,
        };
        let packets = vec![
            RtcpPacket::SenderReport {
                ssrc: Ssrc(1),
                ntp: 0xAABB_CCDD_0011_2233,
                rtp_timestamp: 160,
                packets: 5,
                octets: 800,
                reports: vec![block],
            },
            RtcpPacket::SourceDescription(vec![(Ssrc(1), vec![(1, b"mediaplane@host".to_vec())])]),
            RtcpPacket::Bye {
                ssrcs: vec![Ssrc(1)],
                reason: Some(b"hangup".to_vec()),
            },
        ];
        let mut buf = Vec::new();
        write(&mut buf, &packets);
        assert_eq!(buf.len() % 4, 0);
        assert_eq!(parse(&buf).unwrap(), packets);
        let rr = vec![RtcpPacket::ReceiverReport {
            ssrc: Ssrc(2),
            reports: vec![],
        }];
        let mut buf = Vec::new();
        write(&mut buf, &rr);
        assert_eq!(buf, [0x80, 201, 0, 1, 0, 0, 0, 2]);
        assert_eq!(parse(&buf).unwrap(), rr);
    }

    #[test]
    fn malformed() {
        assert_eq!(parse(&[0x80, 200, 0, 6, 0, 0]), Err(RtcpError::Truncated));
        assert_eq!(
            parse(&[0x40, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::Version)
        );
        assert_eq!(
            parse(&[0x81, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::Truncated)
        );
        assert_eq!(
            parse(&[0x81, 202, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::Truncated)
        );
    }
}
