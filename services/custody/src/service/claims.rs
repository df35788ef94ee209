//! Recycled-content claims: checked against what was recovered into each lot and what other
//! passports claim from it, and recorded with the lots compared-and-set (see
//! [`crate::domain::claim`]). Claims are idempotent by claim id, so a retry after a timeout
//! answers the first answer.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::retry::Attempt;
use uuid::Uuid;

use super::{CustodyService, settle};
use crate::domain::balance::Bag;
use crate::domain::claim::{
    ClaimAnswer, ClaimRequest, ClaimRow, ClaimStatus, ClaimedFrom, active_claims, claimant,
    stored_claim, wanted,
};
use crate::domain::reservation::{check_cap, reservable};
use crate::domain::{Contention, CustodyError};
use crate::store::{Write, WriteError};

/// Who may release a claim: the passport service, or an admin.
pub const RELEASERS: &[Role] = &[Role::Service, Role::Admin];

impl CustodyService {
    /// Checks and records a recycled-content claim (idempotent by claim id); `true` when it
    /// was recorded now.
    pub async fn claim(
        &self,
        caller: &Principal,
        request: &ClaimRequest,
    ) -> Result<(bool, ClaimAnswer), CustodyError> {
        caller.require(&[Role::Manufacturer, Role::Service, Role::Admin])?;
        // A direct claim may follow its passport's registration closely: pull the feed once.
        // The passport service reserves before it issues, so it does not wait for the feed.
        // A reservation for a passport not seen yet is made once: one that lapsed or was
        // released is not renewed for a passport that never appeared (pull the feed first, so
        // a version issued a moment ago is seen).
        let owner = match self.store.product(request.passport_id).await? {
            Some(p) => Some(p.org_id),
            None if caller.role == Role::Service
                && !self
                    .store
                    .claimed_before(request.passport_id, request.claim_id)
                    .await? =>
            {
                None
            }
            None => match self.product(request.passport_id).await {
                Ok(p) => Some(p.org_id),
                Err(CustodyError::NoProduct(_)) if caller.role == Role::Service => {
                    return Err(CustodyError::ReservationNotRenewable(request.passport_id));
                }
                Err(CustodyError::NoProduct(_)) => None,
                Err(err) => return Err(err),
            },
        };
        let org_id = claimant(caller, request.org_id, request.passport_id, owner)?;
        // The passport service reserves before it issues; a claim for a passport that exists
        // and is the claimant's holds at once.
        let status = if caller.role == Role::Service {
            ClaimStatus::Reserved
        } else {
            ClaimStatus::Confirmed
        };
        let cap = self.config.reservation_cap;
        let wanted = &wanted(&request.sources).map_err(CustodyError::Invalid)?;
        let answer = move |shown: &str| ClaimAnswer {
            claim_id: request.claim_id,
            passport_id: request.passport_id,
            status: shown.to_owned(),
            sources: wanted
                .iter()
                .map(|(lot, bag)| ClaimedFrom {
                    lot: *lot,
                    elements: bag.amounts(),
                })
                .collect(),
        };
        let caught_up = &AtomicBool::new(false);
        settle(Contention::ClaimedLots, move || async move {
            let existing = self.store.claims_by_id(request.claim_id).await?;
            if let Some(first) = existing.first() {
                if stored_claim(&existing) != *wanted || first.passport_id != request.passport_id {
                    return Err(CustodyError::ClaimIdReused);
                }
                let now = reetrace_core::domain::account::now();
                return Ok(Attempt::Done((false, answer(first.shown_status(now)))));
            }
            let now = reetrace_core::domain::account::now();
            let mut rows = Vec::new();
            for (lot_id, bag) in wanted {
                let lot =
                    self.store.lot(*lot_id).await?.ok_or_else(|| {
                        CustodyError::invalid("/sources", format!("no lot {lot_id}"))
                    })?;
                let claims = self.store.claims_of_lot(*lot_id).await?;
                let mut after = claims.clone();
                after.extend(rows_of(request, org_id, *lot_id, bag, status, now));
                let claimed = active_claims(&after, now);
                if let Err(excess) = lot.elements.minus(&claimed) {
                    return Err(CustodyError::OverClaim {
                        lot_id: *lot_id,
                        excess,
                        claimable: lot
                            .elements
                            .minus(&active_claims(&claims, now))
                            .unwrap_or_default()
                            .amounts(),
                    });
                }
                if status == ClaimStatus::Reserved
                    && let Err(over) = check_cap(&after, &lot.elements, org_id, cap, now)
                {
                    // The organisation's earlier reservations may be for passports issued a
                    // moment ago: confirm them from the passport feed once, and decide again.
                    if !caught_up.swap(true, Ordering::Relaxed) {
                        self.catch_up_passports().await;
                        return Ok(Attempt::Again);
                    }
                    return Err(CustodyError::ReservationCap {
                        lot_id: *lot_id,
                        percent: cap.percent(),
                        excess: over,
                        reservable: reservable(&claims, &lot.elements, org_id, cap, now).amounts(),
                    });
                }
                rows.extend(rows_of(request, org_id, *lot_id, bag, status, now));
            }
            // The store holds the totals again under the lots' locks, and keeps `claimed`.
            let write = Write {
                claims: rows,
                reservation_cap: Some(cap),
                ..Write::default()
            };
            Ok(match self.store.write(write).await {
                Ok(_) => Attempt::Done((true, answer(status.as_str()))),
                // A concurrent claim took what this one counted on, or a retry of the same
                // claim got there first: read again (an over-claim, or the claim as stored).
                Err(WriteError::Stale | WriteError::DuplicateKey) => Attempt::Again,
                Err(WriteError::DuplicateEvent(id)) => {
                    Attempt::Failed(CustodyError::internal("a claim appended an event", id))
                }
                Err(WriteError::Store(e)) => Attempt::Failed(e.into()),
            })
        })
        .await
    }

    /// Releases a reserved claim whose passport was not issued (the passport service's, or an
    /// admin's, to do); releasing twice, or a confirmed claim, changes nothing.
    pub async fn release_claim(
        &self,
        caller: &Principal,
        claim_id: Uuid,
    ) -> Result<(), CustodyError> {
        caller.require(RELEASERS)?;
        Ok(self.store.release_claim(claim_id).await?)
    }
}

/// The rows a claim adds to one lot (a reservation until its passport appears, or confirmed).
fn rows_of(
    request: &ClaimRequest,
    org_id: Uuid,
    lot_id: Uuid,
    bag: &Bag,
    status: ClaimStatus,
    now: DateTime<Utc>,
) -> Vec<ClaimRow> {
    bag.iter()
        .map(|(element, mass)| ClaimRow {
            claim_id: request.claim_id,
            lot_id,
            passport_id: request.passport_id,
            org_id,
            element,
            mass_ug: mass,
            status,
            created_at: now,
        })
        .collect()
}
