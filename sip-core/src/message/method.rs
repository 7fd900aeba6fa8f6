//! Request methods (RFC 3261 §7.1, plus the extensions mediaplane speaks).

use bytes::Bytes;

/// A SIP method. Methods are case-sensitive (RFC 3261 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// RFC 3261.
    Invite,
    /// RFC 3261.
    Ack,
    /// RFC 3261.
    Bye,
    /// RFC 3261.
    Cancel,
    /// RFC 3261.
    Options,
    /// RFC 3261.
    Register,
    /// RFC 3262 (reliable provisional responses).
    Prack,
    /// RFC 3311.
    Update,
    /// RFC 6086.
    Info,
    /// RFC 3515.
    Refer,
    /// RFC 6665.
    Notify,
    /// RFC 6665.
    Subscribe,
    /// RFC 3428.
    Message,
    /// RFC 3903.
    Publish,
    /// Any other token.
    Extension(Bytes),
}

impl Method {
    /// Parses a method token; `None` if it is not a token.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        Some(match b {
            b"INVITE" => Self::Invite,
            b"ACK" => Self::Ack,
            b"BYE" => Self::Bye,
            b"CANCEL" => Self::Cancel,
            b"OPTIONS" => Self::Options,
            b"REGISTER" => Self::Register,
            b"PRACK" => Self::Prack,
            b"UPDATE" => Self::Update,
            b"INFO" => Self::Info,
            b"REFER" => Self::Refer,
            b"NOTIFY" => Self::Notify,
            b"SUBSCRIBE" => Self::Subscribe,
            b"MESSAGE" => Self::Message,
            b"PUBLISH" => Self::Publish,
            other if crate::grammar::is_token_str(other) => {
                Self::Extension(Bytes::copy_from_slice(other))
            }
            _ => return None,
        })
    }

    /// The method as it appears on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Invite => b"INVITE",
            Self::Ack => b"ACK",
            Self::Bye => b"BYE",
            Self::Cancel => b"CANCEL",
            Self::Options => b"OPTIONS",
            Self::Register => b"REGISTER",
            Self::Prack => b"PRACK",
            Self::Update => b"UPDATE",
            Self::Info => b"INFO",
            Self::Refer => b"REFER",
            Self::Notify => b"NOTIFY",
            Self::Subscribe => b"SUBSCRIBE",
            Self::Message => b"MESSAGE",
            Self::Publish => b"PUBLISH",
            Self::Extension(b) => b,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}
