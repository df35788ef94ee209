//! The elements the urban mine tracks: the 17 rare earths and the three other magnet materials
//! whose recycled share CRMA art. 29(1) asks for (boron, cobalt, nickel).
//!
//! Passports declare rare-earth content ([`Element`]); recovered lots and the stock model of
//! magnet materials also count B, Co and Ni, so they use this wider set. Rare-earth totals
//! ("all REE") never include the magnet materials.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::chemical_element::ChemicalElement;
use super::element::Element;
use super::serde_schema;

/// A rare earth, or boron, cobalt or nickel; written as its chemical symbol in JSON and text.
///
/// `Ord` puts the rare earths first (atomic-number order), then B, Co, Ni.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrackedElement {
    Ree(Element),
    B,
    Co,
    Ni,
}

/// The magnet materials that are not rare earths, in atomic-number order.
pub const MAGNET_MATERIALS: [TrackedElement; 3] =
    [TrackedElement::B, TrackedElement::Co, TrackedElement::Ni];

/// A symbol that is neither a rare earth nor B, Co, Ni.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_unknown(.0))]
pub struct UnknownTrackedElement(pub String);

fn describe_unknown(input: &str) -> String {
    let valid: Vec<&str> = TrackedElement::all().map(TrackedElement::symbol).collect();
    let hint = TrackedElement::all()
        .find(|e| e.symbol().eq_ignore_ascii_case(input))
        .map(|e| {
            format!(
                " (symbols are case-sensitive: did you mean \"{}\"?)",
                e.symbol()
            )
        })
        .unwrap_or_default();
    format!(
        "unknown element \"{input}\"{hint}; expected a rare earth or a magnet material: {}",
        valid.join(", ")
    )
}

impl TrackedElement {
    /// The 20 tracked elements: the rare earths in atomic-number order, then B, Co, Ni.
    pub fn all() -> impl Iterator<Item = TrackedElement> + Clone {
        Element::ALL
            .into_iter()
            .map(TrackedElement::Ree)
            .chain(MAGNET_MATERIALS)
    }

    /// The chemical symbol, e.g. `"Nd"` or `"Co"`.
    pub const fn symbol(self) -> &'static str {
        match self {
            TrackedElement::Ree(e) => e.symbol(),
            TrackedElement::B => "B",
            TrackedElement::Co => "Co",
            TrackedElement::Ni => "Ni",
        }
    }

    /// The English name, e.g. `"Cobalt"`.
    pub const fn name(self) -> &'static str {
        match self {
            TrackedElement::Ree(e) => e.name(),
            TrackedElement::B => "Boron",
            TrackedElement::Co => "Cobalt",
            TrackedElement::Ni => "Nickel",
        }
    }

    /// The rare earth, if this is one.
    pub const fn rare_earth(self) -> Option<Element> {
        match self {
            TrackedElement::Ree(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Element> for TrackedElement {
    fn from(e: Element) -> Self {
        TrackedElement::Ree(e)
    }
}

impl From<TrackedElement> for ChemicalElement {
    fn from(e: TrackedElement) -> Self {
        match e {
            TrackedElement::Ree(e) => ChemicalElement::from(e),
            TrackedElement::B => ChemicalElement::B,
            TrackedElement::Co => ChemicalElement::Co,
            TrackedElement::Ni => ChemicalElement::Ni,
        }
    }
}

impl TrackedElement {
    /// The tracked element this chemical element is, if it is one of the 20.
    pub fn of_chemical(element: ChemicalElement) -> Option<TrackedElement> {
        TrackedElement::all().find(|e| ChemicalElement::from(*e) == element)
    }
}

impl fmt::Display for TrackedElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for TrackedElement {
    type Err = UnknownTrackedElement;

    /// Parses the exact, case-sensitive symbol.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrackedElement::all()
            .find(|e| e.symbol() == s)
            .ok_or_else(|| UnknownTrackedElement(s.to_owned()))
    }
}

impl Serialize for TrackedElement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

impl<'de> Deserialize<'de> for TrackedElement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_schema::deserialize_from_str(
            deserializer,
            "a rare-earth element or B, Co, Ni by chemical symbol such as \"Nd\"",
        )
    }
}

impl PartialSchema for TrackedElement {
    fn schema() -> RefOr<Schema> {
        serde_schema::enum_schema(
            "A rare-earth element (the 15 lanthanides, Sc and Y) or one of the magnet materials \
             boron, cobalt and nickel, by chemical symbol.",
            TrackedElement::all().map(TrackedElement::symbol),
            "Nd",
        )
    }
}

impl ToSchema for TrackedElement {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn twenty_symbols_rare_earths_first() {
        let all: Vec<_> = TrackedElement::all().collect();
        assert_eq!(all.len(), 20);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(all[0], TrackedElement::Ree(Element::Sc));
        assert_eq!(&all[17..], &MAGNET_MATERIALS);
        for e in all {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<TrackedElement>(&json).unwrap(), e);
            assert_eq!(e.to_string().parse::<TrackedElement>().unwrap(), e);
        }
        assert_eq!(
            "Nd".parse::<TrackedElement>().unwrap().rare_earth(),
            Some(Element::Nd)
        );
        assert_eq!(TrackedElement::Co.rare_earth(), None);
        assert_eq!(TrackedElement::Ni.name(), "Nickel");
        for e in TrackedElement::all() {
            let chemical = ChemicalElement::from(e);
            assert_eq!(chemical.symbol(), e.symbol());
            assert_eq!(TrackedElement::of_chemical(chemical), Some(e));
        }
        assert_eq!(TrackedElement::of_chemical(ChemicalElement::Fe), None);
    }

    #[test]
    fn unknown_symbols_are_named() {
        let err = "Fe".parse::<TrackedElement>().unwrap_err().to_string();
        assert!(err.starts_with("unknown element \"Fe\""), "{err}");
        assert!(err.ends_with("Lu, B, Co, Ni"), "{err}");
        let err = "CO".parse::<TrackedElement>().unwrap_err().to_string();
        assert!(err.contains("did you mean \"Co\"?"), "{err}");
    }
}
