//! The spandsp oracle: a tiny C filter (`testkit/c/spandsp_oracle.c`) over spandsp's G.711 and
//! G.722, compiled on first use against the system's `libspandsp-dev`.

use std::path::PathBuf;

use crate::tools::{require, run, scratch_dir, workspace_root};

/// Builds (once per source change) and returns the oracle binary.
pub fn spandsp() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> PathBuf {
    let source = workspace_root().join("testkit/c/spandsp_oracle.c");
    let binary = scratch_dir().join("spandsp_oracle");
    let fresh = match (std::fs::metadata(&source), std::fs::metadata(&binary)) {
        (Ok(s), Ok(b)) => b.modified().ok() >= s.modified().ok(),
        _ => false,
    };
    if fresh {
        return binary;
    }
    let headers = [
        "/usr/include/spandsp.h",
        "/usr/include/x86_64-linux-gnu/spandsp.h",
        "/usr/include/aarch64-linux-gnu/spandsp.h",
    ];
    assert!(
        headers.iter().any(|h| std::path::Path::new(h).exists()),
        "spandsp headers are missing: run `scripts/test.sh` once (it installs apt libspandsp-dev)"
    );
    let gcc = require("gcc");
    // Build under a unique name, then rename: tests may race to build it.
    let tmp = scratch_dir().join(format!("spandsp_oracle.{}", std::process::id()));
    run(
        &gcc,
        &[
            "-O2",
            "-o",
            tmp.to_str().expect("utf-8 path"),
            source.to_str().expect("utf-8 path"),
            "-lspandsp",
            "-lm",
        ],
        &[],
    );
    std::fs::rename(&tmp, &binary).expect("install oracle");
    binary
}

/// Runs the oracle in `mode` over `input`.
pub fn spandsp_filter(mode: &str, input: &[u8]) -> Vec<u8> {
    run(&spandsp(), &[mode], input)
}
