//! sip-core: the SIP half of the mediaplane B2BUA (see DESIGN.md §2).
#![forbid(unsafe_code)]
