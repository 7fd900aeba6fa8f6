//! ARI request parameters: the query string, a form body or a JSON body, merged (JSON keys
//! override query parameters of the same name, as `*_parse_body()` does in res_ari).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::telephony::AriError;

/// Merged parameters of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, Value>,
    /// The JSON body as a whole (for `variables`, `fields`, `filter`).
    pub body: Option<Value>,
}

/// Percent-decodes a form or query component (`+` is a space).
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_urlencoded(s: &str, into: &mut BTreeMap<String, Value>) {
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        into.insert(url_decode(k), Value::String(url_decode(v)));
    }
}

impl Params {
    /// From the query string and the body with its content type.
    pub fn parse(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, AriError> {
        let mut values = BTreeMap::new();
        if let Some(q) = query {
            parse_urlencoded(q, &mut values);
        }
        let mime = content_type
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let mut json_body = None;
        if !body.iter().all(u8::is_ascii_whitespace) {
            match mime.as_str() {
                "application/x-www-form-urlencoded" => {
                    parse_urlencoded(std::str::from_utf8(body).unwrap_or(""), &mut values);
                }
                "application/json" => {
                    let v: Value = serde_json::from_slice(body)
                        .map_err(|_| AriError::bad_request("Error parsing request body"))?;
                    if let Value::Object(m) = &v {
                        for (k, x) in m {
                            values.insert(k.clone(), x.clone());
                        }
                    }
                    json_body = Some(v);
                }
                _ => {}
            }
        }
        Ok(Self {
            values,
            body: json_body,
        })
    }

    /// Adds a path parameter.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.values
            .insert(name.to_string(), Value::String(value.to_string()));
        self
    }

    /// A string parameter (numbers and booleans from JSON read as text).
    pub fn str(&self, name: &str) -> Option<String> {
        match self.values.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
            _ => None,
        }
    }

    /// A required string (400 when missing or empty).
    pub fn required(&self, name: &str) -> Result<String, AriError> {
        self.str(name)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AriError::bad_request(format!("{name} is required")))
    }

    /// A boolean (`ast_true`: yes/true/y/t/1/on).
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, AriError> {
        match self.values.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) => Ok(matches!(
                s.to_ascii_lowercase().as_str(),
                "yes" | "true" | "y" | "t" | "1" | "on"
            )),
            Some(Value::Number(n)) => Ok(n.as_i64().is_some_and(|v| v != 0)),
            Some(_) => Err(AriError::bad_request(format!("{name} must be a boolean"))),
        }
    }

    /// An integer (a JSON number, or text in the query).
    pub fn int(&self, name: &str, default: i64) -> Result<i64, AriError> {
        match self.values.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| AriError::bad_request(format!("{name} must be an integer"))),
            Some(Value::String(s)) if s.is_empty() => Ok(default),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| AriError::bad_request(format!("{name} must be an integer"))),
            Some(_) => Err(AriError::bad_request(format!("{name} must be an integer"))),
        }
    }

    /// A list: comma-separated text or a JSON array (at most 128 values).
    pub fn list(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = match self.values.get(name) {
            Some(Value::String(s)) => s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| match x {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .collect(),
            _ => Vec::new(),
        };
        v.truncate(128);
        v
    }

    /// A media list: like [`list`](Self::list), but a piece without a `scheme:` continues the
    /// one before (`tone:440/1000,0/500` stays one tone list).
    pub fn media(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for item in self.list(name) {
            match out.last_mut() {
                Some(last) if !item.contains(':') => {
                    last.push(',');
                    last.push_str(&item);
                }
                _ => out.push(item),
            }
        }
        out
    }

    /// The `variables` object of the body: `{"K": "v"}` or `{"K": {"value": "v"}}`.
    pub fn variables(&self) -> Vec<(String, String)> {
        let vars = self
            .body
            .as_ref()
            .and_then(|b| b.get("variables"))
            .and_then(Value::as_object);
        let Some(vars) = vars else {
            return Vec::new();
        };
        vars.iter()
            .filter_map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => match o.get("value")? {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                    Value::Null => return None,
                    other => other.to_string(),
                };
                Some((k.clone(), value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_form_and_json_merge() {
        let p =
            Params::parse(Some("app=a%20b&media=sound:x,sound:y&beep=yes"), None, b"").expect("ok");
        assert_eq!(p.str("app").as_deref(), Some("a b"));
        assert_eq!(p.list("media"), ["sound:x", "sound:y"]);
        assert!(p.bool("beep", false).expect("bool"));
        let p = Params::parse(
            Some("type=mixing"),
            Some("application/json; charset=utf-8"),
            br#"{"type":"holding","timeout":30,"variables":{"A":"1","B":{"value":"2"}}}"#,
        )
        .expect("ok");
        assert_eq!(p.str("type").as_deref(), Some("holding"));
        assert_eq!(p.int("timeout", 0).expect("int"), 30);
        assert_eq!(
            p.variables(),
            [("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        let p = Params::parse(
            None,
            Some("application/x-www-form-urlencoded"),
            b"name=x+y&format=wav",
        )
        .expect("ok");
        assert_eq!(p.str("name").as_deref(), Some("x y"));
        assert_eq!(
            Params::parse(None, Some("application/json"), b"{bad")
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(url_decode("asterisk%3Aasterisk"), "asterisk:asterisk");
        assert_eq!(url_decode("100%"), "100%");
    }
}
