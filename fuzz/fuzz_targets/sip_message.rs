//! Arbitrary datagrams through the SIP parser and every typed accessor; a message that
//! parses must print and parse back to itself.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip_core::{parse, validate::UasPolicy, Message};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = parse(Bytes::copy_from_slice(data)) else { return };
    let h = m.headers();
    let _ = (h.vias(), h.top_via(), h.from(), h.to(), h.cseq(), h.call_id(), h.contacts());
    let _ = (h.routes(), h.record_routes(), h.max_forwards(), h.content_length(), h.content_type());
    let _ = (h.allow(), h.supported(), h.require(), h.proxy_require(), h.expires(), h.privacy(), h.reasons());
    let _ = h.p_asserted_identity();
    if let Message::Request(r) = &m {
        let _ = UasPolicy::default().check(r);
    }
    let again = parse(m.to_bytes()).expect("a printed message parses");
    assert_eq!(again, m);
});
