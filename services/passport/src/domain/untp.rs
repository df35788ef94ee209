//! The v2 passport credential: the UN Transparency Protocol (UNTP) Digital Product Passport
//! data model, with our own terms (`ree:` keys, defined by our v2 JSON-LD context) only where
//! UNTP has no place. `docs/credential.md` is the design; section numbers below refer to it.
//!
//! What the v2 subject leaves out on purpose: the market country, NUTS region, placement date
//! and units. They go into the separately signed placement declaration
//! ([`placement`](super::placement)), which only the owner, the authorities and the services read.

use chrono::NaiveDate;
use reetrace_core::domain::{
    ChemicalElement, Element, Gtin, Mass, OperatorId, TrackedElement, UseType, significant,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

mod envelope;
use super::crma::CrmaScope;
use super::magnet_content::{self, ElementRecycled, MagnetSummary, Responsible};
use super::registration::{DetailsAccess, Granularity, Registration};
use super::subject::element_totals;
pub use envelope::{IssuerObject, UnsignedPassport, contexts, document, unsigned};

/// The UNTP DPP context the pinned schema requires in second place.
pub const UNTP_CONTEXT: &str = "https://test.uncefact.org/vocabulary/untp/dpp/working/";
/// The path (under the public base URL) of our v2 JSON-LD context.
pub const REE_CONTEXT_V2_PATH: &str = "/contexts/reetrace/v2";
/// The credential type of a passport (UNTP's), beside `VerifiableCredential`.
pub const PASSPORT_TYPE: &str = "DigitalProductPassport";
/// UNECE Rec 20 code for kilograms: every UNTP `Measure` we write is in kilograms.
pub const KILOGRAM: &str = "KGM";

/// The identifier schemes of economic operators (UNTP points to a register we do not pin).
pub const EORI_SCHEME: &str = "https://ec.europa.eu/taxation_customs/eori";
pub const LEI_SCHEME: &str = "https://www.gleif.org/lei/";
/// Our schemes for elements and product categories (UN CPC cannot tell the categories apart).
const ELEMENT_SCHEME: &str = "https://w3id.org/reetrace/vocab/element#";
const CATEGORY_SCHEME: &str = "https://w3id.org/reetrace/vocab/category#";

/// `credentialSubject` of a v2 passport: UNTP's `ProductPassport`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductPassport {
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    /// The product's identifier: its GS1 Digital Link URI, or `<base>/p/{passport id}`.
    pub id: String,
    #[serde(rename = "ree:passportId")]
    pub passport_id: Uuid,
    #[serde(rename = "ree:version")]
    pub version: u32,
    /// The credential id (`urn:uuid:...`) of the version this one replaces.
    #[serde(
        rename = "ree:previousVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub previous_version: Option<String>,
    #[serde(rename = "granularityLevel")]
    pub granularity_level: Granularity,
    pub product: UntpProduct,
    /// One entry per element the product holds, in atomic-number order.
    #[serde(rename = "materialsProvenance")]
    pub materials_provenance: Vec<Material>,
    #[serde(rename = "circularityScorecard")]
    pub circularity_scorecard: Circularity,
    /// Components registered (their detail is in the details document).
    #[serde(rename = "ree:componentCount")]
    pub component_count: u32,
    /// `sha256-<base64>` of the JCS bytes of the details document.
    #[serde(rename = "ree:detailsDigest")]
    pub details_digest: String,
    /// Who may read the details document: `restricted` (professionals, authorities, the
    /// owner) or `public`; signed, so that a page can prove the manufacturer's choice.
    #[serde(rename = "ree:detailsAccess")]
    pub details_access: DetailsAccess,
    /// The permanent magnets by type: what the CRMA art. 28(1) label says.
    #[serde(
        rename = "ree:permanentMagnets",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub permanent_magnets: Vec<MagnetSummary>,
    /// The responsible economic operator, with postal address and electronic contact (art.
    /// 28(3)).
    #[serde(
        rename = "ree:responsiblePerson",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub responsible_person: Option<Responsible>,
    /// The CRMA scope the manufacturer declared (product group, exemptions, rated output).
    #[serde(
        rename = "ree:crmaScope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub crma_scope: Option<CrmaScope>,
}

