//! Recycled-content claims on lots (recorded by [`WriteStore::write`](super::WriteStore::write),
//! which holds each lot's totals with the helpers here under the lot's lock; confirmed by the
//! passport feed).

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError, Tx};
use reetrace_core::domain::TrackedElement;
use uuid::Uuid;

use super::SqlCustody;
use super::codec::{bag, bag_text, parsed, word};
use super::write::WriteError;
use crate::domain::balance::Bag;
use crate::domain::claim::{ClaimRow, ClaimStatus, active_claims};
use crate::domain::reservation::{ReservationCap, check_cap};

const CLAIM_COLUMNS: &str =
    "claim_id, lot_id, passport_id, org_id, element, mass_ug, status, created_at";

/// Reads claims, and releases them.
#[async_trait]
pub trait ClaimStore: Send + Sync {
    /// The claims on a lot, oldest first.
    async fn claims_of_lot(&self, lot_id: Uuid) -> Result<Vec<ClaimRow>, StoreError>;
    /// The rows of one claim (one per lot and element).
    async fn claims_by_id(&self, claim_id: Uuid) -> Result<Vec<ClaimRow>, StoreError>;
    /// Whether a claim other than `except` was ever made for a passport.
    async fn claimed_before(&self, passport_id: Uuid, except: Uuid) -> Result<bool, StoreError>;
    /// Releases a reserved claim (its passport was not issued).
    async fn release_claim(&self, claim_id: Uuid) -> Result<(), StoreError>;
}

struct ClaimDb {
    claim_id: Uuid,
    lot_id: Uuid,
    passport_id: Uuid,
    org_id: Uuid,
    element: String,
    mass_ug: i64,
    status: String,
    created_at: DateTime<Utc>,
}

reetrace_core::record!(ClaimDb {
    claim_id,
    lot_id,
    passport_id,
    org_id,
    element,
    mass_ug,
    status,
    created_at,
});

impl TryFrom<ClaimDb> for ClaimRow {
    type Error = StoreError;

    fn try_from(r: ClaimDb) -> Result<Self, StoreError> {
        Ok(ClaimRow {
            claim_id: r.claim_id,
            lot_id: r.lot_id,
            passport_id: r.passport_id,
            org_id: r.org_id,
            element: parsed("element", &r.element, str::parse::<TrackedElement>)?,
            mass_ug: r.mass_ug,
            status: word("status", &r.status, ClaimStatus::parse)?,
            created_at: r.created_at,
        })
    }
}

/// Locks the lots a write claims from, in id order, before its claims are inserted (their
/// foreign key would otherwise share-lock the lot first, and two claimants would deadlock):
/// the row lock (PostgreSQL) or the one writer (SQLite) serialises claimants per lot. Returns
/// what each lot recovered.
pub(super) async fn lock_claimed_lots(
    tx: &mut Tx,
    claims: &[ClaimRow],
) -> Result<Vec<(Uuid, Bag)>, WriteError> {
    let lots: BTreeSet<Uuid> = claims.iter().map(|c| c.lot_id).collect();
    let lock = tx.dialect().for_update();
    let mut locked = Vec::with_capacity(lots.len());
    for lot_id in lots {
        let recovered: Option<String> = Sql::new(format!(
            "SELECT elements FROM custody_lots WHERE lot_id = $1{lock}"
        ))
        .bind(lot_id)
        .scalar_optional(&mut *tx)
        .await?;
        let recovered = recovered.ok_or(WriteError::Stale)?;
        locked.push((lot_id, bag(&recovered)?));
    }
    Ok(locked)
}

/// Holds, per element, the claims on each locked lot within what it recovered, reading them
/// under the lock with the write's own, and keeps the lot's `claimed` total. Whatever each
/// claimant read before, the sum holds: a claim that would exceed it is
/// [`WriteError::Stale`], and the service reads again and answers `over_claim`.
pub(super) async fn hold_claims(
    tx: &mut Tx,
    locked: Vec<(Uuid, Bag)>,
    reservations: Option<(&[ClaimRow], ReservationCap)>,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    for (lot_id, recovered) in locked {
        let on_lot = claims_on(tx, lot_id).await?;
        let held = active_claims(&on_lot, now);
        if recovered.minus(&held).is_err() {
            return Err(WriteError::Stale);
        }
        // The reserving organisations' open reservations stay within the cap, however many
        // of their claims raced (the service reads again and answers `reservation_cap`).
        if let Some((claims, cap)) = reservations {
            let reserving: BTreeSet<Uuid> = claims
                .iter()
                .filter(|c| c.lot_id == lot_id && c.status == ClaimStatus::Reserved)
                .map(|c| c.org_id)
                .collect();
            for org in reserving {
                if check_cap(&on_lot, &recovered, org, cap, now).is_err() {
                    return Err(WriteError::Stale);
                }
            }
        }
        Sql::new("UPDATE custody_lots SET claimed = $2, updated_at = $3 WHERE lot_id = $1")
            .bind(lot_id)
            .bind(bag_text(&held))
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The claims on a lot, read in a write's transaction.
async fn claims_on(tx: &mut Tx, lot_id: Uuid) -> Result<Vec<ClaimRow>, StoreError> {
    let rows: Vec<ClaimDb> = Sql::new(format!(
        "SELECT {CLAIM_COLUMNS} FROM custody_claims WHERE lot_id = $1"
    ))
    .bind(lot_id)
    .fetch_all(&mut *tx)
    .await?;
    claims(rows)
}

fn claims(rows: Vec<ClaimDb>) -> Result<Vec<ClaimRow>, StoreError> {
    rows.into_iter().map(ClaimRow::try_from).collect()
}

#[async_trait]
impl ClaimStore for SqlCustody {
    async fn claims_of_lot(&self, lot_id: Uuid) -> Result<Vec<ClaimRow>, StoreError> {
        let rows = Sql::new(format!(
            "SELECT {CLAIM_COLUMNS} FROM custody_claims \
             WHERE lot_id = $1 ORDER BY created_at, claim_id, element"
        ))
        .bind(lot_id)
        .fetch_all(self.db.reader())
        .await?;
        claims(rows)
    }

    async fn claims_by_id(&self, claim_id: Uuid) -> Result<Vec<ClaimRow>, StoreError> {
        let rows = Sql::new(format!(
            "SELECT {CLAIM_COLUMNS} FROM custody_claims \
             WHERE claim_id = $1 ORDER BY lot_id, element"
        ))
        .bind(claim_id)
        .fetch_all(self.db.reader())
        .await?;
        claims(rows)
    }

    async fn claimed_before(&self, passport_id: Uuid, except: Uuid) -> Result<bool, StoreError> {
        let other: Option<Uuid> = Sql::new(
            "SELECT claim_id FROM custody_claims WHERE passport_id = $1 AND claim_id <> $2 LIMIT 1",
        )
        .bind(passport_id)
        .bind(except)
        .scalar_optional(self.db.reader())
        .await?;
        Ok(other.is_some())
    }

    async fn release_claim(&self, claim_id: Uuid) -> Result<(), StoreError> {
        Sql::new(
            "UPDATE custody_claims SET status = 'released' WHERE claim_id = $1 AND status = 'reserved'",
        )
        .bind(claim_id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }
}
