//! The demo's world: what a kind of product is (its REE content from the reference figures, or
//! its magnets and CRMA declaration), the organisations, and the registration of one product.

use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::magnets::Design;

/// A kind of product the demo makes.
pub(super) struct Kind {
    pub(super) category: &'static str,
    pub(super) name: &'static str,
    /// Net mass of one unit, grams.
    pub(super) net_mass_g: f64,
    pub(super) content: Content,
    /// Units per passport: 1 for items, more for batches.
    pub(super) units: u64,
    pub(super) lifetime_years: f64,
    /// The first and last year it is placed on the market.
    pub(super) years: (i32, i32),
    /// Relative number of passports per year, first and last year (linear in between).
    pub(super) volume: (f64, f64),
    /// Share of end-of-life products collected in the demo.
    pub(super) collection: f64,
    /// Share of the magnet lot recovered into oxide.
    pub(super) recovery: f64,
}

/// What a kind registers of its rare earths.
pub(super) enum Content {
    /// One component with its element masses, from the reference figures.
    Elements(Reference),
    /// Its magnets, one by one, with the removal sequence and the CRMA scope (art. 28(4)).
    Magnets(fn() -> Design),
}

/// One REE-bearing component as the reference table describes it.
pub(super) struct Reference {
    pub(super) component: &'static str,
    pub(super) material: &'static str,
    pub(super) component_mass_g: f64,
    pub(super) location: &'static str,
    /// Grams of each element per unit.
    pub(super) elements: &'static [(&'static str, f64)],
}

/// What dismantling one unit yields before losses: the lot's material, mass and rare earths.
pub(super) struct Yield {
    pub(super) material: &'static str,
    pub(super) mass_g: f64,
    pub(super) elements: Vec<(&'static str, f64)>,
}

impl Kind {
    pub(super) fn design(&self) -> Option<Design> {
        match self.content {
            Content::Elements(_) => None,
            Content::Magnets(design) => Some(design()),
        }
    }

