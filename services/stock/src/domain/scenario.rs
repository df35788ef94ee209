//! The model as a pure calculation for scenarios: explicit years, inflow series per category
//! and element, a lifetime per category (any names), `inflow_at`.

use std::collections::BTreeMap;

use reetrace_core::domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dsm::{InflowAt, SurvivalCurve};
use super::lifetime::Lifetime;

/// The most years one scenario may cover.
pub const MAX_YEARS: i64 = 200;
/// The most inflow series one scenario may carry.
pub const MAX_SERIES: usize = 20_000;
/// The most lifetimes one scenario may name.
pub const MAX_LIFETIMES: usize = 1_000;
/// The longest category or element name.
pub const MAX_NAME: usize = 100;

/// The modelled years, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearSpan {
    pub from: i32,
    pub to: i32,
}

/// One inflow series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InflowSeries {
    /// A category named in `lifetimes`.
    #[schema(min_length = 1, max_length = 100)]
    pub category: String,
    /// Any element name (`Nd`, `Dy`...); it is only echoed.
    #[schema(min_length = 1, max_length = 100)]
    pub element: String,
    /// One value per year, in any unit (the results are in the same unit), not negative.
    pub values: Vec<f64>,
}

/// A scenario to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "years": {"from": 2015, "to": 2020}, "inflow_at": "middle",
    "lifetimes": {"ev_motor": {"distribution": "weibull", "shape": 3.0, "scale": 17.0},
                  "hdd": {"distribution": "lognormal", "mean": 7.0, "sd": 2.5},
                  "wind": {"distribution": "normal", "mean": 25.0, "sd": 5.0},
                  "phone": {"distribution": "fixed", "mean": 3}},
    "inflows": [{"category": "ev_motor", "element": "Nd", "values": [33.75, 38.8, 44.6, 51.3, 59.0, 67.9]}]
}))]
pub struct Scenario {
    pub years: YearSpan,
    /// `middle` (default, as flodym), `start` or `end`.
    #[serde(default)]
    pub inflow_at: InflowAt,
    /// A lifetime per category name.
    #[schema(value_type = Object)]
    pub lifetimes: BTreeMap<String, Lifetime>,
    pub inflows: Vec<InflowSeries>,
}

/// Stock and outflow of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesResult {
    pub category: String,
    pub element: String,
    /// In use at the end of each year.
    pub stock: Vec<f64>,
    /// Leaving use (end of life) during each year.
    pub outflow: Vec<f64>,
}

/// The answer to a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScenarioResult {
    /// The modelled years.
    pub years: Vec<i32>,
    pub inflow_at: InflowAt,
    /// One per inflow series, in the order given.
    pub results: Vec<SeriesResult>,
}

fn error(pointer: impl Into<String>, detail: impl Into<String>) -> FieldError {
    FieldError::new(pointer, detail)
}

