//! The credential subject: what the signed passport says about a product.
//!
//! Everything in the subject is public (anyone can read and verify the credential). Component
//! detail (where each magnet sits, how to take it out, its own composition and recycled-content
//! sources) is for professionals: the subject carries only its digest (`components_digest`, SRI
//! format over the JCS bytes of a salted document), and professionals who receive the document
//! can check it against the signed credential. Confidential fields are never signed.

use chrono::NaiveDate;
use reetrace_core::crypto::jcs;
use reetrace_core::domain::{
    Category, Element, Gtin, LotNumber, Mass, OperatorId, SerialNumber, UseType,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::jcs_members;
use super::registration::{
    Component, DetailsAccess, Document, EndOfLife, Facility, Granularity, PlacedOnMarket,
    Registration, RemovalStep, ResponsiblePerson,
};

/// The signed statement about one product (credentialSubject).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CredentialSubject {
    /// The product's identifier: its GS1 Digital Link URI, or `<base>/p/{passport id}`.
    pub id: String,
    pub passport_id: Uuid,
    pub version: u32,
    pub granularity: Granularity,
    pub product: SubjectProduct,
    pub manufacturer: Manufacturer,
    pub ree_content: ReeSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life: Option<EndOfLife>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
    /// The credential id (`urn:uuid:...`) of the version this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
}

/// The product as the credential states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubjectProduct {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<Gtin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<SerialNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u64>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub category: Category,
    pub net_mass_g: Mass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufactured_on: Option<NaiveDate>,
    /// Always in a v1 credential. In the reading of a v2 passport (`PassportView::subject`),
    /// only for the tiers that see its placement declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_on_market: Option<PlacedOnMarket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_lifetime_years: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<Facility>,
    /// The model passport's product URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_passport: Option<String>,
}

/// Who made the product (the credential's issuer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Manufacturer {
    /// The organisation's DID (the credential's issuer).
    pub id: String,
    pub org_id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<OperatorId>,
}

/// The REE content of one unit, summed over its components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReeSummary {
    /// Per element, in atomic-number order.
    pub elements: Vec<ElementTotal>,
    /// All REEs together.
    pub total_mass_g: Mass,
    /// Recycled REE mass per element (each component's element mass times its recycled share).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recycled: Vec<ElementTotal>,
    /// Concentrated or dispersed use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_type: Option<UseType>,
    pub component_count: u32,
    /// `sha256-<base64>` (SRI format) of the JCS bytes of the component details document.
    pub components_digest: String,
}

/// A mass of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ElementTotal {
    pub element: Element,
    pub mass_g: Mass,
}

/// The component detail professionals see; its digest is in the signed subject.
///
/// The fields after `components` are absent when not registered, so that a registration
/// without them has the same document (and digest, for the same salt) as in v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentDetails {
    /// Random, so that the digest reveals nothing about guessable content.
    pub salt: String,
    /// As registered, with their magnets and, for components with magnets, the derived
    /// rare-earth `elements`.
    pub components: Vec<Component>,
    /// The removal sequence (`end_of_life.removal_steps` of the registration).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removal_steps: Vec<RemovalStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_person: Option<ResponsiblePerson>,
    /// Who may read this document, as registered (absent: `restricted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_access: Option<DetailsAccess>,
}

impl ComponentDetails {
    pub fn new(components: Vec<Component>) -> Self {
        Self {
            salt: fresh_salt(),
            components,
            removal_steps: Vec::new(),
            responsible_person: None,
            details_access: None,
        }
    }

    /// The details document of a registration (its magnets derived already).
    pub fn of(registration: &Registration) -> Self {
        Self {
            removal_steps: registration
                .end_of_life
                .as_ref()
                .map(|eol| eol.removal_steps.clone())
                .unwrap_or_default(),
            responsible_person: registration.responsible_person.clone(),
            details_access: registration.details_access,
            ..Self::new(registration.ree_content.components.clone())
        }
    }

