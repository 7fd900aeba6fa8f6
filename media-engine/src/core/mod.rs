//! The sans-IO core of one media worker: its legs and bridges, the packet path (receive,
//! relay, jitter-buffer) and the 20 ms tick (decode, transcode, play, record, DTMF, RTCP).
//!
//! The shell feeds datagrams ([`handle_datagram`](MediaCore::handle_datagram)), commands
//! ([`handle_command`](MediaCore::handle_command)) and time
//! ([`handle_timeout`](MediaCore::handle_timeout)), then sends [`MediaCore::transmits`] and
//! forwards [`MediaCore::poll_event`].

mod bridge;
mod commands;
mod route;
mod snoop;
mod targets;
mod tick;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    time::{Duration, Instant},
};

use crate::{
    command::{BridgeId, LegId, MediaError, MediaEvent, PlaybackId, RecordingId, Target},
    dtmf::DtmfUpdate,
    leg::{Leg, LegSeed, LegSockets, Received, Route},
    rtp,
    stats::NtpClock,
    tx::{SocketId, TxQueue},
};

/// Where a leg's sockets come from: the shell binds them (tests hand out fake ones).
pub trait SocketProvider {
    /// Binds an RTP/RTCP pair.
    fn open(&mut self) -> Result<LegSockets, MediaError>;
    /// Releases a pair.
    fn close(&mut self, sockets: LegSockets);
}

/// A leg taken out of one core to move to another (all of a bridge lives on one worker).
#[derive(Debug)]
pub struct DetachedLeg(Box<Leg>);

impl DetachedLeg {
    /// Its sockets (the shell moves them along).
    pub fn sockets(&self) -> LegSockets {
        self.0.sockets
    }

    /// Its id.
    pub fn id(&self) -> LegId {
        self.0.id
    }

    /// Gives it the socket ids of its new worker.
    pub fn set_sockets(&mut self, rtp: SocketId, rtcp: SocketId) {
        self.0.sockets.rtp = rtp;
        self.0.sockets.rtcp = rtcp;
    }
}

/// Counters of one core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStats {
    /// Legs now.
    pub legs: usize,
    /// Datagrams received.
    pub received: u64,
    /// Packets relayed without decoding.
    pub relayed: u64,
    /// Datagrams for a socket no leg owns.
    pub stray: u64,
    /// Events dropped because nobody drained them.
    pub events_dropped: u64,
}

/// Randomness for SSRCs, sequence numbers and SRTP keys: must be cryptographically strong in
/// production (the shell passes the OS generator).
pub type RandomSource = Box<dyn FnMut(&mut [u8]) + Send>;

/// One worker's media.
pub struct MediaCore {
    legs: Vec<Option<Box<Leg>>>,
    free: Vec<usize>,
    by_id: HashMap<LegId, usize>,
    /// Socket index → (leg slot, is the RTCP socket).
    by_socket: Vec<Option<(usize, bool)>>,
    bridges: HashMap<BridgeId, bridge::Bridge>,
    playbacks: HashMap<PlaybackId, Target>,
    recordings: HashMap<RecordingId, Target>,
    events: VecDeque<MediaEvent>,
    event_scratch: Vec<MediaEvent>,
    dtmf_scratch: Vec<DtmfUpdate>,
    tx: TxQueue,
    ntp: NtpClock,
    next_tick: Instant,
    random: RandomSource,
    stats: CoreStats,
}

impl std::fmt::Debug for MediaCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaCore")
            .field("legs", &self.by_id.len())
            .field("bridges", &self.bridges.len())
            .finish_non_exhaustive()
    }
}

/// Tick period.
pub const TICK: Duration = Duration::from_millis(20);
/// Events kept for the control plane before the oldest are dropped.
const MAX_EVENTS: usize = 65_536;

