//! Recycled-content claims: checked against what was recovered into each lot and what other
//! passports claim from it, and recorded with the lots compared-and-set (see
//! [`crate::domain::claim`]). Claims are idempotent by claim id, so a retry after a timeout
//! answers the first answer.

use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::retry::Attempt;
use uuid::Uuid;

use super::{CustodyService, settle};
use crate::domain::claim::{
    ClaimAnswer, ClaimRequest, ClaimRow, ClaimStatus, ClaimedFrom, active_claims, claimant,
    stored_claim, wanted,
};
use crate::domain::lot::LotChange;
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
        let org_id = claimant(caller, request.org_id)?;
        let wanted = &wanted(&request.sources).map_err(CustodyError::Invalid)?;
        let answer = move |status: &str| ClaimAnswer {
            claim_id: request.claim_id,
            passport_id: request.passport_id,
            status: status.to_owned(),
            sources: wanted
                .iter()
                .map(|(lot, bag)| ClaimedFrom {
                    lot: *lot,
                    elements: bag.amounts(),
                })
                .collect(),
        };
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
            let mut changes = Vec::new();
            let mut rows = Vec::new();
            for (lot_id, bag) in wanted {
                let lot =
                    self.store.lot(*lot_id).await?.ok_or_else(|| {
                        CustodyError::invalid("/sources", format!("no lot {lot_id}"))
                    })?;
                let all = self.store.claims_of_lot(*lot_id).await?;
                // A new version of a passport replaces its earlier claims.
                let claims: Vec<ClaimRow> = all
                    .into_iter()
                    .filter(|c| c.passport_id != request.passport_id)
                    .collect();
                let mut claimed = active_claims(&claims, now);
                claimed.extend(bag);
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
                changes.push(LotChange {
                    claimed,
                    ..LotChange::of(&lot)
                });
                for (element, mass) in bag.iter() {
                    rows.push(ClaimRow {
                        claim_id: request.claim_id,
                        lot_id: *lot_id,
                        passport_id: request.passport_id,
                        org_id,
                        element,
                        mass_ug: mass,
                        status: ClaimStatus::Reserved,
                        created_at: now,
                    });
                }
            }
            let write = Write {
                lots: changes,
                claims: rows,
                ..Write::default()
            };
            Ok(match self.store.write(write).await {
                Ok(_) => Attempt::Done((true, answer("reserved"))),
                // A lot changed, or a retry of the same claim got there first: read again (the
                // claim is then answered as stored).
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
