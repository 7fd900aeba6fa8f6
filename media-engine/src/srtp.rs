//! SRTP and SRTCP (RFC 3711) with SDES keys (RFC 4568): AES_CM_128_HMAC_SHA1_80 and _32
//! (§4.1.1, §4.2.1) and AEAD_AES_128_GCM (RFC 7714), the AES-CM key derivation (§4.3), a
//! 64-packet replay window (§3.3.2) and rollover counters that survive re-keying.

use aes::{
    Aes128,
    cipher::{InnerIvInit, KeyInit, KeyIvInit, StreamCipher},
};
use aes_gcm::{AeadInPlace, Aes128Gcm, Nonce, Tag};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::{Ssrc, rtp::RtpHeader};

type Ctr = ctr::Ctr128BE<Aes128>;
type HmacSha1 = Hmac<Sha1>;

/// The crypto suites of SDES (RFC 4568 §6.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// AES-128 counter mode, 80-bit HMAC-SHA1 tag.
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, 32-bit HMAC-SHA1 tag.
    AesCm128HmacSha1_32,
    /// AES-128 GCM, 16-byte tag.
    AeadAes128Gcm,
}

impl CryptoSuite {
    /// All suites, strongest first (the order we offer them).
    pub const ALL: [Self; 3] = [
        Self::AeadAes128Gcm,
        Self::AesCm128HmacSha1_80,
        Self::AesCm128HmacSha1_32,
    ];

    /// The SDP name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            Self::AeadAes128Gcm => "AEAD_AES_128_GCM",
        }
    }

    /// The suite named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Master salt length: 14 bytes for AES-CM, 12 for GCM.
    pub fn salt_len(self) -> usize {
        if self == Self::AeadAes128Gcm { 12 } else { 14 }
    }

    /// Authentication tag length of SRTP packets.
    pub fn tag_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 => 10,
            Self::AesCm128HmacSha1_32 => 4,
            Self::AeadAes128Gcm => 16,
        }
    }

    /// SRTCP tag length (the 32-bit suite still uses 80 bits for RTCP, RFC 4568 §6.2.2).
    fn rtcp_tag_len(self) -> usize {
        match self {
            Self::AeadAes128Gcm => 16,
            _ => 10,
        }
    }
}

/// A master key and salt.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    /// Master key (128 bits).
    pub key: [u8; 16],
    /// Master salt (112 bits, or 96 for GCM in the first 12 bytes).
    pub salt: [u8; 14],
    /// Salt length in use.
    pub salt_len: usize,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyMaterial(..)")
    }
}

impl KeyMaterial {
    /// Key material for `suite` from `bytes` (key then salt).
    pub fn from_bytes(suite: CryptoSuite, bytes: &[u8]) -> Option<Self> {
        let salt_len = suite.salt_len();
        if bytes.len() != 16 + salt_len {
            return None;
        }
        let mut key = [0; 16];
        key.copy_from_slice(&bytes[..16]);
        let mut salt = [0; 14];
        salt[..salt_len].copy_from_slice(&bytes[16..]);
        Some(Self {
            key,
            salt,
            salt_len,
        })
    }

    /// From the base64 of an SDES `inline:` parameter (key||salt).
    pub fn from_inline(suite: CryptoSuite, b64: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        Self::from_bytes(suite, &bytes)
    }

