//! The passport service: product passports as W3C Verifiable Credentials signed with
//! `eddsa-jcs-2022`, versioned, revocable, resolvable through GS1 Digital Link.

pub mod domain;
