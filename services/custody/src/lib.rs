//! The custody service: the end-of-life chain of products as EPCIS 2.0 events, with the holder
//! rule, element-by-element mass balance and a tamper-evident Merkle log.
//!
//! - [`api`]: the HTTP routes (custody steps, lots and claims, the transparency log, EPCIS
//!   capture and query) and where a [`domain::CustodyError`] becomes a problem.
//! - [`service`]: the use cases, each decided from what the store holds and written with
//!   compare-and-set; the transparency log's signer and prover.
//! - [`domain`]: the rules and types, no I/O: the state machine and holder rule, mass balance,
//!   claims, what the log commits to and how it is verified, the capture of a document.
//! - [`store`]: all SQL, one store on SQLite or PostgreSQL.
//! - [`feed`]: the passport feed kept as custody's copy of the passports, and the custody feed.
//! - [`epcis`]: a library of GS1 EPCIS 2.0 (schema, event hash, events we build, queries), pure.

pub mod api;
pub mod domain;
pub mod epcis;
pub mod feed;
pub mod service;
pub mod store;