impl Scenario {
    /// Checks the sizes and values; each error names its JSON pointer.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let span = i64::from(self.years.to) - i64::from(self.years.from) + 1;
        if span < 1 {
            errors.push(error("/years/to", "must not be before years.from"));
        } else if span > MAX_YEARS {
            errors.push(error(
                "/years/to",
                format!("a scenario covers at most {MAX_YEARS} years, this one {span}"),
            ));
        }
        if self.inflows.len() > MAX_SERIES {
            errors.push(error(
                "/inflows",
                format!("at most {MAX_SERIES} series, got {}", self.inflows.len()),
            ));
        }
        if self.lifetimes.len() > MAX_LIFETIMES {
            errors.push(error(
                "/lifetimes",
                format!(
                    "at most {MAX_LIFETIMES} lifetimes, got {}",
                    self.lifetimes.len()
                ),
            ));
        }
        for name in self.lifetimes.keys() {
            if name.is_empty() || name.len() > MAX_NAME {
                errors.push(error(
                    format!("/lifetimes/{}", pointer_token(name)),
                    format!("a category name has 1 to {MAX_NAME} characters"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let years = usize::try_from(span).unwrap_or(0);
        for (i, series) in self.inflows.iter().enumerate() {
            if !self.lifetimes.contains_key(&series.category) {
                errors.push(error(
                    format!("/inflows/{i}/category"),
                    format!("no lifetime is given for category {:?}", series.category),
                ));
            }
            if series.element.is_empty() || series.element.len() > MAX_NAME {
                errors.push(error(
                    format!("/inflows/{i}/element"),
                    format!("an element name has 1 to {MAX_NAME} characters"),
                ));
            }
            if series.values.len() != years {
                errors.push(error(
                    format!("/inflows/{i}/values"),
                    format!(
                        "needs one value per year ({years}), got {}",
                        series.values.len()
                    ),
                ));
            }
            if let Some((j, v)) = series
                .values
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                errors.push(error(
                    format!("/inflows/{i}/values/{j}"),
                    format!("must be a finite number, not negative, got {v}"),
                ));
            }
            if errors.len() >= 20 {
                break;
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Runs a validated scenario: one survival curve per category, shared by its series.
    pub fn run(&self) -> Result<ScenarioResult, Vec<FieldError>> {
        self.validate()?;
        let years: Vec<i32> = (self.years.from..=self.years.to).collect();
        let mut curves: BTreeMap<&str, SurvivalCurve> = BTreeMap::new();
        for (name, lifetime) in &self.lifetimes {
            let curve = SurvivalCurve::new(lifetime, years.len(), self.inflow_at).map_err(|e| {
                vec![error(
                    format!("/lifetimes/{}", pointer_token(name)),
                    e.to_string(),
                )]
            })?;
            curves.insert(name, curve);
        }
        let mut results = Vec::with_capacity(self.inflows.len());
        for (i, series) in self.inflows.iter().enumerate() {
            let curve = &curves[series.category.as_str()];
            let run = curve
                .run(&series.values)
                .map_err(|e| vec![error(format!("/inflows/{i}/values"), e.to_string())])?;
            // Survival shares are in [0, 1], so only inflows beyond what a double adds up to
            // (sums past 1.8e308) can make a modelled figure infinite: refuse them by name.
            if let Some(at) = run
                .stock
                .iter()
                .chain(&run.outflow)
                .position(|v| !v.is_finite())
            {
                let year = years
                    .get(at % years.len())
                    .copied()
                    .unwrap_or(self.years.from);
                return Err(vec![error(
                    format!("/inflows/{i}/values"),
                    format!(
                        "these inflows make the modelled figures of {year} overflow; they add up \
                         beyond what a number holds"
                    ),
                )]);
            }
            results.push(SeriesResult {
                category: series.category.clone(),
                element: series.element.clone(),
                stock: run.stock,
                outflow: run.outflow,
            });
        }
        Ok(ScenarioResult {
            years,
            inflow_at: self.inflow_at,
            results,
        })
    }
}

/// Escapes a JSON pointer token (RFC 6901).
fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scenario(values: Vec<f64>) -> Scenario {
        Scenario {
            years: YearSpan {
                from: 2001,
                to: 2010,
            },
            inflow_at: InflowAt::Middle,
            lifetimes: [("phone".to_owned(), Lifetime::Fixed { mean: 5.0 })].into(),
            inflows: vec![InflowSeries {
                category: "phone".into(),
                element: "Nd".into(),
                values,
            }],
        }
    }

    #[test]
    fn odym_fixed_lifetime_case_through_the_scenario() {
        let result = scenario((1..=10).map(f64::from).collect()).run().unwrap();
        assert_eq!(result.years.first(), Some(&2001));
        assert_eq!(
            result.results[0].stock,
            [1.0, 3.0, 6.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]
        );
    }

    #[test]
    fn inflows_that_overflow_the_model_are_named() {
        let mut s = scenario(vec![1.0e308; 10]);
        s.lifetimes
            .insert("phone".into(), Lifetime::Fixed { mean: 50.0 });
        let errors = s.run().unwrap_err();
        assert_eq!(errors[0].pointer, "/inflows/0/values");
    }

    #[test]
    fn bad_input_names_the_pointer() {
        let pointers = |s: Scenario| -> Vec<String> {
            s.validate()
                .unwrap_err()
                .into_iter()
                .map(|e| e.pointer)
                .collect()
        };
        assert_eq!(pointers(scenario(vec![1.0; 9])), ["/inflows/0/values"]);
        let mut values = vec![1.0; 10];
        values[4] = f64::NAN;
        assert_eq!(pointers(scenario(values)), ["/inflows/0/values/4"]);
        let mut s = scenario(vec![1.0; 10]);
        s.inflows[0].category = "wind".into();
        assert_eq!(pointers(s), ["/inflows/0/category"]);
        let mut s = scenario(vec![1.0; 10]);
        s.years.to = 2300;
        assert_eq!(pointers(s), ["/years/to"]);
        let mut s = scenario(vec![1.0; 10]);
        s.inflows = vec![s.inflows[0].clone(); MAX_SERIES + 1];
        assert_eq!(pointers(s), ["/inflows"]);
    }
}