/// UNTP `Product`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UntpProduct {
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    pub id: String,
    pub name: String,
    /// The GTIN, or the passport id when the product has none.
    #[serde(rename = "registeredId")]
    pub registered_id: String,
    #[serde(rename = "idScheme")]
    pub id_scheme: IdScheme,
    #[serde(
        rename = "serialNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub serial_number: Option<String>,
    #[serde(
        rename = "batchNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub batch_number: Option<String>,
    #[serde(rename = "productCategory")]
    pub product_category: Vec<Classification>,
    #[serde(rename = "producedByParty")]
    pub produced_by_party: Party,
    #[serde(
        rename = "producedAtFacility",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub produced_at_facility: Option<FacilityRef>,
    #[serde(
        rename = "countryOfProduction",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub country_of_production: Option<String>,
    #[serde(
        rename = "productionDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub production_date: Option<NaiveDate>,
    pub dimensions: Dimensions,
    #[serde(
        rename = "furtherInformation",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub further_information: Vec<UntpLink>,
    /// The exact net mass of one unit, in grams (`dimensions.weight` is its rounded kilograms).
    #[serde(rename = "ree:netMassGrams")]
    pub net_mass_g: Mass,
    #[serde(rename = "ree:model", default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(
        rename = "ree:expectedLifetimeYears",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expected_lifetime_years: Option<f64>,
    /// The model passport's product URI.
    #[serde(
        rename = "ree:modelPassport",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub model_passport: Option<String>,
}

/// UNTP `IdentifierScheme`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdScheme {
    pub id: String,
    pub name: String,
}

/// UNTP `Classification` (closed: nothing of ours goes in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Classification {
    pub id: String,
    pub code: String,
    pub name: String,
}

/// The party that made the product (UNTP `producedByParty`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Party {
    /// The organisation's DID (the credential's issuer).
    pub id: String,
    pub name: String,
    /// Its EORI or LEI.
    #[serde(
        rename = "registeredId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub registered_id: Option<String>,
    #[serde(rename = "idScheme", default, skip_serializing_if = "Option::is_none")]
    pub id_scheme: Option<IdScheme>,
}

/// The site that made the product (UNTP `producedAtFacility`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FacilityRef {
    pub id: String,
    pub name: String,
    #[serde(
        rename = "registeredId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub registered_id: Option<String>,
}

/// UNTP `Dimension`: only the weight is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dimensions {
    pub weight: Measure,
}

/// UNTP `Measure` (closed): a rounded number and its UNECE Rec 20 unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Measure {
    pub value: f64,
    pub unit: String,
}

/// UNTP `Link` (closed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UntpLink {
    #[serde(rename = "linkURL")]
    pub link_url: String,
    #[serde(rename = "linkName")]
    pub link_name: String,
    #[serde(rename = "linkType", default, skip_serializing_if = "Option::is_none")]
    pub link_type: Option<String>,
}

/// One element the product holds (UNTP `Material`), with its exact masses beside UNTP's
/// rounded numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Material {
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    pub name: String,
    #[serde(rename = "materialType")]
    pub material_type: Classification,
    pub mass: Measure,
    /// The element's mass over the product's net mass.
    #[serde(rename = "massFraction")]
    pub mass_fraction: f64,
    /// Recycled mass claimed on custody lots over the element's mass.
    #[serde(rename = "recycledMassFraction")]
    pub recycled_mass_fraction: f64,
    #[serde(rename = "ree:massGrams")]
    pub mass_g: Mass,
    #[serde(rename = "ree:recycledMassGrams")]
    pub recycled_mass_g: Mass,
}

