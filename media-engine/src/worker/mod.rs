//! The media worker shell: one thread per core, each owning a [`MediaCore`], its sockets
//! (edge-triggered epoll through mio, drained with `recvmmsg`, sent with `sendmmsg`) and a
//! bounded command queue. No locks on the packet path; the port pool is shared and locked
//! only when legs come and go.
#![allow(clippy::disallowed_methods)] // the shell owns the clock and the OS randomness

mod engine;
mod io;
mod ports;

use std::{
    net::{IpAddr, SocketAddr},
    os::fd::AsRawFd,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

pub use engine::{EngineConfig, EngineStats, MediaEngine};
pub use ports::PortPool;

use crate::{
    LegSockets,
    command::{LegId, MediaCommand, MediaError, MediaEvent, Reply},
    core::{DetachedLeg, MediaCore, SocketProvider},
    tx::SocketId,
};

const WAKER: mio::Token = mio::Token(usize::MAX);
/// Datagrams per `recvmmsg`.
const BATCH: usize = 32;

/// A leg in transit between workers, with its sockets (none for a snoop).
pub(crate) struct Moving {
    leg: DetachedLeg,
    sockets: Option<(mio::net::UdpSocket, mio::net::UdpSocket)>,
}

type Then = Box<dyn FnOnce(Result<Moving, MediaError>) + Send>;

/// What a worker's queue carries.
pub(crate) enum WorkerMsg {
    Command(MediaCommand),
    Detach {
        leg: LegId,
        then: Then,
    },
    Attach {
        moving: Box<Moving>,
        reply: Reply<()>,
    },
    Stop,
}

/// Counters a worker publishes for metrics.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    pub(crate) received: AtomicU64,
    pub(crate) relayed: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) legs: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
}

/// The sockets of one worker, by [`SocketId`].
struct Sockets {
    table: Vec<Option<mio::net::UdpSocket>>,
    free: Vec<u32>,
    registry: mio::Registry,
    ports: Arc<Mutex<PortPool>>,
    bind: IpAddr,
    buffer: usize,
    dscp: u8,
}

impl Sockets {
    fn insert(&mut self, mut s: mio::net::UdpSocket) -> Result<SocketId, MediaError> {
        let id = self.free.pop().unwrap_or(self.table.len() as u32);
        self.registry
            .register(&mut s, mio::Token(id as usize), mio::Interest::READABLE)
            .map_err(|e| MediaError::Io(e.to_string()))?;
        let i = id as usize;
        if self.table.len() <= i {
            self.table.resize_with(i + 1, || None);
        }
        self.table[i] = Some(s);
        Ok(SocketId(id))
    }

    fn take(&mut self, id: SocketId) -> Option<mio::net::UdpSocket> {
        let mut s = self.table.get_mut(id.0 as usize)?.take()?;
        let _ = self.registry.deregister(&mut s);
        self.free.push(id.0);
        Some(s)
    }

    fn bind(&self, port: u16) -> std::io::Result<mio::net::UdpSocket> {
        use socket2::{Domain, Protocol, Socket, Type};
        let addr = SocketAddr::new(self.bind, port);
        let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        s.set_nonblocking(true)?;
        let _ = s.set_recv_buffer_size(self.buffer);
        let _ = s.set_send_buffer_size(self.buffer);
        // DSCP EF (RFC 3246) for voice.
        let tos = u32::from(self.dscp) << 2;
        if addr.is_ipv4() {
            let _ = s.set_tos_v4(tos);
        } else {
            let _ = s.set_tclass_v6(tos);
        }
        s.bind(&addr.into())?;
        Ok(mio::net::UdpSocket::from_std(s.into()))
    }
}

