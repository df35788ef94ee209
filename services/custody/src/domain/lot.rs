//! Lots: magnets, oxide, metal or alloy recovered by a transformation, where their REE came
//! from, and what the API calls their state.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reetrace_core::domain::{Gtin, LotNumber, Mass, Principal, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::balance::{Bag, ElementAmount, grams};
use super::claim::{ClaimRow, ClaimView, active_claims};
use super::event::EventSummary;
use super::state::{Action, Custody, Process, State};

/// What kind of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// A mass lot of parts (e.g. magnets).
    Lot,
    /// An oxide (e.g. NdPr oxide).
    Oxide,
    /// A metal.
    Metal,
    /// An alloy.
    Alloy,
}

impl OutputKind {
    pub const ALL: [OutputKind; 4] = [
        OutputKind::Lot,
        OutputKind::Oxide,
        OutputKind::Metal,
        OutputKind::Alloy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Lot => "lot",
            OutputKind::Oxide => "oxide",
            OutputKind::Metal => "metal",
            OutputKind::Alloy => "alloy",
        }
    }

    pub fn parse(text: &str) -> Option<OutputKind> {
        OutputKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where products of a lot came from: category and market country, in ppm of REE mass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Origin {
    pub category: String,
    pub country: String,
    pub share_ppm: u64,
}

/// A lot as custody keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct LotRow {
    pub lot_id: Uuid,
    /// The lot's EPCIS identifier (GS1 LGTIN class, or our lot URI).
    pub epc: String,
    pub gtin: Option<Gtin>,
    pub lot_number: Option<LotNumber>,
    pub kind: OutputKind,
    pub material: String,
    pub mass_ug: i64,
    pub remaining_ug: i64,
    /// Recovered into the lot.
    pub elements: Bag,
    /// Not yet taken by a later transformation.
    pub remaining: Bag,
    /// Claimed as recycled content by passports.
    pub claimed: Bag,
    /// The products the lot came from.
    pub origin: Vec<Origin>,
    pub custody: Custody,
    pub transformation_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change of a lot, applied only if the lot is still as `expect` says.
#[derive(Debug, Clone)]
pub struct LotChange {
    pub lot_id: Uuid,
    pub expect: Custody,
    pub expect_remaining_ug: i64,
    pub expect_claimed: Bag,
    pub custody: Custody,
    pub remaining_ug: i64,
    pub remaining: Bag,
    pub claimed: Bag,
}

impl LotChange {
    /// A change from `lot` as it is stored: nothing changes until the caller says what.
    pub fn of(lot: &LotRow) -> LotChange {
        LotChange {
            lot_id: lot.lot_id,
            expect: lot.custody,
            expect_remaining_ug: lot.remaining_ug,
            expect_claimed: lot.claimed.clone(),
            custody: lot.custody,
            remaining_ug: lot.remaining_ug,
            remaining: lot.remaining.clone(),
            claimed: lot.claimed.clone(),
        }
    }
}

/// Blends origins weighted by REE mass; shares sum to 1,000,000 (remainder to the largest).
pub fn blend(parts: &[(Vec<Origin>, i64)]) -> Vec<Origin> {
    let mut weight: BTreeMap<(String, String), i128> = BTreeMap::new();
    let mut total: i128 = 0;
    for (origins, mass) in parts {
        let mass = i128::from((*mass).max(0));
        for o in origins {
            let w = mass * i128::from(o.share_ppm);
            *weight
                .entry((o.category.clone(), o.country.clone()))
                .or_insert(0) += w;
            total += w;
        }
    }
    if total == 0 {
        // No REE at all: weigh the parts equally.
        let n = parts.iter().map(|(o, _)| o.len()).sum::<usize>().max(1) as i128;
        for (origins, _) in parts {
            for o in origins {
                *weight
                    .entry((o.category.clone(), o.country.clone()))
                    .or_insert(0) += 1;
            }
        }
        total = n;
    }
    let mut out: Vec<Origin> = weight
        .into_iter()
        .map(|((category, country), w)| Origin {
            category,
            country,
            share_ppm: u64::try_from(w * 1_000_000 / total).unwrap_or(0),
        })
        .collect();
    let sum: u64 = out.iter().map(|o| o.share_ppm).sum();
    if let Some(largest) = out.iter_mut().max_by_key(|o| o.share_ppm) {
        largest.share_ppm += 1_000_000u64.saturating_sub(sum);
    }
    out
}

/// A lot's state as the API names it.
pub fn lot_state(custody: Custody) -> &'static str {
    match custody.state {
        State::Recycled => "consumed",
        State::Destroyed => "destroyed",
        State::Exported => "exported",
        _ if custody.pending_to.is_some() => "handover_pending",
        _ => "held",
    }
}

/// Which of a lot's claims a caller is shown: `all` (the lot's holders, now and before,
/// regulators and admins) or `own` (anyone else: its own claims only; `claimed` and
/// `claimable` still total every claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimsShown {
    /// Every claim: the caller holds or held the lot, or is a regulator or an admin.
    All,
    /// The caller's own claims only; other organisations' claims are withheld (the totals
    /// `claimed` and `claimable` still count them).
    Own,
}

/// The organisations that hold or held a lot: its holder now, and every organisation that
/// recorded a custody step or a transformation in its chain (its maker, each one that handed
/// it over or accepted it). Events that are no step (EPCIS events stored as they are, error
/// declarations) make no one a holder.
pub fn holders(custody: Custody, events: &[EventSummary]) -> Vec<Uuid> {
    let is_step = |action: &str| {
        Action::parse(action).is_some()
            || [Process::Dismantling, Process::Recycling]
                .iter()
                .any(|p| p.as_str() == action)
    };
    let mut holders: Vec<Uuid> = custody
        .holder
        .into_iter()
        .chain(
            events
                .iter()
                .filter(|e| is_step(&e.action))
                .map(|e| e.org_id),
        )
        .collect();
    holders.sort_unstable();
    holders.dedup();
    holders
}

