//! [`MediaEngine`]: the control plane's handle on the media workers. It places legs (a call's
//! legs on one worker), routes commands to the worker owning the leg, and moves legs between
//! workers when a bridge needs them together — by chaining worker replies, never blocking.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, atomic::Ordering},
    thread::JoinHandle,
    time::Duration,
};

use super::{Moving, PortPool, WorkerCounters, WorkerMsg, spawn};
use crate::{
    command::{BridgeId, BridgeKind, LegId, MediaCommand, MediaError, MediaEvent, Reply, Target},
    snoop::SnoopDirection,
};

/// How the engine runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Worker threads (0: one per core).
    pub workers: usize,
    /// Address the RTP sockets bind to.
    pub bind: IpAddr,
    /// First RTP port.
    pub port_min: u16,
    /// Last RTP port.
    pub port_max: u16,
    /// How long a released port rests before reuse.
    pub port_reuse_delay: Duration,
    /// Commands queued per worker before senders get [`MediaError::Overloaded`].
    pub command_queue: usize,
    /// Events queued for the control plane before the oldest are dropped.
    pub event_queue: usize,
    /// Socket receive and send buffer sizes.
    pub socket_buffer: usize,
    /// DSCP of media packets (46: EF).
    pub dscp: u8,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            bind: IpAddr::from([127, 0, 0, 1]),
            port_min: 10_000,
            port_max: 20_000,
            port_reuse_delay: Duration::from_secs(10),
            command_queue: 4096,
            event_queue: 65_536,
            socket_buffer: 256 * 1024,
            dscp: 46,
        }
    }
}

/// Engine-wide counters, summed over workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Legs.
    pub legs: u64,
    /// Datagrams received.
    pub received: u64,
    /// Packets relayed without decoding.
    pub relayed: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams the kernel refused.
    pub send_errors: u64,
    /// Events lost because the control plane did not drain them.
    pub events_dropped: u64,
    /// Time the workers spent working (not waiting), summed.
    pub busy: Duration,
}

struct WorkerHandle {
    queue: crossbeam_channel::Sender<WorkerMsg>,
    waker: Arc<mio::Waker>,
    counters: Arc<WorkerCounters>,
}

#[derive(Default)]
struct Placement {
    legs: HashMap<LegId, usize>,
    bridges: HashMap<BridgeId, usize>,
    load: Vec<usize>,
}

struct Inner {
    workers: Vec<WorkerHandle>,
    placement: Mutex<Placement>,
}

impl Inner {
    /// Queues a message; a refused one comes back with the reason.
    fn send(&self, worker: usize, msg: WorkerMsg) -> Result<(), (MediaError, Box<WorkerMsg>)> {
        let w = &self.workers[worker];
        match w.queue.try_send(msg) {
            Ok(()) => {
                let _ = w.waker.wake();
                Ok(())
            }
            Err(crossbeam_channel::TrySendError::Full(m)) => {
                Err((MediaError::Overloaded, Box::new(m)))
            }
            Err(crossbeam_channel::TrySendError::Disconnected(m)) => {
                Err((MediaError::Stopped, Box::new(m)))
            }
        }
    }

    fn placement(&self) -> std::sync::MutexGuard<'_, Placement> {
        self.placement
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The media workers.
pub struct MediaEngine {
    inner: Arc<Inner>,
    threads: Vec<JoinHandle<()>>,
    events: crossbeam_channel::Receiver<MediaEvent>,
    fd_limit: Option<u64>,
}

impl std::fmt::Debug for MediaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaEngine")
            .field("workers", &self.inner.workers.len())
            .finish_non_exhaustive()
    }
}

