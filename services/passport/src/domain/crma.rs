//! The Critical Raw Materials Act (Regulation (EU) 2024/1252) applied to a passport: which
//! product group of art. 28(1) a product belongs to (declared, or mapped from its category
//! where that is unambiguous), the exemptions, the application dates of art. 28 and 29, and
//! (in `rules`) whether the passport meets art. 28(1), 28(4)(a)-(c) and 29(1); `coverage` sums
//! the answers over many passports. No I/O here: the caller gives the date of today.

mod coverage;
mod detail;
mod rules;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use reetrace_core::domain::Category;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::registration::Product;
pub use super::registration::{CrmaExemption, CrmaProductGroup};
pub use coverage::{
    ConformityTotals, CoverageCell, CoverageInput, RuleCount, RuleCoverage, summarise,
};
pub use rules::{
    Conformity, ConformityGap, ConformityStatus, Content, CrmaApplicability, CrmaRule, MagnetFacts,
    RuleResult, evaluate,
};

/// The rated output from which an electric motor is in scope, in kW (art. 2(47)).
pub const MOTOR_THRESHOLD_KW: f64 = 0.12;

/// The mass of NdFeB, SmCo and AlNiCo magnets above which art. 29(1) applies, in grams.
pub const ART29_THRESHOLD_G: f64 = 200.0;

/// Our categories that are one product group of art. 28(1) by themselves; every other
/// category maps to none (a magnet, a drive, a phone or a lamp is not in art. 28(1) as such;
/// the manufacturer declares `crma_product_group` where its product is one).
pub const CATEGORY_GROUPS: &[(Category, CrmaProductGroup)] = &[
    (
        Category::WindTurbineGenerator,
        CrmaProductGroup::WindEnergyGenerator,
    ),
    (Category::EvTractionMotor, CrmaProductGroup::ElectricMotor),
    (Category::HevTractionMotor, CrmaProductGroup::ElectricMotor),
    (Category::EBikeMotor, CrmaProductGroup::ElectricMotor),
    (Category::IndustrialMotor, CrmaProductGroup::ElectricMotor),
];

/// The product group a category maps to, if it maps to one.
pub fn mapped_group(category: Category) -> Option<CrmaProductGroup> {
    CATEGORY_GROUPS
        .iter()
        .find(|(c, _)| *c == category)
        .map(|(_, g)| *g)
}

/// Where a product group came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupSource {
    /// The manufacturer declared it (`product.crma_product_group`).
    Declared,
    /// Mapped from the product category (README, "CRMA art. 28/29").
    CategoryMapping,
}

/// The product group: the declared one, else the category's.
pub fn product_group(
    declared: Option<CrmaProductGroup>,
    category: Category,
) -> Option<(CrmaProductGroup, GroupSource)> {
    match declared {
        Some(group) => Some((group, GroupSource::Declared)),
        None => mapped_group(category).map(|g| (g, GroupSource::CategoryMapping)),
    }
}

/// What the signed v2 subject states of the CRMA scope (`ree:crmaScope`): only what the
/// manufacturer declared; absent when it declared nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CrmaScope {
    #[serde(
        rename = "productGroup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub product_group: Option<CrmaProductGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<CrmaExemption>,
    #[serde(
        rename = "ratedOutputKw",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rated_output_kw: Option<f64>,
    /// An L-category vehicle (Regulation (EU) No 168/2013) among the light means of transport:
    /// art. 28 applies to it from the vehicles' date.
    #[serde(
        rename = "lCategoryVehicle",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub l_category_vehicle: bool,
}

impl CrmaScope {
    /// The declaration of a registered product, or `None` when it declares nothing.
    pub fn of(product: &Product) -> Option<CrmaScope> {
        let scope = CrmaScope {
            product_group: product.crma_product_group,
            exemptions: product.crma_exemptions.clone(),
            rated_output_kw: product.rated_output_kw,
            l_category_vehicle: product.l_category_vehicle,
        };
        let empty = scope.product_group.is_none()
            && scope.exemptions.is_empty()
            && scope.rated_output_kw.is_none()
            && !scope.l_category_vehicle;
        (!empty).then_some(scope)
    }
}

/// When art. 28 and 29 apply to products placed on the market (configurable: the dates hang
/// on acts the Commission has still to adopt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrmaDates {
    /// The label and data carrier of art. 28(1) and 28(3): two years after the implementing
    /// act on the label format enters into force. Not adopted: unset, and art. 28 is not yet
    /// applicable.
    pub art28_from: Option<NaiveDate>,
    /// Art. 28 for MRI devices, motor vehicles and L-category vehicles (Regulation (EU) No
    /// 168/2013; among the light means of transport, those declared `l_category_vehicle`):
    /// 24 May 2029.
    pub art28_vehicles_from: Option<NaiveDate>,
    /// Art. 29(1) (recycled content published): 24 May 2027, or two years after the
    /// delegated act on its calculation, whichever is later.
    pub art29_from: NaiveDate,
}

impl Default for CrmaDates {
    fn default() -> Self {
        Self {
            art28_from: None,
            art28_vehicles_from: NaiveDate::from_ymd_opt(2029, 5, 24),
            art29_from: NaiveDate::from_ymd_opt(2027, 5, 24).unwrap_or(NaiveDate::MAX),
        }
    }
}

impl CrmaDates {
    /// From when art. 28 applies to a product of a group, `l_category` telling an L-category
    /// vehicle among the light means of transport; `None`: not known yet. Only MRI devices,
    /// motor vehicles and L-category vehicles have a date of their own: an e-bike outside
    /// category L or an e-scooter takes the general one.
    pub fn art28(&self, group: CrmaProductGroup, l_category: bool) -> Option<NaiveDate> {
        match group {
            CrmaProductGroup::MriDevice | CrmaProductGroup::MotorVehicle => {
                self.art28_vehicles_from.or(self.art28_from)
            }
            CrmaProductGroup::LightMeansOfTransport if l_category => {
                self.art28_vehicles_from.or(self.art28_from)
            }
            _ => self.art28_from,
        }
    }
}
