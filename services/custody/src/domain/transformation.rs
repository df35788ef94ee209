//! Transformations: dismantling (products in, magnet lots out) and recycling (lots in, oxide,
//! metal or alloy lots out), checked element by element against what went in, exactly.

use chrono::{DateTime, FixedOffset, Utc};
use reetrace_core::domain::{FieldError, Gtin, LotNumber, Mass};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::balance::{ElementAmount, grams};
use super::lot::OutputKind;
use super::state::Process;
use super::step::{Location, check_event_time};

/// One input of a transformation: a product (whole) or part of a lot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// A product, by passport id (all its units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport: Option<Uuid>,
    /// A lot, by lot id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<Uuid>,
    /// How much of the lot, in grams (default: all that is left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mass_g: Option<Mass>,
}

/// One output lot, with its assay.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub kind: OutputKind,
    /// E.g. `NdFeB-sintered`, `NdPr oxide`, `Dy metal`.
    pub material: String,
    pub mass_g: Mass,
    /// Element masses (assay), each element at most once.
    pub elements: Vec<ElementAmount>,
    /// With `lot_number`: the lot is the GS1 LGTIN of this GTIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<Gtin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_number: Option<LotNumber>,
}

/// A dismantling or recycling.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"process": "dismantling", "at": "2026-10-02T10:00:00Z",
    "inputs": [{"passport": "01963e1a-0000-7000-8000-000000000000"}],
    "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
        "elements": [{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100},
                     {"element": "Dy", "mass_g": 58}, {"element": "Tb", "mass_g": 7}]}]}))]
pub struct TransformationRequest {
    pub process: Process,
    /// When it happened (RFC 3339): not before 1950, not in the future (10 minutes of clock
    /// difference are allowed).
    pub at: DateTime<FixedOffset>,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One input as recorded: what it brought in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InputRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_id: Option<Uuid>,
    pub mass_g: Mass,
    pub elements: Vec<ElementAmount>,
}

/// A lot made by a transformation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutputRecord {
    pub lot_id: Uuid,
    /// The lot's EPCIS identifier (LGTIN class or our lot URI).
    pub epc: String,
    pub kind: OutputKind,
    pub material: String,
    pub mass_g: Mass,
    pub elements: Vec<ElementAmount>,
}

/// The answer to a transformation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransformationRecorded {
    pub transformation_id: Uuid,
    pub process: Process,
    pub event_id: String,
    pub leaf_index: i64,
    pub inputs: Vec<InputRecord>,
    pub lots: Vec<OutputRecord>,
    /// What went in and did not come out, per element.
    pub losses: Vec<ElementAmount>,
}

/// A transformation as stored: what it was answered.
#[derive(Debug, Clone)]
pub struct TransformationRow {
    pub id: Uuid,
    pub process: Process,
    pub org_id: Uuid,
    pub at: DateTime<Utc>,
    pub inputs: Vec<InputRecord>,
    pub outputs: Vec<OutputRecord>,
    pub losses: Vec<ElementAmount>,
    pub event_id: String,
}

/// Checks a transformation request on its own (its inputs and outputs; the note, location and
/// time are checked as a step's).
pub fn check_transformation(
    request: &TransformationRequest,
    now: DateTime<Utc>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if request.inputs.is_empty() || request.inputs.len() > 1000 {
        errors.push(FieldError::new("/inputs", "list 1 to 1000 inputs"));
    }
    if request.outputs.is_empty() || request.outputs.len() > 100 {
        errors.push(FieldError::new("/outputs", "list 1 to 100 outputs"));
    }
    for (i, input) in request.inputs.iter().enumerate() {
        match (input.passport, input.lot) {
            (Some(_), None) if input.mass_g.is_some() => errors.push(FieldError::new(
                format!("/inputs/{i}/mass_g"),
                "a product goes in whole; mass_g is for lots",
            )),
            (Some(_), None) | (None, Some(_)) => {}
            _ => errors.push(FieldError::new(
                format!("/inputs/{i}"),
                "name exactly one of passport or lot",
            )),
        }
        if input.mass_g == Some(Mass::ZERO) {
            errors.push(FieldError::new(
                format!("/inputs/{i}/mass_g"),
                "must be more than 0",
            ));
        }
    }
    for (i, output) in request.outputs.iter().enumerate() {
        let at = format!("/outputs/{i}");
        if output.material.trim().is_empty() || output.material.chars().count() > 100 {
            errors.push(FieldError::new(
                format!("{at}/material"),
                "must be 1 to 100 characters",
            ));
        }
        if output.mass_g == Mass::ZERO {
            errors.push(FieldError::new(
                format!("{at}/mass_g"),
                "must be more than 0",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut sum = 0i64;
        for (j, e) in output.elements.iter().enumerate() {
            if !seen.insert(e.element) {
                errors.push(FieldError::new(
                    format!("{at}/elements/{j}/element"),
                    "listed twice",
                ));
            }
            sum = sum.saturating_add(e.mass_g.micrograms());
        }
        if sum > output.mass_g.micrograms() {
            errors.push(FieldError::new(
                format!("{at}/elements"),
                format!(
                    "the elements weigh {} in all, more than the lot's {}",
                    grams(sum),
                    output.mass_g
                ),
            ));
        }
        if let Some(why) = output
            .gtin
            .as_ref()
            .and_then(reetrace_core::domain::gs1_prefix::restricted_circulation)
        {
            errors.push(FieldError::new(
                format!("{at}/gtin"),
                format!("{why}: they never identify a product"),
            ));
        }
        if output.gtin.is_some() != output.lot_number.is_some() {
            errors.push(FieldError::new(
                format!("{at}/lot_number"),
                "give gtin and lot_number together (an LGTIN)",
            ));
        }
    }
    let unique: std::collections::BTreeSet<_> =
        request.inputs.iter().map(|i| (i.passport, i.lot)).collect();
    if unique.len() != request.inputs.len() {
        errors.push(FieldError::new("/inputs", "an input is listed twice"));
    }
    if let Err(why) = check_event_time(request.at.with_timezone(&Utc), now) {
        errors.push(FieldError::new("/at", why));
    }
    errors
}
