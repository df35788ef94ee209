//! The stock service.

pub mod domain;