/// Which claims `caller` sees of a lot held by `holders`: all of them for its holders (now and
/// before), regulators and admins; each other caller its own.
pub fn claims_shown(caller: &Principal, holders: &[Uuid]) -> ClaimsShown {
    if matches!(caller.role, Role::Regulator | Role::Admin) || holders.contains(&caller.org_id) {
        ClaimsShown::All
    } else {
        ClaimsShown::Own
    }
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
    /// The claims the caller may see (`claims_shown`): every claim for the lot's holders (now
    /// and before), regulators and admins; otherwise the caller's own claims only.
    pub claims: Vec<ClaimView>,
    /// Whether `claims` lists every claim or only the caller's own.
    pub claims_shown: ClaimsShown,
    /// held, handover_pending, consumed, destroyed or exported.
    pub state: String,
    /// The holder; shown, with `pending_to` and `events`, to those who see every claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_to: Option<Uuid>,
    /// Where the REE in the lot came from.
    pub origin: Vec<Origin>,
    pub transformation_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub events: Vec<EventSummary>,
    /// The names of the organisations this answer names by id (holder, pending recipient,
    /// recorders of the events shown, claimants of the claims shown), by id: only those the
    /// caller is shown.
    #[serde(default)]
    pub names: BTreeMap<Uuid, String>,
}

impl LotView {
    /// What `caller` sees of `lot`, with its claims and its chain, at `now`: the totals of
    /// every claim, and the claims themselves as [`claims_shown`] says; its holder and chain
    /// only when it sees every claim.
    pub fn of(
        caller: &Principal,
        lot: LotRow,
        claims: &[ClaimRow],
        events: Vec<EventSummary>,
        now: DateTime<Utc>,
    ) -> LotView {
        let shown = claims_shown(caller, &holders(lot.custody, &events));
        // Those involved in the lot (its holders, now and before) and authorities see who holds
        // it and its chain; a claimant sees what it needs to claim.
        let all = shown == ClaimsShown::All;
        let claimed = active_claims(claims, now);
        let claimable = lot.elements.minus(&claimed).unwrap_or_default();
        LotView {
            lot_id: lot.lot_id,
            epc: lot.epc,
            gtin: lot.gtin.map(|g| g.as_str().to_owned()),
            lot_number: lot.lot_number.map(|l| l.as_str().to_owned()),
            kind: lot.kind.as_str().to_owned(),
            material: lot.material,
            mass_g: grams(lot.mass_ug),
            remaining_g: grams(lot.remaining_ug),
            elements: lot.elements.amounts(),
            remaining: lot.remaining.amounts(),
            claimed: claimed.amounts(),
            claimable: claimable.amounts(),
            claims: claims
                .iter()
                .filter(|c| shown == ClaimsShown::All || c.org_id == caller.org_id)
                .map(|c| ClaimView::of(c, now))
                .collect(),
            claims_shown: shown,
            state: lot_state(lot.custody).to_owned(),
            holder: lot.custody.holder.filter(|_| all),
            pending_to: lot.custody.pending_to.filter(|_| all),
            origin: lot.origin,
            transformation_id: lot.transformation_id,
            created_at: lot.created_at,
            events: if all { events } else { Vec::new() },
            names: BTreeMap::new(),
        }
    }

    /// The organisations this view names by id, for [`LotView::names`].
    pub fn named_orgs(&self) -> Vec<Uuid> {
        self.holder
            .into_iter()
            .chain(self.pending_to)
            .chain(self.events.iter().map(|e| e.org_id))
            .chain(self.claims.iter().map(|c| c.org_id))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(action: &str, org_id: Uuid) -> EventSummary {
        EventSummary {
            event_id: String::new(),
            action: action.to_owned(),
            at: Utc::now(),
            org_id,
            leaf_index: 0,
            chain_seq: 1,
            chain_link: String::new(),
        }
    }

    fn caller(role: Role, org_id: Uuid) -> Principal {
        Principal {
            org_id,
            org_name: String::new(),
            role,
            key_id: Uuid::nil(),
        }
    }

    #[test]
    fn holders_now_and_before_see_every_claim_others_their_own() {
        let (maker, next, pending, observer) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let custody = Custody {
            state: State::Sorted,
            holder: Some(next),
            pending_to: Some(pending),
        };
        let chain = [
            event("dismantling", maker),
            event("handover", maker),
            event("accept", next),
            event("ObjectEvent", observer),
            event("error_declaration", observer),
        ];
        let held = holders(custody, &chain);
        assert_eq!(held.len(), 2);
        assert!(held.contains(&maker) && held.contains(&next));
        for (role, org) in [
            (Role::Recycler, maker),
            (Role::Recycler, next),
            (Role::Regulator, Uuid::now_v7()),
            (Role::Admin, Uuid::now_v7()),
        ] {
            assert_eq!(claims_shown(&caller(role, org), &held), ClaimsShown::All);
        }
        for (role, org) in [
            (Role::Recycler, pending),
            (Role::Recycler, observer),
            (Role::Manufacturer, Uuid::now_v7()),
            (Role::Service, Uuid::now_v7()),
        ] {
            assert_eq!(claims_shown(&caller(role, org), &held), ClaimsShown::Own);
        }
    }
}
