//! The permanent magnets of a component (CRMA art. 28(4)): each magnet, or set of identical
//! ones, with its type, mass, position, composition, coatings, glues and additives; and the
//! component's rare-earth masses derived from them (one truth).

use std::collections::BTreeMap;

use reetrace_core::domain::{ChemicalElement, Element, Mass};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::vocabulary::vocabulary;
use super::{ElementMass, Method, RecycledSource, Registration};

vocabulary! {
    /// The kind of permanent magnet.
    pub enum MagnetType("magnet type") {
        /// Neodymium-iron-boron.
        Ndfeb = "ndfeb",
        /// Samarium-cobalt.
        Smco = "smco",
        /// Aluminium-nickel-cobalt.
        Alnico = "alnico",
        /// Hard ferrite (strontium or barium).
        Ferrite = "ferrite",
    }
}

vocabulary! {
    /// How the magnet was made: `sintered`, `bonded` or `hot_deformed` for ndfeb; `1_5`
    /// (SmCo5) or `2_17` (Sm2Co17) for smco.
    pub enum MagnetSubtype("magnet subtype") {
        Sintered = "sintered",
        Bonded = "bonded",
        HotDeformed = "hot_deformed",
        /// SmCo5.
        SmCo1_5 = "1_5",
        /// Sm2Co17.
        SmCo2_17 = "2_17",
    }
}

impl MagnetType {
    /// The subtypes of this type; empty when it has none.
    pub fn subtypes(self) -> &'static [MagnetSubtype] {
        match self {
            MagnetType::Ndfeb => &[
                MagnetSubtype::Sintered,
                MagnetSubtype::Bonded,
                MagnetSubtype::HotDeformed,
            ],
            MagnetType::Smco => &[MagnetSubtype::SmCo1_5, MagnetSubtype::SmCo2_17],
            MagnetType::Alnico | MagnetType::Ferrite => &[],
        }
    }

    /// What every composition of this type lists: each group, one element of it at least.
    pub fn characteristic_elements(self) -> &'static [&'static [ChemicalElement]] {
        use ChemicalElement::*;
        match self {
            MagnetType::Ndfeb => &[&[Fe], &[B], &[Nd, Pr]],
            MagnetType::Smco => &[&[Sm], &[Co]],
            MagnetType::Alnico => &[&[Al], &[Ni], &[Co]],
            MagnetType::Ferrite => &[&[Fe]],
        }
    }
}

vocabulary! {
    /// The maximum working temperature class of an NdFeB grade (none for plain grades such as
    /// N52).
    pub enum TemperatureClass("temperature class") {
        None = "none",
        M = "M",
        H = "H",
        Sh = "SH",
        Uh = "UH",
        Eh = "EH",
        Ah = "AH",
    }
}

vocabulary! {
    /// A coating on the magnet.
    pub enum CoatingType("coating") {
        NickelCopperNickel = "nickel_copper_nickel",
        Nickel = "nickel",
        Zinc = "zinc",
        Epoxy = "epoxy",
        Aluminium = "aluminium",
        Parylene = "parylene",
        Phosphate = "phosphate",
        /// Described in `description`.
        Other = "other",
        /// Declared absent (the only entry then).
        None = "none",
    }
}

vocabulary! {
    /// A glue holding the magnet in place.
    pub enum GlueType("glue") {
        Epoxy = "epoxy",
        Acrylic = "acrylic",
        Cyanoacrylate = "cyanoacrylate",
        Silicone = "silicone",
        /// Described in `description`.
        Other = "other",
        /// Declared absent (the only entry then).
        None = "none",
    }
}

vocabulary! {
    /// An additive in the magnet material.
    pub enum AdditiveType("additive") {
        GrainBoundaryDiffusionDy = "grain_boundary_diffusion_dy",
        GrainBoundaryDiffusionTb = "grain_boundary_diffusion_tb",
        PolymerBinderEpoxy = "polymer_binder_epoxy",
        PolymerBinderPolyamide = "polymer_binder_polyamide",
        PolymerBinderPps = "polymer_binder_pps",
        ImpregnationResin = "impregnation_resin",
        /// Described in `description`.
        Other = "other",
        /// Declared absent (the only entry then).
        None = "none",
    }
}

vocabulary! {
    /// Whether the magnet is still magnetised when the product reaches its end of life.
    #[derive(Default)]
    pub enum MagnetisedState("magnetised state") {
        Magnetised = "magnetised",
        Demagnetised = "demagnetised",
        #[default]
        Unknown = "unknown",
    }
}

