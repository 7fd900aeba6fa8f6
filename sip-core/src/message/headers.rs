//! The ordered header list: every header line as received (name normalised, value kept byte
//! for byte after unfolding), typed on demand.

use bytes::Bytes;

use super::HeaderName;
use crate::grammar;

/// One header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name (compact forms are folded into the long form).
    pub name: HeaderName,
    /// The value, trimmed, with folding replaced by a single space.
    pub value: Bytes,
}

/// Header lines in their original order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<Header>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for `n` headers.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// Appends a header line.
    pub fn push(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        self.entries.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Inserts a header line at the top (used for Via).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        self.entries.insert(
            0,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|h| h.name == *name)
            .map(|h| &h.value)
    }

    /// The first line of `name`, mutably.
    pub fn first_mut(&mut self, name: &HeaderName) -> Option<&mut Bytes> {
        self.entries
            .iter_mut()
            .find(|h| h.name == *name)
            .map(|h| &mut h.value)
    }

    /// Every line of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.entries
            .iter()
            .filter(move |h| h.name == *name)
            .map(|h| &h.value)
    }

    /// The first value of the header called `name` (any case, extension headers included).
    pub fn get_named(&self, name: &str) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|h| h.name.is(name))
            .map(|h| &h.value)
    }

    /// How many lines of `name` there are.
    pub fn count(&self, name: &HeaderName) -> usize {
        self.entries.iter().filter(|h| h.name == *name).count()
    }

    /// Whether any line of `name` exists.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.entries.iter().any(|h| h.name == *name)
    }

    /// Removes every line of `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.entries.retain(|h| h.name != *name);
    }

    /// Replaces every line of `name` by one line with `value`, at the first line's place.
    pub fn set(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        let value = value.into();
        match self.entries.iter().position(|h| h.name == name) {
            Some(i) => {
                self.entries[i].value = value;
                let mut seen = false;
                self.entries.retain(|h| {
                    if h.name != name {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                });
            }
            None => self.push(name, value),
        }
    }

    /// All header lines in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.entries.iter()
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every comma-separated value of `name` across all its lines (RFC 3261 §7.3.1), in order.
    pub fn values<'a>(
        &'a self,
        name: &'a HeaderName,
    ) -> impl Iterator<Item = Result<Bytes, &'static str>> + 'a {
        self.get_all(name).flat_map(|line| {
            let parts = grammar::split_commas(line);
            let list: Vec<Result<Bytes, &'static str>> = match parts {
                Ok(ranges) => ranges
                    .into_iter()
                    .filter(|(a, b)| a != b)
                    .map(|(a, b)| Ok(line.slice(a..b)))
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            list
        })
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
