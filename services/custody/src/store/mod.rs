//! Storage of the custody service: its copy of the passports, products' and lots' custody,
//! events with their hash chains and Merkle log leaves, checkpoints, claims, the feed cursor.
//!
//! Every write goes through [`CustodyStore::write`]: one transaction that compares-and-sets the
//! custody of what it touches (so two writers racing on one product cannot both win), appends
//! its events to the subjects' hash chains and to the global log, and keeps the idempotent
//! answer. A lost race is [`WriteError::Stale`]: the service re-reads and decides again.

mod sql;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use reetrace_core::db::{Db, MigrationSet, StoreError};
use reetrace_core::domain::idempotency::StoredResponse;
use reetrace_core::merkle::{Hash, NodeId};
use uuid::Uuid;

use crate::domain::balance::Bag;
use crate::domain::state::Custody;

pub use sql::{PgCustody, SqliteCustody};

/// The custody service's migrations.
pub static MIGRATIONS: MigrationSet = MigrationSet {
    name: "custody",
    sqlite: || sqlx::migrate!("../../migrations/custody/sqlite"),
    postgres: || sqlx::migrate!("../../migrations/custody/postgres"),
};

/// The store for a database.
pub fn open(db: &Db) -> Arc<dyn CustodyStore> {
    match db {
        Db::Sqlite(db) => Arc::new(SqliteCustody::new(db.clone())),
        Db::Postgres(pool) => Arc::new(PgCustody::new(pool.clone())),
    }
}

/// A product as custody knows it: what its passport says, and where it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductRow {
    pub passport_id: Uuid,
    pub org_id: Uuid,
    pub version: u32,
    pub passport_status: String,
    pub granularity: String,
    pub gtin: Option<String>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    pub units: u64,
    pub name: String,
    pub category: String,
    pub country: String,
    pub placed_on_market: NaiveDate,
    pub net_mass_ug: i64,
    /// The product's EPCIS identifier.
    pub epc: String,
    /// REE content of one unit.
    pub elements: Bag,
    pub custody: Custody,
    pub updated_at: DateTime<Utc>,
}

/// A lot: magnets, oxide or metal recovered by a transformation.
#[derive(Debug, Clone, PartialEq)]
pub struct LotRow {
    pub lot_id: Uuid,
    pub epc: String,
    pub gtin: Option<String>,
    pub lot_number: Option<String>,
    pub kind: String,
    pub material: String,
    pub mass_ug: i64,
    pub remaining_ug: i64,
    /// Recovered into the lot.
    pub elements: Bag,
    /// Not yet taken by a later transformation.
    pub remaining: Bag,
    /// Claimed as recycled content by passports.
    pub claimed: Bag,
    /// JSON `[{category, country, share_ppm}]`: the products the lot came from.
    pub origin: String,
    pub custody: Custody,
    pub transformation_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change of a lot, applied only if the lot is still as `expect` says.
#[derive(Debug, Clone)]
pub struct LotChange {
    pub lot_id: Uuid,
    pub expect: Custody,
    pub expect_remaining_ug: i64,
    pub expect_claimed: Bag,
    pub custody: Custody,
    pub remaining_ug: i64,
    pub remaining: Bag,
    pub claimed: Bag,
}

/// A stored transformation.
#[derive(Debug, Clone)]
pub struct TransformationRow {
    pub id: Uuid,
    pub process: String,
    pub org_id: Uuid,
    pub at: DateTime<Utc>,
    /// JSON of the inputs, outputs and losses as answered.
    pub inputs: String,
    pub outputs: String,
    pub losses: String,
    pub event_id: String,
}

/// One recycled-content claim on a lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    pub claim_id: Uuid,
    pub lot_id: Uuid,
    pub passport_id: Uuid,
    pub org_id: Uuid,
    pub element: String,
    pub mass_ug: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    pub event_hash: String,
    pub event_type: String,
    pub action: String,
    pub biz_step: Option<String>,
    pub biz_location: Option<String>,
    pub event_time: DateTime<Utc>,
    pub org_id: Uuid,
    /// The exact EPCIS event JSON.
    pub document: String,
    /// The custody feed's payload (JSON).
    pub data: String,
    /// Products and lots whose chains the event joins, in order.
    pub subjects: Vec<Uuid>,
    /// Identifiers the event names, with their role (epc, class, input, output...).
    pub epcs: Vec<(String, &'static str)>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub leaf_index: i64,
    pub event_id: String,
    pub event_hash: String,
    pub event_type: String,
    pub action: String,
    pub org_id: Uuid,
    pub event_time: DateTime<Utc>,
    pub document: String,
    pub data: String,
    pub leaf_hash: Vec<u8>,
    pub recorded_at: DateTime<Utc>,
}

/// One link of a subject's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub subject_id: Uuid,
    pub seq: i64,
    pub leaf_index: i64,
    pub link: Vec<u8>,
}

/// Computes the idempotent answer to keep from what the write appended.
pub type Respond = Box<dyn FnOnce(&Written) -> StoredResponse + Send>;

/// Everything one write does, in one transaction.
#[derive(Default)]
pub struct Write {
    /// Products whose custody changes: (passport id, expected custody, new custody).
    pub products: Vec<(Uuid, Custody, Custody)>,
    pub new_lots: Vec<LotRow>,
    pub lots: Vec<LotChange>,
    pub claims: Vec<ClaimRow>,
    pub transformation: Option<TransformationRow>,
    pub events: Vec<NewEvent>,
    /// (organisation, key, answer): kept with the write.
    pub idempotent: Option<(Uuid, String, Respond)>,
}