/// UNTP `CircularityPerformance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Circularity {
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    /// The passport page's end-of-life section.
    #[serde(rename = "recyclingInformation")]
    pub recycling_information: UntpLink,
    #[serde(
        rename = "ree:dismantling",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dismantling: Option<String>,
    #[serde(
        rename = "ree:useType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_type: Option<UseType>,
    #[serde(rename = "ree:hazards", default, skip_serializing_if = "Vec::is_empty")]
    pub hazards: Vec<String>,
    /// Per CRMA art. 29 element: the share of its mass in the magnets recovered from
    /// post-consumer waste, computed from claims on custody lots.
    #[serde(
        rename = "ree:magnetRecycledContent",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub magnet_recycled_content: Vec<ElementRecycled>,
    /// Recycled masses typed in as shares (deprecated registration fields), never counted as
    /// computed content.
    #[serde(
        rename = "ree:declaredRecycledContent",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub declared_recycled_content: Vec<DeclaredRecycled>,
}

/// A recycled mass the manufacturer declared as a share of a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeclaredRecycled {
    pub element: Element,
    #[serde(rename = "massGrams")]
    pub mass_g: Mass,
    /// Always `declared`.
    pub basis: String,
}

/// What building a v2 subject needs besides the registration.
#[derive(Debug, Clone)]
pub struct PassportContext<'a> {
    pub base_url: &'a str,
    pub subject_id: String,
    pub passport_id: Uuid,
    pub version: u32,
    pub issuer: &'a Issuer,
    pub model_passport_uri: Option<String>,
    pub previous_version: Option<String>,
    pub component_count: u32,
    pub details_digest: String,
}

/// The issuing organisation.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// Its DID.
    pub id: String,
    pub org_id: Uuid,
    pub name: String,
    pub operator_id: Option<OperatorId>,
}

/// The v2 subject of a registration.
pub fn subject(registration: &Registration, ctx: PassportContext<'_>) -> ProductPassport {
    let p = &registration.product;
    let (registered_id, id_scheme) = match &p.gtin {
        Some(gtin) => (
            gtin.as_str().to_owned(),
            IdScheme {
                id: Gtin::SCHEME.to_owned(),
                name: "Global Trade Item Number (GTIN)".to_owned(),
            },
        ),
        // UNTP: a self-issued identifier uses the issuer's party id as its scheme.
        None => (
            ctx.passport_id.to_string(),
            IdScheme {
                id: ctx.issuer.id.clone(),
                name: format!("{} passport ids", ctx.issuer.name),
            },
        ),
    };
    let (registered_party_id, party_scheme) = match &ctx.issuer.operator_id {
        Some(OperatorId::Eori(eori)) => (
            Some(eori.as_str().to_owned()),
            Some(IdScheme {
                id: EORI_SCHEME.to_owned(),
                name: "Economic Operators Registration and Identification number (EORI)".to_owned(),
            }),
        ),
        Some(OperatorId::Lei(lei)) => (
            Some(lei.as_str().to_owned()),
            Some(IdScheme {
                id: LEI_SCHEME.to_owned(),
                name: "Legal Entity Identifier (ISO 17442)".to_owned(),
            }),
        ),
        None => (None, None),
    };
    let end_of_life = registration.end_of_life.as_ref();
    ProductPassport {
        kind: vec!["ProductPassport".to_owned()],
        id: ctx.subject_id.clone(),
        passport_id: ctx.passport_id,
        version: ctx.version,
        previous_version: ctx.previous_version,
        granularity_level: registration.granularity,
        product: UntpProduct {
            kind: vec!["Product".to_owned()],
            id: ctx.subject_id,
            name: p.name.trim().to_owned(),
            registered_id,
            id_scheme,
            serial_number: p.serial.as_ref().map(|s| s.as_str().to_owned()),
            batch_number: p.lot.as_ref().map(|l| l.as_str().to_owned()),
            product_category: vec![Classification {
                id: format!("{CATEGORY_SCHEME}{}", p.category.as_str()),
                code: p.category.as_str().to_owned(),
                name: p.category.label().to_owned(),
            }],
            produced_by_party: Party {
                id: ctx.issuer.id.clone(),
                name: ctx.issuer.name.clone(),
                registered_id: registered_party_id,
                id_scheme: party_scheme,
            },
            produced_at_facility: p.facility.as_ref().map(|f| FacilityRef {
                id: facility_id(ctx.base_url, ctx.issuer.org_id, f),
                name: f.name.trim().to_owned(),
                registered_id: f.identifier.clone(),
            }),
            country_of_production: p.facility.as_ref().map(|f| f.country.code().to_owned()),
            production_date: p.manufactured_on,
            dimensions: Dimensions {
                weight: kilograms(p.net_mass_g),
            },
            further_information: registration
                .documents
                .iter()
                .map(|d| UntpLink {
                    link_url: d.url.clone(),
                    link_name: d.title.clone(),
                    link_type: d.kind.clone(),
                })
                .collect(),
            net_mass_g: p.net_mass_g,
            model: p.model.as_ref().map(|m| m.trim().to_owned()),
            expected_lifetime_years: p.expected_lifetime_years,
            model_passport: ctx.model_passport_uri,
        },
        materials_provenance: materials(registration),
        circularity_scorecard: Circularity {
            kind: vec!["CircularityPerformance".to_owned()],
            recycling_information: UntpLink {
                link_url: format!("{}/p/{}#end-of-life", ctx.base_url, ctx.passport_id),
                link_name: "End of life: dismantling and removal".to_owned(),
                link_type: Some("https://gs1.org/voc/sustainabilityInfo".to_owned()),
            },
            dismantling: end_of_life.and_then(|e| e.dismantling.clone()),
            use_type: registration.use_type(),
            hazards: end_of_life.map(|e| e.hazards.clone()).unwrap_or_default(),
            magnet_recycled_content: magnet_content::recycled_shares(registration),
            declared_recycled_content: declared_recycled(registration),
        },
        component_count: ctx.component_count,
        details_digest: ctx.details_digest,
        details_access: registration
            .details_access
            .unwrap_or(DetailsAccess::Restricted),
        permanent_magnets: magnet_content::summary(registration),
        responsible_person: registration
            .responsible_person
            .as_ref()
            .map(Responsible::of),
        crma_scope: CrmaScope::of(&registration.product),
    }
}