    pub(super) fn dismantled(&self) -> Yield {
        match &self.content {
            Content::Elements(r) => Yield {
                material: r.material,
                mass_g: r.component_mass_g,
                elements: r.elements.to_vec(),
            },
            Content::Magnets(design) => {
                let design = design();
                let first = &design.parts[0];
                Yield {
                    material: first.material,
                    mass_g: design.parts.iter().map(|p| p.mass_g).sum(),
                    elements: design.rare_earths(),
                }
            }
        }
    }
}

/// The fewest manufacturers of each category in each year (the default disclosure threshold).
pub(super) const MAKERS_PER_CATEGORY: usize = 3;

/// A manufacturer, who also answers for its products in the Union (CRMA art. 28(3)).
pub(super) struct Maker {
    pub(super) name: &'static str,
    pub(super) country: &'static str,
    pub(super) street: &'static str,
    pub(super) postal_code: &'static str,
    pub(super) locality: &'static str,
    pub(super) domain: &'static str,
}

pub(super) const MANUFACTURERS: &[Maker] = &[
    Maker {
        name: "Rheinmotoren GmbH",
        country: "DE",
        street: "Industriestraße 12",
        postal_code: "55411",
        locality: "Bingen am Rhein",
        domain: "rheinmotoren.example",
    },
    Maker {
        name: "Moteurs de Lyon SA",
        country: "FR",
        street: "12 rue de Gerland",
        postal_code: "69007",
        locality: "Lyon",
        domain: "moteurs-lyon.example",
    },
    Maker {
        name: "Magneti Torino SpA",
        country: "IT",
        street: "Corso Giulio Cesare 280",
        postal_code: "10154",
        locality: "Torino",
        domain: "magneti-torino.example",
    },
    Maker {
        name: "Ibérica Electrónica SL",
        country: "ES",
        street: "Carrer de la Indústria 45",
        postal_code: "08908",
        locality: "L'Hospitalet de Llobregat",
        domain: "iberica-electronica.example",
    },
    Maker {
        name: "Wisła Napędy sp. z o.o.",
        country: "PL",
        street: "ul. Przemysłowa 8",
        postal_code: "30-701",
        locality: "Kraków",
        domain: "wisla-napedy.example",
    },
    Maker {
        name: "Norrland Vind AB",
        country: "SE",
        street: "Storgatan 21",
        postal_code: "903 26",
        locality: "Umeå",
        domain: "norrlandvind.example",
    },
    Maker {
        name: "Delta Devices BV",
        country: "NL",
        street: "Maasboulevard 100",
        postal_code: "3011 TX",
        locality: "Rotterdam",
        domain: "deltadevices.example",
    },
    Maker {
        name: "Morava Motors a.s.",
        country: "CZ",
        street: "Olomoucká 74",
        postal_code: "779 00",
        locality: "Olomouc",
        domain: "moravamotors.example",
    },
];

pub(super) const RECYCLERS: &[(&str, &str)] = &[
    ("Collecte Rhône-Alpes", "FR"),
    ("Urban Mine Recycling GmbH", "DE"),
    ("Magnet Recovery Benelux", "BE"),
    ("Nordic REE Refining AB", "SE"),
];

fn responsible_person(maker: &Maker) -> Value {
    json!({"name": maker.name, "email": format!("crma@{}", maker.domain),
        "url": format!("https://{}/crma", maker.domain),
        "address": {"street": maker.street, "postal_code": maker.postal_code,
            "locality": maker.locality, "country": maker.country}})
}

pub(super) fn registration(
    kind: &Kind,
    maker: &Maker,
    serial: &str,
    year: i32,
    country: &str,
    rng: &mut StdRng,
) -> Value {
    let month: u32 = rng.random_range(1..=12);
    let day: u32 = rng.random_range(1..=28);
    let mut product = json!({
        "name": kind.name,
        "category": kind.category,
        "net_mass_g": round6(kind.net_mass_g),
        "manufactured_on": format!("{year}-{month:02}-{:02}", day.min(20)),
        "placed_on_market": {"date": format!("{year}-{month:02}-{day:02}"), "country": country},
        "expected_lifetime_years": kind.lifetime_years,
    });
    let granularity = if kind.units > 1 {
        product["lot"] = json!(serial);
        product["units"] = json!(kind.units);
        "batch"
    } else {
        product["serial"] = json!(serial);
        "item"
    };
    match &kind.content {
        Content::Elements(r) => {
            let elements: Vec<Value> = r
                .elements
                .iter()
                .map(|(e, g)| json!({"element": e, "mass_g": round6(*g), "method": "calculated"}))
                .collect();
            json!({
                "granularity": granularity,
                "product": product,
                "ree_content": {"components": [{"name": r.component, "material": r.material,
                    "mass_g": round6(r.component_mass_g), "location": r.location,
                    "removal": format!("Open the housing and take out the {} whole, before any shredding.", r.component),
                    "elements": elements}]},
                "end_of_life": {"dismantling": format!("Remove the {}; magnets are brittle and magnetised: demagnetise at 350 C before handling.", r.component)},
            })
        }
        Content::Magnets(design) => {
            let design = design();
            if let Some(group) = design.group {
                product["crma_product_group"] = json!(group);
            }
            if let Some(exemption) = design.exemption {
                product["crma_exemptions"] = json!([exemption]);
            }
            if let Some(kw) = design.rated_output_kw {
                product["rated_output_kw"] = json!(kw);
            }
            let components: Vec<Value> = design.parts.iter().map(|p| p.json()).collect();
            let mut end_of_life =
                json!({"dismantling": design.dismantling, "use_type": "concentrated"});
            if design.steps.as_array().is_some_and(|s| !s.is_empty()) {
                end_of_life["removal_steps"] = design.steps.clone();
            }
            json!({
                "granularity": granularity,
                "product": product,
                "responsible_person": responsible_person(maker),
                "ree_content": {"components": components},
                "end_of_life": end_of_life,
            })
        }
    }
}

/// Rounds to the microgram (what the API accepts).
pub(super) fn round6(g: f64) -> f64 {
    (g * 1e6).round() / 1e6
}
