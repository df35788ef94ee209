//! What the transparency log answers: signed checkpoints (C2SP signed-note /
//! tlog-checkpoint), inclusion and consistency proofs (RFC 9162) that anyone can check against
//! them, and its entries for anyone recomputing it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A signed checkpoint as stored: its tree size, root and signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: i64,
    pub root: Vec<u8>,
    pub note: String,
}

/// A signed checkpoint as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckpointView {
    /// The log's origin line.
    pub origin: String,
    pub tree_size: i64,
    /// The root hash, base64.
    pub root_hash: String,
    /// The C2SP signed note (checkpoint text, blank line, signature line).
    pub note: String,
    /// The verifier key to open the note with (`<name>+<key id>+<base64 key>`).
    pub verifier_key: String,
}

/// An inclusion proof (RFC 9162 order).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    pub event_id: String,
    pub leaf_index: i64,
    pub tree_size: i64,
    /// The leaf hash, base64 (SHA-256(0x00 || leaf data)).
    pub leaf_hash: String,
    /// The leaf data whose hash is the leaf (JCS of event id, digest, chain links and, for
    /// leaves that cover them, the digest of the event's other stored columns).
    pub leaf_data: String,
    /// Sibling hashes, base64, from the leaf upwards.
    pub hashes: Vec<String>,
    pub checkpoint: CheckpointView,
}

/// A consistency proof between two tree sizes (RFC 9162 order).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    pub first: i64,
    pub second: i64,
    pub hashes: Vec<String>,
    /// The checkpoint of the first size.
    pub first_checkpoint: CheckpointView,
    /// The checkpoint of the second size.
    pub checkpoint: CheckpointView,
}

/// One link of a subject's hash chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LinkView {
    pub subject: String,
    pub seq: i64,
    /// Hex.
    pub link: String,
}

/// One entry of the log: the stored event and the chain links it made; to a key not involved
/// in the event, only its leaf index, leaf hash and time (`redacted`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogEntry {
    pub leaf_index: i64,
    /// Absent when redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The exact stored EPCIS event (its SHA-256 is the digest the chains and the leaf commit
    /// to); absent when redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// Empty when redacted.
    pub links: Vec<LinkView>,
    /// The digest (hex) of the event's other stored columns (what the custody feed says of it,
    /// its recorder, action, time, hash, type, business step and location, when the log
    /// recorded it), which its leaf commits to; absent for a leaf written before the log
    /// covered them, and when redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Base64.
    pub leaf_hash: String,
    /// When the log recorded the event.
    pub recorded_at: DateTime<Utc>,
    /// Whether the event is withheld from this key (it is not involved in it): the leaf hash
    /// still goes into the tree, so the log's root verifies without it.
    pub redacted: bool,
}

/// The origin of the log of an instance: `<host>[:port][/path]/custody-log`.
pub fn origin_for(base_url: &str) -> String {
    let trimmed = base_url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(base_url);
    format!("{}/custody-log", trimmed.trim_end_matches('/'))
}
