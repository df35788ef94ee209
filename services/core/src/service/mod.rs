//! The kernel's use cases (accounts, feed consumers, leases, issuing credentials as an
//! organisation), and the ports that other services implement.

pub mod accounts;
pub mod feed;
pub mod issuing;
pub mod lease;
pub mod recycled_content;
pub mod retry;
