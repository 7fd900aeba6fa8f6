//! A small blocking HTTP/1.1 GET over TCP or TLS (rustls, Mozilla roots), for `sound:http(s)://`
//! playbacks. Follows redirects, decodes chunked bodies, refuses bodies over 64 MiB.

use std::{
    io::{Read, Write},
    net::{TcpStream, ToSocketAddrs},
    sync::Arc,
    time::Duration,
};

const MAX_BODY: usize = 64 << 20;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an http(s) URL.
    #[error("bad URL")]
    Url,
    /// Network.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// TLS setup.
    #[error("TLS: {0}")]
    Tls(String),
    /// A status other than 200.
    #[error("HTTP {0}")]
    Status(u16),
    /// A malformed response.
    #[error("malformed response")]
    Malformed,
    /// Too large.
    #[error("body over {MAX_BODY} bytes")]
    TooLarge,
}

struct Url {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse(url: &str) -> Result<Url, FetchError> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(FetchError::Url);
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h, p.parse().map_err(|_| FetchError::Url)?)
        }
        _ => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(FetchError::Url);
    }
    Ok(Url {
        tls,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
        path: path.to_string(),
    })
}

/// GETs `url`, following up to `redirects` redirects.
pub fn get(url: &str, redirects: u8) -> Result<Vec<u8>, FetchError> {
    let u = parse(url)?;
    let addr = (u.host.as_str(), u.port)
        .to_socket_addrs()?
        .next()
        .ok_or(FetchError::Url)?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mediaplane\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        u.path, u.host
    );
    let raw = if u.tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(u.host.clone())
            .map_err(|e| FetchError::Tls(e.to_string()))?;
        let conn = rustls::ClientConnection::new(Arc::new(config), name)
            .map_err(|e| FetchError::Tls(e.to_string()))?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        s.write_all(request.as_bytes())?;
        read_all(&mut s)?
    } else {
        let mut s = tcp;
        s.write_all(request.as_bytes())?;
        read_all(&mut s)?
    };
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(FetchError::Malformed)?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| FetchError::Malformed)?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or(FetchError::Malformed)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if (300..400).contains(&status) && redirects > 0 {
        let loc = header("location").ok_or(FetchError::Malformed)?;
        let next = if loc.starts_with("http") {
            loc.to_string()
        } else {
            format!(
                "{}://{}:{}{}",
                if u.tls { "https" } else { "http" },
                u.host,
                u.port,
                loc
            )
        };
        return get(&next, redirects - 1);
    }
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        return dechunk(body);
    }
    Ok(body.to_vec())
}

fn read_all(r: &mut impl Read) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > MAX_BODY {
                    return Err(FetchError::TooLarge);
                }
            }
            // A TLS peer that closes without close_notify still sent everything.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(out),
            Err(e) => return Err(e.into()),
        }
    }
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(FetchError::Malformed)?;
        let size_text = std::str::from_utf8(&b[..eol]).map_err(|_| FetchError::Malformed)?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| FetchError::Malformed)?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = b.get(..size).ok_or(FetchError::Malformed)?;
        out.extend_from_slice(chunk);
        b = b.get(size + 2..).ok_or(FetchError::Malformed)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_chunks() {
        let u = parse("https://example.com/a/b.wav?x=1").expect("url");
        assert!(u.tls && u.host == "example.com" && u.port == 443 && u.path == "/a/b.wav?x=1");
        let u = parse("http://127.0.0.1:8080").expect("url");
        assert!(!u.tls && u.port == 8080 && u.path == "/");
        assert!(parse("ftp://x").is_err());
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n").expect("chunks"),
            b"Wikipedia"
        );
        assert!(dechunk(b"zz\r\n").is_err());
    }

    #[test]
    fn fetches_from_a_local_server_with_a_redirect() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            for (i, s) in l.incoming().take(2).enumerate() {
                let mut s = s.expect("conn");
                let mut req = [0u8; 1024];
                let _ = s.read(&mut req);
                let reply = if i == 0 {
                    "HTTP/1.1 302 Found\r\nLocation: /real.wav\r\nContent-Length: 0\r\n\r\n"
                        .to_string()
                } else {
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                        .to_string()
                };
                s.write_all(reply.as_bytes()).expect("write");
            }
        });
        let body = get(&format!("http://127.0.0.1:{port}/x.wav"), 3).expect("fetch");
        assert_eq!(body, b"abc");
        server.join().expect("server");
    }
}
