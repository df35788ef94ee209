//! Storage of the passport service: a trait per aggregate (signing keys, status lists,
//! passports), one native implementation per backend.

mod sql;
pub mod status_bits;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use reetrace_core::db::{Db, MigrationSet, StoreError};
use reetrace_core::domain::idempotency::StoredResponse;
use uuid::Uuid;

use crate::domain::credential::{StatusPurpose, StatusRef};
use crate::domain::registration::Granularity;

pub use sql::{PgPassports, SqlitePassports};

/// The passport service's migrations.
pub static MIGRATIONS: MigrationSet = MigrationSet {
    name: "passport",
    sqlite: || sqlx::migrate!("../../migrations/passport/sqlite"),
    postgres: || sqlx::migrate!("../../migrations/passport/postgres"),
};

/// Everything the passport service stores, on one backend.
pub trait PassportStores: KeyStore + StatusListStore + PassportStore {}
impl<T: KeyStore + StatusListStore + PassportStore> PassportStores for T {}

/// The stores for a database.
pub fn open(db: &Db) -> Arc<dyn PassportStores> {
    match db {
        Db::Sqlite(db) => Arc::new(SqlitePassports::new(db.clone())),
        Db::Postgres(pool) => Arc::new(PgPassports::new(pool.clone())),
    }
}

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

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Adds a key, retiring or revoking the organisation's other keys in the same transaction.
    async fn insert_key(&self, key: &SigningKeyRow, rotation: Rotation) -> Result<(), StoreError>;
    /// All keys of an organisation, oldest first.
    async fn org_keys(&self, org_id: Uuid) -> Result<Vec<SigningKeyRow>, StoreError>;
    /// Every key's id and sealed secret (for a master key rotation).
    async fn sealed_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Rewrites sealed secrets in one transaction, each only if it still holds `from`;
    /// otherwise nothing is written and the answer is a conflict.
    async fn reseal_keys(
        &self,
        changes: &[reetrace_core::crypto::Reseal],
    ) -> Result<(), StoreError>;
}

/// A status list as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRow {
    pub id: String,
    pub org_id: Uuid,
    pub purpose: StatusPurpose,
    pub size: u32,
    pub allocated: u32,
    pub bits: Vec<u8>,
    pub credential: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait StatusListStore: Send + Sync {
    /// Hands out `count` random unused indexes of `org_id`'s lists for `purpose`, opening new
    /// lists as they fill.
    async fn allocate(
        &self,
        org_id: Uuid,
        purpose: StatusPurpose,
        count: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusRef>, StoreError>;
    async fn status_list(&self, id: &str) -> Result<Option<StatusListRow>, StoreError>;
    /// Keeps a freshly signed list credential, unless the bits changed since `updated_at`.
    async fn cache_signed(
        &self,
        id: &str,
        updated_at: DateTime<Utc>,
        credential: &str,
    ) -> Result<(), StoreError>;
}

/// The lifecycle state of a passport.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PassportStatus {
    Active,
    Suspended,
    Revoked,
}

impl PassportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PassportStatus::Active => "active",
            PassportStatus::Suspended => "suspended",
            PassportStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(PassportStatus::Active),
            "suspended" => Ok(PassportStatus::Suspended),
            "revoked" => Ok(PassportStatus::Revoked),
            other => Err(StoreError::Corrupt(format!("passport status {other:?}"))),
        }
    }
}

/// A passport version to store (the first one, or a new one).
#[derive(Debug, Clone)]
pub struct NewPassport {
    pub id: Uuid,
    pub org_id: Uuid,
    pub version: u32,
    pub granularity: Granularity,
    pub gtin: Option<String>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    pub category: String,
    pub country: String,
    pub placed_on_market: NaiveDate,
    pub model_passport: Option<Uuid>,
    pub credential_id: Uuid,
    pub credential: String,
    pub component_details: String,
    pub confidential: Option<String>,
    pub key_id: String,
    /// Revocation, suspension and message entries, in that order.
    pub status: [StatusRef; 3],
    pub created_at: DateTime<Utc>,
}

