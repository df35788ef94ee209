//! A deposit record: one heap, pond, landfill or tailings facility of a residue that holds rare
//! earths, as a surveyor records it.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use reetrace_core::domain::{ChemicalElement, Country, FieldError, OperatorId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::assay::{Assay, AssayInput};
use super::content::{Estimate, concentrations, content_grams};
use super::exact::{Exact, ExactError};
use super::geometry::{Checks, Geometry, GeometryInput};

/// What the deposit is a residue of.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DepositType {
    /// Coal combustion residue: fly ash.
    FlyAsh,
    /// Coal combustion residue: bottom ash.
    BottomAsh,
    /// Bauxite residue ("red mud") from alumina refining.
    BauxiteResidue,
    /// Phosphogypsum from phosphoric acid production.
    Phosphogypsum,
    /// Tailings of a mine's processing plant.
    MineTailings,
    /// Metallurgical slag.
    Slag,
    Other,
}

/// Whether material is still being deposited.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DepositStatus {
    Active,
    Closed,
    Abandoned,
}

impl DepositType {
    /// The JSON name, e.g. `"bauxite_residue"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DepositType::FlyAsh => "fly_ash",
            DepositType::BottomAsh => "bottom_ash",
            DepositType::BauxiteResidue => "bauxite_residue",
            DepositType::Phosphogypsum => "phosphogypsum",
            DepositType::MineTailings => "mine_tailings",
            DepositType::Slag => "slag",
            DepositType::Other => "other",
        }
    }
}

impl DepositStatus {
    /// The JSON name, e.g. `"closed"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DepositStatus::Active => "active",
            DepositStatus::Closed => "closed",
            DepositStatus::Abandoned => "abandoned",
        }
    }
}

/// How the tonnage was estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TonnageMethod {
    /// A topographic or volumetric survey times a measured bulk density.
    Survey,
    /// The operator's records of what was deposited.
    OperatorRecords,
    /// Derived from production (e.g. ash per tonne of coal burnt, residue per tonne of alumina).
    ProductionModel,
    /// An expert's judgement without measurement.
    ExpertJudgement,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TonnageInput {
    /// Dry mass of the residue in place, tonnes.
    #[schema(
        example = 30_000_000.0,
        exclusive_minimum = 0,
        maximum = 1_000_000_000_000.0
    )]
    pub tonnes: f64,
    /// Standard uncertainty (1σ) of `tonnes`, tonnes.
    #[schema(example = 3_000_000.0, minimum = 0)]
    pub uncertainty_tonnes: f64,
    pub method: TonnageMethod,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    pub geometry: GeometryInput,
    #[schema(value_type = String, example = "HU")]
    pub country: Country,
    /// NUTS 2021 region code (level 1 to 3) within `country`, e.g. `HU221`; Greece's start
    /// with `EL`.
    #[schema(example = "HU221")]
    pub nuts: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorInput {
    #[schema(min_length = 1, max_length = 200, example = "Alumina works")]
    pub name: String,
    pub identifier: Option<OperatorId>,
}

/// Years in which material was deposited; `to` absent while it still is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deposition {
    /// From 1800 to this year.
    #[schema(example = 1964, minimum = 1800)]
    pub from: i32,
    /// From `from` to this year; required once the deposit is closed or abandoned.
    #[schema(example = 2011, minimum = 1800)]
    pub to: Option<i32>,
}

/// A deposit record as received.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositInput {
    #[schema(min_length = 1, max_length = 200, example = "Residue pond 10")]
    pub name: String,
    #[serde(rename = "type")]
    pub deposit_type: DepositType,
    pub status: DepositStatus,
    pub location: LocationInput,
    pub operator: Option<OperatorInput>,
    pub tonnage: TonnageInput,
    pub deposition: Deposition,
    #[serde(default)]
    pub assays: Vec<AssayInput>,
    /// Whether the record is an illustration (the demo's) rather than a survey's data.
    #[serde(default)]
    pub illustrative: bool,
}

/// A checked deposit record.
#[derive(Debug, Clone, PartialEq)]
pub struct Deposit {
    pub name: String,
    pub deposit_type: DepositType,
    pub status: DepositStatus,
    pub geometry: Geometry,
    pub country: Country,
    pub nuts: Option<String>,
    pub operator: Option<(String, Option<OperatorId>)>,
    pub tonnage: Estimate,
    pub method: TonnageMethod,
    pub deposition: Deposition,
    pub assays: Vec<Assay>,
    pub illustrative: bool,
}

/// One element of a deposit: its mean concentration and the mass it gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElementContent {
    /// ppm (g/t).
    pub concentration: Estimate,
    /// Samples behind the concentration.
    pub samples: u64,
    /// Grams.
    pub content: Estimate,
}

const MAX_NAME: usize = 200;
/// Assays one record may hold.
pub const MAX_ASSAYS: usize = 500;

fn check_nuts(code: &str, country: Country) -> Result<String, String> {
    let prefix = match country.code() {
        "GR" => "EL".to_owned(),
        other => other.to_owned(),
    };
    let rest = code.strip_prefix(prefix.as_str()).ok_or_else(|| {
        format!(
            "NUTS code {code:?} is not in {} (its codes start with {prefix})",
            country.name()
        )
    })?;
    if !(1..=3).contains(&rest.len())
        || !rest
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return Err(format!(
            "{code:?} is not a NUTS region code: {prefix} then 1 to 3 digits or capital letters (level 1 to 3)"
        ));
    }
    Ok(code.to_owned())
}

