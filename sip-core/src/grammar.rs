//! Character classes and small scanners from the RFC 3261 §25.1 grammar.

/// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
pub(crate) const fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// SP or HTAB (after unfolding, all LWS is one of these).
pub(crate) const fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing SP/HTAB.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ws(b)).map_or(start, |e| e + 1);
    &s[start..end]
}

/// Offsets of `s` without leading and trailing whitespace.
pub(crate) fn trim_range(s: &[u8], start: usize, end: usize) -> (usize, usize) {
    let mut a = start;
    let mut b = end;
    while a < b && is_ws(s[a]) {
        a += 1;
    }
    while b > a && is_ws(s[b - 1]) {
        b -= 1;
    }
    (a, b)
}

/// Whether `s` is a non-empty token.
pub(crate) fn is_token_str(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token(b))
}

/// End (exclusive) of the quoted string starting at `s[start] == '"'`, honouring `\` escapes
/// (RFC 3261 §25.1 quoted-pair). `None` when unterminated.
pub(crate) fn quoted_end(s: &[u8], start: usize) -> Option<usize> {
    debug_assert_eq!(s.get(start), Some(&b'"'));
    let mut i = start + 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            b'\r' | b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// Splits a header value at top-level commas (outside quoted strings and `<...>`), as
/// `(start, end)` ranges, trimmed. Fails on an unterminated quote or angle bracket.
pub(crate) fn split_commas(s: &[u8]) -> Result<Vec<(usize, usize)>, &'static str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut angle = false;
    while i < s.len() {
        match s[i] {
            b'"' => {
                i = quoted_end(s, i).ok_or("unterminated quoted string")?;
                continue;
            }
            b'<' => angle = true,
            b'>' => angle = false,
            b',' if !angle => {
                parts.push(trim_range(s, start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if angle {
        return Err("unterminated <");
    }
    parts.push(trim_range(s, start, s.len()));
    Ok(parts)
}

/// Removes the quotes and `\` escapes of a quoted string; returns other input unchanged.
pub(crate) fn unquote(s: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if s.len() >= 2 && s[0] == b'"' && s[s.len() - 1] == b'"' {
        let inner = &s[1..s.len() - 1];
        if !inner.contains(&b'\\') {
            return std::borrow::Cow::Borrowed(inner);
        }
        let mut out = Vec::with_capacity(inner.len());
        let mut i = 0;
        while i < inner.len() {
            if inner[i] == b'\\' && i + 1 < inner.len() {
                i += 1;
            }
            out.push(inner[i]);
            i += 1;
        }
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Parses a decimal number of at most `max` (no sign, no leading/trailing junk).
pub(crate) fn parse_decimal(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_lists_respect_quotes_and_angles() {
        let v = br#""a, b" <sip:x@y;p=1,2>, <sip:z>;q=0.5 , c"#;
        let parts: Vec<&[u8]> = split_commas(v)
            .unwrap()
            .into_iter()
            .map(|(a, b)| &v[a..b])
            .collect();
        assert_eq!(
            parts,
            vec![&br#""a, b" <sip:x@y;p=1,2>"#[..], b"<sip:z>;q=0.5", b"c"]
        );
        assert!(split_commas(b"\"open, x").is_err());
        assert!(split_commas(b"<sip:a, b").is_err());
    }

    #[test]
    fn unquoting() {
        assert_eq!(&*unquote(br#""J Rosenberg \\\"""#), br#"J Rosenberg \""#);
        assert_eq!(&*unquote(b"plain"), b"plain");
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal(b"0068", 255), Some(68));
        assert_eq!(parse_decimal(b"300", 255), None);
        assert_eq!(
            parse_decimal(b"36893488147419103232", u64::from(u32::MAX)),
            None
        );
        assert_eq!(parse_decimal(b"-1", 10), None);
    }
}
