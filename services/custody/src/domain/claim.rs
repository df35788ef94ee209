//! Recycled-content claims on lots: what all passports claim from a lot never exceeds what was
//! recovered into it. A claim is `reserved` when the passport service asks, and `confirmed` when
//! custody sees the passport in the passport feed; a reservation whose passport never appears
//! lapses after [`RESERVATION`] and stops counting. A later version of a passport supersedes the
//! claims of the earlier ones; a claim whose passport was not issued is released.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use reetrace_core::domain::{FieldError, Mass, Principal, Role, TrackedElement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::balance::{Bag, ElementAmount, grams};
use super::error::CustodyError;

/// How long a reserved claim counts without its passport appearing.
pub const RESERVATION: Duration = Duration::minutes(15);

/// Where a claim is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimStatus {
    /// Asked for; its passport has not been seen yet.
    Reserved,
    /// Its passport (version) was seen in the passport feed.
    Confirmed,
    /// A later version of its passport claimed again.
    Superseded,
    /// Its passport was not issued.
    Released,
}

impl ClaimStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Reserved => "reserved",
            ClaimStatus::Confirmed => "confirmed",
            ClaimStatus::Superseded => "superseded",
            ClaimStatus::Released => "released",
        }
    }

    pub fn parse(text: &str) -> Option<ClaimStatus> {
        [
            ClaimStatus::Reserved,
            ClaimStatus::Confirmed,
            ClaimStatus::Superseded,
            ClaimStatus::Released,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One element of one recycled-content claim on a lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    pub claim_id: Uuid,
    pub lot_id: Uuid,
    pub passport_id: Uuid,
    pub org_id: Uuid,
    pub element: TrackedElement,
    pub mass_ug: i64,
    pub status: ClaimStatus,
    pub created_at: DateTime<Utc>,
}

impl ClaimRow {
    /// Whether the claim still counts against its lot at `now`.
    pub fn counts(&self, now: DateTime<Utc>) -> bool {
        self.status == ClaimStatus::Confirmed
            || (self.status == ClaimStatus::Reserved && now - self.created_at < RESERVATION)
    }

    /// Its status as lots show it: confirmed, reserved (and still counting) or lapsed.
    pub fn shown_status(&self, now: DateTime<Utc>) -> &'static str {
        match self.status {
            ClaimStatus::Confirmed => "confirmed",
            _ if self.counts(now) => "reserved",
            _ => "lapsed",
        }
    }
}

/// What the claims on a lot hold at `now`, per element: for each passport the larger of what
/// its confirmed claims hold and what its open reservations hold (when its passport appears
/// the reservations replace the confirmed claims of its earlier version; when they lapse the
/// confirmed ones stay), summed over passports. So a passport's reservations count against
/// each other, and whatever its feed does next, what ends up confirmed fits.
pub fn active_claims(claims: &[ClaimRow], now: DateTime<Utc>) -> Bag {
    let mut by_passport: BTreeMap<Uuid, (Bag, Bag)> = BTreeMap::new();
    for c in claims.iter().filter(|c| c.counts(now)) {
        let (confirmed, reserved) = by_passport.entry(c.passport_id).or_default();
        match c.status {
            ClaimStatus::Confirmed => confirmed.add(c.element, c.mass_ug),
            _ => reserved.add(c.element, c.mass_ug),
        }
    }
    let mut bag = Bag::new();
    for (confirmed, reserved) in by_passport.values() {
        for element in TrackedElement::all() {
            bag.add(element, confirmed.get(element).max(reserved.get(element)));
        }
    }
    bag
}

/// A claim on a lot as the lot shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimView {
    pub claim_id: Uuid,
    pub passport_id: Uuid,
    pub org_id: Uuid,
    /// A rare earth, or B, Co, Ni.
    pub element: TrackedElement,
    pub mass_g: Mass,
    /// reserved, confirmed or lapsed.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl ClaimView {
    pub fn of(claim: &ClaimRow, now: DateTime<Utc>) -> ClaimView {
        ClaimView {
            claim_id: claim.claim_id,
            passport_id: claim.passport_id,
            org_id: claim.org_id,
            element: claim.element,
            mass_g: grams(claim.mass_ug),
            status: claim.shown_status(now).to_owned(),
            created_at: claim.created_at,
        }
    }
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

/// The manufacturer a claim is made for, if it may be made: a manufacturer claims for itself; a
/// service (or an admin) names the manufacturer. `owner` is the passport's owner as custody
/// knows it from the passport feed: a claim for another organisation's passport is refused,
/// and only the passport service reserves for a passport not seen yet (it claims before it
/// issues; the reservation is bound to the manufacturer it names).
pub fn claimant(
    caller: &Principal,
    named: Option<Uuid>,
    passport_id: Uuid,
    owner: Option<Uuid>,
) -> Result<Uuid, CustodyError> {
    let org_id = match (caller.role, named) {
        (Role::Manufacturer, None) => caller.org_id,
        (Role::Manufacturer, Some(o)) if o == caller.org_id => o,
        (Role::Manufacturer, Some(_)) => return Err(CustodyError::NotOwnPassport(passport_id)),
        (_, Some(o)) => o,
        (_, None) => {
            return Err(CustodyError::invalid(
                "/org_id",
                "a service names the manufacturer",
            ));
        }
    };
    match owner {
        Some(owner) if owner != org_id => Err(CustodyError::NotOwnPassport(passport_id)),
        Some(_) => Ok(org_id),
        None if caller.role == Role::Service => Ok(org_id),
        None => Err(CustodyError::UnknownPassport(passport_id)),
    }
}

