//! Synthetic item registrations: a few product models (each its GTIN), unique serials, one
//! magnet component with four to six elements, as manufacturers send them; and the same
//! traction motor with its magnets in full (CRMA art. 28: two magnet sets with composition,
//! coatings, glues and additives, the removal sequence, the responsible person).

use serde_json::{Value, json};

use crate::support::Rng;

/// A GTIN-14 from its first 13 digits, with its check digit (GS1 mod-10, weights 3,1,...
/// from the right).
pub fn gtin(first13: u64) -> String {
    let data = format!("{first13:013}");
    let sum: u32 = data
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{data}{}", (10 - sum % 10) % 10)
}

struct Model {
    category: &'static str,
    name: &'static str,
    net_mass_g: u64,
    magnet_g: u64,
}

const MODELS: &[Model] = &[
    Model {
        category: "ev_traction_motor",
        name: "Traction motor PMSM 150 kW",
        net_mass_g: 48_000,
        magnet_g: 1_500,
    },
    Model {
        category: "hev_traction_motor",
        name: "Hybrid drive motor 60 kW",
        net_mass_g: 22_000,
        magnet_g: 800,
    },
    Model {
        category: "e_bike_motor",
        name: "Hub motor 250 W",
        net_mass_g: 3_200,
        magnet_g: 300,
    },
    Model {
        category: "industrial_motor",
        name: "Servo motor 7.5 kW",
        net_mass_g: 31_000,
        magnet_g: 650,
    },
    Model {
        category: "hard_disk_drive",
        name: "3.5-inch HDD 20 TB",
        net_mass_g: 670,
        magnet_g: 16,
    },
    Model {
        category: "loudspeaker",
        name: "Studio monitor driver",
        net_mass_g: 2_400,
        magnet_g: 90,
    },
];

/// The `n`-th registration of a run (serials unique within the run's `prefix`).
pub fn registration(prefix: &str, n: u64, rng: &mut Rng) -> Value {
    let m = (n % MODELS.len() as u64) as usize;
    let model = &MODELS[m];
    let magnet = model.magnet_g as f64;
    // NdFeB: about 31 % rare earths, mostly Nd, some Pr, Dy and Tb for heat resistance.
    let dy = (rng.below(60) as f64) / 1000.0;
    let mut elements = vec![
        json!({"element": "Nd", "mass_g": round3(magnet * (0.22 - dy / 2.0)), "method": "declared"}),
        json!({"element": "Pr", "mass_g": round3(magnet * 0.06)}),
        json!({"element": "Dy", "mass_g": round3(magnet * dy)}),
    ];
    if rng.below(3) == 0 {
        elements.push(json!({"element": "Tb", "mass_g": round3(magnet * 0.005)}));
    }
    let countries = ["FR", "DE", "IT", "ES", "NL", "PL", "SE", "BE"];
    let country = countries[rng.below(countries.len() as u64) as usize];
    json!({
        "granularity": "item",
        "product": {
            "gtin": gtin(401_234_500_001 + m as u64),
            "serial": format!("{prefix}-{n:08}"),
            "name": model.name,
            "model": format!("M{m}"),
            "category": model.category,
            "net_mass_g": model.net_mass_g,
            "manufactured_on": "2026-03-02",
            "placed_on_market": {"date": "2026-04-15", "country": country},
            "expected_lifetime_years": 15
        },
        "ree_content": {"components": [{
            "name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": model.magnet_g,
            "location": "rotor, segments in V-slots", "elements": elements,
            "recycled_content": {"pre_consumer": 0.0, "post_consumer": 0.05}
        }]},
        "end_of_life": {"dismantling": "remove rotor; magnets glued, heat to 350 C to release", "use_type": "concentrated"}
    })
}

fn round3(g: f64) -> f64 {
    (g * 1000.0).round() / 1000.0
}

/// The `n`-th traction motor with its magnets (the schema's example, without lot references):
/// a unique serial, the market country varied.
pub fn registration_with_magnets(prefix: &str, n: u64, rng: &mut Rng) -> Value {
    static MOTOR: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        let mut motor: Value = serde_json::from_str(include_str!(
            "../../../../schemas/examples/valid/item-ev-traction-motor-with-magnets.json"
        ))
        .expect("the schema's example parses");
        // Lot references would need recycled lots in the bench's database.
        if let Some(Value::Object(magnet)) =
            motor.pointer_mut("/ree_content/components/0/magnets/0")
        {
            magnet.remove("recycled_sources");
        }
        motor
    });
    let countries = ["FR", "DE", "IT", "ES", "NL", "PL", "SE", "BE"];
    let mut motor = MOTOR.clone();
    motor["product"]["serial"] = json!(format!("{prefix}-{n:08}"));
    motor["product"]["placed_on_market"] = json!({
        "date": "2026-04-15",
        "country": countries[rng.below(countries.len() as u64) as usize]
    });
    motor
}

/// `count` registrations from `first` as NDJSON, with their magnets in full when `magnets`.
pub fn ndjson(prefix: &str, first: u64, count: u64, rng: &mut Rng, magnets: bool) -> String {
    let mut out = String::with_capacity(count as usize * if magnets { 4000 } else { 800 });
    for n in first..first + count {
        let line = if magnets {
            registration_with_magnets(prefix, n, rng)
        } else {
            registration(prefix, n, rng)
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}
