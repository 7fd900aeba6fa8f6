//! VoIPBIN request envelopes off the broker: any bytes parse to a request or an error (never a
//! panic), a parsed request always has a route, and the reply built for it is valid JSON.
#![no_main]

use control_plane::amqp::envelope::{error_reply, parse_request, reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(req) => {
            let _ = req.route();
            let body = String::from_utf8_lossy(&req.body);
            if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
                let r = reply(200, &req.data_type, Some(&body));
                assert!(serde_json::from_slice::<serde_json::Value>(&r).is_ok());
            }
        }
        Err(e) => {
            let r = error_reply(400, &e.to_string());
            assert!(serde_json::from_slice::<serde_json::Value>(&r).is_ok());
        }
    }
});
