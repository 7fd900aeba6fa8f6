//! Opus packet structure (RFC 6716 §3): the TOC byte and the frame packing, validated against
//! the requirements R1–R7 of §3.4 before any byte reaches libopus.

/// Opus coding mode, from the TOC configuration number (RFC 6716 §3.1, Table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpusMode {
    /// SILK only (configurations 0–11).
    Silk,
    /// SILK and CELT (configurations 12–15).
    Hybrid,
    /// CELT only (configurations 16–31).
    Celt,
}

/// Audio bandwidth signalled in the TOC byte (RFC 6716 §2, Table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpusBandwidth {
    /// 4 kHz (8 kHz sampling).
    Narrow,
    /// 6 kHz (12 kHz sampling).
    Medium,
    /// 8 kHz (16 kHz sampling).
    Wide,
    /// 12 kHz (24 kHz sampling).
    SuperWide,
    /// 20 kHz (48 kHz sampling).
    Full,
}

/// What the TOC byte and the packing say about one Opus packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Coding mode.
    pub mode: OpusMode,
    /// Coded bandwidth.
    pub bandwidth: OpusBandwidth,
    /// Whether the frames are coded in stereo.
    pub stereo: bool,
    /// Number of frames in the packet (1–48).
    pub frames: u8,
    /// Duration of each frame in units of 1/8 ms (20 = 2.5 ms, 480 = 60 ms).
    pub frame_eighths_ms: u16,
}

impl PacketInfo {
    /// Total duration in units of 1/8 ms.
    pub fn duration_eighths_ms(&self) -> u32 {
        u32::from(self.frames) * u32::from(self.frame_eighths_ms)
    }

    /// Number of samples per channel the packet decodes to at `rate_hz`.
    pub fn samples_at(&self, rate_hz: u32) -> usize {
        (u64::from(self.duration_eighths_ms()) * u64::from(rate_hz) / 8000) as usize
    }
}

/// Why a byte string is not a valid Opus packet (RFC 6716 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// R1: a packet has at least one byte.
    #[error("empty Opus packet")]
    Empty,
    /// R2: no frame is longer than 1275 bytes.
    #[error("Opus frame longer than 1275 bytes")]
    FrameTooLong,
    /// R3: a code 1 packet splits its payload into two equal halves.
    #[error("Opus code 1 packet has an odd payload length")]
    UnequalFrames,
    /// R4/R7: a frame length points past the end of the packet.
    #[error("Opus frame length runs past the end of the packet")]
    Truncated,
    /// R5: a code 3 packet carries 1 to 120 ms of audio.
    #[error("Opus code 3 packet has {0} frames, outside 1..=120 ms")]
    BadFrameCount(u8),
    /// R6: a constant-bitrate code 3 packet divides evenly into its frames.
    #[error("Opus CBR code 3 payload does not divide into equal frames")]
    UnevenCbr,
}

const MAX_FRAME_LEN: usize = 1275;

/// Reads a frame length (RFC 6716 §3.2.1): one byte below 252, else two bytes.
fn frame_length(bytes: &[u8]) -> Result<(usize, usize), PacketError> {
    match bytes {
        [] => Err(PacketError::Truncated),
        [b, ..] if *b < 252 => Ok((usize::from(*b), 1)),
        [_] => Err(PacketError::Truncated),
        [b0, b1, ..] => Ok((usize::from(*b1) * 4 + usize::from(*b0), 2)),
    }
}

/// Parses and validates an Opus packet's TOC byte and frame packing.
pub fn parse_packet(packet: &[u8]) -> Result<PacketInfo, PacketError> {
    let (&toc, rest) = packet.split_first().ok_or(PacketError::Empty)?;
    let config = toc >> 3;
    let stereo = toc & 0x04 != 0;
    let (mode, bandwidth, frame_eighths_ms) = match config {
        0..=11 => {
            let bw = [
                OpusBandwidth::Narrow,
                OpusBandwidth::Medium,
                OpusBandwidth::Wide,
            ][usize::from(config / 4)];
            (
                OpusMode::Silk,
                bw,
                [80, 160, 320, 480][usize::from(config % 4)],
            )
        }
        12..=15 => {
            let bw = if config < 14 {
                OpusBandwidth::SuperWide
            } else {
                OpusBandwidth::Full
            };
            (OpusMode::Hybrid, bw, [80, 160][usize::from(config % 2)])
        }
        _ => {
            let bw = [
                OpusBandwidth::Narrow,
                OpusBandwidth::Wide,
                OpusBandwidth::SuperWide,
                OpusBandwidth::Full,
            ][usize::from((config - 16) / 4)];
            (
                OpusMode::Celt,
                bw,
                [20, 40, 80, 160][usize::from(config % 4)],
            )
        }
    };
    let frames = match toc & 0x03 {
        // Code 0: one frame (RFC 6716 §3.2.2).
        0 => {
            if rest.len() > MAX_FRAME_LEN {
                return Err(PacketError::FrameTooLong);
            }
            1
        }
        // Code 1: two frames of equal size (§3.2.3).
        1 => {
            if rest.len() % 2 != 0 {
                return Err(PacketError::UnequalFrames);
            }
            if rest.len() / 2 > MAX_FRAME_LEN {
                return Err(PacketError::FrameTooLong);
            }
            2
        }
        // Code 2: two frames, the first one's length coded (§3.2.4).
        2 => {
            let (first, used) = frame_length(rest)?;
            let remaining = rest.len() - used;
            if first > remaining {
                return Err(PacketError::Truncated);
            }
            if first > MAX_FRAME_LEN || remaining - first > MAX_FRAME_LEN {
                return Err(PacketError::FrameTooLong);
            }
            2
        }
        // Code 3: M frames, CBR or VBR, with optional padding (§3.2.5).
        _ => parse_code3(rest, frame_eighths_ms)?,
    };
    Ok(PacketInfo {
        mode,
        bandwidth,
        stereo,
        frames,
        frame_eighths_ms,
    })
}

