//! The passport service.
