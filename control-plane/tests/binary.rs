//! Black-box tests of the `mediaplane` binary: it starts with built-in defaults, serves
//! `/health`, `/ready` and `/metrics`, layers file < environment < flags, refuses a bad
//! configuration with exit code 2, and stops cleanly on SIGTERM and SIGINT.

use std::{net::SocketAddr, process::Command, time::Duration};

use testkit::{
    http,
    process::{Running, free_tcp_port, wait_until},
    scratch_dir,
};

fn mediaplane() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mediaplane"));
    c.env_remove("PROMETHEUS_LISTEN_ADDRESS")
        .env_remove("MEDIAPLANE_CONFIG")
        .env_remove("LOG_LEVEL");
    c
}

fn start(args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut cmd = mediaplane();
    // Private SIP, ARI and RTP ports so that tests run side by side.
    let sip = free_tcp_port();
    let rtp = 40_000 + (sip % 1000) * 20;
    cmd.args([
        "--sip_listen_address",
        &format!("127.0.0.1:{sip}"),
        "--sip_tls_listen_address",
        &format!("127.0.0.1:{}", free_tcp_port()),
        "--ari_listen_address",
        &format!("127.0.0.1:{}", free_tcp_port()),
        "--rtp_port_min",
        &rtp.to_string(),
        "--rtp_port_max",
        &(rtp + 18).to_string(),
    ]);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Running::spawn("mediaplane", &mut cmd)
}

fn wait_healthy(addr: SocketAddr) {
    wait_until("/health", Duration::from_secs(15), || {
        http::get(addr, "/health").is_some_and(|r| r.status == 200)
    });
}

#[test]
fn serves_health_ready_and_metrics_then_stops_on_sigterm() {
    let port = free_tcp_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let app = start(
        &[
            "--prometheus_listen_address",
            &addr.to_string(),
            "--instance_id",
            "42:01:0a:a4:0f:d0",
        ],
        &[],
    );
    wait_healthy(addr);
    let ready = http::get(addr, "/ready").unwrap();
    assert_eq!((ready.status, ready.text().as_str()), (200, "ready\n"));
    let metrics = http::get(addr, "/metrics").unwrap();
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(
        text.contains("mediaplane_build_info{version=\"0.1.0\",instance=\"42:01:0a:a4:0f:d0\"} 1"),
        "{text}"
    );
    for name in [
        "mediaplane_process_resident_memory_bytes",
        "mediaplane_process_cpu_seconds_total",
        "mediaplane_process_threads",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
    assert_eq!(http::get(addr, "/nothing").unwrap().status, 404);

    app.signal("TERM");
    let (status, _, stderr) = app.wait(Duration::from_secs(10));
    assert!(status.success(), "exit {status}: {stderr}");
    assert!(
        stderr.contains("SIGTERM received") && stderr.contains("stopped"),
        "{stderr}"
    );
    assert!(
        http::get(addr, "/health").is_none(),
        "still listening after exit"
    );
}

#[test]
fn stops_on_sigint() {
    let port = free_tcp_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let app = start(&["--prometheus_listen_address", &addr.to_string()], &[]);
    wait_healthy(addr);
    app.signal("INT");
    let (status, _, stderr) = app.wait(Duration::from_secs(10));
    assert!(
        status.success() && stderr.contains("SIGINT received"),
        "exit {status}: {stderr}"
    );
}

#[test]
fn flags_beat_environment_beat_file() {
    let (file_port, env_port, flag_port) = (free_tcp_port(), free_tcp_port(), free_tcp_port());
    let config = scratch_dir().join(format!("mediaplane_{}.toml", std::process::id()));
    std::fs::write(&config, format!("[metrics]\nlisten = \"127.0.0.1:{file_port}\"\nendpoint = \"/prom\"\n\n[log]\nformat = \"json\"\n")).unwrap();
    let config = config.to_str().unwrap().to_string();

    // File alone: its address, its endpoint, JSON logs.
    let app = start(&["--config", &config], &[]);
    let addr: SocketAddr = format!("127.0.0.1:{file_port}").parse().unwrap();
    wait_healthy(addr);
    assert_eq!(http::get(addr, "/prom").unwrap().status, 200);
    assert_eq!(http::get(addr, "/metrics").unwrap().status, 404);
    app.signal("TERM");
    let (_, _, stderr) = app.wait(Duration::from_secs(10));
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with('{') && l.contains("\"message\":\"mediaplane started\"")),
        "{stderr}"
    );

    // Environment beats the file.
    let env_addr = format!("127.0.0.1:{env_port}");
    let app = start(
        &["--config", &config],
        &[("PROMETHEUS_LISTEN_ADDRESS", &env_addr)],
    );
    wait_healthy(env_addr.parse().unwrap());
    drop(app);

    // A flag beats the environment.
    let flag_addr = format!("127.0.0.1:{flag_port}");
    let app = start(
        &[
            "--config",
            &config,
            "--prometheus_listen_address",
            &flag_addr,
        ],
        &[("PROMETHEUS_LISTEN_ADDRESS", &env_addr)],
    );
    wait_healthy(flag_addr.parse().unwrap());
    assert!(http::get(env_addr.parse().unwrap(), "/health").is_none());
    drop(app);
}

#[test]
fn a_bad_configuration_is_refused_with_a_clear_message() {
    let config = scratch_dir().join(format!("bad_{}.toml", std::process::id()));
    std::fs::write(&config, "[metrics]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let out = mediaplane()
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `lisen`"), "{err}");

    let out = mediaplane()
        .args(["--config", "/nonexistent/mediaplane.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/mediaplane.toml")
    );

    // A listener that cannot bind is an error at start, not a silent half-start.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = mediaplane()
        .args(["--prometheus_listen_address", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen on"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_prints_the_merged_configuration() {
    let out = mediaplane()
        .args(["--check_config", "--log_level", "debug"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("level: \"debug\"") && text.contains("127.0.0.1:2112"),
        "{text}"
    );
}