/// What a write appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// (event id, leaf index) of each event, in order.
    pub leaves: Vec<(String, i64)>,
    pub tree_size: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Something changed since it was read; read again and decide again.
    #[error("a concurrent write changed what this write read")]
    Stale,
    /// An event with this id is stored already.
    #[error("event {0} is stored already")]
    DuplicateEvent(String),
    /// The idempotency key was used meanwhile.
    #[error("the idempotency key was used meanwhile")]
    DuplicateKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Filters of an EPCIS query, already translated to columns.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub biz_steps: Vec<String>,
    pub actions: Vec<String>,
    pub biz_locations: Vec<String>,
    pub any_epc: Vec<String>,
    pub epc_class: Vec<String>,
    pub time_from: Option<DateTime<Utc>>,
    pub time_before: Option<DateTime<Utc>>,
}

/// A passport as the passport feed describes it.
#[derive(Debug, Clone)]
pub struct PassportCopy {
    pub passport_id: Uuid,
    pub org_id: Uuid,
    pub version: u32,
    pub granularity: String,
    pub gtin: Option<String>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    pub units: u64,
    pub name: String,
    pub category: String,
    pub country: String,
    pub placed_on_market: NaiveDate,
    pub net_mass_ug: i64,
    pub epc: String,
    pub elements: Bag,
}

/// One passport feed event, as custody applies it.
#[derive(Debug, Clone)]
pub enum PassportChange {
    /// Issued or versioned: keep this copy (custody state is kept across versions).
    Upsert(Box<PassportCopy>),
    Status {
        passport_id: Uuid,
        status: String,
    },
    /// An event custody has no use for (it still moves the cursor).
    Ignore,
}

#[async_trait]
pub trait CustodyStore: Send + Sync {
    /// Applies a write atomically (see the module documentation).
    async fn write(&self, write: Write) -> Result<Written, WriteError>;

    async fn product(&self, passport_id: Uuid) -> Result<Option<ProductRow>, StoreError>;
    async fn product_by_epc(&self, epc: &str) -> Result<Option<ProductRow>, StoreError>;
    async fn lot(&self, lot_id: Uuid) -> Result<Option<LotRow>, StoreError>;
    async fn lot_by_epc(&self, epc: &str) -> Result<Option<LotRow>, StoreError>;
    /// The products among those named by EPC or by passport id (EPCIS capture resolves a
    /// whole document's identifiers in one round trip).
    async fn products_named(
        &self,
        epcs: &[String],
        ids: &[Uuid],
    ) -> Result<Vec<ProductRow>, StoreError>;
    /// The lots among those named by EPC or by lot id.
    async fn lots_named(&self, epcs: &[String], ids: &[Uuid]) -> Result<Vec<LotRow>, StoreError>;
    async fn claims_of_lot(&self, lot_id: Uuid) -> Result<Vec<ClaimRow>, StoreError>;
    async fn claims_by_id(&self, claim_id: Uuid) -> Result<Vec<ClaimRow>, StoreError>;
    /// Releases a reserved claim (its passport was not issued).
    async fn release_claim(&self, claim_id: Uuid) -> Result<(), StoreError>;

    /// The events in a subject's chain, in chain order, with their links.
    async fn chain_of(&self, subject_id: Uuid) -> Result<Vec<(ChainLink, EventRow)>, StoreError>;
    async fn event(&self, event_id: &str) -> Result<Option<EventRow>, StoreError>;
    /// The stored events among `event_ids` (idempotent capture checks a document at once).
    async fn events_by_id(&self, event_ids: &[String]) -> Result<Vec<EventRow>, StoreError>;
    /// Events matching `filter`, by leaf index after `after`, at most `limit`.
    async fn query(
        &self,
        filter: &EventFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError>;
    /// Events with leaf index >= `from`, at most `limit` (the feed and log verification).
    async fn events_from(&self, from: i64, limit: u32) -> Result<Vec<EventRow>, StoreError>;
    /// Chain links of the events with leaf index in `[from, to)`.
    async fn links_between(&self, from: i64, to: i64) -> Result<Vec<ChainLink>, StoreError>;

    /// The number of leaves in the log.
    async fn log_size(&self) -> Result<i64, StoreError>;
    /// Stored node hashes among `ids`.
    async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError>;
    /// The newest checkpoint: (size, root, signed note).
    async fn latest_checkpoint(&self) -> Result<Option<(i64, Vec<u8>, String)>, StoreError>;
    /// The smallest checkpoint of at least `size` leaves.
    async fn checkpoint_covering(
        &self,
        size: i64,
    ) -> Result<Option<(i64, Vec<u8>, String)>, StoreError>;
    async fn checkpoint_at(&self, size: i64) -> Result<Option<(i64, Vec<u8>, String)>, StoreError>;
    async fn insert_checkpoint(
        &self,
        size: i64,
        root: &[u8],
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The log's signing key by name: (public key, sealed secret).
    async fn log_key(&self, name: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError>;
    /// Every log key's name and sealed secret (for a master key rotation).
    async fn sealed_log_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Rewrites sealed log keys in one transaction, each only if it still holds `from`;
    /// otherwise nothing is written and the answer is a conflict.
    async fn reseal_log_keys(
        &self,
        changes: &[reetrace_core::crypto::Reseal],
    ) -> Result<(), StoreError>;
    /// Stores the log's key unless one exists; returns the one stored.
    async fn insert_log_key(
        &self,
        name: &str,
        public_key: &[u8],
        sealed: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError>;

    /// The passport feed cursor.
    async fn cursor(&self, stream: &str) -> Result<i64, StoreError>;
    /// Applies passport feed events, with the inbox and the cursor, in one transaction.
    async fn apply_passports(
        &self,
        stream: &str,
        events: &[(String, i64, PassportChange)],
    ) -> Result<(), StoreError>;

    async fn stored_response(
        &self,
        org_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
}