    /// The canonical bytes the digest is taken over.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        jcs::canonicalize_serialize(self).unwrap_or_default()
    }

    /// The canonical bytes of [`ComponentDetails::of`] `registration`, with a fresh salt, cut
    /// from `canonical`, the JCS bytes of `registration` ([`Registration::canonical_bytes`],
    /// which its fingerprint hashes): what signing stores. The members of the details document
    /// are members of the registration, already in JCS form there (a value's canonical bytes
    /// are the same wherever it sits), so they are copied, not canonicalized a second time.
    /// `None` when `canonical` is not such an object.
    pub fn canonical_bytes_from(registration: &Registration, canonical: &[u8]) -> Option<Vec<u8>> {
        let salt = fresh_salt();
        let members = jcs_members::members(canonical)?;
        let find = |key: &str| {
            members
                .iter()
                .find(|(k, _)| *k == key.as_bytes())
                .map(|(_, v)| *v)
        };
        let components = jcs_members::member(find("ree_content")?, "components")?;
        let removal_steps = match find("end_of_life") {
            Some(eol) => jcs_members::member(eol, "removal_steps"),
            None => None,
        };
        // The members of the details document in JCS order, each absent where the
        // registration's is (both omit empty removal steps and absent options).
        let parts = [
            ("components", Some(components)),
            ("details_access", find("details_access")),
            ("removal_steps", removal_steps),
            ("responsible_person", find("responsible_person")),
        ];
        let size: usize = parts.iter().flat_map(|(_, v)| v.map(<[u8]>::len)).sum();
        let mut out = Vec::with_capacity(size + salt.len() + 96);
        out.push(b'{');
        for (key, value) in parts {
            if let Some(value) = value {
                out.push(b'"');
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(b"\":");
                out.extend_from_slice(value);
                out.push(b',');
            }
        }
        out.extend_from_slice(b"\"salt\":\"");
        out.extend_from_slice(salt.as_bytes());
        out.extend_from_slice(b"\"}");
        debug_assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&DetailsOf::new(&salt, registration).canonical_bytes()),
            "the details document cut from the registration differs from the one written"
        );
        Some(out)
    }
}

/// 16 random bytes in hex: the salt of a details document.
fn fresh_salt() -> String {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    hex::encode(salt)
}

/// [`ComponentDetails`] borrowed from a registration: the same fields, names and omissions.
#[derive(Serialize)]
struct DetailsOf<'a> {
    salt: &'a str,
    components: &'a [Component],
    #[serde(skip_serializing_if = "<[RemovalStep]>::is_empty")]
    removal_steps: &'a [RemovalStep],
    #[serde(skip_serializing_if = "Option::is_none")]
    responsible_person: Option<&'a ResponsiblePerson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details_access: Option<DetailsAccess>,
}

impl<'a> DetailsOf<'a> {
    fn new(salt: &'a str, registration: &'a Registration) -> Self {
        DetailsOf {
            salt,
            components: &registration.ree_content.components,
            removal_steps: registration
                .end_of_life
                .as_ref()
                .map_or(&[], |eol| eol.removal_steps.as_slice()),
            responsible_person: registration.responsible_person.as_ref(),
            details_access: registration.details_access,
        }
    }

    fn canonical_bytes(&self) -> Vec<u8> {
        jcs::canonicalize_serialize(self).unwrap_or_default()
    }
}

/// A Subresource Integrity string for SHA-256.
pub fn sri_sha256(bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
    )
}

