//! `name-addr` / `addr-spec` header values: From, To, Contact, Route, Record-Route,
//! P-Asserted-Identity, Refer-To (RFC 3261 §20.10, §20.20, §20.39).

use bytes::{BufMut, Bytes, BytesMut};

use super::Params;
use crate::{grammar, uri::Uri};

/// A display name, a URI and header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name as written (quoted, or a run of tokens).
    pub display: Option<Bytes>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`tag`, `expires`, `q`...).
    pub params: Params,
}

impl NameAddr {
    /// A name-addr from a URI, with no display name or parameters.
    pub fn new(uri: Uri) -> Self {
        Self {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// Sets the display name, quoting it (RFC 3261 §25.1 quoted-string).
    pub fn with_display_name(mut self, name: &str) -> Self {
        if name.is_empty() {
            self.display = None;
            return self;
        }
        let mut quoted = Vec::with_capacity(name.len() + 2);
        quoted.push(b'"');
        for b in name.bytes() {
            if b == b'"' || b == b'\\' {
                quoted.push(b'\\');
            }
            if b != b'\r' && b != b'\n' {
                quoted.push(b);
            }
        }
        quoted.push(b'"');
        self.display = Some(quoted.into());
        self
    }

    /// Sets a header parameter.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.set(name, value.map(str::as_bytes));
        self
    }

    /// Parses a name-addr or addr-spec with its parameters.
    pub fn parse(value: &Bytes) -> Result<Self, &'static str> {
        let s = &value[..];
        let (start, end) = grammar::trim_range(s, 0, s.len());
        if start == end {
            return Err("empty address");
        }
        let mut display = None;
        let mut i = start;
        let lt = if s[i] == b'"' {
            let q = grammar::quoted_end(s, i).ok_or("unterminated quoted display name")?;
            display = Some(value.slice(i..q));
            i = q;
            while i < end && grammar::is_ws(s[i]) {
                i += 1;
            }
            if s.get(i) != Some(&b'<') {
                return Err("display name without <URI>");
            }
            Some(i)
        } else {
            s[i..end].iter().position(|&b| b == b'<').map(|p| i + p)
        };
        match lt {
            Some(lt) => {
                if display.is_none() && lt > start {
                    let (a, b) = grammar::trim_range(s, start, lt);
                    let words = &s[a..b];
                    // display-name = *(token LWS) / quoted-string
                    if !words
                        .iter()
                        .all(|&c| grammar::is_token(c) || grammar::is_ws(c))
                    {
                        return Err("display name is neither tokens nor a quoted string");
                    }
                    display = Some(value.slice(a..b));
                }
                let gt = lt
                    + s[lt..end]
                        .iter()
                        .position(|&b| b == b'>')
                        .ok_or("unterminated <")?;
                // Liberal about spaces just inside the brackets (RFC 4475 §3.1.2.14).
                let (ua, ub) = grammar::trim_range(s, lt + 1, gt);
                let uri = Uri::parse(value.slice(ua..ub))?;
                let mut p = gt + 1;
                while p < end && grammar::is_ws(s[p]) {
                    p += 1;
                }
                let params = Params::parse(value, p, end, true)?;
                Ok(Self {
                    display,
                    uri,
                    params,
                })
            }
            None => {
                // addr-spec: parameters after the URI belong to the header (RFC 3261 §20).
                let semi = s[start..end]
                    .iter()
                    .position(|&b| b == b';')
                    .map_or(end, |p| start + p);
                let (ua, ub) = grammar::trim_range(s, start, semi);
                let uri = Uri::parse(value.slice(ua..ub))?;
                let params = Params::parse(value, semi, end, true)?;
                Ok(Self {
                    display: None,
                    uri,
                    params,
                })
            }
        }
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&Bytes> {
        self.params.value("tag")
    }

    /// The display name without quotes and escapes.
    pub fn display_name(&self) -> Option<String> {
        self.display
            .as_ref()
            .map(|d| String::from_utf8_lossy(&grammar::unquote(d)).into_owned())
    }

    /// Prints as `display <uri>;params` (always the name-addr form).
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.uri.as_bytes().len() + 48);
        if let Some(d) = &self.display {
            b.put_slice(d);
            b.put_u8(b' ');
        }
        b.put_u8(b'<');
        b.put_slice(self.uri.as_bytes());
        b.put_u8(b'>');
        self.params.write_to(&mut b);
        b.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &'static str) -> Result<NameAddr, &'static str> {
        NameAddr::parse(&Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn forms() {
        let a = parse("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com> ;   tag = 98asjd8")
            .unwrap();
        assert_eq!(a.display_name().as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(a.tag().unwrap().as_ref(), b"98asjd8");
        let a = parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name().as_deref(), Some("caller"));
        let a = parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(
            a.uri.as_bytes().as_ref(),
            b"sip:vivekg@chair-dnrc.example.com"
        );
        assert_eq!(a.tag().unwrap().as_ref(), b"1918181833n");
        let a = parse("\"Watson, Thomas\" < sip:t.watson@example.org >").unwrap();
        assert_eq!(a.uri.as_bytes().as_ref(), b"sip:t.watson@example.org");
        let a = parse("A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe").unwrap();
        assert_eq!(a.display_name().as_deref(), Some("A. Bell"));
    }

    #[test]
    fn errors() {
        assert!(parse("\"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(parse("Bell, Alexander <sip:a.g.bell@example.com>").is_err());
        assert!(parse("\"Joe\" <sip:joe@example.org>;;;;").is_err());
        assert!(parse("<sip:joe@example.org").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn printing_round_trips() {
        let a = NameAddr::new(Uri::parse(Bytes::from_static(b"sip:+3198765@example.com")).unwrap())
            .with_display_name("Alice \"A\"")
            .with_param("tag", Some("abc"));
        let b = a.to_bytes();
        assert_eq!(
            b.as_ref(),
            b"\"Alice \\\"A\\\"\" <sip:+3198765@example.com>;tag=abc"
        );
        assert_eq!(NameAddr::parse(&b).unwrap(), a);
    }
}
