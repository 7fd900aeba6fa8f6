//! The tokio shell around the sans-IO endpoint (feature `tokio`): UDP, TCP and TLS sockets
//! (RFC 3261 §18), stream framing by Content-Length with CRLF keep-alives (RFC 5626
//! §3.5.1), connection reuse per peer address, and connections opened on demand.
//!
//! The shell owns no protocol state. Socket tasks feed a bounded channel that [`Network::recv`]
//! drains; [`Network::send`] never blocks. One task (the signalling loop) owns the
//! [`crate::endpoint::Endpoint`] and the [`Network`] and moves bytes between them.

// The shell: the one place that spawns tasks.
#![allow(clippy::disallowed_methods, reason = "the tokio shell owns the tasks")]

mod stream;
mod tls;

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
pub use tls::{TlsIdentity, self_signed_identity};
use tokio::{
    net::{TcpListener, UdpSocket},
    sync::mpsc,
};

use crate::{
    Flow, Host, Message, ParseError, Transmit, endpoint::Listener, header::Transport,
    transaction::ConnectionId,
};

/// What to listen on and how to speak TLS.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// UDP addresses.
    pub udp: Vec<SocketAddr>,
    /// TCP addresses.
    pub tcp: Vec<SocketAddr>,
    /// TLS addresses.
    pub tls: Vec<SocketAddr>,
    /// The address to advertise in Via/Contact when listening on a wildcard or behind NAT.
    pub advertised: Option<IpAddr>,
    /// Our TLS certificate and key; `None` generates a self-signed one (with a warning).
    pub tls_identity: Option<TlsIdentity>,
    /// Extra trusted roots (PEM files) for outgoing TLS, besides the Mozilla roots.
    pub tls_roots: Vec<PathBuf>,
    /// Verify the certificates of TLS servers we connect to.
    pub tls_verify: bool,
    /// Largest message accepted on a stream.
    pub max_message_size: usize,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            udp: Vec::new(),
            tcp: Vec::new(),
            tls: Vec::new(),
            advertised: None,
            tls_identity: None,
            tls_roots: Vec::new(),
            tls_verify: true,
            max_message_size: 65_535,
        }
    }
}

/// What the network delivers to the endpoint.
#[derive(Debug)]
pub enum Input {
    /// A UDP datagram: feed it to `Endpoint::handle_datagram`.
    Datagram {
        /// Where it came from.
        flow: Flow,
        /// The bytes.
        data: Bytes,
    },
    /// A message framed off a stream: feed it to `Endpoint::handle_message`.
    Message {
        /// The connection.
        flow: Flow,
        /// The message.
        message: Box<Message>,
    },
    /// Unparseable bytes on a stream: feed them to `Endpoint::handle_parse_error`.
    ParseError {
        /// The connection.
        flow: Flow,
        /// What went wrong.
        error: ParseError,
    },
    /// A connection closed.
    Closed(ConnectionId),
    /// A connection could not be opened (or its TLS handshake failed): feed it to
    /// `Endpoint::handle_unreachable`.
    Unreachable {
        /// Transport.
        transport: Transport,
        /// The peer.
        remote: SocketAddr,
    },
}

/// Messages from socket tasks to the signalling task.
#[derive(Debug)]
enum Internal {
    Input(Input),
    Connected {
        id: ConnectionId,
        transport: Transport,
        remote: SocketAddr,
        writer: mpsc::Sender<Bytes>,
    },
    Closed(ConnectionId),
    Unreachable(ConnectionId, Transport, SocketAddr),
}

#[derive(Debug)]
struct Connection {
    writer: mpsc::Sender<Bytes>,
    key: (Transport, SocketAddr),
}

/// The sockets of one endpoint.
#[derive(Debug)]
pub struct Network {
    udp: Vec<(SocketAddr, Arc<UdpSocket>)>,
    connections: HashMap<ConnectionId, Connection>,
    by_peer: HashMap<(Transport, SocketAddr), ConnectionId>,
    next_id: Arc<AtomicU64>,
    tx: mpsc::Sender<Internal>,
    rx: mpsc::Receiver<Internal>,
    tls: tls::Tls,
    listeners: Vec<Listener>,
    max_message_size: usize,
}

