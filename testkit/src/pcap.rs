//! Reading RTP out of classic pcap files (the ones SIPp ships and plays): Ethernet, Linux
//! cooked or raw IPv4 framing, UDP, then RTP.

use std::path::Path;

/// One RTP packet found in a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    /// Payload type.
    pub pt: u8,
    /// Sequence number.
    pub seq: u16,
    /// Timestamp.
    pub ts: u32,
    /// Marker bit.
    pub marker: bool,
    /// Payload (no padding).
    pub payload: Vec<u8>,
}

/// Every UDP datagram in the capture that looks like RTP (version 2), in capture order.
pub fn rtp_packets(path: &Path) -> Vec<RtpPacket> {
    let d = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(d.len() >= 24, "{} is no pcap file", path.display());
    let le = match &d[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{} is no classic pcap file", path.display()),
    };
    let u32_at = |b: &[u8], i: usize| {
        let v = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(v)
        } else {
            u32::from_be_bytes(v)
        }
    };
    let link = u32_at(&d, 20);
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = u32_at(&d, off + 8) as usize;
        off += 16;
        let Some(frame) = d.get(off..off + incl) else {
            break;
        };
        off += incl;
        let ip = match link {
            1 if frame.len() > 14 && frame[12..14] == [0x08, 0x00] => &frame[14..],
            113 if frame.len() > 16 && frame[14..16] == [0x08, 0x00] => &frame[16..],
            101 | 228 => frame,
            _ => continue,
        };
        if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
            continue;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let Some(udp) = ip.get(ihl..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        let rtp = &udp[8..];
        if rtp.len() < 12 || rtp[0] >> 6 != 2 {
            continue;
        }
        let cc = usize::from(rtp[0] & 0x0f);
        let mut start = 12 + 4 * cc;
        if rtp[0] & 0x10 != 0 && rtp.len() >= start + 4 {
            start += 4 + 4 * usize::from(u16::from_be_bytes([rtp[start + 2], rtp[start + 3]]));
        }
        let mut end = rtp.len();
        if rtp[0] & 0x20 != 0 {
            end = end.saturating_sub(usize::from(rtp[end - 1]));
        }
        if start > end {
            continue;
        }
        out.push(RtpPacket {
            pt: rtp[1] & 0x7f,
            marker: rtp[1] & 0x80 != 0,
            seq: u16::from_be_bytes([rtp[2], rtp[3]]),
            ts: u32::from_be_bytes([rtp[4], rtp[5], rtp[6], rtp[7]]),
            payload: rtp[start..end].to_vec(),
        });
    }
    out
}
