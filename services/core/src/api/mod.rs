//! The HTTP edge every service shares: problem+json and the code registry, the typed errors of
//! the kernel turned into problems, extractors, authentication, pagination, idempotent replay,
//! the audit trail of authority reads, and the accounts, audit, feed and issuers (DID
//! documents, status lists) routes.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod bulk_gate;
pub mod codes;
pub mod errors;
pub mod extract;
pub mod feed;
pub mod idempotency;
pub mod issuers;
pub mod json_check;
pub mod pagination;
pub mod problem;
pub mod quarantine;
