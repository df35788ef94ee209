//! Storage of the deposits service: the deposits and the versions of their records, on either
//! backend (core's [`Db`]).
//!
//! A new version is written in one transaction with its deposit row (the first version) or
//! after checking the deposit is still the writer's and not withdrawn. Its number is the one
//! its credential states; two writers racing on one deposit cannot both take it (the primary
//! key refuses the second, which is told to retry).

mod archive;
mod feed;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Db, MigrationSet, Sql, StoreError};
use reetrace_core::domain::idempotency::StoredResponse;
use reetrace_core::service::idempotency_retention::IdempotentAnswers;
use uuid::Uuid;

pub use archive::archive;
pub use feed::{DepositEventKind, DepositFeedRow};

/// The deposits service's migrations.
pub static MIGRATIONS: MigrationSet = reetrace_core::db::migrations::DEPOSITS;

/// A version to store.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub deposit_id: Uuid,
    /// The number the credential states: 1 for a new deposit, the newest plus one after.
    pub version: i64,
    pub org_id: Uuid,
    pub credential_id: Uuid,
    pub name: String,
    pub deposit_type: String,
    pub status: String,
    pub country: String,
    /// The record as received (JSON text).
    pub record: String,
    /// The secured credential (JSON text).
    pub credential: String,
    pub revocation_list: String,
    pub revocation_index: u32,
    pub at: DateTime<Utc>,
}

/// A stored version with its deposit's state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    pub deposit_id: Uuid,
    pub org_id: Uuid,
    pub version: i64,
    pub credential_id: Uuid,
    pub record: String,
    pub credential: String,
    pub revocation_list: String,
    pub revocation_index: u32,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Which deposits a list holds.
#[derive(Debug, Clone, Default)]
pub struct DepositFilter {
    pub country: Option<String>,
    pub deposit_type: Option<String>,
    pub status: Option<String>,
    pub org_id: Option<Uuid>,
    /// Withdrawn deposits too.
    pub revoked: bool,
}

