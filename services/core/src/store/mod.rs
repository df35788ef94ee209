//! What the kernel stores: organisations and API keys, the audit trail of authority reads,
//! leases, the instance's identity, and issuing's signing keys and status lists.

pub mod accounts;
pub mod archive;
pub mod audit;
pub mod instance;
pub mod issuing;
pub mod lease;
pub mod quarantine;
