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

#[test]
fn authentication_and_routing_errors() {
    let mp = Mediaplane::start(
        "[[ari.users]]\nname = \"asterisk\"\npassword = \"asterisk\"\n\
         [[ari.users]]\nname = \"ro\"\npassword = \"ro\"\nread_only = true\n",
    );
    run_node(&mp, "auth", &[]);
}

#[test]
fn request_bodies_and_content_types() {
    let mp = Mediaplane::start("");
    run_node(&mp, "bodies", &[]);
}

#[test]
fn channels_create_dial_variables_and_duplicate_ids() {
    let mp = Mediaplane::start("");
    run_node(&mp, "channels_create_dial", &[]);
}

#[test]
fn bridges_by_id_happy_move_unhappy_delete_hangup() {
    let mp = Mediaplane::start("");
    run_node(&mp, "bridges", &[]);
}

#[test]
fn playbacks_control_lists_bridges_and_failures() {
    let mp = Mediaplane::start("");
    run_node(&mp, "playbacks", &[]);
}

#[test]
fn recordings_live_and_stored() {
    let mp = Mediaplane::start("");
    run_node(&mp, "recordings", &[]);
}

#[test]
fn subscriptions_filters_and_user_events() {
    let mp = Mediaplane::start("[stasis]\ndefault_app = \"owner\"\n");
    run_node(&mp, "subscriptions", &[]);
}