impl SocketProvider for Sockets {
    fn open(&mut self) -> Result<LegSockets, MediaError> {
        let now = Instant::now();
        for _ in 0..64 {
            let port = self
                .ports
                .lock()
                .map_err(|_| MediaError::NoPorts)?
                .allocate(now)
                .ok_or(MediaError::NoPorts)?;
            let pair = self.bind(port).and_then(|a| Ok((a, self.bind(port + 1)?)));
            match pair {
                Ok((rtp, rtcp)) => {
                    let local = rtp
                        .local_addr()
                        .map_err(|e| MediaError::Io(e.to_string()))?;
                    let rtp = self.insert(rtp)?;
                    let rtcp = self.insert(rtcp)?;
                    return Ok(LegSockets { rtp, rtcp, local });
                }
                Err(_) => {
                    // Taken by someone else: quarantine it and try the next.
                    if let Ok(mut p) = self.ports.lock() {
                        p.release(now, port);
                    }
                }
            }
        }
        Err(MediaError::NoPorts)
    }

    fn close(&mut self, sockets: LegSockets) {
        self.take(sockets.rtp);
        self.take(sockets.rtcp);
        if let Ok(mut p) = self.ports.lock() {
            p.release(Instant::now(), sockets.local.port());
        }
    }
}

/// One worker thread's state.
struct Worker {
    core: MediaCore,
    poll: mio::Poll,
    sockets: Sockets,
    queue: crossbeam_channel::Receiver<WorkerMsg>,
    events: crossbeam_channel::Sender<MediaEvent>,
    recv: io::RecvBatch,
    send: io::SendBatch,
    counters: Arc<WorkerCounters>,
}

/// The OS random source for SSRCs and SRTP keys.
fn os_random() -> crate::core::RandomSource {
    Box::new(|buf: &mut [u8]| {
        if getrandom::fill(buf).is_err() {
            // No OS entropy is a broken host; refuse to make predictable keys.
            panic!("the OS random source failed");
        }
    })
}

impl Worker {
    fn run(mut self) {
        let mut events = mio::Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            let timeout = self.core.poll_timeout().saturating_duration_since(now);
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != std::io::ErrorKind::Interrupted
            {
                tracing::error!(error = %e, "media worker poll failed");
                return;
            }
            let start = Instant::now();
            let mut wake = false;
            for ev in events.iter() {
                if ev.token() == WAKER {
                    wake = true;
                } else {
                    self.drain_socket(start, SocketId(ev.token().0 as u32));
                }
            }
            if wake && !self.drain_queue(start) {
                return;
            }
            self.core.handle_timeout(start);
            self.flush();
            self.forward_events();
            let c = &self.counters;
            let s = self.core.stats();
            c.received.store(s.received, Ordering::Relaxed);
            c.relayed.store(s.relayed, Ordering::Relaxed);
            c.legs.store(s.legs as u64, Ordering::Relaxed);
            c.busy_ns
                .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
    }