/// The facility's URI: its GLN under GS1's resolver when the identifier is a valid GLN, else an
/// identifier under the instance (UNTP requires an `id`; this one is not served).
fn facility_id(base_url: &str, org_id: Uuid, facility: &super::registration::Facility) -> String {
    let identifier = facility.identifier.as_deref().map(str::trim);
    if let Some(gln) = identifier.filter(|i| is_gln(i)) {
        return format!("https://id.gs1.org/414/{gln}");
    }
    let local = identifier
        .filter(|i| !i.is_empty())
        .unwrap_or(facility.name.trim());
    let encoded: String = url::form_urlencoded::byte_serialize(local.as_bytes()).collect();
    format!("{base_url}/orgs/{org_id}/facilities/{encoded}")
}

fn is_gln(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 13 && bytes.iter().all(u8::is_ascii_digit) && {
        let digits: Vec<u8> = bytes.iter().map(|b| b - b'0').collect();
        reetrace_core::domain::gs1_check_digit(&digits[..12]) == digits[12]
    }
}

/// A mass as a UNTP `Measure` in kilograms, by the one rounding rule.
fn kilograms(mass: Mass) -> Measure {
    Measure {
        value: significant::kilograms_of_micrograms(mass.micrograms()).unwrap_or(0.0),
        unit: KILOGRAM.to_owned(),
    }
}

