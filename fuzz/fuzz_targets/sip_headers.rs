//! Each typed header parser on arbitrary values: Via, name-addr, CSeq, URI, Reason, token
//! lists, digest parameters.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip_core::{
    auth::DigestParams,
    header::{token_list, CSeq, NameAddr, Reason, Via},
    Uri,
};

fuzz_target!(|data: &[u8]| {
    let v = Bytes::copy_from_slice(data);
    if let Ok(via) = Via::parse(&v) {
        let printed = via.to_bytes();
        assert_eq!(Via::parse(&printed).expect("printed Via parses").to_bytes(), printed);
    }
    if let Ok(na) = NameAddr::parse(&v) {
        let printed = na.to_bytes();
        NameAddr::parse(&printed).expect("printed name-addr parses");
    }
    if let Ok(c) = CSeq::parse(&v) {
        assert_eq!(CSeq::parse(&c.to_bytes()).expect("printed CSeq parses"), c);
    }
    let _ = Uri::parse(v.clone());
    let _ = Reason::parse(&v);
    let _ = token_list(&v);
    let _ = DigestParams::parse(&v);
});
