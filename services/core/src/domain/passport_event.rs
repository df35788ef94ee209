//! What the services that follow the passport feed (custody, stock) read of an issued or
//! versioned passport, from either credential form: the v1 subject, or the v2 (UNTP) subject
//! beside the placement declaration's facts (`data.placement`, `data.format` 2). One reader, so
//! that both consumers take the same facts from the same fields (`docs/credential.md`,
//! "How v1 is still read").

mod carried;

pub use carried::V2SubjectFacts;

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
    /// The magnet materials besides the rare earths (B, Co, Ni) in one unit's magnets, as the
    /// v2 credential lists them in `materialsProvenance` (a v1 subject has none).
    pub magnet_materials: Vec<(TrackedElement, Mass)>,
    /// Their recycled masses in one unit (`ree:recycledMassGrams` of those entries).
    pub magnet_materials_recycled: Vec<(TrackedElement, Mass)>,
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
        magnet_materials: Vec::new(),
        magnet_materials_recycled: Vec::new(),
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
    // The rare earths, and apart from them the other magnet materials (B, Co, Ni); any other
    // code is not tracked.
    let mut elements = Vec::new();
    let mut recycled = Vec::new();
    let mut magnet_materials = Vec::new();
    let mut magnet_materials_recycled = Vec::new();
    for m in s.materials {
        let Ok(tracked) = m.material_type.code.parse::<TrackedElement>() else {
            continue;
        };
        let recycled_mass = m.recycled.filter(|r| *r > Mass::ZERO);
        match tracked.rare_earth() {
            Some(element) => {
                elements.push((element, m.mass));
                if let Some(mass) = recycled_mass {
                    recycled.push((element, mass));
                }
            }
            None => {
                magnet_materials.push((tracked, m.mass));
                if let Some(mass) = recycled_mass {
                    magnet_materials_recycled.push((tracked, mass));
                }
            }
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
        magnet_materials,
        magnet_materials_recycled,
    })
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
        // The rare earths agree; the v2 form also carries the magnets' cobalt (v1 has no magnets).
        let mut from_v2 = facts(&v2).unwrap();
        assert_eq!(facts(&carried(&v2)).unwrap(), from_v2);
        assert_eq!(
            from_v2.magnet_materials,
            [(TrackedElement::Co, Mass::from_grams(3).unwrap())]
        );
        assert!(from_v2.magnet_materials_recycled.is_empty());
        from_v2.magnet_materials.clear();
        assert_eq!(facts(&v1).unwrap(), from_v2);
        let no_format = json!({"subject": v1["subject"]});
        assert_eq!(facts(&no_format).unwrap(), facts(&v1).unwrap());
    }

    /// `event` with its subject cut to what the passport feed carries.
    fn carried(event: &Value) -> Value {
        let mut out = event.clone();
        let subject = V2SubjectFacts::deserialize(&event["subject"]).unwrap();
        out["subject"] = serde_json::to_value(subject).unwrap();
        out
    }

    #[test]
    fn the_feed_carries_every_member_the_readers_read() {
        let event = json!({"format": 2, "subject": {"granularityLevel": "item",
            "id": "https://example.com/01/04012345000016/21/S-1", "ree:passportId": "x",
            "product": {"name": "Motor", "registeredId": "04012345000016",
                "idScheme": {"id": "https://id.gs1.org/01/", "name": "GTIN"}, "serialNumber": "S-1",
                "productCategory": [{"id": "x", "code": "ev_traction_motor", "name": "x"}],
                "ree:netMassGrams": 48000.5, "dimensions": {"weight": {"value": 48}}},
            "materialsProvenance": [
                {"materialType": {"id": "x", "code": "Nd", "name": "Neodymium"},
                 "ree:massGrams": 337.5, "ree:recycledMassGrams": 16.875, "originCountry": "CN"},
                {"materialType": {"code": "B"}, "ree:massGrams": 15, "ree:recycledMassGrams": null},
                {"materialType": {"code": "Fe"}, "ree:massGrams": 1000}],
            "circularityScorecard": {"ree:useType": "concentrated", "recyclableContent": 0.9,
                "ree:declaredRecycledContent": [{"element": "Pr", "massGrams": 2.5}]},
            "ree:permanentMagnets": [{"type": "NdFeB", "components": [0]}]},
            "placement": {"ree:marketCountry": "DE", "ree:placementDate": "2026-01-02",
                "ree:units": 1}});
        let cut = carried(&event);
        assert_eq!(facts(&cut).unwrap(), facts(&event).unwrap());
        let subject = &cut["subject"];
        assert!(subject.get("ree:permanentMagnets").is_none());
        assert!(subject["product"].get("dimensions").is_none());
        assert!(
            subject["materialsProvenance"][0]
                .get("originCountry")
                .is_none()
        );
        assert!(
            subject["circularityScorecard"]
                .get("recyclableContent")
                .is_none()
        );
        // The leaves are carried as they were signed.
        assert_eq!(subject["product"]["ree:netMassGrams"], 48000.5);
        assert_eq!(
            subject["materialsProvenance"][0]["ree:recycledMassGrams"],
            16.875
        );
        // A subject the readers refuse is refused cut too.
        let bad = json!({"format": 2, "subject": {"granularityLevel": "item",
            "product": {"productCategory": [{"code": "ev_traction_motor"}], "ree:netMassGrams": 1}},
            "placement": event["placement"]});
        assert!(facts(&bad).is_err());
        assert!(facts(&carried(&bad)).is_err());
    }

    #[test]
    fn v2_magnet_materials_are_read_beside_the_rare_earths() {
        let material = |code: &str, mass: f64, recycled: f64| {
            json!({"materialType": {"code": code}, "ree:massGrams": mass,
                "ree:recycledMassGrams": recycled})
        };
        let event = json!({"format": 2, "subject": {"granularityLevel": "item",
            "product": {"name": "x", "productCategory": [{"code": "ev_traction_motor"}],
                "ree:netMassGrams": 4000},
            "materialsProvenance": [material("B", 15.0, 0.0), material("Fe", 900.0, 0.0),
                material("Co", 30.0, 1.5), material("Nd", 450.0, 0.0), material("Ni", 2.0, 0.0)]},
            "placement": {"ree:marketCountry": "DE", "ree:placementDate": "2026-01-02",
                "ree:units": 1}});
        let f = facts(&event).unwrap();
        let g = |grams: u64| Mass::from_grams(grams).unwrap();
        assert_eq!(f.elements, [(Element::Nd, g(450))]);
        assert_eq!(
            f.magnet_materials,
            [
                (TrackedElement::B, g(15)),
                (TrackedElement::Co, g(30)),
                (TrackedElement::Ni, g(2))
            ]
        );
        assert_eq!(
            f.magnet_materials_recycled,
            [(
                TrackedElement::Co,
                Mass::from_micrograms(1_500_000).unwrap()
            )]
        );
        assert!(f.recycled.is_empty());
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
