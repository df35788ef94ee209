//! The shared kernel of reetrace: the domain vocabulary, crypto, auth, problem+json errors,
//! storage plumbing and the feed protocol used by every service.

pub mod checkpoint;
pub mod crypto;
pub mod domain;
pub mod merkle;
