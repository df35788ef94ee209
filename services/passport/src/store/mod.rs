//! Storage of the passport service: one store type on [`Db`] (SQLite or PostgreSQL), one file per
//! store trait — passports and their versions, the feed — and the backup of its tables. Rows
//! come back as domain types; a stored value that does not parse is [`StoreError::Corrupt`].
//!
//! Signing keys and status lists are core's (`reetrace_core::store::issuing`); a version's
//! status bits flip in the transaction of its write (`issuing::flip_bits`). The passport set's
//! first migration still creates their tables, as it did before they were the kernel's.

mod archive;
mod feed;
mod passports;

use std::sync::Arc;

use reetrace_core::db::{Archived, Db, MigrationSet, StoreError};
use reetrace_core::service::idempotency_retention::IdempotentAnswers;

pub use feed::PassportFeedStore;
pub use passports::{
    AnswerToKeep, IdempotentWrite, PassportStore, SignedChunk, SignedRows, VersionError,
};

/// The passport service's migrations.
pub static MIGRATIONS: MigrationSet = reetrace_core::db::migrations::PASSPORT;

/// Everything the passport service stores.
pub trait PassportStores: PassportStore + PassportFeedStore {}
impl<T: PassportStore + PassportFeedStore> PassportStores for T {}

/// The stores for a database.
pub fn open(db: &Db) -> Arc<dyn PassportStores> {
    Arc::new(SqlPassports::new(db.clone()))
}

/// The passport tables as a backup holds them.
pub fn archive(db: &Db) -> Arc<dyn Archived> {
    Arc::new(SqlPassports::new(db.clone()))
}

/// The passport answers to idempotent requests, pruned past their retention.
pub fn idempotent_answers(db: &Db) -> Arc<dyn IdempotentAnswers> {
    Arc::new(SqlPassports::new(db.clone()))
}

#[async_trait::async_trait]
impl IdempotentAnswers for SqlPassports {
    async fn prune_answers(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        reetrace_core::db::Sql::new("DELETE FROM passport_idempotency WHERE created_at < $1")
            .bind(cutoff)
            .execute(self.db.writer())
            .await
    }
}

/// The passport service's tables, on either backend.
#[derive(Debug, Clone)]
pub struct SqlPassports {
    db: Db,
}

impl SqlPassports {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Rows per multi-row statement: well under both backends' bind-parameter limits.
const CHUNK: usize = 500;

/// A stored count or index as `u32`.
fn to_u32(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{value} is out of range")))
}

/// A stored text that does not parse as what the column holds.
fn corrupt(what: &str, value: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}: {why}"))
}
