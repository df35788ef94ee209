//! The demo's world: product kinds with their REE content from the reference figures, the
//! organisations, and the registration of one product.

use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::{Value, json};

/// A kind of product the demo makes.
pub(super) struct Kind {
    pub(super) category: &'static str,
    pub(super) name: &'static str,
    /// Net mass of one unit, grams.
    pub(super) net_mass_g: f64,
    pub(super) component: &'static str,
    pub(super) material: &'static str,
    pub(super) component_mass_g: f64,
    pub(super) location: &'static str,
    /// Grams of each element per unit.
    pub(super) elements: &'static [(&'static str, f64)],
    /// Units per passport: 1 for items, more for batches.
    pub(super) units: u64,
    pub(super) lifetime_years: f64,
    /// Relative number of passports per year, 2010 and 2025 (linear in between).
    pub(super) volume: (f64, f64),
    /// Share of end-of-life products collected in the demo.
    pub(super) collection: f64,
    /// Share of the magnet lot recovered into oxide.
    pub(super) recovery: f64,
}

/// The product kinds, from the reference figures (see the module documentation).
pub(super) const KINDS: &[Kind] = &[
    Kind {
        category: "ev_traction_motor",
        name: "PMSM traction motor 150 kW",
        net_mass_g: 48_000.0,
        component: "rotor magnet set",
        material: "NdFeB-sintered",
        component_mass_g: 1_500.0,
        location: "rotor, segments in V-slots",
        elements: &[("Nd", 300.0), ("Pr", 75.0), ("Dy", 75.0), ("Tb", 15.0)],
        units: 1,
        lifetime_years: 15.0,
        volume: (1.0, 30.0),
        collection: 0.5,
        recovery: 0.8,
    },
    Kind {
        category: "hev_traction_motor",
        name: "Hybrid drive motor",
        net_mass_g: 35_000.0,
        component: "rotor magnet set",
        material: "NdFeB-sintered",
        component_mass_g: 1_250.0,
        location: "rotor",
        elements: &[("Nd", 250.0), ("Pr", 62.5), ("Dy", 62.5), ("Tb", 12.5)],
        units: 1,
        lifetime_years: 15.0,
        volume: (6.0, 8.0),
        collection: 0.5,
        recovery: 0.8,
    },
    Kind {
        category: "wind_turbine_generator",
        name: "Direct-drive PMSG 3 MW",
        net_mass_g: 60_000_000.0,
        component: "generator magnets",
        material: "NdFeB-sintered",
        component_mass_g: 1_950_000.0,
        location: "outer rotor, bonded magnet poles",
        elements: &[
            ("Nd", 390_000.0),
            ("Pr", 97_500.0),
            ("Dy", 78_000.0),
            ("Tb", 19_500.0),
        ],
        units: 1,
        lifetime_years: 25.0,
        volume: (0.3, 1.2),
        collection: 0.9,
        recovery: 0.9,
    },
    Kind {
        category: "hard_disk_drive",
        name: "3.5 in hard disk drive (batch of 500)",
        net_mass_g: 600.0,
        component: "voice-coil motor magnet",
        material: "NdFeB-sintered",
        component_mass_g: 15.0,
        location: "voice-coil actuator",
        elements: &[("Nd", 3.84), ("Pr", 0.63), ("Dy", 0.18)],
        units: 500,
        lifetime_years: 7.0,
        volume: (20.0, 6.0),
        collection: 0.3,
        recovery: 0.85,
    },
    Kind {
        category: "smartphone",
        name: "Smartphone (batch of 1,000)",
        net_mass_g: 180.0,
        component: "speaker and vibration magnets",
        material: "NdFeB-sintered",
        component_mass_g: 1.0,
        location: "speaker, haptic motor",
        elements: &[("Nd", 0.18), ("Pr", 0.05), ("Dy", 0.02)],
        units: 1_000,
        lifetime_years: 3.0,
        volume: (25.0, 30.0),
        collection: 0.2,
        recovery: 0.5,
    },
    Kind {
        category: "laptop",
        name: "Laptop (batch of 200)",
        net_mass_g: 2_000.0,
        component: "speaker and fan magnets",
        material: "NdFeB-sintered",
        component_mass_g: 5.0,
        location: "speakers, fan motor",
        elements: &[("Nd", 1.2), ("Pr", 0.3), ("Dy", 0.1)],
        units: 200,
        lifetime_years: 5.0,
        volume: (10.0, 8.0),
        collection: 0.3,
        recovery: 0.6,
    },
    Kind {
        category: "e_bike_motor",
        name: "E-bike hub motor (batch of 50)",
        net_mass_g: 3_500.0,
        component: "hub motor magnets",
        material: "NdFeB-sintered",
        component_mass_g: 340.0,
        location: "outer rotor, 46 blocks",
        elements: &[("Nd", 68.0), ("Pr", 17.0), ("Dy", 17.0), ("Tb", 3.4)],
        units: 50,
        lifetime_years: 8.0,
        volume: (2.0, 12.0),
        collection: 0.3,
        recovery: 0.8,
    },
    Kind {
        category: "industrial_motor",
        name: "IE5 permanent-magnet motor 30 kW",
        net_mass_g: 150_000.0,
        component: "rotor magnets",
        material: "NdFeB-sintered",
        component_mass_g: 2_000.0,
        location: "rotor",
        elements: &[("Nd", 400.0), ("Pr", 100.0), ("Dy", 100.0), ("Tb", 20.0)],
        units: 1,
        lifetime_years: 20.0,
        volume: (1.0, 4.0),
        collection: 0.6,
        recovery: 0.8,
    },
    Kind {
        category: "loudspeaker",
        name: "Loudspeaker driver (batch of 200)",
        net_mass_g: 1_500.0,
        component: "driver magnet",
        material: "NdFeB-sintered",
        component_mass_g: 40.0,
        location: "motor assembly behind the cone",
        elements: &[("Nd", 8.0), ("Pr", 2.0), ("Dy", 0.8)],
        units: 200,
        lifetime_years: 10.0,
        volume: (5.0, 5.0),
        collection: 0.2,
        recovery: 0.6,
    },
    Kind {
        category: "nimh_battery",
        name: "HEV NiMH battery pack",
        net_mass_g: 30_000.0,
        component: "AB5 mischmetal anode",
        material: "NiMH-anode",
        component_mass_g: 6_000.0,
        location: "cell anodes",
        elements: &[("La", 1_000.0), ("Ce", 600.0), ("Nd", 300.0), ("Pr", 100.0)],
        units: 1,
        lifetime_years: 12.0,
        volume: (8.0, 4.0),
        collection: 0.6,
        recovery: 0.5,
    },
    Kind {
        category: "fluorescent_lamp",
        name: "Fluorescent lamp (batch of 2,000)",
        net_mass_g: 150.0,
        component: "tri-band phosphor",
        material: "phosphor",
        component_mass_g: 3.0,
        location: "tube coating",
        elements: &[
            ("Y", 0.6),
            ("La", 0.1),
            ("Ce", 0.1),
            ("Eu", 0.05),
            ("Tb", 0.05),
        ],
        units: 2_000,
        lifetime_years: 6.0,
        volume: (20.0, 2.0),
        collection: 0.4,
        recovery: 0.3,
    },
    Kind {
        category: "autocatalyst",
        name: "Three-way catalytic converter (batch of 100)",
        net_mass_g: 8_000.0,
        component: "washcoat",
        material: "CeO2-ZrO2 washcoat",
        component_mass_g: 1_500.0,
        location: "catalyst brick",
        elements: &[("Ce", 60.0), ("La", 5.0)],
        units: 100,
        lifetime_years: 15.0,
        volume: (6.0, 5.0),
        collection: 0.5,
        recovery: 0.3,
    },
];

