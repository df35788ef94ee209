//! The kernel's use cases (accounts, the audit trail of authority reads, feed consumers, leases,
//! issuing credentials as an organisation), and the ports that other services implement.

pub mod accounts;
pub mod audit;
pub mod feed;
pub mod idempotency_retention;
pub mod issuing;
pub mod lease;
pub mod recycled_content;
pub mod retry;
