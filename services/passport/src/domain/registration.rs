//! What a manufacturer sends to register a product, and the rules it must meet.
//!
//! The types parse what they can (identifiers, vocabularies, exact masses); [`Registration::check`]
//! applies the rules across fields (element masses within their component, components within
//! the product, granularity and identifiers that fit together) and names the JSON pointer of
//! every violation (in `rules`). Magnets (`magnets`) determine their component's rare-earth
//! masses ([`Registration::derive_from_magnets`], before `check`); removal steps and the
//! responsible person are in `removal`.

mod crma;
mod magnets;
mod removal;
mod rules;
mod vocabulary;

pub use crma::{CrmaExemption, CrmaProductGroup};
pub use magnets::{
    Additive, AdditiveType, Coating, CoatingType, CompositionEntry, Glue, GlueType, Magnet,
    MagnetSubtype, MagnetType, MagnetisedState, TemperatureClass,
};
pub use removal::{
    DetailsAccess, Drive, PartKind, PostalAddress, RemovalAction, RemovalStep, RemovedPart,
    ResponsiblePerson, Tool, ToolKind,
};

use chrono::NaiveDate;
use reetrace_core::crypto::CryptoError;
use reetrace_core::domain::{
    Category, Country, Element, Gtin, LotNumber, Mass, SerialNumber, Share, TrackedElement, UseType,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How much a passport covers (ESPR allows all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// A product model: every unit of this GTIN.
    Model,
    /// A batch (lot) of `units` identical units.
    Batch,
    /// One serialised item.
    Item,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Model => "model",
            Granularity::Batch => "batch",
            Granularity::Item => "item",
        }
    }
}

/// How a figure was obtained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Stated by the manufacturer from its bill of materials.
    #[default]
    Declared,
    /// Measured on the product or a sample (assay).
    Measured,
    /// Calculated from typical compositions.
    Calculated,
}

/// A registration: one product passport's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "granularity": "item",
    "product": {"gtin": "04012345000016", "serial": "EVM-2026-000001", "name": "Traction motor PMSM 150 kW",
        "model": "PM150", "category": "ev_traction_motor", "net_mass_g": 48000, "manufactured_on": "2026-03-02",
        "placed_on_market": {"date": "2026-04-15", "country": "FR"}, "expected_lifetime_years": 15},
    "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
        "location": "rotor, 48 segments in V-slots",
        "elements": [{"element": "Nd", "mass_g": 337.5, "method": "declared"}, {"element": "Pr", "mass_g": 105},
            {"element": "Dy", "mass_g": 60}, {"element": "Tb", "mass_g": 7.5}],
        "recycled_content": {"pre_consumer": 0.0, "post_consumer": 0.05}}]},
    "end_of_life": {"dismantling": "remove rotor; magnets glued, heat to 350 C to release", "use_type": "concentrated"}
}))]
pub struct Registration {
    pub granularity: Granularity,
    pub product: Product,
    pub ree_content: ReeContent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life: Option<EndOfLife>,
    /// Documents about the product (declarations of conformity, dismantling manuals).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
    /// Fields only the manufacturer sees; stored, never signed, never shown to others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub confidential: Option<serde_json::Map<String, serde_json::Value>>,
    /// Who answers for the product in the Union: name, postal address and an electronic
    /// contact (CRMA art. 28(3)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_person: Option<ResponsiblePerson>,
    /// Who may read the details document (each magnet, the removal steps); `restricted` when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_access: Option<DetailsAccess>,
}

impl Registration {
    /// Who may read the details document: as registered, `restricted` by default.
    pub fn details_access(&self) -> DetailsAccess {
        self.details_access.unwrap_or(DetailsAccess::Restricted)
    }

    /// What a version was made from, as 32 bytes: SHA-256 of the JCS bytes (RFC 8785) of the
    /// registration as parsed and normalised ([`Registration::derive_from_magnets`] first).
    /// Bodies that differ only in whitespace, key order or the spelling of a number have the
    /// same one, so a new body can be told from the one the current version was made from.
    pub fn fingerprint(&self) -> Result<[u8; 32], CryptoError> {
        Ok(Self::fingerprint_of(&self.canonical_bytes()?))
    }

    /// The JCS bytes (RFC 8785) of the registration: what [`Registration::fingerprint`]
    /// hashes, and what signing cuts the details document from.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, CryptoError> {
        reetrace_core::crypto::jcs::canonicalize_serialize(self)
    }

    /// The fingerprint of a registration whose [`Registration::canonical_bytes`] are
    /// `canonical`.
    pub fn fingerprint_of(canonical: &[u8]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(canonical).into()
    }
}

