//! What the kernel stores: organisations and API keys, leases, the instance's identity.

pub mod accounts;
pub mod archive;
pub mod instance;
pub mod lease;
pub mod quarantine;
