//! A deterministic network simulation for the sans-IO endpoint (the str0m `progress` /
//! quinn `Pair::step` pattern): nodes exchange datagrams through a link with delay, jitter
//! (which reorders), loss and drop rules; time jumps straight to the next delivery or timer.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::disallowed_methods
)]

use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::Bytes;
use sip_core::{
    Flow, Message, Rng,
    endpoint::{Endpoint, EndpointConfig, Event, Listener},
    header::Transport,
};

/// One delivered or dropped datagram, for assertions.
#[derive(Debug, Clone)]
pub struct Trace {
    pub at: Duration,
    pub from: usize,
    pub to: usize,
    pub first_line: String,
    pub dropped: bool,
    pub data: Bytes,
}

pub struct Node {
    pub ep: Endpoint,
    pub addr: SocketAddr,
    pub events: Vec<(Duration, Event)>,
}

struct Packet {
    from: usize,
    to: usize,
    flow_local: SocketAddr,
    data: Bytes,
}

/// Decides whether to drop a datagram: `(from, to, first line)`.
pub type DropRule = Box<dyn FnMut(usize, usize, &str) -> bool>;

pub struct Sim {
    pub start: Instant,
    pub now: Instant,
    pub nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    packets: Vec<Option<Packet>>,
    seq: u64,
    rng: Rng,
    pub delay: Duration,
    pub jitter: Duration,
    /// Probability (in 1/1000) that a datagram is lost.
    pub loss_permille: u64,
    /// Drops a datagram when it returns true: `(from, to, first line)`.
    pub drop_rule: Option<DropRule>,
    pub trace: Vec<Trace>,
    pub transport: Transport,
}

