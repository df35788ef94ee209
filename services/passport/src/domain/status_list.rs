//! A status list as the service keeps it: its bits, and the signed credential of those bits
//! while they have not changed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::credential::StatusPurpose;

/// A status list as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRow {
    pub id: String,
    pub org_id: Uuid,
    pub purpose: StatusPurpose,
    pub size: u32,
    pub allocated: u32,
    pub bits: Vec<u8>,
    /// The signed list credential; `None` when the bits changed since it was signed.
    pub credential: Option<String>,
    pub updated_at: DateTime<Utc>,
}
