//! `;name=value` parameter lists, for URIs (RFC 3261 §19.1.1) and header fields
//! (`generic-param`, §25.1).

use bytes::{BufMut, Bytes};

use crate::grammar;

/// One parameter. Names compare case-insensitively; values are kept as received (a quoted
/// value keeps its quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Name.
    pub name: Bytes,
    /// Value, if any (`;lr` has none).
    pub value: Option<Bytes>,
}

/// An ordered parameter list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<Param>);

impl Params {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The parameter called `name`: `Some(None)` for a flag, `Some(Some(v))` with a value.
    pub fn get(&self, name: &str) -> Option<Option<&Bytes>> {
        self.0
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|p| p.value.as_ref())
    }

    /// The value of `name`, if it has one.
    pub fn value(&self, name: &str) -> Option<&Bytes> {
        self.get(name).flatten()
    }

    /// Whether `name` is present, with or without a value.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` (replacing an existing one) to `value`.
    pub fn set(&mut self, name: &str, value: Option<&[u8]>) {
        let value = value.map(Bytes::copy_from_slice);
        match self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
        {
            Some(p) => p.value = value,
            None => self.0.push(Param {
                name: Bytes::copy_from_slice(name.as_bytes()),
                value,
            }),
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        self.0
            .retain(|p| !p.name.eq_ignore_ascii_case(name.as_bytes()));
    }

    /// The parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes `;name=value...`.
    pub fn write_to(&self, out: &mut impl BufMut) {
        for p in &self.0 {
            out.put_u8(b';');
            out.put_slice(&p.name);
            if let Some(v) = &p.value {
                out.put_u8(b'=');
                out.put_slice(v);
            }
        }
    }

    /// Parses `;a=b;c` from `src[start..end]` (the first byte must be `;`). Whitespace around
    /// names, `=` and values is allowed when `lws` is set (header parameters), refused
    /// otherwise (URI parameters).
    pub(crate) fn parse(
        src: &Bytes,
        start: usize,
        end: usize,
        lws: bool,
    ) -> Result<Self, &'static str> {
        let s = &src[..end];
        let mut list = Vec::new();
        let mut i = start;
        while i < end {
            if s[i] != b';' {
                return Err("junk between parameters");
            }
            i += 1;
            // name
            let (name_start, name_end);
            {
                let mut j = i;
                while j < end && grammar::is_ws(s[j]) && lws {
                    j += 1;
                }
                let ns = j;
                while j < end && is_param_char(s[j]) {
                    j += 1;
                }
                if j == ns {
                    return Err("empty parameter");
                }
                name_start = ns;
                name_end = j;
                i = j;
            }
            while i < end && lws && grammar::is_ws(s[i]) {
                i += 1;
            }
            let mut value = None;
            if i < end && s[i] == b'=' {
                i += 1;
                while i < end && lws && grammar::is_ws(s[i]) {
                    i += 1;
                }
                let vs = i;
                if i < end && s[i] == b'"' {
                    i = grammar::quoted_end(s, i).ok_or("unterminated quoted parameter")?;
                } else {
                    while i < end && is_param_char(s[i]) {
                        i += 1;
                    }
                }
                if i == vs {
                    return Err("empty parameter value");
                }
                value = Some(src.slice(vs..i));
                while i < end && lws && grammar::is_ws(s[i]) {
                    i += 1;
                }
            }
            list.push(Param {
                name: src.slice(name_start..name_end),
                value,
            });
        }
        Ok(Self(list))
    }
}

/// Characters of parameter names and unquoted values: token characters plus the URI
/// `param-unreserved` set and the brackets of an IPv6 `received`.
fn is_param_char(b: u8) -> bool {
    grammar::is_token(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'$' | b'@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_with_whitespace() {
        let src = Bytes::from_static(b" ;   tag    = 1918181833n ;lr; q = 0.33");
        let p = Params::parse(&src, 1, src.len(), true).unwrap();
        assert_eq!(p.value("TAG").unwrap().as_ref(), b"1918181833n");
        assert!(p.has("lr") && p.value("lr").is_none());
        assert_eq!(p.value("q").unwrap().as_ref(), b"0.33");
    }

    #[test]
    fn empty_parameters_are_errors() {
        let src = Bytes::from_static(b";;,;,,");
        assert!(Params::parse(&src, 0, src.len(), true).is_err());
        let src = Bytes::from_static(b";a=");
        assert!(Params::parse(&src, 0, src.len(), true).is_err());
    }

    #[test]
    fn quoted_values() {
        let src = Bytes::from_static(b";text=\"a;b\\\"c\";x");
        let p = Params::parse(&src, 0, src.len(), true).unwrap();
        assert_eq!(p.value("text").unwrap().as_ref(), b"\"a;b\\\"c\"");
        assert!(p.has("x"));
    }
}
