//! Typed accessors on [`Headers`] for the header fields mediaplane acts on.

use bytes::Bytes;

use super::{HeaderName, Headers};
use crate::{
    grammar,
    header::{CSeq, NameAddr, Reason, Via, token_list},
};

/// A header that is missing, malformed, or repeated where only one is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A mandatory header is absent.
    #[error("missing {0} header")]
    Missing(HeaderName),
    /// The value does not follow the grammar.
    #[error("malformed {name} header: {reason}")]
    Malformed {
        /// Which header.
        name: HeaderName,
        /// What is wrong.
        reason: &'static str,
    },
    /// A single-valued header appears more than once (RFC 4475 §3.3.8).
    #[error("more than one {0} header")]
    Duplicate(HeaderName),
}

impl HeaderError {
    /// A reason phrase for the 400 answering this error, naming the problem.
    pub fn reason_phrase(&self) -> String {
        match self {
            Self::Missing(n) => format!("Missing {n} Header"),
            Self::Malformed { name, .. } => format!("Malformed {name} Header"),
            Self::Duplicate(n) => format!("Multiple {n} Headers"),
        }
    }
}

fn malformed(name: HeaderName) -> impl Fn(&'static str) -> HeaderError {
    move |reason| HeaderError::Malformed {
        name: name.clone(),
        reason,
    }
}

impl Headers {
    /// The single value of a single-valued header (present once, one value on the line).
    pub fn single(&self, name: &HeaderName) -> Result<&Bytes, HeaderError> {
        let mut found = None;
        for h in self.iter().filter(|h| h.name == *name) {
            if found.is_some() {
                return Err(HeaderError::Duplicate(name.clone()));
            }
            found = Some(&h.value);
        }
        found.ok_or_else(|| HeaderError::Missing(name.clone()))
    }

    /// Call-ID (RFC 3261 §20.8).
    pub fn call_id(&self) -> Result<&Bytes, HeaderError> {
        let v = self.single(&HeaderName::CallId)?;
        let ok = !v.is_empty() && v.iter().all(|&b| b > b' ' && b < 0x7f);
        if ok {
            Ok(v)
        } else {
            Err(malformed(HeaderName::CallId)("not a word"))
        }
    }

    /// CSeq (RFC 3261 §20.16).
    pub fn cseq(&self) -> Result<CSeq, HeaderError> {
        CSeq::parse(self.single(&HeaderName::CSeq)?).map_err(malformed(HeaderName::CSeq))
    }

    fn single_address(&self, name: HeaderName) -> Result<NameAddr, HeaderError> {
        let line = self.single(&name)?;
        let parts = grammar::split_commas(line).map_err(malformed(name.clone()))?;
        if parts.len() != 1 {
            // An unquoted comma in a display name splits the value (RFC 4475 §3.1.2.15).
            return Err(malformed(name)("comma outside a quoted display name"));
        }
        NameAddr::parse(line).map_err(malformed(name))
    }

    /// From (RFC 3261 §20.20).
    pub fn from(&self) -> Result<NameAddr, HeaderError> {
        self.single_address(HeaderName::From)
    }

    /// To (RFC 3261 §20.39).
    pub fn to(&self) -> Result<NameAddr, HeaderError> {
        self.single_address(HeaderName::To)
    }

    /// Every Via value, top first (RFC 3261 §20.42).
    pub fn vias(&self) -> Result<Vec<Via>, HeaderError> {
        let err = malformed(HeaderName::Via);
        self.values(&HeaderName::Via)
            .map(|v| v.map_err(&err).and_then(|v| Via::parse(&v).map_err(&err)))
            .collect()
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via, HeaderError> {
        let value = self
            .values(&HeaderName::Via)
            .next()
            .ok_or(HeaderError::Missing(HeaderName::Via))?
            .map_err(malformed(HeaderName::Via))?;
        Via::parse(&value).map_err(malformed(HeaderName::Via))
    }

    /// Max-Forwards (0–255), if present (RFC 3261 §20.22).
    pub fn max_forwards(&self) -> Result<Option<u8>, HeaderError> {
        match self.get_all(&HeaderName::MaxForwards).count() {
            0 => Ok(None),
            1 => {
                let v = self.get(&HeaderName::MaxForwards).expect("counted one");
                grammar::parse_decimal(grammar::trim(v), 255)
                    .map(|n| Some(n as u8))
                    .ok_or_else(|| malformed(HeaderName::MaxForwards)("not a number from 0 to 255"))
            }
            _ => Err(HeaderError::Duplicate(HeaderName::MaxForwards)),
        }
    }

    /// Content-Length, if present (RFC 3261 §20.14).
    pub fn content_length(&self) -> Result<Option<usize>, HeaderError> {
        match self.get_all(&HeaderName::ContentLength).count() {
            0 => Ok(None),
            1 => {
                let v = self.get(&HeaderName::ContentLength).expect("counted one");
                grammar::parse_decimal(grammar::trim(v), u64::from(u32::MAX))
                    .map(|n| Some(n as usize))
                    .ok_or_else(|| {
                        malformed(HeaderName::ContentLength)("not a non-negative number")
                    })
            }
            _ => Err(HeaderError::Duplicate(HeaderName::ContentLength)),
        }
    }

    /// Content-Type's media type (`application/sdp`), lower-cased, without parameters.
    pub fn content_type(&self) -> Option<String> {
        let v = self.get(&HeaderName::ContentType)?;
        let media = v
            .split(|&b| b == b';')
            .next()
            .map(grammar::trim)
            .unwrap_or_default();
        Some(String::from_utf8_lossy(media).to_ascii_lowercase())
    }

    fn addresses(&self, name: HeaderName) -> Result<Vec<NameAddr>, HeaderError> {
        let err = malformed(name.clone());
        self.values(&name)
            .map(|v| {
                v.map_err(&err)
                    .and_then(|v| NameAddr::parse(&v).map_err(&err))
            })
            .collect()
    }

    /// Contact values; `Ok(None)` for the `*` wildcard of REGISTER (RFC 3261 §10.2.2).
    pub fn contacts(&self) -> Result<Option<Vec<NameAddr>>, HeaderError> {
        if self
            .get_all(&HeaderName::Contact)
            .any(|v| grammar::trim(v) == b"*")
        {
            return Ok(None);
        }
        self.addresses(HeaderName::Contact).map(Some)
    }

    /// The first Contact.
    pub fn contact(&self) -> Result<NameAddr, HeaderError> {
        self.contacts()?
            .and_then(|c| c.into_iter().next())
            .ok_or(HeaderError::Missing(HeaderName::Contact))
    }

    /// Route values, in order.
    pub fn routes(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.addresses(HeaderName::Route)
    }

    /// Record-Route values, in order.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.addresses(HeaderName::RecordRoute)
    }

