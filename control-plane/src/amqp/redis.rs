//! `asterisk.<id>.address-internal` in Redis (voipbin-contract.md §7): call-manager reads it to
//! build SIP and media URIs towards this instance. Set with a 24 h TTL and refreshed every
//! 5 minutes, as asterisk-proxy does. A few RESP commands over one short connection each time:
//! no client library for three commands.

use std::{net::Ipv4Addr, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    sync::watch,
};

use crate::config::RedisConfig;

/// Time to live of the key.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// How often the key is written again.
pub const REFRESH: Duration = Duration::from_secs(300);

/// The key for an instance.
pub fn key(instance_id: &str) -> String {
    format!("asterisk.{instance_id}.address-internal")
}

/// Keeps the key until `stop` (retrying every 10 s while Redis cannot be reached).
pub async fn run(config: RedisConfig, instance_id: String, mut stop: watch::Receiver<bool>) {
    let Some(address) = config.address.clone() else {
        return;
    };
    let address = address
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_string();
    let ip = config.internal_address.unwrap_or_else(internal_ipv4);
    let key = key(&instance_id);
    let mut failing = false;
    loop {
        let pause = match set(&address, &config, &key, &ip.to_string()).await {
            Ok(()) => {
                if failing {
                    tracing::info!(%key, "Redis reachable again");
                }
                tracing::debug!(%key, %ip, "internal address published");
                failing = false;
                REFRESH
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(%address, error = %e, "cannot publish the internal address in Redis; retrying");
                }
                failing = true;
                Duration::from_secs(10)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
    }
}

/// `AUTH`, `SELECT`, `SET key value EX ttl` on a fresh connection.
async fn set(address: &str, config: &RedisConfig, key: &str, value: &str) -> Result<(), String> {
    let work = async {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = BufReader::new(stream);
        if let Some(pw) = &config.password {
            command(&mut conn, &["AUTH", pw]).await?;
        }
        let db = config.database.to_string();
        command(&mut conn, &["SELECT", &db]).await?;
        let ttl = TTL.as_secs().to_string();
        command(&mut conn, &["SET", key, value, "EX", &ttl]).await
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// Sends one command as a RESP array of bulk strings; expects a simple-string reply.
async fn command(conn: &mut BufReader<TcpStream>, args: &[&str]) -> Result<(), String> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    conn.get_mut()
        .write_all(&out)
        .await
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    conn.read_line(&mut line).await.map_err(|e| e.to_string())?;
    match line.as_bytes().first() {
        Some(b'+') => Ok(()),
        Some(b'-') => Err(format!("{} refused: {}", args[0], line.trim_end())),
        _ => Err(format!(
            "unexpected reply to {}: {:?}",
            args[0],
            line.trim_end()
        )),
    }
}

/// The host's IPv4 towards the network: the source address the kernel picks for an outside
/// destination (no packet is sent), else loopback.
pub fn internal_ipv4() -> Ipv4Addr {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| {
        s.connect("10.255.255.255:9")?;
        s.local_addr()
    });
    match probe.map(|a| a.ip()) {
        Ok(std::net::IpAddr::V4(ip)) if !ip.is_unspecified() => ip,
        _ => Ipv4Addr::LOCALHOST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_form() {
        assert_eq!(
            key("42:01:0a:a4:0f:d0"),
            "asterisk.42:01:0a:a4:0f:d0.address-internal"
        );
    }
}
