//! Black-box harness: a `mediaplane` on private loopback ports, SIPp calls into it, and ARI
//! scenarios run by the real npm `ari-client` (or PyPI `asyncari`).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::disallowed_methods
)]

use std::{net::SocketAddr, path::PathBuf, process::Command, time::Duration};

pub mod voipbin;

use testkit::{
    process::{Running, free_tcp_port, free_udp_port, wait_until},
    sipp,
    tools::{require, scratch_dir, tools_dir},
};

/// A running mediaplane.
pub struct Mediaplane {
    pub sip: SocketAddr,
    pub ari: SocketAddr,
    pub data: PathBuf,
    pub process: Running,
    pub log: PathBuf,
    pub ops: SocketAddr,
}

impl Mediaplane {
    /// Starts one with private ports; `extra` TOML is appended to its config file.
    pub fn start(extra: &str) -> Self {
        Self::start_with("", extra)
    }

    /// Like [`Mediaplane::start`], with `ari` lines added to the `[ari]` table.
    pub fn start_with(ari_lines: &str, extra: &str) -> Self {
        Self::start_full(ari_lines, 38, extra)
    }

    /// Like [`Mediaplane::start_with`], with `rtp_ports` RTP ports.
    pub fn start_full(ari_lines: &str, rtp_ports: u16, extra: &str) -> Self {
        let sip = free_udp_port();
        let ari = free_tcp_port();
        let rtp = if rtp_ports <= 38 {
            30_000 + (sip % 500) * 40
        } else {
            50_000 + (sip % 20) * 700
        };
        let data = scratch_dir().join(format!("mp-{}-{sip}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let config = data.join("mediaplane.toml");
        let ops = free_tcp_port();
        std::fs::write(
            &config,
            format!(
                "[sip]\nudp = [\"127.0.0.1:{sip}\"]\ntcp = [\"127.0.0.1:{sip}\"]\ntls = [\"127.0.0.1:{tls}\"]\n\
                 [ari]\nlisten = \"127.0.0.1:{ari}\"\n{ari_extra}\n\
                 [metrics]\nlisten = \"127.0.0.1:{ops}\"\n\
                 [rtp]\nport_min = {rtp}\nport_max = {rtp_max}\nworkers = 1\n\
                 [media]\ndata_dir = \"{data}\"\nsounds = []\n{extra}\n",
                ari_extra = ari_lines,
                tls = free_tcp_port(),
                rtp_max = rtp + rtp_ports,
                data = data.display(),
            ),
        )
        .unwrap();
        let log = data.join("mediaplane.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mediaplane"));
        cmd.args(["--config", config.to_str().unwrap()])
            .env_remove("PROMETHEUS_LISTEN_ADDRESS")
            .env("LOG_LEVEL", "info,control_plane=debug");
        let process = Running::spawn_logged("mediaplane", &mut cmd, &log);
        let ari_addr: SocketAddr = format!("127.0.0.1:{ari}").parse().unwrap();
        wait_until("mediaplane's ARI", Duration::from_secs(20), || {
            testkit::http::get(ari_addr, "/ari/asterisk/ping").is_some()
        });
        Self {
            sip: format!("127.0.0.1:{sip}").parse().unwrap(),
            ari: ari_addr,
            data,
            process,
            log,
            ops: format!("127.0.0.1:{ops}").parse().unwrap(),
        }
    }

    /// Its `/metrics` text.
    pub fn metrics(&self) -> String {
        testkit::http::get(self.ops, "/metrics")
            .map(|r| r.text())
            .unwrap_or_default()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// This crate's test scenarios directory.
pub fn tests_dir() -> PathBuf {
    testkit::package_dir().join("tests")
}

/// Starts SIPp calling `service` at mediaplane `calls` times (one at a time unless `rate`),
/// each call lasting `secs` unless mediaplane hangs up first. Returns the run directory and
/// the running SIPp.
pub fn sipp_calls(
    mp: &Mediaplane,
    service: &str,
    calls: u32,
    secs: u32,
    extra: &[&str],
) -> (PathBuf, Running) {
    let dir = sipp::run_dir(&format!("ari-{service}"));
    let _ = std::os::unix::fs::symlink("/usr/share/sip-tester", dir.join("pcap"));
    // SIPp takes no keyword in a timeout: write the call length into a copy.
    let scenario = dir.join("uac_call.xml");
    let text = std::fs::read_to_string(tests_dir().join("sipp/uac_call.xml")).unwrap();
    std::fs::write(
        &scenario,
        text.replace("[call_length]", &(secs * 1000).to_string()),
    )
    .unwrap();
    let mut cmd = Command::new(require("sipp"));
    cmd.current_dir(&dir)
        .args(["-sf", scenario.to_str().unwrap()])
        .arg(mp.sip.to_string())
        .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
        .args(["-mp", &(20_000 + (free_udp_port() % 4000) * 2).to_string()])
        .args([
            "-s",
            service,
            "-m",
            &calls.to_string(),
            "-d",
            &(secs * 1000).to_string(),
        ])
        .args(["-nostdin", "-trace_screen", "-trace_err"])
        .args(extra);
    (dir, Running::spawn("sipp", &mut cmd))
}

/// Starts a SIPp UAS (answers every INVITE, waits for BYE) on a free port.
pub fn sipp_uas(extra: &[&str]) -> (u16, PathBuf, Running) {
    let port = free_udp_port();
    let dir = sipp::run_dir("ari-uas");
    let r = sipp::uas(&dir, "uas", port, extra);
    (port, dir, r)
}

/// Runs an ARI scenario (`tests/ari/<name>.js`) with the npm ari-client; panics with its
/// output unless it exits 0.
pub fn run_node(mp: &Mediaplane, name: &str, env: &[(&str, String)]) -> String {
    let node = require("node");
    let modules = tools_dir().join("node/node_modules");
    assert!(
        modules.join("ari-client").exists(),
        "the npm ARI client is missing ({}). Run `scripts/test.sh` once: it installs ari-client.",
        modules.display()
    );
    let script = tests_dir().join("ari").join(format!("{name}.js"));
    let mut cmd = Command::new(node);
    cmd.arg(&script)
        .env("NODE_PATH", &modules)
        .env("ARI_URL", format!("http://{}", mp.ari))
        .env("SIP_ADDR", mp.sip.to_string())
        .env("DATA_DIR", &mp.data);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = Running::spawn("node", &mut cmd).wait(Duration::from_secs(60));
    let text = format!("{}{}", out.1, out.2);
    assert!(
        out.0.success(),
        "scenario {name} failed:\n{text}\n--- mediaplane log (tail) ---\n{}",
        tail(&mp.log(), 60)
    );
    text
}

/// Runs a Python asyncari scenario (`tests/ari/<name>.py`).
pub fn run_python(mp: &Mediaplane, name: &str, env: &[(&str, String)]) -> String {
    let py = testkit::pesq::python();
    let script = tests_dir().join("ari").join(format!("{name}.py"));
    let mut cmd = Command::new(py);
    cmd.arg(&script)
        .env("ARI_URL", format!("http://{}", mp.ari))
        .env("SIP_ADDR", mp.sip.to_string());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = Running::spawn("python", &mut cmd).wait(Duration::from_secs(60));
    let text = format!("{}{}", out.1, out.2);
    assert!(
        out.0.success(),
        "scenario {name} failed:\n{text}\n--- mediaplane log (tail) ---\n{}",
        tail(&mp.log(), 60)
    );
    text
}

pub fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}