impl MediaEngine {
    /// Starts the workers.
    /// Raises the process's open-files limit to its hard limit first (two sockets per leg).
    pub fn start(config: &EngineConfig) -> std::io::Result<Self> {
        let fd_limit = super::io::raise_fd_limit().ok();
        let n = if config.workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            config.workers
        };
        let ports = Arc::new(Mutex::new(PortPool::new(
            config.port_min,
            config.port_max,
            config.port_reuse_delay,
        )));
        let (events_tx, events) = crossbeam_channel::bounded(config.event_queue);
        let mut workers = Vec::new();
        let mut threads = Vec::new();
        for i in 0..n {
            let w = spawn(
                i,
                config.bind,
                Arc::clone(&ports),
                config,
                events_tx.clone(),
            )?;
            workers.push(WorkerHandle {
                queue: w.queue,
                waker: w.waker,
                counters: w.counters,
            });
            threads.push(w.thread);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                workers,
                placement: Mutex::new(Placement {
                    load: vec![0; n],
                    ..Placement::default()
                }),
            }),
            threads,
            events,
            fd_limit,
        })
    }

    /// The open-files limit after [`MediaEngine::start`] raised it (`None` if unknown).
    pub fn fd_limit(&self) -> Option<u64> {
        self.fd_limit
    }

    /// Events from every worker.
    pub fn events(&self) -> &crossbeam_channel::Receiver<MediaEvent> {
        &self.events
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.inner.workers.len()
    }

    /// The worker a leg lives on.
    pub fn worker_of(&self, leg: LegId) -> Option<usize> {
        self.inner.placement().legs.get(&leg).copied()
    }

    /// Counters summed over the workers.
    pub fn stats(&self) -> EngineStats {
        let mut s = EngineStats::default();
        for w in &self.inner.workers {
            let c = &w.counters;
            s.legs += c.legs.load(Ordering::Relaxed);
            s.received += c.received.load(Ordering::Relaxed);
            s.relayed += c.relayed.load(Ordering::Relaxed);
            s.sent += c.sent.load(Ordering::Relaxed);
            s.send_errors += c.send_errors.load(Ordering::Relaxed);
            s.events_dropped += c.events_dropped.load(Ordering::Relaxed);
            s.busy += Duration::from_nanos(c.busy_ns.load(Ordering::Relaxed));
        }
        s
    }

    /// Sends a command to the worker that owns its leg (placing new legs). Errors are answered
    /// through the command's reply.
    pub fn command(&self, command: MediaCommand) {
        match command {
            MediaCommand::CreateLeg {
                leg,
                config,
                remote_offer,
                near,
                reply,
            } => self.create(leg, config, remote_offer, near, reply),
            MediaCommand::Destroy { leg, reply } => {
                let worker = {
                    let mut p = self.inner.placement();
                    let w = p.legs.remove(&leg);
                    if let Some(w) = w {
                        p.load[w] = p.load[w].saturating_sub(1);
                    }
                    w
                };
                match worker {
                    Some(w) => self.deliver(w, MediaCommand::Destroy { leg, reply }),
                    None => reply.send(Err(MediaError::UnknownLeg(leg))),
                }
            }
            MediaCommand::Bridge {
                bridge,
                kind,
                legs,
                reply,
            } => self.bridge(bridge, kind, legs, reply),
            MediaCommand::CreateSnoop {
                snoop,
                target,
                spy,
                whisper,
                reply,
            } => self.create_snoop(snoop, target, spy, whisper, reply),
            MediaCommand::DestroyBridge { bridge, reply } => {
                let w = self.inner.placement().bridges.remove(&bridge);
                match w {
                    Some(w) => self.deliver(w, MediaCommand::DestroyBridge { bridge, reply }),
                    None => reply.send(Err(MediaError::UnknownBridge(bridge))),
                }
            }
            other => {
                let Some(target) = target_of(&other) else {
                    return;
                };
                let worker = {
                    let p = self.inner.placement();
                    match target {
                        Target::Leg(l) => p.legs.get(&l).copied(),
                        Target::Bridge(b) => p.bridges.get(&b).copied(),
                    }
                };
                match (worker, target) {
                    (Some(w), _) => self.deliver(w, other),
                    (None, Target::Leg(l)) => fail(other, MediaError::UnknownLeg(l)),
                    (None, Target::Bridge(b)) => fail(other, MediaError::UnknownBridge(b)),
                }
            }
        }
    }

    fn deliver(&self, worker: usize, command: MediaCommand) {
        if let Err((e, m)) = self.inner.send(worker, WorkerMsg::Command(command))
            && let WorkerMsg::Command(c) = *m
        {
            fail(c, e);
        }
    }

    fn create(
        &self,
        leg: LegId,
        config: Box<crate::command::LegConfig>,
        remote_offer: Option<Vec<u8>>,
        near: Option<LegId>,
        reply: Reply<Vec<u8>>,
    ) {
        let worker = {
            let mut p = self.inner.placement();
            if p.legs.contains_key(&leg) {
                drop(p);
                reply.send(Err(MediaError::LegExists(leg)));
                return;
            }
            let w = near
                .and_then(|n| p.legs.get(&n).copied())
                .unwrap_or_else(|| {
                    // The least loaded worker.
                    (0..p.load.len()).min_by_key(|&i| p.load[i]).unwrap_or(0)
                });
            p.legs.insert(leg, w);
            p.load[w] += 1;
            w
        };
        let inner = Arc::clone(&self.inner);
        let reply = Reply::new(move |r: Result<Vec<u8>, MediaError>| {
            if r.is_err() {
                let mut p = inner.placement();
                if p.legs.get(&leg) == Some(&worker) {
                    p.legs.remove(&leg);
                    p.load[worker] = p.load[worker].saturating_sub(1);
                }
            }
            reply.send(r);
        });
        self.deliver(
            worker,
            MediaCommand::CreateLeg {
                leg,
                config,
                remote_offer,
                near,
                reply,
            },
        );
    }

    /// Places a snoop on its target's worker.
    fn create_snoop(
        &self,
        snoop: LegId,
        target: LegId,
        spy: SnoopDirection,
        whisper: SnoopDirection,
        reply: Reply<()>,
    ) {
        let worker = {
            let mut p = self.inner.placement();
            if p.legs.contains_key(&snoop) {
                drop(p);
                reply.send(Err(MediaError::LegExists(snoop)));
                return;
            }
            let Some(w) = p.legs.get(&target).copied() else {
                drop(p);
                reply.send(Err(MediaError::UnknownLeg(target)));
                return;
            };
            p.legs.insert(snoop, w);
            p.load[w] += 1;
            w
        };
        let inner = Arc::clone(&self.inner);
        let reply = Reply::new(move |r: Result<(), MediaError>| {
            if r.is_err() {
                let mut p = inner.placement();
                if p.legs.get(&snoop) == Some(&worker) {
                    p.legs.remove(&snoop);
                    p.load[worker] = p.load[worker].saturating_sub(1);
                }
            }
            reply.send(r);
        });
        self.deliver(
            worker,
            MediaCommand::CreateSnoop {
                snoop,
                target,
                spy,
                whisper,
                reply,
            },
        );
    }

    /// Gathers the legs on the bridge's worker (moving those elsewhere), then bridges them.
    fn bridge(&self, bridge: BridgeId, kind: BridgeKind, legs: Vec<LegId>, reply: Reply<()>) {
        let (target, movers) = {
            let mut p = self.inner.placement();
            let mut located = Vec::new();
            for l in &legs {
                match p.legs.get(l) {
                    Some(w) => located.push((*l, *w)),
                    None => {
                        drop(p);
                        reply.send(Err(MediaError::UnknownLeg(*l)));
                        return;
                    }
                }
            }
            let target = match p.bridges.get(&bridge) {
                Some(w) => *w,
                None => located.first().map_or(0, |l| l.1),
            };
            p.bridges.insert(bridge, target);
            let movers: Vec<(LegId, usize)> =
                located.into_iter().filter(|(_, w)| *w != target).collect();
            for (l, from) in &movers {
                p.legs.insert(*l, target);
                p.load[*from] = p.load[*from].saturating_sub(1);
                p.load[target] += 1;
            }
            (target, movers)
        };
        move_then(
            Arc::clone(&self.inner),
            movers,
            target,
            Box::new(move |inner: Arc<Inner>, r: Result<(), MediaError>| {
                if let Err(e) = r {
                    reply.send(Err(e));
                    return;
                }
                let cmd = MediaCommand::Bridge {
                    bridge,
                    kind,
                    legs,
                    reply,
                };
                if let Err((e, m)) = inner.send(target, WorkerMsg::Command(cmd))
                    && let WorkerMsg::Command(c) = *m
                {
                    fail(c, e);
                }
            }),
        );
    }
}

