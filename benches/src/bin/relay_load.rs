//! Loopback relay load on one media worker: `calls` bridged PCMU calls, both far ends of each
//! sending a 172-byte RTP packet every 20 ms (50 pps per direction, 100 pps per call), for
//! `seconds`. A second thread drains and checks everything relayed back. Prints the worker's
//! forwarded packets per second of CPU (the "per core" figure), loss and memory per call.
//!
//! `cargo run --release -p benches --bin relay-load -- [calls] [seconds] [no-te]` (default
//! 1000 20). The far ends offer telephone-event unless `no-te` is given; without it every leg
//! also runs in-band DTMF detection (decoding what it relays).
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    reason = "a load tool"
)]

use std::{
    net::{SocketAddr, UdpSocket},
    os::fd::AsRawFd,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use media_engine::{
    Pt, Ssrc,
    command::{BridgeId, LegId, MediaCommand, Reply},
    rtp,
    sdp::SessionDescription,
    worker::{EngineConfig, MediaEngine},
};

/// CPU seconds (user + system) of the thread named `name` in this process.
fn thread_cpu(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            let f: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().collect())
                .unwrap_or_default();
            let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            return (tick(11) + tick(12)) / 100.0;
        }
    }
    0.0
}

/// Resident memory of the process in bytes.
fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

fn raise_nofile() {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut l) == 0 {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &raw const l);
        }
    }
}

fn offer(port: u16, te: bool) -> Vec<u8> {
    let (fmt, map) = if te {
        (" 101", "a=rtpmap:101 telephone-event/8000\r\n")
    } else {
        ("", "")
    };
    format!("v=0\r\no=load 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0{fmt}\r\na=rtpmap:0 PCMU/8000\r\n{map}a=rtcp-mux\r\n").into_bytes()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let te = args.next().as_deref() != Some("no-te");
    raise_nofile();
    let engine = MediaEngine::start(&EngineConfig {
        workers: 1,
        port_min: 20_000,
        port_max: 60_000,
        socket_buffer: 1 << 20,
        ..EngineConfig::default()
    })
    .expect("engine");

    let rss_before = rss();
    let mut far: Vec<(UdpSocket, SocketAddr)> = Vec::with_capacity(2 * calls);
    for c in 0..calls {
        for side in 0..2 {
            let s = UdpSocket::bind("127.0.0.1:0").expect("far end");
            s.set_nonblocking(true).unwrap();
            let (reply, rx) = Reply::channel();
            let leg = LegId((2 * c + side) as u64);
            engine.command(MediaCommand::CreateLeg {
                leg,
                config: Box::default(),
                remote_offer: Some(offer(s.local_addr().unwrap().port(), te)),
                near: (side == 1).then_some(LegId((2 * c) as u64)),
                reply,
            });
            let answer = rx.recv().unwrap().expect("leg");
            let sdp = SessionDescription::from_bytes(&answer).unwrap();
            let ours = SocketAddr::new(sdp.connection().unwrap(), sdp.media[0].port);
            far.push((s, ours));
        }
        let (reply, rx) = Reply::channel();
        engine.command(MediaCommand::Bridge {
            bridge: BridgeId(c as u64),
            kind: media_engine::command::BridgeKind::Mixing,
            legs: vec![LegId((2 * c) as u64), LegId((2 * c + 1) as u64)],
            reply,
        });
        rx.recv().unwrap().expect("bridge");
    }
    // Let the first RTCP reports and allocations settle, then measure.
    std::thread::sleep(Duration::from_millis(200));
    let rss_calls = rss().saturating_sub(rss_before);

    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let fds: Vec<i32> = far.iter().map(|(s, _)| s.as_raw_fd()).collect();
    let drain = {
        let (stop, received, bad) = (stop.clone(), received.clone(), bad.clone());
        std::thread::spawn(move || {
            let mut poll = mio::Poll::new().unwrap();
            for (i, fd) in fds.iter().enumerate() {
                poll.registry()
                    .register(
                        &mut mio::unix::SourceFd(fd),
                        mio::Token(i),
                        mio::Interest::READABLE,
                    )
                    .unwrap();
            }
            let mut events = mio::Events::with_capacity(1024);
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                let _ = poll.poll(&mut events, Some(Duration::from_millis(50)));
                for e in events.iter() {
                    let fd = fds[e.token().0];
                    loop {
                        // SAFETY: recv into a stack buffer of the given length.
                        let n = unsafe {
                            libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
                        };
                        if n <= 0 {
                            break;
                        }
                        let n = n as usize;
                        if rtp::is_rtcp(&buf[..n]) {
                            continue;
                        }
                        if n == 172 && buf[12] == buf[171] {
                            received.fetch_add(1, Ordering::Relaxed);
                        } else {
                            bad.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        })
    };

    let cpu0 = thread_cpu("mp-media-0");
    let relayed0 = engine.stats().relayed;
    let start = Instant::now();
    let mut sent = 0u64;
    let mut packet = vec![0u8; 172];
    let mut tick = start;
    let mut seq = 0u16;
    while start.elapsed() < Duration::from_secs(seconds) {
        for (i, (s, to)) in far.iter().enumerate() {
            rtp::write_header(
                &mut packet,
                false,
                Pt(0),
                seq,
                u32::from(seq) * 160,
                Ssrc(i as u32),
            );
            packet[12..].fill(seq as u8);
            if s.send_to(&packet, to).is_ok() {
                sent += 1;
            }
        }
        seq = seq.wrapping_add(1);
        tick += Duration::from_millis(20);
        if let Some(d) = tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(200));
    let cpu = thread_cpu("mp-media-0") - cpu0;
    let relayed = engine.stats().relayed - relayed0;
    stop.store(true, Ordering::Relaxed);
    drain.join().unwrap();
    let got = received.load(Ordering::Relaxed);
    println!("calls                      {calls} (telephone-event offered: {te})");
    println!(
        "offered                    {:.0} pps ({sent} packets in {elapsed:.1} s)",
        sent as f64 / elapsed
    );
    println!(
        "relayed by the worker      {:.0} pps",
        relayed as f64 / elapsed
    );
    println!(
        "received by the far ends   {got} ({:.3}% loss, {} malformed)",
        100.0 * (1.0 - got as f64 / sent.max(1) as f64),
        bad.load(Ordering::Relaxed)
    );
    println!(
        "worker CPU                 {cpu:.2} s = {:.1}% of one core",
        100.0 * cpu / elapsed
    );
    println!(
        "forwarded per core-second  {:.0} pps",
        relayed as f64 / cpu.max(0.001)
    );
    println!(
        "memory per relayed call    {:.1} KiB (RSS growth while setting up)",
        rss_calls as f64 / calls as f64 / 1024.0
    );
    let s = engine.stats();
    println!("send errors                {}", s.send_errors);
}