pub fn first_line(data: &[u8]) -> String {
    let end = data
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

impl Sim {
    pub fn new(n: usize, seed: u64) -> Self {
        Self::with_config(n, seed, EndpointConfig::default(), Transport::Udp)
    }

    pub fn with_config(n: usize, seed: u64, config: EndpointConfig, transport: Transport) -> Self {
        let start = Instant::now();
        let nodes = (0..n)
            .map(|i| {
                let addr: SocketAddr = format!("192.0.2.{}:5060", i + 1).parse().unwrap();
                let mut ep =
                    Endpoint::new(config.clone(), seed.wrapping_mul(31).wrapping_add(i as u64));
                ep.add_listener(Listener {
                    transport: transport.clone(),
                    local: addr,
                    advertised: None,
                });
                Node {
                    ep,
                    addr,
                    events: Vec::new(),
                }
            })
            .collect();
        Self {
            start,
            now: start,
            nodes,
            queue: BinaryHeap::new(),
            packets: Vec::new(),
            seq: 0,
            rng: Rng::from_seed(seed ^ 0x5eed),
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss_permille: 0,
            drop_rule: None,
            trace: Vec::new(),
            transport,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn node_of(&self, addr: SocketAddr) -> Option<usize> {
        self.nodes.iter().position(|n| n.addr == addr)
    }

    /// Moves transmits into the network and events into the nodes' logs.
    pub fn drain(&mut self) {
        for i in 0..self.nodes.len() {
            while let Some(t) = self.nodes[i].ep.poll_transmit() {
                let Some(to) = self.node_of(t.flow.remote) else {
                    // Addressed outside the simulation: recorded, not delivered.
                    let line = first_line(&t.data);
                    let at = self.now - self.start;
                    self.trace.push(Trace {
                        at,
                        from: i,
                        to: usize::MAX,
                        first_line: line,
                        dropped: false,
                        data: t.data,
                    });
                    continue;
                };
                let line = first_line(&t.data);
                let mut dropped =
                    self.loss_permille > 0 && self.rng.below(1000) < self.loss_permille;
                if let Some(rule) = &mut self.drop_rule {
                    dropped |= rule(i, to, &line);
                }
                self.trace.push(Trace {
                    at: self.now - self.start,
                    from: i,
                    to,
                    first_line: line,
                    dropped,
                    data: t.data.clone(),
                });
                if dropped {
                    continue;
                }
                let jitter = if self.jitter.is_zero() {
                    Duration::ZERO
                } else {
                    Duration::from_micros(self.rng.below(self.jitter.as_micros() as u64))
                };
                let at = self.now + self.delay + jitter;
                self.packets.push(Some(Packet {
                    from: i,
                    to,
                    flow_local: t.flow.local,
                    data: t.data,
                }));
                self.seq += 1;
                self.queue
                    .push(Reverse((at, self.seq, self.packets.len() - 1)));
            }
            let now = self.now - self.start;
            while let Some(e) = self.nodes[i].ep.poll_event() {
                self.nodes[i].events.push((now, e));
            }
        }
    }

    /// The next instant something happens.
    fn next_at(&self) -> Option<Instant> {
        let packet = self.queue.peek().map(|Reverse((at, _, _))| *at);
        let timer = self.nodes.iter().filter_map(|n| n.ep.poll_timeout()).min();
        match (packet, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances to the next delivery or timer; false when nothing is left before `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.drain();
        let Some(at) = self.next_at() else {
            return false;
        };
        if at > limit {
            return false;
        }
        self.now = self.now.max(at);
        while let Some(Reverse((at, _, idx))) = self.queue.peek().copied() {
            if at > self.now {
                break;
            }
            self.queue.pop();
            let p = self.packets[idx].take().unwrap();
            let flow = Flow {
                transport: self.transport.clone(),
                local: self.nodes[p.to].addr,
                remote: p.flow_local,
                connection: None,
            };
            let now = self.now;
            self.nodes[p.to].ep.handle_datagram(now, flow, p.data);
            let _ = p.from;
        }
        let now = self.now;
        for n in &mut self.nodes {
            if n.ep.poll_timeout().is_some_and(|t| t <= now) {
                n.ep.handle_timeout(now);
            }
        }
        self.drain();
        true
    }

    /// Runs until `d` of simulated time has passed.
    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        while self.step(limit) {}
        self.now = self.now.max(limit);
    }

    /// Runs until `cond` holds (checked after each step), at most `d`. Returns whether it held.
    pub fn run_until(&mut self, d: Duration, mut cond: impl FnMut(&Self) -> bool) -> bool {
        let limit = self.now + d;
        loop {
            if cond(self) {
                return true;
            }
            if !self.step(limit) {
                return cond(self);
            }
        }
    }

    /// Removes and returns the first event of node `i` matching `f`.
    pub fn take_event<T>(&mut self, i: usize, mut f: impl FnMut(&Event) -> Option<T>) -> Option<T> {
        let pos = self.nodes[i]
            .events
            .iter()
            .position(|(_, e)| f(e).is_some())?;
        let (_, e) = self.nodes[i].events.remove(pos);
        f(&e)
    }

    /// Runs until node `i` has an event matching `f`, then takes it.
    pub fn expect_event<T>(
        &mut self,
        i: usize,
        d: Duration,
        mut f: impl FnMut(&Event) -> Option<T>,
    ) -> T {
        let found = self.run_until(d, |s| s.nodes[i].events.iter().any(|(_, e)| f(e).is_some()));
        assert!(
            found,
            "node {i}: expected event not seen within {d:?}; events: {:#?}",
            self.nodes[i].events
        );
        self.take_event(i, f).unwrap()
    }

    /// The trace lines sent from `from` whose first line starts with `prefix`.
    pub fn sent(&self, from: usize, prefix: &str) -> Vec<&Trace> {
        self.trace
            .iter()
            .filter(|t| t.from == from && t.first_line.starts_with(prefix))
            .collect()
    }

    pub fn parse(data: Bytes) -> Message {
        sip_core::parse(data).unwrap()
    }

    /// Delivers raw bytes to node `to` as if sent from `from_addr`.
    pub fn inject(&mut self, to: usize, from_addr: SocketAddr, data: &[u8]) {
        let flow = Flow {
            transport: self.transport.clone(),
            local: self.nodes[to].addr,
            remote: from_addr,
            connection: None,
        };
        let now = self.now;
        self.nodes[to]
            .ep
            .handle_datagram(now, flow, Bytes::copy_from_slice(data));
        self.drain_node_to_trace(to, from_addr);
    }

    /// Moves node `i`'s transmits to the trace (also those to addresses outside the sim).
    fn drain_node_to_trace(&mut self, i: usize, _outside: SocketAddr) {
        let now = self.now - self.start;
        let mut keep = Vec::new();
        while let Some(t) = self.nodes[i].ep.poll_transmit() {
            if self.node_of(t.flow.remote).is_some() {
                keep.push(t);
                continue;
            }
            self.trace.push(Trace {
                at: now,
                from: i,
                to: usize::MAX,
                first_line: first_line(&t.data),
                dropped: false,
                data: t.data,
            });
        }
        for t in keep {
            let line = first_line(&t.data);
            let to = self.node_of(t.flow.remote).unwrap();
            self.trace.push(Trace {
                at: now,
                from: i,
                to,
                first_line: line,
                dropped: false,
                data: t.data.clone(),
            });
            self.packets.push(Some(Packet {
                from: i,
                to,
                flow_local: t.flow.local,
                data: t.data,
            }));
            self.seq += 1;
            self.queue.push(Reverse((
                self.now + self.delay,
                self.seq,
                self.packets.len() - 1,
            )));
        }
        while let Some(e) = self.nodes[i].ep.poll_event() {
            self.nodes[i].events.push((now, e));
        }
    }
}
