//! The passport writes, each one transaction with its feed events and its idempotent answer:
//! first versions in bulk (multi-row statements of [`CHUNK`] rows: one round trip per chunk
//! and table), new versions, status changes.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use reetrace_core::db::{Db, Sql, StoreError, Tx};
use reetrace_core::store::issuing::{BitChanges, flip_bits};
use uuid::Uuid;

use super::super::feed::{insert_events, insert_status_event};
use super::super::{CHUNK, to_u32};
use super::rows::{PASSPORT_COLUMNS, PassportDb, VERSION_COLUMNS, VersionDb};
use super::{IdempotentWrite, SignedChunk, SignedRows, VersionError};
use crate::domain::passport::{
    FeedEventKind, NewPassport, Passport, PassportStatus, PassportVersion, StatusChange,
};

const KEEP_RESPONSE: &str = "INSERT INTO passport_idempotency \
     (org_id, key, fingerprint, status, content_type, body, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SUPERSEDE: &str =
    "UPDATE passport_versions SET superseded_at = $3 WHERE passport_id = $1 AND version = $2";
const MOVE_TO_VERSION: &str = "UPDATE passports SET version = $2, category = $3, country = $4, \
     placed_on_market = $5, model_passport = $6, updated_at = $7 WHERE id = $1";
const SET_STATUS: &str =
    "UPDATE passports SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1";

/// Keeps the idempotent answer computed from which rows were created.
async fn keep_response(
    tx: &mut Tx,
    idempotent: Option<IdempotentWrite>,
    created: &[bool],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(write) = idempotent else {
        return Ok(());
    };
    let Some(response) = (write.respond)(created) else {
        return Ok(());
    };
    Sql::new(KEEP_RESPONSE)
        .bind(write.org_id)
        .bind(write.key)
        .bind(response.fingerprint.to_vec())
        .bind(i64::from(response.status))
        .bind(response.content_type)
        .bind(response.body)
        .bind(now)
        .execute(tx)
        .await?;
    Ok(())
}

/// Writes version rows (one statement per chunk).
async fn insert_versions(tx: &mut Tx, rows: &[&NewPassport]) -> Result<(), StoreError> {
    for chunk in rows.chunks(CHUNK) {
        let mut sql = Sql::new(format!(
            "INSERT INTO passport_versions ({VERSION_COLUMNS}) "
        ));
        sql.push_values(chunk, |row, r| {
            row.bind(r.id)
                .bind(i64::from(r.version))
                .bind(r.credential_id)
                .bind(r.format.number())
                .bind(r.credential.as_str())
                .bind(r.credential_jws.as_deref())
                .bind(r.placement.as_deref())
                .bind(r.component_details.as_str())
                .bind(r.confidential.as_deref())
                .bind(r.key_id.as_str())
                .bind(r.status[0].list_id.as_str())
                .bind(i64::from(r.status[0].index))
                .bind(r.status[1].list_id.as_str())
                .bind(i64::from(r.status[1].index))
                .bind(r.status[2].list_id.as_str())
                .bind(i64::from(r.status[2].index))
                .bind(r.created_at)
                .bind(None::<DateTime<Utc>>)
                .bind(&r.registration_fingerprint);
        });
        sql.execute(&mut *tx).await?;
    }
    Ok(())
}

/// A bulk insert under way: its transaction and what it learnt of each row so far.
struct BulkInsert {
    tx: Tx,
    atomic: bool,
    created: Vec<bool>,
    /// A row conflicted: with `atomic`, nothing will be stored.
    conflicted: bool,
    now: DateTime<Utc>,
}

impl BulkInsert {
    async fn begin(db: &Db, atomic: bool) -> Result<Self, StoreError> {
        Ok(BulkInsert {
            tx: db.begin().await?,
            atomic,
            created: Vec::new(),
            conflicted: false,
            now: reetrace_core::domain::account::now(),
        })
    }

    /// Inserts the identities of `rows` (the next rows, in order), and, unless an atomic
    /// request has conflicted, the versions and feed events of those that were created.
    async fn rows(&mut self, rows: &[NewPassport]) -> Result<(), StoreError> {
        let mut created_ids = HashSet::with_capacity(rows.len());
        for chunk in rows.chunks(CHUNK) {
            let mut sql = Sql::new(format!("INSERT INTO passports ({PASSPORT_COLUMNS}) "));
            sql.push_values(chunk, |row, r| {
                row.bind(r.id)
                    .bind(r.org_id)
                    .bind(i64::from(r.version))
                    .bind(PassportStatus::Active.as_str())
                    .bind(None::<&str>)
                    .bind(r.granularity.as_str())
                    .bind(r.gtin.as_ref().map(|g| g.as_str()))
                    .bind(r.serial.as_ref().map(|s| s.as_str()))
                    .bind(r.lot.as_ref().map(|l| l.as_str()))
                    .bind(r.category.as_str())
                    .bind(r.country.code())
                    .bind(r.placed_on_market)
                    .bind(r.model_passport)
                    .bind(r.created_at)
                    .bind(r.created_at);
            });
            sql.push(" ON CONFLICT DO NOTHING RETURNING id");
            let ids: Vec<Uuid> = sql.scalars(&mut self.tx).await?;
            created_ids.extend(ids);
        }
        let before = self.created.len();
        self.created
            .extend(rows.iter().map(|r| created_ids.contains(&r.id)));
        self.conflicted |= self.created[before..].iter().any(|c| !c);
        if self.atomic && self.conflicted {
            return Ok(());
        }
        let kept: Vec<&NewPassport> = rows
            .iter()
            .filter(|r| created_ids.contains(&r.id))
            .collect();
        insert_versions(&mut self.tx, &kept).await?;
        insert_events(&mut self.tx, FeedEventKind::Issued, &kept, None, self.now).await
    }

