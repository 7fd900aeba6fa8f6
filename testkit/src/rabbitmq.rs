//! A real `rabbitmq-server` for one test: its own node name, ports, epmd and data directory,
//! everything on 127.0.0.1, stopped by PID when the guard drops (PEERS.md §5).

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use crate::process::{Running, free_tcp_port, wait_until};

/// A running broker.
#[derive(Debug)]
pub struct Broker {
    /// The AMQP port on 127.0.0.1.
    pub port: u16,
    dist_port: u16,
    epmd_port: u16,
    node: String,
    dir: PathBuf,
    epmd: Option<Running>,
    server: Option<Running>,
    starts: u32,
}

impl Broker {
    /// Starts a fresh broker and waits until it accepts AMQP connections.
    pub fn start() -> Self {
        crate::require("rabbitmq-server");
        let epmd_bin = crate::require("epmd");
        let port = free_tcp_port();
        let dir = crate::scratch_dir().join(format!("rabbitmq-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("mnesia")).expect("broker dir");
        std::fs::create_dir_all(dir.join("log")).expect("broker dir");
        std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("plugins file");
        // The server runs as the `rabbitmq` user (its wrapper switches to it).
        let chown = Command::new("chown")
            .args(["-R", "rabbitmq:rabbitmq"])
            .arg(&dir)
            .status();
        assert!(
            chown.is_ok_and(|s| s.success()),
            "cannot hand {} to the rabbitmq user (the tests run as root on CI)",
            dir.display()
        );
        let epmd_port = free_tcp_port();
        let epmd = Running::spawn(
            "epmd",
            Command::new(epmd_bin)
                .args(["-address", "127.0.0.1", "-port"])
                .arg(epmd_port.to_string()),
        );
        let mut broker = Self {
            port,
            dist_port: free_tcp_port(),
            epmd_port,
            node: format!("mptest{port}@localhost"),
            dir,
            epmd: Some(epmd),
            server: None,
            starts: 0,
        };
        broker.start_node();
        broker
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    fn start_node(&mut self) {
        self.starts += 1;
        let log = self.dir.join(format!("server-{}.log", self.starts));
        let mut cmd = Command::new("rabbitmq-server");
        cmd.env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            .env("RABBITMQ_MNESIA_BASE", self.dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", self.dir.join("log"))
            .env("RABBITMQ_PID_FILE", self.dir.join("mnesia/node.pid"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.dir.join("enabled_plugins"),
            );
        self.server = Some(Running::spawn_logged("rabbitmq-server", &mut cmd, &log));
        let port = self.port;
        let deadline = Instant::now() + Duration::from_secs(90);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self.server.as_mut().and_then(Running::exited) {
                panic!(
                    "rabbitmq-server exited ({status}) before listening: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "rabbitmq-server did not listen on {port} within 90 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The Erlang VM's process id.
    fn beam_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("mnesia/node.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops the node (SIGTERM to the VM, a clean shutdown; SIGKILL after 30 s).
    pub fn stop(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        if let Some(pid) = self.beam_pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
            let deadline = Instant::now() + Duration::from_secs(30);
            while alive() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        wait_until("rabbitmq-server to exit", Duration::from_secs(30), || {
            server.exited().is_some()
        });
        let _ = std::fs::remove_file(self.dir.join("mnesia/node.pid"));
    }

    /// Starts the node again after [`Broker::stop`], on the same port and data.
    pub fn start_again(&mut self) {
        assert!(self.server.is_none(), "the broker is running");
        self.start_node();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        drop(self.epmd.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
