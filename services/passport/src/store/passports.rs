//! Passports and their versions (`passports`, `passport_versions`) and the answers kept for
//! idempotent requests (`passport_idempotency`). The writes are in [`write`]; the reads here.

mod rows;
mod write;

use async_trait::async_trait;
use reetrace_core::db::{Sql, StoreError};
use reetrace_core::domain::idempotency::{StoredResponse, fingerprint_from_bytes};
use uuid::Uuid;

use super::{CHUNK, SqlPassports};
use crate::domain::passport::{
    Identity, ListFilter, Lookup, NewPassport, Passport, PassportVersion, StatusChange,
};
use rows::{
    PASSPORT_COLUMNS, PassportCredentialDb, PassportDb, VERSION_COLUMNS, VersionDb,
    passport_columns_of_p, version_columns_of_v,
};

/// Computes the answer to keep from which rows were created (`None`: keep nothing).
pub type AnswerToKeep = Box<dyn FnOnce(&[bool]) -> Option<StoredResponse> + Send>;

/// The idempotent answer to keep with a write.
pub struct IdempotentWrite {
    pub org_id: Uuid,
    pub key: String,
    pub respond: AnswerToKeep,
}

/// What the signing stage of a bulk registration hands the store, in request order.
#[derive(Debug)]
pub enum SignedChunk {
    /// The next signed rows.
    Rows(Vec<NewPassport>),
    /// Every row was sent: the store may commit.
    Done,
}

/// The signed rows of a bulk registration as they are signed.
pub type SignedRows = tokio::sync::mpsc::Receiver<SignedChunk>;

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

    /// [`Self::insert_passports`] while the rows are still being signed: each chunk is stored
    /// as it arrives, in the one transaction, which commits on [`SignedChunk::Done`]. `None`:
    /// the rows stopped before `Done` (the signer failed), and nothing was stored.
    async fn insert_passports_streamed(
        &self,
        rows: SignedRows,
        atomic: bool,
        idempotent: Option<IdempotentWrite>,
    ) -> Result<Option<Vec<bool>>, StoreError>;

    /// Stores version `row.version`, which must directly follow the current one; marks the
    /// previous one superseded (its message bit) in the same transaction.
    async fn add_version(
        &self,
        row: &NewPassport,
        idempotent: Option<IdempotentWrite>,
    ) -> Result<(), VersionError>;

    /// Keeps an idempotent answer that comes with no write (a new version that changes
    /// nothing); a concurrent request with the same key is a conflict.
    async fn keep_answer(&self, idempotent: IdempotentWrite) -> Result<(), StoreError>;

    /// Changes a passport's status and flips the status bits of all its versions.
    async fn set_status(
        &self,
        id: Uuid,
        change: &StatusChange,
    ) -> Result<Option<Passport>, StoreError>;

    async fn passport(&self, id: Uuid) -> Result<Option<Passport>, StoreError>;
    async fn passports(&self, ids: &[Uuid]) -> Result<Vec<Passport>, StoreError>;
    async fn find(&self, identity: &Identity) -> Result<Option<Passport>, StoreError>;
    /// A passport with the signed credential of its current version, in one read: the
    /// resolver's path when it answers with the credential.
    async fn current_credential(
        &self,
        lookup: Lookup<'_>,
    ) -> Result<Option<(Passport, String)>, StoreError>;
    /// A version, or the current one when `version` is `None`.
    async fn version(
        &self,
        id: Uuid,
        version: Option<u32>,
    ) -> Result<Option<PassportVersion>, StoreError>;
    async fn versions(&self, id: Uuid) -> Result<Vec<PassportVersion>, StoreError>;
    /// The current versions of passports `ids` (in no particular order; an unknown id has
    /// none), a few statements for many passports.
    async fn current_versions(&self, ids: &[Uuid]) -> Result<Vec<PassportVersion>, StoreError>;
    /// Passports by id, after `after`, at most `limit`.
    async fn list(
        &self,
        filter: &ListFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Passport>, StoreError>;
    async fn stored_response(
        &self,
        org_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
}

/// Appends the `WHERE` condition (on alias `p`) of an identity to `sql`.
fn push_identity<'q>(sql: &mut Sql<'q>, identity: &'q Identity) {
    match identity {
        Identity::Item { gtin, serial } => {
            sql.push("p.gtin = ")
                .push_bind(gtin.as_str())
                .push(" AND p.serial = ")
                .push_bind(serial.as_str());
        }
        Identity::Batch { gtin, lot } => {
            sql.push("p.gtin = ")
                .push_bind(gtin.as_str())
                .push(" AND p.lot = ")
                .push_bind(lot.as_str())
                .push(" AND p.granularity = 'batch'");
        }
        Identity::Model { gtin } => {
            sql.push("p.gtin = ")
                .push_bind(gtin.as_str())
                .push(" AND p.granularity = 'model'");
        }
    }
}

struct StoredDb {
    fingerprint: Vec<u8>,
    status: i64,
    content_type: String,
    body: String,
}

reetrace_core::record!(StoredDb {
    fingerprint,
    status,
    content_type,
    body,
});

const STORED_RESPONSE: &str = "SELECT fingerprint, status, content_type, body \
     FROM passport_idempotency WHERE org_id = $1 AND key = $2";

#[async_trait]
impl PassportStore for SqlPassports {
    async fn insert_passports(
        &self,
        rows: &[NewPassport],
        atomic: bool,
        idempotent: Option<IdempotentWrite>,
    ) -> Result<Vec<bool>, StoreError> {
        write::insert_passports(&self.db, rows, atomic, idempotent).await
    }

