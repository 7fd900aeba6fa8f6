//! `calls` mode: SIPp → mediaplane → (ARI: answer, originate, bridge) → SIPp UAS.

use std::{
    collections::HashSet,
    path::Path,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use serde_json::Value;
use testkit::{
    http::Client,
    process::{Running, free_udp_port},
    require, sipp,
    ws::WsClient,
};

use crate::{mediaplane::Mediaplane, percentiles};

const KEY: &str = "api_key=asterisk:asterisk";

/// SIPp UAC: one call to `[service]`, PCMA both ways: `rtp_stream` sends the audio file in
/// a loop from a bound UDP socket until the call ends.
const UAC: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac pcma stream">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpstream_audio_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop><action><exec rtp_stream="AUDIO,-1,8"/></action></nop>
  <pause milliseconds="CALL_MS"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"#;

/// SIPp UAS: answers PCMA, streams the same audio back, waits for the BYE.
const UAS: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas pcma stream">
  <recv request="INVITE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpstream_audio_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
    ]]>
  </send>
  <recv request="ACK"/>
  <nop><action><exec rtp_stream="AUDIO,-1,8"/></action></nop>
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"#;

/// 10 s of speech-like PCMA (two partials, syllable-rate envelope), headerless, as
/// `rtp_stream` sends it.
fn speech_alaw(path: &Path) {
    let pcm: Vec<i16> = (0..80_000u32)
        .map(|n| {
            let t = f64::from(n) / 8000.0;
            let env = 0.5 + 0.5 * (t * std::f64::consts::TAU * 4.0).sin();
            let s = (t * std::f64::consts::TAU * 220.0).sin()
                + 0.5 * (t * std::f64::consts::TAU * 660.0).sin();
            (s * env * 5000.0) as i16
        })
        .collect();
    let mut out = vec![0u8; pcm.len()];
    codec_transcoder::g711::encode_alaw(&pcm, &mut out);
    std::fs::write(path, out).unwrap();
}

#[derive(Default)]
struct Stats {
    answer: Vec<Duration>,
    add_channel: Vec<Duration>,
    errors: Vec<String>,
    active: HashSet<String>,
}

/// Follows the `load` app's events and drives each call.
struct Controller {
    http: Client,
    uas: u16,
    stats: Stats,
    bridged: Arc<AtomicU64>,
}

impl Controller {
    fn post(&mut self, path: &str) -> (u16, Duration) {
        let t = Instant::now();
        let r = self.http.request("POST", path, &[], &[]);
        let took = t.elapsed();
        match r {
            Some(r) if r.status < 300 => (r.status, took),
            Some(r) => {
                self.stats
                    .errors
                    .push(format!("POST {path}: {} {}", r.status, r.text()));
                (r.status, took)
            }
            None => {
                self.stats.errors.push(format!("POST {path}: no response"));
                (0, took)
            }
        }
    }

    fn delete(&mut self, path: &str) {
        let _ = self.http.request("DELETE", path, &[], &[]);
    }

    fn handle(&mut self, e: &Value) {
        let kind = e["type"].as_str().unwrap_or_default();
        let id = e["channel"]["id"].as_str().unwrap_or_default().to_string();
        match kind {
            "StasisStart" if e["args"][0] == "b" => {
                let a = e["args"][1].as_str().unwrap_or_default().to_string();
                self.post(&format!("/ari/bridges?type=mixing&bridgeId=br-{a}&{KEY}"));
                let (status, took) = self.post(&format!(
                    "/ari/bridges/br-{a}/addChannel?channel={a},{id}&{KEY}"
                ));
                if status == 204 {
                    self.stats.add_channel.push(took);
                    self.bridged.fetch_add(1, Ordering::Relaxed);
                }
            }
            "StasisStart" => {
                self.stats.active.insert(id.clone());
                let (status, took) = self.post(&format!("/ari/channels/{id}/answer?{KEY}"));
                if status == 204 {
                    self.stats.answer.push(took);
                }
                let uas = self.uas;
                self.post(&format!(
                    "/ari/channels?endpoint=pjsip/call-out/sip:load@127.0.0.1:{uas}&app=load\
                     &appArgs=b,{id}&channelId={id}-b&{KEY}"
                ));
            }
            "StasisEnd" if self.stats.active.remove(&id) => {
                self.delete(&format!("/ari/channels/{id}-b?{KEY}"));
                self.delete(&format!("/ari/bridges/br-{id}?{KEY}"));
            }
            "ChannelDestroyed" if id.ends_with("-b") && e["cause"] != 16 => {
                self.stats
                    .errors
                    .push(format!("outbound leg {id} ended with cause {}", e["cause"]));
            }
            _ => {}
        }
    }
}

