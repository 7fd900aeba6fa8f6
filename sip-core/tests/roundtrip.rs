//! `parse(print(m)) == m` for arbitrary requests and responses, and no panic on arbitrary
//! bytes (the fuzz targets run the same properties much longer).
#![allow(clippy::unwrap_used, reason = "tests")]

use bytes::Bytes;
use proptest::prelude::*;
use sip_core::{HeaderName, Message, Method, Request, Response, StatusCode, Uri, parse};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,15}"
}

fn value() -> impl Strategy<Value = String> {
    // Printable, no CR/LF, no leading/trailing blanks (values are stored trimmed).
    "[!-~]([ -~]{0,40}[!-~])?"
}

fn uri() -> impl Strategy<Value = Uri> {
    (
        prop::option::of("[a-z0-9+]{1,12}"),
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){1,2}",
        prop::option::of(1u16..65535),
        any::<bool>(),
    )
        .prop_map(|(user, host, port, lr)| {
            let mut s = String::from("sip:");
            if let Some(u) = user {
                s.push_str(&u);
                s.push('@');
            }
            s.push_str(&host);
            if let Some(p) = port {
                s.push_str(&format!(":{p}"));
            }
            if lr {
                s.push_str(";lr;transport=tcp");
            }
            Uri::parse(Bytes::from(s)).unwrap()
        })
}

fn headers() -> impl Strategy<Value = Vec<(HeaderName, String)>> {
    let known = prop_oneof![
        Just(HeaderName::Via),
        Just(HeaderName::From),
        Just(HeaderName::To),
        Just(HeaderName::CallId),
        Just(HeaderName::Contact),
        Just(HeaderName::Route),
        Just(HeaderName::Supported),
        Just(HeaderName::Subject),
        Just(HeaderName::UserAgent),
    ];
    let name = prop_oneof![
        known,
        token().prop_map(|t| HeaderName::other(&format!("X-{t}")))
    ];
    prop::collection::vec((name, value()), 0..12)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300)
}

fn finish(headers: &mut sip_core::Headers, list: Vec<(HeaderName, String)>, body: &[u8]) {
    for (n, v) in list {
        headers.push(n, Bytes::from(v));
    }
    headers.push(
        HeaderName::ContentLength,
        Bytes::from(body.len().to_string()),
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn requests_round_trip(method in prop_oneof![Just(Method::Invite), Just(Method::Bye), Just(Method::Options), token().prop_map(|t| Method::from_bytes(t.as_bytes()).unwrap())],
                           uri in uri(), list in headers(), body in body()) {
        let mut r = Request::new(method, uri);
        finish(&mut r.headers, list, &body);
        r.body = Bytes::from(body);
        let again = parse(r.to_bytes()).unwrap();
        prop_assert_eq!(again, Message::Request(r));
    }

    #[test]
    fn responses_round_trip(code in 100u16..700, reason in "([!-~][ -~]{0,30})?", list in headers(), body in body()) {
        let mut r = Response::new(StatusCode::new(code).unwrap());
        r.reason = Bytes::from(reason);
        finish(&mut r.headers, list, &body);
        r.body = Bytes::from(body);
        let again = parse(r.to_bytes()).unwrap();
        prop_assert_eq!(again, Message::Response(r));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = parse(Bytes::from(data)) {
            let h = m.headers();
            let _ = (h.vias(), h.from(), h.to(), h.cseq(), h.call_id(), h.contacts(), h.routes(), h.max_forwards(), h.reasons());
        }
    }
}
