//! Outgoing datagrams of one processing round, in reusable buffers: the core fills them, the
//! shell sends them (in batches) and clears the queue. No allocation in steady state.

use std::net::SocketAddr;

/// A socket of the shell, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub u32);

/// Datagrams to send.
#[derive(Debug, Default)]
pub struct TxQueue {
    bufs: Vec<Vec<u8>>,
    meta: Vec<(SocketId, SocketAddr)>,
}

impl TxQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// A cleared buffer to build the next datagram in; it is sent only once
    /// [`commit`](Self::commit)ted (otherwise the next call hands it out again).
    pub fn next_buf(&mut self) -> &mut Vec<u8> {
        let n = self.meta.len();
        if self.bufs.len() == n {
            self.bufs.push(Vec::with_capacity(1500));
        }
        let b = &mut self.bufs[n];
        b.clear();
        b
    }

    /// Queues the buffer from [`next_buf`](Self::next_buf) for `to` through `socket`.
    pub fn commit(&mut self, socket: SocketId, to: SocketAddr) {
        debug_assert!(self.bufs.len() > self.meta.len(), "commit without next_buf");
        self.meta.push((socket, to));
    }

    /// Queues a copy of `data`.
    pub fn push(&mut self, socket: SocketId, to: SocketAddr, data: &[u8]) {
        self.next_buf().extend_from_slice(data);
        self.commit(socket, to);
    }

    /// Queued datagrams.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// The `i`th datagram.
    pub fn get(&self, i: usize) -> (SocketId, SocketAddr, &[u8]) {
        let (s, a) = self.meta[i];
        (s, a, &self.bufs[i])
    }

    /// The datagrams in order.
    pub fn iter(&self) -> impl Iterator<Item = (SocketId, SocketAddr, &[u8])> + '_ {
        self.meta
            .iter()
            .zip(&self.bufs)
            .map(|(&(s, a), b)| (s, a, b.as_slice()))
    }

    /// Forgets everything queued, keeping the buffers.
    pub fn clear(&mut self) {
        self.meta.clear();
    }
}
