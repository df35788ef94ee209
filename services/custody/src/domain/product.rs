//! A product as custody knows it: its copy of the passport (kept from the passport feed, so that
//! custody works while the passport service is down) and where the product is now.

use chrono::{DateTime, NaiveDate, Utc};
use reetrace_core::domain::{Category, Country, Gtin, LotNumber, SerialNumber};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::balance::{Bag, ElementAmount};
use super::event::EventSummary;
use super::state::Custody;
use super::step::{CustodyView, NextSteps};

/// What a passport describes: one serialised item or a batch of identical units (a model
/// passport describes no physical thing, so custody keeps none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    Item,
    Batch,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Item => "item",
            Granularity::Batch => "batch",
        }
    }

    pub fn parse(text: &str) -> Option<Granularity> {
        match text {
            "item" => Some(Granularity::Item),
            "batch" => Some(Granularity::Batch),
            _ => None,
        }
    }
}

/// A passport's status, as the passport feed last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PassportStatus {
    Active,
    Suspended,
    Revoked,
}

impl PassportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PassportStatus::Active => "active",
            PassportStatus::Suspended => "suspended",
            PassportStatus::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Option<PassportStatus> {
        match text {
            "active" => Some(PassportStatus::Active),
            "suspended" => Some(PassportStatus::Suspended),
            "revoked" => Some(PassportStatus::Revoked),
            _ => None,
        }
    }
}

/// A product as custody keeps it: what its passport says, and its custody now.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductRow {
    pub passport_id: Uuid,
    /// The manufacturer.
    pub org_id: Uuid,
    pub version: u32,
    pub passport_status: PassportStatus,
    pub granularity: Granularity,
    pub gtin: Option<Gtin>,
    pub serial: Option<SerialNumber>,
    pub lot: Option<LotNumber>,
    pub units: u64,
    pub name: String,
    pub category: Category,
    /// Where it was placed on the market.
    pub country: Country,
    pub placed_on_market: NaiveDate,
    pub net_mass_ug: i64,
    /// The product's EPCIS identifier (see [`product_epc`]).
    pub epc: String,
    /// REE content of one unit.
    pub elements: Bag,
    pub custody: Custody,
    pub updated_at: DateTime<Utc>,
}

/// A passport as the passport feed describes it (issued or versioned).
#[derive(Debug, Clone, PartialEq)]
pub struct PassportCopy {
    pub passport_id: Uuid,
    pub org_id: Uuid,
    pub version: u32,
    pub granularity: Granularity,
    pub gtin: Option<Gtin>,
    pub serial: Option<SerialNumber>,
    pub lot: Option<LotNumber>,
    pub units: u64,
    pub name: String,
    pub category: Category,
    pub country: Country,
    pub placed_on_market: NaiveDate,
    pub net_mass_ug: i64,
    pub epc: String,
    pub elements: Bag,
}

/// One passport feed event, as custody applies it.
#[derive(Debug, Clone, PartialEq)]
pub enum PassportChange {
    /// Issued or versioned: keep this copy (custody state is kept across versions).
    Upsert(Box<PassportCopy>),
    Status {
        passport_id: Uuid,
        status: PassportStatus,
    },
    /// An event custody has no use for (it still moves the cursor).
    Ignore,
}

/// A product as a scan shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductSummary {
    pub passport_id: Uuid,
    /// The EPCIS identifier events name it by.
    pub epc: String,
    pub name: String,
    pub category: String,
    pub granularity: String,
    pub units: u64,
    /// The passport's status (active, suspended, revoked).
    pub passport_status: String,
    pub manufacturer: Uuid,
    /// REE per unit, from the passport.
    pub elements: Vec<ElementAmount>,
    /// The passport itself (in the caller's tier).
    pub passport_url: String,
}

/// The answer to a scan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Scan {
    pub product: ProductSummary,
    pub custody: CustodyView,
    pub events: Vec<EventSummary>,
    pub next: NextSteps,
    /// The names of the organisations this answer names by id (manufacturer, holder, pending
    /// recipient, recorders of the events shown), by id: only those the caller is shown.
    #[serde(default)]
    pub names: std::collections::BTreeMap<Uuid, String>,
}

/// The EPCIS identifier of a product: the SGTIN (canonical GS1 Digital Link,
/// `https://id.gs1.org/01/{gtin}/21/{serial}`) of a serialised GS1 item; our own passport URI
/// (`own`) for a batch or a product without GTIN.
pub fn product_epc(
    own: &str,
    gtin: Option<&Gtin>,
    serial: Option<&SerialNumber>,
    granularity: Granularity,
) -> String {
    match (gtin, serial, granularity) {
        (Some(gtin), Some(serial), Granularity::Item) => format!(
            "https://id.gs1.org/01/{}/21/{}",
            gtin.as_str(),
            serial.percent_encoded()
        ),
        _ => own.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn serialised_gs1_items_are_named_by_their_sgtin() {
        let gtin = Gtin::parse("09506000134352").unwrap();
        let serial = SerialNumber::parse("A/1").unwrap();
        let own = "https://reetrace.example/p/1";
        assert_eq!(
            product_epc(own, Some(&gtin), Some(&serial), Granularity::Item),
            "https://id.gs1.org/01/09506000134352/21/A%2F1"
        );
        assert_eq!(product_epc(own, Some(&gtin), None, Granularity::Batch), own);
        assert_eq!(product_epc(own, None, None, Granularity::Item), own);
    }

    #[test]
    fn stored_words_read_back() {
        for g in [Granularity::Item, Granularity::Batch] {
            assert_eq!(Granularity::parse(g.as_str()), Some(g));
        }
        for s in [
            PassportStatus::Active,
            PassportStatus::Suspended,
            PassportStatus::Revoked,
        ] {
            assert_eq!(PassportStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Granularity::parse("model"), None);
    }
}
