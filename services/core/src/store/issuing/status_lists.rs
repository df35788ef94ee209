//! Status lists (`status_lists`): handing out random indexes, the bits themselves, and the
//! signed list credential kept until the bits change.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::status_bits::{self, LIST_CAPACITY, LIST_SIZE};
use super::{SqlIssuing, to_u32};
use crate::db::{Sql, StoreError, Tx};
use crate::domain::issuing::{StatusListRow, StatusPurpose, StatusRef};

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
    /// Sets or clears status bits in a transaction of their own (see [`flip_bits`] to do it
    /// inside a transaction of the caller's).
    async fn set_bits(&self, changes: BitChanges, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Keeps a freshly signed list credential, unless the bits changed since `updated_at`.
    async fn cache_signed(
        &self,
        id: &str,
        updated_at: DateTime<Utc>,
        credential: &str,
    ) -> Result<(), StoreError>;
}

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

crate::record!(ListDb {
    id,
    org_id,
    purpose,
    size,
    allocated,
    bits,
    credential,
    updated_at,
});

impl TryFrom<ListDb> for StatusListRow {
    type Error = StoreError;

    fn try_from(r: ListDb) -> Result<Self, StoreError> {
        Ok(StatusListRow {
            purpose: StatusPurpose::parse(&r.purpose)
                .ok_or_else(|| StoreError::Corrupt(format!("status purpose {:?}", r.purpose)))?,
            id: r.id,
            org_id: r.org_id,
            size: to_u32(r.size)?,
            allocated: to_u32(r.allocated)?,
            bits: r.bits,
            credential: r.credential,
            updated_at: r.updated_at,
        })
    }
}

const SELECT_LIST: &str = "SELECT id, org_id, purpose, size, allocated, bits, credential, \
     updated_at FROM status_lists WHERE id = $1";
const INSERT_LIST: &str = "INSERT INTO status_lists (id, org_id, purpose, size, allocated, used, \
     bits, credential, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, NULL, $7, $7)";
const TAKE_INDEXES: &str = "UPDATE status_lists SET used = $2, allocated = $3 WHERE id = $1";
const CACHE_SIGNED: &str =
    "UPDATE status_lists SET credential = $3 WHERE id = $1 AND updated_at = $2";
const SET_BITS: &str =
    "UPDATE status_lists SET bits = $2, credential = NULL, updated_at = $3 WHERE id = $1";

#[async_trait]
impl StatusListStore for SqlIssuing {
    async fn allocate(
        &self,
        org_id: Uuid,
        purpose: StatusPurpose,
        count: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusRef>, StoreError> {
        let mut out = Vec::with_capacity(count);
        let open_list = format!(
            "SELECT id, allocated, used FROM status_lists WHERE org_id = $1 AND purpose = $2 \
             AND allocated < $3 ORDER BY created_at, id LIMIT 1{}",
            self.db.dialect().for_update()
        );
        let mut tx = self.db.begin().await?;
        while out.len() < count {
            let open: Option<(String, i64, Vec<u8>)> = Sql::new(open_list.clone())
                .bind(org_id)
                .bind(purpose.as_str())
                .bind(i64::from(LIST_CAPACITY))
                .fetch_optional(&mut tx)
                .await?;
            let (list_id, allocated, used) = match open {
                Some(open) => open,
                None => {
                    let id = Uuid::now_v7().to_string();
                    Sql::new(INSERT_LIST)
                        .bind(&id)
                        .bind(org_id)
                        .bind(purpose.as_str())
                        .bind(i64::from(LIST_SIZE))
                        .bind(status_bits::empty_bitmap())
                        .bind(status_bits::empty_bitmap())
                        .bind(now)
                        .execute(&mut tx)
                        .await?;
                    (id, 0, status_bits::empty_bitmap())
                }
            };
            let (used, picked) =
                status_bits::take_random(used, to_u32(allocated)?, count - out.len())?;
            Sql::new(TAKE_INDEXES)
                .bind(&list_id)
                .bind(used)
                .bind(allocated + picked.len() as i64)
                .execute(&mut tx)
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
        let row: Option<ListDb> = Sql::new(SELECT_LIST)
            .bind(id)
            .fetch_optional(self.db.reader())
            .await?;
        row.map(StatusListRow::try_from).transpose()
    }

    async fn set_bits(&self, changes: BitChanges, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        flip_bits(&mut tx, changes, now).await?;
        tx.commit().await
    }

    async fn cache_signed(
        &self,
        id: &str,
        updated_at: DateTime<Utc>,
        credential: &str,
    ) -> Result<(), StoreError> {
        Sql::new(CACHE_SIGNED)
            .bind(id)
            .bind(updated_at)
            .bind(credential)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }
}

/// Status bits to change, by list: the indexes and the value they take.
pub type BitChanges = BTreeMap<String, (Vec<u32>, bool)>;

/// Sets or clears status bits inside `tx`, each list's signed credential dropped and its
/// `updated_at` moved on: for a service whose status change commits with its own rows.
pub async fn flip_bits(
    tx: &mut Tx,
    changes: BitChanges,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let select = format!(
        "SELECT bits, updated_at FROM status_lists WHERE id = $1{}",
        tx.dialect().for_update()
    );
    for (list_id, (indexes, value)) in changes {
        let (bits, updated_at): (Vec<u8>, DateTime<Utc>) = Sql::new(select.clone())
            .bind(&list_id)
            .fetch_one(&mut *tx)
            .await?;
        let bits = status_bits::set_bits(bits, &indexes, value)?;
        // `updated_at` is the version `cache_signed` compares: it must move on every change,
        // even when two changes share a timestamp or a clock steps back.
        let stamp = now.max(updated_at + TimeDelta::microseconds(1));
        Sql::new(SET_BITS)
            .bind(&list_id)
            .bind(bits)
            .bind(stamp)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
