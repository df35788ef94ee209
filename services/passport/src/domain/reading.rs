//! A v2 passport read in the v1 subject's shape: what the passport page, the resolver and the
//! passport view's `subject` show, whichever form was signed. The placement facts are in it only
//! when the caller's tier sees the placement declaration; the rounded UNTP numbers are never
//! read back (the exact `ree:` masses are).

use reetrace_core::domain::{
    Category, Element, Eori, Gtin, Lei, LotNumber, Mass, OperatorId, SerialNumber,
};
use uuid::Uuid;

use super::placement::Placement;
use super::registration::{Document, EndOfLife, Facility, PlacedOnMarket};
use super::subject::{CredentialSubject, ElementTotal, Manufacturer, ReeSummary, SubjectProduct};
use super::untp::{DeclaredRecycled, EORI_SCHEME, LEI_SCHEME, ProductPassport};

/// `passport` (and its placement, when the caller may see it) in the v1 subject's shape;
/// `None` when a field we wrote does not parse back (a corrupt row).
pub fn v1_shape(
    passport: &ProductPassport,
    placement: Option<&Placement>,
    org_id: Uuid,
) -> Option<CredentialSubject> {
    let p = &passport.product;
    let gtin = match (&p.id_scheme.id, &p.registered_id) {
        (scheme, id) if scheme == Gtin::SCHEME => Some(Gtin::parse(id).ok()?),
        _ => None,
    };
    let category: Category = p.product_category.first()?.code.parse().ok()?;
    let party = &p.produced_by_party;
    let operator_id = match (party.id_scheme.as_ref(), party.registered_id.as_deref()) {
        (Some(scheme), Some(id)) if scheme.id == EORI_SCHEME => {
            Some(OperatorId::Eori(Eori::parse(id).ok()?))
        }
        (Some(scheme), Some(id)) if scheme.id == LEI_SCHEME => {
            Some(OperatorId::Lei(Lei::parse(id).ok()?))
        }
        _ => None,
    };
    let mut elements = Vec::new();
    let mut recycled: Vec<ElementTotal> = Vec::new();
    for m in &passport.materials_provenance {
        let Ok(element) = m.material_type.code.parse::<Element>() else {
            continue;
        };
        elements.push(ElementTotal {
            element,
            mass_g: m.mass_g,
        });
        if m.recycled_mass_g > Mass::ZERO {
            recycled.push(ElementTotal {
                element,
                mass_g: m.recycled_mass_g,
            });
        }
    }
    let c = &passport.circularity_scorecard;
    for DeclaredRecycled {
        element, mass_g, ..
    } in &c.declared_recycled_content
    {
        match recycled.iter_mut().find(|r| r.element == *element) {
            Some(r) => r.mass_g = r.mass_g.checked_add(*mass_g)?,
            None => recycled.push(ElementTotal {
                element: *element,
                mass_g: *mass_g,
            }),
        }
    }
    recycled.sort_by_key(|r| r.element.atomic_number());
    let total = Mass::checked_sum(elements.iter().map(|t| t.mass_g))?;
    let end_of_life = (c.dismantling.is_some() || c.use_type.is_some() || !c.hazards.is_empty())
        .then(|| EndOfLife {
            dismantling: c.dismantling.clone(),
            use_type: c.use_type,
            hazards: c.hazards.clone(),
            // The removal sequence is in the details document, never in the subject.
            removal_steps: Vec::new(),
        });
    let facility = match (&p.produced_at_facility, &p.country_of_production) {
        (Some(f), Some(country)) => Some(Facility {
            name: f.name.clone(),
            country: country.parse().ok()?,
            identifier: f.registered_id.clone(),
        }),
        _ => None,
    };
    Some(CredentialSubject {
        id: passport.id.clone(),
        passport_id: passport.passport_id,
        version: passport.version,
        granularity: passport.granularity_level,
        product: SubjectProduct {
            gtin,
            serial: p
                .serial_number
                .as_deref()
                .map(SerialNumber::parse)
                .transpose()
                .ok()?,
            lot: p
                .batch_number
                .as_deref()
                .map(LotNumber::parse)
                .transpose()
                .ok()?,
            units: placement
                .filter(|_| passport.granularity_level == super::registration::Granularity::Batch)
                .map(|pl| pl.units),
            name: p.name.clone(),
            model: p.model.clone(),
            category,
            net_mass_g: p.net_mass_g,
            manufactured_on: p.production_date,
            placed_on_market: match placement {
                Some(pl) => Some(PlacedOnMarket {
                    date: pl.placement_date,
                    country: pl.market_country.parse().ok()?,
                    nuts: pl.nuts_region.clone(),
                }),
                None => None,
            },
            expected_lifetime_years: p.expected_lifetime_years,
            facility,
            model_passport: p.model_passport.clone(),
        },
        manufacturer: Manufacturer {
            id: party.id.clone(),
            org_id,
            name: party.name.clone(),
            operator_id,
        },
        ree_content: ReeSummary {
            elements,
            total_mass_g: total,
            recycled,
            use_type: c.use_type,
            component_count: passport.component_count,
            components_digest: passport.details_digest.clone(),
        },
        end_of_life,
        documents: p
            .further_information
            .iter()
            .map(|l| Document {
                title: l.link_name.clone(),
                url: l.link_url.clone(),
                kind: l.link_type.clone(),
            })
            .collect(),
        previous_version: passport.previous_version.clone(),
    })
}