/// The fewest manufacturers of each category in each year (the default disclosure threshold).
pub(super) const MAKERS_PER_CATEGORY: usize = 3;

pub(super) const MANUFACTURERS: &[(&str, &str)] = &[
    ("Rheinmotoren GmbH", "DE"),
    ("Moteurs de Lyon SA", "FR"),
    ("Magneti Torino SpA", "IT"),
    ("Ibérica Electrónica SL", "ES"),
    ("Wisła Napędy sp. z o.o.", "PL"),
    ("Norrland Vind AB", "SE"),
    ("Delta Devices BV", "NL"),
    ("Morava Motors a.s.", "CZ"),
];

pub(super) const RECYCLERS: &[(&str, &str)] = &[
    ("Collecte Rhône-Alpes", "FR"),
    ("Urban Mine Recycling GmbH", "DE"),
    ("Magnet Recovery Benelux", "BE"),
    ("Nordic REE Refining AB", "SE"),
];

pub(super) fn registration(
    kind: &Kind,
    serial: &str,
    year: i32,
    country: &str,
    rng: &mut StdRng,
) -> Value {
    let month: u32 = rng.random_range(1..=12);
    let day: u32 = rng.random_range(1..=28);
    let elements: Vec<Value> = kind
        .elements
        .iter()
        .map(|(e, g)| json!({"element": e, "mass_g": round6(*g), "method": "calculated"}))
        .collect();
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
    json!({
        "granularity": granularity,
        "product": product,
        "ree_content": {"components": [{"name": kind.component, "material": kind.material,
            "mass_g": round6(kind.component_mass_g), "location": kind.location,
            "removal": format!("Open the housing and take out the {} whole, before any shredding.", kind.component),
            "elements": elements}]},
        "end_of_life": {"dismantling": format!("Remove the {}; magnets are brittle and magnetised: demagnetise at 350 C before handling.", kind.component)},
    })
}

/// Rounds to the microgram (what the API accepts).
pub(super) fn round6(g: f64) -> f64 {
    (g * 1e6).round() / 1e6
}
