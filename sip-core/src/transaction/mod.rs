//! The four RFC 3261 §17 transaction state machines, with RFC 6026's "Accepted" state for
//! INVITE 2xx. Each machine is passive: the endpoint feeds it messages and timer expiries
//! (with `now`) and carries out the [`Action`]s it returns. Timers live in a small table per
//! transaction ([`Timers`]); the endpoint queues their deadlines and discards stale ones.

mod client;
mod key;
mod server;

use std::{net::SocketAddr, time::Instant};

use bytes::Bytes;
pub(crate) use client::{ClientState, ClientTransaction};
pub(crate) use key::TransactionKey;
pub(crate) use server::{ServerState, ServerTransaction};

use crate::header::Transport;

/// An open stream connection, numbered by the transport shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// The path a message travelled or will travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Transport protocol.
    pub transport: Transport,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// The stream connection, when there is one (responses go back on it, RFC 3261 §18.2.2).
    pub connection: Option<ConnectionId>,
}

/// Bytes to send on a flow. For a stream flow without a connection the shell opens one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where.
    pub flow: Flow,
    /// What.
    pub data: Bytes,
}

/// A transaction timer slot. Each machine uses at most one timer of each slot at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerSlot {
    /// A, E (client) or G (server): retransmission.
    Retransmit = 0,
    /// B, F (client) or H (server): the whole transaction gives up.
    Timeout = 1,
    /// D, K, M (client) or I, J, L (server): linger to absorb retransmissions.
    Linger = 2,
}

/// Deadlines of one transaction, and which changed since the endpoint last looked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    at: [Option<Instant>; 3],
    dirty: [bool; 3],
}

impl Timers {
    pub(crate) fn set(&mut self, slot: TimerSlot, at: Instant) {
        self.at[slot as usize] = Some(at);
        self.dirty[slot as usize] = true;
    }

    pub(crate) fn clear(&mut self, slot: TimerSlot) {
        self.at[slot as usize] = None;
    }

    pub(crate) fn clear_all(&mut self) {
        self.at = [None; 3];
    }

    /// Whether `slot` is armed for exactly `at` (so a queued deadline is still current).
    pub(crate) fn is(&self, slot: TimerSlot, at: Instant) -> bool {
        self.at[slot as usize] == Some(at)
    }

    /// Newly armed deadlines, for the endpoint's queue.
    pub(crate) fn take_new(&mut self) -> impl Iterator<Item = (TimerSlot, Instant)> + '_ {
        [TimerSlot::Retransmit, TimerSlot::Timeout, TimerSlot::Linger]
            .into_iter()
            .filter_map(move |slot| {
                let i = slot as usize;
                let fresh = std::mem::take(&mut self.dirty[i]);
                match self.at[i] {
                    Some(at) if fresh => Some((slot, at)),
                    _ => None,
                }
            })
    }
}

/// What a transaction asks the endpoint to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send these bytes on the transaction's flow.
    Send(Bytes),
    /// Hand the response to the transaction user (client transactions).
    Deliver,
    /// The transaction timed out (Timer B, F, or H without ACK).
    TimedOut,
    /// The transaction is over; remove it.
    Terminate,
}
