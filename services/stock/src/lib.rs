//! The stock service.
