//! A minimal WebSocket client (RFC 6455) over `std::net` that reads text messages: enough to
//! follow an ARI `/events` stream from a load harness or a test.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

/// An open WebSocket.
#[derive(Debug)]
pub struct WsClient {
    stream: BufReader<TcpStream>,
}

impl WsClient {
    /// Connects and upgrades `GET path`; `None` unless the server answers 101.
    pub fn connect(addr: SocketAddr, path: &str) -> Option<Self> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        stream.set_nodelay(true).ok()?;
        // RFC 6455 §4.1: any 16-byte nonce, base64 ("the sample nonce" here).
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).ok()?;
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).ok()?;
        if status.split_whitespace().nth(1) != Some("101") {
            return None;
        }
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).ok()?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Some(Self { stream: reader })
    }

    /// Sets how long [`WsClient::next_text`] waits.
    pub fn set_timeout(&self, timeout: Option<Duration>) {
        let _ = self.stream.get_ref().set_read_timeout(timeout);
    }

    /// The next text message; `None` at close, error or timeout. Pings are answered.
    pub fn next_text(&mut self) -> Option<String> {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.stream.read_exact(&mut head).ok()?;
            let fin = head[0] & 0x80 != 0;
            let opcode = head[0] & 0x0f;
            let masked = head[1] & 0x80 != 0;
            let len = match head[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.stream.read_exact(&mut b).ok()?;
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.stream.read_exact(&mut b).ok()?;
                    u64::from_be_bytes(b)
                }
                n => u64::from(n),
            };
            let mut mask = [0u8; 4];
            if masked {
                self.stream.read_exact(&mut mask).ok()?;
            }
            let mut payload = vec![0u8; usize::try_from(len).ok()?];
            self.stream.read_exact(&mut payload).ok()?;
            if masked {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= mask[i % 4];
                }
            }
            match opcode {
                0x8 => return None,
                0x9 => self.send(0xA, &payload)?,
                0xA => {}
                _ => {
                    message.extend_from_slice(&payload);
                    if fin {
                        return String::from_utf8(message).ok();
                    }
                }
            }
        }
    }

    /// Sends a masked frame (clients must mask, RFC 6455 §5.3).
    fn send(&mut self, opcode: u8, payload: &[u8]) -> Option<()> {
        let mask = [0x5a, 0xa5, 0x3c, 0xc3];
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 0xffff => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.get_mut().write_all(&f).ok()
    }

    /// Closes politely.
    pub fn close(mut self) {
        let _ = self.send(0x8, &[]);
    }
}