/// What a claim asks of each lot, summed per element; or what is wrong with its sources.
pub fn wanted(sources: &[ClaimSource]) -> Result<BTreeMap<Uuid, Bag>, Vec<FieldError>> {
    let mut wanted: BTreeMap<Uuid, Bag> = BTreeMap::new();
    let mut errors = Vec::new();
    if sources.is_empty() || sources.len() > 100 {
        errors.push(FieldError::new("/sources", "list 1 to 100 sources"));
    }
    for (i, source) in sources.iter().enumerate() {
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
    if errors.is_empty() {
        Ok(wanted)
    } else {
        Err(errors)
    }
}

/// What the stored rows of one claim ask of each lot.
pub fn stored_claim(rows: &[ClaimRow]) -> BTreeMap<Uuid, Bag> {
    let mut stored: BTreeMap<Uuid, Bag> = BTreeMap::new();
    for c in rows {
        stored
            .entry(c.lot_id)
            .or_default()
            .add(c.element, c.mass_ug);
    }
    stored
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reetrace_core::domain::Element;

    fn claim(status: ClaimStatus, age: Duration) -> ClaimRow {
        ClaimRow {
            claim_id: Uuid::nil(),
            lot_id: Uuid::nil(),
            passport_id: Uuid::nil(),
            org_id: Uuid::nil(),
            element: TrackedElement::Ree(Element::Nd),
            mass_ug: 5,
            status,
            created_at: Utc::now() - age,
        }
    }

    #[test]
    fn reservations_lapse_and_confirmations_stay() {
        let now = Utc::now();
        let fresh = claim(ClaimStatus::Reserved, Duration::minutes(1));
        let old = claim(ClaimStatus::Reserved, Duration::minutes(20));
        // Another passport's (a passport's own confirmed claims and reservations do not add).
        let confirmed = ClaimRow {
            passport_id: Uuid::from_u128(9),
            ..claim(ClaimStatus::Confirmed, Duration::days(9))
        };
        let released = claim(ClaimStatus::Released, Duration::minutes(1));
        assert_eq!(fresh.shown_status(now), "reserved");
        assert_eq!(old.shown_status(now), "lapsed");
        assert_eq!(confirmed.shown_status(now), "confirmed");
        assert_eq!(released.shown_status(now), "lapsed");
        let bag = active_claims(&[fresh, old, confirmed, released], now);
        assert_eq!(bag.get(Element::Nd), 10);
        for s in ["reserved", "confirmed", "superseded", "released"] {
            assert_eq!(ClaimStatus::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn a_passports_reservations_add_up_and_its_confirmed_claims_count_beside_them() {
        let now = Utc::now();
        let of = |passport: u128, status, mass_ug| ClaimRow {
            passport_id: Uuid::from_u128(passport),
            mass_ug,
            ..claim(status, Duration::minutes(1))
        };
        // Passport 1: 300 confirmed, then two reservations of 200 (its next version): 400.
        // Passport 2: 50 confirmed.
        let claims = [
            of(1, ClaimStatus::Confirmed, 300),
            of(1, ClaimStatus::Reserved, 200),
            of(1, ClaimStatus::Reserved, 200),
            of(2, ClaimStatus::Confirmed, 50),
        ];
        assert_eq!(active_claims(&claims, now).get(Element::Nd), 450);
        assert_eq!(active_claims(&claims[..2], now).get(Element::Nd), 300);
    }

    #[test]
    fn only_the_owner_claims_and_only_the_passport_service_reserves_ahead() {
        let (maker, other, passport) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::nil());
        let as_role = |role| Principal {
            org_id: maker,
            org_name: String::new(),
            role,
            key_id: Uuid::nil(),
        };
        let manufacturer = as_role(Role::Manufacturer);
        let service = as_role(Role::Service);
        assert_eq!(
            claimant(&manufacturer, None, passport, Some(maker)).unwrap(),
            maker
        );
        assert!(matches!(
            claimant(&manufacturer, None, passport, Some(other)),
            Err(CustodyError::NotOwnPassport(_))
        ));
        assert!(matches!(
            claimant(&manufacturer, None, passport, None),
            Err(CustodyError::UnknownPassport(_))
        ));
        assert_eq!(
            claimant(&service, Some(other), passport, None).unwrap(),
            other
        );
        assert!(matches!(
            claimant(&service, Some(other), passport, Some(maker)),
            Err(CustodyError::NotOwnPassport(_))
        ));
    }
}
