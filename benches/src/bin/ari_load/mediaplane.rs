//! The mediaplane under load: the release binary next to this one, private loopback ports,
//! its CPU time and resident memory read from `/proc`.

use std::{net::SocketAddr, path::PathBuf, process::Command, time::Duration};

use testkit::{
    process::{Running, free_tcp_port, free_udp_port, wait_until},
    scratch_dir,
};

pub(crate) struct Mediaplane {
    pub(crate) sip: SocketAddr,
    pub(crate) ari: SocketAddr,
    ops: SocketAddr,
    pub(crate) data: PathBuf,
    process: Running,
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MEDIAPLANE_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    let p = exe.with_file_name("mediaplane");
    if !p.exists() {
        eprintln!(
            "{} not found: build it first (cargo build --release) or set MEDIAPLANE_BIN",
            p.display()
        );
        std::process::exit(2);
    }
    p
}

impl Mediaplane {
    /// Starts one whose default Stasis app is `app`.
    pub(crate) fn start(app: &str) -> Self {
        Self::start_with(app, "")
    }

    /// Like [`Mediaplane::start`], with `extra` TOML tables appended.
    pub(crate) fn start_with(app: &str, extra: &str) -> Self {
        let sip = free_udp_port();
        let ari = free_tcp_port();
        let ops = free_tcp_port();
        let data = scratch_dir().join(format!("ari-load-{}-{sip}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let config = data.join("mediaplane.toml");
        std::fs::write(
            &config,
            format!(
                "[sip]\nudp = [\"127.0.0.1:{sip}\"]\ntcp = []\ntls = []\n\
                 [ari]\nlisten = \"127.0.0.1:{ari}\"\n\
                 [metrics]\nlisten = \"127.0.0.1:{ops}\"\n\
                 [rtp]\nport_min = 20000\nport_max = 39999\n\
                 [stasis]\ndefault_app = \"{app}\"\n\
                 [media]\ndata_dir = \"{data}\"\n{extra}\n",
                data = data.display(),
            ),
        )
        .unwrap();
        let mut cmd = Command::new(binary());
        cmd.args(["--config", config.to_str().unwrap()])
            .env("LOG_LEVEL", "warn");
        let process = Running::spawn_logged("mediaplane", &mut cmd, &data.join("mediaplane.log"));
        let ari_addr: SocketAddr = format!("127.0.0.1:{ari}").parse().unwrap();
        wait_until("mediaplane's ARI", Duration::from_secs(20), || {
            testkit::http::get(ari_addr, "/ari/asterisk/ping").is_some()
        });
        Self {
            sip: format!("127.0.0.1:{sip}").parse().unwrap(),
            ari: ari_addr,
            ops: format!("127.0.0.1:{ops}").parse().unwrap(),
            data,
            process,
        }
    }

    fn proc_file(&self, name: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{name}", self.process.pid())).unwrap_or_default()
    }

    /// A value from `/metrics` (`mediaplane_<name>`), 0 if absent.
    pub(crate) fn metric(&self, name: &str) -> f64 {
        let text = testkit::http::get(self.ops, "/metrics")
            .map(|r| r.text())
            .unwrap_or_default();
        let full = format!("mediaplane_{name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&full))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Datagrams the kernel dropped on this process's UDP sockets (full receive buffers):
    /// the `drops` column of `/proc/net/udp` for the sockets among its descriptors.
    pub(crate) fn udp_drops(&self) -> u64 {
        let pid = self.process.pid();
        let inodes: std::collections::HashSet<String> =
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    l.to_str()?
                        .strip_prefix("socket:[")?
                        .strip_suffix(']')
                        .map(str::to_string)
                })
                .collect();
        let table = std::fs::read_to_string(format!("/proc/{pid}/net/udp")).unwrap_or_default();
        table
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() > 12 && inodes.contains(f[9])).then(|| f[12].parse::<u64>().unwrap_or(0))
            })
            .sum()
    }

    /// CPU seconds so far per thread name (threads of one name summed).
    pub(crate) fn thread_cpu(&self) -> std::collections::BTreeMap<String, f64> {
        let mut out = std::collections::BTreeMap::new();
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.process.pid()));
        for t in tasks.into_iter().flatten().flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            let f: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().collect())
                .unwrap_or_default();
            let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            *out.entry(comm.trim().to_string()).or_insert(0.0) += (tick(11) + tick(12)) / 100.0;
        }
        out
    }

    /// User + system CPU seconds so far.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let stat = self.proc_file("stat");
        let f: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (tick(11) + tick(12)) / 100.0
    }

    /// Resident memory in bytes.
    pub(crate) fn rss(&self) -> u64 {
        self.proc_file("status")
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    }
}

impl Drop for Mediaplane {
    fn drop(&mut self) {
        self.process.signal("TERM");
    }
}
