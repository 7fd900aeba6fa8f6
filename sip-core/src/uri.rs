//! SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966), with parameters, headers and IPv6
//! references. A URI keeps the exact bytes it was parsed from (or printed to), and its parts
//! as zero-copy slices of them.

use std::{
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
};

use bytes::{BufMut, Bytes, BytesMut};

use crate::header::Params;

/// The host part of a SIP URI or Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, as written.
    Domain(Bytes),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written in brackets).
    V6(Ipv6Addr),
}

impl Host {
    /// Parses a host: `[v6]`, dotted IPv4, or a hostname.
    pub fn parse(src: &Bytes) -> Result<Self, &'static str> {
        let s = &src[..];
        if s.first() == Some(&b'[') {
            if s.last() != Some(&b']') {
                return Err("unterminated IPv6 reference");
            }
            let text = std::str::from_utf8(&s[1..s.len() - 1]).map_err(|_| "bad IPv6 reference")?;
            return text.parse().map(Self::V6).map_err(|_| "bad IPv6 reference");
        }
        if s.is_empty() {
            return Err("empty host");
        }
        if s.iter().all(|&b| b.is_ascii_digit() || b == b'.')
            && s.iter().filter(|&&b| b == b'.').count() == 3
        {
            let text = std::str::from_utf8(s).map_err(|_| "bad IPv4 address")?;
            return text.parse().map(Self::V4).map_err(|_| "bad IPv4 address");
        }
        // hostname = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 §25.1); be liberal about
        // underscores, which real deployments use.
        if !s
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err("bad hostname");
        }
        Ok(Self::Domain(src.clone()))
    }

    /// Writes the host as it appears in a URI or Via.
    pub fn write_to(&self, out: &mut impl BufMut) {
        match self {
            Self::Domain(d) => out.put_slice(d),
            Self::V4(a) => out.put_slice(a.to_string().as_bytes()),
            Self::V6(a) => {
                out.put_u8(b'[');
                out.put_slice(a.to_string().as_bytes());
                out.put_u8(b']');
            }
        }
    }

    /// The IP address, if the host is one.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        match self {
            Self::V4(a) => Some((*a).into()),
            Self::V6(a) => Some((*a).into()),
            Self::Domain(_) => None,
        }
    }

    /// Case-insensitive comparison for domains (RFC 3261 §19.1.4).
    pub fn matches(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Domain(a), Self::Domain(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        }
    }
}

impl From<std::net::IpAddr> for Host {
    fn from(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(a) => Self::V4(a),
            std::net::IpAddr::V6(a) => Self::V6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut b = BytesMut::new();
        self.write_to(&mut b);
        f.write_str(&String::from_utf8_lossy(&b))
    }
}

/// A `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    raw: Bytes,
    secure: bool,
    user: Option<Bytes>,
    password: Option<Bytes>,
    host: Host,
    port: Option<u16>,
    params: Params,
    headers: Option<Bytes>,
}

/// A `tel:` URI (RFC 3966).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri {
    raw: Bytes,
    number: Bytes,
    params: Params,
}

/// Any URI mediaplane can meet in a Request-URI or a name-addr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// `sip:` / `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Any other absolute URI (`http:`, `urn:`...), kept as bytes (RFC 3261 §19.1: a UAS
    /// answers an unknown scheme with 416).
    Other(Bytes),
}

