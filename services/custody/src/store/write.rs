//! Every custody write, in one transaction: it compares-and-sets the custody of what it touches
//! (so two writers racing on one product cannot both win), records new lots, claims and the
//! transformation, appends its events to the subjects' hash chains and to the global log, and
//! keeps the idempotent answer. A lost race is [`WriteError::Stale`]: the service reads again
//! and decides again.
//!
//! Each event's leaf covers the columns it is stored with (`append.rs`, `domain/log_leaf.rs`):
//! its event and record times are stored in whole microseconds, which both backends keep
//! exactly.
//!
//! Writers serialise on the log head row (PostgreSQL) or the single writer connection
//! (SQLite): leaf indexes, which are also the custody feed's sequence, are handed out in commit
//! order with no gap. Bulk parts are multi-row statements, one round trip per chunk: a capture
//! of a 100-event document is a handful of statements, not hundreds.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError, Tx};
use reetrace_core::domain::idempotency::StoredResponse;
use uuid::Uuid;

use super::SqlCustody;
use super::append::append;
use super::claims::{hold_claims, lock_claimed_lots};
use super::codec::{CHUNK, bag_text, json_text};
use super::lots::{LOT_COLUMNS, origin_text};
use crate::domain::claim::ClaimRow;
use crate::domain::event::NewEvent;
use crate::domain::lot::{LotChange, LotRow};
use crate::domain::reservation::ReservationCap;
use crate::domain::state::Custody;
use crate::domain::transformation::TransformationRow;

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
    /// The cap the reservations among `claims` are held to.
    pub reservation_cap: Option<ReservationCap>,
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
    /// The log's size after the write (-1 when it appended nothing).
    pub tree_size: i64,
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Something changed since it was read; read again and decide again.
    #[error("a concurrent write changed what this write read")]
    Stale,
    /// An event with this id is stored already.
    #[error("event {0} is stored already")]
    DuplicateEvent(String),
    /// The idempotency key (or the claim id) was used meanwhile.
    #[error("the idempotency key was used meanwhile")]
    DuplicateKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies writes.
#[async_trait]
pub trait WriteStore: Send + Sync {
    /// Applies a write atomically (see the module documentation).
    async fn write(&self, write: Write) -> Result<Written, WriteError>;
}

#[async_trait]
impl WriteStore for SqlCustody {
    async fn write(&self, write: Write) -> Result<Written, WriteError> {
        let now = reetrace_core::domain::account::now();
        let mut tx = self.db.begin().await?;
        set_products(&mut tx, write.products, now).await?;
        set_lots(&mut tx, write.lots, now).await?;
        insert_lots(&mut tx, &write.new_lots, now).await?;
        let claimed = lock_claimed_lots(&mut tx, &write.claims).await?;
        insert_claims(&mut tx, &write.claims).await?;
        let reservations = write.reservation_cap.map(|cap| (&write.claims[..], cap));
        hold_claims(&mut tx, claimed, reservations, now).await?;
        if let Some(t) = &write.transformation {
            insert_transformation(&mut tx, t, now).await?;
        }
        let written = if write.events.is_empty() {
            Written {
                leaves: Vec::new(),
                tree_size: -1,
            }
        } else {
            append(&mut tx, &write.events, now).await?
        };
        if let Some((org_id, key, respond)) = write.idempotent {
            keep(&mut tx, org_id, key, respond(&written), now).await?;
        }
        tx.commit()
            .await
            .map_err(|e| conflict_as(e, WriteError::Stale))?;
        Ok(written)
    }
}

/// A unique violation inside a write means what the statement says; a serialization failure
/// is a lost race.
pub(super) fn conflict_as(err: StoreError, as_what: WriteError) -> WriteError {
    match err {
        StoreError::Conflict { .. } => as_what,
        StoreError::Serialization(_) => WriteError::Stale,
        other => WriteError::Store(other),
    }
}

/// Compares-and-sets every product, in id order (no deadlocks between writers touching the
/// same ones), one statement per chunk: a capture moves hundreds of products at once.
async fn set_products(
    tx: &mut Tx,
    mut products: Vec<(Uuid, Custody, Custody)>,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    products.sort_by_key(|(id, _, _)| *id);
    if products.windows(2).any(|w| w[0].0 == w[1].0) {
        // Two changes of one product in one write cannot both hold.
        return Err(WriteError::Stale);
    }
    let is = tx.dialect().null_safe_eq();
    for chunk in products.chunks(CHUNK) {
        let mut sql = Sql::new(
            "UPDATE custody_products SET state = v.column2, holder = v.column3, \
             pending_to = v.column4, updated_at = ",
        );
        sql.push_bind(now).push(" FROM (");
        sql.push_values(chunk, |row, (id, expect, set)| {
            row.bind(*id)
                .bind(set.state.as_str())
                .bind(set.holder)
                .bind(set.pending_to)
                .bind(expect.state.as_str())
                .bind(expect.holder)
                .bind(expect.pending_to);
        });
        sql.push(&format!(
            ") AS v WHERE custody_products.passport_id = v.column1 AND custody_products.state = v.column5 \
             AND custody_products.holder {is} v.column6 AND custody_products.pending_to {is} v.column7"
        ));
        let done = sql
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict_as(e, WriteError::Stale))?;
        if done != chunk.len() as u64 {
            return Err(WriteError::Stale);
        }
    }
    Ok(())
}