/// The product's identity and life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// GTIN-8/12/13/14; resolves through GS1 Digital Link. Products without one resolve at
    /// `/p/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<Gtin>,
    /// Serial number (GS1 AI 21) of an item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<SerialNumber>,
    /// Lot number (GS1 AI 10) of a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotNumber>,
    /// Number of units in a batch (only for `batch`); masses are per unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub units: Option<u64>,
    /// 1 to 200 characters.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub category: Category,
    /// Net mass of one unit, in grams.
    pub net_mass_g: Mass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufactured_on: Option<NaiveDate>,
    pub placed_on_market: PlacedOnMarket,
    /// Expected lifetime in years (0 < years <= 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub expected_lifetime_years: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<Facility>,
    /// The model passport this item or batch belongs to (a passport id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_passport: Option<Uuid>,
    /// The product group of CRMA art. 28(1); when absent, derived from `category` where the
    /// mapping is unambiguous (README, "CRMA art. 28/29").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crma_product_group: Option<CrmaProductGroup>,
    /// Exemptions from CRMA art. 28 that apply (each at most once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crma_exemptions: Vec<CrmaExemption>,
    /// Rated output in kW (more than 0, at most 1,000,000): an electric motor is in CRMA scope
    /// from 0.12 kW (art. 2(47)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0, maximum = 1_000_000)]
    pub rated_output_kw: Option<f64>,
    /// An L-category vehicle (Regulation (EU) No 168/2013: two- or three-wheel vehicles and
    /// quadricycles), to which CRMA art. 28 applies from 24 May 2029 like motor vehicles; other
    /// light means of transport (e-bikes outside category L, e-scooters) take the general
    /// date. Only for the product group `light_means_of_transport`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub l_category_vehicle: bool,
}

/// Where and when the product was first made available on a market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacedOnMarket {
    pub date: NaiveDate,
    /// ISO 3166-1 alpha-2.
    pub country: Country,
    /// NUTS region code (optional), e.g. FR10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nuts: Option<String>,
}

/// The site that made the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Facility {
    pub name: String,
    pub country: Country,
    /// An identifier of the site (GLN or the operator's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
}

/// The rare-earth content of one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReeContent {
    /// The parts holding REEs (at least one, at most 100).
    pub components: Vec<Component>,
}

/// One part holding REEs, such as a magnet set, or holding permanent magnets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub name: String,
    /// E.g. `NdFeB-sintered`, `NdFeB-bonded`, `SmCo`, `NiMH-anode`, `phosphor`.
    pub material: String,
    /// Mass of the component in one unit, in grams.
    pub mass_g: Mass,
    /// Where it sits in the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// How to take it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal: Option<String>,
    /// Per-element masses; each element at most once. A component with `magnets` leaves it
    /// out: its rare-earth masses are derived from the magnets' compositions.
    #[serde(default)]
    pub elements: Vec<ElementMass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycled_content: Option<RecycledContent>,
    /// Its permanent magnets, each one magnet or a set of identical ones (at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub magnets: Vec<Magnet>,
    /// The component is an electric motor holding its magnets: where every magnet sits in
    /// one, the motors' location and removal may replace the magnet detail (CRMA art. 28(5)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub electric_motor: bool,
    /// Whether `elements` were derived from `magnets` rather than sent.
    #[serde(skip)]
    pub(crate) elements_derived: bool,
}

/// The mass of one element in a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElementMass {
    pub element: Element,
    pub mass_g: Mass,
    #[serde(default)]
    pub method: Method,
}

/// Recycled content of a component, as shares of its mass, and the lots it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecycledContent {
    /// Share from manufacturing scrap, 0 to 1 (0 when absent). Deprecated: a typed-in share is
    /// only declared; recycled content is computed from `sources` (claims on recycled lots).
    #[serde(default)]
    #[schema(value_type = f64, minimum = 0, maximum = 1, deprecated)]
    pub pre_consumer: Share,
    /// Share from end-of-life products, 0 to 1 (0 when absent). Deprecated: a typed-in share is
    /// only declared; recycled content is computed from `sources` (claims on recycled lots).
    #[serde(default)]
    #[schema(value_type = f64, minimum = 0, maximum = 1, deprecated)]
    pub post_consumer: Share,
    /// Recycled lots this content is claimed from (checked against what custody recovered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<RecycledSource>,
}

/// A claim on a recycled lot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecycledSource {
    /// The lot id given by the custody service.
    pub lot: String,
    pub elements: Vec<SourceElement>,
}

/// The mass of one element claimed from a lot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceElement {
    /// A rare earth; or B, Co, Ni, claimed for a magnet set that holds them (a magnet's
    /// `recycled_sources`).
    pub element: TrackedElement,
    pub mass_g: Mass,
}

/// End-of-life information for collectors and recyclers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndOfLife {
    /// Dismantling instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismantling: Option<String>,
    /// Concentrated (magnets, batteries) or dispersed (phosphors, catalysts) use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_type: Option<UseType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hazards: Vec<String>,
    /// The sequence of steps that gives access to the magnets and frees them, in order (at
    /// most 50). Only in the details document, never in the signed subject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removal_steps: Vec<RemovalStep>,
}

impl EndOfLife {
    /// What the signed v1 subject states: everything but the removal steps, which belong to
    /// the details document. Without removal steps this is the registered text unchanged;
    /// with nothing else it is nothing.
    pub fn for_subject(&self) -> Option<EndOfLife> {
        if self.removal_steps.is_empty() {
            return Some(self.clone());
        }
        let stated = EndOfLife {
            removal_steps: Vec::new(),
            ..self.clone()
        };
        let empty =
            stated.dismantling.is_none() && stated.use_type.is_none() && stated.hazards.is_empty();
        (!empty).then_some(stated)
    }
}

/// A document about the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub title: String,
    /// An http(s) URL.
    pub url: String,
    /// The kind of document, e.g. `declaration_of_conformity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}
