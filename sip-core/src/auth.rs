//! Digest authentication (RFC 3261 §22.4, RFC 2617, RFC 7616 with SHA-256 and `qop=auth`):
//! answering a carrier's 401/407 as a client, and challenging and verifying as a server with
//! stateless, expiring nonces and replay defence.

use std::collections::HashMap;

use bytes::Bytes;
use md5::{Digest, Md5};
use sha2::Sha256;

use crate::{HeaderName, Request, Response, grammar, rng::Rng};

/// A username and password, optionally bound to a realm.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Only answer challenges of this realm (any realm when `None`).
    pub realm: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// Digest hash algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (RFC 2617).
    Md5,
    /// MD5-sess.
    Md5Sess,
    /// SHA-256 (RFC 7616).
    Sha256,
    /// SHA-256-sess.
    Sha256Sess,
}

impl Algorithm {
    fn parse(s: &[u8]) -> Option<Self> {
        match s.to_ascii_uppercase().as_slice() {
            b"MD5" => Some(Self::Md5),
            b"MD5-SESS" => Some(Self::Md5Sess),
            b"SHA-256" => Some(Self::Sha256),
            b"SHA-256-SESS" => Some(Self::Sha256Sess),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex::encode(Md5::digest(data.as_bytes())),
            Self::Sha256 | Self::Sha256Sess => hex::encode(Sha256::digest(data.as_bytes())),
        }
    }

    fn sess(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }
}

/// The parameters of a `Digest` challenge or credentials header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestParams {
    fields: Vec<(String, String)>,
}

impl DigestParams {
    /// Parses `Digest a=b, c="d"` (the scheme must be Digest).
    pub fn parse(value: &[u8]) -> Option<Self> {
        let s = grammar::trim(value);
        let space = s.iter().position(|&b| grammar::is_ws(b))?;
        if !s[..space].eq_ignore_ascii_case(b"Digest") {
            return None;
        }
        let rest = Bytes::copy_from_slice(&s[space..]);
        let mut fields = Vec::new();
        for (a, b) in grammar::split_commas(&rest).ok()? {
            if a == b {
                continue;
            }
            let item = &rest[a..b];
            let eq = item.iter().position(|&c| c == b'=')?;
            let name = String::from_utf8_lossy(grammar::trim(&item[..eq])).to_ascii_lowercase();
            let value = grammar::unquote(grammar::trim(&item[eq + 1..]));
            fields.push((name, String::from_utf8_lossy(&value).into_owned()));
        }
        Some(Self { fields })
    }

