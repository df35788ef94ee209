//! The custody service.

pub mod epcis;