    /// Commits with the idempotent answer, or rolls back an atomic request that conflicted.
    async fn finish(
        mut self,
        idempotent: Option<IdempotentWrite>,
    ) -> Result<Vec<bool>, StoreError> {
        if self.atomic && self.conflicted {
            self.tx.rollback().await?;
            return Ok(self.created);
        }
        keep_response(&mut self.tx, idempotent, &self.created, self.now).await?;
        self.tx.commit().await?;
        Ok(self.created)
    }
}

pub(super) async fn insert_passports(
    db: &Db,
    rows: &[NewPassport],
    atomic: bool,
    idempotent: Option<IdempotentWrite>,
) -> Result<Vec<bool>, StoreError> {
    let mut insert = BulkInsert::begin(db, atomic).await?;
    insert.rows(rows).await?;
    insert.finish(idempotent).await
}

pub(super) async fn insert_passports_streamed(
    db: &Db,
    mut rows: SignedRows,
    atomic: bool,
    idempotent: Option<IdempotentWrite>,
) -> Result<Option<Vec<bool>>, StoreError> {
    let mut insert = BulkInsert::begin(db, atomic).await?;
    loop {
        match rows.recv().await {
            Some(SignedChunk::Rows(chunk)) => insert.rows(&chunk).await?,
            Some(SignedChunk::Done) => return insert.finish(idempotent).await.map(Some),
            // The signer stopped short: dropping the transaction rolls it back.
            None => return Ok(None),
        }
    }
}

pub(super) async fn add_version(
    db: &Db,
    row: &NewPassport,
    idempotent: Option<IdempotentWrite>,
) -> Result<(), VersionError> {
    let now = row.created_at;
    let mut tx = db.begin().await?;
    let current: Option<i64> = Sql::new(format!(
        "SELECT version FROM passports WHERE id = $1{}",
        tx.dialect().for_update()
    ))
    .bind(row.id)
    .scalar_optional(&mut tx)
    .await?;
    let current = current.ok_or(VersionError::NotFound)?;
    if current + 1 != i64::from(row.version) {
        return Err(VersionError::Stale {
            current: to_u32(current)?,
            expected: row.version.saturating_sub(1),
        });
    }
    let previous: VersionDb = Sql::new(format!(
        "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1 AND version = $2"
    ))
    .bind(row.id)
    .bind(current)
    .fetch_one(&mut tx)
    .await?;
    let previous = PassportVersion::try_from(previous)?;
    insert_versions(&mut tx, &[row]).await?;
    Sql::new(SUPERSEDE)
        .bind(row.id)
        .bind(current)
        .bind(now)
        .execute(&mut tx)
        .await?;
    Sql::new(MOVE_TO_VERSION)
        .bind(row.id)
        .bind(i64::from(row.version))
        .bind(row.category.as_str())
        .bind(row.country.code())
        .bind(row.placed_on_market)
        .bind(row.model_passport)
        .bind(now)
        .execute(&mut tx)
        .await?;
    let superseded = &previous.status[2];
    let mut changes = BitChanges::new();
    changes.insert(superseded.list_id.clone(), (vec![superseded.index], true));
    flip_bits(&mut tx, changes, now).await?;
    insert_events(&mut tx, FeedEventKind::Versioned, &[row], None, now).await?;
    keep_response(&mut tx, idempotent, &[true], now).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn keep_answer(db: &Db, idempotent: IdempotentWrite) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    keep_response(
        &mut tx,
        Some(idempotent),
        &[],
        reetrace_core::domain::account::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The status bits to change for a new passport status, grouped by list.
fn bit_changes(change: &StatusChange, versions: &[PassportVersion]) -> BitChanges {
    let (slot, value) = match change.status {
        PassportStatus::Revoked => (0, true),
        PassportStatus::Suspended => (1, true),
        PassportStatus::Active => (1, false),
    };
    let mut by_list: BitChanges = BTreeMap::new();
    for v in versions {
        let s = &v.status[slot];
        by_list
            .entry(s.list_id.clone())
            .or_insert_with(|| (Vec::new(), value))
            .0
            .push(s.index);
    }
    by_list
}

pub(super) async fn set_status(
    db: &Db,
    id: Uuid,
    change: &StatusChange,
) -> Result<Option<Passport>, StoreError> {
    let mut tx = db.begin().await?;
    let found: Option<PassportDb> = Sql::new(format!(
        "SELECT {PASSPORT_COLUMNS} FROM passports WHERE id = $1{}",
        tx.dialect().for_update()
    ))
    .bind(id)
    .fetch_optional(&mut tx)
    .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    let mut passport = Passport::try_from(found)?;
    Sql::new(SET_STATUS)
        .bind(id)
        .bind(change.status.as_str())
        .bind(change.reason.as_deref())
        .bind(change.at)
        .execute(&mut tx)
        .await?;
    let versions: Vec<VersionDb> = Sql::new(format!(
        "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1"
    ))
    .bind(id)
    .fetch_all(&mut tx)
    .await?;
    let versions = versions
        .into_iter()
        .map(PassportVersion::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    flip_bits(&mut tx, bit_changes(change, &versions), change.at).await?;
    let data =
        serde_json::json!({"status": change.status.as_str(), "reason": change.reason}).to_string();
    insert_status_event(
        &mut tx,
        change.event_id,
        id,
        passport.version,
        passport.org_id,
        change.at,
        &data,
    )
    .await?;
    tx.commit().await?;
    passport.status = change.status;
    passport.status_reason = change.reason.clone();
    passport.updated_at = change.at;
    Ok(Some(passport))
}
