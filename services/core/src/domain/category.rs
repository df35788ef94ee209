//! Product categories that hold rare earths, and whether their use is concentrated or
//! dispersed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::serde_schema;

/// A product category, written in snake_case (`"ndfeb_magnet"`) in JSON and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    NdfebMagnet,
    SmcoMagnet,
    WindTurbineGenerator,
    EvTractionMotor,
    HevTractionMotor,
    EBikeMotor,
    IndustrialMotor,
    HardDiskDrive,
    Smartphone,
    Laptop,
    Loudspeaker,
    NimhBattery,
    FluorescentLamp,
    Autocatalyst,
    FccCatalyst,
    OpticalFibre,
    PolishingPowder,
    Other,
}

/// Whether a category's rare earths sit in a discrete, separable part or are spread thin.
///
/// This feeds the regulator's "concentrated vs dispersed uses" indicator: only concentrated
/// uses can realistically be collected and recycled as rare earths.
///
/// Rule applied: a use is **concentrated** when the REEs sit at percent-level in a part that
/// dismantling can take out whole (a permanent magnet, a NiMH electrode alloy); it is
/// **dispersed** when they are spread at low concentration through a material or consumed in
/// use (lamp phosphors, catalysts, glass and fibre dopants, polishing powders). Smartphones
/// and laptops are counted as concentrated: most of their REE mass is in NdFeB magnets
/// (speakers, vibration motors, drives, fans), even though those magnets are small and are
/// seldom recovered today; a passport's per-component figures take precedence over this
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UseType {
    /// In a discrete part that can be taken out and recycled as such.
    Concentrated,
    /// Spread through a material or consumed in use.
    Dispersed,
}

/// A category name outside the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_unknown(.0))]
pub struct UnknownCategory(pub String);

