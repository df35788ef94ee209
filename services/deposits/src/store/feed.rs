//! The deposits feed (`deposit_feed`, `deposit_feed_head`): events written in the transaction of
//! the change they report, numbered gap-free in commit order, read by cursor with the record of
//! the version they name.

use chrono::{DateTime, Utc};
use reetrace_core::db::{Db, Sql, StoreError, Tx};
use uuid::Uuid;

/// What happened to a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositEventKind {
    /// Its first version.
    Recorded,
    /// A further version.
    Versioned,
    /// Withdrawn: every version revoked.
    Withdrawn,
}

impl DepositEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DepositEventKind::Recorded => "deposit.recorded",
            DepositEventKind::Versioned => "deposit.versioned",
            DepositEventKind::Withdrawn => "deposit.withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<DepositEventKind> {
        [
            DepositEventKind::Recorded,
            DepositEventKind::Versioned,
            DepositEventKind::Withdrawn,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A stored feed event, with the record of the version it names (none for a withdrawal).
#[derive(Debug, Clone, PartialEq)]
pub struct DepositFeedRow {
    pub seq: i64,
    pub event_id: Uuid,
    pub kind: DepositEventKind,
    pub deposit_id: Uuid,
    pub version: i64,
    pub org_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub record: Option<String>,
    /// When the version was recorded (the day its record was checked on).
    pub recorded_at: Option<DateTime<Utc>>,
}

const FEED_AFTER: &str = "SELECT f.seq, f.event_id, f.type, f.deposit_id, f.version, f.org_id, \
     f.occurred_at, \
     CASE WHEN f.type = 'deposit.withdrawn' THEN NULL ELSE v.record END, v.created_at \
     FROM deposit_feed f LEFT JOIN deposit_versions v \
     ON v.deposit_id = f.deposit_id AND v.version = f.version \
     WHERE f.seq > $1 ORDER BY f.seq LIMIT $2";

type Row = (
    i64,
    Uuid,
    String,
    Uuid,
    i64,
    Uuid,
    DateTime<Utc>,
    Option<String>,
    Option<DateTime<Utc>>,
);

/// Feed events after `after`, at most `limit`, in order.
pub(super) async fn after(
    db: &Db,
    after: i64,
    limit: u32,
) -> Result<Vec<DepositFeedRow>, StoreError> {
    let rows: Vec<Row> = Sql::new(FEED_AFTER)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(db.reader())
        .await?;
    rows.into_iter()
        .map(
            |(seq, event_id, kind, deposit_id, version, org_id, at, record, recorded_at)| {
                Ok(DepositFeedRow {
                    seq,
                    event_id,
                    kind: DepositEventKind::parse(&kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("deposit feed event type {kind:?}"))
                    })?,
                    deposit_id,
                    version,
                    org_id,
                    occurred_at: at,
                    record,
                    recorded_at,
                })
            },
        )
        .collect()
}

/// Writes one event; the feed's head row stays locked until `tx` commits, so events become
/// visible in sequence order with no gap.
pub(super) async fn insert(
    tx: &mut Tx,
    kind: DepositEventKind,
    deposit_id: Uuid,
    version: i64,
    org_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let seq: i64 =
        Sql::new("UPDATE deposit_feed_head SET head = head + 1 WHERE id = 1 RETURNING head")
            .scalar(&mut *tx)
            .await?;
    Sql::new(
        "INSERT INTO deposit_feed (seq, event_id, type, deposit_id, version, org_id, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(seq)
    .bind(Uuid::now_v7())
    .bind(kind.as_str())
    .bind(deposit_id)
    .bind(version)
    .bind(org_id)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