impl MediaCore {
    /// A core whose clock reads `unix_now` (wall-clock time since 1970, for RTCP) at `now`.
    pub fn new(now: Instant, unix_now: Duration, random: RandomSource) -> Self {
        Self {
            legs: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            by_socket: Vec::new(),
            bridges: HashMap::new(),
            playbacks: HashMap::new(),
            recordings: HashMap::new(),
            events: VecDeque::new(),
            event_scratch: Vec::new(),
            dtmf_scratch: Vec::new(),
            tx: TxQueue::new(),
            ntp: NtpClock::new(now, unix_now),
            next_tick: now + TICK,
            random,
            stats: CoreStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> CoreStats {
        CoreStats {
            legs: self.by_id.len(),
            ..self.stats
        }
    }

    /// Whether the leg lives here.
    pub fn has_leg(&self, leg: LegId) -> bool {
        self.by_id.contains_key(&leg)
    }

    /// Datagrams to send; the shell sends them, then calls [`clear_transmits`](Self::clear_transmits).
    pub fn transmits(&self) -> &TxQueue {
        &self.tx
    }

    /// Forgets the sent datagrams.
    pub fn clear_transmits(&mut self) {
        self.tx.clear();
    }

    /// The next event for the control plane.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run.
    pub fn poll_timeout(&self) -> Instant {
        self.next_tick
    }

    /// Handles a datagram that arrived on `socket` from `from` (decrypted in place).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        socket: SocketId,
        from: SocketAddr,
        data: &mut [u8],
    ) {
        self.stats.received += 1;
        let Some(&Some((slot, is_rtcp))) = self.by_socket.get(socket.0 as usize) else {
            self.stats.stray += 1;
            return;
        };
        let Some(leg) = self.legs[slot].as_deref_mut() else {
            self.stats.stray += 1;
            return;
        };
        let mux = leg.params.as_ref().is_some_and(|p| p.rtcp_mux);
        if is_rtcp || (mux && rtp::is_rtcp(data)) {
            leg.receive_rtcp(now, &self.ntp, from, data);
            return;
        }
        let received = leg.receive_rtp(
            now,
            from,
            data,
            &mut self.event_scratch,
            &mut self.dtmf_scratch,
        );
        let route = if leg.mute_in {
            Route::None
        } else if leg.echo {
            Route::Relay
        } else {
            leg.route
        };
        let peer = if leg.echo { Some(slot) } else { leg.peer };
        self.flush_events();
        if let Some(peer) = peer {
            if !self.dtmf_scratch.is_empty() && peer != slot {
                self.translate_dtmf(slot, peer);
            }
            match received {
                Received::Audio { header, len } | Received::ComfortNoise { header, len }
                    if route == Route::Relay =>
                {
                    self.relay(now, slot, peer, header, &data[..len], received);
                }
                Received::Event { header, len }
                    if route == Route::Relay && self.events_relayable(slot, peer) =>
                {
                    self.relay(now, slot, peer, header, &data[..len], received);
                }
                _ => {}
            }
        }
        self.dtmf_scratch.clear();
    }

    /// Runs the 20 ms tick when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_tick {
            return;
        }
        self.next_tick += TICK;
        if now >= self.next_tick + TICK * 5 {
            // Far behind (the process was stopped): resynchronise instead of catching up.
            self.next_tick = now + TICK;
        }
        self.tick(now);
    }

    fn flush_events(&mut self) {
        for e in self.event_scratch.drain(..) {
            if self.events.len() >= MAX_EVENTS {
                self.events.pop_front();
                self.stats.events_dropped += 1;
            }
            self.events.push_back(e);
        }
    }

    fn push_event(&mut self, e: MediaEvent) {
        self.event_scratch.push(e);
        self.flush_events();
    }

    fn slot(&self, leg: LegId) -> Result<usize, MediaError> {
        self.by_id
            .get(&leg)
            .copied()
            .ok_or(MediaError::UnknownLeg(leg))
    }

    fn leg_mut(&mut self, slot: usize) -> &mut Leg {
        self.legs[slot]
            .as_deref_mut()
            .expect("slots in maps are occupied")
    }

    fn leg(&self, slot: usize) -> &Leg {
        self.legs[slot]
            .as_deref()
            .expect("slots in maps are occupied")
    }

    /// Two distinct legs, mutably.
    fn pair_mut(&mut self, a: usize, b: usize) -> (&mut Leg, &mut Leg) {
        pair_mut(&mut self.legs, a, b)
    }

    fn insert_leg(&mut self, leg: Box<Leg>) -> usize {
        let sockets = leg.sockets;
        let id = leg.id;
        let slot = match self.free.pop() {
            Some(s) => {
                self.legs[s] = Some(leg);
                s
            }
            None => {
                self.legs.push(Some(leg));
                self.legs.len() - 1
            }
        };
        self.by_id.insert(id, slot);
        if !sockets.is_real() {
            return slot;
        }
        for (sock, rtcp) in [(sockets.rtp, false), (sockets.rtcp, true)] {
            let i = sock.0 as usize;
            if self.by_socket.len() <= i {
                self.by_socket.resize(i + 1, None);
            }
            self.by_socket[i] = Some((slot, rtcp));
        }
        slot
    }

    fn remove_leg(&mut self, slot: usize) -> Box<Leg> {
        let leg = self.legs[slot].take().expect("removing an occupied slot");
        self.free.push(slot);
        self.by_id.remove(&leg.id);
        for sock in [leg.sockets.rtp, leg.sockets.rtcp]
            .into_iter()
            .filter(|_| leg.sockets.is_real())
        {
            if let Some(s) = self.by_socket.get_mut(sock.0 as usize) {
                *s = None;
            }
        }
        leg
    }

    /// Random starting points for a new leg.
    fn seed(&mut self) -> LegSeed {
        let r = self.random_u64();
        let r2 = self.random_u64();
        LegSeed {
            ssrc: r as u32,
            seq: (r >> 32) as u16,
            ts: r2 as u32,
            session_id: (r2 >> 33) | 1,
            rtcp_jitter: 0.5 + f64::from((r >> 48) as u16) / 65536.0,
        }
    }

    fn random_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        (self.random)(&mut b);
        u64::from_le_bytes(b)
    }
}

/// Two distinct legs of a slot table, mutably.
fn pair_mut(legs: &mut [Option<Box<Leg>>], a: usize, b: usize) -> (&mut Leg, &mut Leg) {
    let [x, y] = legs
        .get_disjoint_mut([a, b])
        .expect("a leg is never its own peer");
    (
        x.as_deref_mut().expect("peer slots are occupied"),
        y.as_deref_mut().expect("peer slots are occupied"),
    )
}