type Finally = Box<dyn FnOnce(Arc<Inner>, Result<(), MediaError>) + Send>;

/// Moves each leg to `target` in turn (detach on its worker, attach on the target), then
/// runs `finally`. Runs on the worker threads, chained through their replies.
fn move_then(inner: Arc<Inner>, mut movers: Vec<(LegId, usize)>, target: usize, finally: Finally) {
    let Some((leg, from)) = movers.pop() else {
        finally(inner, Ok(()));
        return;
    };
    let next = Arc::clone(&inner);
    let then = Box::new(move |r: Result<Moving, MediaError>| match r {
        Err(e) => finally(next, Err(e)),
        Ok(moving) => {
            let after = Arc::clone(&next);
            let reply = Reply::new(move |r: Result<(), MediaError>| match r {
                Ok(()) => move_then(after, movers, target, finally),
                Err(e) => finally(after, Err(e)),
            });
            let msg = WorkerMsg::Attach {
                moving: Box::new(moving),
                reply,
            };
            if let Err((e, m)) = next.send(target, msg)
                && let WorkerMsg::Attach { reply, .. } = *m
            {
                reply.send(Err(e));
            }
        }
    });
    if let Err((e, m)) = inner.send(from, WorkerMsg::Detach { leg, then })
        && let WorkerMsg::Detach { then, .. } = *m
    {
        then(Err(e));
    }
}