    /// The base64 for an SDES `inline:` parameter.
    pub fn to_inline(&self) -> String {
        let mut bytes = self.key.to_vec();
        bytes.extend_from_slice(&self.salt[..self.salt_len]);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

/// Why a packet was not protected or unprotected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// Too short to be an SRTP/SRTCP packet of this suite.
    #[error("SRTP packet too short")]
    Truncated,
    /// The RTP header is malformed.
    #[error("malformed RTP header")]
    Header,
    /// The authentication tag does not verify.
    #[error("SRTP authentication failed")]
    Authentication,
    /// The packet was seen before or is older than the replay window.
    #[error("SRTP replay")]
    Replay,
}

/// AES-CM PRF key derivation (RFC 3711 §4.3.1, key derivation rate 0).
fn derive(master: &KeyMaterial, label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(&master.salt);
    iv[7] ^= label;
    out.fill(0);
    let mut c = Ctr::new(&master.key.into(), &iv.into());
    c.apply_keystream(out);
}

/// Session keys of one direction.
// Inline on purpose: a context holds exactly one variant and the hot path must not chase a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Keys {
    AesCm {
        rtp_cipher: Aes128,
        rtp_auth: HmacSha1,
        rtp_salt: [u8; 14],
        rtcp_cipher: Aes128,
        rtcp_auth: HmacSha1,
        rtcp_salt: [u8; 14],
    },
    Gcm {
        rtp: Aes128Gcm,
        rtp_salt: [u8; 12],
        rtcp: Aes128Gcm,
        rtcp_salt: [u8; 12],
    },
}

impl Keys {
    fn new(suite: CryptoSuite, m: &KeyMaterial) -> Self {
        let key = |label| {
            let mut k = [0u8; 16];
            derive(m, label, &mut k);
            k
        };
        match suite {
            CryptoSuite::AeadAes128Gcm => {
                let salt = |label| {
                    let mut s = [0u8; 12];
                    derive(m, label, &mut s);
                    s
                };
                Self::Gcm {
                    rtp: Aes128Gcm::new(&key(0).into()),
                    rtp_salt: salt(2),
                    rtcp: Aes128Gcm::new(&key(3).into()),
                    rtcp_salt: salt(5),
                }
            }
            _ => {
                let auth = |label| {
                    let mut a = [0u8; 20];
                    derive(m, label, &mut a);
                    <HmacSha1 as Mac>::new_from_slice(&a).expect("HMAC takes any key length")
                };
                let salt = |label| {
                    let mut s = [0u8; 14];
                    derive(m, label, &mut s);
                    s
                };
                Self::AesCm {
                    rtp_cipher: Aes128::new(&key(0).into()),
                    rtp_auth: auth(1),
                    rtp_salt: salt(2),
                    rtcp_cipher: Aes128::new(&key(3).into()),
                    rtcp_auth: auth(4),
                    rtcp_salt: salt(5),
                }
            }
        }
    }
}

/// AES-CM IV (RFC 3711 §4.1.1): salt ⊕ (SSRC·2^64) ⊕ (index·2^16).
fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (i, b) in ssrc.to_be_bytes().iter().enumerate() {
        iv[4 + i] ^= b;
    }
    for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
        iv[8 + i] ^= b;
    }
    iv
}

fn cm_crypt(cipher: &Aes128, iv: &[u8; 16], data: &mut [u8]) {
    let core =
        ctr::CtrCore::<Aes128, ctr::flavors::Ctr128BE>::inner_iv_init(cipher.clone(), iv.into());
    let mut c = Ctr::from_core(core);
    c.apply_keystream(data);
}

/// GCM IV for SRTP (RFC 7714 §8.1): (00 00 ‖ SSRC ‖ ROC ‖ SEQ) ⊕ salt.
fn gcm_rtp_iv(salt: &[u8; 12], ssrc: u32, roc: u32, seq: u16) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..10].copy_from_slice(&roc.to_be_bytes());
    iv[10..12].copy_from_slice(&seq.to_be_bytes());
    for (a, b) in iv.iter_mut().zip(salt) {
        *a ^= b;
    }
    iv
}

/// GCM IV for SRTCP (RFC 7714 §9.1): (00 00 ‖ SSRC ‖ 00 00 ‖ 0 ‖ index) ⊕ salt.
fn gcm_rtcp_iv(salt: &[u8; 12], ssrc: u32, index: u32) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[8..12].copy_from_slice(&(index & 0x7FFF_FFFF).to_be_bytes());
    for (a, b) in iv.iter_mut().zip(salt) {
        *a ^= b;
    }
    iv
}