/// A passport's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassportRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub version: u32,
    pub status: PassportStatus,
    pub status_reason: Option<String>,
    pub granularity: Granularity,
    pub gtin: Option<String>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    pub category: String,
    pub country: String,
    pub placed_on_market: NaiveDate,
    pub model_passport: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One stored version of a passport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub passport_id: Uuid,
    pub version: u32,
    pub credential_id: Uuid,
    pub credential: String,
    pub component_details: String,
    pub confidential: Option<String>,
    pub key_id: String,
    pub status: [StatusRef; 3],
    pub created_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
}

/// What identifies a product for the resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Item { gtin: String, serial: String },
    Batch { gtin: String, lot: String },
    Model { gtin: String },
}

/// How the resolver names a passport: by id (`/p/{id}`) or by its GS1 identity.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Id(Uuid),
    Identity(&'a Identity),
}

/// Filters of the passport list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub org_id: Option<Uuid>,
    pub category: Option<String>,
    pub gtin: Option<String>,
    pub country: Option<String>,
}

/// A change of status.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub status: PassportStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    pub event_id: Uuid,
}

/// Computes the answer to keep from which rows were created (`None`: keep nothing).
pub type Respond = Box<dyn FnOnce(&[bool]) -> Option<StoredResponse> + Send>;

/// The idempotent answer to keep with a write.
pub struct IdempotentWrite {
    pub org_id: Uuid,
    pub key: String,
    pub respond: Respond,
}

/// One event of the passport feed as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    pub seq: i64,
    pub event_id: Uuid,
    pub kind: String,
    pub passport_id: Uuid,
    pub version: u32,
    pub org_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub data: Option<String>,
    /// The version's credential for `passport.issued` / `passport.versioned`.
    pub credential: Option<String>,
}

/// Why a new version was not stored.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("no such passport")]
    NotFound,
    #[error("the passport is at version {current}, not {expected}")]
    Stale { current: u32, expected: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait PassportStore: Send + Sync {
    /// Stores first versions. Returns, per row, whether it was created (false: it conflicts
    /// with an existing passport's identity or an earlier row of the batch). With `atomic`, a
    /// conflict stores nothing: no row, no event, no answer; the flags still say which rows
    /// conflicted. The idempotent answer (if any) commits with the rows.
    async fn insert_passports(
        &self,
        rows: &[NewPassport],
        atomic: bool,
        idempotent: Option<IdempotentWrite>,
    ) -> Result<Vec<bool>, StoreError>;

    /// Stores version `row.version`, which must directly follow the current one; marks the
    /// previous one superseded (its message bit) in the same transaction.
    async fn add_version(
        &self,
        row: &NewPassport,
        idempotent: Option<IdempotentWrite>,
    ) -> Result<(), VersionError>;

    /// Changes a passport's status and flips the status bits of all its versions.
    async fn set_status(
        &self,
        id: Uuid,
        change: &StatusChange,
    ) -> Result<Option<PassportRow>, StoreError>;

    async fn passport(&self, id: Uuid) -> Result<Option<PassportRow>, StoreError>;
    async fn passports(&self, ids: &[Uuid]) -> Result<Vec<PassportRow>, StoreError>;
    async fn find(&self, identity: &Identity) -> Result<Option<PassportRow>, StoreError>;
    /// A passport with the signed credential of its current version, in one read: the
    /// resolver's path when it answers with the credential.
    async fn current_credential(
        &self,
        lookup: Lookup<'_>,
    ) -> Result<Option<(PassportRow, String)>, StoreError>;
    /// A version, or the current one when `version` is `None`.
    async fn version(
        &self,
        id: Uuid,
        version: Option<u32>,
    ) -> Result<Option<VersionRow>, StoreError>;
    async fn versions(&self, id: Uuid) -> Result<Vec<VersionRow>, StoreError>;
    /// Passports by id, after `after`, at most `limit`.
    async fn list(
        &self,
        filter: &ListFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<PassportRow>, StoreError>;
    async fn stored_response(
        &self,
        org_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// Feed events after `after`, at most `limit`, in order.
    async fn feed_after(&self, after: i64, limit: u32) -> Result<Vec<FeedRow>, StoreError>;
}
