//! The passport feed (`passport_feed`, `passport_feed_head`): events written in the transaction
//! of the change they report, numbered gap-free in commit order, read by cursor.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError, Tx};
use uuid::Uuid;

use super::{CHUNK, SqlPassports, to_u32};
use crate::domain::passport::{FeedEventKind, FeedRow, NewPassport};

#[async_trait]
pub trait PassportFeedStore: Send + Sync {
    /// Feed events after `after`, at most `limit`, in order.
    async fn feed_after(&self, after: i64, limit: u32) -> Result<Vec<FeedRow>, StoreError>;
}

struct FeedDb {
    seq: i64,
    event_id: Uuid,
    kind: String,
    passport_id: Uuid,
    version: i64,
    org_id: Uuid,
    occurred_at: DateTime<Utc>,
    data: Option<String>,
    credential: Option<String>,
    placement: Option<String>,
}

reetrace_core::record!(FeedDb {
    seq,
    event_id,
    kind: "type",
    passport_id,
    version,
    org_id,
    occurred_at,
    data,
    credential,
    placement,
});

impl TryFrom<FeedDb> for FeedRow {
    type Error = StoreError;

    fn try_from(r: FeedDb) -> Result<Self, StoreError> {
        Ok(FeedRow {
            seq: r.seq,
            event_id: r.event_id,
            kind: FeedEventKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("feed event type {:?}", r.kind)))?,
            passport_id: r.passport_id,
            version: to_u32(r.version)?,
            org_id: r.org_id,
            occurred_at: r.occurred_at,
            data: r.data,
            credential: r.credential,
            placement: r.placement,
        })
    }
}

const FEED_AFTER: &str = "SELECT f.seq, f.event_id, f.type, f.passport_id, f.version, f.org_id, \
     f.occurred_at, f.data, \
     CASE WHEN f.type = 'passport.status_changed' THEN NULL ELSE v.credential END AS credential, \
     CASE WHEN f.type = 'passport.status_changed' THEN NULL ELSE v.placement END AS placement \
     FROM passport_feed f LEFT JOIN passport_versions v \
     ON v.passport_id = f.passport_id AND v.version = f.version \
     WHERE f.seq > $1 ORDER BY f.seq LIMIT $2";
const RESERVE: &str = "UPDATE passport_feed_head SET head = head + $1 WHERE id = 1 RETURNING head";
const INSERT_EVENT: &str = "INSERT INTO passport_feed \
     (seq, event_id, type, passport_id, version, org_id, occurred_at, data) ";

#[async_trait]
impl PassportFeedStore for SqlPassports {
    async fn feed_after(&self, after: i64, limit: u32) -> Result<Vec<FeedRow>, StoreError> {
        let rows: Vec<FeedDb> = Sql::new(FEED_AFTER)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.db.reader())
            .await?;
        rows.into_iter().map(FeedRow::try_from).collect()
    }
}

/// Reserves `count` feed sequence numbers and returns the first; the head row stays locked
/// until `tx` commits, so events become visible in sequence order with no gaps.
pub(super) async fn reserve_seq(tx: &mut Tx, count: usize) -> Result<i64, StoreError> {
    let head: i64 = Sql::new(RESERVE)
        .bind(count as i64)
        .scalar(&mut *tx)
        .await?;
    Ok(head - count as i64 + 1)
}

/// Writes one `kind` event per row (one statement per chunk of rows).
pub(super) async fn insert_events(
    tx: &mut Tx,
    kind: FeedEventKind,
    rows: &[&NewPassport],
    data: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let first = reserve_seq(tx, rows.len()).await?;
    for (c, chunk) in rows.chunks(CHUNK).enumerate() {
        let mut sql = Sql::new(INSERT_EVENT);
        sql.push_values(chunk.iter().enumerate(), |row, (i, r)| {
            row.bind(first + (c * CHUNK + i) as i64)
                .bind(Uuid::now_v7())
                .bind(kind.as_str())
                .bind(r.id)
                .bind(i64::from(r.version))
                .bind(r.org_id)
                .bind(at)
                .bind(data);
        });
        sql.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Writes one event of a status change.
pub(super) async fn insert_status_event(
    tx: &mut Tx,
    event_id: Uuid,
    passport_id: Uuid,
    version: u32,
    org_id: Uuid,
    at: DateTime<Utc>,
    data: &str,
) -> Result<(), StoreError> {
    let seq = reserve_seq(tx, 1).await?;
    let mut sql = Sql::new(INSERT_EVENT);
    sql.push_values([()], |row, ()| {
        row.bind(seq)
            .bind(event_id)
            .bind(FeedEventKind::StatusChanged.as_str())
            .bind(passport_id)
            .bind(i64::from(version))
            .bind(org_id)
            .bind(at)
            .bind(data);
    });
    sql.execute(&mut *tx).await?;
    Ok(())
}
