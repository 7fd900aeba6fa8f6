//! Offer/answer (RFC 3264, RFC 6337): what we offer, how we answer an offer, and what an
//! answer to our offer means, reduced to [`MediaParams`] — everything a leg needs to send and
//! receive. SDES-SRTP keys (RFC 4568) are negotiated here; key bytes come from the caller's
//! random source (the core has no OS randomness).

use std::net::{IpAddr, SocketAddr};

use codec_transcoder::{Codec, SampleRate};

use super::{Direction, Line, Media, RtpMap, SessionDescription};
use crate::{
    Pt,
    srtp::{CryptoSuite, KeyMaterial},
};

/// When to use SRTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// Plain RTP only; RTP/SAVP offers are refused.
    Disabled,
    /// Answer RTP/SAVP offers with SRTP; offer plain RTP.
    Optional,
    /// Offer RTP/SAVP; refuse plain RTP offers.
    Mandatory,
}

/// What we can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Audio codecs, most preferred first.
    pub codecs: Vec<Codec>,
    /// RFC 4733 telephone-event.
    pub telephone_event: bool,
    /// SRTP policy.
    pub srtp: SrtpPolicy,
    /// Pick by our order instead of the offerer's.
    pub prefer_own_order: bool,
    /// Packet time when the offer says none, in ms.
    pub ptime: u32,
    /// Offer and accept rtcp-mux (RFC 5761).
    pub rtcp_mux: bool,
    /// Offer and accept comfort noise (RFC 3389, `CN/8000`).
    pub comfort_noise: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            codecs: vec![Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Opus],
            telephone_event: true,
            srtp: SrtpPolicy::Optional,
            prefer_own_order: false,
            ptime: 20,
            rtcp_mux: true,
            comfort_noise: true,
        }
    }
}

