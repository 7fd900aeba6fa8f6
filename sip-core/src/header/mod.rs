//! Typed views of the header fields mediaplane acts on. Each parses a header value on demand
//! from the ordered list ([`crate::Headers`]), keeping zero-copy slices.

mod cseq;
mod name_addr;
mod params;
mod via;

pub use cseq::CSeq;
pub use name_addr::NameAddr;
pub use params::{Param, Params};
pub use via::{MAGIC_COOKIE, Transport, Via};

use bytes::Bytes;

use crate::grammar;

/// A comma-separated list of tokens (Allow, Supported, Require, Proxy-Require, Unsupported,
/// Privacy uses `;`), as slices of the header value.
pub fn token_list(value: &Bytes) -> Result<Vec<Bytes>, &'static str> {
    let parts = grammar::split_commas(value)?;
    let mut out = Vec::with_capacity(parts.len());
    for (a, b) in parts {
        if a == b {
            continue;
        }
        if !grammar::is_token_str(&value[a..b]) {
            return Err("not a token list");
        }
        out.push(value.slice(a..b));
    }
    Ok(out)
}

/// A `Reason` header value (RFC 3326): protocol, cause and optional text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// `SIP` or `Q.850`.
    pub protocol: Bytes,
    /// The cause code.
    pub cause: Option<u16>,
    /// The `text` parameter, unquoted.
    pub text: Option<String>,
}

impl Reason {
    /// Parses `Q.850;cause=16;text="Normal call clearing"`.
    pub fn parse(value: &Bytes) -> Result<Self, &'static str> {
        let semi = value.iter().position(|&b| b == b';').unwrap_or(value.len());
        let protocol = grammar::trim(&value[..semi]);
        if !grammar::is_token_str(protocol) {
            return Err("bad Reason protocol");
        }
        let params = Params::parse(value, semi, value.len(), true)?;
        let cause = match params.value("cause") {
            Some(c) => Some(grammar::parse_decimal(c, 65535).ok_or("bad Reason cause")? as u16),
            None => None,
        };
        let text = params
            .value("text")
            .map(|t| String::from_utf8_lossy(&grammar::unquote(t)).into_owned());
        Ok(Self {
            protocol: Bytes::copy_from_slice(protocol),
            cause,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let v = Bytes::from_static(b"100rel, timer ,replaces");
        let t = token_list(&v).unwrap();
        assert_eq!(
            t,
            vec![
                Bytes::from_static(b"100rel"),
                Bytes::from_static(b"timer"),
                Bytes::from_static(b"replaces")
            ]
        );
        assert!(token_list(&Bytes::from_static(b"a b")).is_err());
    }

    #[test]
    fn reason() {
        let r = Reason::parse(&Bytes::from_static(
            b"Q.850 ;cause=16 ;text=\"Normal call clearing\"",
        ))
        .unwrap();
        assert_eq!(
            (r.protocol.as_ref(), r.cause, r.text.as_deref()),
            (&b"Q.850"[..], Some(16), Some("Normal call clearing"))
        );
    }
}
