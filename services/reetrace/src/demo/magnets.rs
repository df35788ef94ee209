//! The magnet data model of the demo's products (CRMA art. 28(4)): magnet materials as the
//! weight percentages of their usual grades, turned into the masses a registration takes; the
//! components holding the magnets; and a product's design (its CRMA scope, components and
//! removal sequence).

use serde_json::{Value, json};

use super::world::round6;

/// A magnet material: its type (and subtype) and its composition in weight percent. What the
/// percentages leave to 100 is oxygen, carbon and other impurities not declared.
pub(super) struct Material {
    pub(super) magnet_type: &'static str,
    pub(super) subtype: Option<&'static str>,
    pub(super) wt_percent: &'static [(&'static str, f64)],
}

/// Sintered NdFeB for motors running hot (SH, UH grades): 31 % rare earths with 5 % Dy and
/// 1 % Tb alloyed, the generic composition of the reference table (20/5/5/1 wt% Nd/Pr/Dy/Tb);
/// the nickel is the Ni-Cu-Ni coating's.
pub(super) const NDFEB_HOT: Material = Material {
    magnet_type: "ndfeb",
    subtype: Some("sintered"),
    wt_percent: &[
        ("Nd", 20.0),
        ("Pr", 5.0),
        ("Dy", 5.0),
        ("Tb", 1.0),
        ("B", 1.0),
        ("Co", 1.5),
        ("Cu", 0.15),
        ("Al", 0.25),
        ("Ga", 0.1),
        ("Ni", 0.3),
        ("Fe", 65.5),
    ],
};

/// Sintered NdFeB of direct-drive wind generators (N38SH class): 4 % Dy.
pub(super) const NDFEB_WIND: Material = Material {
    magnet_type: "ndfeb",
    subtype: Some("sintered"),
    wt_percent: &[
        ("Nd", 20.0),
        ("Pr", 5.0),
        ("Dy", 4.0),
        ("Tb", 1.0),
        ("B", 1.0),
        ("Co", 1.0),
        ("Cu", 0.15),
        ("Al", 0.25),
        ("Fe", 67.3),
    ],
};

/// Sintered NdFeB with Tb diffused into the grain boundaries: the same coercivity with a
/// tenth of the heavy rare earths (compressors, servo motors).
pub(super) const NDFEB_GBD: Material = Material {
    magnet_type: "ndfeb",
    subtype: Some("sintered"),
    wt_percent: &[
        ("Nd", 23.5),
        ("Pr", 6.5),
        ("Dy", 0.3),
        ("Tb", 0.6),
        ("B", 0.95),
        ("Co", 1.0),
        ("Cu", 0.15),
        ("Al", 0.2),
        ("Ga", 0.1),
        ("Fe", 66.5),
    ],
};

/// Sintered NdFeB for large static magnets at room temperature (N45, MRI poles): no heavy
/// rare earths.
pub(super) const NDFEB_COLD: Material = Material {
    magnet_type: "ndfeb",
    subtype: Some("sintered"),
    wt_percent: &[
        ("Nd", 24.0),
        ("Pr", 7.0),
        ("B", 0.95),
        ("Co", 0.8),
        ("Cu", 0.1),
        ("Al", 0.2),
        ("Fe", 66.7),
    ],
};

/// Bonded NdFeB (melt-spun powder in epoxy): the metal part; the binder is an additive.
pub(super) const NDFEB_BONDED: Material = Material {
    magnet_type: "ndfeb",
    subtype: Some("bonded"),
    wt_percent: &[
        ("Nd", 20.5),
        ("Pr", 5.5),
        ("B", 0.9),
        ("Co", 3.8),
        ("Fe", 66.3),
    ],
};

/// Strontium hexaferrite (SrFe12O19).
pub(super) const FERRITE_SR: Material = Material {
    magnet_type: "ferrite",
    subtype: None,
    wt_percent: &[("Sr", 8.2), ("Fe", 62.9), ("O", 28.5)],
};

/// La-Co substituted Sr-Ca ferrite (high-grade appliance motors).
pub(super) const FERRITE_LACO: Material = Material {
    magnet_type: "ferrite",
    subtype: None,
    wt_percent: &[
        ("Sr", 5.5),
        ("Ca", 0.8),
        ("La", 1.3),
        ("Co", 0.25),
        ("Fe", 62.5),
        ("O", 29.0),
    ],
};

/// Sm2Co17 (2:17) samarium-cobalt.
pub(super) const SMCO_2_17: Material = Material {
    magnet_type: "smco",
    subtype: Some("2_17"),
    wt_percent: &[
        ("Sm", 25.5),
        ("Co", 50.0),
        ("Fe", 15.9),
        ("Cu", 6.0),
        ("Zr", 2.5),
    ],
};

