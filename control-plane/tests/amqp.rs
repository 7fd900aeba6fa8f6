//! VoIPBIN's RabbitMQ protocol against a real `rabbitmq-server`: the envelopes call-manager
//! sends for the ARI call table of voipbin-contract.md §2, SIPp at the far end of the calls,
//! the event stream checked against the contract's shapes, poison messages, and a broker
//! restart under 50 live calls.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::{
    Mediaplane, sipp_calls, sipp_uas, tail,
    voipbin::{Events, Requester, ari},
};
use serde_json::{Value, json};
use testkit::rabbitmq::Broker;

const ID: &str = "42:01:0a:a4:0f:d0";

fn amqp_config(broker: &Broker) -> String {
    format!(
        "[instance]\nid = \"{ID}\"\n[amqp]\naddress = \"{}\"\n",
        broker.url()
    )
}

fn instance_queue() -> String {
    format!("asterisk.{ID}.request")
}

/// Waits until mediaplane answers on `queue`; returns how long that took.
async fn wait_consuming(req: &Requester, queue: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    let ping = ari("GET", "/ari/asterisk/ping", None).to_string();
    while start.elapsed() < limit {
        if req
            .request_raw(queue, ping.as_bytes(), Duration::from_millis(250))
            .await
            .is_some()
        {
            return start.elapsed();
        }
    }
    panic!("mediaplane did not consume {queue} within {limit:?}");
}

fn is_timestamp(s: &str) -> bool {
    // 2024-03-25T07:18:48.380+0000
    let b = s.as_bytes();
    b.len() == 28
        && s.ends_with("+0000")
        && b[10] == b'T'
        && b[19] == b'.'
        && b[..4].iter().all(u8::is_ascii_digit)
}

