//! The passport service: product passports as W3C Verifiable Credentials signed with
//! `eddsa-jcs-2022`, versioned, revocable, resolvable through GS1 Digital Link.
//!
//! - [`api`]: the HTTP edge: the routes, the resolver, the passport page, QR codes, and the one
//!   place where a [`service::PassportError`] becomes a problem (`api::error`);
//! - [`service`]: the use cases (issue one or many, versions, status, reads, generic
//!   credentials, verification), signing with core's issuing capability (keys, DIDs, status
//!   lists: `reetrace_core::service::issuing`);
//! - [`domain`]: registrations and their rules, credentials, passports, tiers; no I/O;
//! - [`store`]: every table and its SQL, on SQLite or PostgreSQL, and their backup;
//! - [`client`]: other hosts over HTTP (issuers' DID documents and status lists);
//! - [`feed`]: the passport feed's producer;
//! - [`label`]: the CRMA art. 28(1) magnet label: its layout, drawn as SVG and as PDF;
//! - [`verify`]: the credential verifier, a pure library the server and `reetrace verify`
//!   share.

pub mod api;
pub mod client;
pub mod domain;
pub mod feed;
pub mod label;
pub mod service;
pub mod store;
pub mod verify;
