//! The cap on open reservations: what one organisation may hold on a lot in reservations whose
//! passports have not appeared yet is at most a share (half by default) of what the lot still
//! offers it, so that no one locks the others out of a lot with reservations it never turns
//! into passports. Claims confirmed by their passports, and a new version's reservations up to
//! what its earlier version holds confirmed, are not open: the cap does not count them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reetrace_core::domain::TrackedElement;
use uuid::Uuid;

use super::balance::{Bag, Excess};
use super::claim::{ClaimRow, ClaimStatus, active_claims};

/// The share of a lot's unclaimed content one organisation's open reservations may hold, in
/// per cent (1 to 100; 100 leaves only the lot's totals as the limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationCap(u8);

impl ReservationCap {
    /// Half of what the lot still offers.
    pub const DEFAULT_PERCENT: u8 = 50;

    /// The cap of `percent`, if it is between 1 and 100.
    pub fn new(percent: u8) -> Option<ReservationCap> {
        (1..=100)
            .contains(&percent)
            .then_some(ReservationCap(percent))
    }

    pub fn percent(self) -> u8 {
        self.0
    }

    /// `percent` of `micrograms`, rounded down.
    fn of(self, micrograms: i64) -> i64 {
        let share = i128::from(micrograms.max(0)) * i128::from(self.0) / 100;
        i64::try_from(share).unwrap_or(i64::MAX)
    }
}

impl Default for ReservationCap {
    fn default() -> Self {
        ReservationCap(Self::DEFAULT_PERCENT)
    }
}

/// What `org`'s open reservations hold on a lot at `now`: for each of its passports, what its
/// counting reservations hold beyond what its confirmed claims hold.
pub fn open_reservations(claims: &[ClaimRow], org: Uuid, now: DateTime<Utc>) -> Bag {
    let mut by_passport: BTreeMap<Uuid, (Bag, Bag)> = BTreeMap::new();
    for c in claims.iter().filter(|c| c.org_id == org && c.counts(now)) {
        let (confirmed, reserved) = by_passport.entry(c.passport_id).or_default();
        match c.status {
            ClaimStatus::Confirmed => confirmed.add(c.element, c.mass_ug),
            _ => reserved.add(c.element, c.mass_ug),
        }
    }
    let mut open = Bag::new();
    for (confirmed, reserved) in by_passport.values() {
        for (element, mass) in reserved.iter() {
            open.add(element, (mass - confirmed.get(element)).max(0));
        }
    }
    open
}

/// Per element, what `org`'s open reservations on a lot may hold at most at `now`: `cap` of
/// what the lot recovered less what everyone else's claims, and `org`'s confirmed ones, hold.
fn allowed(
    claims: &[ClaimRow],
    recovered: &Bag,
    org: Uuid,
    cap: ReservationCap,
    now: DateTime<Utc>,
) -> (Bag, Bag) {
    let open = open_reservations(claims, org, now);
    let held = active_claims(claims, now);
    let mut allowed = Bag::new();
    for element in TrackedElement::all() {
        let offered = recovered.get(element) - (held.get(element) - open.get(element));
        allowed.add(element, cap.of(offered));
    }
    (allowed, open)
}

/// Checks `org`'s open reservations in `claims` (a lot's claims, a new claim's rows included)
/// against the cap; the elements over it otherwise (what the cap allows, what they hold).
pub fn check_cap(
    claims: &[ClaimRow],
    recovered: &Bag,
    org: Uuid,
    cap: ReservationCap,
    now: DateTime<Utc>,
) -> Result<(), Vec<Excess>> {
    let (allowed, open) = allowed(claims, recovered, org, cap, now);
    let excess: Vec<Excess> = TrackedElement::all()
        .filter(|e| open.get(*e) > allowed.get(*e))
        .map(|element| Excess {
            element,
            available_ug: allowed.get(element),
            requested_ug: open.get(element),
        })
        .collect();
    if excess.is_empty() {
        Ok(())
    } else {
        Err(excess)
    }
}

