//! Ogg Opus files (RFC 7845) for handing packets to and from ffmpeg: a minimal muxer and
//! demuxer (one logical stream, no chaining).

/// CRC-32 of Ogg pages: polynomial 0x04C11DB7, initial value 0, not reflected (RFC 3533 §6).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn page(header_type: u8, granule: u64, serial: u32, sequence: u32, packets: &[&[u8]]) -> Vec<u8> {
    let mut lacing = Vec::new();
    for p in packets {
        let mut n = p.len();
        while n >= 255 {
            lacing.push(255);
            n -= 255;
        }
        lacing.push(n as u8);
    }
    assert!(lacing.len() <= 255, "too many segments for one page");
    let mut b = Vec::new();
    b.extend_from_slice(b"OggS");
    b.push(0);
    b.push(header_type);
    b.extend_from_slice(&granule.to_le_bytes());
    b.extend_from_slice(&serial.to_le_bytes());
    b.extend_from_slice(&sequence.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.push(lacing.len() as u8);
    b.extend_from_slice(&lacing);
    for p in packets {
        b.extend_from_slice(p);
    }
    let crc = crc32(&b);
    b[22..26].copy_from_slice(&crc.to_le_bytes());
    b
}

/// An Ogg Opus file holding `packets`, each `frame_samples_48k` long, mono or stereo.
pub fn write_opus(
    packets: &[Vec<u8>],
    frame_samples_48k: u64,
    channels: u8,
    pre_skip: u16,
    input_rate: u32,
) -> Vec<u8> {
    let serial = 0x6d70_6c6e;
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(channels);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&input_rate.to_le_bytes());
    head.extend_from_slice(&0u16.to_le_bytes());
    head.push(0);
    let mut tags = b"OpusTags".to_vec();
    let vendor = b"mediaplane-testkit";
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    let mut out = page(0x02, 0, serial, 0, &[&head]);
    out.extend(page(0, 0, serial, 1, &[&tags]));
    let mut granule = u64::from(pre_skip);
    for (i, p) in packets.iter().enumerate() {
        granule += frame_samples_48k;
        let last = i + 1 == packets.len();
        out.extend(page(
            if last { 0x04 } else { 0 },
            granule,
            serial,
            2 + i as u32,
            &[p],
        ));
    }
    out
}

/// The packets of an Ogg Opus file, with its pre-skip and channel count.
#[derive(Debug)]
pub struct OpusFile {
    /// Audio packets in order.
    pub packets: Vec<Vec<u8>>,
    /// Samples at 48 kHz to drop from the start of the decoded audio.
    pub pre_skip: u16,
    /// Channel count from OpusHead.
    pub channels: u8,
}

/// Parses an Ogg Opus file.
pub fn read_opus(bytes: &[u8]) -> OpusFile {
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut partial = Vec::new();
    let mut pos = 0;
    while pos + 27 <= bytes.len() {
        assert_eq!(&bytes[pos..pos + 4], b"OggS", "bad page at {pos}");
        let segments = usize::from(bytes[pos + 26]);
        let lacing = &bytes[pos + 27..pos + 27 + segments];
        let mut body = pos + 27 + segments;
        for &l in lacing {
            partial.extend_from_slice(&bytes[body..body + usize::from(l)]);
            body += usize::from(l);
            if l < 255 {
                packets.push(std::mem::take(&mut partial));
            }
        }
        pos = body;
    }
    assert!(
        packets.len() >= 2 && packets[0].starts_with(b"OpusHead"),
        "not an Ogg Opus file"
    );
    let head = &packets[0];
    let channels = head[9];
    let pre_skip = u16::from_le_bytes([head[10], head[11]]);
    OpusFile {
        packets: packets.split_off(2),
        pre_skip,
        channels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let packets = vec![vec![1u8; 10], vec![2u8; 300], vec![3u8; 255]];
        let file = write_opus(&packets, 960, 1, 312, 48000);
        let back = read_opus(&file);
        assert_eq!(back.packets, packets);
        assert_eq!(back.pre_skip, 312);
    }

    #[test]
    fn crc_of_known_vector() {
        // CRC-32/MPEG-2 style without final xor: "123456789" -> 0x89A1897F (Ogg's variant).
        assert_eq!(crc32(b"123456789"), 0x89A1_897F);
    }
}