impl Network {
    /// Binds every configured socket and starts their tasks.
    pub async fn bind(config: &NetworkConfig) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel(4096);
        let next_id = Arc::new(AtomicU64::new(1));
        let tls = tls::Tls::new(config)?;
        let advertised =
            |local: SocketAddr| config.advertised.map(|ip| (Host::from(ip), local.port()));
        let mut listeners = Vec::new();
        let mut udp = Vec::new();
        for addr in &config.udp {
            let socket = Arc::new(UdpSocket::bind(addr).await?);
            let local = socket.local_addr()?;
            listeners.push(Listener {
                transport: Transport::Udp,
                local,
                advertised: advertised(local),
            });
            udp.push((local, socket.clone()));
            tokio::spawn(udp_reader(socket, local, tx.clone()));
        }
        for (addrs, transport) in [(&config.tcp, Transport::Tcp), (&config.tls, Transport::Tls)] {
            for addr in addrs {
                let listener = TcpListener::bind(addr).await?;
                let local = listener.local_addr()?;
                listeners.push(Listener {
                    transport: transport.clone(),
                    local,
                    advertised: advertised(local),
                });
                let acceptor = (transport == Transport::Tls).then(|| tls.acceptor());
                tokio::spawn(stream::accept_loop(
                    listener,
                    acceptor,
                    tx.clone(),
                    next_id.clone(),
                    config.max_message_size,
                ));
            }
        }
        Ok(Self {
            udp,
            connections: HashMap::new(),
            by_peer: HashMap::new(),
            next_id,
            tx,
            rx,
            tls,
            listeners,
            max_message_size: config.max_message_size,
        })
    }

    /// The bound addresses, to add to the endpoint.
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// The PEM of our TLS certificate (clients of a self-signed setup may pin it).
    pub fn tls_certificate_pem(&self) -> &str {
        self.tls.certificate_pem()
    }

    /// The number of open stream connections.
    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// The next input for the endpoint. `None` only if every socket task has ended.
    pub async fn recv(&mut self) -> Option<Input> {
        loop {
            match self.rx.recv().await? {
                Internal::Input(i) => return Some(i),
                Internal::Connected {
                    id,
                    transport,
                    remote,
                    writer,
                } => {
                    let key = (transport, remote);
                    self.by_peer.insert(key.clone(), id);
                    self.connections.insert(id, Connection { writer, key });
                }
                Internal::Closed(id) => {
                    self.forget(id);
                    return Some(Input::Closed(id));
                }
                Internal::Unreachable(id, transport, remote) => {
                    self.forget(id);
                    return Some(Input::Unreachable { transport, remote });
                }
            }
        }
    }

    fn forget(&mut self, id: ConnectionId) {
        if let Some(c) = self.connections.remove(&id)
            && self.by_peer.get(&c.key) == Some(&id)
        {
            self.by_peer.remove(&c.key);
        }
    }

    /// Sends bytes on a flow without waiting: UDP from the matching socket; streams on the
    /// flow's connection, on an open one to the same peer, or on a new one.
    pub fn send(&mut self, t: Transmit) {
        match t.flow.transport {
            Transport::Udp => self.send_udp(t),
            Transport::Tcp | Transport::Tls => self.send_stream(t),
            _ => {
                tracing::warn!(transport = ?t.flow.transport, "no shell for this transport; dropped")
            }
        }
    }

    fn send_udp(&self, t: Transmit) {
        let socket = self
            .udp
            .iter()
            .find(|(local, _)| *local == t.flow.local)
            .or_else(|| {
                self.udp
                    .iter()
                    .find(|(local, _)| local.is_ipv4() == t.flow.remote.is_ipv4())
            })
            .map(|(_, s)| s.clone());
        let Some(socket) = socket else {
            tracing::warn!(remote = %t.flow.remote, "no UDP socket to send from");
            return;
        };
        match socket.try_send_to(&t.data, t.flow.remote) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tokio::spawn(async move {
                    let _ = socket.send_to(&t.data, t.flow.remote).await;
                });
            }
            Err(e) => tracing::debug!(remote = %t.flow.remote, error = %e, "UDP send failed"),
        }
    }

    fn send_stream(&mut self, t: Transmit) {
        let key = (t.flow.transport.clone(), t.flow.remote);
        let id = t
            .flow
            .connection
            .filter(|id| self.connections.contains_key(id))
            .or_else(|| self.by_peer.get(&key).copied());
        if let Some(id) = id
            && let Some(c) = self.connections.get(&id)
        {
            if c.writer.try_send(t.data).is_err() {
                tracing::warn!(remote = %t.flow.remote, "connection backlog full; message dropped");
            }
            return;
        }
        // A new connection: register its writer now so that later messages queue behind the
        // connect.
        let id = ConnectionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (writer, queue) = mpsc::channel(256);
        let _ = writer.try_send(t.data);
        self.by_peer.insert(key.clone(), id);
        self.connections.insert(id, Connection { writer, key });
        let connector = (t.flow.transport == Transport::Tls).then(|| self.tls.connector());
        tokio::spawn(stream::connect(
            id,
            t.flow.transport.clone(),
            t.flow.remote,
            connector,
            queue,
            self.tx.clone(),
            self.max_message_size,
        ));
    }
}

async fn udp_reader(socket: Arc<UdpSocket>, local: SocketAddr, tx: mpsc::Sender<Internal>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, remote)) => {
                let flow = Flow {
                    transport: Transport::Udp,
                    local,
                    remote,
                    connection: None,
                };
                let data = Bytes::copy_from_slice(&buf[..n]);
                if tx
                    .send(Internal::Input(Input::Datagram { flow, data }))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // ICMP port unreachable and friends surface here on some systems; keep reading.
            Err(e) => tracing::trace!(error = %e, "UDP receive error"),
        }
    }
}
