//! Lots: reading them (with what passports claimed from them), handing them over, and the
//! recycled-content claims passports make on them.
//!
//! A claim is checked and recorded here: what all passports claim from a lot never exceeds
//! what was recovered into it. A claim is `reserved` when the passport service asks, and
//! `confirmed` when custody sees the passport in the passport feed; a reservation whose
//! passport never appears lapses after [`RESERVATION`] and stops counting. Claims are
//! idempotent by claim id, so a retry after a timeout answers the first answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::domain::{Element, Mass};
use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::recycled_content::ClaimError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::balance::{Bag, ElementAmount};
use crate::domain::claim::{ClaimRow, ClaimStatus, active_claims};
use crate::domain::lot::{LotChange, LotRow, Origin, lot_state};
use crate::service::{CustodyService, EventSummary, StepRecorded, StepRequest, grams};
use crate::steps::Target;
use crate::store::{Write, WriteError};

/// A claim on a lot as the lot shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimView {
    pub claim_id: Uuid,
    pub passport_id: Uuid,
    pub org_id: Uuid,
    pub element: Element,
    pub mass_g: Mass,
    /// reserved, confirmed or lapsed.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// A lot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LotView {
    pub lot_id: Uuid,
    /// The lot's EPCIS identifier (GS1 LGTIN class, or our lot URI).
    pub epc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_number: Option<String>,
    pub kind: String,
    pub material: String,
    pub mass_g: Mass,
    pub remaining_g: Mass,
    /// What was recovered into the lot.
    pub elements: Vec<ElementAmount>,
    /// What later transformations have not taken yet.
    pub remaining: Vec<ElementAmount>,
    /// What passports claim as recycled content (reserved and confirmed).
    pub claimed: Vec<ElementAmount>,
    /// What may still be claimed.
    pub claimable: Vec<ElementAmount>,
    pub claims: Vec<ClaimView>,
    /// held, handover_pending, consumed, destroyed or exported.
    pub state: String,
    pub holder: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_to: Option<Uuid>,
    /// Where the REE in the lot came from.
    pub origin: Vec<Origin>,
    pub transformation_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub events: Vec<EventSummary>,
}

/// A recycled-content claim (sent by the passport service, or a manufacturer directly).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "claim_id": "0196a6f2-7a10-7c00-8000-0000000000c1",
    "passport_id": "0196a6f2-7a10-7c00-8000-0000000000a1",
    "sources": [{"lot": "0196a6f2-7a10-7c00-8000-0000000000b1",
                 "elements": [{"element": "Nd", "mass_g": 200}]}]
}))]
pub struct ClaimRequest {
    /// Idempotency: the same id with the same content answers the first answer.
    pub claim_id: Uuid,
    /// The passport making the claim.
    pub passport_id: Uuid,
    /// The manufacturer issuing the passport (services only; a manufacturer claims for itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    pub sources: Vec<ClaimSource>,
}

/// What is claimed from one lot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimSource {
    pub lot: Uuid,
    pub elements: Vec<ElementAmount>,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClaimAnswer {
    pub claim_id: Uuid,
    pub passport_id: Uuid,
    /// reserved (until the passport is seen) or confirmed.
    pub status: String,
    pub sources: Vec<ClaimedFrom>,
}

/// What was claimed from one lot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClaimedFrom {
    pub lot: Uuid,
    pub elements: Vec<ElementAmount>,
}

