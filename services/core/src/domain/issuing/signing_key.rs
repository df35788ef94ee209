//! Organisations' Ed25519 signing keys as issuers keep them, and what a new key does to
//! the others.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An organisation's Ed25519 signing key, its secret sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    /// The key's `publicKeyMultibase`, also its fragment in the organisation's DID document.
    pub id: String,
    pub org_id: Uuid,
    pub public_key: Vec<u8>,
    pub sealed_secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// Set when a newer key took over signing; the key still verifies what it signed.
    pub retired_at: Option<DateTime<Utc>>,
    /// Set when the key was withdrawn (compromised): it no longer verifies anything.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What happens to an organisation's other keys when a key is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The first key.
    None,
    /// The others stop signing; what they signed stays valid.
    Retire,
    /// The others are withdrawn: what they signed no longer verifies.
    Revoke,
}