/// Cast AlNiCo 5.
pub(super) const ALNICO_5: Material = Material {
    magnet_type: "alnico",
    subtype: None,
    wt_percent: &[
        ("Al", 8.0),
        ("Ni", 14.0),
        ("Co", 24.0),
        ("Cu", 3.0),
        ("Fe", 50.8),
    ],
};

/// A coating, glue or additive and its mass per magnet (0: not given); `None` declares that
/// there is none.
pub(super) type Declared = Option<(&'static str, f64)>;

/// One magnet, or a set of identical ones, in a component.
pub(super) struct MagnetSet {
    pub(super) reference: &'static str,
    pub(super) material: &'static Material,
    pub(super) grade: &'static str,
    pub(super) count: u32,
    pub(super) unit_mass_g: f64,
    pub(super) position: &'static str,
    pub(super) coating: Declared,
    pub(super) glue: Declared,
    pub(super) additive: Declared,
}

/// Grams of `percent` of `mass`, to the microgram below (so a composition never outweighs its
/// magnet).
fn share_of(mass: f64, percent: f64) -> f64 {
    (mass * percent * 1e4).floor() / 1e6
}

/// The temperature class an NdFeB grade of the form `N<digits><class>` states.
fn temperature_class(grade: &str) -> Option<&str> {
    let rest = grade.strip_prefix('N')?;
    let class = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    (class.len() < rest.len()).then_some(if class.is_empty() { "none" } else { class })
}

fn declared(entry: Declared) -> Value {
    match entry {
        Some((kind, mass)) if mass > 0.0 => json!([{"type": kind, "mass_g": round6(mass)}]),
        Some((kind, _)) => json!([{"type": kind}]),
        None => json!([{"type": "none"}]),
    }
}

impl MagnetSet {
    /// Grams of each element in one magnet.
    pub(super) fn composition(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.material
            .wt_percent
            .iter()
            .map(|(element, percent)| (*element, share_of(self.unit_mass_g, *percent)))
    }

    /// The set as a registration lists it.
    pub(super) fn json(&self) -> Value {
        let composition: Vec<Value> = self
            .composition()
            .map(
                |(element, mass)| json!({"element": element, "mass_g": mass, "method": "declared"}),
            )
            .collect();
        let mut magnet = json!({
            "ref": self.reference, "type": self.material.magnet_type, "grade": self.grade,
            "count": self.count, "unit_mass_g": round6(self.unit_mass_g), "position": self.position,
            "composition": composition, "coatings": declared(self.coating),
            "glues": declared(self.glue), "additives": declared(self.additive),
            "magnetised_at_end_of_life": "magnetised",
        });
        if let Some(subtype) = self.material.subtype {
            magnet["subtype"] = json!(subtype);
        }
        if self.material.magnet_type == "ndfeb"
            && let Some(class) = temperature_class(self.grade)
        {
            magnet["temperature_class"] = json!(class);
        }
        magnet
    }
}

/// A part of the product that holds magnets (or, without magnets, rare earths of its own).
pub(super) struct Part {
    pub(super) name: &'static str,
    pub(super) material: &'static str,
    pub(super) mass_g: f64,
    pub(super) location: &'static str,
    pub(super) removal: &'static str,
    /// An electric motor holding its magnets (CRMA art. 28(5)).
    pub(super) electric_motor: bool,
    pub(super) magnets: Vec<MagnetSet>,
    /// Rare earths of a part without magnets, grams per unit.
    pub(super) elements: &'static [(&'static str, f64)],
}

impl Part {
    pub(super) fn json(&self) -> Value {
        let mut part = json!({"name": self.name, "material": self.material,
            "mass_g": round6(self.mass_g), "location": self.location, "removal": self.removal});
        if self.electric_motor {
            part["electric_motor"] = json!(true);
        }
        if self.magnets.is_empty() {
            part["elements"] = self
                .elements
                .iter()
                .map(|(e, g)| json!({"element": e, "mass_g": round6(*g), "method": "calculated"}))
                .collect();
        } else {
            part["magnets"] = self.magnets.iter().map(MagnetSet::json).collect();
        }
        part
    }
}

/// A product as its manufacturer declares it under the CRMA.
pub(super) struct Design {
    /// `crma_product_group`, where the category does not map to the group by itself.
    pub(super) group: Option<&'static str>,
    pub(super) exemption: Option<&'static str>,
    pub(super) rated_output_kw: Option<f64>,
    pub(super) parts: Vec<Part>,
    pub(super) dismantling: &'static str,
    /// The removal sequence (registration JSON).
    pub(super) steps: Value,
}