/// Per-source state: rollover counter, highest sequence number, replay window.
#[derive(Debug, Clone, Copy, Default)]
struct Stream {
    roc: u32,
    s_l: u16,
    started: bool,
    /// Highest authenticated index and a bitmap of the 64 below it.
    top: u64,
    window: u64,
}

impl Stream {
    /// RFC 3711 Appendix A: the index a received sequence number most likely has.
    fn estimate(&self, seq: u16) -> (u32, u64) {
        if !self.started {
            return (self.roc, (u64::from(self.roc) << 16) | u64::from(seq));
        }
        let v = if self.s_l < 32768 {
            if u32::from(seq).wrapping_sub(u32::from(self.s_l)) > 32768 && seq > self.s_l {
                self.roc.wrapping_sub(1)
            } else {
                self.roc
            }
        } else if u32::from(self.s_l) - 32768 > u32::from(seq) {
            self.roc.wrapping_add(1)
        } else {
            self.roc
        };
        (v, (u64::from(v) << 16) | u64::from(seq))
    }

    fn check_replay(&self, index: u64) -> Result<(), SrtpError> {
        if !self.started || index > self.top {
            return Ok(());
        }
        let behind = self.top - index;
        if behind >= 64 || self.window & (1 << behind) != 0 {
            Err(SrtpError::Replay)
        } else {
            Ok(())
        }
    }

    fn accept(&mut self, v: u32, seq: u16, index: u64) {
        if !self.started {
            self.started = true;
            self.roc = v;
            self.s_l = seq;
            self.top = index;
            self.window = 1;
            return;
        }
        if index > self.top {
            let shift = index - self.top;
            self.window = if shift >= 64 {
                1
            } else {
                (self.window << shift) | 1
            };
            self.top = index;
            self.roc = v;
            self.s_l = seq;
        } else {
            self.window |= 1 << (self.top - index);
        }
    }
}

/// One direction of an SRTP session: protect (our sending side) or unprotect (theirs).
#[derive(Clone)]
pub struct SrtpContext {
    suite: CryptoSuite,
    keys: Keys,
    streams: Vec<(Ssrc, Stream)>,
    /// Sender's SRTCP index.
    srtcp_index: u32,
    /// Receiver's SRTCP replay window: highest index and bitmap.
    srtcp_top: Option<(u32, u64)>,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("suite", &self.suite)
            .field("streams", &self.streams.len())
            .finish()
    }
}

impl SrtpContext {
    /// A context for `suite` keyed with `master`.
    pub fn new(suite: CryptoSuite, master: &KeyMaterial) -> Self {
        Self {
            suite,
            keys: Keys::new(suite, master),
            streams: Vec::new(),
            srtcp_index: 0,
            srtcp_top: None,
        }
    }

    /// The suite.
    pub fn suite(&self) -> CryptoSuite {
        self.suite
    }

    /// Changes the keys (a re-INVITE with new `a=crypto`) while keeping every source's rollover
    /// counter and sequence state, so that a continuing stream stays decryptable.
    pub fn rekey(&mut self, suite: CryptoSuite, master: &KeyMaterial) {
        self.suite = suite;
        self.keys = Keys::new(suite, master);
        for (_, s) in &mut self.streams {
            // New keys: the old replay history says nothing about packets under them.
            s.window = 0;
        }
        self.srtcp_top = None;
    }

    /// The rollover counter of `ssrc` (0 if unknown), for session snapshots.
    pub fn roc(&self, ssrc: Ssrc) -> u32 {
        self.streams
            .iter()
            .find(|(s, _)| *s == ssrc)
            .map_or(0, |(_, st)| st.roc)
    }

    /// Sets the rollover counter of `ssrc` (continuing a stream another process started).
    pub fn set_roc(&mut self, ssrc: Ssrc, roc: u32) {
        self.stream(ssrc).roc = roc;
    }

