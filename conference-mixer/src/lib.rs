//! conference-mixer: N-party mix-minus on PCM frames (see DESIGN.md §2).
#![forbid(unsafe_code)]
