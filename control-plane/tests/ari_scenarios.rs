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

#[test]
fn disconnects_and_slow_readers_drop_no_call() {
    let mp = Mediaplane::start_with(
        "channelvars = [\"BACK\"]",
        "[stasis]\ndefault_app = \"app1\"\n",
    );
    let out = run_node(&mp, "resilience", &[]);
    eprintln!("{out}");
}

/// The default routes: `echo` answers and echoes, `conf-<room>` joins a conference (listed
/// in `/bridges` while it lasts), with no ARI app connected at all.
#[test]
fn default_routes_echo_and_conference() {
    let mp = Mediaplane::start("");
    let (dir, echo) = common::sipp_calls(&mp, "echo", 1, 3, &[]);
    let (dir2, conf) = common::sipp_calls(&mp, "conf-1", 1, 3, &[]);
    testkit::process::wait_until(
        "the conference bridge",
        std::time::Duration::from_secs(10),
        || {
            testkit::http::get(mp.ari, "/ari/bridges?api_key=asterisk:asterisk")
                .is_some_and(|r| r.text().contains("\"id\":\"conf-1\""))
        },
    );
    for (d, p) in [(dir, echo), (dir2, conf)] {
        let run = testkit::sipp::finish(p, &d, std::time::Duration::from_secs(20));
        assert_eq!(run.failed(), 0, "{}", run.report());
        assert_eq!(run.successful(), 1, "{}", run.report());
    }
    // The room ends with its last member.
    testkit::process::wait_until(
        "the conference to end",
        std::time::Duration::from_secs(5),
        || {
            testkit::http::get(mp.ari, "/ari/bridges?api_key=asterisk:asterisk")
                .is_some_and(|r| r.text() == "[]")
        },
    );
}