fn parse_code3(rest: &[u8], frame_eighths_ms: u16) -> Result<u8, PacketError> {
    let (&count_byte, mut body) = rest.split_first().ok_or(PacketError::Truncated)?;
    let vbr = count_byte & 0x80 != 0;
    let has_padding = count_byte & 0x40 != 0;
    let frames = count_byte & 0x3F;
    // R5: at least one frame and at most 120 ms (960 eighths of a millisecond).
    if frames == 0 || u32::from(frames) * u32::from(frame_eighths_ms) > 960 {
        return Err(PacketError::BadFrameCount(frames));
    }
    let mut padding = 0usize;
    if has_padding {
        // Padding length bytes: each 255 adds 254 and continues (§3.2.5).
        loop {
            let (&b, tail) = body.split_first().ok_or(PacketError::Truncated)?;
            body = tail;
            if b == 255 {
                padding += 254;
            } else {
                padding += usize::from(b);
                break;
            }
        }
    }
    let mut available = body
        .len()
        .checked_sub(padding)
        .ok_or(PacketError::Truncated)?;
    if vbr {
        // R7: M-1 coded lengths, and the last frame takes what is left.
        let mut cursor = &body[..available];
        let mut sum = 0usize;
        for _ in 1..frames {
            let (len, used) = frame_length(cursor)?;
            if len > MAX_FRAME_LEN {
                return Err(PacketError::FrameTooLong);
            }
            cursor = &cursor[used..];
            available -= used;
            sum += len;
        }
        let last = available.checked_sub(sum).ok_or(PacketError::Truncated)?;
        if last > MAX_FRAME_LEN {
            return Err(PacketError::FrameTooLong);
        }
    } else {
        // R6: the payload divides into M frames of equal length.
        if available % usize::from(frames) != 0 {
            return Err(PacketError::UnevenCbr);
        }
        if available / usize::from(frames) > MAX_FRAME_LEN {
            return Err(PacketError::FrameTooLong);
        }
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_configurations() {
        // config 1 (SILK NB 20 ms), mono, code 0
        let info = parse_packet(&[1 << 3, 0xAA]).expect("valid");
        assert_eq!(
            (info.mode, info.bandwidth, info.frame_eighths_ms),
            (OpusMode::Silk, OpusBandwidth::Narrow, 160)
        );
        assert_eq!(info.samples_at(48000), 960);
        // config 31 (CELT FB 20 ms), stereo, code 1 with two 1-byte frames
        let info = parse_packet(&[(31 << 3) | 0x04 | 1, 1, 2]).expect("valid");
        assert!(info.stereo);
        assert_eq!((info.mode, info.frames), (OpusMode::Celt, 2));
        // config 16 (CELT NB 2.5 ms)
        assert_eq!(
            parse_packet(&[16 << 3]).expect("valid").samples_at(48000),
            120
        );
        // config 13 (Hybrid SWB 20 ms)
        assert_eq!(
            parse_packet(&[13 << 3]).expect("valid").mode,
            OpusMode::Hybrid
        );
    }

    #[test]
    fn code3_limits() {
        // 60 ms SILK frames: two is 120 ms (ok), three is 180 ms (R5).
        let toc = (3 << 3) | 3;
        assert_eq!(
            parse_packet(&[toc, 2, 0, 0])
                .expect("valid")
                .samples_at(48000),
            5760
        );
        assert_eq!(
            parse_packet(&[toc, 3, 0, 0, 0]),
            Err(PacketError::BadFrameCount(3))
        );
        assert_eq!(parse_packet(&[toc, 0]), Err(PacketError::BadFrameCount(0)));
        // CBR with 3 bytes for 2 frames (R6).
        assert_eq!(
            parse_packet(&[toc, 2, 1, 2, 3]),
            Err(PacketError::UnevenCbr)
        );
        // VBR whose first length runs past the end (R7).
        assert_eq!(
            parse_packet(&[toc, 0x82, 200, 1]),
            Err(PacketError::Truncated)
        );
        // Padding longer than the packet.
        assert_eq!(
            parse_packet(&[toc, 0x42, 10, 0, 0]),
            Err(PacketError::Truncated)
        );
    }

    #[test]
    fn malformed_short_packets() {
        assert_eq!(parse_packet(&[]), Err(PacketError::Empty));
        assert_eq!(
            parse_packet(&[1]),
            Ok(parse_packet(&[1]).expect("a bare TOC is a 0-byte frame (DTX)"))
        );
        assert_eq!(
            parse_packet(&[(1 << 3) | 1, 0]),
            Err(PacketError::UnequalFrames)
        );
        assert_eq!(
            parse_packet(&[(1 << 3) | 2, 252]),
            Err(PacketError::Truncated)
        );
        assert_eq!(
            parse_packet(&[(1 << 3) | 2, 5, 1]),
            Err(PacketError::Truncated)
        );
        assert_eq!(parse_packet(&[(1 << 3) | 3]), Err(PacketError::Truncated));
        let long = vec![0u8; 1277];
        assert_eq!(parse_packet(&long), Err(PacketError::FrameTooLong));
    }
}
