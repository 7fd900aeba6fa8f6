//! Hangup causes: Q.850 cause values, their ARI names, and the SIP mapping both ways
//! (RFC 3398 §7.2.4.1 and §8.2.6.1, as Asterisk's chan_pjsip applies them).

/// ARI `reason` names for `DELETE /channels/{id}` and their Q.850 causes.
pub fn cause_of_reason(reason: &str) -> Option<u16> {
    Some(match reason {
        "normal" => 16,
        "busy" => 17,
        "congestion" => 34,
        "no_answer" => 19,
        "timeout" => 18,
        "rejected" => 21,
        "unallocated" => 1,
        "normal_unspecified" => 31,
        "number_incomplete" => 28,
        "codec_mismatch" => 58,
        "interworking" => 127,
        "failure" => 38,
        "answered_elsewhere" => 26,
        _ => return None,
    })
}

/// Asterisk's text for a cause (`cause_txt` of ChannelDestroyed).
pub fn cause_text(cause: u16) -> &'static str {
    match cause {
        0 => "Unknown",
        1 => "Unallocated (unassigned) number",
        2 => "No route to specified transmit network",
        3 => "No route to destination",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        22 => "Number changed",
        26 => "Answered elsewhere",
        27 => "Destination out of order",
        28 => "Invalid number format",
        29 => "Facility rejected",
        31 => "Normal, unspecified",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        41 => "Temporary failure",
        42 => "Switching equipment congestion",
        47 => "Resource unavailable, unspecified",
        58 => "Bearer capability not available",
        65 => "Bearer capability not implemented",
        79 => "Service or option not implemented",
        88 => "Incompatible destination",
        102 => "Recovery on timer expiry",
        111 => "Protocol error, unspecified",
        127 => "Interworking, unspecified",
        _ => "Unknown",
    }
}

/// The SIP final response that rejects an unanswered inbound call for a cause (RFC 3398
/// §7.2.4.1; anything unlisted, including VoIPBIN's non-Q.850 200, becomes 480).
pub fn sip_status_of_cause(cause: u16) -> u16 {
    match cause {
        1..=3 => 404,
        17 => 486,
        18 => 408,
        19 | 20 => 480,
        21 | 55 | 57 => 403,
        22 => 410,
        26 => 487,
        27 => 502,
        28 => 484,
        29 | 79 => 501,
        34 | 42 | 47 | 58 => 503,
        38 | 41 | 111 | 127 => 500,
        65 | 88 => 488,
        102 => 504,
        _ => 480,
    }
}

/// The cause a SIP final response reports (RFC 3398 §8.2.6.1).
pub fn cause_of_sip_status(status: u16) -> u16 {
    match status {
        200..=299 => 16,
        400 | 481 | 500 | 503 => 41,
        401 | 402 | 403 | 407 | 603 => 21,
        404 | 485 | 604 => 1,
        405 => 63,
        406 | 415 | 501 => 79,
        408 | 504 => 102,
        410 => 22,
        480 => 18,
        482 | 483 => 25,
        484 => 28,
        486 | 600 => 17,
        487 => 16,
        488 | 606 => 58,
        502 => 38,
        _ => 127,
    }
}

/// ARI `Dial` event `dialstatus` for a final result.
pub fn dialstatus_of_sip_status(status: u16) -> &'static str {
    match status {
        200..=299 => "ANSWER",
        486 | 600 => "BUSY",
        408 | 480 => "NOANSWER",
        487 => "CANCEL",
        503 | 502 | 500 => "CONGESTION",
        _ => "CHANUNAVAIL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_common_causes() {
        for (cause, sip) in [(1, 404), (17, 486), (21, 403), (38, 500), (3, 404)] {
            assert_eq!(sip_status_of_cause(cause), sip);
        }
        assert_eq!(cause_of_sip_status(486), 17);
        assert_eq!(cause_of_sip_status(404), 1);
        assert_eq!(
            sip_status_of_cause(200),
            480,
            "VoIPBIN's duration timeout cause"
        );
        assert_eq!(cause_of_reason("busy"), Some(17));
        assert_eq!(cause_of_reason("nope"), None);
    }
}
