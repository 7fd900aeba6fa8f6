//! Running SIPp (Debian `sip-tester`) as a real SIP peer: a UAC placing calls at a target, or
//! a UAS answering ours, with its statistics screen parsed.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, ExitStatus},
    time::Duration,
};

use crate::{
    process::{Running, free_udp_port},
    tools::{require, scratch_dir},
};

/// A finished SIPp run.
#[derive(Debug)]
pub struct SippRun {
    /// SIPp's exit status: 0 when every call succeeded.
    pub status: ExitStatus,
    /// The final statistics screen (`-trace_screen`).
    pub screen: String,
    /// Standard error.
    pub stderr: String,
    /// The run's working directory (logs, error traces).
    pub dir: PathBuf,
}

impl SippRun {
    fn counter(&self, label: &str) -> u64 {
        self.screen
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| {
                l.split('|')
                    .map(str::trim)
                    .rfind(|c| !c.is_empty())
                    .map(str::to_string)
            })
            .and_then(|c| c.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }

    /// Cumulative successful calls.
    pub fn successful(&self) -> u64 {
        self.counter("Successful call")
    }

    /// Cumulative failed calls.
    pub fn failed(&self) -> u64 {
        self.counter("Failed call")
    }

    /// The `-trace_msg` log (every message sent and received), if the run asked for it.
    pub fn messages(&self) -> String {
        std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with("_messages.log"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }

    /// A summary for assertion messages, with SIPp's error log if it wrote one.
    pub fn report(&self) -> String {
        let errors: String = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with("_errors.log"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        let tail: String = errors.lines().take(60).collect::<Vec<_>>().join("\n");
        format!(
            "sipp exit {}: {} successful, {} failed\n--- stderr\n{}\n--- errors\n{}",
            self.status,
            self.successful(),
            self.failed(),
            self.stderr,
            tail
        )
    }
}

/// A fresh working directory for one SIPp run (its logs land there).
pub fn run_dir(name: &str) -> PathBuf {
    let dir = scratch_dir().join(format!(
        "sipp-{name}-{}-{}",
        std::process::id(),
        free_udp_port()
    ));
    std::fs::create_dir_all(&dir).expect("create sipp dir");
    dir
}

/// Runs SIPp as a UAC against `target` and waits for it to finish (at most `limit`).
/// `scenario` is a built-in name (`uac`) or an XML file path.
pub fn uac(
    dir: &Path,
    scenario: &str,
    target: SocketAddr,
    args: &[&str],
    limit: Duration,
) -> SippRun {
    let sipp = require("sipp");
    let mut cmd = Command::new(sipp);
    cmd.current_dir(dir);
    if scenario.ends_with(".xml") {
        cmd.args(["-sf", scenario]);
    } else {
        cmd.args(["-sn", scenario]);
    }
    let port = free_udp_port().to_string();
    cmd.arg(target.to_string())
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port,
            "-nostdin",
            "-trace_screen",
            "-trace_err",
        ])
        .args([
            "-timeout",
            &format!("{}s", limit.as_secs().max(1)),
            "-timeout_error",
        ])
        .args(args);
    let child = Running::spawn("sipp", &mut cmd);
    let (status, _stdout, stderr) = child.wait(limit + Duration::from_secs(15));
    let screen = read_screen(dir);
    SippRun {
        status,
        screen,
        stderr,
        dir: dir.to_path_buf(),
    }
}

/// Starts SIPp as a UAS on 127.0.0.1:`port`; stop it by dropping the guard or wait for it.
pub fn uas(dir: &Path, scenario: &str, port: u16, args: &[&str]) -> Running {
    let sipp = require("sipp");
    let mut cmd = Command::new(sipp);
    cmd.current_dir(dir);
    if scenario.ends_with(".xml") {
        cmd.args(["-sf", scenario]);
    } else {
        cmd.args(["-sn", scenario]);
    }
    cmd.args([
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-nostdin",
        "-trace_screen",
        "-trace_err",
    ])
    .args(args);
    let running = Running::spawn("sipp uas", &mut cmd);
    // Ready once the port is taken.
    let udp = args.windows(2).all(|w| w != ["-t", "t1"]);
    crate::process::wait_until("sipp to listen", Duration::from_secs(10), || {
        if udp {
            std::net::UdpSocket::bind(("127.0.0.1", port)).is_err()
        } else {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }
    });
    running
}

/// Waits for a SIPp UAS started with `-m` to finish.
pub fn finish(uas: Running, dir: &Path, limit: Duration) -> SippRun {
    let (status, _stdout, stderr) = uas.wait(limit);
    SippRun {
        status,
        screen: read_screen(dir),
        stderr,
        dir: dir.to_path_buf(),
    }
}

fn read_screen(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with("_screen.log"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .last()
        .unwrap_or_default()
}
