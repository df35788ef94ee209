//! The passport service: product passports as W3C Verifiable Credentials signed with
//! `eddsa-jcs-2022`, versioned, revocable, resolvable through GS1 Digital Link.

pub mod api;
pub mod credential_cache;
pub mod domain;
pub mod feed;
pub mod generic;
pub mod issue;
pub mod keys;
pub mod page;
pub mod service;
pub mod status;
pub mod store;
pub mod verify;
