//! What the stock service keeps of a passport, and what a passport adds to the figures.
//!
//! Rules: an item passport counts once, a batch passport `units` times, a model passport not
//! at all (it describes a model, not things on the market). A new version *replaces* the
//! previous content of its passport (the old contribution is taken out, the new one put in). A
//! revoked passport leaves the figures, for good: revocation is final. A suspended passport
//! still counts: suspension is a temporary hold on the credential, the product is still on the
//! market.

use reetrace_core::domain::{Category, Country, UseType};
use uuid::Uuid;

use super::flow::{Deltas, ElementMasses, Flow, Place};

/// How many physical products a passport stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Model,
    Batch,
    Item,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Granularity> {
        match text {
            "model" => Some(Granularity::Model),
            "batch" => Some(Granularity::Batch),
            "item" => Some(Granularity::Item),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Model => "model",
            Granularity::Batch => "batch",
            Granularity::Item => "item",
        }
    }
}

/// The lifecycle state of a passport, as the passport feed reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassportStatus {
    Active,
    Suspended,
    Revoked,
}

impl PassportStatus {
    pub fn parse(text: &str) -> Option<PassportStatus> {
        match text {
            "active" => Some(PassportStatus::Active),
            "suspended" => Some(PassportStatus::Suspended),
            "revoked" => Some(PassportStatus::Revoked),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PassportStatus::Active => "active",
            PassportStatus::Suspended => "suspended",
            PassportStatus::Revoked => "revoked",
        }
    }
}

/// What one version of a passport says that the figures need.
#[derive(Debug, Clone, PartialEq)]
pub struct PassportFacts {
    pub passport_id: Uuid,
    /// The manufacturer (issuer).
    pub org_id: Uuid,
    pub version: u32,
    pub granularity: Granularity,
    pub category: Category,
    /// Where it was placed on the market.
    pub country: Country,
    /// The year it was placed on the market.
    pub market_year: i32,
    /// Products a batch passport stands for (1 for an item).
    pub units: u64,
    pub use_type: Option<UseType>,
    /// REE content of one unit, micrograms per element.
    pub content: ElementMasses,
    /// Recycled REE in one unit, micrograms per element.
    pub recycled: ElementMasses,
    /// The net mass of one unit, in micrograms; `None` for a passport stored before the stock
    /// service kept it (migration 40005): its mass is unknown until a new version arrives.
    pub net_mass_ug: Option<i64>,
}

/// A passport as the stock service stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct PassportRecord {
    pub facts: PassportFacts,
    pub status: PassportStatus,
}

/// One passport feed event, as the stock service applies it.
#[derive(Debug, Clone, PartialEq)]
pub enum PassportChange {
    /// Issued or versioned.
    Upsert(Box<PassportFacts>),
    Status {
        passport_id: Uuid,
        status: PassportStatus,
    },
    /// Something the figures do not depend on (it still moves the cursor).
    Ignore,
}

impl PassportChange {
    pub fn passport_id(&self) -> Option<Uuid> {
        match self {
            PassportChange::Upsert(facts) => Some(facts.passport_id),
            PassportChange::Status { passport_id, .. } => Some(*passport_id),
            PassportChange::Ignore => None,
        }
    }
}

impl PassportRecord {
    /// How many products of this passport are on the market now.
    pub fn counted_units(&self) -> u64 {
        if self.status == PassportStatus::Revoked {
            return 0;
        }
        match self.facts.granularity {
            Granularity::Model => 0,
            Granularity::Item => 1,
            Granularity::Batch => self.facts.units,
        }
    }

    /// Adds (`sign` = 1) or takes out (`sign` = -1) the passport's contribution: placed on
    /// market and recycled content, both in its market year.
    pub fn contribute(&self, deltas: &mut Deltas, sign: i64) {
        let units = self.counted_units();
        if units == 0 {
            return;
        }
        let f = &self.facts;
        let times = |masses: &ElementMasses| -> ElementMasses {
            masses
                .iter()
                .map(|(e, m)| (*e, m * i128::from(units)))
                .collect()
        };
        for (flow, masses) in [
            (Flow::PlacedOnMarket, &f.content),
            (Flow::RecycledContent, &f.recycled),
        ] {
            let place = Place {
                flow,
                year: f.market_year,
                country: f.country,
                category: f.category,
            };
            deltas.add_masses(place, f.org_id, &times(masses), sign);
        }
    }
}

