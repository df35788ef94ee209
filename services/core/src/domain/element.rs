//! The 17 rare-earth elements: the 15 lanthanides plus scandium and yttrium (IUPAC).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::serde_schema;

/// A rare-earth element, written as its chemical symbol (`"Nd"`) in JSON and text.
///
/// The variant order is the atomic-number order, so `Ord` sorts Sc, Y, La ... Lu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    Sc,
    Y,
    La,
    Ce,
    Pr,
    Nd,
    Pm,
    Sm,
    Eu,
    Gd,
    Tb,
    Dy,
    Ho,
    Er,
    Tm,
    Yb,
    Lu,
}

/// Light or heavy rare earth.
///
/// Convention used (the common one in criticality and recycling studies, e.g. the European
/// Commission's CRM assessments): light REEs (LREE) are La to Eu (Z 57-63); heavy REEs (HREE)
/// are Gd to Lu (Z 64-71) plus Y, whose ionic radius and chemistry sit with Ho and which
/// occurs in the same ores. Scandium is kept apart: it behaves like neither group and is
/// mined from different sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReeGroup {
    /// La, Ce, Pr, Nd, Pm, Sm, Eu.
    Light,
    /// Gd, Tb, Dy, Ho, Er, Tm, Yb, Lu and Y.
    Heavy,
    /// Sc, in neither group.
    Scandium,
}

/// An element symbol that is not one of the 17 rare earths.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_unknown(.0))]
pub struct UnknownElement(pub String);

fn describe_unknown(input: &str) -> String {
    let valid: Vec<&str> = Element::ALL.iter().map(|e| e.symbol()).collect();
    let hint = Element::ALL
        .iter()
        .find(|e| e.symbol().eq_ignore_ascii_case(input))
        .map(|e| {
            format!(
                " (symbols are case-sensitive: did you mean \"{}\"?)",
                e.symbol()
            )
        })
        .unwrap_or_default();
    format!(
        "unknown rare-earth element \"{input}\"{hint}; expected one of {}",
        valid.join(", ")
    )
}

impl Element {
    /// All 17, in atomic-number order.
    pub const ALL: [Element; 17] = [
        Element::Sc,
        Element::Y,
        Element::La,
        Element::Ce,
        Element::Pr,
        Element::Nd,
        Element::Pm,
        Element::Sm,
        Element::Eu,
        Element::Gd,
        Element::Tb,
        Element::Dy,
        Element::Ho,
        Element::Er,
        Element::Tm,
        Element::Yb,
        Element::Lu,
    ];

    /// The chemical symbol, e.g. `"Nd"`.
    pub const fn symbol(self) -> &'static str {
        match self {
            Element::Sc => "Sc",
            Element::Y => "Y",
            Element::La => "La",
            Element::Ce => "Ce",
            Element::Pr => "Pr",
            Element::Nd => "Nd",
            Element::Pm => "Pm",
            Element::Sm => "Sm",
            Element::Eu => "Eu",
            Element::Gd => "Gd",
            Element::Tb => "Tb",
            Element::Dy => "Dy",
            Element::Ho => "Ho",
            Element::Er => "Er",
            Element::Tm => "Tm",
            Element::Yb => "Yb",
            Element::Lu => "Lu",
        }
    }

    /// The English name, e.g. `"Neodymium"`.
    pub const fn name(self) -> &'static str {
        match self {
            Element::Sc => "Scandium",
            Element::Y => "Yttrium",
            Element::La => "Lanthanum",
            Element::Ce => "Cerium",
            Element::Pr => "Praseodymium",
            Element::Nd => "Neodymium",
            Element::Pm => "Promethium",
            Element::Sm => "Samarium",
            Element::Eu => "Europium",
            Element::Gd => "Gadolinium",
            Element::Tb => "Terbium",
            Element::Dy => "Dysprosium",
            Element::Ho => "Holmium",
            Element::Er => "Erbium",
            Element::Tm => "Thulium",
            Element::Yb => "Ytterbium",
            Element::Lu => "Lutetium",
        }
    }

    /// The atomic number Z.
    pub const fn atomic_number(self) -> u8 {
        match self {
            Element::Sc => 21,
            Element::Y => 39,
            // The lanthanides are contiguous from La (57), in declaration order.
            lanthanide => 57 + (lanthanide as u8 - Element::La as u8),
        }
    }

    /// Light, heavy or scandium; see [`ReeGroup`] for the convention.
    pub const fn group(self) -> ReeGroup {
        match self {
            Element::Sc => ReeGroup::Scandium,
            Element::Y => ReeGroup::Heavy,
            e if e.atomic_number() <= 63 => ReeGroup::Light,
            _ => ReeGroup::Heavy,
        }
    }

    /// Whether this is one of the 15 lanthanides (La to Lu), i.e. not Sc or Y.
    pub const fn is_lanthanide(self) -> bool {
        !matches!(self, Element::Sc | Element::Y)
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for Element {
    type Err = UnknownElement;

    /// Parses the exact, case-sensitive symbol.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Element::ALL
            .into_iter()
            .find(|e| e.symbol() == s)
            .ok_or_else(|| UnknownElement(s.to_owned()))
    }
}