/// What `org` may still reserve on a lot, per element, given its `claims`.
pub fn reservable(
    claims: &[ClaimRow],
    recovered: &Bag,
    org: Uuid,
    cap: ReservationCap,
    now: DateTime<Utc>,
) -> Bag {
    let (allowed, open) = allowed(claims, recovered, org, cap, now);
    let mut left = Bag::new();
    for (element, mass) in allowed.iter() {
        left.add(element, (mass - open.get(element)).max(0));
    }
    left
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;
    use reetrace_core::domain::Element;

    use super::*;

    const MAKER: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);

    fn row(org: Uuid, passport: u128, status: ClaimStatus, mass_ug: i64) -> ClaimRow {
        ClaimRow {
            claim_id: Uuid::from_u128(passport),
            lot_id: Uuid::nil(),
            passport_id: Uuid::from_u128(passport),
            org_id: org,
            element: TrackedElement::Ree(Element::Nd),
            mass_ug,
            status,
            created_at: Utc::now() - Duration::minutes(1),
        }
    }

    fn nd(mass_ug: i64) -> Bag {
        let mut bag = Bag::new();
        bag.add(Element::Nd, mass_ug);
        bag
    }

    #[test]
    fn open_reservations_hold_at_most_half_of_what_the_lot_still_offers() {
        let now = Utc::now();
        let cap = ReservationCap::default();
        // 1000 recovered, 200 confirmed by another: 800 offered, 400 reservable.
        let other = row(OTHER, 9, ClaimStatus::Confirmed, 200);
        let fits = [other.clone(), row(MAKER, 1, ClaimStatus::Reserved, 400)];
        assert_eq!(check_cap(&fits, &nd(1000), MAKER, cap, now), Ok(()));
        let over = [
            other.clone(),
            row(MAKER, 1, ClaimStatus::Reserved, 300),
            row(MAKER, 2, ClaimStatus::Reserved, 101),
        ];
        let refused = check_cap(&over, &nd(1000), MAKER, cap, now).unwrap_err();
        assert_eq!(
            refused,
            vec![Excess {
                element: TrackedElement::Ree(Element::Nd),
                available_ug: 400,
                requested_ug: 401
            }]
        );
        assert_eq!(
            reservable(&over[..2], &nd(1000), MAKER, cap, now).get(Element::Nd),
            100
        );
        assert_eq!(
            reservable(&over, &nd(1000), MAKER, cap, now).get(Element::Nd),
            0
        );
        // The other organisation's reservations are its own business.
        assert_eq!(check_cap(&over, &nd(1000), OTHER, cap, now), Ok(()));
    }

    #[test]
    fn confirmed_claims_and_a_new_versions_renewed_claims_are_not_open() {
        let now = Utc::now();
        let cap = ReservationCap::default();
        // Passport 1 holds 600 confirmed; its next version reserves 600 again: nothing open.
        let renewed = [
            row(MAKER, 1, ClaimStatus::Confirmed, 600),
            row(MAKER, 1, ClaimStatus::Reserved, 600),
        ];
        assert_eq!(open_reservations(&renewed, MAKER, now).get(Element::Nd), 0);
        assert_eq!(check_cap(&renewed, &nd(1000), MAKER, cap, now), Ok(()));
        // Asking 100 more is open: 400 is offered (1000 - 600), 200 reservable.
        let more = [
            row(MAKER, 1, ClaimStatus::Confirmed, 600),
            row(MAKER, 1, ClaimStatus::Reserved, 700),
        ];
        assert_eq!(open_reservations(&more, MAKER, now).get(Element::Nd), 100);
        let fits = check_cap(&more, &nd(1000), MAKER, cap, now);
        assert_eq!(fits, Ok(()));
        // A lapsed reservation is not open.
        let lapsed = ClaimRow {
            created_at: now - Duration::hours(1),
            ..row(MAKER, 3, ClaimStatus::Reserved, 900)
        };
        assert_eq!(open_reservations(&[lapsed], MAKER, now), Bag::new());
    }

    #[test]
    fn the_cap_is_a_percentage_from_1_to_100() {
        assert_eq!(ReservationCap::new(0), None);
        assert_eq!(ReservationCap::new(101), None);
        let all = ReservationCap::new(100).unwrap();
        let now = Utc::now();
        let whole = [row(MAKER, 1, ClaimStatus::Reserved, 1000)];
        assert_eq!(check_cap(&whole, &nd(1000), MAKER, all, now), Ok(()));
        assert_eq!(ReservationCap::default().percent(), 50);
        assert_eq!(ReservationCap::new(33).unwrap().of(10), 3);
    }
}
