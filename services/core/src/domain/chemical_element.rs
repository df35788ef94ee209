//! Every chemical element of the periodic table, hydrogen (1) to oganesson (118).
//!
//! Magnet compositions name any element (Fe, B, Co, Cu, Al...), not only the 17 rare earths of
//! [`Element`], which mass balance and stock keep using. The two convert into each other: every
//! rare earth is a chemical element, and a chemical element is a rare earth or not.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::Element;
use super::serde_schema;

/// Declares the enum with its atomic numbers (the first variant is 1, each next one more) and
/// the symbol and name tables, from one list so that they cannot disagree.
macro_rules! periodic_table {
    ($first:ident $first_name:literal, $($symbol:ident $name:literal,)+) => {
        /// A chemical element, written as its case-sensitive symbol (`"Nd"`, `"Fe"`) in JSON
        /// and text.
        ///
        /// The discriminant is the atomic number Z, so `Ord` sorts in atomic-number order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum ChemicalElement {
            $first = 1,
            $($symbol,)+
        }

        impl ChemicalElement {
            /// All 118, in atomic-number order.
            pub const ALL: [ChemicalElement; 118] =
                [ChemicalElement::$first, $(ChemicalElement::$symbol,)+];

            const SYMBOLS: [&'static str; 118] = [stringify!($first), $(stringify!($symbol),)+];

            const NAMES: [&'static str; 118] = [$first_name, $($name,)+];
        }
    };
}

periodic_table! {
    H "Hydrogen", He "Helium", Li "Lithium", Be "Beryllium", B "Boron", C "Carbon",
    N "Nitrogen", O "Oxygen", F "Fluorine", Ne "Neon", Na "Sodium", Mg "Magnesium",
    Al "Aluminium", Si "Silicon", P "Phosphorus", S "Sulfur", Cl "Chlorine", Ar "Argon",
    K "Potassium", Ca "Calcium", Sc "Scandium", Ti "Titanium", V "Vanadium", Cr "Chromium",
    Mn "Manganese", Fe "Iron", Co "Cobalt", Ni "Nickel", Cu "Copper", Zn "Zinc",
    Ga "Gallium", Ge "Germanium", As "Arsenic", Se "Selenium", Br "Bromine", Kr "Krypton",
    Rb "Rubidium", Sr "Strontium", Y "Yttrium", Zr "Zirconium", Nb "Niobium", Mo "Molybdenum",
    Tc "Technetium", Ru "Ruthenium", Rh "Rhodium", Pd "Palladium", Ag "Silver", Cd "Cadmium",
    In "Indium", Sn "Tin", Sb "Antimony", Te "Tellurium", I "Iodine", Xe "Xenon",
    Cs "Caesium", Ba "Barium", La "Lanthanum", Ce "Cerium", Pr "Praseodymium", Nd "Neodymium",
    Pm "Promethium", Sm "Samarium", Eu "Europium", Gd "Gadolinium", Tb "Terbium",
    Dy "Dysprosium", Ho "Holmium", Er "Erbium", Tm "Thulium", Yb "Ytterbium", Lu "Lutetium",
    Hf "Hafnium", Ta "Tantalum", W "Tungsten", Re "Rhenium", Os "Osmium", Ir "Iridium",
    Pt "Platinum", Au "Gold", Hg "Mercury", Tl "Thallium", Pb "Lead", Bi "Bismuth",
    Po "Polonium", At "Astatine", Rn "Radon", Fr "Francium", Ra "Radium", Ac "Actinium",
    Th "Thorium", Pa "Protactinium", U "Uranium", Np "Neptunium", Pu "Plutonium",
    Am "Americium", Cm "Curium", Bk "Berkelium", Cf "Californium", Es "Einsteinium",
    Fm "Fermium", Md "Mendelevium", No "Nobelium", Lr "Lawrencium", Rf "Rutherfordium",
    Db "Dubnium", Sg "Seaborgium", Bh "Bohrium", Hs "Hassium", Mt "Meitnerium",
    Ds "Darmstadtium", Rg "Roentgenium", Cn "Copernicium", Nh "Nihonium", Fl "Flerovium",
    Mc "Moscovium", Lv "Livermorium", Ts "Tennessine", Og "Oganesson",
}

impl ChemicalElement {
    /// The atomic number Z, 1 to 118.
    pub const fn atomic_number(self) -> u8 {
        self as u8
    }

    /// The element of atomic number `z`, if there is one.
    pub const fn from_atomic_number(z: u8) -> Option<ChemicalElement> {
        if matches!(z, 1..=118) {
            Some(ChemicalElement::ALL[(z - 1) as usize])
        } else {
            None
        }
    }

    /// The chemical symbol, e.g. `"Nd"`.
    pub const fn symbol(self) -> &'static str {
        ChemicalElement::SYMBOLS[self as usize - 1]
    }

    /// The English name (IUPAC spelling: aluminium, caesium, sulfur), e.g. `"Neodymium"`.
    pub const fn name(self) -> &'static str {
        ChemicalElement::NAMES[self as usize - 1]
    }

    /// The rare earth this element is, if it is one of the 17.
    pub fn rare_earth(self) -> Option<Element> {
        Element::try_from(self).ok()
    }
}

