//! Assays: what a laboratory measured in samples of a deposit.
//!
//! An assay is one campaign: the date the samples were taken, the method (ICP-MS, XRF...), the
//! laboratory, how many samples it stands for, and per element a concentration in ppm (g/t)
//! with its standard uncertainty (1σ, ppm). Any element of the periodic table may be reported
//! (scandium and yttrium with the lanthanides, but also aluminium, iron, thorium...); the
//! concentrations of one assay cannot sum above 10^6 ppm, the whole sample.

use chrono::NaiveDate;
use reetrace_core::domain::{ChemicalElement, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::exact::Exact;

/// Parts per million in the whole: the most one element, or all of them together, can be.
pub const WHOLE_PPM: i128 = 1_000_000;
/// Samples one assay may stand for.
pub const MAX_SAMPLES: u32 = 1_000_000;
const MAX_TEXT: usize = 200;

/// One element's measured concentration, as received.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcentrationInput {
    /// Any element, by case-sensitive symbol (`"Nd"`, `"Sc"`, `"Th"`).
    #[schema(value_type = String, example = "Nd")]
    pub element: ChemicalElement,
    /// Mean concentration over the samples, ppm by mass (g/t), 0 to 10^6.
    #[schema(example = 182.5, minimum = 0, maximum = 1000000)]
    pub ppm: f64,
    /// Standard uncertainty (1σ) of `ppm`, ppm, as the laboratory states it (0 for a value
    /// taken as exact).
    #[schema(example = 9.1, minimum = 0, maximum = 1000000)]
    pub uncertainty_ppm: f64,
}

/// An assay as received.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssayInput {
    /// When the samples were taken.
    #[schema(value_type = String, format = Date, example = "2025-06-12")]
    pub sampled_on: NaiveDate,
    /// Analytical method, e.g. `ICP-MS`, `XRF`, `INAA`.
    #[schema(example = "ICP-MS", min_length = 1, max_length = 200)]
    pub method: String,
    /// The laboratory that measured.
    #[schema(
        example = "Geological Survey laboratory",
        min_length = 1,
        max_length = 200
    )]
    pub laboratory: String,
    /// Samples the concentrations are the mean of (at least 1).
    #[schema(example = 12, minimum = 1, maximum = 1000000)]
    pub sample_count: u32,
    #[schema(min_items = 1)]
    pub concentrations: Vec<ConcentrationInput>,
}

/// One element's concentration, checked and exact.
#[derive(Debug, Clone, PartialEq)]
pub struct Concentration {
    pub element: ChemicalElement,
    pub ppm: Exact,
    pub uncertainty_ppm: f64,
}

/// A checked assay.
#[derive(Debug, Clone, PartialEq)]
pub struct Assay {
    pub sampled_on: NaiveDate,
    pub method: String,
    pub laboratory: String,
    pub sample_count: u32,
    pub concentrations: Vec<Concentration>,
}

fn text(value: &str, pointer: String, what: &str, errors: &mut Vec<FieldError>) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(pointer, format!("give the {what}")));
    } else if trimmed.chars().count() > MAX_TEXT {
        errors.push(FieldError::new(
            pointer,
            format!("the {what} may have at most {MAX_TEXT} characters"),
        ));
    }
    trimmed.to_owned()
}