/// Why a version was not stored.
#[derive(Debug, thiserror::Error)]
pub enum VersionRefused {
    #[error("no deposit {0}")]
    NotFound(Uuid),
    #[error("deposit {0} is recorded by another organisation")]
    NotOwner(Uuid),
    #[error("deposit {0} was withdrawn")]
    Revoked(Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The answer to keep for a POST with an `Idempotency-Key`, written with the write it answers.
#[derive(Debug, Clone)]
pub struct KeptAnswer {
    pub key: String,
    pub response: StoredResponse,
}

#[async_trait]
pub trait DepositStore: Send + Sync {
    /// Stores the first version of a new deposit, and the answer to keep for its request.
    async fn insert_deposit(
        &self,
        version: &NewVersion,
        answer: Option<&KeptAnswer>,
    ) -> Result<(), StoreError>;
    /// The answer kept for `org_id`'s request with `key`, if any.
    async fn kept_answer(
        &self,
        org_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// Stores a further version of an existing deposit of `version.org_id`.
    async fn insert_version(&self, version: &NewVersion) -> Result<(), VersionRefused>;
    /// One version (the newest when `version` is `None`).
    async fn version(
        &self,
        deposit_id: Uuid,
        version: Option<i64>,
    ) -> Result<Option<StoredVersion>, StoreError>;
    /// Every version of a deposit, oldest first.
    async fn versions(&self, deposit_id: Uuid) -> Result<Vec<StoredVersion>, StoreError>;
    /// The newest version of each deposit matching `filter`, by deposit id, after `after`.
    async fn latest(
        &self,
        filter: &DepositFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredVersion>, StoreError>;
    /// Marks a deposit withdrawn at `at` (once: `false` when it already was).
    async fn mark_revoked(&self, deposit_id: Uuid, at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Feed events after `after`, at most `limit`, in order.
    async fn feed_after(&self, after: i64, limit: u32) -> Result<Vec<DepositFeedRow>, StoreError>;
}

/// The deposits store, on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlDeposits {
    db: Db,
}

/// The store for a database.
pub fn open(db: &Db) -> Arc<dyn DepositStore> {
    Arc::new(SqlDeposits { db: db.clone() })
}

/// The deposits' kept answers, for the hourly pruning.
pub fn idempotent_answers(db: &Db) -> Arc<dyn IdempotentAnswers> {
    Arc::new(SqlDeposits { db: db.clone() })
}

#[async_trait]
impl IdempotentAnswers for SqlDeposits {
    async fn prune_answers(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Sql::new("DELETE FROM deposit_idempotency WHERE created_at < $1")
            .bind(cutoff)
            .execute(self.db.writer())
            .await
    }
}

const INSERT_VERSION: &str = "INSERT INTO deposit_versions (deposit_id, version, credential_id, \
     name, deposit_type, status, country, record, credential, revocation_list, revocation_index, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const COLUMNS: &str = "v.deposit_id, d.org_id, v.version, v.credential_id, v.record, \
     v.credential, v.revocation_list, v.revocation_index, v.created_at, d.revoked_at \
     FROM deposit_versions v JOIN deposits d ON d.deposit_id = v.deposit_id";

type Row = (
    Uuid,
    Uuid,
    i64,
    Uuid,
    String,
    String,
    String,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

fn decode(row: Row) -> Result<StoredVersion, StoreError> {
    let (deposit_id, org_id, version, credential_id, record, credential, list, index, at, revoked) =
        row;
    Ok(StoredVersion {
        deposit_id,
        org_id,
        version,
        credential_id,
        record,
        credential,
        revocation_list: list,
        revocation_index: u32::try_from(index).map_err(|_| {
            StoreError::Corrupt(format!("deposit {deposit_id}: status index {index}"))
        })?,
        created_at: at,
        revoked_at: revoked,
    })
}

fn insert_version_sql(v: &NewVersion) -> Sql<'static> {
    Sql::new(INSERT_VERSION)
        .bind(v.deposit_id)
        .bind(v.version)
        .bind(v.credential_id)
        .bind(v.name.clone())
        .bind(v.deposit_type.clone())
        .bind(v.status.clone())
        .bind(v.country.clone())
        .bind(v.record.clone())
        .bind(v.credential.clone())
        .bind(v.revocation_list.clone())
        .bind(i64::from(v.revocation_index))
        .bind(v.at)
}

#[async_trait]
impl DepositStore for SqlDeposits {
    async fn insert_deposit(
        &self,
        v: &NewVersion,
        answer: Option<&KeptAnswer>,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        if let Some(kept) = answer {
            Sql::new(
                "INSERT INTO deposit_idempotency \
                 (org_id, key, fingerprint, status, content_type, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(v.org_id)
            .bind(kept.key.clone())
            .bind(kept.response.fingerprint.to_vec())
            .bind(i64::from(kept.response.status))
            .bind(kept.response.content_type.clone())
            .bind(kept.response.body.clone())
            .bind(v.at)
            .execute(&mut tx)
            .await?;
        }
        Sql::new("INSERT INTO deposits (deposit_id, org_id, created_at) VALUES ($1, $2, $3)")
            .bind(v.deposit_id)
            .bind(v.org_id)
            .bind(v.at)
            .execute(&mut tx)
            .await?;
        insert_version_sql(v).execute(&mut tx).await?;
        feed::insert(
            &mut tx,
            DepositEventKind::Recorded,
            v.deposit_id,
            1,
            v.org_id,
            v.at,
        )
        .await?;
        tx.commit().await
    }

    async fn kept_answer(
        &self,
        org_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let row: Option<(Vec<u8>, i64, String, String)> = Sql::new(
            "SELECT fingerprint, status, content_type, body FROM deposit_idempotency \
             WHERE org_id = $1 AND key = $2",
        )
        .bind(org_id)
        .bind(key.to_owned())
        .fetch_optional(self.db.reader())
        .await?;
        row.map(|(fingerprint, status, content_type, body)| {
            Ok(StoredResponse {
                fingerprint: fingerprint
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("a kept answer's fingerprint".into()))?,
                status: u16::try_from(status)
                    .map_err(|_| StoreError::Corrupt(format!("a kept answer's status {status}")))?,
                content_type,
                body,
            })
        })
        .transpose()
    }

    async fn insert_version(&self, v: &NewVersion) -> Result<(), VersionRefused> {
        let mut tx = self.db.begin().await?;
        let owner: Option<(Uuid, Option<DateTime<Utc>>)> = Sql::new(format!(
            "SELECT org_id, revoked_at FROM deposits WHERE deposit_id = $1{}",
            tx.dialect().for_update()
        ))
        .bind(v.deposit_id)
        .fetch_optional(&mut tx)
        .await?;
        match owner {
            None => return Err(VersionRefused::NotFound(v.deposit_id)),
            Some((org, _)) if org != v.org_id => {
                return Err(VersionRefused::NotOwner(v.deposit_id));
            }
            Some((_, Some(_))) => return Err(VersionRefused::Revoked(v.deposit_id)),
            Some(_) => {}
        }
        insert_version_sql(v).execute(&mut tx).await?;
        feed::insert(
            &mut tx,
            DepositEventKind::Versioned,
            v.deposit_id,
            v.version,
            v.org_id,
            v.at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn version(
        &self,
        deposit_id: Uuid,
        version: Option<i64>,
    ) -> Result<Option<StoredVersion>, StoreError> {
        let row: Option<Row> = match version {
            Some(n) => {
                Sql::new(format!(
                    "SELECT {COLUMNS} WHERE v.deposit_id = $1 AND v.version = $2"
                ))
                .bind(deposit_id)
                .bind(n)
                .fetch_optional(self.db.reader())
                .await?
            }
            None => {
                Sql::new(format!(
                    "SELECT {COLUMNS} WHERE v.deposit_id = $1 ORDER BY v.version DESC LIMIT 1"
                ))
                .bind(deposit_id)
                .fetch_optional(self.db.reader())
                .await?
            }
        };
        row.map(decode).transpose()
    }

    async fn versions(&self, deposit_id: Uuid) -> Result<Vec<StoredVersion>, StoreError> {
        let rows: Vec<Row> = Sql::new(format!(
            "SELECT {COLUMNS} WHERE v.deposit_id = $1 ORDER BY v.version"
        ))
        .bind(deposit_id)
        .fetch_all(self.db.reader())
        .await?;
        rows.into_iter().map(decode).collect()
    }

    async fn latest(
        &self,
        filter: &DepositFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredVersion>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {COLUMNS} WHERE v.version = (SELECT MAX(m.version) FROM deposit_versions m \
             WHERE m.deposit_id = v.deposit_id)"
        ));
        if !filter.revoked {
            sql.push(" AND d.revoked_at IS NULL");
        }
        if let Some(country) = &filter.country {
            sql.push(" AND v.country = ").push_bind(country.clone());
        }
        if let Some(kind) = &filter.deposit_type {
            sql.push(" AND v.deposit_type = ").push_bind(kind.clone());
        }
        if let Some(status) = &filter.status {
            sql.push(" AND v.status = ").push_bind(status.clone());
        }
        if let Some(org) = filter.org_id {
            sql.push(" AND d.org_id = ").push_bind(org);
        }
        if let Some(after) = after {
            sql.push(" AND v.deposit_id > ").push_bind(after);
        }
        sql.push(" ORDER BY v.deposit_id LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<Row> = sql.fetch_all(self.db.reader()).await?;
        rows.into_iter().map(decode).collect()
    }

    async fn mark_revoked(&self, deposit_id: Uuid, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.db.begin().await?;
        let changed = Sql::new(
            "UPDATE deposits SET revoked_at = $2 WHERE deposit_id = $1 AND revoked_at IS NULL",
        )
        .bind(deposit_id)
        .bind(at)
        .execute(&mut tx)
        .await?;
        if changed != 1 {
            return Ok(false);
        }
        let (org_id, version): (Uuid, i64) = Sql::new(
            "SELECT d.org_id, MAX(v.version) FROM deposits d \
             JOIN deposit_versions v ON v.deposit_id = d.deposit_id \
             WHERE d.deposit_id = $1 GROUP BY d.org_id",
        )
        .bind(deposit_id)
        .fetch_one(&mut tx)
        .await?;
        feed::insert(
            &mut tx,
            DepositEventKind::Withdrawn,
            deposit_id,
            version,
            org_id,
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn feed_after(&self, after: i64, limit: u32) -> Result<Vec<DepositFeedRow>, StoreError> {
        feed::after(&self.db, after, limit).await
    }
}
