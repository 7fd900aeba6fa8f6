//! Conformance with a real peer: SIPp (Debian `sip-tester`) against a test user agent built
//! on sip-core's endpoint and tokio shell, over UDP and TCP. (This SIPp build has no TLS; the
//! TLS runs use baresip, in `tests/baresip_tls.rs`.)
#![allow(clippy::unwrap_used, reason = "tests")]

mod ua;

use std::time::Duration;

use sip_core::header::Transport;
use testkit::sipp;
use ua::Ua;

fn scenario(name: &str) -> String {
    format!(
        "{}/tests/data/sipp/{name}",
        testkit::package_dir().display()
    )
}

fn transports(ua: &Ua) -> [(&'static str, std::net::SocketAddr, &'static [&'static str]); 2] {
    [
        ("udp", ua.udp, &["-t", "u1"]),
        ("tcp", ua.tcp, &["-t", "t1"]),
    ]
}

#[test]
fn sipp_calls_us_invite_180_200_ack_bye() {
    let ua = Ua::loopback();
    for (name, addr, transport) in transports(&ua) {
        let dir = sipp::run_dir(&format!("uac-{name}"));
        let before = ua.stats();
        let mut args = vec!["-m", "20", "-r", "20", "-d", "200", "-s", "echo"];
        args.extend_from_slice(transport);
        let run = sipp::uac(&dir, "uac", addr, &args, Duration::from_secs(30));
        assert!(run.status.success(), "{name}: {}", run.report());
        assert_eq!(
            (run.successful(), run.failed()),
            (20, 0),
            "{name}: {}",
            run.report()
        );
        let s = ua.stats();
        assert_eq!(s.answered - before.answered, 20, "{name}");
        assert_eq!(s.acks - before.acks, 20, "{name}");
        assert_eq!(s.byes_received - before.byes_received, 20, "{name}");
    }
}

#[test]
fn we_call_sipp_uas() {
    let ua = Ua::loopback();
    for (name, transport, args) in [
        ("udp", Transport::Udp, vec!["-t", "u1"]),
        ("tcp", Transport::Tcp, vec!["-t", "t1"]),
    ] {
        let dir = sipp::run_dir(&format!("uas-{name}"));
        let port = testkit::process::free_tcp_port();
        let mut a = vec!["-m", "10"];
        a.extend(args);
        let uas = sipp::uas(&dir, "uas", port, &a);
        let target = format!("127.0.0.1:{port}").parse().unwrap();
        let before = ua.stats();
        for _ in 0..10 {
            ua.call(
                target,
                transport.clone(),
                "service",
                Duration::from_millis(300),
            );
        }
        let run = sipp::finish(uas, &dir, Duration::from_secs(30));
        assert!(run.status.success(), "{name}: {}", run.report());
        assert_eq!(run.successful(), 10, "{name}: {}", run.report());
        let s = ua.stats();
        assert_eq!(
            (
                s.outgoing_ok - before.outgoing_ok,
                s.byes_sent - before.byes_sent
            ),
            (10, 10),
            "{name}: {s:?}"
        );
    }
}

#[test]
fn sipp_cancels_before_the_answer() {
    let ua = Ua::loopback();
    for (name, addr, transport) in transports(&ua) {
        let dir = sipp::run_dir(&format!("cancel-{name}"));
        let mut args = vec!["-m", "10", "-r", "10"];
        args.extend_from_slice(transport);
        let run = sipp::uac(
            &dir,
            &scenario("cancel.xml"),
            addr,
            &args,
            Duration::from_secs(30),
        );
        assert!(
            run.status.success() && run.successful() == 10,
            "{name}: {}",
            run.report()
        );
    }
    assert_eq!(ua.stats().cancelled, 20);
}

#[test]
fn sipp_reinvites_inside_the_call() {
    let ua = Ua::loopback();
    for (name, addr, transport) in transports(&ua) {
        let dir = sipp::run_dir(&format!("reinvite-{name}"));
        let mut args = vec!["-m", "10", "-r", "10"];
        args.extend_from_slice(transport);
        let run = sipp::uac(
            &dir,
            &scenario("reinvite.xml"),
            addr,
            &args,
            Duration::from_secs(30),
        );
        assert!(
            run.status.success() && run.successful() == 10,
            "{name}: {}",
            run.report()
        );
    }
    assert_eq!(ua.stats().reinvites, 20);
}

#[test]
fn a_bye_for_an_unknown_dialog_gets_481() {
    let ua = Ua::loopback();
    for (name, addr, transport) in transports(&ua) {
        let dir = sipp::run_dir(&format!("bye481-{name}"));
        let mut args = vec!["-m", "5", "-r", "10"];
        args.extend_from_slice(transport);
        let run = sipp::uac(
            &dir,
            &scenario("bye_unknown.xml"),
            addr,
            &args,
            Duration::from_secs(20),
        );
        assert!(
            run.status.success() && run.successful() == 5,
            "{name}: {}",
            run.report()
        );
    }
}

#[test]
fn the_2xx_is_retransmitted_while_sipp_withholds_the_ack() {
    let ua = Ua::loopback();
    let dir = sipp::run_dir("noack");
    let run = sipp::uac(
        &dir,
        &scenario("withhold_ack.xml"),
        ua.udp,
        &["-m", "1", "-trace_msg"],
        Duration::from_secs(30),
    );
    assert!(
        run.status.success() && run.successful() == 1,
        "{}",
        run.report()
    );
    assert_eq!(ua.stats().acks, 1);
    // SIPp's trace: the 200 for the INVITE arrived three times (0, T1, 3·T1), none after the
    // ACK; then the 200 for the BYE.
    let log = run.messages();
    // One block per message: "UDP message received [n] bytes :" or "... sent (n bytes):".
    let mut blocks: Vec<(bool, String)> = Vec::new();
    for line in log.lines() {
        if line.starts_with("UDP message ") {
            blocks.push((line.contains("received"), String::new()));
        } else if let Some((_, text)) = blocks.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    let received = |what: &str, cseq: &str| {
        blocks
            .iter()
            .filter(|(rx, m)| *rx && m.trim_start().starts_with(what) && m.contains(cseq))
            .count()
    };
    assert_eq!(received("SIP/2.0 200", "CSeq: 1 INVITE"), 3, "{log}");
    assert_eq!(received("SIP/2.0 200", "CSeq: 2 BYE"), 1, "{log}");
    let ack_at = blocks
        .iter()
        .position(|(rx, m)| !*rx && m.trim_start().starts_with("ACK"))
        .unwrap();
    assert!(
        !blocks[ack_at..]
            .iter()
            .any(|(rx, m)| *rx && m.contains("CSeq: 1 INVITE")),
        "a 2xx after the ACK: {log}"
    );
}

#[test]
fn a_malformed_header_gets_400_naming_it() {
    let ua = Ua::loopback();
    for (name, addr, transport) in transports(&ua) {
        let dir = sipp::run_dir(&format!("malformed-{name}"));
        let mut args = vec!["-m", "3", "-r", "10"];
        args.extend_from_slice(transport);
        let run = sipp::uac(
            &dir,
            &scenario("malformed.xml"),
            addr,
            &args,
            Duration::from_secs(20),
        );
        assert!(
            run.status.success() && run.successful() == 3,
            "{name}: {}",
            run.report()
        );
    }
    assert_eq!(ua.stats().invites, 0, "never reached the transaction user");
}

#[test]
fn a_crlf_keepalive_ping_gets_a_pong_on_tcp() {
    // RFC 5626 §3.5.1: CRLF CRLF is a ping; the answer is one CRLF, and the connection stays.
    use std::io::{Read, Write};
    let ua = Ua::loopback();
    let mut s = std::net::TcpStream::connect(ua.tcp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    for _ in 0..3 {
        s.write_all(b"\r\n\r\n").unwrap();
        let mut pong = [0u8; 2];
        s.read_exact(&mut pong).unwrap();
        assert_eq!(&pong, b"\r\n");
    }
    // The same connection still carries SIP: an OPTIONS gets 200.
    let options = "OPTIONS sip:ua@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKka\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:ua@127.0.0.1>\r\nCall-ID: ka\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    s.write_all(options.as_bytes()).unwrap();
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"SIP/2.0 200 ");
}