fn describe_unknown(input: &str) -> String {
    let valid: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    format!(
        "unknown product category \"{input}\"; expected one of {}",
        valid.join(", ")
    )
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 18] = [
        Category::NdfebMagnet,
        Category::SmcoMagnet,
        Category::WindTurbineGenerator,
        Category::EvTractionMotor,
        Category::HevTractionMotor,
        Category::EBikeMotor,
        Category::IndustrialMotor,
        Category::HardDiskDrive,
        Category::Smartphone,
        Category::Laptop,
        Category::Loudspeaker,
        Category::NimhBattery,
        Category::FluorescentLamp,
        Category::Autocatalyst,
        Category::FccCatalyst,
        Category::OpticalFibre,
        Category::PolishingPowder,
        Category::Other,
    ];

    /// The machine name, e.g. `"ndfeb_magnet"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::NdfebMagnet => "ndfeb_magnet",
            Category::SmcoMagnet => "smco_magnet",
            Category::WindTurbineGenerator => "wind_turbine_generator",
            Category::EvTractionMotor => "ev_traction_motor",
            Category::HevTractionMotor => "hev_traction_motor",
            Category::EBikeMotor => "e_bike_motor",
            Category::IndustrialMotor => "industrial_motor",
            Category::HardDiskDrive => "hard_disk_drive",
            Category::Smartphone => "smartphone",
            Category::Laptop => "laptop",
            Category::Loudspeaker => "loudspeaker",
            Category::NimhBattery => "nimh_battery",
            Category::FluorescentLamp => "fluorescent_lamp",
            Category::Autocatalyst => "autocatalyst",
            Category::FccCatalyst => "fcc_catalyst",
            Category::OpticalFibre => "optical_fibre",
            Category::PolishingPowder => "polishing_powder",
            Category::Other => "other",
        }
    }

    /// A label for people, e.g. `"NdFeB permanent magnet"`.
    pub const fn label(self) -> &'static str {
        match self {
            Category::NdfebMagnet => "NdFeB permanent magnet",
            Category::SmcoMagnet => "SmCo permanent magnet",
            Category::WindTurbineGenerator => "Wind turbine generator",
            Category::EvTractionMotor => "Electric vehicle traction motor",
            Category::HevTractionMotor => "Hybrid vehicle traction motor",
            Category::EBikeMotor => "E-bike motor",
            Category::IndustrialMotor => "Industrial motor",
            Category::HardDiskDrive => "Hard disk drive",
            Category::Smartphone => "Smartphone",
            Category::Laptop => "Laptop",
            Category::Loudspeaker => "Loudspeaker",
            Category::NimhBattery => "NiMH battery",
            Category::FluorescentLamp => "Fluorescent lamp",
            Category::Autocatalyst => "Automotive catalytic converter",
            Category::FccCatalyst => "Fluid catalytic cracking catalyst",
            Category::OpticalFibre => "Optical fibre",
            Category::PolishingPowder => "Polishing powder",
            Category::Other => "Other",
        }
    }

    /// The typical use type of the category (see [`UseType`] for the rule), or `None` for
    /// [`Category::Other`], which has no typical one: its passport must say.
    pub const fn typical_use_type(self) -> Option<UseType> {
        match self {
            Category::NdfebMagnet
            | Category::SmcoMagnet
            | Category::WindTurbineGenerator
            | Category::EvTractionMotor
            | Category::HevTractionMotor
            | Category::EBikeMotor
            | Category::IndustrialMotor
            | Category::HardDiskDrive
            | Category::Smartphone
            | Category::Laptop
            | Category::Loudspeaker
            | Category::NimhBattery => Some(UseType::Concentrated),
            Category::FluorescentLamp
            | Category::Autocatalyst
            | Category::FccCatalyst
            | Category::OpticalFibre
            | Category::PolishingPowder => Some(UseType::Dispersed),
            Category::Other => None,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

impl Serialize for Category {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_schema::deserialize_from_str(
            deserializer,
            "a product category such as \"ndfeb_magnet\"",
        )
    }
}

impl PartialSchema for Category {
    fn schema() -> RefOr<Schema> {
        serde_schema::enum_schema(
            "A product category holding rare-earth elements.",
            Category::ALL.iter().map(|c| c.as_str()),
            "ev_traction_motor",
        )
    }
}

impl ToSchema for Category {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_published_snake_case_vocabulary() {
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "ndfeb_magnet",
                "smco_magnet",
                "wind_turbine_generator",
                "ev_traction_motor",
                "hev_traction_motor",
                "e_bike_motor",
                "industrial_motor",
                "hard_disk_drive",
                "smartphone",
                "laptop",
                "loudspeaker",
                "nimh_battery",
                "fluorescent_lamp",
                "autocatalyst",
                "fcc_catalyst",
                "optical_fibre",
                "polishing_powder",
                "other",
            ]
        );
        for c in Category::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Category>(&json).unwrap(), c);
            assert_eq!(c.to_string().parse::<Category>().unwrap(), c);
            assert!(!c.label().is_empty());
        }
    }

    #[test]
    fn magnets_are_concentrated_and_phosphors_catalysts_dispersed() {
        use Category::*;
        for c in [
            NdfebMagnet,
            WindTurbineGenerator,
            HardDiskDrive,
            NimhBattery,
            Smartphone,
        ] {
            assert_eq!(c.typical_use_type(), Some(UseType::Concentrated), "{c}");
        }
        for c in [
            FluorescentLamp,
            Autocatalyst,
            FccCatalyst,
            OpticalFibre,
            PolishingPowder,
        ] {
            assert_eq!(c.typical_use_type(), Some(UseType::Dispersed), "{c}");
        }
        assert_eq!(Other.typical_use_type(), None);
        assert_eq!(
            serde_json::to_string(&UseType::Dispersed).unwrap(),
            "\"dispersed\""
        );
    }

    #[test]
    fn unknown_category_lists_the_vocabulary() {
        let err = serde_json::from_str::<Category>("\"NdFeB magnet\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown product category \"NdFeB magnet\"; expected one of ndfeb_magnet, smco_magnet,"),
            "{err}"
        );
        assert!(err.contains("polishing_powder, other"), "{err}");
    }
}
