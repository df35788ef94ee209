//! The custody service.
