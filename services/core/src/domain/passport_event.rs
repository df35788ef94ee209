//! What the services that follow the passport feed (custody, stock) read of an issued or
//! versioned passport, from either credential form: the v1 subject, or the v2 (UNTP) subject
//! beside the placement declaration's facts (`data.placement`, `data.format` 2). One reader, so
//! that both consumers take the same facts from the same fields (`docs/credential.md`,
//! "How v1 is still read").

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Category, Country, Element, Gtin, LotNumber, Mass, SerialNumber, TrackedElement, UseType,
};

/// A passport version's facts, as the consumers of the feed need them.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedPassport {
    /// `item`, `batch` or `model`.
    pub granularity: String,
    pub gtin: Option<Gtin>,
    pub serial: Option<SerialNumber>,
    pub lot: Option<LotNumber>,
    /// Units placed (a batch's count; 1 otherwise, when the event does not say).
    pub units: Option<u64>,
    pub name: String,
    pub category: Category,
    pub net_mass: Mass,
    pub market_date: NaiveDate,
    pub market_country: Country,
    pub use_type: Option<UseType>,
    /// Rare-earth masses of one unit.
    pub elements: Vec<(Element, Mass)>,
    /// Recycled rare-earth masses of one unit: claimed on lots, or declared.
    pub recycled: Vec<(Element, Mass)>,
}

/// Reads the facts of a `passport.issued` / `passport.versioned` event's data.
pub fn facts(data: &Value) -> Result<IssuedPassport, String> {
    match data.get("format").and_then(Value::as_u64) {
        None | Some(1) => v1(&data["subject"]),
        Some(2) => v2(&data["subject"], &data["placement"]),
        Some(other) => Err(format!("credential format {other} is not 1 or 2")),
    }
}

#[derive(Deserialize)]
struct V1Subject {
    granularity: String,
    product: V1Product,
    ree_content: V1Content,
}

#[derive(Deserialize)]
struct V1Product {
    gtin: Option<Gtin>,
    serial: Option<SerialNumber>,
    lot: Option<LotNumber>,
    units: Option<u64>,
    name: String,
    category: Category,
    net_mass_g: Mass,
    placed_on_market: V1Market,
}

#[derive(Deserialize)]
struct V1Market {
    date: NaiveDate,
    country: Country,
}

#[derive(Deserialize)]
struct V1Content {
    elements: Vec<Amount>,
    #[serde(default)]
    recycled: Vec<Amount>,
    use_type: Option<UseType>,
}

#[derive(Deserialize)]
struct Amount {
    element: Element,
    mass_g: Mass,
}

fn pairs(amounts: Vec<Amount>) -> Vec<(Element, Mass)> {
    amounts.into_iter().map(|a| (a.element, a.mass_g)).collect()
}

fn v1(subject: &Value) -> Result<IssuedPassport, String> {
    let s = V1Subject::deserialize(subject).map_err(|e| format!("v1 subject: {e}"))?;
    Ok(IssuedPassport {
        granularity: s.granularity,
        gtin: s.product.gtin,
        serial: s.product.serial,
        lot: s.product.lot,
        units: s.product.units,
        name: s.product.name,
        category: s.product.category,
        net_mass: s.product.net_mass_g,
        market_date: s.product.placed_on_market.date,
        market_country: s.product.placed_on_market.country,
        use_type: s.ree_content.use_type,
        elements: pairs(s.ree_content.elements),
        recycled: pairs(s.ree_content.recycled),
    })
}

#[derive(Deserialize)]
struct V2Subject {
    #[serde(rename = "granularityLevel")]
    granularity: String,
    product: V2Product,
    #[serde(rename = "materialsProvenance", default)]
    materials: Vec<V2Material>,
    #[serde(rename = "circularityScorecard")]
    circularity: Option<V2Circularity>,
}

#[derive(Deserialize)]
struct V2Product {
    name: String,
    #[serde(rename = "registeredId")]
    registered_id: Option<String>,
    #[serde(rename = "idScheme")]
    id_scheme: Option<V2Scheme>,
    #[serde(rename = "serialNumber")]
    serial: Option<SerialNumber>,
    #[serde(rename = "batchNumber")]
    lot: Option<LotNumber>,
    #[serde(rename = "productCategory")]
    categories: Vec<V2Classification>,
    #[serde(rename = "ree:netMassGrams")]
    net_mass: Mass,
}

#[derive(Deserialize)]
struct V2Scheme {
    id: String,
}

#[derive(Deserialize)]
struct V2Classification {
    code: String,
}

#[derive(Deserialize)]
struct V2Material {
    #[serde(rename = "materialType")]
    material_type: V2Classification,
    #[serde(rename = "ree:massGrams")]
    mass: Mass,
    #[serde(rename = "ree:recycledMassGrams", default)]
    recycled: Option<Mass>,
}

#[derive(Deserialize)]
struct V2Circularity {
    #[serde(rename = "ree:useType")]
    use_type: Option<UseType>,
    #[serde(rename = "ree:declaredRecycledContent", default)]
    declared: Vec<V2Declared>,
}

#[derive(Deserialize)]
struct V2Declared {
    element: Element,
    #[serde(rename = "massGrams")]
    mass: Mass,
}

#[derive(Deserialize)]
struct V2Placement {
    #[serde(rename = "ree:marketCountry")]
    country: Country,
    #[serde(rename = "ree:placementDate")]
    date: NaiveDate,
    #[serde(rename = "ree:units")]
    units: u64,
}