impl Serialize for Element {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_schema::deserialize_from_str(
            deserializer,
            "a rare-earth element symbol such as \"Nd\"",
        )
    }
}

impl PartialSchema for Element {
    fn schema() -> RefOr<Schema> {
        serde_schema::enum_schema(
            "A rare-earth element by chemical symbol (the 15 lanthanides, Sc and Y).",
            Element::ALL.iter().map(|e| e.symbol()),
            "Nd",
        )
    }
}

impl ToSchema for Element {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn atomic_numbers_match_the_periodic_table() {
        let expected = [
            ("Sc", 21),
            ("Y", 39),
            ("La", 57),
            ("Ce", 58),
            ("Pr", 59),
            ("Nd", 60),
            ("Pm", 61),
            ("Sm", 62),
            ("Eu", 63),
            ("Gd", 64),
            ("Tb", 65),
            ("Dy", 66),
            ("Ho", 67),
            ("Er", 68),
            ("Tm", 69),
            ("Yb", 70),
            ("Lu", 71),
        ];
        for (element, (symbol, z)) in Element::ALL.into_iter().zip(expected) {
            assert_eq!(element.symbol(), symbol);
            assert_eq!(element.atomic_number(), z, "{symbol}");
        }
        assert!(
            Element::ALL
                .windows(2)
                .all(|w| w[0] < w[1] && w[0].atomic_number() < w[1].atomic_number())
        );
        assert_eq!(Element::Nd.name(), "Neodymium");
        assert_eq!(Element::Dy.name(), "Dysprosium");
    }

    #[test]
    fn grouping_follows_the_documented_convention() {
        let light: Vec<_> = Element::ALL
            .into_iter()
            .filter(|e| e.group() == ReeGroup::Light)
            .collect();
        let heavy: Vec<_> = Element::ALL
            .into_iter()
            .filter(|e| e.group() == ReeGroup::Heavy)
            .collect();
        use Element::*;
        assert_eq!(light, [La, Ce, Pr, Nd, Pm, Sm, Eu]);
        assert_eq!(heavy, [Y, Gd, Tb, Dy, Ho, Er, Tm, Yb, Lu]);
        assert_eq!(Sc.group(), ReeGroup::Scandium);
        assert_eq!(
            Element::ALL.iter().filter(|e| e.is_lanthanide()).count(),
            15
        );
    }

    #[test]
    fn symbols_round_trip_through_json_and_text() {
        for e in Element::ALL {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.symbol()));
            assert_eq!(serde_json::from_str::<Element>(&json).unwrap(), e);
            assert_eq!(e.to_string().parse::<Element>().unwrap(), e);
        }
        // As map keys, as in per-element mass tables.
        let map: std::collections::BTreeMap<Element, u32> =
            serde_json::from_str(r#"{"Dy": 2, "Nd": 1}"#).unwrap();
        assert_eq!(
            map.keys().copied().collect::<Vec<_>>(),
            [Element::Nd, Element::Dy]
        );
    }

    #[test]
    fn unknown_symbols_list_the_valid_ones() {
        let err = serde_json::from_str::<Element>("\"Fe\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown rare-earth element \"Fe\"; expected one of Sc, Y, La, Ce,"),
            "{err}"
        );
        assert!(err.contains("Yb, Lu"), "{err}");
        let err = "ND".parse::<Element>().unwrap_err().to_string();
        assert!(err.contains("did you mean \"Nd\"?"), "{err}");
        assert!(serde_json::from_str::<Element>("60").is_err());
    }
}
