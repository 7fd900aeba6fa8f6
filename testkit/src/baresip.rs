//! Running baresip (Debian `baresip-core`) as a real SIP/RTP peer: headless, answering
//! automatically or dialling with `-e`, audio from a WAV file, optional TLS and SRTP.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use crate::{
    process::{Running, free_udp_port, wait_until},
    tools::{require, scratch_dir},
};

/// How to configure one baresip instance.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// UDP/TCP SIP port (TLS listens on this port + 1).
    pub sip_port: u16,
    /// Account lines (`<sip:a@127.0.0.1:port>;regint=0;answermode=auto;...`).
    pub accounts: Vec<String>,
    /// WAV file for the audio source (its rate must be `source_rate`).
    pub audio_file: Option<PathBuf>,
    /// Source sample rate (baresip resamples to the codec rate).
    pub source_rate: u32,
    /// Our certificate and key in one PEM file (enables the TLS listener).
    pub certificate: Option<PathBuf>,
    /// CA file to verify TLS servers.
    pub cafile: Option<PathBuf>,
    /// Directory for sndfile dumps of decoded/encoded audio (enables `sndfile`).
    pub dump_dir: Option<PathBuf>,
    /// Extra config lines.
    pub extra: Vec<String>,
}

/// A running baresip.
#[derive(Debug)]
pub struct Baresip {
    /// Its config directory.
    pub dir: PathBuf,
    /// Its SIP port.
    pub sip_port: u16,
    /// The process (stopped on drop).
    pub process: Running,
    log: PathBuf,
}

impl Baresip {
    /// Everything baresip printed so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).replace('\r', "")
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, limit: Duration) {
        wait_until(&format!("baresip to print {needle:?}"), limit, || {
            self.log().contains(needle)
        });
    }
}

/// Writes the config and starts baresip with `args` (e.g. `-e "/dial ..."`, `-t 10`).
pub fn start(name: &str, config: &Config, args: &[&str]) -> Baresip {
    let baresip = require("baresip");
    let dir = scratch_dir().join(format!(
        "baresip-{name}-{}-{}",
        std::process::id(),
        free_udp_port()
    ));
    std::fs::create_dir_all(&dir).expect("create baresip dir");
    let port = if config.sip_port == 0 {
        free_udp_port()
    } else {
        config.sip_port
    };
    let mut c = String::new();
    c.push_str("poll_method epoll\n");
    c.push_str(&format!("sip_listen 127.0.0.1:{port}\n"));
    if let Some(cert) = &config.certificate {
        c.push_str(&format!("sip_certificate {}\n", cert.display()));
    }
    if let Some(ca) = &config.cafile {
        c.push_str(&format!("sip_cafile {}\n", ca.display()));
    }
    c.push_str("call_max_calls 16\naudio_player aubridge,null\naudio_alert aubridge,null\n");
    match &config.audio_file {
        Some(f) => c.push_str(&format!("audio_source aufile,{}\n", f.display())),
        None => c.push_str("audio_source aubridge,null\n"),
    }
    let rate = if config.source_rate == 0 {
        8000
    } else {
        config.source_rate
    };
    c.push_str(&format!(
        "ausrc_srate {rate}\nausrc_channels 1\nauplay_srate {rate}\nauplay_channels 1\n"
    ));
    let rtp = free_udp_port();
    c.push_str(&format!(
        "rtp_ports {}-{}\nrtp_stats yes\n",
        rtp & !1,
        (rtp & !1) + 40
    ));
    c.push_str("module_path /usr/lib/baresip/modules\n");
    for m in [
        "g711",
        "g722",
        "opus",
        "aufile",
        "aubridge",
        "srtp",
        "dtls_srtp",
    ] {
        c.push_str(&format!("module {m}.so\n"));
    }
    if let Some(d) = &config.dump_dir {
        c.push_str(&format!("module sndfile.so\nsnd_path {}\n", d.display()));
    }
    c.push_str("module_tmp uuid.so\nmodule_tmp account.so\nmodule_app menu.so\n");
    for line in &config.extra {
        c.push_str(line);
        c.push('\n');
    }
    std::fs::write(dir.join("config"), c).expect("write baresip config");
    std::fs::write(dir.join("accounts"), config.accounts.join("\n") + "\n")
        .expect("write accounts");
    let log = dir.join("baresip.log");
    let mut cmd = Command::new(baresip);
    cmd.arg("-f").arg(&dir).args(["-n", "127.0.0.1"]).args(args);
    let process = Running::spawn_logged("baresip", &mut cmd, &log);
    let b = Baresip {
        dir,
        sip_port: port,
        process,
        log,
    };
    wait_until("baresip to listen", Duration::from_secs(10), || {
        std::net::UdpSocket::bind(("127.0.0.1", port)).is_err()
    });
    b
}

/// Writes `cert_pem` followed by `key_pem` into one file, as baresip wants it.
pub fn write_certificate(dir: &Path, cert_pem: &str, key_pem: &str) -> PathBuf {
    let path = dir.join("baresip-cert.pem");
    std::fs::write(&path, format!("{cert_pem}{key_pem}")).expect("write certificate");
    path
}
