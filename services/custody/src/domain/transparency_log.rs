//! What the transparency log answers: signed checkpoints, inclusion and consistency proofs
//! (RFC 9162), and its entries for anyone recomputing it.

/// A signed checkpoint as stored: its tree size, root and signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: i64,
    pub root: Vec<u8>,
    pub note: String,
}