    fn drain_socket(&mut self, now: Instant, id: SocketId) {
        let Some(Some(sock)) = self.sockets.table.get(id.0 as usize) else {
            return;
        };
        let fd = sock.as_raw_fd();
        loop {
            let n = match self.recv.recv(fd) {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!(error = %e, socket = id.0, "recvmmsg failed");
                    return;
                }
            };
            for i in 0..n {
                if let Some((from, data)) = self.recv.get(i) {
                    self.core.handle_datagram(now, id, from, data);
                }
            }
            if self.core.transmits().len() >= 256 {
                self.flush();
            }
            // Fewer than asked: the socket is empty (edge-triggered: a new datagram wakes us).
            if n < self.recv.capacity() {
                return;
            }
        }
    }

    fn drain_queue(&mut self, now: Instant) -> bool {
        while let Ok(msg) = self.queue.try_recv() {
            match msg {
                WorkerMsg::Command(cmd) => self.core.handle_command(now, cmd, &mut self.sockets),
                WorkerMsg::Detach { leg, then } => then(self.detach(leg)),
                WorkerMsg::Attach { moving, reply } => reply.send(self.attach(*moving)),
                WorkerMsg::Stop => return false,
            }
            // Commands produce datagrams (BYE) and events too.
            self.flush();
        }
        true
    }

    fn detach(&mut self, leg: LegId) -> Result<Moving, MediaError> {
        let detached = self.core.detach(leg)?;
        let s = detached.sockets();
        if !s.is_real() {
            return Ok(Moving {
                leg: detached,
                sockets: None,
            });
        }
        let rtp = self
            .sockets
            .take(s.rtp)
            .ok_or(MediaError::UnknownLeg(leg))?;
        let rtcp = self
            .sockets
            .take(s.rtcp)
            .ok_or(MediaError::UnknownLeg(leg))?;
        Ok(Moving {
            leg: detached,
            sockets: Some((rtp, rtcp)),
        })
    }

    fn attach(&mut self, moving: Moving) -> Result<(), MediaError> {
        let Moving { mut leg, sockets } = moving;
        if let Some((rtp, rtcp)) = sockets {
            let rtp = self.sockets.insert(rtp)?;
            let rtcp = self.sockets.insert(rtcp)?;
            leg.set_sockets(rtp, rtcp);
        }
        self.core.attach(leg)
    }

    fn flush(&mut self) {
        let tx = self.core.transmits();
        let mut i = 0;
        while i < tx.len() {
            let (sock, _, _) = tx.get(i);
            let mut j = i + 1;
            while j < tx.len() && tx.get(j).0 == sock {
                j += 1;
            }
            if let Some(Some(s)) = self.sockets.table.get(sock.0 as usize) {
                let fd = s.as_raw_fd();
                let run = (i..j).map(|k| {
                    let (_, to, data) = tx.get(k);
                    (to, data)
                });
                match self.send.send(fd, run) {
                    Ok(n) => {
                        self.counters.sent.fetch_add(n as u64, Ordering::Relaxed);
                        let lost = (j - i - n) as u64;
                        if lost > 0 {
                            self.counters.send_errors.fetch_add(lost, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        self.counters
                            .send_errors
                            .fetch_add((j - i) as u64, Ordering::Relaxed);
                    }
                }
            }
            i = j;
        }
        self.core.clear_transmits();
    }

    fn forward_events(&mut self) {
        while let Some(e) = self.core.poll_event() {
            if self.events.try_send(e).is_err() {
                self.counters.events_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A started worker.
pub(crate) struct Spawned {
    pub(crate) queue: crossbeam_channel::Sender<WorkerMsg>,
    pub(crate) waker: Arc<mio::Waker>,
    pub(crate) counters: Arc<WorkerCounters>,
    pub(crate) thread: std::thread::JoinHandle<()>,
}

/// Starts one worker thread.
pub(crate) fn spawn(
    index: usize,
    bind: IpAddr,
    ports: Arc<Mutex<PortPool>>,
    config: &EngineConfig,
    events: crossbeam_channel::Sender<MediaEvent>,
) -> std::io::Result<Spawned> {
    let poll = mio::Poll::new()?;
    let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
    let (tx, rx) = crossbeam_channel::bounded(config.command_queue);
    let counters = Arc::new(WorkerCounters::default());
    let registry = poll.registry().try_clone()?;
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let core = MediaCore::new(Instant::now(), unix, os_random());
    let sockets = Sockets {
        table: Vec::new(),
        free: Vec::new(),
        registry,
        ports,
        bind,
        buffer: config.socket_buffer,
        dscp: config.dscp,
    };
    let worker_counters = Arc::clone(&counters);
    let handle = std::thread::Builder::new()
        .name(format!("mp-media-{index}"))
        .spawn(move || {
            // The batches hold raw pointers for the kernel: built on the thread that uses them.
            Worker {
                core,
                poll,
                sockets,
                queue: rx,
                events,
                recv: io::RecvBatch::new(BATCH),
                send: io::SendBatch::new(),
                counters: worker_counters,
            }
            .run();
        })?;
    Ok(Spawned {
        queue: tx,
        waker,
        counters,
        thread: handle,
    })
}