/// Rare earths (Sc, Y, La to Lu) by symbol.
const RARE_EARTHS: [&str; 17] = [
    "Sc", "Y", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb",
    "Lu",
];

impl Design {
    /// Grams of each rare earth in one unit, as the passport derives them from the magnets.
    pub(super) fn rare_earths(&self) -> Vec<(&'static str, f64)> {
        let mut out: Vec<(&'static str, f64)> = Vec::new();
        let mut add = |element: &'static str, grams: f64| {
            if !RARE_EARTHS.contains(&element) {
                return;
            }
            match out.iter_mut().find(|(e, _)| *e == element) {
                Some((_, sum)) => *sum += grams,
                None => out.push((element, grams)),
            }
        };
        for part in &self.parts {
            for (element, grams) in part.elements {
                add(element, *grams);
            }
            for set in &part.magnets {
                for (element, grams) in set.composition() {
                    add(element, grams * f64::from(set.count));
                }
            }
        }
        out
    }

    /// The magnet set that recycled content is claimed for: the largest NdFeB one.
    pub(super) fn main_ndfeb(&self) -> Option<(usize, usize, &MagnetSet)> {
        self.parts
            .iter()
            .enumerate()
            .flat_map(|(p, part)| part.magnets.iter().enumerate().map(move |(m, s)| (p, m, s)))
            .filter(|(_, _, s)| s.material.magnet_type == "ndfeb")
            .max_by(|a, b| {
                (f64::from(a.2.count) * a.2.unit_mass_g)
                    .total_cmp(&(f64::from(b.2.count) * b.2.unit_mass_g))
            })
    }
}

/// A tool of the removal sequence; `size` for screwdrivers and wrenches, `drive` for
/// screwdrivers only.
pub(super) fn tool(kind: &str, drive: Option<&str>, size: Option<&str>) -> Value {
    let mut tool = json!({"tool": kind});
    if let Some(drive) = drive {
        tool["drive"] = json!(drive);
    }
    if let Some(size) = size {
        tool["size"] = json!(size);
    }
    tool
}

/// A removal step: what it does, what it removes, with which tools, and which magnets it
/// frees.
pub(super) fn step(
    action: &str,
    removes: Option<(&str, u32, &str)>,
    tools: Vec<Value>,
    seconds: u32,
    releases: &[&str],
) -> Value {
    let mut step = json!({"action": action, "tools": tools, "estimated_seconds": seconds});
    if let Some((part, count, description)) = removes {
        step["removes"] = json!([{"part": part, "count": count, "description": description}]);
    }
    if !releases.is_empty() {
        step["releases"] = json!(releases);
    }
    step
}

/// `step` with a detail and a safety note.
pub(super) fn noted(mut step: Value, detail: &str, safety: &str) -> Value {
    if !detail.is_empty() {
        step["detail"] = json!(detail);
    }
    if !safety.is_empty() {
        step["safety"] = json!(safety);
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compositions_are_masses_within_their_magnet() {
        let set = MagnetSet {
            reference: "segment",
            material: &NDFEB_HOT,
            grade: "N42SH",
            count: 48,
            unit_mass_g: 31.25,
            position: "rotor",
            coating: Some(("nickel_copper_nickel", 0.12)),
            glue: Some(("epoxy", 0.25)),
            additive: None,
        };
        let composition: Vec<(&str, f64)> = set.composition().collect();
        assert_eq!(composition[0], ("Nd", 6.25));
        assert_eq!(composition[2], ("Dy", 1.5625));
        assert!(composition.iter().map(|(_, g)| g).sum::<f64>() <= 31.25);
        let json = set.json();
        assert_eq!(json["temperature_class"], "SH");
        assert_eq!(json["subtype"], "sintered");
        assert_eq!(json["additives"], json!([{"type": "none"}]));
        for material in [
            &NDFEB_HOT,
            &NDFEB_WIND,
            &NDFEB_GBD,
            &NDFEB_COLD,
            &NDFEB_BONDED,
            &FERRITE_SR,
            &FERRITE_LACO,
            &SMCO_2_17,
            &ALNICO_5,
        ] {
            let sum: f64 = material.wt_percent.iter().map(|(_, p)| p).sum();
            // Bonded NdFeB leaves 3 % to its binder, declared as an additive.
            assert!(sum <= 100.0 && sum > 96.0, "{sum}");
        }
    }

    #[test]
    fn grades_name_their_temperature_class() {
        assert_eq!(temperature_class("N42SH"), Some("SH"));
        assert_eq!(temperature_class("N45"), Some("none"));
        assert_eq!(temperature_class("BNP-10"), None);
        assert_eq!(temperature_class("YXG-28"), None);
    }
}
