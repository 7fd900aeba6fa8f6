//! SDP (RFC 8866) as mediaplane reads and writes it: every line kept in order (so that
//! `a=crypto`, `a=fmtp` and anything unknown round-trip exactly), with typed views of what
//! the media engine acts on; and offer/answer (RFC 3264) in [`negotiate`].

pub mod negotiate;

use std::{fmt, net::IpAddr, str::FromStr};

/// Why text is not SDP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// A line is not `<type>=<value>` with a lower-case letter type.
    #[error("line {0}: not <letter>=<value>")]
    Line(usize),
    /// `v=` is missing or not first.
    #[error("no v= line first")]
    Version,
    /// `o=` is missing or malformed.
    #[error("malformed or missing o= line")]
    Origin,
    /// An `m=` line is malformed.
    #[error("line {0}: malformed m= line")]
    Media(usize),
    /// Not UTF-8.
    #[error("SDP is not UTF-8")]
    Encoding,
}

/// One line: its type letter and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `v`, `o`, `s`, `c`, `t`, `m`, `a`...
    pub kind: char,
    /// Everything after the `=`.
    pub value: String,
}

/// An `m=` section: the media line and the lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`...
    pub media: String,
    /// Port (0 rejects the stream).
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`...
    pub protocol: String,
    /// Format list (payload types for RTP).
    pub formats: Vec<String>,
    /// The lines after `m=`, in order.
    pub lines: Vec<Line>,
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// Session-level lines (v=, o=, s=, c=, t=, a=...), in order.
    pub lines: Vec<Line>,
    /// Media sections in order.
    pub media: Vec<Media>,
}

/// Media direction (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Both ways (the default).
    SendRecv,
    /// We send, they do not.
    SendOnly,
    /// They send, we do not.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction the other side sees (an answer to `sendonly` is `recvonly`).
    pub fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            d => d,
        }
    }

    /// Whether media flows towards the party this direction belongs to.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// Whether the party this direction belongs to sends.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }
}

/// An `a=rtpmap` entry (or a static payload type's implied one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub pt: u8,
    /// Encoding name as written (`PCMU`, `opus`, `telephone-event`).
    pub encoding: String,
    /// Clock rate.
    pub clock_rate: u32,
    /// Channels, if given.
    pub channels: Option<u8>,
}

fn lines_of<'a>(lines: &'a [Line], kind: char) -> impl Iterator<Item = &'a str> + 'a {
    lines
        .iter()
        .filter(move |l| l.kind == kind)
        .map(|l| l.value.as_str())
}

fn attributes<'a>(lines: &'a [Line], name: &'a str) -> impl Iterator<Item = Option<&'a str>> + 'a {
    lines_of(lines, 'a').filter_map(move |v| match v.split_once(':') {
        Some((n, rest)) if n == name => Some(Some(rest)),
        None if v == name => Some(None),
        _ => None,
    })
}

/// `c=IN IP4 <addr>` → the address (multicast TTL suffixes ignored).
fn connection_address(value: &str) -> Option<IpAddr> {
    let mut parts = value.split_whitespace();
    if parts.next()? != "IN" {
        return None;
    }
    parts.next()?;
    let addr = parts.next()?.split('/').next()?;
    addr.parse().ok()
}

impl SessionDescription {
    /// Parses SDP (CRLF or LF line ends).
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut lines = Vec::new();
        let mut media: Vec<Media> = Vec::new();
        for (n, raw) in text.split('\n').enumerate() {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.is_empty() {
                continue;
            }
            let mut chars = raw.chars();
            let kind = chars.next().ok_or(SdpError::Line(n + 1))?;
            if !kind.is_ascii_lowercase() || chars.next() != Some('=') {
                return Err(SdpError::Line(n + 1));
            }
            let value = raw[2..].to_string();
            if kind == 'm' {
                media.push(parse_media_line(&value).ok_or(SdpError::Media(n + 1))?);
                continue;
            }
            let line = Line { kind, value };
            match media.last_mut() {
                Some(m) => m.lines.push(line),
                None => lines.push(line),
            }
        }
        if lines.first().is_none_or(|l| l.kind != 'v') {
            return Err(SdpError::Version);
        }
        let sdp = Self { lines, media };
        sdp.origin().ok_or(SdpError::Origin)?;
        Ok(sdp)
    }

    /// Parses SDP bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SdpError> {
        Self::parse(std::str::from_utf8(bytes).map_err(|_| SdpError::Encoding)?)
    }

    /// `o=` fields: username, session id, session version, address.
    pub fn origin(&self) -> Option<(String, u64, u64, String)> {
        let o = lines_of(&self.lines, 'o').next()?;
        let f: Vec<&str> = o.split_whitespace().collect();
        if f.len() != 6 {
            return None;
        }
        Some((
            f[0].to_string(),
            f[1].parse().ok()?,
            f[2].parse().ok()?,
            f[5].to_string(),
        ))
    }

    /// The session-level connection address.
    pub fn connection(&self) -> Option<IpAddr> {
        lines_of(&self.lines, 'c')
            .next()
            .and_then(connection_address)
    }

    /// The session-level attributes named `name` (values; `None` for flags).
    pub fn attributes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Option<&'a str>> + 'a {
        attributes(&self.lines, name)
    }

    /// The first audio section.
    pub fn audio(&self) -> Option<&Media> {
        self.media.iter().find(|m| m.media == "audio")
    }

    /// Prints with CRLF line ends.
    pub fn to_text(&self) -> String {
        self.to_string()
    }
}

fn parse_media_line(value: &str) -> Option<Media> {
    let mut parts = value.split_whitespace();
    let media = parts.next()?.to_string();
    let port_field = parts.next()?;
    let port = port_field.split('/').next()?.parse().ok()?;
    let protocol = parts.next()?.to_string();
    let formats: Vec<String> = parts.map(str::to_string).collect();
    Some(Media {
        media,
        port,
        protocol,
        formats,
        lines: Vec::new(),
    })
}

impl Media {
    /// The connection address of this section (falling back to the session's).
    pub fn connection(&self, session: &SessionDescription) -> Option<IpAddr> {
        lines_of(&self.lines, 'c')
            .next()
            .and_then(connection_address)
            .or_else(|| session.connection())
    }

    /// Attributes named `name`.
    pub fn attributes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Option<&'a str>> + 'a {
        attributes(&self.lines, name)
    }

    /// The first value of attribute `name`.
    pub fn attribute<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.attributes(name).next().flatten()
    }

    /// Whether flag attribute `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.attributes(name).next().is_some()
    }

    /// The direction (media-level, then session-level, default sendrecv).
    pub fn direction(&self, session: &SessionDescription) -> Direction {
        let pick = |lines: &[Line]| {
            lines_of(lines, 'a').find_map(|a| match a {
                "sendrecv" => Some(Direction::SendRecv),
                "sendonly" => Some(Direction::SendOnly),
                "recvonly" => Some(Direction::RecvOnly),
                "inactive" => Some(Direction::Inactive),
                _ => None,
            })
        };
        pick(&self.lines)
            .or_else(|| pick(&session.lines))
            .unwrap_or(Direction::SendRecv)
    }

    /// The rtpmap of payload type `pt` (static types 0, 8, 9, 13 are implied, RFC 3551).
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        let explicit = self.attributes("rtpmap").flatten().find_map(|v| {
            let (num, rest) = v.split_once(' ')?;
            if num.trim().parse::<u8>().ok()? != pt {
                return None;
            }
            let mut f = rest.trim().split('/');
            let encoding = f.next()?.to_string();
            let clock_rate = f.next()?.parse().ok()?;
            let channels = f.next().and_then(|c| c.parse().ok());
            Some(RtpMap {
                pt,
                encoding,
                clock_rate,
                channels,
            })
        });
        explicit.or_else(|| {
            let (encoding, clock_rate) = match pt {
                0 => ("PCMU", 8000),
                8 => ("PCMA", 8000),
                9 => ("G722", 8000),
                13 => ("CN", 8000),
                18 => ("G729", 8000),
                _ => return None,
            };
            Some(RtpMap {
                pt,
                encoding: encoding.into(),
                clock_rate,
                channels: None,
            })
        })
    }

    /// The `a=fmtp` parameters of `pt`.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes("fmtp").flatten().find_map(|v| {
            let (num, rest) = v.split_once(' ')?;
            (num.trim().parse::<u8>().ok()? == pt).then_some(rest.trim())
        })
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime").and_then(|v| v.trim().parse().ok())
    }

    /// `a=rtcp:<port> [IN IP4 addr]` (RFC 3605).
    pub fn rtcp(&self) -> Option<(u16, Option<IpAddr>)> {
        let v = self.attribute("rtcp")?;
        let mut f = v.split_whitespace();
        let port = f.next()?.parse().ok()?;
        let addr = f.nth(2).and_then(|a| IpAddr::from_str(a).ok());
        Some((port, addr))
    }

    /// Whether the payload types are RTP/SAVP (SDES-SRTP) or another secure profile.
    pub fn is_secure(&self) -> bool {
        self.protocol.contains("SAVP")
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            write!(f, "{}={}\r\n", l.kind, l.value)?;
        }
        for m in &self.media {
            write!(f, "m={} {} {}", m.media, m.port, m.protocol)?;
            for fmt in &m.formats {
                write!(f, " {fmt}")?;
            }
            f.write_str("\r\n")?;
            for l in &m.lines {
                write!(f, "{}={}\r\n", l.kind, l.value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The offer SIPp's uac_pcap scenario sends, and a browser-style opus offer with SDES.
    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n";
    const SAVP: &str = "v=0\r\no=- 123 456 IN IP4 192.0.2.7\r\ns=call\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 111 0 126\r\nc=IN IP4 192.0.2.7\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:126 telephone-event/48000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\na=rtcp-mux\r\na=ptime:20\r\na=sendonly\r\nm=video 0 RTP/AVP 96\r\n";

    #[test]
    fn parse_and_round_trip() {
        for text in [SIPP, SAVP] {
            let sdp = SessionDescription::parse(text).unwrap();
            assert_eq!(sdp.to_string(), text);
        }
        let sdp = SessionDescription::parse(SAVP).unwrap();
        let audio = sdp.audio().unwrap();
        assert_eq!((audio.port, audio.protocol.as_str()), (4000, "RTP/SAVP"));
        assert_eq!(audio.connection(&sdp), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(
            audio.rtpmap(111).unwrap(),
            RtpMap {
                pt: 111,
                encoding: "opus".into(),
                clock_rate: 48000,
                channels: Some(2)
            }
        );
        assert_eq!(audio.rtpmap(0).unwrap().encoding, "PCMU");
        assert_eq!(audio.fmtp(111), Some("minptime=10;useinbandfec=1"));
        assert_eq!(
            (audio.ptime(), audio.has("rtcp-mux"), audio.direction(&sdp)),
            (Some(20), true, Direction::SendOnly)
        );
        assert!(
            audio
                .attribute("crypto")
                .unwrap()
                .starts_with("1 AES_CM_128_HMAC_SHA1_80 inline:")
        );
        assert_eq!(sdp.origin().unwrap().1, 123);
        assert_eq!(sdp.media[1].port, 0);
    }

    #[test]
    fn malformed() {
        assert_eq!(
            SessionDescription::parse("o=- 1 1 IN IP4 x\r\n"),
            Err(SdpError::Version)
        );
        assert_eq!(
            SessionDescription::parse("v=0\r\ns=-\r\n"),
            Err(SdpError::Origin)
        );
        assert_eq!(
            SessionDescription::parse("v=0\r\nbad line\r\n"),
            Err(SdpError::Line(2))
        );
        assert!(matches!(
            SessionDescription::parse("v=0\r\no=- 1 1 IN IP4 x\r\nm=audio x RTP/AVP 0\r\n"),
            Err(SdpError::Media(3))
        ));
    }
}
