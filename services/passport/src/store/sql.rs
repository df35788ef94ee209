//! The passport stores on SQLite and PostgreSQL.
//!
//! The SQL is the same text on both backends except for row locks (`FOR UPDATE`, which SQLite
//! does not need: it has a single writer), so one macro writes both native implementations;
//! sqlx encodes each backend's column types (BLOB/TEXT on SQLite, uuid/date/timestamptz on
//! PostgreSQL).

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use reetrace_core::db::{SqliteDb, StoreError};
use reetrace_core::domain::idempotency::{StoredResponse, fingerprint_from_bytes};
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, QueryBuilder};
use uuid::Uuid;

use super::status_bits::{self, LIST_CAPACITY, LIST_SIZE};
use super::{
    FeedRow, IdempotentWrite, Identity, KeyStore, ListFilter, Lookup, NewPassport, PassportRow,
    PassportStatus, PassportStore, Rotation, SigningKeyRow, StatusChange, StatusListRow,
    StatusListStore, VersionError, VersionRow,
};
use crate::domain::credential::{StatusPurpose, StatusRef};
use crate::domain::registration::Granularity;

/// Passports on SQLite.
#[derive(Debug, Clone)]
pub struct SqlitePassports {
    db: SqliteDb,
}

impl SqlitePassports {
    pub fn new(db: SqliteDb) -> Self {
        Self { db }
    }
    fn as_db(&self) -> reetrace_core::db::Db {
        reetrace_core::db::Db::Sqlite(self.db.clone())
    }
    fn write(&self) -> &sqlx::SqlitePool {
        &self.db.write
    }
    fn read(&self) -> &sqlx::SqlitePool {
        &self.db.read
    }
}

/// Passports on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgPassports {
    pool: PgPool,
}

impl PgPassports {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
    fn as_db(&self) -> reetrace_core::db::Db {
        reetrace_core::db::Db::Postgres(self.pool.clone())
    }
    fn write(&self) -> &PgPool {
        &self.pool
    }
    fn read(&self) -> &PgPool {
        &self.pool
    }
}

/// Rows per multi-row INSERT: well under both backends' bind-parameter limits.
const CHUNK: usize = 500;

const PASSPORT_COLUMNS: &str = "id, org_id, version, status, status_reason, granularity, gtin, serial, lot, \
     category, country, placed_on_market, model_passport, created_at, updated_at";
const VERSION_COLUMNS: &str = "passport_id, version, credential_id, credential, component_details, confidential, \
     key_id, revocation_list, revocation_index, suspension_list, suspension_index, message_list, message_index, \
     created_at, superseded_at";