    async fn insert_passports_streamed(
        &self,
        rows: SignedRows,
        atomic: bool,
        idempotent: Option<IdempotentWrite>,
    ) -> Result<Option<Vec<bool>>, StoreError> {
        write::insert_passports_streamed(&self.db, rows, atomic, idempotent).await
    }

    async fn add_version(
        &self,
        row: &NewPassport,
        idempotent: Option<IdempotentWrite>,
    ) -> Result<(), VersionError> {
        write::add_version(&self.db, row, idempotent).await
    }

    async fn keep_answer(&self, idempotent: IdempotentWrite) -> Result<(), StoreError> {
        write::keep_answer(&self.db, idempotent).await
    }

    async fn set_status(
        &self,
        id: Uuid,
        change: &StatusChange,
    ) -> Result<Option<Passport>, StoreError> {
        write::set_status(&self.db, id, change).await
    }

    async fn passport(&self, id: Uuid) -> Result<Option<Passport>, StoreError> {
        let row: Option<PassportDb> = Sql::new(format!(
            "SELECT {PASSPORT_COLUMNS} FROM passports WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.reader())
        .await?;
        row.map(Passport::try_from).transpose()
    }

    async fn passports(&self, ids: &[Uuid]) -> Result<Vec<Passport>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "SELECT {PASSPORT_COLUMNS} FROM passports WHERE id IN "
            ));
            sql.push_list(chunk.iter().copied());
            let rows: Vec<PassportDb> = sql.fetch_all(self.db.reader()).await?;
            for row in rows {
                out.push(Passport::try_from(row)?);
            }
        }
        Ok(out)
    }

    async fn find(&self, identity: &Identity) -> Result<Option<Passport>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {} FROM passports p WHERE ",
            passport_columns_of_p()
        ));
        push_identity(&mut sql, identity);
        let row: Option<PassportDb> = sql.fetch_optional(self.db.reader()).await?;
        row.map(Passport::try_from).transpose()
    }

    async fn current_credential(
        &self,
        lookup: Lookup<'_>,
    ) -> Result<Option<(Passport, String)>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {}, v.credential AS current_credential FROM passports p \
             JOIN passport_versions v ON v.passport_id = p.id AND v.version = p.version WHERE ",
            passport_columns_of_p()
        ));
        match lookup {
            Lookup::Id(id) => {
                sql.push("p.id = ").push_bind(id);
            }
            Lookup::Identity(identity) => push_identity(&mut sql, identity),
        }
        let row: Option<PassportCredentialDb> = sql.fetch_optional(self.db.reader()).await?;
        row.map(|r| Ok((Passport::try_from(r.passport)?, r.current_credential)))
            .transpose()
    }

    async fn version(
        &self,
        id: Uuid,
        version: Option<u32>,
    ) -> Result<Option<PassportVersion>, StoreError> {
        let sql = match version {
            Some(v) => Sql::new(format!(
                "SELECT {VERSION_COLUMNS} FROM passport_versions \
                 WHERE passport_id = $1 AND version = $2"
            ))
            .bind(id)
            .bind(i64::from(v)),
            None => Sql::new(format!(
                "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1 \
                 AND version = (SELECT version FROM passports WHERE id = $1)"
            ))
            .bind(id),
        };
        let row: Option<VersionDb> = sql.fetch_optional(self.db.reader()).await?;
        row.map(PassportVersion::try_from).transpose()
    }

    async fn versions(&self, id: Uuid) -> Result<Vec<PassportVersion>, StoreError> {
        let rows: Vec<VersionDb> = Sql::new(format!(
            "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1 \
             ORDER BY version"
        ))
        .bind(id)
        .fetch_all(self.db.reader())
        .await?;
        rows.into_iter().map(PassportVersion::try_from).collect()
    }

    async fn current_versions(&self, ids: &[Uuid]) -> Result<Vec<PassportVersion>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "SELECT {} FROM passport_versions v JOIN passports p \
                 ON p.id = v.passport_id AND p.version = v.version WHERE p.id IN ",
                version_columns_of_v()
            ));
            sql.push_list(chunk.iter().copied());
            let rows: Vec<VersionDb> = sql.fetch_all(self.db.reader()).await?;
            for row in rows {
                out.push(PassportVersion::try_from(row)?);
            }
        }
        Ok(out)
    }

    async fn list(
        &self,
        filter: &ListFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Passport>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {PASSPORT_COLUMNS} FROM passports WHERE 1 = 1"
        ));
        if let Some(org) = filter.org_id {
            sql.push(" AND org_id = ").push_bind(org);
        }
        if let Some(category) = filter.category {
            sql.push(" AND category = ").push_bind(category.as_str());
        }
        if let Some(gtin) = &filter.gtin {
            sql.push(" AND gtin = ").push_bind(gtin.as_str());
        }
        if let Some(country) = &filter.country {
            sql.push(" AND country = ").push_bind(country.code());
        }
        if let Some(after) = after {
            sql.push(" AND id > ").push_bind(after);
        }
        sql.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
        let rows: Vec<PassportDb> = sql.fetch_all(self.db.reader()).await?;
        rows.into_iter().map(Passport::try_from).collect()
    }

    async fn stored_response(
        &self,
        org_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let row: Option<StoredDb> = Sql::new(STORED_RESPONSE)
            .bind(org_id)
            .bind(key)
            .fetch_optional(self.db.reader())
            .await?;
        Ok(row.map(|r| StoredResponse {
            fingerprint: fingerprint_from_bytes(&r.fingerprint),
            status: u16::try_from(r.status).unwrap_or(200),
            content_type: r.content_type,
            body: r.body,
        }))
    }
}
