//! Header field names: case-insensitive, compact forms folded into the long form
//! (RFC 3261 §7.3.3, §20; RFC 3515, RFC 4028, RFC 6665 for the later compact forms).

use bytes::Bytes;

macro_rules! header_names {
    ($( $variant:ident => $canonical:literal $(, $compact:literal)? ; )*) => {
        /// A header field name. Known names are variants; anything else keeps its bytes.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $canonical, "`")]
                $variant,
            )*
            /// Any other header, as received.
            Other(Bytes),
        }

        impl HeaderName {
            /// The long form as mediaplane prints it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $canonical, )*
                    Self::Other(b) => std::str::from_utf8(b).unwrap_or("X-Invalid"),
                }
            }

            pub(crate) fn known(name: &[u8]) -> Option<Self> {
                $(
                    if name.eq_ignore_ascii_case($canonical.as_bytes()) {
                        return Some(Self::$variant);
                    }
                    $( if name.eq_ignore_ascii_case($compact.as_bytes()) { return Some(Self::$variant); } )?
                )*
                None
            }
        }
    };
}

header_names! {
    Via => "Via", "v";
    From => "From", "f";
    To => "To", "t";
    CallId => "Call-ID", "i";
    CSeq => "CSeq";
    Contact => "Contact", "m";
    MaxForwards => "Max-Forwards";
    ContentType => "Content-Type", "c";
    ContentLength => "Content-Length", "l";
    ContentEncoding => "Content-Encoding", "e";
    ContentDisposition => "Content-Disposition";
    Route => "Route";
    RecordRoute => "Record-Route";
    Allow => "Allow";
    Supported => "Supported", "k";
    Require => "Require";
    ProxyRequire => "Proxy-Require";
    Unsupported => "Unsupported";
    Expires => "Expires";
    Authorization => "Authorization";
    ProxyAuthorization => "Proxy-Authorization";
    WwwAuthenticate => "WWW-Authenticate";
    ProxyAuthenticate => "Proxy-Authenticate";
    PAssertedIdentity => "P-Asserted-Identity";
    PPreferredIdentity => "P-Preferred-Identity";
    Privacy => "Privacy";
    Reason => "Reason";
    Accept => "Accept";
    UserAgent => "User-Agent";
    Server => "Server";
    Subject => "Subject", "s";
    Event => "Event", "o";
    AllowEvents => "Allow-Events", "u";
    SubscriptionState => "Subscription-State";
    ReferTo => "Refer-To", "r";
    ReferredBy => "Referred-By", "b";
    SessionExpires => "Session-Expires", "x";
    MinSe => "Min-SE";
    RSeq => "RSeq";
    RAck => "RAck";
    RetryAfter => "Retry-After";
    Warning => "Warning";
    Date => "Date";
    Timestamp => "Timestamp";
    MinExpires => "Min-Expires";
}

impl HeaderName {
    /// Parses a header name (a token), case-insensitively, compact forms included.
    pub fn from_bytes(name: &[u8]) -> Option<Self> {
        if !crate::grammar::is_token_str(name) {
            return None;
        }
        Some(Self::known(name).unwrap_or_else(|| Self::Other(Bytes::copy_from_slice(name))))
    }

    /// An extension header name (`X-...`, `VB-...`), as given.
    pub fn other(name: &str) -> Self {
        Self::from_bytes(name.as_bytes())
            .unwrap_or_else(|| Self::Other(Bytes::copy_from_slice(name.as_bytes())))
    }

    /// Whether `self` is the header called `name` (case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        match self {
            Self::Other(b) => b.eq_ignore_ascii_case(name.as_bytes()),
            known => known.as_str().eq_ignore_ascii_case(name),
        }
    }
}

impl PartialEq<HeaderName> for &HeaderName {
    fn eq(&self, other: &HeaderName) -> bool {
        *self == other
    }
}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case_insensitive() {
        assert_eq!(HeaderName::from_bytes(b"v"), Some(HeaderName::Via));
        assert_eq!(
            HeaderName::from_bytes(b"MaX-fOrWaRdS"),
            Some(HeaderName::MaxForwards)
        );
        assert_eq!(HeaderName::from_bytes(b"i"), Some(HeaderName::CallId));
        assert_eq!(
            HeaderName::from_bytes(b"L"),
            Some(HeaderName::ContentLength)
        );
        assert_eq!(
            HeaderName::from_bytes(b"x"),
            Some(HeaderName::SessionExpires)
        );
        assert_eq!(
            HeaderName::from_bytes(b"VB-Domain"),
            Some(HeaderName::Other(Bytes::from_static(b"VB-Domain")))
        );
        assert!(HeaderName::other("vb-domain").is("VB-Domain"));
        assert_eq!(HeaderName::from_bytes(b"bad name"), None);
        assert_eq!(HeaderName::from_bytes(b""), None);
    }
}