    /// P-Asserted-Identity values (RFC 3325).
    pub fn p_asserted_identity(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.addresses(HeaderName::PAssertedIdentity)
    }

    fn tokens(&self, name: HeaderName) -> Result<Vec<Bytes>, HeaderError> {
        let err = malformed(name.clone());
        let mut out = Vec::new();
        for line in self.get_all(&name) {
            out.extend(token_list(line).map_err(&err)?);
        }
        Ok(out)
    }

    /// Allow.
    pub fn allow(&self) -> Result<Vec<Bytes>, HeaderError> {
        self.tokens(HeaderName::Allow)
    }

    /// Supported.
    pub fn supported(&self) -> Result<Vec<Bytes>, HeaderError> {
        self.tokens(HeaderName::Supported)
    }

    /// Require.
    pub fn require(&self) -> Result<Vec<Bytes>, HeaderError> {
        self.tokens(HeaderName::Require)
    }

    /// Proxy-Require.
    pub fn proxy_require(&self) -> Result<Vec<Bytes>, HeaderError> {
        self.tokens(HeaderName::ProxyRequire)
    }

    /// Whether `option` is listed in Supported or Require.
    pub fn supports(&self, option: &str) -> bool {
        let has = |name: HeaderName| {
            self.get_all(&name).any(|l| {
                token_list(l)
                    .is_ok_and(|t| t.iter().any(|t| t.eq_ignore_ascii_case(option.as_bytes())))
            })
        };
        has(HeaderName::Supported) || has(HeaderName::Require)
    }

    /// Whether `option` is listed in Require.
    pub fn requires(&self, option: &str) -> bool {
        self.get_all(&HeaderName::Require).any(|l| {
            token_list(l).is_ok_and(|t| t.iter().any(|t| t.eq_ignore_ascii_case(option.as_bytes())))
        })
    }

    /// Expires in seconds (RFC 3261 §20.19).
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        match self.get(&HeaderName::Expires) {
            None => Ok(None),
            Some(v) => grammar::parse_decimal(grammar::trim(v), u64::from(u32::MAX))
                .map(|n| Some(n as u32))
                .ok_or_else(|| malformed(HeaderName::Expires)("not a number")),
        }
    }

    /// Privacy values (RFC 3323 §4.2: `;`-separated), e.g. `id`, `none`.
    pub fn privacy(&self) -> Vec<Bytes> {
        self.get_all(&HeaderName::Privacy)
            .flat_map(|line| {
                let mut out = Vec::new();
                let mut start = 0;
                for (i, &b) in line
                    .iter()
                    .enumerate()
                    .chain(std::iter::once((line.len(), &b';')))
                {
                    if b == b';' || b == b',' {
                        let (a, z) = grammar::trim_range(line, start, i);
                        if a < z {
                            out.push(line.slice(a..z));
                        }
                        start = i + 1;
                    }
                }
                out
            })
            .collect()
    }

    /// Reason values (RFC 3326).
    pub fn reasons(&self) -> Result<Vec<Reason>, HeaderError> {
        let err = malformed(HeaderName::Reason);
        self.values(&HeaderName::Reason)
            .map(|v| {
                v.map_err(&err)
                    .and_then(|v| Reason::parse(&v).map_err(&err))
            })
            .collect()
    }
}