/// Sums the content of a registration per element (exact, in micrograms).
pub fn element_totals(registration: &Registration) -> (Vec<ElementTotal>, Vec<ElementTotal>) {
    let mut held = [0i64; 17];
    let mut recycled = [0i128; 17];
    for component in &registration.ree_content.components {
        let share = component
            .recycled_content
            .as_ref()
            .map(|r| i128::from(r.pre_consumer.ppm()) + i128::from(r.post_consumer.ppm()))
            .unwrap_or(0);
        for e in &component.elements {
            let slot = element_slot(e.element);
            held[slot] = held[slot].saturating_add(e.mass_g.micrograms());
            recycled[slot] += i128::from(e.mass_g.micrograms()) * share;
        }
    }
    let totals = Element::ALL
        .iter()
        .zip(held)
        .filter(|(_, m)| *m > 0)
        .filter_map(|(e, m)| {
            Some(ElementTotal {
                element: *e,
                mass_g: Mass::from_micrograms(m).ok()?,
            })
        })
        .collect();
    let recycled = Element::ALL
        .iter()
        .zip(recycled)
        .filter(|(_, m)| *m > 0)
        .filter_map(|(e, ppm_micrograms)| {
            // Round half up to the microgram: shares are in ppm.
            let micrograms = (ppm_micrograms + 500_000) / 1_000_000;
            Some(ElementTotal {
                element: *e,
                mass_g: Mass::from_micrograms(i64::try_from(micrograms).ok()?).ok()?,
            })
        })
        .filter(|t| t.mass_g > Mass::ZERO)
        .collect();
    (totals, recycled)
}

fn element_slot(element: Element) -> usize {
    Element::ALL.iter().position(|e| *e == element).unwrap_or(0)
}

/// What building a subject needs besides the registration.
#[derive(Debug, Clone)]
pub struct SubjectContext {
    pub subject_id: String,
    pub passport_id: Uuid,
    pub version: u32,
    pub manufacturer: Manufacturer,
    pub model_passport_uri: Option<String>,
    pub previous_version: Option<String>,
}

/// Builds the subject and the component details of a registration, with the details'
/// canonical JSON (what the subject's digest is taken over, and what is stored).
pub fn build(
    registration: &Registration,
    ctx: SubjectContext,
) -> (CredentialSubject, ComponentDetails, String) {
    let details = ComponentDetails::of(registration);
    let canonical = details.canonical_bytes();
    let (elements, recycled) = element_totals(registration);
    let total = Mass::checked_sum(elements.iter().map(|t| t.mass_g)).unwrap_or(Mass::MAX);
    let p = &registration.product;
    let subject = CredentialSubject {
        id: ctx.subject_id,
        passport_id: ctx.passport_id,
        version: ctx.version,
        granularity: registration.granularity,
        product: SubjectProduct {
            gtin: p.gtin,
            serial: p.serial.clone(),
            lot: p.lot.clone(),
            units: p.units,
            name: p.name.trim().to_owned(),
            model: p.model.as_ref().map(|m| m.trim().to_owned()),
            category: p.category,
            net_mass_g: p.net_mass_g,
            manufactured_on: p.manufactured_on,
            placed_on_market: Some(p.placed_on_market.clone()),
            expected_lifetime_years: p.expected_lifetime_years,
            facility: p.facility.clone(),
            model_passport: ctx.model_passport_uri,
        },
        manufacturer: ctx.manufacturer,
        ree_content: ReeSummary {
            elements,
            total_mass_g: total,
            recycled,
            use_type: registration.use_type(),
            component_count: u32::try_from(registration.ree_content.components.len())
                .unwrap_or(u32::MAX),
            components_digest: sri_sha256(&canonical),
        },
        end_of_life: registration
            .end_of_life
            .as_ref()
            .and_then(EndOfLife::for_subject),
        documents: registration.documents.clone(),
        previous_version: ctx.previous_version,
    };
    // JCS output is UTF-8 by construction.
    let canonical = String::from_utf8(canonical).unwrap_or_default();
    (subject, details, canonical)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::tests::magnets::verdict;
    use crate::domain::tests::{magnets::magnet_motor, motor};

    #[test]
    fn the_borrowed_details_are_the_details_document() {
        for value in [magnet_motor(), motor()] {
            let registration = verdict(&value).unwrap();
            let owned = ComponentDetails::of(&registration);
            let borrowed = DetailsOf::new(&owned.salt, &registration);
            let bytes = borrowed.canonical_bytes();
            assert_eq!(bytes, owned.canonical_bytes());
            // And it reads back as the document it is.
            let back: ComponentDetails = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(back.canonical_bytes(), bytes);
        }
    }
}
