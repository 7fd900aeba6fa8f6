//! RFC 3264 offer/answer.