impl From<Element> for ChemicalElement {
    fn from(element: Element) -> Self {
        // Every rare earth has its atomic number in 21..=71.
        ChemicalElement::ALL[usize::from(element.atomic_number()) - 1]
    }
}

/// A chemical element that is not one of the 17 rare earths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}) is not a rare-earth element", .0.name(), .0.symbol())]
pub struct NotARareEarth(pub ChemicalElement);

impl TryFrom<ChemicalElement> for Element {
    type Error = NotARareEarth;

    fn try_from(element: ChemicalElement) -> Result<Self, Self::Error> {
        Element::ALL
            .into_iter()
            .find(|e| e.atomic_number() == element.atomic_number())
            .ok_or(NotARareEarth(element))
    }
}

/// A symbol that names no chemical element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_unknown(.0))]
pub struct UnknownChemicalElement(pub String);

fn describe_unknown(input: &str) -> String {
    match ChemicalElement::ALL
        .into_iter()
        .find(|e| e.symbol().eq_ignore_ascii_case(input))
    {
        Some(e) => format!(
            "unknown chemical element \"{input}\": symbols are case-sensitive, did you mean \"{}\" ({})?",
            e.symbol(),
            e.name()
        ),
        None => format!(
            "unknown chemical element \"{input}\"; expected the symbol of an element of the \
             periodic table, H to Og, such as \"Fe\" or \"Nd\""
        ),
    }
}

impl fmt::Display for ChemicalElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for ChemicalElement {
    type Err = UnknownChemicalElement;

    /// Parses the exact, case-sensitive symbol.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChemicalElement::ALL
            .into_iter()
            .find(|e| e.symbol() == s)
            .ok_or_else(|| UnknownChemicalElement(s.to_owned()))
    }
}

impl Serialize for ChemicalElement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

impl<'de> Deserialize<'de> for ChemicalElement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_schema::deserialize_from_str(
            deserializer,
            "a chemical element symbol such as \"Fe\" or \"Nd\"",
        )
    }
}

impl PartialSchema for ChemicalElement {
    fn schema() -> RefOr<Schema> {
        serde_schema::enum_schema(
            "A chemical element by its case-sensitive symbol, H to Og, in atomic-number order.",
            ChemicalElement::SYMBOLS,
            "Fe",
        )
    }
}

