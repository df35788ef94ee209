//! Recycled-content claims on lots: what all passports claim from a lot never exceeds what was
//! recovered into it. A claim is `reserved` when the passport service asks, and `confirmed` when
//! custody sees the passport in the passport feed; a reservation whose passport never appears
//! lapses after [`RESERVATION`] and stops counting. A later version of a passport supersedes the
//! claims of the earlier ones; a claim whose passport was not issued is released.

use chrono::{DateTime, Duration, Utc};
use reetrace_core::domain::Element;
use uuid::Uuid;

use super::balance::Bag;

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
    pub element: Element,
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

/// Sums the claims that still count, per element.
pub fn active_claims(claims: &[ClaimRow], now: DateTime<Utc>) -> Bag {
    let mut bag = Bag::new();
    for c in claims.iter().filter(|c| c.counts(now)) {
        bag.add(c.element, c.mass_ug);
    }
    bag
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn claim(status: ClaimStatus, age: Duration) -> ClaimRow {
        ClaimRow {
            claim_id: Uuid::nil(),
            lot_id: Uuid::nil(),
            passport_id: Uuid::nil(),
            org_id: Uuid::nil(),
            element: Element::Nd,
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
        let confirmed = claim(ClaimStatus::Confirmed, Duration::days(9));
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
}