/// Compares-and-sets every lot (custody, what is left, what is claimed), in id order.
async fn set_lots(
    tx: &mut Tx,
    mut lots: Vec<LotChange>,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    lots.sort_by_key(|l| l.lot_id);
    let is = tx.dialect().null_safe_eq();
    let text = format!(
        "UPDATE custody_lots SET state = $2, holder = $3, pending_to = $4, remaining_ug = $5, \
         remaining = $6, claimed = $7, updated_at = $8 \
         WHERE lot_id = $1 AND state = $9 AND holder = $10 AND pending_to {is} $11 \
         AND remaining_ug = $12 AND claimed = $13"
    );
    for change in &lots {
        let holder = change.custody.holder.ok_or(WriteError::Stale)?;
        let done = Sql::new(text.clone())
            .bind(change.lot_id)
            .bind(change.custody.state.as_str())
            .bind(holder)
            .bind(change.custody.pending_to)
            .bind(change.remaining_ug)
            .bind(bag_text(&change.remaining))
            .bind(bag_text(&change.claimed))
            .bind(now)
            .bind(change.expect.state.as_str())
            .bind(change.expect.holder)
            .bind(change.expect.pending_to)
            .bind(change.expect_remaining_ug)
            .bind(bag_text(&change.expect_claimed))
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict_as(e, WriteError::Stale))?;
        if done != 1 {
            return Err(WriteError::Stale);
        }
    }
    Ok(())
}

/// Records the lots a transformation made.
async fn insert_lots(tx: &mut Tx, lots: &[LotRow], now: DateTime<Utc>) -> Result<(), WriteError> {
    for lot in lots {
        let holder = lot.custody.holder.ok_or(WriteError::Stale)?;
        Sql::new(format!(
            "INSERT INTO custody_lots ({LOT_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)"
        ))
        .bind(lot.lot_id)
        .bind(lot.epc.as_str())
        .bind(lot.gtin.as_ref().map(|g| g.as_str()))
        .bind(lot.lot_number.as_ref().map(|l| l.as_str()))
        .bind(lot.kind.as_str())
        .bind(lot.material.as_str())
        .bind(lot.mass_ug)
        .bind(lot.remaining_ug)
        .bind(bag_text(&lot.elements))
        .bind(bag_text(&lot.remaining))
        .bind(bag_text(&lot.claimed))
        .bind(origin_text(&lot.origin))
        .bind(lot.custody.state.as_str())
        .bind(holder)
        .bind(lot.custody.pending_to)
        .bind(lot.transformation_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_as(e, WriteError::Stale))?;
    }
    Ok(())
}

/// Records claims; a claim id used meanwhile is [`WriteError::DuplicateKey`].
async fn insert_claims(tx: &mut Tx, claims: &[ClaimRow]) -> Result<(), WriteError> {
    for claim in claims {
        Sql::new(
            "INSERT INTO custody_claims (claim_id, lot_id, passport_id, org_id, element, mass_ug, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(claim.claim_id)
        .bind(claim.lot_id)
        .bind(claim.passport_id)
        .bind(claim.org_id)
        .bind(claim.element.symbol())
        .bind(claim.mass_ug)
        .bind(claim.status.as_str())
        .bind(claim.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_as(e, WriteError::DuplicateKey))?;
    }
    Ok(())
}

async fn insert_transformation(
    tx: &mut Tx,
    t: &TransformationRow,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    Sql::new(
        "INSERT INTO custody_transformations (id, process, org_id, at, inputs, outputs, losses, event_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(t.id)
    .bind(t.process.as_str())
    .bind(t.org_id)
    .bind(t.at)
    .bind(json_text("transformation inputs", &t.inputs)?)
    .bind(json_text("transformation outputs", &t.outputs)?)
    .bind(json_text("transformation losses", &t.losses)?)
    .bind(t.event_id.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_as(e, WriteError::Stale))?;
    Ok(())
}

/// Keeps the idempotent answer; a key used meanwhile is [`WriteError::DuplicateKey`].
async fn keep(
    tx: &mut Tx,
    org_id: Uuid,
    key: String,
    response: StoredResponse,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    Sql::new(
        "INSERT INTO custody_idempotency (org_id, key, fingerprint, status, content_type, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org_id)
    .bind(key)
    .bind(response.fingerprint.to_vec())
    .bind(i64::from(response.status))
    .bind(response.content_type)
    .bind(response.body)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_as(e, WriteError::DuplicateKey))?;
    Ok(())
}