impl Deposit {
    /// Checks a record; `today` bounds the years of deposition. Every problem is reported with
    /// its JSON pointer.
    pub fn parse(input: &DepositInput, today: NaiveDate) -> Result<Deposit, Vec<FieldError>> {
        Self::parse_with(input, today, Checks::Full)
    }

    /// A record read back from the store, checked as it was on `recorded_on` but for the
    /// pairwise simplicity of its polygon's edges ([`Checks::Stored`]).
    pub fn stored(
        input: &DepositInput,
        recorded_on: NaiveDate,
    ) -> Result<Deposit, Vec<FieldError>> {
        Self::parse_with(input, recorded_on, Checks::Stored)
    }

    fn parse_with(
        input: &DepositInput,
        today: NaiveDate,
        checks: Checks,
    ) -> Result<Deposit, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            errors.push(FieldError::new(
                "/name",
                format!("a name of 1 to {MAX_NAME} characters"),
            ));
        }
        let geometry = Geometry::parse_with(&input.location.geometry, "/location/geometry", checks)
            .map_err(|e| errors.extend(e))
            .ok();
        let nuts = match &input.location.nuts {
            Some(code) => check_nuts(code, input.location.country)
                .map_err(|why| errors.push(FieldError::new("/location/nuts", why)))
                .ok(),
            None => None,
        };
        let operator = match &input.operator {
            Some(op) if op.name.trim().is_empty() || op.name.chars().count() > MAX_NAME => {
                errors.push(FieldError::new(
                    "/operator/name",
                    format!("the operator's name, 1 to {MAX_NAME} characters"),
                ));
                None
            }
            Some(op) => Some((op.name.trim().to_owned(), op.identifier.clone())),
            None => None,
        };
        let tonnage = tonnage(&input.tonnage, &mut errors);
        let year = today.year();
        let d = input.deposition;
        if !(1800..=year).contains(&d.from) {
            errors.push(FieldError::new(
                "/deposition/from",
                format!("a year from 1800 to {year}"),
            ));
        }
        if let Some(to) = d.to {
            if to < d.from || to > year {
                errors.push(FieldError::new(
                    "/deposition/to",
                    format!("a year from `from` ({}) to {year}", d.from),
                ));
            }
        } else if input.status != DepositStatus::Active {
            errors.push(FieldError::new(
                "/deposition/to",
                "a closed or abandoned deposit gives the last year of deposition",
            ));
        }
        if input.assays.len() > MAX_ASSAYS {
            errors.push(FieldError::new(
                "/assays",
                format!("at most {MAX_ASSAYS} assays a record"),
            ));
        }
        let mut assays = Vec::with_capacity(input.assays.len());
        for (i, a) in input.assays.iter().enumerate().take(MAX_ASSAYS) {
            if a.sampled_on > today {
                errors.push(FieldError::new(
                    format!("/assays/{i}/sampled_on"),
                    "samples cannot be taken in the future",
                ));
            }
            match Assay::parse(a, &format!("/assays/{i}")) {
                Ok(assay) => assays.push(assay),
                Err(e) => errors.extend(e),
            }
        }
        match (geometry, tonnage, errors.is_empty()) {
            (Some(geometry), Some(tonnage), true) => Ok(Deposit {
                name,
                deposit_type: input.deposit_type,
                status: input.status,
                geometry,
                country: input.location.country,
                nuts,
                operator,
                tonnage,
                method: input.tonnage.method,
                deposition: d,
                assays,
                illustrative: input.illustrative,
            }),
            _ => Err(errors),
        }
    }

    /// Per element reported by any assay: the weighted mean concentration and the content.
    pub fn content(&self) -> Result<BTreeMap<ChemicalElement, ElementContent>, ExactError> {
        concentrations(&self.assays)?
            .into_iter()
            .map(|(element, (concentration, samples))| {
                Ok((
                    element,
                    ElementContent {
                        concentration,
                        samples,
                        content: content_grams(self.tonnage, concentration)?,
                    },
                ))
            })
            .collect()
    }
}

fn tonnage(input: &TonnageInput, errors: &mut Vec<FieldError>) -> Option<Estimate> {
    let value = match Exact::from_json_number(input.tonnes) {
        Ok(v) if v > Exact::ZERO && v <= Exact::integer(1_000_000_000_000) => Some(v),
        Ok(_) => {
            errors.push(FieldError::new(
                "/tonnage/tonnes",
                "a tonnage above 0 and at most 10^12 t",
            ));
            None
        }
        Err(e) => {
            errors.push(FieldError::new(
                "/tonnage/tonnes",
                format!("the tonnage {e}"),
            ));
            None
        }
    };
    if !input.uncertainty_tonnes.is_finite() || input.uncertainty_tonnes < 0.0 {
        errors.push(FieldError::new(
            "/tonnage/uncertainty_tonnes",
            "the standard uncertainty is a number of tonnes, 0 or more",
        ));
        return None;
    }
    value.map(|value| Estimate {
        value,
        uncertainty: input.uncertainty_tonnes,
    })
}

#[cfg(test)]
#[path = "deposit_tests.rs"]
mod tests;
