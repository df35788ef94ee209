//! Calls to services in other processes, over HTTP with the deployment's service key.

pub mod feed;
pub mod recycled_content;
