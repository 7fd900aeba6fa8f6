//! media-engine: the media half of the mediaplane B2BUA (see DESIGN.md §2).
