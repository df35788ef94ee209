//! What the v2 credential says publicly about a product's permanent magnets
//! (`docs/credential.md`, sections 2 and 6): which types it holds and how much of each (the
//! label's content), the elements of CRMA art. 29 held in them, the share of each recovered
//! from post-consumer waste, computed from recycled-content claims on custody lots (never typed
//! in), and the responsible person of art. 28(3). Each magnet's own detail stays in the
//! details document.

use reetrace_core::domain::{ChemicalElement, Mass, significant};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::registration::{MagnetSubtype, MagnetType, Registration, ResponsiblePerson};

/// The elements whose recycled share CRMA art. 29 asks for, in its order.
pub const ARTICLE_29: [ChemicalElement; 8] = [
    ChemicalElement::Nd,
    ChemicalElement::Dy,
    ChemicalElement::Pr,
    ChemicalElement::Tb,
    ChemicalElement::B,
    ChemicalElement::Sm,
    ChemicalElement::Ni,
    ChemicalElement::Co,
];

/// The magnets of one type (and subtype) in one unit of the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MagnetSummary {
    #[serde(rename = "magnetType")]
    pub magnet_type: MagnetType,
    #[serde(
        rename = "magnetSubtype",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub magnet_subtype: Option<MagnetSubtype>,
    /// Individual magnets.
    pub count: u64,
    /// All of them together.
    #[serde(rename = "massGrams")]
    pub mass_g: Mass,
}

/// The recycled share of one art. 29 element in the magnets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ElementRecycled {
    /// The element's symbol.
    pub element: String,
    /// `computed`, or `not_applicable` when the magnets hold none of it (not 0).
    pub status: String,
    /// Recovered mass over the element's mass in the magnets (rounded by core's one rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    #[serde(
        rename = "recoveredMassGrams",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recovered_mass_g: Option<Mass>,
    #[serde(
        rename = "magnetMassGrams",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub magnet_mass_g: Option<Mass>,
}

/// The responsible person as the credential states it (schema.org-like address terms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Responsible {
    pub name: String,
    pub address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    #[serde(rename = "streetAddress")]
    pub street_address: String,
    #[serde(rename = "postalCode")]
    pub postal_code: String,
    #[serde(rename = "addressLocality")]
    pub address_locality: String,
    #[serde(
        rename = "addressRegion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub address_region: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(rename = "addressCountry")]
    pub address_country: String,
}

impl Responsible {
    pub fn of(person: &ResponsiblePerson) -> Responsible {
        Responsible {
            name: person.name.trim().to_owned(),
            address: Address {
                street_address: person.address.street.clone(),
                postal_code: person.address.postal_code.clone(),
                address_locality: person.address.locality.clone(),
                address_region: person.address.region.clone(),
                address_country: person.address.country.code().to_owned(),
            },
            email: person.email.clone(),
            telephone: person.phone.clone(),
            url: person.url.clone(),
        }
    }
}

/// The magnets of a registration by type and subtype, in the order first registered.
pub fn summary(registration: &Registration) -> Vec<MagnetSummary> {
    let mut out: Vec<MagnetSummary> = Vec::new();
    for magnet in registration
        .ree_content
        .components
        .iter()
        .flat_map(|c| &c.magnets)
    {
        let count = u64::from(magnet.count);
        let mass = i128::from(magnet.unit_mass_g.micrograms()) * i128::from(magnet.count);
        let mass =
            Mass::from_micrograms(i64::try_from(mass).unwrap_or(i64::MAX)).unwrap_or(Mass::MAX);
        match out
            .iter_mut()
            .find(|s| s.magnet_type == magnet.magnet_type && s.magnet_subtype == magnet.subtype)
        {
            Some(s) => {
                s.count += count;
                s.mass_g = s.mass_g.checked_add(mass).unwrap_or(Mass::MAX);
            }
            None => out.push(MagnetSummary {
                magnet_type: magnet.magnet_type,
                magnet_subtype: magnet.subtype,
                count,
                mass_g: mass,
            }),
        }
    }
    out
}

/// Per element, the mass the magnets of one unit hold (Σ count × composition), in micrograms.
pub fn held_in_magnets(registration: &Registration) -> Vec<(ChemicalElement, i128)> {
    let mut out: Vec<(ChemicalElement, i128)> = Vec::new();
    for magnet in registration
        .ree_content
        .components
        .iter()
        .flat_map(|c| &c.magnets)
    {
        for entry in &magnet.composition {
            let mass = i128::from(entry.mass_g.micrograms()) * i128::from(magnet.count);
            add(&mut out, entry.element, mass);
        }
    }
    out.sort_by_key(|(e, _)| e.atomic_number());
    out
}

/// Per element, the post-consumer mass claimed on custody lots for the magnets of one unit.
fn claimed_for_magnets(registration: &Registration) -> Vec<(ChemicalElement, i128)> {
    let mut out = Vec::new();
    for magnet in registration
        .ree_content
        .components
        .iter()
        .flat_map(|c| &c.magnets)
    {
        for source in &magnet.recycled_sources {
            for e in &source.elements {
                add(
                    &mut out,
                    ChemicalElement::from(e.element),
                    i128::from(e.mass_g.micrograms()),
                );
            }
        }
    }
    out
}

fn add(out: &mut Vec<(ChemicalElement, i128)>, element: ChemicalElement, mass: i128) {
    match out.iter_mut().find(|(e, _)| *e == element) {
        Some((_, total)) => *total += mass,
        None => out.push((element, mass)),
    }
}

fn mass_of(micrograms: i128) -> Mass {
    i64::try_from(micrograms)
        .ok()
        .and_then(|m| Mass::from_micrograms(m).ok())
        .unwrap_or(Mass::MAX)
}

/// The art. 29 shares, computed: for each element, recovered over held, or not applicable.
/// Empty when the product registers no magnets.
pub fn recycled_shares(registration: &Registration) -> Vec<ElementRecycled> {
    let held = held_in_magnets(registration);
    if held.is_empty() {
        return Vec::new();
    }
    let claimed = claimed_for_magnets(registration);
    ARTICLE_29
        .iter()
        .map(|element| {
            let magnet = held
                .iter()
                .find(|(e, _)| e == element)
                .map_or(0, |(_, m)| *m);
            if magnet == 0 {
                return ElementRecycled {
                    element: element.symbol().to_owned(),
                    status: "not_applicable".to_owned(),
                    share: None,
                    recovered_mass_g: None,
                    magnet_mass_g: None,
                };
            }
            let recovered = claimed
                .iter()
                .find(|(e, _)| e == element)
                .map_or(0, |(_, m)| *m)
                .min(magnet);
            ElementRecycled {
                element: element.symbol().to_owned(),
                status: "computed".to_owned(),
                share: significant::ratio(recovered, magnet),
                recovered_mass_g: Some(mass_of(recovered)),
                magnet_mass_g: Some(mass_of(magnet)),
            }
        })
        .collect()
}

/// The art. 29 elements other than rare earths (B, Ni, Co) the magnets hold: they join the
/// rare earths in `materialsProvenance`.
pub fn other_article_29(registration: &Registration) -> Vec<(ChemicalElement, Mass)> {
    held_in_magnets(registration)
        .into_iter()
        .filter(|(e, m)| *m > 0 && e.rare_earth().is_none() && ARTICLE_29.contains(e))
        .map(|(e, m)| (e, mass_of(m)))
        .collect()
}