impl Assay {
    /// Checks an assay received at `pointer` (e.g. `/assays/0`); every problem is reported.
    pub fn parse(input: &AssayInput, pointer: &str) -> Result<Assay, Vec<FieldError>> {
        let mut errors = Vec::new();
        let method = text(
            &input.method,
            format!("{pointer}/method"),
            "analytical method",
            &mut errors,
        );
        let laboratory = text(
            &input.laboratory,
            format!("{pointer}/laboratory"),
            "laboratory",
            &mut errors,
        );
        if !(1..=MAX_SAMPLES).contains(&input.sample_count) {
            errors.push(FieldError::new(
                format!("{pointer}/sample_count"),
                format!("an assay stands for 1 to {MAX_SAMPLES} samples"),
            ));
        }
        if input.concentrations.is_empty() {
            errors.push(FieldError::new(
                format!("{pointer}/concentrations"),
                "an assay reports at least one element",
            ));
        }
        let mut concentrations: Vec<Concentration> = Vec::with_capacity(input.concentrations.len());
        let mut total = Exact::ZERO;
        for (i, c) in input.concentrations.iter().enumerate() {
            let at = format!("{pointer}/concentrations/{i}");
            if concentrations.iter().any(|seen| seen.element == c.element) {
                errors.push(FieldError::new(
                    format!("{at}/element"),
                    format!("{} is reported twice in this assay", c.element.symbol()),
                ));
                continue;
            }
            let ppm = match Exact::from_json_number(c.ppm) {
                Ok(v) if v.is_negative() => {
                    errors.push(FieldError::new(
                        format!("{at}/ppm"),
                        "a concentration cannot be negative",
                    ));
                    continue;
                }
                Ok(v) if v > Exact::integer(WHOLE_PPM) => {
                    errors.push(FieldError::new(
                        format!("{at}/ppm"),
                        format!("{} ppm is more than the whole sample (10^6 ppm)", c.ppm),
                    ));
                    continue;
                }
                Ok(v) => v,
                Err(e) => {
                    errors.push(FieldError::new(
                        format!("{at}/ppm"),
                        format!("the concentration {e}"),
                    ));
                    continue;
                }
            };
            if !c.uncertainty_ppm.is_finite()
                || c.uncertainty_ppm < 0.0
                || c.uncertainty_ppm > WHOLE_PPM as f64
            {
                errors.push(FieldError::new(
                    format!("{at}/uncertainty_ppm"),
                    "the standard uncertainty is a number from 0 to 10^6 ppm",
                ));
                continue;
            }
            total = total.checked_add(ppm).unwrap_or(Exact::integer(i128::MAX));
            concentrations.push(Concentration {
                element: c.element,
                ppm,
                uncertainty_ppm: c.uncertainty_ppm,
            });
        }
        if total > Exact::integer(WHOLE_PPM) {
            errors.push(FieldError::new(
                format!("{pointer}/concentrations"),
                format!(
                    "the concentrations sum to {total} ppm, more than the whole sample (10^6 ppm)"
                ),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        concentrations.sort_by_key(|c| c.element);
        Ok(Assay {
            sampled_on: input.sampled_on,
            method,
            laboratory,
            sample_count: input.sample_count,
            concentrations,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input(concentrations: serde_json::Value) -> AssayInput {
        serde_json::from_value(serde_json::json!({
            "sampled_on": "2025-06-12", "method": "ICP-MS", "laboratory": "Lab",
            "sample_count": 12, "concentrations": concentrations
        }))
        .unwrap()
    }

    fn errors(concentrations: serde_json::Value) -> Vec<(String, String)> {
        Assay::parse(&input(concentrations), "/assays/0")
            .unwrap_err()
            .into_iter()
            .map(|e| (e.pointer, e.detail))
            .collect()
    }

    #[test]
    fn any_element_with_its_uncertainty() {
        let a = Assay::parse(
            &input(serde_json::json!([
                {"element": "Sc", "ppm": 95.5, "uncertainty_ppm": 4.0},
                {"element": "Fe", "ppm": 310000, "uncertainty_ppm": 5000},
                {"element": "Nd", "ppm": 75.25, "uncertainty_ppm": 3.1}
            ])),
            "/assays/0",
        )
        .unwrap();
        let symbols: Vec<_> = a
            .concentrations
            .iter()
            .map(|c| c.element.symbol())
            .collect();
        assert_eq!(symbols, ["Sc", "Fe", "Nd"], "atomic-number order");
        assert_eq!(a.concentrations[2].ppm, Exact::ratio(7525, 100).unwrap());
    }

    #[test]
    fn impossible_concentrations_are_named() {
        let e = errors(serde_json::json!([{"element": "Nd", "ppm": -1, "uncertainty_ppm": 0}]));
        assert_eq!(e[0].0, "/assays/0/concentrations/0/ppm");
        assert!(e[0].1.contains("negative"));
        let e =
            errors(serde_json::json!([{"element": "Nd", "ppm": 1000001, "uncertainty_ppm": 0}]));
        assert!(e[0].1.contains("more than the whole sample"), "{}", e[0].1);
        let e = errors(serde_json::json!([
            {"element": "Al", "ppm": 600000, "uncertainty_ppm": 0},
            {"element": "Fe", "ppm": 400000.5, "uncertainty_ppm": 0}
        ]));
        assert_eq!(e[0].0, "/assays/0/concentrations");
        assert!(e[0].1.contains("sum to 1000000.5 ppm"), "{}", e[0].1);
        let e = errors(serde_json::json!([
            {"element": "Nd", "ppm": 1, "uncertainty_ppm": 0},
            {"element": "Nd", "ppm": 2, "uncertainty_ppm": 0}
        ]));
        assert_eq!(e[0].0, "/assays/0/concentrations/1/element");
        let e = errors(serde_json::json!([{"element": "Nd", "ppm": 1, "uncertainty_ppm": -0.5}]));
        assert_eq!(e[0].0, "/assays/0/concentrations/0/uncertainty_ppm");
        assert!(
            serde_json::from_value::<ConcentrationInput>(
                serde_json::json!({"element": "Xx", "ppm": 1, "uncertainty_ppm": 0})
            )
            .is_err()
        );
    }

    #[test]
    fn an_assay_names_its_method_laboratory_and_samples() {
        let mut bad = input(serde_json::json!([{"element": "Nd", "ppm": 1, "uncertainty_ppm": 0}]));
        bad.method = "  ".into();
        bad.sample_count = 0;
        let e = Assay::parse(&bad, "/assays/3").unwrap_err();
        let pointers: Vec<_> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/assays/3/method", "/assays/3/sample_count"]);
    }
}
