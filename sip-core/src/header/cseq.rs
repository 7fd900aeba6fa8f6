//! CSeq (RFC 3261 §20.16): a sequence number below 2^31 and a method.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Method, grammar};

/// A CSeq value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number (< 2^31).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses `number LWS method`.
    pub fn parse(value: &Bytes) -> Result<Self, &'static str> {
        let s = grammar::trim(value);
        let split = s
            .iter()
            .position(|&b| grammar::is_ws(b))
            .ok_or("CSeq without a method")?;
        // RFC 3261 §8.1.1.5: the number MUST be less than 2**31.
        let seq =
            grammar::parse_decimal(&s[..split], (1 << 31) - 1).ok_or("bad CSeq number")? as u32;
        let method = Method::from_bytes(grammar::trim(&s[split..])).ok_or("bad CSeq method")?;
        Ok(Self { seq, method })
    }

    /// Prints the value.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(24);
        b.put_slice(self.seq.to_string().as_bytes());
        b.put_u8(b' ');
        b.put_slice(self.method.as_bytes());
        b.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        let c = CSeq::parse(&Bytes::from_static(b"0009 INVITE")).unwrap();
        assert_eq!((c.seq, c.method), (9, Method::Invite));
        assert!(CSeq::parse(&Bytes::from_static(b"36893488147419103232 INVITE")).is_err());
        assert!(CSeq::parse(&Bytes::from_static(b"2147483648 INVITE")).is_err());
        assert!(CSeq::parse(&Bytes::from_static(b"12")).is_err());
        assert_eq!(
            CSeq {
                seq: 7,
                method: Method::Bye
            }
            .to_bytes()
            .as_ref(),
            b"7 BYE"
        );
    }
}
