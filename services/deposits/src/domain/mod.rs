//! The deposits' vocabulary and rules: records, locations, assays, contents. No I/O.

pub mod assay;
pub mod content;
pub mod credential;
pub mod deposit;
pub mod exact;
pub mod geometry;
