//! The parameters of the modelled stock: a lifetime per product category, when in its year a
//! cohort enters use, the forecast horizon and the rule that extrapolates the inflow.
//!
//! The defaults come from `defaults.csv` (next to `lib.rs`): one row per category with the row
//! of the reference CSV (`ree_content_reference.csv`) its mean lifetime comes from, and whether
//! the value is an assumption of ours. The reference gives mean lifetimes only, so every
//! default is a Weibull distribution with that mean and an assumed shape (scale = mean /
//! Gamma(1 + 1/shape)), or a fixed lifetime of zero for dissipative uses.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reetrace_core::domain::{Category, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::dsm::InflowAt;
use super::lifetime::Lifetime;

/// The default horizon of the forecast.
pub const DEFAULT_HORIZON: i32 = 2050;
/// The default number of last observed years whose mean inflow is held constant.
pub const DEFAULT_EXTRAPOLATION_YEARS: u32 = 3;

/// How the model is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "horizon": 2050, "inflow_at": "middle", "extrapolation_years": 3,
    "lifetimes": {"ev_traction_motor": {"distribution": "weibull", "shape": 3.0, "scale": 16.8}}
}))]
pub struct Parameters {
    /// The last year of the forecast (1990 to 2200).
    pub horizon: i32,
    /// When, within its year, a cohort's inflow enters use.
    pub inflow_at: InflowAt,
    /// After the last observed year, each series' inflow is the mean of its last
    /// `extrapolation_years` observed years, held constant (1 to 20).
    pub extrapolation_years: u32,
    /// The lifetime of each product category; every category must be given.
    #[schema(value_type = Object)]
    pub lifetimes: BTreeMap<Category, Lifetime>,
}

/// One stored version of the parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterVersion {
    pub version: i64,
    pub parameters: Parameters,
    /// The organisation that set them (none for the built-in defaults).
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl Parameters {
    /// Checks the ranges; every error names its JSON pointer.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(1990..=2200).contains(&self.horizon) {
            errors.push(FieldError::new(
                "/horizon",
                format!("must be between 1990 and 2200, got {}", self.horizon),
            ));
        }
        if !(1..=20).contains(&self.extrapolation_years) {
            errors.push(FieldError::new(
                "/extrapolation_years",
                format!("must be between 1 and 20, got {}", self.extrapolation_years),
            ));
        }
        for category in Category::ALL {
            match self.lifetimes.get(&category) {
                None => errors.push(FieldError::new(
                    format!("/lifetimes/{category}"),
                    "every product category needs a lifetime",
                )),
                Some(lifetime) => {
                    if let Err(e) = lifetime.validate() {
                        errors.push(FieldError::new(
                            format!("/lifetimes/{category}"),
                            e.to_string(),
                        ));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The lifetime of `category` (the defaults' when missing, which validation prevents).
    pub fn lifetime(&self, category: Category) -> Lifetime {
        self.lifetimes
            .get(&category)
            .copied()
            .unwrap_or_else(|| default_row(category).lifetime())
    }
}

/// One row of `defaults.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DefaultLifetime {
    pub category: Category,
    /// The `category` of the reference CSV row the mean lifetime comes from, if any.
    pub reference_row: Option<String>,
    pub mean_years: f64,
    /// `weibull` or `fixed`.
    pub distribution: String,
    /// The Weibull shape (an assumption: the reference gives means only).
    pub weibull_shape: Option<f64>,
    /// Whether the mean lifetime is our assumption rather than the reference's figure.
    pub assumption: bool,
    /// Where the value comes from.
    pub note: String,
}

impl DefaultLifetime {
    /// The distribution: Weibull with the row's mean and shape, or a fixed lifetime.
    pub fn lifetime(&self) -> Lifetime {
        match self.weibull_shape {
            Some(shape) if self.distribution == "weibull" => Lifetime::Weibull {
                shape,
                scale: self.mean_years / libm::tgamma(1.0 + 1.0 / shape),
            },
            _ => Lifetime::Fixed {
                mean: self.mean_years,
            },
        }
    }
}

const DEFAULTS_CSV: &str = include_str!("../defaults.csv");

/// The rows of `defaults.csv`, one per category in vocabulary order.
pub fn default_rows() -> Vec<DefaultLifetime> {
    let mut rows: Vec<DefaultLifetime> = DEFAULTS_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f = csv_fields(line);
            let text = |i: usize| f.get(i).cloned().unwrap_or_default();
            DefaultLifetime {
                category: text(0)
                    .parse()
                    .expect("defaults.csv names known categories"),
                reference_row: Some(text(1)).filter(|s| !s.is_empty()),
                mean_years: text(2).parse().expect("defaults.csv mean is a number"),
                distribution: text(3),
                weibull_shape: text(4).parse().ok(),
                assumption: text(5) == "yes",
                note: text(6),
            }
        })
        .collect();
    rows.sort_by_key(|r| r.category);
    rows
}

fn default_row(category: Category) -> DefaultLifetime {
    default_rows()
        .into_iter()
        .find(|r| r.category == category)
        .expect("defaults.csv has a row per category")
}

/// The built-in parameters (version 1 of every database).
pub fn defaults() -> Parameters {
    Parameters {
        horizon: DEFAULT_HORIZON,
        inflow_at: InflowAt::Middle,
        extrapolation_years: DEFAULT_EXTRAPOLATION_YEARS,
        lifetimes: default_rows()
            .iter()
            .map(|r| (r.category, r.lifetime()))
            .collect(),
    }
}

/// Splits one CSV line, with double-quoted fields that may hold commas.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    fields.push(current);
    fields
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_a_default_with_the_reference_mean() {
        let rows = default_rows();
        assert_eq!(
            rows.iter().map(|r| r.category).collect::<Vec<_>>(),
            Category::ALL
        );
        let params = defaults();
        params.validate().unwrap();
        let ev = rows
            .iter()
            .find(|r| r.category == Category::EvTractionMotor)
            .unwrap();
        assert_eq!(ev.reference_row.as_deref(), Some("ev_bev"));
        assert!(!ev.assumption);
        // The Weibull scale reproduces the reference mean: E[L] = scale * Gamma(1 + 1/shape).
        for row in &rows {
            if let Lifetime::Weibull { shape, scale } = row.lifetime() {
                let mean = scale * libm::tgamma(1.0 + 1.0 / shape);
                assert!((mean - row.mean_years).abs() < 1e-12, "{row:?}");
            }
        }
        assert_eq!(
            params.lifetime(Category::FccCatalyst),
            Lifetime::Fixed { mean: 0.0 }
        );
        let notes_with_commas = rows.iter().filter(|r| r.note.contains(',')).count();
        assert!(notes_with_commas > 0, "quoted fields keep their commas");
    }

    #[test]
    fn validation_names_the_field() {
        let mut params = defaults();
        params.horizon = 1800;
        params.extrapolation_years = 0;
        params.lifetimes.remove(&Category::Laptop);
        let errors = params.validate().unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/horizon", "/extrapolation_years", "/lifetimes/laptop"]
        );
        let json = serde_json::to_value(defaults()).unwrap();
        let back: Parameters = serde_json::from_value(json).unwrap();
        assert_eq!(back, defaults());
        let bad = serde_json::json!({"horizon": 2050, "inflow_at": "middle", "extrapolation_years": 3,
            "lifetimes": {"laptop": {"distribution": "gamma", "mean": 3}}});
        assert!(serde_json::from_value::<Parameters>(bad).is_err());
    }
}