fn args_of(e: &Value) -> Vec<String> {
    e["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// Checks a reply: status, `data_type`, and returns `data`.
#[track_caller]
fn ok(reply: &Value, status: u64) -> Value {
    assert_eq!(reply["status_code"], status, "{reply}");
    assert_eq!(reply["data_type"], "application/json", "{reply}");
    reply.get("data").cloned().unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voipbin_call_table_over_rabbitmq() {
    let broker = Broker::start();
    let mp = Mediaplane::start(&amqp_config(&broker));
    let req = Requester::connect(&broker.url()).await;
    let mut ev = Events::subscribe(&req.conn, "asterisk.all.event").await;
    let iq = instance_queue();
    wait_consuming(&req, &iq, Duration::from_secs(20)).await;
    wait_consuming(&req, "asterisk.call.request", Duration::from_secs(5)).await;

    let info = ok(
        &req.request(&iq, &ari("GET", "/ari/asterisk/info", None))
            .await,
        200,
    );
    assert_eq!(info["system"]["entity_id"], ID, "{info}");

    // --- an inbound call from SIPp: routed to the AMQP app `voipbin` (no WebSocket holds it)
    let (_dir, _uac) = sipp_calls(&mp, "1234", 1, 60, &[]);
    let start = ev.wait_for("StasisStart", |_| true).await;
    assert_eq!(start["application"], "voipbin");
    assert_eq!(start["asterisk_id"], ID);
    assert!(
        is_timestamp(start["timestamp"].as_str().unwrap()),
        "{start}"
    );
    let chan = start["channel"]["id"].as_str().unwrap().to_string();
    assert!(
        start["channel"]["name"]
            .as_str()
            .unwrap()
            .starts_with("PJSIP/call-in-"),
        "{start}"
    );
    let args = args_of(&start);
    for want in [
        "context_type=call",
        "context=call-in",
        "domain=pstn.voipbin.net",
        "source=127.0.0.1",
        "transport=udp",
        "direction=incoming",
    ] {
        assert!(args.iter().any(|a| a == want), "{want} missing in {args:?}");
    }
    let created = ev
        .seen
        .iter()
        .position(|e| e["type"] == "ChannelCreated" && e["channel"]["id"] == chan.as_str());
    let started = ev
        .seen
        .iter()
        .position(|e| e["type"] == "StasisStart")
        .unwrap();
    assert!(
        created.is_some_and(|c| c < started),
        "ChannelCreated comes first: {:?}",
        ev.seen
    );
    let sip_call_id = args
        .iter()
        .find_map(|a| a.strip_prefix("sip_call_id="))
        .unwrap()
        .to_string();
    assert!(!sip_call_id.is_empty());

    let c = |path: &str| format!("/ari/channels/{chan}{path}");
    // Health probe, ring (JSON content type, empty body), answer.
    let got = ok(&req.request(&iq, &ari("GET", &c(""), None)).await, 200);
    assert_eq!(got["id"], chan.as_str());
    let mut ring = ari("POST", &c("/ring"), None);
    ring["data_type"] = json!("application/json");
    ok(&req.request(&iq, &ring).await, 204);
    ok(
        &req.request(&iq, &ari("POST", &c("/answer"), None)).await,
        204,
    );
    let up = ev
        .wait_for("ChannelStateChange", |e| e["channel"]["state"] == "Up")
        .await;
    assert_eq!(up["channel"]["id"], chan.as_str());
    // The unencoded query string VoIPBIN sends.
    let v = ok(
        &req.request(
            &iq,
            &ari("GET", &c("/variable?variable=CHANNEL(pjsip,call-id)"), None),
        )
        .await,
        200,
    );
    assert_eq!(v["value"], sip_call_id.as_str());
    ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                &c("/variable"),
                Some(json!({"variable": "VB_X", "value": "1"})),
            ),
        )
        .await,
        204,
    );
    let varset = ev
        .wait_for("ChannelVarset", |e| e["variable"] == "VB_X")
        .await;
    assert_eq!(varset["value"], "1");

    // The call bridge, as call-manager builds it.
    let bridge = ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                "/ari/bridges",
                Some(json!({"type": "mixing,video_sfu", "bridgeId": "b-1",
                            "name": "reference_type=call,reference_id=r-1"})),
            ),
        )
        .await,
        200,
    );
    assert_eq!(bridge["id"], "b-1");
    let bc = ev
        .wait_for("BridgeCreated", |e| e["bridge"]["id"] == "b-1")
        .await;
    assert_eq!(bc["bridge"]["name"], "reference_type=call,reference_id=r-1");
    assert_eq!(bc["asterisk_id"], ID);
    ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                "/ari/bridges/b-1/addChannel",
                Some(json!({"channel": chan})),
            ),
        )
        .await,
        204,
    );
    ev.wait_for("ChannelEnteredBridge", |e| e["bridge"]["id"] == "b-1")
        .await;
    let bget = ok(
        &req.request(&iq, &ari("GET", "/ari/bridges/b-1", None))
            .await,
        200,
    );
    assert_eq!(bget["channels"], json!([chan]));

    // Play a prompt with VoIPBIN's playback id.
    let pb = ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                &c("/play"),
                Some(json!({"media": ["sound:beep"], "playbackId": "call:a-1", "lang": "en"})),
            ),
        )
        .await,
        201,
    );
    assert_eq!(pb["id"], "call:a-1");
    let pf = ev
        .wait_for("PlaybackFinished", |e| e["playback"]["id"] == "call:a-1")
        .await;
    assert_eq!(pf["playback"]["target_uri"], format!("channel:{chan}"));

    // Hold, music on hold, silence, mute, DTMF: on and off.
    for (path, body) in [
        ("/hold", None),
        ("/moh", None),
        ("/silence", None),
        ("/mute", Some(json!({"direction": "both"}))),
    ] {
        ok(
            &req.request(&iq, &ari("POST", &c(path), body.clone())).await,
            204,
        );
        let uri = match &body {
            Some(_) => c(&format!("{path}?direction=both")),
            None => c(path),
        };
        ok(&req.request(&iq, &ari("DELETE", &uri, None)).await, 204);
    }
    ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                &c("/dtmf"),
                Some(json!({"dtmf": "12", "duration": 100, "between": 100})),
            ),
        )
        .await,
        204,
    );

    // Call recording: a snoop per direction, recorded, stopped by hanging the snoop up,
    // then the files moved.
    let snoop = ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                &c("/snoop"),
                Some(json!({"spy": "in", "app": "voipbin",
                            "appArgs": "context_type=call,context=call-record,call_id=x",
                            "snoopId": "snoop-in"})),
            ),
        )
        .await,
        200,
    );
    assert_eq!(snoop["id"], "snoop-in");
    let ss = ev
        .wait_for("StasisStart", |e| e["channel"]["id"] == "snoop-in")
        .await;
    assert!(args_of(&ss).contains(&"context=call-record".to_string()));
    ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                "/ari/channels/snoop-in/record",
                Some(
                    json!({"name": "rec-1_in", "format": "wav", "maxDurationSeconds": 0,
                            "maxSilenceSeconds": 0, "beep": false, "terminateOn": "none",
                            "ifExists": "fail"}),
                ),
            ),
        )
        .await,
        201,
    );
    ev.wait_for("RecordingStarted", |e| e["recording"]["name"] == "rec-1_in")
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    ok(
        &req.request(&iq, &ari("DELETE", "/ari/channels/snoop-in", None))
            .await,
        204,
    );
    ev.wait_for("RecordingFinished", |e| {
        e["recording"]["name"] == "rec-1_in"
    })
    .await;
    let moved = req
        .request(
            &iq,
            &json!({"uri": "/proxy/recording_file_move", "method": "POST", "publisher": "call-manager",
                    "data_type": "application/json", "data": {"filenames": ["rec-1_in.wav"]}}),
        )
        .await;
    assert_eq!(moved, json!({"status_code": 200, "data_type": ""}));
    let stored = mp.data.join("recording-store/rec-1_in.wav");
    assert!(stored.is_file(), "{} missing", stored.display());
    assert!(!mp.data.join("recordings/rec-1_in.wav").exists());
    let missing = req
        .request(
            &iq,
            &json!({"uri": "/proxy/recording_file_move", "method": "POST",
                    "data_type": "application/json", "data": {"filenames": ["../../etc/passwd"]}}),
        )
        .await;
    assert_eq!(missing["status_code"], 400, "{missing}");

    // Leave the bridge and drop it.
    ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                "/ari/bridges/b-1/removeChannel",
                Some(json!({"channel": chan})),
            ),
        )
        .await,
        204,
    );
    ok(
        &req.request(&iq, &ari("DELETE", "/ari/bridges/b-1", None))
            .await,
        204,
    );
    ev.wait_for("BridgeDestroyed", |e| e["bridge"]["id"] == "b-1")
        .await;

    // Out of Stasis into echo, then pulled back by AMI Redirect sent to `/ami` (the URI
    // AstAMIRedirect really uses).
    ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                &c("/continue"),
                Some(json!({"context": "svc-echo", "extension": "s", "priority": 1, "label": ""})),
            ),
        )
        .await,
        204,
    );
    ev.wait_for("StasisEnd", |e| e["channel"]["id"] == chan.as_str())
        .await;
    let redirect = req
        .request(
            &iq,
            &json!({"uri": "/ami", "method": "POST", "publisher": "call-manager",
                    "data_type": "application/json",
                    "data": {"Action": "Redirect", "Channel": chan, "Context": "svc-stasis",
                             "Exten": "s", "Priority": "1"}}),
        )
        .await;
    assert_eq!(
        redirect,
        json!({"status_code": 200, "data_type": "application/json",
               "data": {"Message": "Redirect successful", "Response": "Success"}})
    );
    let back = ev
        .wait_for("StasisStart", |e| e["channel"]["id"] == chan.as_str())
        .await;
    assert!(
        args_of(&back).contains(&"context=call-svc".to_string()),
        "{back}"
    );
    let gone = req
        .request(
            &iq,
            &json!({"uri": "/ami/", "method": "POST", "data_type": "application/json",
                    "data": {"Action": "Redirect", "Channel": "nope", "Context": "svc-stasis", "Exten": "s", "Priority": "1"}}),
        )
        .await;
    assert_eq!(gone["data"]["Response"], "Error", "{gone}");

    // --- an outbound call on the shared role queue, dialled to a SIPp UAS
    let (uas_port, _uas_dir, _uas) = sipp_uas(&[]);
    let created = ok(
        &req.request(
            "asterisk.call.request",
            &ari(
                "POST",
                "/ari/channels/create",
                Some(json!({
                    "endpoint": format!("pjsip/call-out/sip:+3112345@127.0.0.1:{uas_port};transport=udp"),
                    "app": "voipbin",
                    "appArgs": "context_type=call,context=call-out,call_id=c-1,transport=udp,direction=outgoing",
                    "channelId": "out-1",
                    "variables": {"CALLERID(num)": "+3198765",
                                  "PJSIP_HEADER(add,VBOUT-SDP_Transport)": "RTP/AVP"}})),
            ),
        )
        .await,
        200,
    );
    assert_eq!(created["id"], "out-1");
    let cc = ev
        .wait_for("ChannelCreated", |e| e["channel"]["id"] == "out-1")
        .await;
    assert_eq!(cc["asterisk_id"], ID);
    let os = ev
        .wait_for("StasisStart", |e| e["channel"]["id"] == "out-1")
        .await;
    assert!(args_of(&os).contains(&"context=call-out".to_string()));
    ok(
        &req.request(
            &iq,
            &ari(
                "POST",
                "/ari/channels/out-1/dial",
                Some(json!({"caller": "out-1", "timeout": 60})),
            ),
        )
        .await,
        204,
    );
    ev.wait_for("ChannelStateChange", |e| {
        e["channel"]["id"] == "out-1" && e["channel"]["state"] == "Up"
    })
    .await;
    let v = ok(
        &req.request(
            &iq,
            &ari(
                "GET",
                "/ari/channels/out-1/variable?variable=CHANNEL(pjsip,call-id)",
                None,
            ),
        )
        .await,
        200,
    );
    assert!(!v["value"].as_str().unwrap().is_empty());
    ok(
        &req.request(
            &iq,
            &ari(
                "DELETE",
                "/ari/channels/out-1",
                Some(json!({"reason_code": "16"})),
            ),
        )
        .await,
        204,
    );
    let d = ev
        .wait_for("ChannelDestroyed", |e| e["channel"]["id"] == "out-1")
        .await;
    assert_eq!(d["cause"], 16);

    // --- a delayed request (no reply_to): executed, not answered. VoIPBIN's 1 h limit sends
    // the non-Q.850 cause 200.
    req.send_without_reply(
        &iq,
        &ari("DELETE", &c(""), Some(json!({"reason_code": "200"}))),
    )
    .await;
    ev.wait_for("ChannelDestroyed", |e| e["channel"]["id"] == chan.as_str())
        .await;
    let gone = req.request(&iq, &ari("GET", &c(""), None)).await;
    assert_eq!(gone["status_code"], 404, "{gone}");
    assert_eq!(gone["data"]["message"], "Channel not found");
    let gone = req
        .request(
            &iq,
            &ari("DELETE", &c(""), Some(json!({"reason_code": "16"}))),
        )
        .await;
    assert_eq!(gone["status_code"], 404, "hangup of a gone channel: {gone}");

    // --- poison messages: an error reply each, nothing redelivered, still serving
    let raw = |b: &'static [u8]| {
        let req = &req;
        let iq = &iq;
        async move {
            let r = req
                .request_raw(iq, b, Duration::from_secs(3))
                .await
                .expect("a reply");
            serde_json::from_slice::<Value>(&r).unwrap()
        }
    };
    let r = raw(b"not json at all").await;
    assert_eq!(r["status_code"], 400, "{r}");
    assert!(
        r["data"]["message"]
            .as_str()
            .unwrap()
            .contains("not a VoIPBIN envelope")
    );
    assert_eq!(
        raw(br#"{"uri":5,"method":"GET"}"#).await["status_code"],
        400
    );
    assert_eq!(
        raw(br#"{"uri":"/ari/channels","method":"get"}"#).await["status_code"],
        400
    );
    let unknown = req
        .request_raw(
            &iq,
            br#"{"uri":"/v1/calls","method":"GET","publisher":"x","data_type":""}"#,
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(unknown, br#"{"status_code":404,"data_type":""}"#);
    let bad_body = req
        .request(&iq, &json!({"uri": "/ari/bridges", "method": "POST", "data_type": "application/json", "data": "{nope"}))
        .await;
    assert_eq!(bad_body["status_code"], 400, "{bad_body}");
    ok(
        &req.request(&iq, &ari("GET", "/ari/asterisk/ping", None))
            .await,
        200,
    );
    let log = mp.log();
    assert!(!log.contains("panicked"), "{}", tail(&log, 40));
    assert!(
        log.contains("delayed-message exchange"),
        "one warning about the missing delay plugin: {}",
        tail(&log, 40)
    );
    assert_eq!(log.matches("delayed-message exchange").count(), 1);
}

const AUTH: (&str, &str) = ("Authorization", "Basic YXN0ZXJpc2s6YXN0ZXJpc2s=");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_under_fifty_calls() {
    const CALLS: usize = 50;
    let mut broker = Broker::start();
    let mp = Mediaplane::start_full("", 240, &amqp_config(&broker));
    let iq = instance_queue();
    let req = Requester::connect(&broker.url()).await;
    let mut ev = Events::subscribe(&req.conn, "asterisk.all.event").await;
    wait_consuming(&req, &iq, Duration::from_secs(20)).await;

    // 50 calls up, answered over RPC as call-manager does.
    let (_dir, mut uac) = sipp_calls(&mp, "1234", CALLS as u32, 60, &["-r", "25", "-l", "60"]);
    let mut channels = Vec::new();
    while channels.len() < CALLS {
        let s = ev.wait_for("StasisStart", |_| true).await;
        let id = s["channel"]["id"].as_str().unwrap().to_string();
        ok(
            &req.request(
                &iq,
                &ari("POST", &format!("/ari/channels/{id}/answer"), None),
            )
            .await,
            204,
        );
        channels.push(id);
    }
    for id in &channels {
        ev.wait_for("ChannelStateChange", |e| {
            e["channel"]["id"] == id.as_str() && e["channel"]["state"] == "Up"
        })
        .await;
    }
    drop(ev);
    req.conn.close(200, "bye".into()).await.unwrap();

    // The broker goes away; events happen meanwhile (over ARI HTTP, which does not need it).
    tokio::task::block_in_place(|| broker.stop());
    for (i, id) in channels.iter().enumerate() {
        let path = format!("/ari/channels/{id}/variable?variable=DURING&value={i}");
        let r = testkit::http::request(mp.ari, "POST", &path, &[AUTH], b"").unwrap();
        assert_eq!(r.status, 204, "{}", r.text());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Back: how long until RPC is served again?
    tokio::task::block_in_place(|| broker.start_again());
    let back = Instant::now();
    let req = Requester::connect(&broker.url()).await;
    let mut events =
        Events::subscribe_queue(&req.conn, "asterisk.all.event", Some("test.events")).await;
    let recovered = wait_consuming(&req, &iq, Duration::from_secs(5)).await;
    let recovered = recovered.max(back.elapsed());
    println!(
        "RPC served again {} ms after the broker listened",
        recovered.as_millis()
    );
    assert!(
        recovered <= Duration::from_secs(5),
        "recovery took {recovered:?}"
    );

    // Every event raised while the broker was down arrives, confirmed, after the restart.
    let mut during = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while during.len() < CALLS && Instant::now() < deadline {
        let Some(e) = events.next(Duration::from_secs(1)).await else {
            continue;
        };
        if e["type"] == "ChannelVarset" && e["variable"] == "DURING" {
            during.insert(e["value"].as_str().unwrap().parse::<usize>().unwrap());
        }
    }
    assert_eq!(
        during.len(),
        CALLS,
        "events raised during the outage that arrived: {during:?}"
    );

    // Every call is still up, on both sides.
    let list = testkit::http::request(mp.ari, "GET", "/ari/channels", &[AUTH], b"").unwrap();
    let list: Value = serde_json::from_slice(&list.body).unwrap();
    let up = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "Up")
        .count();
    assert_eq!(up, CALLS, "{list}");
    assert!(uac.exited().is_none(), "SIPp ended early");

    // And they end normally, hung up over RPC.
    for id in &channels {
        ok(
            &req.request(
                &iq,
                &ari(
                    "DELETE",
                    &format!("/ari/channels/{id}"),
                    Some(json!({"reason_code": "16"})),
                ),
            )
            .await,
            204,
        );
    }
    let (status, out, err) = uac.wait(Duration::from_secs(30));
    assert!(status.success(), "SIPp: {out}{err}");
    let metrics = mp.metrics();
    assert!(
        metrics.contains("mediaplane_amqp_events_dropped_total 0"),
        "{metrics}"
    );
}