    fn stream(&mut self, ssrc: Ssrc) -> &mut Stream {
        if let Some(i) = self.streams.iter().position(|(s, _)| *s == ssrc) {
            return &mut self.streams[i].1;
        }
        if self.streams.len() >= 16 {
            self.streams.remove(0);
        }
        self.streams.push((ssrc, Stream::default()));
        &mut self.streams.last_mut().expect("just pushed").1
    }

    /// Encrypts and authenticates an RTP packet in place (the tag is appended).
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let h = RtpHeader::parse(packet).map_err(|_| SrtpError::Header)?;
        let seq = h.sequence;
        let st = self.stream(h.ssrc);
        // The sender's ROC counts wraps of its own sequence numbers.
        if !st.started {
            st.started = true;
            st.s_l = seq;
        } else if seq < st.s_l && st.s_l - seq > 32768 {
            st.roc = st.roc.wrapping_add(1);
            st.s_l = seq;
        } else if seq > st.s_l {
            st.s_l = seq;
        }
        let roc = st.roc;
        let index = (u64::from(roc) << 16) | u64::from(seq);
        let start = h.payload_start;
        match &self.keys {
            Keys::AesCm {
                rtp_cipher,
                rtp_auth,
                rtp_salt,
                ..
            } => {
                cm_crypt(
                    rtp_cipher,
                    &cm_iv(rtp_salt, h.ssrc.0, index),
                    &mut packet[start..],
                );
                let mut mac = rtp_auth.clone();
                mac.update(packet);
                mac.update(&roc.to_be_bytes());
                let tag = mac.finalize().into_bytes();
                packet.extend_from_slice(&tag[..self.suite.tag_len()]);
            }
            Keys::Gcm { rtp, rtp_salt, .. } => {
                let iv = gcm_rtp_iv(rtp_salt, h.ssrc.0, roc, seq);
                let (aad, body) = packet.split_at_mut(start);
                let tag = rtp
                    .encrypt_in_place_detached(Nonce::from_slice(&iv), aad, body)
                    .map_err(|_| SrtpError::Truncated)?;
                packet.extend_from_slice(&tag);
            }
        }
        Ok(())
    }

    /// Verifies and decrypts an SRTP packet in place; returns the RTP packet length (the tag
    /// is cut off).
    pub fn unprotect_rtp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.suite.tag_len();
        if packet.len() < crate::rtp::HEADER_LEN + tag_len {
            return Err(SrtpError::Truncated);
        }
        let end = packet.len() - tag_len;
        let h = RtpHeader::parse(&packet[..end]).map_err(|_| SrtpError::Header)?;
        let seq = h.sequence;
        let st = *self.stream(h.ssrc);
        let (v, index) = st.estimate(seq);
        st.check_replay(index)?;
        let start = h.payload_start;
        match &self.keys {
            Keys::AesCm {
                rtp_cipher,
                rtp_auth,
                rtp_salt,
                ..
            } => {
                let mut mac = rtp_auth.clone();
                mac.update(&packet[..end]);
                mac.update(&v.to_be_bytes());
                let tag = mac.finalize().into_bytes();
                if !constant_time_eq(&tag[..tag_len], &packet[end..]) {
                    return Err(SrtpError::Authentication);
                }
                cm_crypt(
                    rtp_cipher,
                    &cm_iv(rtp_salt, h.ssrc.0, index),
                    &mut packet[start..end],
                );
            }
            Keys::Gcm { rtp, rtp_salt, .. } => {
                let iv = gcm_rtp_iv(rtp_salt, h.ssrc.0, v, seq);
                let (head, rest) = packet.split_at_mut(start);
                let (body, tag) = rest.split_at_mut(end - start);
                rtp.decrypt_in_place_detached(
                    Nonce::from_slice(&iv),
                    head,
                    body,
                    Tag::from_slice(tag),
                )
                .map_err(|_| SrtpError::Authentication)?;
            }
        }
        self.stream(h.ssrc).accept(v, seq, index);
        Ok(end)
    }

    /// Encrypts and authenticates an RTCP compound packet in place (E flag, index, tag).
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        if packet.len() < 8 {
            return Err(SrtpError::Truncated);
        }
        let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        self.srtcp_index = (self.srtcp_index + 1) & 0x7FFF_FFFF;
        let index = self.srtcp_index;
        let e_index = (0x8000_0000 | index).to_be_bytes();
        match &self.keys {
            Keys::AesCm {
                rtcp_cipher,
                rtcp_auth,
                rtcp_salt,
                ..
            } => {
                cm_crypt(
                    rtcp_cipher,
                    &cm_iv(rtcp_salt, ssrc, u64::from(index)),
                    &mut packet[8..],
                );
                packet.extend_from_slice(&e_index);
                let mut mac = rtcp_auth.clone();
                mac.update(packet);
                let tag = mac.finalize().into_bytes();
                packet.extend_from_slice(&tag[..self.suite.rtcp_tag_len()]);
            }
            Keys::Gcm {
                rtcp, rtcp_salt, ..
            } => {
                let iv = gcm_rtcp_iv(rtcp_salt, ssrc, index);
                let mut aad = [0u8; 12];
                aad[..8].copy_from_slice(&packet[..8]);
                aad[8..].copy_from_slice(&e_index);
                let tag = rtcp
                    .encrypt_in_place_detached(Nonce::from_slice(&iv), &aad, &mut packet[8..])
                    .map_err(|_| SrtpError::Truncated)?;
                packet.extend_from_slice(&tag);
                packet.extend_from_slice(&e_index);
            }
        }
        Ok(())
    }

    /// Verifies and decrypts an SRTCP packet in place; returns the RTCP length.
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.suite.rtcp_tag_len();
        if packet.len() < 8 + 4 + tag_len {
            return Err(SrtpError::Truncated);
        }
        let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        let (e_at, end) = match self.suite {
            // GCM: header ‖ ciphertext ‖ tag ‖ E‖index
            CryptoSuite::AeadAes128Gcm => (packet.len() - 4, packet.len() - 4 - tag_len),
            // AES-CM: header ‖ ciphertext ‖ E‖index ‖ tag
            _ => (packet.len() - tag_len - 4, packet.len() - tag_len - 4),
        };
        let e_index = u32::from_be_bytes([
            packet[e_at],
            packet[e_at + 1],
            packet[e_at + 2],
            packet[e_at + 3],
        ]);
        let encrypted = e_index & 0x8000_0000 != 0;
        let index = e_index & 0x7FFF_FFFF;
        if let Some((top, window)) = self.srtcp_top
            && index <= top
            && (top - index >= 64 || window & (1 << (top - index)) != 0)
        {
            return Err(SrtpError::Replay);
        }
        match &self.keys {
            Keys::AesCm {
                rtcp_cipher,
                rtcp_auth,
                rtcp_salt,
                ..
            } => {
                let mut mac = rtcp_auth.clone();
                mac.update(&packet[..e_at + 4]);
                let tag = mac.finalize().into_bytes();
                if !constant_time_eq(&tag[..tag_len], &packet[e_at + 4..]) {
                    return Err(SrtpError::Authentication);
                }
                if encrypted {
                    cm_crypt(
                        rtcp_cipher,
                        &cm_iv(rtcp_salt, ssrc, u64::from(index)),
                        &mut packet[8..end],
                    );
                }
            }
            Keys::Gcm {
                rtcp, rtcp_salt, ..
            } => {
                let iv = gcm_rtcp_iv(rtcp_salt, ssrc, index);
                let mut aad = [0u8; 12];
                aad[..8].copy_from_slice(&packet[..8]);
                aad[8..].copy_from_slice(&e_index.to_be_bytes());
                let (head, rest) = packet.split_at_mut(8);
                let (body, tail) = rest.split_at_mut(end - 8);
                rtcp.decrypt_in_place_detached(
                    Nonce::from_slice(&iv),
                    &aad,
                    body,
                    Tag::from_slice(&tail[..tag_len]),
                )
                .map_err(|_| SrtpError::Authentication)?;
                let _ = head;
            }
        }
        self.srtcp_top = Some(match self.srtcp_top {
            None => (index, 1),
            Some((top, window)) if index > top => {
                let shift = index - top;
                (
                    index,
                    if shift >= 64 {
                        1
                    } else {
                        (window << shift) | 1
                    },
                )
            }
            Some((top, window)) => (top, window | 1 << (top - index)),
        });
        Ok(end)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    /// A vector from `tests/data/srtp-vectors.txt` (RFC 3711 App. B, RFC 7714 §16–17).
    fn v(name: &str) -> Vec<u8> {
        let text = include_str!("../tests/data/srtp-vectors.txt");
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim_start().strip_prefix('='))
            .unwrap_or_else(|| panic!("no vector {name}"));
        h(line.trim())
    }

    // RFC 3711 Appendix B.2: AES-CM keystream for session key 2B7E...3C, salt F0F1...FD.
    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let key: [u8; 16] = v("b2.session_key").try_into().unwrap();
        let salt: [u8; 14] = v("b2.session_salt").try_into().unwrap();
        let mut ks = vec![0u8; 48];
        cm_crypt(&Aes128::new(&key.into()), &cm_iv(&salt, 0, 0), &mut ks);
        assert_eq!(ks, v("b2.keystream"));
    }

    // RFC 3711 Appendix B.3: key derivation.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master = KeyMaterial {
            key: v("b3.master_key").try_into().unwrap(),
            salt: v("b3.master_salt").try_into().unwrap(),
            salt_len: 14,
        };
        let mut k = [0u8; 16];
        derive(&master, 0, &mut k);
        assert_eq!(k.to_vec(), v("b3.cipher_key"));
        let mut s = [0u8; 14];
        derive(&master, 2, &mut s);
        assert_eq!(s.to_vec(), v("b3.cipher_salt"));
        let mut a = [0u8; 20];
        derive(&master, 1, &mut a);
        assert_eq!(a.to_vec(), v("b3.auth_key"));
    }

    fn gcm_session() -> Keys {
        // RFC 7714 §16: session key 00..0f, session salt "Quid pro quo".
        let key: [u8; 16] = v("gcm.session_key").try_into().unwrap();
        let salt: [u8; 12] = v("gcm.session_salt").try_into().unwrap();
        Keys::Gcm {
            rtp: Aes128Gcm::new(&key.into()),
            rtp_salt: salt,
            rtcp: Aes128Gcm::new(&key.into()),
            rtcp_salt: salt,
        }
    }

    // RFC 7714 §16.1.1 and §16.1.2.
    #[test]
    fn rfc7714_srtp_gcm_vectors() {
        assert_eq!(
            gcm_rtp_iv(
                &v("gcm.session_salt").try_into().unwrap(),
                0x5501a0b2,
                0,
                0xf17b
            )
            .to_vec(),
            v("gcm.rtp_iv")
        );
        let mut ctx = SrtpContext {
            suite: CryptoSuite::AeadAes128Gcm,
            keys: gcm_session(),
            streams: Vec::new(),
            srtcp_index: 0,
            srtcp_top: None,
        };
        let mut p = v("gcm.rtp");
        ctx.protect_rtp(&mut p).unwrap();
        assert_eq!(p, v("gcm.srtp"));
        let mut rx = SrtpContext {
            suite: CryptoSuite::AeadAes128Gcm,
            keys: gcm_session(),
            streams: Vec::new(),
            srtcp_index: 0,
            srtcp_top: None,
        };
        let n = rx.unprotect_rtp(&mut p).unwrap();
        assert_eq!(p[..n].to_vec(), v("gcm.rtp"));
        let mut again = v("gcm.srtp");
        assert_eq!(rx.unprotect_rtp(&mut again), Err(SrtpError::Replay));
        let mut tampered = v("gcm.srtp");
        tampered[20] ^= 1;
        let mut rx2 = SrtpContext {
            suite: CryptoSuite::AeadAes128Gcm,
            keys: gcm_session(),
            streams: Vec::new(),
            srtcp_index: 0,
            srtcp_top: None,
        };
        assert_eq!(
            rx2.unprotect_rtp(&mut tampered),
            Err(SrtpError::Authentication)
        );
    }

    // RFC 7714 §17.1: SRTCP with index 0x5d4.
    #[test]
    fn rfc7714_srtcp_gcm_vector() {
        let rtcp = v("gcm.rtcp");
        let protected = v("gcm.srtcp");
        let mut tx = SrtpContext {
            suite: CryptoSuite::AeadAes128Gcm,
            keys: gcm_session(),
            streams: Vec::new(),
            srtcp_index: 0x5d3,
            srtcp_top: None,
        };
        let mut p = rtcp.clone();
        tx.protect_rtcp(&mut p).unwrap();
        assert_eq!(p, protected);
        let mut rx = SrtpContext {
            suite: CryptoSuite::AeadAes128Gcm,
            keys: gcm_session(),
            streams: Vec::new(),
            srtcp_index: 0,
            srtcp_top: None,
        };
        let n = rx.unprotect_rtcp(&mut p).unwrap();
        assert_eq!(p[..n].to_vec(), rtcp);
    }

    fn packet(seq: u16) -> Vec<u8> {
        let mut p = vec![0u8; 172];
        crate::rtp::write_header(
            &mut p,
            false,
            crate::Pt(0),
            seq,
            u32::from(seq) * 160,
            Ssrc(0x1234),
        );
        for (i, b) in p[12..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    #[test]
    fn aes_cm_round_trip_wrap_replay_and_rekey() {
        for suite in [
            CryptoSuite::AesCm128HmacSha1_80,
            CryptoSuite::AesCm128HmacSha1_32,
            CryptoSuite::AeadAes128Gcm,
        ] {
            let m = KeyMaterial::from_bytes(suite, &vec![7u8; 16 + suite.salt_len()]).unwrap();
            let (mut tx, mut rx) = (SrtpContext::new(suite, &m), SrtpContext::new(suite, &m));
            // Across a sequence wrap: the ROC must follow on both sides.
            for seq in (65530..=65535).chain(0..10) {
                let clear = packet(seq);
                let mut p = clear.clone();
                tx.protect_rtp(&mut p).unwrap();
                assert_eq!(p.len(), 172 + suite.tag_len());
                assert_ne!(p[12..172], clear[12..]);
                let n = rx.unprotect_rtp(&mut p).unwrap();
                assert_eq!(&p[..n], &clear[..], "{suite:?} seq {seq}");
            }
            assert_eq!((tx.roc(Ssrc(0x1234)), rx.roc(Ssrc(0x1234))), (1, 1));
            // Re-keyed (a re-INVITE with new keys): the ROC carries on.
            let m2 = KeyMaterial::from_bytes(suite, &vec![9u8; 16 + suite.salt_len()]).unwrap();
            tx.rekey(suite, &m2);
            rx.rekey(suite, &m2);
            let mut p = packet(10);
            tx.protect_rtp(&mut p).unwrap();
            assert!(rx.unprotect_rtp(&mut p).is_ok());
            assert_eq!(rx.roc(Ssrc(0x1234)), 1);
            // RTCP both ways.
            let mut c = vec![0x80, 201, 0, 1, 0, 0, 0x12, 0x34];
            tx.protect_rtcp(&mut c).unwrap();
            assert_eq!(rx.unprotect_rtcp(&mut c).unwrap(), 8);
        }
    }

    #[test]
    fn inline_keys() {
        let suite = CryptoSuite::AesCm128HmacSha1_80;
        let k =
            KeyMaterial::from_inline(suite, "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR").unwrap();
        assert_eq!(k.to_inline(), "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
        assert!(KeyMaterial::from_inline(suite, "short").is_none());
        assert!(
            KeyMaterial::from_inline(
                CryptoSuite::AeadAes128Gcm,
                "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
            )
            .is_none()
        );
    }
}