/// Per element: its mass, its share of the net mass, and the recycled mass claimed on lots; the
/// rare earths, then B, Ni and Co when magnets hold them, in atomic-number order.
fn materials(registration: &Registration) -> Vec<Material> {
    let (held, _) = element_totals(registration);
    let net = i128::from(registration.product.net_mass_g.micrograms());
    let claimed = claimed_per_element(registration);
    let mut out: Vec<(u8, Material)> = held
        .into_iter()
        .map(|total| {
            let recycled = claimed_of(&claimed, TrackedElement::from(total.element));
            let element = ChemicalElement::from(total.element);
            (
                element.atomic_number(),
                material(element, total.mass_g, recycled, net),
            )
        })
        .collect();
    for (element, mass) in magnet_content::other_article_29(registration) {
        let recycled = TrackedElement::of_chemical(element).map_or(0, |e| claimed_of(&claimed, e));
        out.push((
            element.atomic_number(),
            material(element, mass, recycled, net),
        ));
    }
    out.sort_by_key(|(z, _)| *z);
    out.into_iter().map(|(_, m)| m).collect()
}

/// What the claims hold of `element`.
fn claimed_of(claimed: &[(TrackedElement, i128)], element: TrackedElement) -> i128 {
    claimed
        .iter()
        .find(|(e, _)| *e == element)
        .map_or(0, |(_, m)| *m)
}

fn material(element: ChemicalElement, mass_g: Mass, recycled: i128, net: i128) -> Material {
    let mass = i128::from(mass_g.micrograms());
    let recycled = recycled.min(mass);
    Material {
        kind: vec!["Material".to_owned()],
        name: element.name().to_owned(),
        material_type: Classification {
            id: format!("{ELEMENT_SCHEME}{}", element.symbol()),
            code: element.symbol().to_owned(),
            name: element.name().to_owned(),
        },
        mass: kilograms(mass_g),
        mass_fraction: significant::ratio(mass, net).unwrap_or(0.0),
        recycled_mass_fraction: significant::ratio(recycled, mass).unwrap_or(0.0),
        mass_g,
        recycled_mass_g: Mass::from_micrograms(i64::try_from(recycled).unwrap_or(0))
            .unwrap_or(Mass::ZERO),
    }
}

/// Recycled masses claimed on custody lots, per element, per unit: the components' own
/// `recycled_content.sources` and their magnets' `recycled_sources`.
fn claimed_per_element(registration: &Registration) -> Vec<(TrackedElement, i128)> {
    let mut out: Vec<(TrackedElement, i128)> = Vec::new();
    for component in &registration.ree_content.components {
        let own = component.recycled_content.iter().flat_map(|r| &r.sources);
        let magnets = component.magnets.iter().flat_map(|m| &m.recycled_sources);
        for source in own.chain(magnets) {
            for e in &source.elements {
                let mass = i128::from(e.mass_g.micrograms());
                match out.iter_mut().find(|(element, _)| *element == e.element) {
                    Some((_, total)) => *total += mass,
                    None => out.push((e.element, mass)),
                }
            }
        }
    }
    out
}

/// The deprecated typed shares, as declared masses: the element's mass × (pre + post), half up
/// to the microgram, for components that name no source lot (their claims say it better).
fn declared_recycled(registration: &Registration) -> Vec<DeclaredRecycled> {
    let mut per_element = [0i128; 17];
    for component in &registration.ree_content.components {
        let Some(recycled) = &component.recycled_content else {
            continue;
        };
        if !recycled.sources.is_empty() {
            continue;
        }
        let ppm =
            i128::from(recycled.pre_consumer.ppm()) + i128::from(recycled.post_consumer.ppm());
        for e in &component.elements {
            if let Some(slot) = Element::ALL.iter().position(|x| *x == e.element) {
                per_element[slot] += i128::from(e.mass_g.micrograms()) * ppm;
            }
        }
    }
    Element::ALL
        .iter()
        .zip(per_element)
        .filter_map(|(element, ppm_micrograms)| {
            let micrograms = i64::try_from((ppm_micrograms + 500_000) / 1_000_000).ok()?;
            let mass = Mass::from_micrograms(micrograms).ok()?;
            (mass > Mass::ZERO).then(|| DeclaredRecycled {
                element: *element,
                mass_g: mass,
                basis: "declared".to_owned(),
            })
        })
        .collect()
}
