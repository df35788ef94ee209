//! The custody service: the end-of-life chain of products as EPCIS 2.0 events, with the holder
//! rule, element-by-element mass balance and a tamper-evident Merkle log.

pub mod api;
pub mod capture;
pub mod domain;
pub mod epcis;
pub mod feed;
pub mod log;
pub mod lots;
pub mod service;
pub mod steps;
pub mod store;
pub mod transform;
pub mod verify;
