//! The RFC 4475 torture messages, one test per section: valid messages are accepted (and
//! survive a print/parse round trip), invalid ones are answered as the RFC prescribes, or
//! dropped when no answer can be routed. Data: `tests/data/rfc4475/` (see its README).
#![allow(clippy::unwrap_used, reason = "tests")]

use bytes::Bytes;
use sip_core::{HeaderName, Message, Method, parse, validate::UasPolicy};

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Parsed and handed to the transaction user.
    Accept,
    /// Answered with this status.
    Reject(u16),
    /// Dropped: no answer can be routed (or a response nobody can match).
    Drop,
}

fn load(name: &str) -> Bytes {
    let path = format!(
        "{}/tests/data/rfc4475/{name}.dat",
        testkit::package_dir().display()
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn policy() -> UasPolicy {
    // The B2BUA's methods plus REGISTER and MESSAGE, so that the torture messages using them
    // reach the checks they are about.
    let mut p = UasPolicy::default();
    p.allowed.extend([Method::Register, Method::Message]);
    p
}

fn outcome(name: &str) -> Outcome {
    match parse(load(name)) {
        Ok(Message::Request(r)) => match policy().check(&r) {
            Ok(()) => {
                // Valid requests survive printing and parsing again unchanged.
                let again = parse(r.to_bytes()).expect("printed request parses");
                assert_eq!(again, Message::Request(r), "{name}: round trip");
                Accept
            }
            Err(rejection) => Reject(rejection.status.code()),
        },
        Ok(Message::Response(r)) => {
            let h = &r.headers;
            if h.cseq().is_ok() && h.top_via().is_ok() && h.call_id().is_ok() {
                let again = parse(r.to_bytes()).expect("printed response parses");
                assert_eq!(again, Message::Response(r), "{name}: round trip");
                Accept
            } else {
                Drop
            }
        }
        Err(e) => match &e.request_headers {
            // An answer needs a Via to route it (RFC 3261 §18.2.2).
            Some(h) if h.contains(&HeaderName::Via) => Reject(e.status().code()),
            _ => Drop,
        },
    }
}

macro_rules! torture {
    ($($test:ident: $file:literal, $section:literal => $expected:expr;)*) => {
        $(
            #[doc = concat!("RFC 4475 §", $section, " (`", $file, ".dat`)")]
            #[test]
            fn $test() {
                assert_eq!(outcome($file), $expected, concat!("RFC 4475 §", $section, " ", $file));
            }
        )*

        const ALL: &[&str] = &[$($file),*];
    };
}

use Outcome::{Accept, Drop, Reject};

torture! {
    // §3.1.1 Valid messages
    s3_1_1_1_short_tortuous_invite: "wsinv", "3.1.1.1" => Accept;
    s3_1_1_2_wide_range_of_valid_characters: "intmeth", "3.1.1.2" => Reject(501);
    s3_1_1_3_valid_use_of_escaping: "esc01", "3.1.1.3" => Accept;
    s3_1_1_4_escaped_nulls_in_uris: "escnull", "3.1.1.4" => Accept;
    s3_1_1_5_percent_that_is_not_an_escape: "esc02", "3.1.1.5" => Reject(501);
    s3_1_1_6_no_lws_between_display_name_and_angle: "lwsdisp", "3.1.1.6" => Accept;
    s3_1_1_7_long_values_in_header_fields: "longreq", "3.1.1.7" => Accept;
    s3_1_1_8_extra_trailing_octets_in_a_datagram: "dblreq", "3.1.1.8" => Accept;
    s3_1_1_9_semicolons_in_uri_user_part: "semiuri", "3.1.1.9" => Accept;
    s3_1_1_10_varied_and_unknown_transports: "transports", "3.1.1.10" => Accept;
    s3_1_1_11_multipart_mime_message: "mpart01", "3.1.1.11" => Accept;
    s3_1_1_12_unusual_reason_phrase: "unreason", "3.1.1.12" => Accept;
    s3_1_1_13_empty_reason_phrase: "noreason", "3.1.1.13" => Accept;
    // §3.1.2 Invalid messages
    s3_1_2_1_extraneous_header_field_separators: "badinv01", "3.1.2.1" => Reject(400);
    s3_1_2_2_content_length_larger_than_message: "clerr", "3.1.2.2" => Reject(400);
    s3_1_2_3_negative_content_length: "ncl", "3.1.2.3" => Reject(400);
    s3_1_2_4_request_scalar_fields_with_overlarge_values: "scalar02", "3.1.2.4" => Reject(400);
    s3_1_2_5_response_scalar_fields_with_overlarge_values: "scalarlg", "3.1.2.5" => Drop;
    s3_1_2_6_unterminated_quoted_string_in_display_name: "quotbal", "3.1.2.6" => Reject(400);
    s3_1_2_7_angle_brackets_around_request_uri: "ltgtruri", "3.1.2.7" => Reject(400);
    s3_1_2_8_embedded_lws_in_request_uri: "lwsruri", "3.1.2.8" => Reject(400);
    s3_1_2_9_multiple_sp_in_request_line: "lwsstart", "3.1.2.9" => Reject(400);
    s3_1_2_10_sp_at_end_of_request_line: "trws", "3.1.2.10" => Reject(400);
    s3_1_2_11_escaped_headers_in_request_uri: "escruri", "3.1.2.11" => Reject(400);
    // Liberal: Date is never interpreted or forwarded, so a bad zone costs nothing.
    s3_1_2_12_invalid_time_zone_in_date: "baddate", "3.1.2.12" => Accept;
    // Liberal: the Contact reads as a URI with headers; nothing is propagated.
    s3_1_2_13_name_addr_uri_not_in_angle_brackets: "regbadct", "3.1.2.13" => Accept;
    // Liberal: spaces just inside <...> are trimmed.
    s3_1_2_14_spaces_within_addr_spec: "badaspec", "3.1.2.14" => Accept;
    s3_1_2_15_non_token_characters_in_display_name: "baddn", "3.1.2.15" => Reject(400);
    s3_1_2_16_unknown_protocol_version: "badvers", "3.1.2.16" => Reject(505);
    s3_1_2_17_start_line_and_cseq_method_mismatch: "mismatch01", "3.1.2.17" => Reject(400);
    s3_1_2_18_unknown_method_with_cseq_mismatch: "mismatch02", "3.1.2.18" => Reject(400);
    s3_1_2_19_overlarge_response_code: "bigcode", "3.1.2.19" => Drop;
    // §3.2 Transaction layer: an RFC 2543 branch is matched the old way, not refused.
    s3_2_1_missing_transaction_identifier: "badbranch", "3.2.1" => Accept;
    // §3.3 Application layer
    s3_3_1_missing_required_header_fields: "insuf", "3.3.1" => Reject(400);
    s3_3_2_request_uri_with_unknown_scheme: "unkscm", "3.3.2" => Reject(416);
    s3_3_3_request_uri_with_known_but_atypical_scheme: "novelsc", "3.3.3" => Reject(416);
    s3_3_4_unknown_uri_schemes_in_header_fields: "unksm2", "3.3.4" => Accept;
    s3_3_5_proxy_require_and_require: "bext01", "3.3.5" => Reject(420);
    s3_3_6_unknown_content_type: "invut", "3.3.6" => Reject(415);
    s3_3_7_unknown_authorization_scheme: "regaut01", "3.3.7" => Accept;
    s3_3_8_multiple_values_in_single_value_fields: "multi01", "3.3.8" => Reject(400);
    s3_3_9_multiple_content_length_values: "mcl01", "3.3.9" => Reject(400);
    s3_3_10_200_ok_with_broadcast_via: "bcast", "3.3.10" => Accept;
    // A UAS answers a request with Max-Forwards 0; 483 is for proxies.
    s3_3_11_max_forwards_of_zero: "zeromf", "3.3.11" => Accept;
    s3_3_12_register_with_contact_parameter: "cparam01", "3.3.12" => Accept;
    s3_3_13_register_with_url_parameter: "cparam02", "3.3.13" => Accept;
    s3_3_14_register_with_url_escaped_header: "regescrt", "3.3.14" => Accept;
    s3_3_15_unacceptable_accept_offering: "sdp01", "3.3.15" => Reject(406);
    // §3.4 Backward compatibility
    s3_4_1_invite_with_rfc2543_syntax: "inv2543", "3.4.1" => Accept;
    // Not in any section: no SIP version and no Via, so no answer can be routed.
    archive_extra_test_dat: "test", "-" => Drop;
}

#[test]
fn all_fifty_messages_are_covered() {
    let files = std::fs::read_dir(format!(
        "{}/tests/data/rfc4475",
        testkit::package_dir().display()
    ))
    .unwrap()
    .filter_map(|e| {
        e.ok()?
            .file_name()
            .to_str()?
            .strip_suffix(".dat")
            .map(String::from)
    })
    .count();
    assert_eq!(files, 50);
    assert_eq!(ALL.len(), 50);
}

#[test]
fn tortuous_invite_details() {
    let Ok(Message::Request(r)) = parse(load("wsinv")) else {
        panic!("wsinv parses")
    };
    let h = &r.headers;
    assert_eq!(h.to().unwrap().tag().unwrap().as_ref(), b"1918181833n");
    assert_eq!(
        h.from().unwrap().display_name().as_deref(),
        Some("J Rosenberg \\\"")
    );
    assert_eq!(h.max_forwards().unwrap(), Some(68));
    assert_eq!(h.cseq().unwrap().seq, 9);
    let vias = h.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[2].branch().unwrap().as_ref(), b"z9hG4bK30239");
    assert_eq!(
        h.get_named("NewFangledHeader").unwrap().as_ref(),
        b"newfangled value continued newfangled value"
    );
    assert_eq!(
        h.get_named("UnknownHeaderWithUnusualValue")
            .unwrap()
            .as_ref(),
        b";;,,;;,;"
    );
    assert!(
        h.routes().unwrap()[0]
            .uri
            .as_sip()
            .unwrap()
            .params()
            .has("lr")
    );
    assert_eq!(
        h.contact().unwrap().params.value("q").unwrap().as_ref(),
        b"0.33"
    );
    assert_eq!(r.body.len(), 150);
}

#[test]
fn trailing_octets_of_a_datagram_are_ignored() {
    let Ok(Message::Request(r)) = parse(load("dblreq")) else {
        panic!("dblreq parses")
    };
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty());
}

#[test]
fn rejections_carry_their_explanations() {
    let Ok(Message::Request(r)) = parse(load("bext01")) else {
        panic!()
    };
    let rej = policy().check(&r).unwrap_err();
    let unsupported = &rej
        .headers
        .iter()
        .find(|(n, _)| *n == HeaderName::Unsupported)
        .unwrap()
        .1;
    assert_eq!(
        unsupported.as_ref(),
        b"nothingSupportsThis, nothingSupportsThisEither"
    );
    let Ok(Message::Request(r)) = parse(load("invut")) else {
        panic!()
    };
    assert!(
        policy()
            .check(&r)
            .unwrap_err()
            .headers
            .iter()
            .any(|(n, v)| *n == HeaderName::Accept && v.starts_with(b"application/sdp"))
    );
    let Ok(Message::Request(r)) = parse(load("mismatch01")) else {
        panic!()
    };
    assert_eq!(
        policy().check(&r).unwrap_err().reason,
        "CSeq Method Does Not Match Request"
    );
    let e = parse(load("clerr")).unwrap_err();
    assert_eq!(e.reason_phrase(), "Body Shorter Than Content-Length");
}