impl ToSchema for ChemicalElement {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_table_runs_from_hydrogen_to_oganesson() {
        assert_eq!(ChemicalElement::ALL.len(), 118);
        for (i, e) in ChemicalElement::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(e.atomic_number()), i + 1, "{e}");
            assert_eq!(
                ChemicalElement::from_atomic_number(e.atomic_number()),
                Some(e)
            );
        }
        let spot_checks = [
            (ChemicalElement::H, 1, "H", "Hydrogen"),
            (ChemicalElement::B, 5, "B", "Boron"),
            (ChemicalElement::Al, 13, "Al", "Aluminium"),
            (ChemicalElement::S, 16, "S", "Sulfur"),
            (ChemicalElement::Fe, 26, "Fe", "Iron"),
            (ChemicalElement::Co, 27, "Co", "Cobalt"),
            (ChemicalElement::Ni, 28, "Ni", "Nickel"),
            (ChemicalElement::Cs, 55, "Cs", "Caesium"),
            (ChemicalElement::Nd, 60, "Nd", "Neodymium"),
            (ChemicalElement::W, 74, "W", "Tungsten"),
            (ChemicalElement::U, 92, "U", "Uranium"),
            (ChemicalElement::Og, 118, "Og", "Oganesson"),
        ];
        for (e, z, symbol, name) in spot_checks {
            assert_eq!((e.atomic_number(), e.symbol(), e.name()), (z, symbol, name));
        }
        assert_eq!(ChemicalElement::from_atomic_number(0), None);
        assert_eq!(ChemicalElement::from_atomic_number(119), None);
        let mut symbols: Vec<&str> = ChemicalElement::ALL.iter().map(|e| e.symbol()).collect();
        symbols.sort_unstable();
        symbols.dedup();
        assert_eq!(symbols.len(), 118, "symbols are unique");
    }

    #[test]
    fn symbols_are_case_sensitive() {
        assert_eq!(
            "Nd".parse::<ChemicalElement>().unwrap(),
            ChemicalElement::Nd
        );
        assert_eq!(
            "No".parse::<ChemicalElement>().unwrap(),
            ChemicalElement::No
        );
        assert_eq!(
            "Co".parse::<ChemicalElement>().unwrap(),
            ChemicalElement::Co
        );
        for (wrong, meant) in [("ND", "Nd"), ("nd", "Nd"), ("FE", "Fe"), ("co", "Co")] {
            let err = wrong.parse::<ChemicalElement>().unwrap_err().to_string();
            assert!(
                err.contains(&format!("did you mean \"{meant}\"")),
                "{wrong}: {err}"
            );
            assert!(err.contains("case-sensitive"), "{err}");
        }
        let err = "Xx".parse::<ChemicalElement>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown chemical element \"Xx\"; expected the symbol of an element of the periodic \
             table, H to Og, such as \"Fe\" or \"Nd\""
        );
        assert!("".parse::<ChemicalElement>().is_err());
        assert!(" Fe".parse::<ChemicalElement>().is_err());
    }

    #[test]
    fn json_is_the_symbol() {
        for e in ChemicalElement::ALL {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.symbol()));
            assert_eq!(serde_json::from_str::<ChemicalElement>(&json).unwrap(), e);
            assert_eq!(e.to_string().parse::<ChemicalElement>().unwrap(), e);
        }
        let err = serde_json::from_str::<ChemicalElement>("\"nd\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean \"Nd\""), "{err}");
        assert!(serde_json::from_str::<ChemicalElement>("26").is_err());
    }

    #[test]
    fn rare_earths_convert_both_ways() {
        for ree in Element::ALL {
            let chemical = ChemicalElement::from(ree);
            assert_eq!(chemical.symbol(), ree.symbol());
            assert_eq!(chemical.name(), ree.name());
            assert_eq!(chemical.atomic_number(), ree.atomic_number());
            assert_eq!(Element::try_from(chemical), Ok(ree));
            assert_eq!(chemical.rare_earth(), Some(ree));
        }
        let rare: Vec<ChemicalElement> = ChemicalElement::ALL
            .into_iter()
            .filter(|e| e.rare_earth().is_some())
            .collect();
        assert_eq!(rare.len(), 17);
        let err = Element::try_from(ChemicalElement::Fe).unwrap_err();
        assert_eq!(err, NotARareEarth(ChemicalElement::Fe));
        assert_eq!(err.to_string(), "Iron (Fe) is not a rare-earth element");
        assert_eq!(ChemicalElement::B.rare_earth(), None);
    }

    #[test]
    fn the_schema_lists_the_118_symbols_in_order() {
        let schema = serde_json::to_value(ChemicalElement::schema()).unwrap();
        assert_eq!(schema["type"], "string");
        let values: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let symbols: Vec<&str> = ChemicalElement::ALL.iter().map(|e| e.symbol()).collect();
        assert_eq!(values, symbols);
        assert_eq!(values.first(), Some(&"H"));
        assert_eq!(values.last(), Some(&"Og"));
        assert_eq!(<ChemicalElement as ToSchema>::name(), "ChemicalElement");
    }
}
