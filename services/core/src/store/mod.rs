//! What the kernel stores: organisations and API keys, leases.

pub mod accounts;
pub mod archive;
pub mod lease;
pub mod quarantine;
