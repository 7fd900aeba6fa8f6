//! audiosocket: AudioSocket framing and session (see DESIGN.md §2).
#![forbid(unsafe_code)]