fn v2(subject: &Value, placement: &Value) -> Result<IssuedPassport, String> {
    let s = V2Subject::deserialize(subject).map_err(|e| format!("v2 subject: {e}"))?;
    let p = V2Placement::deserialize(placement).map_err(|e| format!("placement: {e}"))?;
    let gtin = match (&s.product.id_scheme, &s.product.registered_id) {
        (Some(scheme), Some(id)) if scheme.id == Gtin::SCHEME => {
            Some(Gtin::parse(id).map_err(|e| format!("registeredId: {e}"))?)
        }
        _ => None,
    };
    let category_code = s
        .product
        .categories
        .first()
        .map(|c| c.code.as_str())
        .ok_or("no productCategory")?;
    let category: Category = category_code
        .parse()
        .map_err(|e| format!("productCategory: {e}"))?;
    // Rare earths only: other elements (B, Co, Ni of magnets) are not counted here yet.
    let mut elements = Vec::new();
    let mut recycled = Vec::new();
    for m in s.materials {
        let Ok(element) = m.material_type.code.parse::<Element>() else {
            continue;
        };
        elements.push((element, m.mass));
        if let Some(mass) = m.recycled.filter(|r| *r > Mass::ZERO) {
            recycled.push((element, mass));
        }
    }
    let (use_type, declared) = match s.circularity {
        Some(c) => (c.use_type, c.declared),
        None => (None, Vec::new()),
    };
    for d in declared {
        match recycled.iter_mut().find(|(e, _)| *e == d.element) {
            Some((_, mass)) => {
                *mass = mass.checked_add(d.mass).ok_or("recycled mass overflows")?;
            }
            None => recycled.push((d.element, d.mass)),
        }
    }
    Ok(IssuedPassport {
        granularity: s.granularity,
        gtin,
        serial: s.product.serial,
        lot: s.product.lot,
        units: Some(p.units),
        name: s.product.name,
        category,
        net_mass: s.product.net_mass,
        market_date: p.date,
        market_country: p.country,
        use_type,
        elements,
        recycled,
    })
}

/// The magnet materials (B, Co, Ni) of one unit that a passport version states beside its
/// rare earths: the v2 subject's `materialsProvenance` lists them where the magnets hold them
/// (from the magnets' composition); a v1 subject states none. For custody, whose dismantling
/// takes out of a product what its passport says it holds.
pub fn magnet_materials(data: &Value) -> Result<Vec<(TrackedElement, Mass)>, String> {
    if data.get("format").and_then(Value::as_u64) != Some(2) {
        return Ok(Vec::new());
    }
    #[derive(Deserialize)]
    struct Materials {
        #[serde(rename = "materialsProvenance", default)]
        materials: Vec<V2Material>,
    }
    let s = Materials::deserialize(&data["subject"]).map_err(|e| format!("v2 subject: {e}"))?;
    Ok(s.materials
        .into_iter()
        .filter_map(|m| {
            let element = m.material_type.code.parse::<TrackedElement>().ok()?;
            (element.rare_earth().is_none()).then_some((element, m.mass))
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_forms_give_the_same_facts() {
        let v1 = json!({"format": 1, "subject": {"granularity": "batch",
            "product": {"gtin": "04012345000016", "lot": "L-7", "units": 40, "name": "Hub motor",
                "category": "ev_traction_motor", "net_mass_g": 4000,
                "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
            "ree_content": {"elements": [{"element": "Nd", "mass_g": 380.4}],
                "recycled": [{"element": "Nd", "mass_g": 21.12}], "use_type": "concentrated",
                "total_mass_g": 380.4, "component_count": 1, "components_digest": "sha256-x"}}});
        let v2 = json!({"format": 2,
            "subject": {"granularityLevel": "batch",
                "product": {"name": "Hub motor", "registeredId": "04012345000016",
                    "idScheme": {"id": "https://id.gs1.org/01/", "name": "GTIN"}, "batchNumber": "L-7",
                    "productCategory": [{"id": "x", "code": "ev_traction_motor", "name": "x"}],
                    "ree:netMassGrams": 4000},
                "materialsProvenance": [
                    {"materialType": {"id": "x", "code": "Nd", "name": "Neodymium"},
                     "ree:massGrams": 380.4, "ree:recycledMassGrams": 21.12},
                    {"materialType": {"id": "x", "code": "Co", "name": "Cobalt"}, "ree:massGrams": 3}],
                "circularityScorecard": {"ree:useType": "concentrated"}},
            "placement": {"ree:marketCountry": "FR", "ree:placementDate": "2026-04-15", "ree:units": 40}});
        assert_eq!(facts(&v1).unwrap(), facts(&v2).unwrap());
        // The cobalt of the v2 subject is a magnet material, not a rare earth.
        assert_eq!(
            magnet_materials(&v2).unwrap(),
            [(TrackedElement::Co, Mass::from_grams(3).unwrap())]
        );
        assert!(magnet_materials(&v1).unwrap().is_empty());
        let no_format = json!({"subject": v1["subject"]});
        assert_eq!(facts(&no_format).unwrap(), facts(&v1).unwrap());
    }

    #[test]
    fn a_v2_event_without_its_placement_is_refused() {
        let event = json!({"format": 2, "subject": {"granularityLevel": "item",
            "product": {"name": "x", "productCategory": [{"code": "ev_traction_motor"}],
                "ree:netMassGrams": 1}}});
        assert!(facts(&event).unwrap_err().starts_with("placement"));
        assert!(facts(&json!({"format": 3})).is_err());
    }
}