/// Our side of a leg: the address and the `o=` identity (the caller bumps `version` for
/// every new offer or changed answer, RFC 3264 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalSide {
    /// Media address.
    pub address: IpAddr,
    /// RTP port.
    pub port: u16,
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` session version.
    pub version: u64,
}

/// Negotiated SRTP: the suite and both keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpParams {
    /// Suite.
    pub suite: CryptoSuite,
    /// The `a=crypto` tag.
    pub tag: u32,
    /// Our key (we encrypt with it).
    pub local: KeyMaterial,
    /// Their key (we decrypt with it).
    pub remote: KeyMaterial,
}

/// What offer and answer agreed for the audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaParams {
    /// Where to send RTP (`None`: the peer holds with 0.0.0.0 or gave no address).
    pub remote: Option<SocketAddr>,
    /// Where to send RTCP.
    pub remote_rtcp: Option<SocketAddr>,
    /// RTP and RTCP share one port.
    pub rtcp_mux: bool,
    /// The codec.
    pub codec: Codec,
    /// Its payload type.
    pub pt: Pt,
    /// Packet time in ms.
    pub ptime: u32,
    /// RFC 4733 payload type and clock rate.
    pub telephone_event: Option<(Pt, u32)>,
    /// RFC 3389 comfort noise payload type.
    pub comfort_noise: Option<Pt>,
    /// Our direction.
    pub direction: Direction,
    /// SRTP, when negotiated.
    pub srtp: Option<SrtpParams>,
}

/// Where SRTP master keys come from: keys to keep (a re-INVITE keeps ours unless the suite
/// changes, so the far end need not re-key) and a cryptographic random source for new ones.
pub struct KeySource<'a> {
    keep: &'a [(CryptoSuite, KeyMaterial)],
    random: &'a mut dyn FnMut(&mut [u8]),
}

impl std::fmt::Debug for KeySource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySource").finish_non_exhaustive()
    }
}

impl<'a> KeySource<'a> {
    /// Fresh keys only.
    pub fn new(random: &'a mut dyn FnMut(&mut [u8])) -> Self {
        Self { keep: &[], random }
    }

    /// Keeps `keep` for their suites, fresh keys otherwise.
    pub fn keeping(
        keep: &'a [(CryptoSuite, KeyMaterial)],
        random: &'a mut dyn FnMut(&mut [u8]),
    ) -> Self {
        Self { keep, random }
    }

    fn key(&mut self, suite: CryptoSuite) -> KeyMaterial {
        if let Some((_, k)) = self.keep.iter().find(|(s, _)| *s == suite) {
            return k.clone();
        }
        let mut bytes = vec![0u8; 16 + suite.salt_len()];
        (self.random)(&mut bytes);
        KeyMaterial::from_bytes(suite, &bytes).expect("sized for the suite")
    }
}

/// Why offer and answer do not agree (a 488 Not Acceptable Here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// No usable audio stream.
    #[error("no audio stream")]
    NoAudio,
    /// None of the offered codecs is one of ours.
    #[error("no common codec (offered: {0})")]
    NoCommonCodec(String),
    /// Plain RTP offered, SRTP required.
    #[error("SRTP is required")]
    SrtpRequired,
    /// RTP/SAVP without a crypto suite we support (or with an MKI).
    #[error("no usable SRTP crypto attribute")]
    NoUsableCrypto,
    /// SRTP offered but disabled here.
    #[error("SRTP is disabled")]
    SrtpDisabled,
    /// The answer does not fit our offer.
    #[error("the answer does not match the offer: {0}")]
    BadAnswer(&'static str),
}

/// The SDP encoding name of a codec and its RTP clock rate.
fn rtpmap_of(codec: Codec) -> (String, u32, Option<u8>) {
    match codec {
        Codec::Opus => ("opus".into(), 48_000, Some(2)),
        c => (c.encoding_name().to_string(), c.rtp_clock_rate(), None),
    }
}

/// The codec an rtpmap names, if it is one of ours.
pub fn codec_of(map: &RtpMap) -> Option<Codec> {
    Some(
        match (map.encoding.to_ascii_uppercase().as_str(), map.clock_rate) {
            ("PCMU", 8000) => Codec::Pcmu,
            ("PCMA", 8000) => Codec::Pcma,
            ("G722", 8000) => Codec::G722,
            ("OPUS", 48_000) => Codec::Opus,
            ("L16", rate) => Codec::L16(SampleRate::from_hz(rate)?),
            _ => return None,
        },
    )
}

/// The payload type we use for a codec in our offers.
fn our_pt(codec: Codec) -> u8 {
    match codec {
        Codec::Pcmu => 0,
        Codec::Pcma => 8,
        Codec::G722 => 9,
        Codec::Opus => 111,
        Codec::L16(SampleRate::Hz8000) => 97,
        Codec::L16(SampleRate::Hz16000) => 98,
        Codec::L16(SampleRate::Hz24000) => 99,
        Codec::L16(SampleRate::Hz48000) => 100,
    }
}

fn line(kind: char, value: impl Into<String>) -> Line {
    Line {
        kind,
        value: value.into(),
    }
}

fn ip_kind(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "IP4" } else { "IP6" }
}

/// Our `o=` value (RFC 4566 §5.2).
pub fn origin(local: &LocalSide) -> String {
    format!(
        "mediaplane {} {} IN {} {}",
        local.session_id,
        local.version,
        ip_kind(local.address),
        local.address
    )
}

fn session_lines(local: &LocalSide) -> Vec<Line> {
    let k = ip_kind(local.address);
    vec![
        line('v', "0"),
        line('o', origin(local)),
        line('s', "mediaplane"),
        line('c', format!("IN {k} {}", local.address)),
        line('t', "0 0"),
    ]
}

fn codec_lines(lines: &mut Vec<Line>, pt: u8, codec: Codec) {
    let (name, rate, channels) = rtpmap_of(codec);
    let map = match channels {
        Some(c) => format!("{pt} {name}/{rate}/{c}"),
        None => format!("{pt} {name}/{rate}"),
    };
    lines.push(line('a', format!("rtpmap:{map}")));
    if codec == Codec::Opus {
        lines.push(line('a', format!("fmtp:{pt} minptime=10;useinbandfec=1")));
    }
}

/// An offer we sent, with the SRTP keys its `a=crypto` lines carry.
#[derive(Debug, Clone)]
pub struct LocalOffer {
    /// The SDP.
    pub sdp: SessionDescription,
    keys: Vec<(u32, CryptoSuite, KeyMaterial)>,
}

/// Builds our offer.
pub fn offer(
    caps: &Capabilities,
    local: &LocalSide,
    direction: Direction,
    keys: &mut KeySource<'_>,
) -> LocalOffer {
    let secure = caps.srtp == SrtpPolicy::Mandatory;
    let mut formats: Vec<String> = caps.codecs.iter().map(|c| our_pt(*c).to_string()).collect();
    let mut lines = Vec::new();
    for c in &caps.codecs {
        codec_lines(&mut lines, our_pt(*c), *c);
    }
    if caps.telephone_event {
        formats.push("101".into());
        lines.push(line('a', "rtpmap:101 telephone-event/8000"));
        lines.push(line('a', "fmtp:101 0-16"));
        if caps.codecs.contains(&Codec::Opus) {
            formats.push("126".into());
            lines.push(line('a', "rtpmap:126 telephone-event/48000"));
            lines.push(line('a', "fmtp:126 0-16"));
        }
    }
    if caps.comfort_noise && caps.codecs.iter().any(|c| c.rtp_clock_rate() == 8000) {
        formats.push("13".into());
        lines.push(line('a', "rtpmap:13 CN/8000"));
    }
    lines.push(line('a', format!("ptime:{}", caps.ptime)));
    if caps.rtcp_mux {
        lines.push(line('a', "rtcp-mux"));
    }
    let mut offered_keys = Vec::new();
    if secure {
        for (i, suite) in CryptoSuite::ALL.into_iter().enumerate() {
            let key = keys.key(suite);
            let tag = i as u32 + 1;
            lines.push(line(
                'a',
                format!("crypto:{tag} {} inline:{}", suite.name(), key.to_inline()),
            ));
            offered_keys.push((tag, suite, key));
        }
    }
    lines.push(line('a', direction.as_str()));
    let media = Media {
        media: "audio".into(),
        port: local.port,
        protocol: if secure { "RTP/SAVP" } else { "RTP/AVP" }.into(),
        formats,
        lines,
    };
    LocalOffer {
        sdp: SessionDescription {
            lines: session_lines(local),
            media: vec![media],
        },
        keys: offered_keys,
    }
}

/// The usable `a=crypto` lines of a media section: `(tag, suite, key)`, in order.
fn crypto_lines(m: &Media) -> Vec<(u32, CryptoSuite, KeyMaterial)> {
    m.attributes("crypto")
        .flatten()
        .filter_map(|v| {
            let mut f = v.split_whitespace();
            let tag: u32 = f.next()?.parse().ok()?;
            let suite = CryptoSuite::from_name(f.next()?)?;
            let params = f.next()?.strip_prefix("inline:")?;
            let mut parts = params.split('|');
            let key_b64 = parts.next()?;
            // An MKI (`|<value>:<length>` with a colon) is not supported (RFC 4568 §6.1).
            if parts.any(|p| p.contains(':')) {
                return None;
            }
            Some((tag, suite, KeyMaterial::from_inline(suite, key_b64)?))
        })
        .collect()
}

fn remote_addresses(
    session: &SessionDescription,
    m: &Media,
    mux: bool,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let addr = m.connection(session).filter(|a| !a.is_unspecified());
    let rtp = addr.map(|a| SocketAddr::new(a, m.port));
    let rtcp = if mux {
        rtp
    } else {
        match m.rtcp() {
            Some((port, explicit)) => explicit.or(addr).map(|a| SocketAddr::new(a, port)),
            None => addr.map(|a| SocketAddr::new(a, m.port.saturating_add(1))),
        }
    };
    (rtp, rtcp)
}

fn telephone_event(m: &Media, codec: Codec) -> Option<(Pt, u32)> {
    let events: Vec<RtpMap> = m
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .filter_map(|pt| m.rtpmap(pt))
        .filter(|r| r.encoding.eq_ignore_ascii_case("telephone-event"))
        .collect();
    let want = codec.rtp_clock_rate();
    events
        .iter()
        .find(|r| r.clock_rate == want)
        .or_else(|| events.first())
        .map(|r| (Pt(r.pt), r.clock_rate))
}

/// The comfort noise payload type matching the codec's clock (RFC 3389 §5).
fn comfort_noise(m: &Media, codec: Codec) -> Option<Pt> {
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .filter_map(|pt| m.rtpmap(pt))
        .find(|r| r.encoding.eq_ignore_ascii_case("CN") && r.clock_rate == codec.rtp_clock_rate())
        .map(|r| Pt(r.pt))
}

fn pick_ptime(offered: Option<u32>, codec: Codec, default: u32) -> u32 {
    let ok = |p: u32| match codec {
        Codec::Opus => matches!(p, 10 | 20 | 40 | 60),
        _ => (10..=60).contains(&p) && p.is_multiple_of(10),
    };
    offered.filter(|&p| ok(p)).unwrap_or(default)
}

/// Answers `offer`: picks the codec, telephone-event, ptime, direction, rtcp-mux and SRTP,
/// and returns our answer SDP with the agreed parameters. Streams other than the first audio
/// stream are rejected with port 0, in the offer's order (RFC 3264 §6).
pub fn answer(
    offer: &SessionDescription,
    caps: &Capabilities,
    local: &LocalSide,
    wish: Direction,
    keys: &mut KeySource<'_>,
) -> Result<(SessionDescription, MediaParams), NegotiationError> {
    let index = offer
        .media
        .iter()
        .position(|m| m.media == "audio" && m.port != 0)
        .ok_or(NegotiationError::NoAudio)?;
    let m = &offer.media[index];
    // SRTP policy (RFC 4568).
    let secure = m.is_secure();
    let srtp_choice = if secure {
        if caps.srtp == SrtpPolicy::Disabled {
            return Err(NegotiationError::SrtpDisabled);
        }
        Some(
            crypto_lines(m)
                .into_iter()
                .next()
                .ok_or(NegotiationError::NoUsableCrypto)?,
        )
    } else {
        if caps.srtp == SrtpPolicy::Mandatory {
            return Err(NegotiationError::SrtpRequired);
        }
        None
    };
    // Codec: the offerer's order, or ours.
    let offered: Vec<(u8, Codec)> = m
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .filter_map(|pt| m.rtpmap(pt).and_then(|r| codec_of(&r)).map(|c| (pt, c)))
        .filter(|(_, c)| caps.codecs.contains(c))
        .collect();
    let chosen = if caps.prefer_own_order {
        caps.codecs
            .iter()
            .find_map(|c| offered.iter().find(|(_, o)| o == c))
            .copied()
    } else {
        offered.first().copied()
    };
    let (pt, codec) = chosen.ok_or_else(|| NegotiationError::NoCommonCodec(m.formats.join(" ")))?;
    let te = if caps.telephone_event {
        telephone_event(m, codec)
    } else {
        None
    };
    let cn = caps
        .comfort_noise
        .then(|| comfort_noise(m, codec))
        .flatten();
    let ptime = pick_ptime(m.ptime(), codec, caps.ptime);
    let mux = caps.rtcp_mux && m.has("rtcp-mux");
    let (remote, remote_rtcp) = remote_addresses(offer, m, mux);
    let theirs = m.direction(offer);
    let ours = intersect(theirs.reversed(), wish);
    let srtp = srtp_choice.map(|(tag, suite, remote_key)| SrtpParams {
        suite,
        tag,
        local: keys.key(suite),
        remote: remote_key,
    });

    let mut lines = Vec::new();
    codec_lines(&mut lines, pt, codec);
    let mut formats = vec![pt.to_string()];
    if let Some((te_pt, clock)) = te {
        formats.push(te_pt.0.to_string());
        lines.push(line(
            'a',
            format!("rtpmap:{} telephone-event/{clock}", te_pt.0),
        ));
        lines.push(line('a', format!("fmtp:{} 0-16", te_pt.0)));
    }
    if let Some(cn) = cn {
        formats.push(cn.0.to_string());
        lines.push(line('a', format!("rtpmap:{} CN/8000", cn.0)));
    }
    lines.push(line('a', format!("ptime:{ptime}")));
    if mux {
        lines.push(line('a', "rtcp-mux"));
    }
    if let Some(s) = &srtp {
        lines.push(line(
            'a',
            format!(
                "crypto:{} {} inline:{}",
                s.tag,
                s.suite.name(),
                s.local.to_inline()
            ),
        ));
    }
    lines.push(line('a', ours.as_str()));
    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, om)| {
            if i == index {
                Media {
                    media: "audio".into(),
                    port: local.port,
                    protocol: om.protocol.clone(),
                    formats: formats.clone(),
                    lines: lines.clone(),
                }
            } else {
                // Rejected: port 0, same protocol, the first format (RFC 3264 §6).
                Media {
                    media: om.media.clone(),
                    port: 0,
                    protocol: om.protocol.clone(),
                    formats: om.formats.iter().take(1).cloned().collect(),
                    lines: Vec::new(),
                }
            }
        })
        .collect();
    let sdp = SessionDescription {
        lines: session_lines(local),
        media,
    };
    Ok((
        sdp,
        MediaParams {
            remote,
            remote_rtcp,
            rtcp_mux: mux,
            codec,
            pt: Pt(pt),
            ptime,
            telephone_event: te,
            comfort_noise: cn,
            direction: ours,
            srtp,
        },
    ))
}

/// The direction allowed by both the other side's answer and our wish.
fn intersect(a: Direction, b: Direction) -> Direction {
    match (a.sends() && b.sends(), a.receives() && b.receives()) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

impl LocalOffer {
    /// What the peer's answer to this offer agrees.
    pub fn accept(
        &self,
        answer: &SessionDescription,
        caps: &Capabilities,
    ) -> Result<MediaParams, NegotiationError> {
        let m = answer
            .media
            .first()
            .filter(|m| m.media == "audio")
            .ok_or(NegotiationError::BadAnswer("no audio stream"))?;
        if m.port == 0 {
            return Err(NegotiationError::NoAudio);
        }
        let ours = self
            .sdp
            .media
            .first()
            .ok_or(NegotiationError::BadAnswer("empty offer"))?;
        let (pt, codec) = m
            .formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .find_map(|pt| {
                let map = m.rtpmap(pt).or_else(|| ours.rtpmap(pt))?;
                let c = codec_of(&map)?;
                caps.codecs.contains(&c).then_some((pt, c))
            })
            .ok_or_else(|| NegotiationError::NoCommonCodec(m.formats.join(" ")))?;
        let te = if caps.telephone_event {
            telephone_event(m, codec)
        } else {
            None
        };
        let cn = caps
            .comfort_noise
            .then(|| comfort_noise(m, codec))
            .flatten();
        let ptime = pick_ptime(m.ptime(), codec, caps.ptime);
        let mux = caps.rtcp_mux && m.has("rtcp-mux");
        let (remote, remote_rtcp) = remote_addresses(answer, m, mux);
        let srtp = if m.is_secure() {
            let (tag, suite, remote_key) = crypto_lines(m)
                .into_iter()
                .next()
                .ok_or(NegotiationError::NoUsableCrypto)?;
            let (_, _, local) = self
                .keys
                .iter()
                .find(|(t, s, _)| *t == tag && *s == suite)
                .ok_or(NegotiationError::BadAnswer("crypto tag not offered"))?;
            Some(SrtpParams {
                suite,
                tag,
                local: local.clone(),
                remote: remote_key,
            })
        } else {
            if !self.keys.is_empty() {
                return Err(NegotiationError::SrtpRequired);
            }
            None
        };
        let direction = m.direction(answer).reversed();
        Ok(MediaParams {
            remote,
            remote_rtcp,
            rtcp_mux: mux,
            codec,
            pt: Pt(pt),
            ptime,
            telephone_event: te,
            comfort_noise: cn,
            direction,
            srtp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(port: u16) -> LocalSide {
        LocalSide {
            address: "10.0.0.1".parse().unwrap(),
            port,
            session_id: 42,
            version: 1,
        }
    }

    fn rand(buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = i as u8 ^ 0x5a;
        }
    }

    fn parse(s: &str) -> SessionDescription {
        SessionDescription::parse(s).unwrap()
    }

    // What SIPp's uac_pcap offers.
    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n";
    // What baresip offers (opus, G722, PCMU, PCMA, telephone-event).
    const BARESIP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20160 RTP/AVP 96 9 0 8 101\r\nb=AS:64\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtcp-mux\r\na=sendrecv\r\nm=video 30000 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\n";

    #[test]
    fn answers_sipp_and_baresip() {
        let caps = Capabilities::default();
        let (sdp, p) = answer(
            &parse(SIPP),
            &caps,
            &local(10000),
            Direction::SendRecv,
            &mut KeySource::new(&mut rand),
        )
        .unwrap();
        assert_eq!(
            (p.codec, p.pt, p.telephone_event, p.ptime),
            (Codec::Pcma, Pt(8), Some((Pt(101), 8000)), 20)
        );
        assert_eq!(p.remote, Some("127.0.0.1:6000".parse().unwrap()));
        assert_eq!(p.remote_rtcp, Some("127.0.0.1:6001".parse().unwrap()));
        assert_eq!(sdp.media[0].formats, vec!["8", "101"]);
        assert!(sdp.to_string().contains("m=audio 10000 RTP/AVP 8 101\r\n"));

        let (sdp, p) = answer(
            &parse(BARESIP),
            &caps,
            &local(10002),
            Direction::SendRecv,
            &mut KeySource::new(&mut rand),
        )
        .unwrap();
        assert_eq!((p.codec, p.pt, p.rtcp_mux), (Codec::Opus, Pt(96), true));
        // telephone-event/8000 is all it offers: taken even with opus.
        assert_eq!(p.telephone_event, Some((Pt(101), 8000)));
        assert_eq!(p.remote_rtcp, p.remote);
        assert_eq!(sdp.media.len(), 2);
        assert_eq!(
            (sdp.media[1].media.as_str(), sdp.media[1].port),
            ("video", 0)
        );
        // Our own order wins when configured: PCMU before opus.
        let mine = Capabilities {
            prefer_own_order: true,
            ..Capabilities::default()
        };
        let (_, p) = answer(
            &parse(BARESIP),
            &mine,
            &local(10002),
            Direction::SendRecv,
            &mut KeySource::new(&mut rand),
        )
        .unwrap();
        assert_eq!(p.codec, Codec::Pcmu);
    }

    #[test]
    fn no_common_codec_is_an_error() {
        let g729 = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n";
        let e = answer(
            &parse(g729),
            &Capabilities::default(),
            &local(1),
            Direction::SendRecv,
            &mut KeySource::new(&mut rand),
        )
        .unwrap_err();
        assert_eq!(e, NegotiationError::NoCommonCodec("18".into()));
        let video = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n";
        assert_eq!(
            answer(
                &parse(video),
                &Capabilities::default(),
                &local(1),
                Direction::SendRecv,
                &mut KeySource::new(&mut rand)
            )
            .unwrap_err(),
            NegotiationError::NoAudio
        );
    }

    #[test]
    fn hold_directions() {
        let held = SIPP.replace(
            "a=fmtp:101 0-11,16\r\n",
            "a=fmtp:101 0-11,16\r\na=sendonly\r\n",
        );
        let (sdp, p) = answer(
            &parse(&held),
            &Capabilities::default(),
            &local(1),
            Direction::SendRecv,
            &mut KeySource::new(&mut rand),
        )
        .unwrap();
        assert_eq!(p.direction, Direction::RecvOnly);
        assert!(sdp.to_string().contains("a=recvonly"));
        // Old-style hold: c=0.0.0.0.
        let zero = SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
        let (_, p) = answer(
            &parse(&zero),
            &Capabilities::default(),
            &local(1),
            Direction::SendRecv,
            &mut KeySource::new(&mut rand),
        )
        .unwrap();
        assert_eq!(p.remote, None);
        // We hold: sendonly towards a sendrecv offer.
        let (_, p) = answer(
            &parse(SIPP),
            &Capabilities::default(),
            &local(1),
            Direction::SendOnly,
            &mut KeySource::new(&mut rand),
        )
        .unwrap();
        assert_eq!(p.direction, Direction::SendOnly);
    }

    #[test]
    fn sdes_srtp_offer_and_answer_agree_on_keys() {
        let mandatory = Capabilities {
            srtp: SrtpPolicy::Mandatory,
            ..Capabilities::default()
        };
        let ours = offer(
            &mandatory,
            &local(10000),
            Direction::SendRecv,
            &mut KeySource::new(&mut rand),
        );
        let text = ours.sdp.to_string();
        assert!(
            text.contains("m=audio 10000 RTP/SAVP 0 8 9 111 101 126")
                && text.matches("a=crypto:").count() == 3,
            "{text}"
        );
        // The peer answers our offer as we would.
        let mut other = |b: &mut [u8]| b.fill(0x11);
        let (their_answer, theirs) = answer(
            &ours.sdp,
            &Capabilities::default(),
            &local(20000),
            Direction::SendRecv,
            &mut KeySource::new(&mut other),
        )
        .unwrap();
        let agreed = ours.accept(&their_answer, &mandatory).unwrap();
        let (a, b) = (agreed.srtp.unwrap(), theirs.srtp.unwrap());
        assert_eq!((a.suite, a.tag), (CryptoSuite::AeadAes128Gcm, 1));
        assert_eq!(
            (a.local.clone(), a.remote),
            (b.remote.clone(), b.local),
            "each side decrypts with the other's key"
        );
        assert_eq!(agreed.codec, Codec::Pcmu);
        // Plain offers are refused when SRTP is mandatory; SAVP offers when it is disabled.
        assert_eq!(
            answer(
                &parse(SIPP),
                &mandatory,
                &local(1),
                Direction::SendRecv,
                &mut KeySource::new(&mut rand)
            )
            .unwrap_err(),
            NegotiationError::SrtpRequired
        );
        let off = Capabilities {
            srtp: SrtpPolicy::Disabled,
            ..Capabilities::default()
        };
        assert_eq!(
            answer(
                &ours.sdp,
                &off,
                &local(1),
                Direction::SendRecv,
                &mut KeySource::new(&mut rand)
            )
            .unwrap_err(),
            NegotiationError::SrtpDisabled
        );
    }

    #[test]
    fn accepting_a_plain_answer() {
        let caps = Capabilities::default();
        let ours = offer(
            &caps,
            &local(10000),
            Direction::SendRecv,
            &mut KeySource::new(&mut rand),
        );
        assert!(
            ours.sdp
                .to_string()
                .contains("m=audio 10000 RTP/AVP 0 8 9 111 101 126")
        );
        let reply = "v=0\r\no=- 5 5 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 7000 RTP/AVP 9 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\na=recvonly\r\n";
        let p = ours.accept(&parse(reply), &caps).unwrap();
        assert_eq!(
            (p.codec, p.pt, p.ptime, p.direction),
            (Codec::G722, Pt(9), 30, Direction::SendOnly)
        );
        assert_eq!(p.remote, Some("192.0.2.9:7000".parse().unwrap()));
        let rejected = reply.replace("m=audio 7000", "m=audio 0");
        assert_eq!(
            ours.accept(&parse(&rejected), &caps).unwrap_err(),
            NegotiationError::NoAudio
        );
    }
}
