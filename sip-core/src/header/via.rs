//! The Via header (RFC 3261 §20.42, §18.2.2; RFC 3581 `rport`).

use bytes::{BufMut, Bytes, BytesMut};

use super::Params;
use crate::{grammar, uri::Host};

/// The branch magic cookie of RFC 3261 transaction ids (§8.1.1.7).
pub const MAGIC_COOKIE: &[u8] = b"z9hG4bK";

/// A transport named in a Via or a `transport=` parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
    /// Anything else, as written.
    Other(Bytes),
}

impl Transport {
    /// Parses a transport token, case-insensitively.
    pub fn from_bytes(b: &[u8]) -> Self {
        match b.to_ascii_uppercase().as_slice() {
            b"UDP" => Self::Udp,
            b"TCP" => Self::Tcp,
            b"TLS" => Self::Tls,
            b"SCTP" => Self::Sctp,
            b"WS" => Self::Ws,
            b"WSS" => Self::Wss,
            _ => Self::Other(Bytes::copy_from_slice(b)),
        }
    }

    /// The token as sent in a Via.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Udp => b"UDP",
            Self::Tcp => b"TCP",
            Self::Tls => b"TLS",
            Self::Sctp => b"SCTP",
            Self::Ws => b"WS",
            Self::Wss => b"WSS",
            Self::Other(b) => b,
        }
    }

    /// Whether the transport is reliable (no retransmissions, RFC 3261 §17).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Self::Udp)
    }

    /// The default port (5060, or 5061 for TLS/WSS ... as RFC 3261 §19.1.2 and RFC 7118 say).
    pub fn default_port(&self) -> u16 {
        match self {
            Self::Tls => 5061,
            Self::Ws => 80,
            Self::Wss => 443,
            _ => 5060,
        }
    }
}

/// One Via value: `SIP/2.0/UDP host:port;branch=...;received=...;rport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport.
    pub transport: Transport,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters.
    pub params: Params,
}

impl Via {
    /// Parses one Via value (LWS is allowed around `/`, RFC 4475 §3.1.1.1).
    pub fn parse(value: &Bytes) -> Result<Self, &'static str> {
        let s = &value[..];
        let mut i = 0;
        let field = |i: &mut usize| -> Result<(usize, usize), &'static str> {
            while *i < s.len() && grammar::is_ws(s[*i]) {
                *i += 1;
            }
            let start = *i;
            while *i < s.len() && grammar::is_token(s[*i]) {
                *i += 1;
            }
            if *i == start {
                return Err("malformed sent-protocol");
            }
            let range = (start, *i);
            while *i < s.len() && grammar::is_ws(s[*i]) {
                *i += 1;
            }
            Ok(range)
        };
        let (a, b) = field(&mut i)?;
        if !s[a..b].eq_ignore_ascii_case(b"SIP") || s.get(i) != Some(&b'/') {
            return Err("Via protocol is not SIP");
        }
        i += 1;
        let (a, b) = field(&mut i)?;
        if &s[a..b] != b"2.0" {
            return Err("Via version is not 2.0");
        }
        if s.get(i) != Some(&b'/') {
            return Err("malformed sent-protocol");
        }
        i += 1;
        let (a, b) = field(&mut i)?;
        let transport = Transport::from_bytes(&s[a..b]);
        // sent-by = host [ ":" port ]
        let host_start = i;
        if s.get(i) == Some(&b'[') {
            i += s[i..]
                .iter()
                .position(|&b| b == b']')
                .ok_or("unterminated IPv6 reference")?
                + 1;
        } else {
            while i < s.len() && !matches!(s[i], b':' | b';' | b' ' | b'\t') {
                i += 1;
            }
        }
        let host = Host::parse(&value.slice(host_start..i))?;
        while i < s.len() && grammar::is_ws(s[i]) {
            i += 1;
        }
        let mut port = None;
        if s.get(i) == Some(&b':') {
            i += 1;
            while i < s.len() && grammar::is_ws(s[i]) {
                i += 1;
            }
            let ps = i;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            port = Some(grammar::parse_decimal(&s[ps..i], 65535).ok_or("bad Via port")? as u16);
            while i < s.len() && grammar::is_ws(s[i]) {
                i += 1;
            }
        }
        let params = Params::parse(value, i, s.len(), true)?;
        if params.get("branch") == Some(None) {
            return Err("Via branch without a value");
        }
        Ok(Self {
            transport,
            host,
            port,
            params,
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&Bytes> {
        self.params.value("branch")
    }

    /// Whether the branch carries the RFC 3261 magic cookie (otherwise the sender is an
    /// RFC 2543 element and transactions are matched the old way, §17.2.3).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len())
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&Bytes> {
        self.params.value("received")
    }

    /// The `rport` parameter: `Some(None)` when requested without a value (RFC 3581 §3).
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params.get("rport").map(|v| {
            v.and_then(|p| grammar::parse_decimal(p, 65535))
                .map(|p| p as u16)
        })
    }

    /// The sent-by port, or the transport's default.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or_else(|| self.transport.default_port())
    }

    /// Prints the value.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(96);
        b.put_slice(b"SIP/2.0/");
        b.put_slice(self.transport.as_bytes());
        b.put_u8(b' ');
        self.host.write_to(&mut b);
        if let Some(p) = self.port {
            b.put_slice(format!(":{p}").as_bytes());
        }
        self.params.write_to(&mut b);
        b.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tortuous_via() {
        // RFC 4475 §3.1.1.1 (after unfolding).
        let v = Via::parse(&Bytes::from_static(
            b"SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw",
        ))
        .unwrap();
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::V4("192.0.2.2".parse().unwrap()));
        assert_eq!(v.branch().unwrap().as_ref(), b"390skdjuw");
        assert!(!v.has_rfc3261_branch());
        let v = Via::parse(&Bytes::from_static(
            b"SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8",
        ))
        .unwrap();
        assert_eq!(v.transport, Transport::Tcp);
        assert!(v.has_rfc3261_branch());
    }

    #[test]
    fn rport_and_received() {
        let v = Via::parse(&Bytes::from_static(
            b"SIP/2.0/UDP [2001:db8::9]:5070;rport;branch=z9hG4bKx",
        ))
        .unwrap();
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.port, Some(5070));
        let v = Via::parse(&Bytes::from_static(
            b"SIP/2.0/TLS a.example;received=192.0.2.1;rport=4000;branch=z9hG4bKx",
        ))
        .unwrap();
        assert_eq!(v.rport(), Some(Some(4000)));
        assert_eq!(v.port_or_default(), 5061);
        assert_eq!(
            v.to_bytes().as_ref(),
            b"SIP/2.0/TLS a.example;received=192.0.2.1;rport=4000;branch=z9hG4bKx"
        );
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"SIP/2.0/UDP 192.0.2.15;;,;,,"[..],
            b"SIP/7.0/UDP c.example.com",
            b"SIP/2.0 host",
            b"SIP/2.0/UDP",
            b"SIP/2.0/UDP h:99999",
        ] {
            assert!(
                Via::parse(&Bytes::copy_from_slice(bad)).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