impl CustodyService {
    /// A lot, or 404.
    pub async fn load_lot(&self, lot_id: Uuid) -> Result<LotRow, Problem> {
        self.store
            .lot(lot_id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("No lot {lot_id}.")))
    }

    /// What anyone with a key sees of a lot.
    pub async fn lot(&self, lot_id: Uuid) -> Result<LotView, Problem> {
        let lot = self.load_lot(lot_id).await?;
        let claims = self.store.claims_of_lot(lot_id).await?;
        let now = reetrace_core::domain::account::now();
        let claimed = active_claims(&claims, now);
        let claimable = lot.elements.minus(&claimed).unwrap_or_default();
        let holder = lot.custody.holder.unwrap_or_default();
        Ok(LotView {
            lot_id,
            epc: lot.epc.clone(),
            gtin: lot.gtin.map(|g| g.as_str().to_owned()),
            lot_number: lot.lot_number.as_ref().map(|l| l.as_str().to_owned()),
            kind: lot.kind.as_str().to_owned(),
            material: lot.material.clone(),
            mass_g: grams(lot.mass_ug),
            remaining_g: grams(lot.remaining_ug),
            elements: lot.elements.amounts(),
            remaining: lot.remaining.amounts(),
            claimed: claimed.amounts(),
            claimable: claimable.amounts(),
            claims: claims
                .iter()
                .map(|c| ClaimView {
                    claim_id: c.claim_id,
                    passport_id: c.passport_id,
                    org_id: c.org_id,
                    element: c.element,
                    mass_g: grams(c.mass_ug),
                    status: c.shown_status(now).to_owned(),
                    created_at: c.created_at,
                })
                .collect(),
            state: lot_state(lot.custody).to_owned(),
            holder,
            pending_to: lot.custody.pending_to,
            origin: lot.origin.clone(),
            transformation_id: lot.transformation_id,
            created_at: lot.created_at,
            events: self.chain(lot_id).await?,
        })
    }

    /// Hands a lot over, accepts it, destroys or exports it.
    pub async fn record_lot_step(
        &self,
        caller: &Principal,
        lot_id: Uuid,
        request: &StepRequest,
        idem: &Idempotency,
    ) -> Result<Answer<StepRecorded>, Problem> {
        self.record(caller, Target::Lot(lot_id), request, idem)
            .await
    }

    /// Checks and records a recycled-content claim (idempotent by claim id).
    pub async fn claim(
        &self,
        caller: &Principal,
        request: &ClaimRequest,
    ) -> Result<(bool, ClaimAnswer), Problem> {
        caller.require(&[Role::Manufacturer, Role::Service, Role::Admin])?;
        let org_id = match (caller.role, request.org_id) {
            (Role::Manufacturer, None) => caller.org_id,
            (Role::Manufacturer, Some(o)) if o == caller.org_id => o,
            (Role::Manufacturer, Some(_)) => {
                return Err(Problem::forbidden(
                    "A manufacturer claims recycled content for its own passports only.",
                ));
            }
            (_, Some(o)) => o,
            (_, None) => {
                return Err(Problem::validation(vec![FieldError::new(
                    "/org_id",
                    "a service names the manufacturer",
                )]));
            }
        };
        let mut wanted: BTreeMap<Uuid, Bag> = BTreeMap::new();
        let mut errors = Vec::new();
        if request.sources.is_empty() || request.sources.len() > 100 {
            errors.push(FieldError::new("/sources", "list 1 to 100 sources"));
        }
        for (i, source) in request.sources.iter().enumerate() {
            if source.elements.is_empty() {
                errors.push(FieldError::new(
                    format!("/sources/{i}/elements"),
                    "claim at least one element",
                ));
            }
            let bag = wanted.entry(source.lot).or_default();
            for e in &source.elements {
                if e.mass_g == Mass::ZERO {
                    errors.push(FieldError::new(
                        format!("/sources/{i}/elements"),
                        "claimed masses are more than 0",
                    ));
                }
                bag.add(e.element, e.mass_g.micrograms());
            }
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        let answer = |status: &str| ClaimAnswer {
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
        for _ in 0..8 {
            let existing = self.store.claims_by_id(request.claim_id).await?;
            if !existing.is_empty() {
                let mut stored: BTreeMap<Uuid, Bag> = BTreeMap::new();
                for c in &existing {
                    stored
                        .entry(c.lot_id)
                        .or_default()
                        .add(c.element, c.mass_ug);
                }
                let same = stored == wanted && existing[0].passport_id == request.passport_id;
                if !same {
                    return Err(Problem::conflict(
                        crate::api::error::CLAIM_ID_REUSED,
                        "This claim id was used for a different claim; use a new id.",
                    ));
                }
                let now = reetrace_core::domain::account::now();
                return Ok((false, answer(existing[0].shown_status(now))));
            }
            let now = reetrace_core::domain::account::now();
            let mut changes = Vec::new();
            let mut rows = Vec::new();
            for (lot_id, bag) in &wanted {
                let lot = self.store.lot(*lot_id).await?.ok_or_else(|| {
                    Problem::validation(vec![FieldError::new(
                        "/sources",
                        format!("no lot {lot_id}"),
                    )])
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
                    let detail: Vec<String> = excess.iter().map(|e| e.to_string()).collect();
                    return Err(Problem::conflict(crate::api::error::OVER_CLAIM,
                        format!(
                            "Lot {lot_id} cannot give that much recycled content (what passports claim may not exceed what was recovered into it): {}.",
                            detail.join("; ")
                        ),
                    )
                    .with("lot", lot_id)
                    .with("claimable", lot.elements.minus(&active_claims(&claims, now)).unwrap_or_default().amounts()));
                }
                changes.push(LotChange {
                    lot_id: *lot_id,
                    expect: lot.custody,
                    expect_remaining_ug: lot.remaining_ug,
                    expect_claimed: lot.claimed.clone(),
                    custody: lot.custody,
                    remaining_ug: lot.remaining_ug,
                    remaining: lot.remaining.clone(),
                    claimed,
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
            match self.store.write(write).await {
                Ok(_) => return Ok((true, answer("reserved"))),
                Err(WriteError::Stale | WriteError::DuplicateKey) => continue,
                Err(WriteError::DuplicateEvent(_)) => return Err(Problem::internal()),
                Err(WriteError::Store(e)) => return Err(e.into()),
            }
        }
        Err(
            Problem::service_unavailable("The lots kept changing under concurrent claims; retry.")
                .with("retry_after", 1),
        )
    }
}

/// The custody service answering claims in process.
pub struct InProcessClaims(pub CustodyService);

#[async_trait::async_trait]
impl reetrace_core::service::recycled_content::RecycledClaims for InProcessClaims {
    async fn claim(
        &self,
        claim: &reetrace_core::domain::recycled_content::RecycledClaim,
    ) -> Result<(), ClaimError> {
        let caller = Principal {
            org_id: claim.org_id,
            org_name: String::new(),
            role: Role::Service,
            key_id: Uuid::nil(),
        };
        let request = ClaimRequest {
            claim_id: claim.claim_id,
            passport_id: claim.passport_id,
            org_id: Some(claim.org_id),
            sources: claim
                .sources
                .iter()
                .map(|(lot, elements)| ClaimSource {
                    lot: *lot,
                    elements: elements
                        .iter()
                        .map(|(element, mass_g)| ElementAmount {
                            element: *element,
                            mass_g: *mass_g,
                        })
                        .collect(),
                })
                .collect(),
        };
        self.0
            .claim(&caller, &request)
            .await
            .map(|_| ())
            .map_err(|problem| ClaimError::Refused(reetrace_core::api::errors::refusal_of(problem)))
    }

    async fn release(&self, claim_id: Uuid) -> Result<(), ClaimError> {
        self.0
            .store
            .release_claim(claim_id)
            .await
            .map_err(|e| ClaimError::Refused(reetrace_core::api::errors::refusal_of(e.into())))
    }
}