impl Uri {
    /// Parses a URI. Whitespace anywhere is an error.
    pub fn parse(src: Bytes) -> Result<Self, &'static str> {
        if src.iter().any(|&b| b <= b' ' || b == 0x7f) {
            return Err("whitespace or control character in URI");
        }
        let colon = src
            .iter()
            .position(|&b| b == b':')
            .ok_or("URI without a scheme")?;
        let scheme = &src[..colon];
        if scheme.is_empty() || !scheme[0].is_ascii_alphabetic() {
            return Err("bad URI scheme");
        }
        if scheme.eq_ignore_ascii_case(b"sip") || scheme.eq_ignore_ascii_case(b"sips") {
            SipUri::parse_after_scheme(src.clone(), colon + 1, scheme.len() == 4).map(Self::Sip)
        } else if scheme.eq_ignore_ascii_case(b"tel") {
            TelUri::parse(src).map(Self::Tel)
        } else if scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            // RFC 3986 §2: unreserved, reserved and %-escapes only (no <, >, ", \ ...).
            let uri_char =
                |b: u8| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
            if !src.iter().all(|&b| uri_char(b)) {
                return Err("bad character in URI");
            }
            Ok(Self::Other(src))
        } else {
            Err("bad URI scheme")
        }
    }

    /// The exact bytes.
    pub fn as_bytes(&self) -> &Bytes {
        match self {
            Self::Sip(u) => &u.raw,
            Self::Tel(u) => &u.raw,
            Self::Other(b) => b,
        }
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Self::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The user part (SIP) or the number (tel).
    pub fn user(&self) -> Option<&Bytes> {
        match self {
            Self::Sip(u) => u.user.as_ref(),
            Self::Tel(t) => Some(&t.number),
            Self::Other(_) => None,
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

impl SipUri {
    fn parse_after_scheme(raw: Bytes, start: usize, secure: bool) -> Result<Self, &'static str> {
        let s = &raw[..];
        let end = s.len();
        // userinfo: everything up to the first '@' (user may hold ';' and '?', RFC 3261 §25.1).
        let (user, password, host_start) = match s[start..].iter().position(|&b| b == b'@') {
            Some(at) => {
                let at = start + at;
                let info = &s[start..at];
                if info.is_empty() {
                    return Err("empty user part");
                }
                if !info.iter().all(|&b| is_user_char(b) || b == b':') {
                    return Err("bad character in user part");
                }
                match info.iter().position(|&b| b == b':') {
                    Some(c) => (
                        Some(raw.slice(start..start + c)),
                        Some(raw.slice(start + c + 1..at)),
                        at + 1,
                    ),
                    None => (Some(raw.slice(start..at)), None, at + 1),
                }
            }
            None => (None, None, start),
        };
        // hostport
        let mut i = host_start;
        if s.get(i) == Some(&b'[') {
            i += s[i..]
                .iter()
                .position(|&b| b == b']')
                .ok_or("unterminated IPv6 reference")?
                + 1;
        } else {
            while i < end && !matches!(s[i], b':' | b';' | b'?') {
                i += 1;
            }
        }
        let host = Host::parse(&raw.slice(host_start..i))?;
        let mut port = None;
        if i < end && s[i] == b':' {
            let ps = i + 1;
            i = ps;
            while i < end && s[i].is_ascii_digit() {
                i += 1;
            }
            port = Some(crate::grammar::parse_decimal(&s[ps..i], 65535).ok_or("bad port")? as u16);
        }
        let params_start = i;
        while i < end && s[i] != b'?' {
            i += 1;
        }
        let params = Params::parse(&raw, params_start, i, false)?;
        let headers = if i < end {
            if i + 1 == end {
                return Err("empty URI headers");
            }
            // headers = hname "=" hvalue *( "&" ... ): unreserved, hnv-unreserved, escapes.
            let header_char =
                |b: u8| b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$%=&".contains(&b);
            if !s[i + 1..end].iter().all(|&b| header_char(b)) {
                return Err("bad character in URI headers");
            }
            Some(raw.slice(i + 1..end))
        } else {
            None
        };
        Ok(Self {
            raw,
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// Builds a URI from parts.
    pub fn new(secure: bool, user: Option<&[u8]>, host: Host, port: Option<u16>) -> Self {
        Self::build(secure, user, None, host, port, Params::new(), None)
    }

    fn build(
        secure: bool,
        user: Option<&[u8]>,
        password: Option<&[u8]>,
        host: Host,
        port: Option<u16>,
        params: Params,
        headers: Option<&[u8]>,
    ) -> Self {
        let mut b = BytesMut::with_capacity(64);
        b.put_slice(if secure { b"sips:" } else { b"sip:" });
        if let Some(u) = user {
            b.put_slice(u);
            if let Some(p) = password {
                b.put_u8(b':');
                b.put_slice(p);
            }
            b.put_u8(b'@');
        }
        host.write_to(&mut b);
        if let Some(p) = port {
            b.put_slice(format!(":{p}").as_bytes());
        }
        params.write_to(&mut b);
        if let Some(h) = headers {
            b.put_u8(b'?');
            b.put_slice(h);
        }
        let scheme_len = if secure { 5 } else { 4 };
        Self::parse_after_scheme(b.freeze(), scheme_len, secure)
            .expect("a URI built from valid parts parses")
    }

    /// This URI with parameter `name` set to `value`.
    pub fn with_param(&self, name: &str, value: Option<&str>) -> Self {
        let mut params = self.params.clone();
        params.set(name, value.map(str::as_bytes));
        self.rebuilt(params, self.headers.as_deref())
    }

    /// This URI without parameter `name`.
    pub fn without_param(&self, name: &str) -> Self {
        let mut params = self.params.clone();
        params.remove(name);
        self.rebuilt(params, self.headers.as_deref())
    }

    /// This URI without its `?headers` part.
    pub fn without_headers(&self) -> Self {
        self.rebuilt(self.params.clone(), None)
    }

    fn rebuilt(&self, params: Params, headers: Option<&[u8]>) -> Self {
        Self::build(
            self.secure,
            self.user.as_deref(),
            self.password.as_deref(),
            self.host.clone(),
            self.port,
            params,
            headers,
        )
    }

    /// The exact bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }

    /// `sips:`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The user part, still %-escaped.
    pub fn user(&self) -> Option<&Bytes> {
        self.user.as_ref()
    }

    /// The password part.
    pub fn password(&self) -> Option<&Bytes> {
        self.password.as_ref()
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The explicit port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The URI parameters (`transport`, `lr`, `maddr`, `user`...).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The raw `?headers` part (RFC 3261 §19.1.1).
    pub fn headers(&self) -> Option<&Bytes> {
        self.headers.as_ref()
    }

    /// URI equivalence (RFC 3261 §19.1.4): scheme, unescaped user and password compared
    /// exactly, host case-insensitively, port, and the `user`, `ttl`, `method`, `maddr` and
    /// `transport` parameters when either side has them.
    pub fn equivalent(&self, other: &Self) -> bool {
        let unescape = |b: Option<&Bytes>| b.map(|b| percent_decode(b));
        if self.secure != other.secure
            || unescape(self.user.as_ref()) != unescape(other.user.as_ref())
            || unescape(self.password.as_ref()) != unescape(other.password.as_ref())
            || !self.host.matches(&other.host)
            || self.port != other.port
        {
            return false;
        }
        ["user", "ttl", "method", "maddr", "transport"]
            .iter()
            .all(
                |name| match (self.params.get(name), other.params.get(name)) {
                    (None, None) => true,
                    (Some(a), Some(b)) => {
                        a.map(|v| v.to_ascii_lowercase()) == b.map(|v| v.to_ascii_lowercase())
                    }
                    _ => false,
                },
            )
    }
}

impl TelUri {
    fn parse(raw: Bytes) -> Result<Self, &'static str> {
        let start = 4; // "tel:"
        let end = raw[start..]
            .iter()
            .position(|&b| b == b';')
            .map_or(raw.len(), |p| start + p);
        let number = &raw[start..end];
        if number.is_empty()
            || !number.iter().all(|&b| {
                b.is_ascii_hexdigit() || matches!(b, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#')
            })
        {
            return Err("bad tel number");
        }
        let params = Params::parse(&raw, end, raw.len(), false)?;
        Ok(Self {
            number: raw.slice(start..end),
            params,
            raw,
        })
    }

    /// The number with its visual separators.
    pub fn number(&self) -> &Bytes {
        &self.number
    }

    /// Parameters (`phone-context`...).
    pub fn params(&self) -> &Params {
        &self.params
    }
}

/// `user` part characters: unreserved / escaped / user-unreserved (RFC 3261 §25.1).
fn is_user_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'!'
                | b'~'
                | b'*'
                | b'\''
                | b'('
                | b')'
                | b'%'
                | b'&'
                | b'='
                | b'+'
                | b'$'
                | b','
                | b';'
                | b'?'
                | b'/'
        )
}

/// Decodes `%xx` escapes; a `%` not followed by two hex digits stays as it is.
pub fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &'static str) -> SipUri {
        match Uri::parse(Bytes::from_static(s.as_bytes())).unwrap() {
            Uri::Sip(u) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parts() {
        let u = sip("sip:alice:secret@[2001:db8::1]:5070;transport=tcp;lr?subject=x");
        assert_eq!(u.user().unwrap().as_ref(), b"alice");
        assert_eq!(u.password().unwrap().as_ref(), b"secret");
        assert_eq!(u.host(), &Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.port(), Some(5070));
        assert_eq!(u.params().value("transport").unwrap().as_ref(), b"tcp");
        assert!(u.params().has("lr"));
        assert_eq!(u.headers().unwrap().as_ref(), b"subject=x");
        let u = sip("sips:192.0.2.1");
        assert!(u.is_secure() && u.user().is_none());
        assert_eq!(u.host(), &Host::V4("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn user_part_may_hold_semicolons() {
        // RFC 4475 §3.1.1.9 semiuri
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user().unwrap().as_ref(), b"user;par=u%40example.net");
        assert_eq!(u.host(), &Host::Domain(Bytes::from_static(b"example.com")));
    }

    #[test]
    fn equivalence_per_rfc3261_19_1_4() {
        assert!(
            sip("sip:%61lice@atlanta.com;transport=TCP")
                .equivalent(&sip("sip:alice@AtLanTa.CoM;Transport=tcp"))
        );
        assert!(!sip("sip:alice@atlanta.com").equivalent(&sip("sip:ALICE@atlanta.com")));
        assert!(!sip("sip:bob@biloxi.com").equivalent(&sip("sip:bob@biloxi.com:5060")));
        assert!(!sip("sip:bob@biloxi.com;transport=udp").equivalent(&sip("sip:bob@biloxi.com")));
    }

    #[test]
    fn building_and_params() {
        let u = SipUri::new(
            false,
            Some(b"+3112345"),
            Host::Domain(Bytes::from_static(b"carrier.example")),
            Some(5060),
        );
        assert_eq!(u.as_bytes().as_ref(), b"sip:+3112345@carrier.example:5060");
        let u = u
            .with_param("transport", Some("udp"))
            .with_param("lr", None);
        assert_eq!(
            u.as_bytes().as_ref(),
            b"sip:+3112345@carrier.example:5060;transport=udp;lr"
        );
        assert_eq!(
            u.without_param("transport").as_bytes().as_ref(),
            b"sip:+3112345@carrier.example:5060;lr"
        );
    }

    #[test]
    fn other_schemes_and_errors() {
        assert!(matches!(
            Uri::parse(Bytes::from_static(b"tel:+1-201-555-0123;phone-context=x")),
            Ok(Uri::Tel(_))
        ));
        assert!(matches!(
            Uri::parse(Bytes::from_static(b"http://example.com/x")),
            Ok(Uri::Other(_))
        ));
        assert!(Uri::parse(Bytes::from_static(b"sip:user@example.com ")).is_err());
        assert!(Uri::parse(Bytes::from_static(b"<sip:user@example.com>")).is_err());
        assert!(Uri::parse(Bytes::from_static(b"sip:@host")).is_err());
        assert!(Uri::parse(Bytes::from_static(b"sip:host:99999")).is_err());
        assert!(Uri::parse(Bytes::from_static(b"sip:[::1")).is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode(b"null-%00-null"), b"null-\0-null");
        assert_eq!(percent_decode(b"100%"), b"100%");
        assert_eq!(percent_decode(b"%4"), b"%4");
    }
}
