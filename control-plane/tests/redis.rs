//! `asterisk.<id>.address-internal` in a real `redis-server`, as asterisk-proxy keeps it
//! (voipbin-contract.md §7): database 1, the internal IPv4, a 24 h TTL.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::{process::Command, time::Duration};

use common::Mediaplane;
use testkit::{
    process::{Running, free_tcp_port, wait_until},
    require,
};

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(require("redis-cli"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-n", "1"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn internal_address_is_kept_in_redis() {
    let port = free_tcp_port();
    let _redis = Running::spawn(
        "redis-server",
        Command::new(require("redis-server")).args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ]),
    );
    wait_until("redis-server", Duration::from_secs(10), || {
        cli(port, &["PING"]) == "PONG"
    });
    let mp = Mediaplane::start(&format!(
        "[instance]\nid = \"42:01:0a:a4:0f:d1\"\n\
         [redis]\naddress = \"127.0.0.1:{port}\"\ninternal_address = \"10.164.15.208\"\n"
    ));
    let key = "asterisk.42:01:0a:a4:0f:d1.address-internal";
    wait_until("the key", Duration::from_secs(10), || {
        cli(port, &["GET", key]) == "10.164.15.208"
    });
    let ttl: u64 = cli(port, &["TTL", key]).parse().unwrap();
    assert!((86_000..=86_400).contains(&ttl), "TTL {ttl}");
    // Database 1 only, as VoIPBIN reads it.
    let db0 = Command::new(require("redis-cli"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-n",
            "0",
            "EXISTS",
            key,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&db0.stdout).trim(), "0");
    assert!(!mp.log().contains("cannot publish"), "{}", mp.log());
}
