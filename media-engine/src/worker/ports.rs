//! The RTP port pool: even ports of a range (RTCP on port + 1), handed out round-robin and
//! quarantined for a while after release so a late packet of an old call never reaches a new
//! one.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// Free and quarantined ports.
#[derive(Debug)]
pub struct PortPool {
    free: VecDeque<u16>,
    quarantine: VecDeque<(Instant, u16)>,
    delay: Duration,
}

impl PortPool {
    /// The even ports of `first..=last` (each with its odd neighbour for RTCP).
    pub fn new(first: u16, last: u16, reuse_delay: Duration) -> Self {
        let start = first + (first & 1);
        let free = (start..last).step_by(2).collect();
        Self {
            free,
            quarantine: VecDeque::new(),
            delay: reuse_delay,
        }
    }

    /// A port for a new leg.
    pub fn allocate(&mut self, now: Instant) -> Option<u16> {
        while let Some(&(at, port)) = self.quarantine.front() {
            if now.saturating_duration_since(at) < self.delay {
                break;
            }
            self.quarantine.pop_front();
            self.free.push_back(port);
        }
        self.free.pop_front()
    }

    /// Returns a port; usable again after the reuse delay.
    pub fn release(&mut self, now: Instant, port: u16) {
        self.quarantine.push_back((now, port));
    }

    /// Ports free now (not counting quarantined ones).
    pub fn available(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_ports_round_robin_with_reuse_delay() {
        let t = Instant::now();
        let mut p = PortPool::new(10_001, 10_010, Duration::from_secs(10));
        let got: Vec<u16> = std::iter::from_fn(|| p.allocate(t)).collect();
        assert_eq!(got, [10_002, 10_004, 10_006, 10_008]);
        p.release(t, 10_004);
        assert_eq!(p.allocate(t + Duration::from_secs(9)), None);
        assert_eq!(p.allocate(t + Duration::from_secs(10)), Some(10_004));
    }
}