/// One permanent magnet, or a set of `count` identical ones, in a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Magnet {
    /// 1 to 40 of `A-Z a-z 0-9 _ -`, unique in the registration; removal steps name it in
    /// `releases`.
    #[serde(rename = "ref")]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,40}$", example = "outer")]
    pub reference: String,
    #[serde(rename = "type")]
    pub magnet_type: MagnetType,
    /// Required for ndfeb and smco (from their own subtypes), absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<MagnetSubtype>,
    /// The grade, where known: 1 to 20 of `A-Z a-z 0-9 - . /` (`N42SH`, `YXG-28`, `LNG37`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9./-]{1,20}$", example = "N42SH")]
    pub grade: Option<String>,
    /// ndfeb only; agrees with a grade of the form `N<digits><class>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_class: Option<TemperatureClass>,
    /// How many identical magnets the set holds (1 to 100,000).
    #[schema(minimum = 1, maximum = 100_000)]
    pub count: u32,
    /// The mass of one magnet, in grams (more than 0).
    pub unit_mass_g: Mass,
    /// Where in the component it sits (at most 1000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Per element, the mass in one magnet; each element at most once.
    pub composition: Vec<CompositionEntry>,
    /// Absent: not declared; `[{"type": "none"}]`: declared absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coatings: Vec<Coating>,
    /// Absent: not declared; `[{"type": "none"}]`: declared absent. Glue sits outside the
    /// magnet: its mass is per magnet, on top of `unit_mass_g`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub glues: Vec<Glue>,
    /// Absent: not declared; `[{"type": "none"}]`: declared absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additives: Vec<Additive>,
    #[serde(default)]
    pub magnetised_at_end_of_life: MagnetisedState,
    /// Recycled lots this set's rare earths are claimed from: masses for the whole set in one
    /// product unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recycled_sources: Vec<RecycledSource>,
}

impl Magnet {
    /// `count` × `mass` in micrograms (no overflow: at most 100,000 × 10^18).
    pub fn times_count(&self, mass: Mass) -> i128 {
        i128::from(self.count) * i128::from(mass.micrograms())
    }
}

/// The mass of one element in one magnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompositionEntry {
    pub element: ChemicalElement,
    /// Grams in one magnet (more than 0).
    pub mass_g: Mass,
    #[serde(default)]
    pub method: Method,
    /// A share is the wrong unit here: refused with a message that says so.
    #[serde(
        default,
        rename = "share",
        skip_serializing,
        deserialize_with = "refuse_share"
    )]
    #[schema(ignore)]
    no_share: NoShare,
}

/// Never read: a `share` in a composition is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct NoShare;

fn refuse_share<'de, D: Deserializer<'de>>(_: D) -> Result<NoShare, D::Error> {
    Err(serde::de::Error::custom(
        "a composition takes masses (`mass_g`, grams in one magnet), not shares; multiply the \
         share by `unit_mass_g`",
    ))
}

/// A coating declared on a magnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coating {
    #[serde(rename = "type")]
    pub kind: CoatingType,
    /// Grams on one magnet, part of its unit mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mass_g: Option<Mass>,
    /// At most 200 characters; required for `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A glue declared for a magnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Glue {
    #[serde(rename = "type")]
    pub kind: GlueType,
    /// Grams per magnet, outside its unit mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mass_g: Option<Mass>,
    /// At most 200 characters; required for `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An additive declared in a magnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Additive {
    #[serde(rename = "type")]
    pub kind: AdditiveType,
    /// Grams in one magnet, part of its unit mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mass_g: Option<Mass>,
    /// At most 200 characters; required for `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Registration {
    /// Derives the rare-earth `elements` of every component that has magnets and sent none:
    /// per rare earth, Σ `count` × composition mass over the component's magnets, with the
    /// method its composition entries share, or `calculated` when they differ.
    ///
    /// Call it once the registration is parsed and before [`Registration::check`], whose mass
    /// rules then apply to the derived masses. A component that sent `elements` as well keeps
    /// them, and `check` refuses it (one truth). Calling it again derives the same.
    pub fn derive_from_magnets(&mut self) {
        for component in &mut self.ree_content.components {
            if component.magnets.is_empty()
                || (!component.elements.is_empty() && !component.elements_derived)
            {
                continue;
            }
            component.elements = derived_elements(&component.magnets);
            component.elements_derived = true;
        }
    }
}

/// The rare-earth masses a set of magnets holds, in atomic-number order.
pub(crate) fn derived_elements(magnets: &[Magnet]) -> Vec<ElementMass> {
    let mut sums: BTreeMap<Element, (i128, Option<Method>)> = BTreeMap::new();
    for magnet in magnets {
        for entry in &magnet.composition {
            let Some(element) = entry.element.rare_earth() else {
                continue;
            };
            let (sum, method) = sums.entry(element).or_insert((0, Some(entry.method)));
            *sum += magnet.times_count(entry.mass_g);
            if *method != Some(entry.method) {
                *method = None;
            }
        }
    }
    sums.into_iter()
        .filter(|(_, (sum, _))| *sum > 0)
        .map(|(element, (sum, method))| ElementMass {
            element,
            // Beyond Mass::MAX the component's rules refuse the magnets anyway.
            mass_g: i64::try_from(sum)
                .ok()
                .and_then(|m| Mass::from_micrograms(m).ok())
                .unwrap_or(Mass::MAX),
            method: method.unwrap_or(Method::Calculated),
        })
        .collect()
}
