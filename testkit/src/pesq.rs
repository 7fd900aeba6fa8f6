//! PESQ (ITU-T P.862 / P.862.2) scores through the PyPI `pesq` package in the test venv that
//! `scripts/test.sh` creates under `$MEDIAPLANE_TEST_TOOLS/venv` (default
//! `~/.cache/mediaplane-tools/venv`).

use std::path::PathBuf;

use crate::{
    audio::{path_str, write_wav},
    tools::{run, scratch_dir, tools_dir},
};

/// The venv's Python, or a panic naming the setup command.
pub fn python() -> PathBuf {
    let py = tools_dir().join("venv/bin/python3");
    assert!(
        py.exists(),
        "the test Python environment is missing ({}). Run `scripts/test.sh` once: it creates the \
         venv and installs pesq, numpy and the ARI clients.",
        py.display()
    );
    py
}

/// Narrow-band (8 kHz) or wide-band (16 kHz) PESQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// P.862, 8 kHz audio.
    Narrow,
    /// P.862.2, 16 kHz audio.
    Wide,
}

/// MOS-LQO of `degraded` against `reference`, both at 8 kHz (narrow) or 16 kHz (wide).
pub fn score(band: Band, reference: &[i16], degraded: &[i16]) -> f64 {
    let rate = match band {
        Band::Narrow => 8000,
        Band::Wide => 16000,
    };
    let tag =
        format!("{}_{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "");
    let r = scratch_dir().join(format!("pesq_ref_{tag}.wav"));
    let d = scratch_dir().join(format!("pesq_deg_{tag}.wav"));
    write_wav(&r, rate, 1, reference);
    write_wav(&d, rate, 1, degraded);
    let script = "import sys, numpy, wave\n\
        from pesq import pesq\n\
        def load(p):\n    w = wave.open(p); return numpy.frombuffer(w.readframes(w.getnframes()), dtype=numpy.int16).astype(numpy.float64)\n\
        ref, deg = load(sys.argv[1]), load(sys.argv[2]); n = min(len(ref), len(deg))\n\
        print(pesq(int(sys.argv[3]), ref[:n], deg[:n], sys.argv[4]))\n";
    let mode = if band == Band::Narrow { "nb" } else { "wb" };
    let out = run(
        &python(),
        &[
            "-c",
            script,
            path_str(&r),
            path_str(&d),
            &rate.to_string(),
            mode,
        ],
        &[],
    );
    let _ = (std::fs::remove_file(&r), std::fs::remove_file(&d));
    String::from_utf8_lossy(&out)
        .trim()
        .parse()
        .expect("pesq prints a number")
}