/// Applies one change to a passport's record: returns the new record (or `None` to keep the
/// current one as it is) and adds the change in contribution to `deltas`.
///
/// Versions only move forward: a version at or below the stored one changes nothing (so a
/// replay under another event id is harmless). A revoked passport stays revoked.
pub fn apply(
    current: Option<&PassportRecord>,
    change: &PassportChange,
    deltas: &mut Deltas,
) -> Option<PassportRecord> {
    match (current, change) {
        (_, PassportChange::Ignore) => None,
        (None, PassportChange::Upsert(facts)) => {
            let record = PassportRecord {
                facts: (**facts).clone(),
                status: PassportStatus::Active,
            };
            record.contribute(deltas, 1);
            Some(record)
        }
        (Some(old), PassportChange::Upsert(facts)) => {
            if facts.version <= old.facts.version {
                return None;
            }
            let record = PassportRecord {
                facts: (**facts).clone(),
                status: old.status,
            };
            old.contribute(deltas, -1);
            record.contribute(deltas, 1);
            Some(record)
        }
        // A status change of a passport never seen: nothing to change.
        (None, PassportChange::Status { .. }) => None,
        (Some(old), PassportChange::Status { status, .. }) => {
            if old.status == PassportStatus::Revoked || old.status == *status {
                return None;
            }
            let record = PassportRecord {
                facts: old.facts.clone(),
                status: *status,
            };
            old.contribute(deltas, -1);
            record.contribute(deltas, 1);
            Some(record)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reetrace_core::domain::Element;

    fn facts(granularity: Granularity, units: u64, version: u32, nd_ug: i128) -> PassportFacts {
        PassportFacts {
            passport_id: Uuid::from_u128(7),
            org_id: Uuid::from_u128(1),
            version,
            granularity,
            category: Category::EvTractionMotor,
            country: Country::parse("FR").unwrap(),
            market_year: 2024,
            units,
            use_type: Some(UseType::Concentrated),
            content: [(Element::Nd.into(), nd_ug), (Element::Dy.into(), 60)].into(),
            recycled: [(Element::Nd.into(), nd_ug / 10)].into(),
            net_mass_ug: Some(48_000_000_000),
        }
    }

    fn total(deltas: &Deltas, flow: Flow, element: Element) -> i128 {
        deltas
            .entries()
            .filter(|(k, ..)| k.flow == flow && k.element == element.into())
            .map(|(_, _, v, _)| v)
            .sum()
    }

    #[test]
    fn items_count_once_batches_their_units_models_not_at_all() {
        for (granularity, units, expected) in [
            (Granularity::Item, 50, 1_000),
            (Granularity::Batch, 50, 50_000),
            (Granularity::Model, 50, 0),
        ] {
            let mut deltas = Deltas::new();
            let change = PassportChange::Upsert(Box::new(facts(granularity, units, 1, 1_000)));
            let record = apply(None, &change, &mut deltas).unwrap();
            assert_eq!(total(&deltas, Flow::PlacedOnMarket, Element::Nd), expected);
            assert_eq!(
                total(&deltas, Flow::RecycledContent, Element::Nd),
                expected / 10
            );
            assert_eq!(record.status, PassportStatus::Active);
        }
    }

    #[test]
    fn a_version_replaces_and_revocation_removes_for_good() {
        let mut deltas = Deltas::new();
        let v1 = apply(
            None,
            &PassportChange::Upsert(Box::new(facts(Granularity::Batch, 10, 1, 1_000))),
            &mut deltas,
        )
        .unwrap();
        let v2 = apply(
            Some(&v1),
            &PassportChange::Upsert(Box::new(facts(Granularity::Batch, 4, 2, 2_000))),
            &mut deltas,
        )
        .unwrap();
        assert_eq!(total(&deltas, Flow::PlacedOnMarket, Element::Nd), 8_000);
        // An old version arriving again changes nothing.
        let stale = PassportChange::Upsert(Box::new(facts(Granularity::Batch, 99, 2, 5)));
        assert!(apply(Some(&v2), &stale, &mut deltas).is_none());
        let id = v2.facts.passport_id;
        let suspended = apply(
            Some(&v2),
            &PassportChange::Status {
                passport_id: id,
                status: PassportStatus::Suspended,
            },
            &mut deltas,
        )
        .unwrap();
        assert_eq!(total(&deltas, Flow::PlacedOnMarket, Element::Nd), 8_000);
        let revoked = apply(
            Some(&suspended),
            &PassportChange::Status {
                passport_id: id,
                status: PassportStatus::Revoked,
            },
            &mut deltas,
        )
        .unwrap();
        assert!(deltas.is_empty(), "{deltas:?}");
        let back = PassportChange::Status {
            passport_id: id,
            status: PassportStatus::Active,
        };
        assert!(apply(Some(&revoked), &back, &mut deltas).is_none());
        let v3 = apply(
            Some(&revoked),
            &PassportChange::Upsert(Box::new(facts(Granularity::Batch, 4, 3, 2_000))),
            &mut deltas,
        )
        .unwrap();
        assert_eq!(v3.status, PassportStatus::Revoked);
        assert!(deltas.is_empty());
    }
}
