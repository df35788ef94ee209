//! Storage of the stock service: its copy of the passports, the flow cells (per contributing
//! organisation), their revisions, custody steps waiting for their passport, the feed cursors
//! and inbox, and the parameter versions.
//!
//! Each feed batch is applied in one transaction: the inbox of event ids, the projection
//! changes and the cursor commit together, so a replay changes nothing and a restart loses
//! nothing. Cells are changed by adding the batch's summed deltas, never recomputed.

mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Db, MigrationSet, StoreError};
use uuid::Uuid;

use crate::domain::custody::CustodyChange;
use crate::domain::flow::{CellKey, Flow};
use crate::domain::passport::{PassportChange, PassportRecord};
use crate::domain::table::Row;

pub use sql::{PgStock, SqliteStock};

/// The stock service's migrations.
pub static MIGRATIONS: MigrationSet = MigrationSet {
    name: "stock",
    sqlite: || sqlx::migrate!("../../migrations/stock/sqlite"),
    postgres: || sqlx::migrate!("../../migrations/stock/postgres"),
};

/// The store for a database.
pub fn open(db: &Db) -> Arc<dyn StockStore> {
    match db {
        Db::Sqlite(db) => Arc::new(SqliteStock::new(db.clone())),
        Db::Postgres(pool) => Arc::new(PgStock::new(pool.clone())),
    }
}

/// One version of the model parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredParameters {
    pub version: i64,
    /// The parameters as JSON.
    pub parameters: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A stored cell of one organisation (for snapshots and tests).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredCell {
    pub key: CellKey,
    pub org_id: Uuid,
    pub value_ug: i64,
    pub records: i64,
}

#[async_trait]
pub trait StockStore: Send + Sync {
    /// The consumer's cursor for `stream` (0 before the first event).
    async fn cursor(&self, stream: &str) -> Result<i64, StoreError>;
    /// Applies passport feed events (event id, sequence, change) with the inbox and the cursor
    /// in one transaction; also attributes custody steps that waited for these passports.
    async fn apply_passports(
        &self,
        stream: &str,
        events: &[(String, i64, PassportChange)],
    ) -> Result<(), StoreError>;
    /// Applies custody feed events likewise; a product step whose passport is not known yet
    /// waits for it.
    async fn apply_custody(
        &self,
        stream: &str,
        events: &[(String, i64, CustodyChange)],
    ) -> Result<(), StoreError>;

    /// The revision of every (flow, year) table.
    async fn revisions(&self) -> Result<Vec<(Flow, i32, i64)>, StoreError>;
    /// The live rows of one table (every contributing organisation).
    async fn table_rows(&self, flow: Flow, year: i32) -> Result<Vec<Row>, StoreError>;
    /// The live rows of one organisation, every table.
    async fn org_rows(&self, org_id: Uuid) -> Result<Vec<(Flow, i32, Row)>, StoreError>;
    /// Every stored cell row, in key order (snapshots for tests and checks).
    async fn cells(&self) -> Result<Vec<StoredCell>, StoreError>;
    async fn passport(&self, passport_id: Uuid) -> Result<Option<PassportRecord>, StoreError>;
    /// How many custody steps wait for their passport.
    async fn parked(&self) -> Result<i64, StoreError>;

    /// The newest parameter version.
    async fn latest_parameters(&self) -> Result<Option<StoredParameters>, StoreError>;
    /// Stores `parameters` as the next version; returns it.
    async fn insert_parameters(
        &self,
        parameters: &str,
        created_by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Stores `parameters` as version 1 unless a version exists.
    async fn seed_parameters(&self, parameters: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
}