    /// A field's (unquoted) value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Computes the digest `response` (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1).
#[allow(
    clippy::too_many_arguments,
    reason = "the digest formula has this many inputs"
)]
fn digest_response(
    alg: Algorithm,
    user: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str, &str)>,
) -> String {
    let mut ha1 = alg.hash(&format!("{user}:{realm}:{password}"));
    if alg.sess()
        && let Some((_, _, cnonce)) = qop
    {
        ha1 = alg.hash(&format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = alg.hash(&format!("{method}:{uri}"));
    match qop {
        Some((qop, nc, cnonce)) => alg.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")),
        None => alg.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// The Authorization (401) or Proxy-Authorization (407) header answering `resp`'s challenge
/// for `req`, if the credentials fit (§22.2).
pub fn answer(
    resp: &Response,
    req: &Request,
    creds: &Credentials,
    rng: &mut Rng,
) -> Option<(HeaderName, Bytes)> {
    let (challenge_name, answer_name) = match resp.status.code() {
        401 => (HeaderName::WwwAuthenticate, HeaderName::Authorization),
        407 => (
            HeaderName::ProxyAuthenticate,
            HeaderName::ProxyAuthorization,
        ),
        _ => return None,
    };
    // Prefer SHA-256 when several challenges are offered (RFC 7616 §3.7).
    let mut best: Option<(Algorithm, DigestParams)> = None;
    for line in resp.headers.get_all(&challenge_name) {
        let Some(p) = DigestParams::parse(line) else {
            continue;
        };
        let Some(alg) = Algorithm::parse(p.get("algorithm").unwrap_or("MD5").as_bytes()) else {
            continue;
        };
        if creds
            .realm
            .as_deref()
            .is_some_and(|r| Some(r) != p.get("realm"))
        {
            continue;
        }
        let better = match &best {
            None => true,
            Some((b, _)) => {
                matches!(alg, Algorithm::Sha256 | Algorithm::Sha256Sess)
                    && !matches!(b, Algorithm::Sha256 | Algorithm::Sha256Sess)
            }
        };
        if better {
            best = Some((alg, p));
        }
    }
    let (alg, p) = best?;
    let realm = p.get("realm").unwrap_or_default();
    let nonce = p.get("nonce")?;
    let uri = req.uri.to_string();
    let method = req.method.to_string();
    let qop_auth = p
        .get("qop")
        .is_some_and(|q| q.split(',').any(|x| x.trim().eq_ignore_ascii_case("auth")));
    let cnonce = rng.hex(16);
    let nc = "00000001";
    let response = digest_response(
        alg,
        &creds.username,
        realm,
        &creds.password,
        &method,
        &uri,
        nonce,
        qop_auth.then_some(("auth", nc, cnonce.as_str())),
    );
    let mut v = format!(
        "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm={}",
        creds.username,
        alg.name()
    );
    if qop_auth {
        v.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
    }
    if let Some(opaque) = p.get("opaque") {
        v.push_str(&format!(", opaque=\"{opaque}\""));
    }
    Some((answer_name, Bytes::from(v)))
}

/// Why a server refused credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials for our realm: challenge.
    #[error("no credentials")]
    Missing,
    /// The nonce is not ours or has expired: challenge again with `stale=true`.
    #[error("stale or unknown nonce")]
    Stale,
    /// The nonce count did not increase: a replay.
    #[error("replayed nonce count")]
    Replay,
    /// Unknown user or wrong password.
    #[error("wrong credentials")]
    Rejected,
    /// Malformed credentials.
    #[error("malformed credentials")]
    Malformed,
}

/// A digest challenger and verifier. Nonces are `timestamp:hmac` (stateless, bound to our
/// secret), valid for `lifetime_secs`; `qop=auth` nonce counts must increase (replay
/// defence). Wall-clock time comes in as Unix seconds.
#[derive(Debug)]
pub struct DigestServer {
    realm: String,
    secret: [u8; 32],
    lifetime_secs: u64,
    algorithm: Algorithm,
    /// Highest nonce count seen per nonce (pruned as nonces expire).
    seen: HashMap<String, (u64, u32)>,
}

impl DigestServer {
    /// A server for `realm` with a random `secret`.
    pub fn new(realm: &str, secret: [u8; 32], lifetime_secs: u64, algorithm: Algorithm) -> Self {
        Self {
            realm: realm.to_string(),
            secret,
            lifetime_secs,
            algorithm,
            seen: HashMap::new(),
        }
    }

    fn mac(&self, issued: u64) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(issued.to_be_bytes());
        h.update(self.realm.as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    /// A `WWW-Authenticate` value (use it as `Proxy-Authenticate` for 407).
    pub fn challenge(&self, now_unix: u64, stale: bool) -> Bytes {
        let nonce = format!("{now_unix:x}.{}", self.mac(now_unix));
        let mut v = format!(
            "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
            self.realm,
            self.algorithm.name()
        );
        if stale {
            v.push_str(", stale=true");
        }
        Bytes::from(v)
    }

    /// Checks the credentials of `req` (in `header`); `password_of` looks up a user's
    /// password. Returns the authenticated username.
    pub fn verify(
        &mut self,
        now_unix: u64,
        req: &Request,
        header: &HeaderName,
        password_of: impl Fn(&str) -> Option<String>,
    ) -> Result<String, AuthError> {
        self.seen
            .retain(|_, (issued, _)| issued.saturating_add(self.lifetime_secs) >= now_unix);
        let line = req
            .headers
            .get_all(header)
            .find(|l| {
                DigestParams::parse(l).is_some_and(|p| p.get("realm") == Some(self.realm.as_str()))
            })
            .ok_or(AuthError::Missing)?;
        let p = DigestParams::parse(line).ok_or(AuthError::Malformed)?;
        let (user, nonce, uri, response) = (
            p.get("username").ok_or(AuthError::Malformed)?,
            p.get("nonce").ok_or(AuthError::Malformed)?,
            p.get("uri").ok_or(AuthError::Malformed)?,
            p.get("response").ok_or(AuthError::Malformed)?,
        );
        let alg = Algorithm::parse(p.get("algorithm").unwrap_or("MD5").as_bytes())
            .ok_or(AuthError::Malformed)?;
        let (issued_hex, mac) = nonce.split_once('.').ok_or(AuthError::Stale)?;
        let issued = u64::from_str_radix(issued_hex, 16).map_err(|_| AuthError::Stale)?;
        if mac != self.mac(issued)
            || issued.saturating_add(self.lifetime_secs) < now_unix
            || issued > now_unix + 5
        {
            return Err(AuthError::Stale);
        }
        let qop = p.get("qop");
        let nc = p.get("nc").and_then(|n| u32::from_str_radix(n, 16).ok());
        let cnonce = p.get("cnonce");
        if qop.is_some() && (nc.is_none() || cnonce.is_none()) {
            return Err(AuthError::Malformed);
        }
        let password = password_of(user).ok_or(AuthError::Rejected)?;
        let nc_text = p.get("nc").unwrap_or_default();
        let expected = digest_response(
            alg,
            user,
            &self.realm,
            &password,
            &req.method.to_string(),
            uri,
            nonce,
            qop.map(|q| (q, nc_text, cnonce.unwrap_or_default())),
        );
        if !constant_time_eq(
            expected.as_bytes(),
            response.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(AuthError::Rejected);
        }
        // Replay defence: with qop the nonce count must grow; without, a nonce is single-use.
        let count = nc.unwrap_or(u32::MAX);
        match self.seen.get_mut(nonce) {
            Some((_, last)) if count <= *last || nc.is_none() => return Err(AuthError::Replay),
            Some((_, last)) => *last = count,
            None => {
                self.seen.insert(nonce.to_string(), (issued, count));
            }
        }
        Ok(user.to_string())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Method, Response, StatusCode, Uri};

    // RFC 2617 §3.5 example: user Mufasa, password "Circle Of Life".
    #[test]
    fn rfc2617_example_response() {
        let r = digest_response(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some(("auth", "00000001", "0a4f113b")),
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    // RFC 7616 §3.9.1 example with SHA-256.
    #[test]
    fn rfc7616_sha256_example_response() {
        let r = digest_response(
            Algorithm::Sha256,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            Some((
                "auth",
                "00000001",
                "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            )),
        );
        assert_eq!(
            r,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    fn request() -> Request {
        let mut r = Request::new(
            Method::Register,
            Uri::parse(Bytes::from_static(b"sip:example.com")).unwrap(),
        );
        r.headers
            .push(HeaderName::CSeq, Bytes::from_static(b"1 REGISTER"));
        r
    }

    #[test]
    fn client_answers_what_the_server_verifies_once() {
        let mut server = DigestServer::new("mediaplane", [7; 32], 300, Algorithm::Sha256);
        let mut resp = Response::new(StatusCode::UNAUTHORIZED);
        resp.headers
            .push(HeaderName::WwwAuthenticate, server.challenge(1000, false));
        let creds = Credentials {
            username: "alice".into(),
            password: "s3cret".into(),
            realm: None,
        };
        let mut rng = Rng::from_seed(1);
        let (name, value) = answer(&resp, &request(), &creds, &mut rng).unwrap();
        assert_eq!(name, HeaderName::Authorization);
        let mut req = request();
        req.headers.push(HeaderName::Authorization, value);
        let lookup = |u: &str| (u == "alice").then(|| "s3cret".to_string());
        assert_eq!(
            server.verify(1010, &req, &HeaderName::Authorization, lookup),
            Ok("alice".into())
        );
        // The same nonce count again is a replay.
        assert_eq!(
            server.verify(1011, &req, &HeaderName::Authorization, lookup),
            Err(AuthError::Replay)
        );
        // Expired nonce.
        assert_eq!(
            server.verify(2000, &req, &HeaderName::Authorization, lookup),
            Err(AuthError::Stale)
        );
        // Wrong password.
        let creds = Credentials {
            password: "nope".into(),
            ..creds
        };
        let (_, value) = answer(&resp, &request(), &creds, &mut rng).unwrap();
        let mut req = request();
        req.headers.push(HeaderName::Authorization, value);
        assert_eq!(
            server.verify(1010, &req, &HeaderName::Authorization, lookup),
            Err(AuthError::Rejected)
        );
    }

    #[test]
    fn realm_binding_and_md5() {
        let mut resp = Response::new(StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        resp.headers.push(
            HeaderName::ProxyAuthenticate,
            Bytes::from_static(b"Digest realm=\"carrier\", nonce=\"abc\", opaque=\"xyz\""),
        );
        let creds = Credentials {
            username: "u".into(),
            password: "p".into(),
            realm: Some("other".into()),
        };
        assert!(answer(&resp, &request(), &creds, &mut Rng::from_seed(1)).is_none());
        let creds = Credentials {
            realm: Some("carrier".into()),
            ..creds
        };
        let (name, value) = answer(&resp, &request(), &creds, &mut Rng::from_seed(1)).unwrap();
        assert_eq!(name, HeaderName::ProxyAuthorization);
        let text = String::from_utf8_lossy(&value);
        assert!(
            text.contains("algorithm=MD5")
                && text.contains("opaque=\"xyz\"")
                && !text.contains("qop"),
            "{text}"
        );
    }
}
