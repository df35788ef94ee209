//! The shared kernel of reetrace: the domain vocabulary, crypto, auth, problem+json errors,
//! storage plumbing and the feed protocol used by every service.

pub mod accounts;
pub mod auth;
pub mod checkpoint;
pub mod claims;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod extract;
pub mod feed;
pub mod idempotency;
pub mod lease;
pub mod merkle;
pub mod metrics;
pub mod pagination;
pub mod problem;
#[cfg(feature = "testing")]
pub mod testing;
