//! The kernel's use cases, and the ports that other services implement.

pub mod accounts;
pub mod feed;
pub mod lease;
pub mod recycled_content;
pub mod retry;