/// The leg or bridge a command is about.
fn target_of(c: &MediaCommand) -> Option<Target> {
    Some(match c {
        MediaCommand::CreateLeg { leg, .. }
        | MediaCommand::RemoteAnswer { leg, .. }
        | MediaCommand::RemoteOffer { leg, .. }
        | MediaCommand::LocalOffer { leg, .. }
        | MediaCommand::Hold { leg, .. }
        | MediaCommand::Unbridge { leg, .. }
        | MediaCommand::SendDtmf { leg, .. }
        | MediaCommand::TalkDetect { leg, .. }
        | MediaCommand::Echo { leg, .. }
        | MediaCommand::Mute { leg, .. }
        | MediaCommand::CreateSnoop { target: leg, .. }
        | MediaCommand::Stats { leg, .. }
        | MediaCommand::Destroy { leg, .. } => Target::Leg(*leg),
        MediaCommand::Play { target, .. }
        | MediaCommand::ControlPlayback { target, .. }
        | MediaCommand::ControlRecording { target, .. }
        | MediaCommand::StopPlayback { target, .. }
        | MediaCommand::Record { target, .. }
        | MediaCommand::StopRecording { target, .. } => *target,
        MediaCommand::Bridge { bridge, .. } | MediaCommand::DestroyBridge { bridge, .. } => {
            Target::Bridge(*bridge)
        }
    })
}

/// Answers a command that could not be delivered.
fn fail(c: MediaCommand, e: MediaError) {
    match c {
        MediaCommand::CreateLeg { reply, .. }
        | MediaCommand::RemoteOffer { reply, .. }
        | MediaCommand::LocalOffer { reply, .. }
        | MediaCommand::Hold { reply, .. } => reply.send(Err(e)),
        MediaCommand::RemoteAnswer { reply, .. }
        | MediaCommand::Bridge { reply, .. }
        | MediaCommand::Unbridge { reply, .. }
        | MediaCommand::DestroyBridge { reply, .. }
        | MediaCommand::Play { reply, .. }
        | MediaCommand::StopPlayback { reply, .. }
        | MediaCommand::Record { reply, .. }
        | MediaCommand::SendDtmf { reply, .. }
        | MediaCommand::TalkDetect { reply, .. }
        | MediaCommand::Echo { reply, .. }
        | MediaCommand::CreateSnoop { reply, .. }
        | MediaCommand::ControlPlayback { reply, .. }
        | MediaCommand::ControlRecording { reply, .. }
        | MediaCommand::Mute { reply, .. } => reply.send(Err(e)),
        MediaCommand::StopRecording { reply, .. } => reply.send(Err(e)),
        MediaCommand::Stats { reply, .. } | MediaCommand::Destroy { reply, .. } => {
            reply.send(Err(e));
        }
    }
}

impl Drop for MediaEngine {
    fn drop(&mut self) {
        for (i, _) in self.inner.workers.iter().enumerate() {
            // A full queue still gets the stop eventually: wait for room.
            let w = &self.inner.workers[i];
            let _ = w.queue.send(WorkerMsg::Stop);
            let _ = w.waker.wake();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