/// Runs the call load and prints the figures.
pub(crate) fn run(calls: u64, hold: u64, cps: u64) {
    let mp = Mediaplane::start("load");
    let udp_errors0 = udp_receive_errors();
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = mp.rss();
    let ramp = calls.div_ceil(cps);
    let call_secs = ramp + hold;
    let dir = sipp::run_dir("ari-load");
    let audio = dir.join("speech.alaw");
    speech_alaw(&audio);
    let audio = audio.to_str().unwrap();
    std::fs::write(
        dir.join("uac.xml"),
        UAC.replace("AUDIO", audio)
            .replace("CALL_MS", &(call_secs * 1000).to_string()),
    )
    .unwrap();
    std::fs::write(dir.join("uas.xml"), UAS.replace("AUDIO", audio)).unwrap();

    let uas_port = free_udp_port();
    let uas_dir = sipp::run_dir("ari-load-uas");
    // Both SIPp run at nice 10: the load generators share the machine with mediaplane and
    // must not take its CPU first (it would have the host to itself in production).
    let mut cmd = Command::new("nice");
    cmd.current_dir(&uas_dir)
        .args(["-n", "10"])
        .arg(require("sipp"))
        .args(["-sf", dir.join("uas.xml").to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", &uas_port.to_string()])
        .args(["-mp", "45000", "-nostdin", "-trace_err"]);
    let uas = Running::spawn("sipp uas", &mut cmd);
    testkit::process::wait_until("sipp uas to listen", Duration::from_secs(10), || {
        std::net::UdpSocket::bind(("127.0.0.1", uas_port)).is_err()
    });

    // The ARI client: one WebSocket reader, one controller.
    let mut ws = WsClient::connect(mp.ari, &format!("/ari/events?app=load&{KEY}"))
        .expect("events WebSocket");
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        while let Some(text) = ws.next_text() {
            if let Ok(v) = serde_json::from_str::<Value>(&text)
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    let bridged = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let controller = {
        let (bridged, stop, ari) = (Arc::clone(&bridged), Arc::clone(&stop), mp.ari);
        std::thread::spawn(move || {
            let mut c = Controller {
                http: Client::new(ari),
                uas: uas_port,
                stats: Stats::default(),
                bridged,
            };
            loop {
                match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(e) => c.handle(&e),
                    Err(mpsc::RecvTimeoutError::Timeout) if stop.load(Ordering::Relaxed) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            c.stats
        })
    };

    let mut cmd = Command::new("nice");
    cmd.current_dir(&dir)
        .args(["-n", "10"])
        .arg(require("sipp"))
        .args(["-sf", "uac.xml"])
        .arg(mp.sip.to_string())
        .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
        .args(["-mp", "50000", "-s", "load"])
        .args(["-r", &cps.to_string(), "-l", &calls.to_string()])
        .args(["-m", &calls.to_string()])
        .args(["-nostdin", "-trace_screen", "-trace_err"]);
    let started = Instant::now();
    let uac = Running::spawn("sipp uac", &mut cmd);
    println!(
        "placing {calls} calls at {cps}/s, each up {call_secs} s (all {calls} up for {hold} s)"
    );

    // Full load: from the last call's setup to the first call's end.
    let settle = Duration::from_secs(ramp + 3);
    std::thread::sleep(settle.saturating_sub(started.elapsed()));
    let window = Duration::from_secs(hold.saturating_sub(8).clamp(2, 30));
    let mut probe = Client::new(mp.ari);
    let cpu0 = mp.cpu_seconds();
    let threads0 = mp.thread_cpu();
    let t0 = Instant::now();
    std::thread::sleep(window);
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = (mp.cpu_seconds() - cpu0) / elapsed;
    let threads: Vec<String> = mp
        .thread_cpu()
        .into_iter()
        .map(|(name, s)| {
            (
                name.clone(),
                (s - threads0.get(&name).copied().unwrap_or(0.0)) / elapsed,
            )
        })
        .filter(|(_, share)| *share >= 0.005)
        .map(|(name, share)| format!("{name} {:.0}%", share * 100.0))
        .collect();
    let load_rss = mp.rss();
    let drops = mp.udp_drops();
    let host = host_cpu_busy(Duration::from_secs(2));
    let channels: Vec<Value> = probe
        .request("GET", &format!("/ari/channels?{KEY}"), &[], &[])
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .unwrap_or_default();
    let bridges: Vec<Value> = probe
        .request("GET", &format!("/ari/bridges?{KEY}"), &[], &[])
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .unwrap_or_default();
    let mut rtp = Vec::new();
    for c in channels
        .iter()
        .step_by((channels.len() / 10).max(1))
        .take(10)
    {
        let id = c["id"].as_str().unwrap_or_default();
        if let Some(s) = probe
            .request(
                "GET",
                &format!("/ari/channels/{id}/rtp_statistics?{KEY}"),
                &[],
                &[],
            )
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
        {
            rtp.push((
                s["rxcount"].as_u64().unwrap_or(0),
                s["txcount"].as_u64().unwrap_or(0),
            ));
        }
    }

    let run = sipp::finish(uac, &dir, Duration::from_secs(call_secs + ramp + 60));
    let drained = Instant::now();
    while drained.elapsed() < Duration::from_secs(30) {
        let left: Vec<Value> = probe
            .request("GET", &format!("/ari/channels?{KEY}"), &[], &[])
            .and_then(|r| serde_json::from_slice(&r.body).ok())
            .unwrap_or_default();
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let stats: Stats = controller.join().unwrap();
    let leftover = probe
        .request("GET", &format!("/ari/channels?{KEY}"), &[], &[])
        .map(|r| r.text())
        .unwrap_or_default();
    drop(uas);

    let per_call = load_rss.saturating_sub(idle_rss) / calls.max(1);
    println!(
        "SIPp: {} successful, {} failed calls",
        run.successful(),
        run.failed()
    );
    println!(
        "ARI client: {} bridged, {} errors{}",
        bridged.load(Ordering::Relaxed),
        stats.errors.len(),
        stats
            .errors
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    println!(
        "at full load: {} channels, {} bridges; mediaplane CPU {:.1}% of one core over {:.0} s; RSS {:.1} MiB",
        channels.len(),
        bridges.len(),
        cpu * 100.0,
        window.as_secs_f64(),
        load_rss as f64 / 1048576.0
    );
    println!("mediaplane threads: {}", threads.join(", "));
    println!(
        "memory: idle RSS {:.1} MiB, {:.1} KiB per bridged call (2 channels, 1 bridge)",
        idle_rss as f64 / 1048576.0,
        per_call as f64 / 1024.0
    );
    println!("RTP on sampled channels (rx, tx packets): {rtp:?}");
    println!(
        "host CPU busy at full load (mediaplane and both SIPp): {:.0}% of {} cores",
        host * 100.0,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "media: {:.0} datagrams received, {:.0} relayed, {:.0} sent, {:.0} send errors, \
         {drops} dropped by full buffers of mediaplane's sockets (at full load); \
         UDP receive-buffer drops on the whole host during the run: {}",
        mp.metric("rtp_received_total"),
        mp.metric("rtp_relayed_total"),
        mp.metric("rtp_sent_total"),
        mp.metric("rtp_send_errors_total"),
        udp_receive_errors() - udp_errors0
    );
    println!("latency answer:     {}", percentiles(stats.answer));
    println!("latency addChannel: {}", percentiles(stats.add_channel));
    println!(
        "after the run: channels left {leftover}; log {}",
        mp.data.join("mediaplane.log").display()
    );
    let complete = run.failed() == 0
        && run.successful() == calls
        && stats.errors.is_empty()
        && bridged.load(Ordering::Relaxed) == calls
        && leftover.trim() == "[]"
        && rtp.iter().all(|&(rx, tx)| rx > 0 && tx > 0);
    if !complete {
        eprintln!("FAILED: not every call was set up, bridged, carried media and torn down");
        std::process::exit(1);
    }
}

/// The host's UDP `RcvbufErrors` (datagrams dropped because a socket's buffer was full).
fn udp_receive_errors() -> i64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// The fraction of all CPUs busy over `period` (from `/proc/stat`).
fn host_cpu_busy(period: Duration) -> f64 {
    let sample = || {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let v: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        (v.iter().sum::<u64>(), idle)
    };
    let (t0, i0) = sample();
    std::thread::sleep(period);
    let (t1, i1) = sample();
    let total = t1.saturating_sub(t0).max(1);
    1.0 - i1.saturating_sub(i0) as f64 / total as f64
}
