//! ARI scenarios against the `mediaplane` binary, driven by the real npm `ari-client` and
//! PyPI `asyncari` with SIPp and baresip as the far ends.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, reason = "tests")]

mod common;

use common::{Mediaplane, run_node};

#[test]
fn inbound_call_answer_play_hangup() {
    let mp = Mediaplane::start("");
    run_node(&mp, "inbound_play_hangup", &[]);
}
