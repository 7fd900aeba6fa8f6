//! RTP packets (RFC 3550 §5.1): a bounds-checked view over the bytes (no copy), header
//! writing into caller buffers, and the in-place rewrite a relay does per packet.

use crate::{Pt, Ssrc};

/// The fixed RTP header is 12 bytes.
pub const HEADER_LEN: usize = 12;

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer than 12 bytes, or the CSRC list / extension runs past the end.
    #[error("truncated RTP packet")]
    Truncated,
    /// Version is not 2.
    #[error("RTP version {0} is not 2")]
    Version(u8),
    /// The padding count is zero or larger than the payload.
    #[error("bad RTP padding")]
    Padding,
}

/// A parsed RTP header: where everything is in the packet it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit.
    pub marker: bool,
    /// Payload type.
    pub payload_type: Pt,
    /// Sequence number.
    pub sequence: u16,
    /// Timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: Ssrc,
    /// Number of CSRCs.
    pub csrc_count: u8,
    /// Header extension profile and the byte range of its data, if any (RFC 3550 §5.3.1).
    pub extension: Option<(u16, usize, usize)>,
    /// Offset of the payload.
    pub payload_start: usize,
    /// End of the payload (before padding).
    pub payload_end: usize,
}

impl RtpHeader {
    /// Parses the header of `packet` (RFC 3550 §5.1, §5.3.1).
    #[inline]
    pub fn parse(packet: &[u8]) -> Result<Self, RtpError> {
        if packet.len() < HEADER_LEN {
            return Err(RtpError::Truncated);
        }
        let b0 = packet[0];
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = b0 & 0x0F;
        let mut offset = HEADER_LEN + 4 * usize::from(csrc_count);
        if packet.len() < offset {
            return Err(RtpError::Truncated);
        }
        let mut extension = None;
        if has_extension {
            if packet.len() < offset + 4 {
                return Err(RtpError::Truncated);
            }
            let profile = u16::from_be_bytes([packet[offset], packet[offset + 1]]);
            let words = usize::from(u16::from_be_bytes([packet[offset + 2], packet[offset + 3]]));
            let start = offset + 4;
            let end = start + 4 * words;
            if packet.len() < end {
                return Err(RtpError::Truncated);
            }
            extension = Some((profile, start, end));
            offset = end;
        }
        let mut payload_end = packet.len();
        if padding {
            let count = usize::from(packet[packet.len() - 1]);
            if count == 0 || count > packet.len() - offset {
                return Err(RtpError::Padding);
            }
            payload_end -= count;
        }
        Ok(Self {
            marker: packet[1] & 0x80 != 0,
            payload_type: Pt(packet[1] & 0x7F),
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: Ssrc(u32::from_be_bytes([
                packet[8], packet[9], packet[10], packet[11],
            ])),
            csrc_count,
            extension,
            payload_start: offset,
            payload_end,
        })
    }

    /// The payload within `packet` (the bytes this header was parsed from).
    #[inline]
    pub fn payload<'a>(&self, packet: &'a [u8]) -> &'a [u8] {
        &packet[self.payload_start..self.payload_end]
    }

    /// The CSRC list within `packet`.
    pub fn csrcs<'a>(&self, packet: &'a [u8]) -> impl Iterator<Item = Ssrc> + 'a {
        packet[HEADER_LEN..HEADER_LEN + 4 * usize::from(self.csrc_count)]
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }
}

/// Writes a 12-byte header (no CSRC, no extension, no padding) into `out`; returns 12.
#[inline]
pub fn write_header(
    out: &mut [u8],
    marker: bool,
    pt: Pt,
    sequence: u16,
    timestamp: u32,
    ssrc: Ssrc,
) -> usize {
    out[0] = 0x80;
    out[1] = (u8::from(marker) << 7) | (pt.0 & 0x7F);
    out[2..4].copy_from_slice(&sequence.to_be_bytes());
    out[4..8].copy_from_slice(&timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&ssrc.0.to_be_bytes());
    HEADER_LEN
}

/// Rewrites SSRC, sequence number, timestamp and optionally the payload type of a packet in
/// place: what a relay does to each packet so that the far end sees one continuous stream.
#[inline]
pub fn rewrite(packet: &mut [u8], ssrc: Ssrc, sequence: u16, timestamp: u32, pt: Option<Pt>) {
    debug_assert!(packet.len() >= HEADER_LEN, "rewrite only parsed packets");
    if let Some(pt) = pt {
        packet[1] = (packet[1] & 0x80) | (pt.0 & 0x7F);
    }
    packet[2..4].copy_from_slice(&sequence.to_be_bytes());
    packet[4..8].copy_from_slice(&timestamp.to_be_bytes());
    packet[8..12].copy_from_slice(&ssrc.0.to_be_bytes());
}

/// Whether a packet arriving on a muxed port is RTCP (RFC 5761 §4: second byte 192–223 are
/// RTCP packet types 192–223, i.e. payload types 64–95 with the marker bit).
#[inline]
pub fn is_rtcp(packet: &[u8]) -> bool {
    packet.len() >= 2 && (192..=223).contains(&packet[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_rewrite() {
        let mut p = [0u8; 12 + 4 + 8 + 160 + 3];
        p[0] = 0x80 | 0x20 | 0x10 | 1; // padding, extension, 1 CSRC
        p[1] = 0x80 | 8; // marker, PCMA
        p[2..4].copy_from_slice(&1234u16.to_be_bytes());
        p[4..8].copy_from_slice(&160_000u32.to_be_bytes());
        p[8..12].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        p[12..16].copy_from_slice(&7u32.to_be_bytes());
        p[16..18].copy_from_slice(&0xBEDEu16.to_be_bytes());
        p[18..20].copy_from_slice(&1u16.to_be_bytes());
        let n = p.len();
        p[n - 1] = 3;
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(
            (h.marker, h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (true, Pt(8), 1234, 160_000, Ssrc(0xdead_beef))
        );
        assert_eq!(h.csrcs(&p).collect::<Vec<_>>(), vec![Ssrc(7)]);
        assert_eq!(h.extension, Some((0xBEDE, 20, 24)));
        assert_eq!(h.payload(&p).len(), 160);
        rewrite(&mut p, Ssrc(1), 9, 99, Some(Pt(0)));
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(
            (h.marker, h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (true, Pt(0), 9, 99, Ssrc(1))
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(RtpHeader::parse(&[0x80; 11]), Err(RtpError::Truncated));
        assert_eq!(RtpHeader::parse(&[0x40; 12]), Err(RtpError::Version(1)));
        let mut p = [0u8; 12];
        p[0] = 0x8F; // 15 CSRCs missing
        assert_eq!(RtpHeader::parse(&p), Err(RtpError::Truncated));
        let mut p = [0u8; 13];
        p[0] = 0xA0;
        p[12] = 5; // padding longer than the packet
        assert_eq!(RtpHeader::parse(&p), Err(RtpError::Padding));
    }

    #[test]
    fn rtcp_demux() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(!is_rtcp(&[0x80, 0]));
        assert!(!is_rtcp(&[0x80, 0x80 | 96]));
    }
}