#[derive(sqlx::FromRow)]
struct PassportDb {
    id: Uuid,
    org_id: Uuid,
    version: i64,
    status: String,
    status_reason: Option<String>,
    granularity: String,
    gtin: Option<String>,
    serial: Option<String>,
    lot: Option<String>,
    category: String,
    country: String,
    placed_on_market: NaiveDate,
    model_passport: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A passport row with its current version's credential (one join).
#[derive(sqlx::FromRow)]
struct PassportCredentialDb {
    #[sqlx(flatten)]
    passport: PassportDb,
    current_credential: String,
}

/// `PASSPORT_COLUMNS` qualified with the `p` alias, for joins.
fn passport_columns_of_p() -> &'static str {
    static COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        PASSPORT_COLUMNS
            .split(',')
            .map(|c| format!("p.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    });
    &COLUMNS
}

/// The `WHERE` clause (on alias `p`) of an identity, and its bind values.
fn identity_filter(identity: &Identity) -> (&'static str, Vec<String>) {
    match identity {
        Identity::Item { gtin, serial } => (
            "p.gtin = $1 AND p.serial = $2",
            vec![gtin.clone(), serial.clone()],
        ),
        Identity::Batch { gtin, lot } => (
            "p.gtin = $1 AND p.lot = $2 AND p.granularity = 'batch'",
            vec![gtin.clone(), lot.clone()],
        ),
        Identity::Model { gtin } => (
            "p.gtin = $1 AND p.granularity = 'model'",
            vec![gtin.clone()],
        ),
    }
}

impl TryFrom<PassportDb> for PassportRow {
    type Error = StoreError;
    fn try_from(r: PassportDb) -> Result<Self, StoreError> {
        Ok(PassportRow {
            id: r.id,
            org_id: r.org_id,
            version: to_u32(r.version)?,
            status: PassportStatus::parse(&r.status)?,
            status_reason: r.status_reason,
            granularity: parse_granularity(&r.granularity)?,
            gtin: r.gtin,
            serial: r.serial,
            lot: r.lot,
            category: r.category,
            country: r.country,
            placed_on_market: r.placed_on_market,
            model_passport: r.model_passport,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct VersionDb {
    passport_id: Uuid,
    version: i64,
    credential_id: Uuid,
    credential: String,
    component_details: String,
    confidential: Option<String>,
    key_id: String,
    revocation_list: String,
    revocation_index: i64,
    suspension_list: String,
    suspension_index: i64,
    message_list: String,
    message_index: i64,
    created_at: DateTime<Utc>,
    superseded_at: Option<DateTime<Utc>>,
}

impl TryFrom<VersionDb> for VersionRow {
    type Error = StoreError;
    fn try_from(r: VersionDb) -> Result<Self, StoreError> {
        Ok(VersionRow {
            passport_id: r.passport_id,
            version: to_u32(r.version)?,
            credential_id: r.credential_id,
            credential: r.credential,
            component_details: r.component_details,
            confidential: r.confidential,
            key_id: r.key_id,
            status: [
                status_ref(
                    StatusPurpose::Revocation,
                    r.revocation_list,
                    r.revocation_index,
                )?,
                status_ref(
                    StatusPurpose::Suspension,
                    r.suspension_list,
                    r.suspension_index,
                )?,
                status_ref(StatusPurpose::Message, r.message_list, r.message_index)?,
            ],
            created_at: r.created_at,
            superseded_at: r.superseded_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct KeyDb {
    id: String,
    org_id: Uuid,
    public_key: Vec<u8>,
    sealed_secret: Vec<u8>,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<KeyDb> for SigningKeyRow {
    fn from(r: KeyDb) -> Self {
        SigningKeyRow {
            id: r.id,
            org_id: r.org_id,
            public_key: r.public_key,
            sealed_secret: r.sealed_secret,
            created_at: r.created_at,
            retired_at: r.retired_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ListDb {
    id: String,
    org_id: Uuid,
    purpose: String,
    size: i64,
    allocated: i64,
    bits: Vec<u8>,
    credential: Option<String>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ListDb> for StatusListRow {
    type Error = StoreError;
    fn try_from(r: ListDb) -> Result<Self, StoreError> {
        Ok(StatusListRow {
            id: r.id,
            org_id: r.org_id,
            purpose: StatusPurpose::parse(&r.purpose)
                .ok_or_else(|| StoreError::Corrupt(format!("status purpose {:?}", r.purpose)))?,
            size: to_u32(r.size)?,
            allocated: to_u32(r.allocated)?,
            bits: r.bits,
            credential: r.credential,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FeedDb {
    seq: i64,
    event_id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    passport_id: Uuid,
    version: i64,
    org_id: Uuid,
    occurred_at: DateTime<Utc>,
    data: Option<String>,
    credential: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StoredDb {
    fingerprint: Vec<u8>,
    status: i64,
    content_type: String,
    body: String,
}

fn to_u32(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{value} is out of range")))
}

fn parse_granularity(s: &str) -> Result<Granularity, StoreError> {
    match s {
        "model" => Ok(Granularity::Model),
        "batch" => Ok(Granularity::Batch),
        "item" => Ok(Granularity::Item),
        other => Err(StoreError::Corrupt(format!("granularity {other:?}"))),
    }
}

fn status_ref(
    purpose: StatusPurpose,
    list_id: String,
    index: i64,
) -> Result<StatusRef, StoreError> {
    Ok(StatusRef {
        purpose,
        list_id,
        index: to_u32(index)?,
    })
}

/// The status bits to change for a new passport status, grouped by list.
fn bit_changes(
    change: &StatusChange,
    versions: &[VersionRow],
) -> BTreeMap<String, (Vec<u32>, bool)> {
    let (slot, value) = match change.status {
        PassportStatus::Revoked => (0, true),
        PassportStatus::Suspended => (1, true),
        PassportStatus::Active => (1, false),
    };
    let mut by_list: BTreeMap<String, (Vec<u32>, bool)> = BTreeMap::new();
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

macro_rules! passport_store {
    ($store:ty, $for_update:literal) => {
        impl $store {
            /// Reserves `count` feed sequence numbers; the head row stays locked until commit,
            /// so events become visible in sequence order with no gaps.
            async fn reserve_seq<'c, E>(executor: E, count: usize) -> Result<i64, StoreError>
            where
                E: sqlx::Executor<'c, Database = <Self as StoreDb>::Database>,
            {
                let head: i64 = sqlx::query_scalar("UPDATE passport_feed_head SET head = head + $1 WHERE id = 1 RETURNING head")
                    .bind(count as i64)
                    .fetch_one(executor)
                    .await?;
                Ok(head - count as i64 + 1)
            }

            async fn flip_bits(
                tx: &mut sqlx::Transaction<'_, <Self as StoreDb>::Database>,
                changes: BTreeMap<String, (Vec<u32>, bool)>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                for (list_id, (indexes, value)) in changes {
                    let (bits, updated_at): (Vec<u8>, DateTime<Utc>) =
                        sqlx::query_as(concat!("SELECT bits, updated_at FROM status_lists WHERE id = $1", $for_update))
                            .bind(&list_id)
                            .fetch_one(&mut **tx)
                            .await?;
                    let bits = status_bits::set_bits(bits, &indexes, value)?;
                    // `updated_at` is the version `cache_signed` compares: it must move on every
                    // change, even when two changes share a timestamp or a clock steps back.
                    let stamp = now.max(updated_at + TimeDelta::microseconds(1));
                    sqlx::query("UPDATE status_lists SET bits = $2, credential = NULL, updated_at = $3 WHERE id = $1")
                        .bind(&list_id)
                        .bind(bits)
                        .bind(stamp)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            async fn keep_response(
                tx: &mut sqlx::Transaction<'_, <Self as StoreDb>::Database>,
                idempotent: Option<IdempotentWrite>,
                created: &[bool],
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let Some(write) = idempotent else { return Ok(()) };
                let Some(response) = (write.respond)(created) else { return Ok(()) };
                sqlx::query(
                    "INSERT INTO passport_idempotency (org_id, key, fingerprint, status, content_type, body, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(write.org_id)
                .bind(write.key)
                .bind(response.fingerprint.to_vec())
                .bind(i64::from(response.status))
                .bind(response.content_type)
                .bind(response.body)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn insert_version_rows(
                tx: &mut sqlx::Transaction<'_, <Self as StoreDb>::Database>,
                rows: &[&NewPassport],
            ) -> Result<(), StoreError> {
                for chunk in rows.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("INSERT INTO passport_versions ({VERSION_COLUMNS}) "));
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(r.id)
                            .push_bind(i64::from(r.version))
                            .push_bind(r.credential_id)
                            .push_bind(r.credential.clone())
                            .push_bind(r.component_details.clone())
                            .push_bind(r.confidential.clone())
                            .push_bind(r.key_id.clone())
                            .push_bind(r.status[0].list_id.clone())
                            .push_bind(i64::from(r.status[0].index))
                            .push_bind(r.status[1].list_id.clone())
                            .push_bind(i64::from(r.status[1].index))
                            .push_bind(r.status[2].list_id.clone())
                            .push_bind(i64::from(r.status[2].index))
                            .push_bind(r.created_at)
                            .push_bind(None::<DateTime<Utc>>);
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn insert_feed_rows(
                tx: &mut sqlx::Transaction<'_, <Self as StoreDb>::Database>,
                kind: &str,
                rows: &[&NewPassport],
                data: Option<&str>,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                if rows.is_empty() {
                    return Ok(());
                }
                let first = Self::reserve_seq(&mut **tx, rows.len()).await?;
                for (c, chunk) in rows.chunks(CHUNK).enumerate() {
                    let mut q = QueryBuilder::new(
                        "INSERT INTO passport_feed (seq, event_id, type, passport_id, version, org_id, occurred_at, data) ",
                    );
                    q.push_values(chunk.iter().enumerate(), |mut b, (i, r)| {
                        b.push_bind(first + (c * CHUNK + i) as i64)
                            .push_bind(Uuid::now_v7())
                            .push_bind(kind.to_owned())
                            .push_bind(r.id)
                            .push_bind(i64::from(r.version))
                            .push_bind(r.org_id)
                            .push_bind(at)
                            .push_bind(data.map(str::to_owned));
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }
        }

        #[async_trait]
        impl KeyStore for $store {
            async fn insert_key(&self, key: &SigningKeyRow, rotation: Rotation) -> Result<(), StoreError> {
                let mut tx = self.write().begin().await?;
                let others = match rotation {
                    Rotation::None => None,
                    Rotation::Retire => Some(
                        "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $2) WHERE org_id = $1",
                    ),
                    Rotation::Revoke => Some(
                        "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $2), \
                         revoked_at = COALESCE(revoked_at, $2) WHERE org_id = $1",
                    ),
                };
                if let Some(sql) = others {
                    sqlx::query(sql).bind(key.org_id).bind(key.created_at).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO signing_keys (id, org_id, public_key, sealed_secret, created_at, retired_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&key.id)
                .bind(key.org_id)
                .bind(&key.public_key)
                .bind(&key.sealed_secret)
                .bind(key.created_at)
                .bind(key.retired_at)
                .bind(key.revoked_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn org_keys(&self, org_id: Uuid) -> Result<Vec<SigningKeyRow>, StoreError> {
                let rows: Vec<KeyDb> = sqlx::query_as(
                    "SELECT id, org_id, public_key, sealed_secret, created_at, retired_at, revoked_at FROM signing_keys \
                     WHERE org_id = $1 ORDER BY created_at, id",
                )
                .bind(org_id)
                .fetch_all(self.read())
                .await?;
                Ok(rows.into_iter().map(SigningKeyRow::from).collect())
            }

            async fn sealed_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                Ok(sqlx::query_as("SELECT id, sealed_secret FROM signing_keys ORDER BY id")
                    .fetch_all(self.write())
                    .await?)
            }

            async fn reseal_keys(&self, changes: &[reetrace_core::crypto::Reseal]) -> Result<(), StoreError> {
                reetrace_core::db::reseal_rows(&self.as_db(), "signing_keys", "id", changes).await
            }
        }

        #[async_trait]
        impl StatusListStore for $store {
            async fn allocate(
                &self,
                org_id: Uuid,
                purpose: StatusPurpose,
                count: usize,
                now: DateTime<Utc>,
            ) -> Result<Vec<StatusRef>, StoreError> {
                let mut out = Vec::with_capacity(count);
                let mut tx = self.write().begin().await?;
                while out.len() < count {
                    let open: Option<(String, i64, Vec<u8>)> = sqlx::query_as(concat!(
                        "SELECT id, allocated, used FROM status_lists WHERE org_id = $1 AND purpose = $2 \
                         AND allocated < $3 ORDER BY created_at, id LIMIT 1",
                        $for_update
                    ))
                    .bind(org_id)
                    .bind(purpose.as_str())
                    .bind(i64::from(LIST_CAPACITY))
                    .fetch_optional(&mut *tx)
                    .await?;
                    let (list_id, allocated, used) = match open {
                        Some(open) => open,
                        None => {
                            let id = Uuid::now_v7().to_string();
                            sqlx::query(
                                "INSERT INTO status_lists (id, org_id, purpose, size, allocated, used, bits, credential, \
                                 created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, NULL, $7, $7)",
                            )
                            .bind(&id)
                            .bind(org_id)
                            .bind(purpose.as_str())
                            .bind(i64::from(LIST_SIZE))
                            .bind(status_bits::empty_bitmap())
                            .bind(status_bits::empty_bitmap())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            (id, 0, status_bits::empty_bitmap())
                        }
                    };
                    let (used, picked) = status_bits::take_random(used, to_u32(allocated)?, count - out.len())?;
                    sqlx::query("UPDATE status_lists SET used = $2, allocated = $3 WHERE id = $1")
                        .bind(&list_id)
                        .bind(used)
                        .bind(allocated + picked.len() as i64)
                        .execute(&mut *tx)
                        .await?;
                    out.extend(picked.into_iter().map(|index| StatusRef {
                        purpose,
                        list_id: list_id.clone(),
                        index,
                    }));
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn status_list(&self, id: &str) -> Result<Option<StatusListRow>, StoreError> {
                let row: Option<ListDb> = sqlx::query_as(
                    "SELECT id, org_id, purpose, size, allocated, bits, credential, updated_at FROM status_lists WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(self.read())
                .await?;
                row.map(StatusListRow::try_from).transpose()
            }

            async fn cache_signed(&self, id: &str, updated_at: DateTime<Utc>, credential: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE status_lists SET credential = $3 WHERE id = $1 AND updated_at = $2")
                    .bind(id)
                    .bind(updated_at)
                    .bind(credential)
                    .execute(self.write())
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl PassportStore for $store {
            async fn insert_passports(
                &self,
                rows: &[NewPassport],
                atomic: bool,
                idempotent: Option<IdempotentWrite>,
            ) -> Result<Vec<bool>, StoreError> {
                let now = reetrace_core::domain::account::now();
                let mut tx = self.write().begin().await?;
                let mut created_ids = HashSet::with_capacity(rows.len());
                for chunk in rows.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("INSERT INTO passports ({PASSPORT_COLUMNS}) "));
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(r.id)
                            .push_bind(r.org_id)
                            .push_bind(i64::from(r.version))
                            .push_bind(PassportStatus::Active.as_str())
                            .push_bind(None::<String>)
                            .push_bind(r.granularity.as_str())
                            .push_bind(r.gtin.clone())
                            .push_bind(r.serial.clone())
                            .push_bind(r.lot.clone())
                            .push_bind(r.category.clone())
                            .push_bind(r.country.clone())
                            .push_bind(r.placed_on_market)
                            .push_bind(r.model_passport)
                            .push_bind(r.created_at)
                            .push_bind(r.created_at);
                    });
                    q.push(" ON CONFLICT DO NOTHING RETURNING id");
                    let ids: Vec<Uuid> = q.build_query_scalar().fetch_all(&mut *tx).await?;
                    created_ids.extend(ids);
                }
                let created: Vec<bool> = rows.iter().map(|r| created_ids.contains(&r.id)).collect();
                if atomic && created.iter().any(|c| !c) {
                    tx.rollback().await?;
                    return Ok(created);
                }
                let kept: Vec<&NewPassport> = rows.iter().filter(|r| created_ids.contains(&r.id)).collect();
                Self::insert_version_rows(&mut tx, &kept).await?;
                Self::insert_feed_rows(&mut tx, "passport.issued", &kept, None, now).await?;
                Self::keep_response(&mut tx, idempotent, &created, now).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn add_version(&self, row: &NewPassport, idempotent: Option<IdempotentWrite>) -> Result<(), VersionError> {
                let now = row.created_at;
                let mut tx = self.write().begin().await.map_err(StoreError::from)?;
                let current: Option<i64> =
                    sqlx::query_scalar(concat!("SELECT version FROM passports WHERE id = $1", $for_update))
                        .bind(row.id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(StoreError::from)?;
                let current = current.ok_or(VersionError::NotFound)?;
                if current + 1 != i64::from(row.version) {
                    return Err(VersionError::Stale {
                        current: to_u32(current)?,
                        expected: row.version.saturating_sub(1),
                    });
                }
                let previous: VersionDb = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1 AND version = $2"
                )))
                .bind(row.id)
                .bind(current)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)?;
                let previous = VersionRow::try_from(previous)?;
                Self::insert_version_rows(&mut tx, &[row]).await?;
                sqlx::query("UPDATE passport_versions SET superseded_at = $3 WHERE passport_id = $1 AND version = $2")
                    .bind(row.id)
                    .bind(current)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
                sqlx::query(
                    "UPDATE passports SET version = $2, category = $3, country = $4, placed_on_market = $5, \
                     model_passport = $6, updated_at = $7 WHERE id = $1",
                )
                .bind(row.id)
                .bind(i64::from(row.version))
                .bind(&row.category)
                .bind(&row.country)
                .bind(row.placed_on_market)
                .bind(row.model_passport)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
                let superseded = &previous.status[2];
                let mut changes = BTreeMap::new();
                changes.insert(superseded.list_id.clone(), (vec![superseded.index], true));
                Self::flip_bits(&mut tx, changes, now).await?;
                Self::insert_feed_rows(&mut tx, "passport.versioned", &[row], None, now).await?;
                Self::keep_response(&mut tx, idempotent, &[true], now).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(())
            }

            async fn set_status(&self, id: Uuid, change: &StatusChange) -> Result<Option<PassportRow>, StoreError> {
                let mut tx = self.write().begin().await?;
                let found: Option<PassportDb> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {PASSPORT_COLUMNS} FROM passports WHERE id = $1{}",
                    $for_update
                )))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(found) = found else { return Ok(None) };
                let mut passport = PassportRow::try_from(found)?;
                sqlx::query("UPDATE passports SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1")
                    .bind(id)
                    .bind(change.status.as_str())
                    .bind(&change.reason)
                    .bind(change.at)
                    .execute(&mut *tx)
                    .await?;
                let versions: Vec<VersionDb> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1"
                )))
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                let versions = versions.into_iter().map(VersionRow::try_from).collect::<Result<Vec<_>, _>>()?;
                Self::flip_bits(&mut tx, bit_changes(change, &versions), change.at).await?;
                let seq = Self::reserve_seq(&mut *tx, 1).await?;
                let data = serde_json::json!({"status": change.status.as_str(), "reason": change.reason}).to_string();
                sqlx::query(
                    "INSERT INTO passport_feed (seq, event_id, type, passport_id, version, org_id, occurred_at, data) \
                     VALUES ($1, $2, 'passport.status_changed', $3, $4, $5, $6, $7)",
                )
                .bind(seq)
                .bind(change.event_id)
                .bind(id)
                .bind(i64::from(passport.version))
                .bind(passport.org_id)
                .bind(change.at)
                .bind(data)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                passport.status = change.status;
                passport.status_reason = change.reason.clone();
                passport.updated_at = change.at;
                Ok(Some(passport))
            }

            async fn passport(&self, id: Uuid) -> Result<Option<PassportRow>, StoreError> {
                let row: Option<PassportDb> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT {PASSPORT_COLUMNS} FROM passports WHERE id = $1")))
                        .bind(id)
                        .fetch_optional(self.read())
                        .await?;
                row.map(PassportRow::try_from).transpose()
            }

            async fn passports(&self, ids: &[Uuid]) -> Result<Vec<PassportRow>, StoreError> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("SELECT {PASSPORT_COLUMNS} FROM passports WHERE id IN ("));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    let rows: Vec<PassportDb> = q.build_query_as().fetch_all(self.read()).await?;
                    for row in rows {
                        out.push(PassportRow::try_from(row)?);
                    }
                }
                Ok(out)
            }

            async fn find(&self, identity: &Identity) -> Result<Option<PassportRow>, StoreError> {
                let (filter, values) = identity_filter(identity);
                let mut query = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {} FROM passports p WHERE {filter}",
                    passport_columns_of_p()
                )));
                for value in values {
                    query = query.bind(value);
                }
                let row: Option<PassportDb> = query.fetch_optional(self.read()).await?;
                row.map(PassportRow::try_from).transpose()
            }

            async fn current_credential(
                &self,
                lookup: Lookup<'_>,
            ) -> Result<Option<(PassportRow, String)>, StoreError> {
                let join = |filter: &str| {
                    format!(
                        "SELECT {}, v.credential AS current_credential FROM passports p \
                         JOIN passport_versions v ON v.passport_id = p.id AND v.version = p.version \
                         WHERE {filter}",
                        passport_columns_of_p()
                    )
                };
                let row: Option<PassportCredentialDb> = match lookup {
                    Lookup::Id(id) => {
                        sqlx::query_as(AssertSqlSafe(join("p.id = $1")))
                            .bind(id)
                            .fetch_optional(self.read())
                            .await?
                    }
                    Lookup::Identity(identity) => {
                        let (filter, values) = identity_filter(identity);
                        let mut query = sqlx::query_as(AssertSqlSafe(join(filter)));
                        for value in values {
                            query = query.bind(value);
                        }
                        query.fetch_optional(self.read()).await?
                    }
                };
                row.map(|r| Ok((PassportRow::try_from(r.passport)?, r.current_credential)))
                    .transpose()
            }

            async fn version(&self, id: Uuid, version: Option<u32>) -> Result<Option<VersionRow>, StoreError> {
                let row: Option<VersionDb> = match version {
                    Some(v) => {
                        sqlx::query_as(AssertSqlSafe(format!(
                            "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1 AND version = $2"
                        )))
                        .bind(id)
                        .bind(i64::from(v))
                        .fetch_optional(self.read())
                        .await?
                    }
                    None => {
                        sqlx::query_as(AssertSqlSafe(format!(
                            "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1 \
                             AND version = (SELECT version FROM passports WHERE id = $1)"
                        )))
                        .bind(id)
                        .fetch_optional(self.read())
                        .await?
                    }
                };
                row.map(VersionRow::try_from).transpose()
            }

            async fn versions(&self, id: Uuid) -> Result<Vec<VersionRow>, StoreError> {
                let rows: Vec<VersionDb> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {VERSION_COLUMNS} FROM passport_versions WHERE passport_id = $1 ORDER BY version"
                )))
                .bind(id)
                .fetch_all(self.read())
                .await?;
                rows.into_iter().map(VersionRow::try_from).collect()
            }

            async fn list(&self, filter: &ListFilter, after: Option<Uuid>, limit: u32) -> Result<Vec<PassportRow>, StoreError> {
                let mut q = QueryBuilder::new(format!("SELECT {PASSPORT_COLUMNS} FROM passports WHERE 1 = 1"));
                if let Some(org) = filter.org_id {
                    q.push(" AND org_id = ").push_bind(org);
                }
                if let Some(category) = &filter.category {
                    q.push(" AND category = ").push_bind(category.clone());
                }
                if let Some(gtin) = &filter.gtin {
                    q.push(" AND gtin = ").push_bind(gtin.clone());
                }
                if let Some(country) = &filter.country {
                    q.push(" AND country = ").push_bind(country.clone());
                }
                if let Some(after) = after {
                    q.push(" AND id > ").push_bind(after);
                }
                q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
                let rows: Vec<PassportDb> = q.build_query_as().fetch_all(self.read()).await?;
                rows.into_iter().map(PassportRow::try_from).collect()
            }

            async fn stored_response(&self, org_id: Uuid, key: &str) -> Result<Option<StoredResponse>, StoreError> {
                let row: Option<StoredDb> = sqlx::query_as(
                    "SELECT fingerprint, status, content_type, body FROM passport_idempotency WHERE org_id = $1 AND key = $2",
                )
                .bind(org_id)
                .bind(key)
                .fetch_optional(self.read())
                .await?;
                Ok(row.map(|r| StoredResponse {
                    fingerprint: fingerprint_from_bytes(&r.fingerprint),
                    status: u16::try_from(r.status).unwrap_or(200),
                    content_type: r.content_type,
                    body: r.body,
                }))
            }

            async fn feed_after(&self, after: i64, limit: u32) -> Result<Vec<FeedRow>, StoreError> {
                let rows: Vec<FeedDb> = sqlx::query_as(
                    "SELECT f.seq, f.event_id, f.type, f.passport_id, f.version, f.org_id, f.occurred_at, f.data, \
                     CASE WHEN f.type = 'passport.status_changed' THEN NULL ELSE v.credential END AS credential \
                     FROM passport_feed f LEFT JOIN passport_versions v \
                     ON v.passport_id = f.passport_id AND v.version = f.version \
                     WHERE f.seq > $1 ORDER BY f.seq LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(self.read())
                .await?;
                rows.into_iter()
                    .map(|r| {
                        Ok(FeedRow {
                            seq: r.seq,
                            event_id: r.event_id,
                            kind: r.kind,
                            passport_id: r.passport_id,
                            version: to_u32(r.version)?,
                            org_id: r.org_id,
                            occurred_at: r.occurred_at,
                            data: r.data,
                            credential: r.credential,
                        })
                    })
                    .collect()
            }
        }
    };
}

/// Names each store's database type for the macro's generic helpers.
trait StoreDb {
    type Database: sqlx::Database;
}

impl StoreDb for SqlitePassports {
    type Database = sqlx::Sqlite;
}

impl StoreDb for PgPassports {
    type Database = sqlx::Postgres;
}

passport_store!(SqlitePassports, "");
passport_store!(PgPassports, " FOR UPDATE");
