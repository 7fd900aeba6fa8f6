//! Test support for mediaplane's integration tests: finding the real third-party peers and
//! oracles (ffmpeg, sox, spandsp, espeak-ng, PESQ), running them, and the audio arithmetic the
//! tests share.
//!
//! A missing tool is a test failure whose message names the setup command
//! (`scripts/test.sh`), never a silent skip.
#![allow(
    clippy::unwrap_used,
    reason = "test support: a failure here is a test failure"
)]

pub mod audio;
pub mod baresip;
pub mod http;
pub mod ogg;
pub mod oracle;
pub mod pcap;
pub mod pesq;
pub mod process;
pub mod rabbitmq;
pub mod sipp;
pub mod tools;
pub mod ws;

pub use tools::{package_dir, require, run, scratch_dir, workspace_root};
