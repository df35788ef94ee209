//! End-of-life flows, regulator indicators and Sankey links derived from stock model runs.
//!
//! Definitions (reproduced exactly by the golden run in `tests/fixtures/mfa/`):
//!
//! - element inflow `[t] = units x magnet_kg_per_unit x mass_fraction / 1000`;
//! - `collected = eol_outflow x collection_rate`, `recycled = collected x recovery_yield`
//!   (per product category, constant over time);
//! - per element, flows are summed over product categories, then
//!   `collection_rate = collected / eol_outflow`,
//!   `eol_recycling_rate = recycled / eol_outflow` and
//!   `eol_recycling_input_rate = recycled / inflow` (secondary share of the element entering use);
//! - Sankey links per category and element for one year:
//!   `manufacturing -> use:<good>` (inflow), `use:<good> -> collection` (collected),
//!   `use:<good> -> uncollected_eol` (eol_outflow - collected), `collection -> recycling`
//!   (recycled), `collection -> recycling_losses` (collected - recycled).

use crate::domain::dsm::DsmResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Invalid end-of-life parameters or inconsistent series.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    /// A share is NaN, infinite or outside `[0, 1]`.
    #[error("{field} must be a share between 0 and 1, got {value}")]
    NotAShare {
        /// The offending field.
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// Series to combine cover different numbers of years.
    #[error("series cover {expected} and {actual} years")]
    YearsMismatch {
        /// Years of the first series.
        expected: usize,
        /// Years of the mismatching series.
        actual: usize,
    },
}

/// How a product category's end-of-life flow is collected and recycled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "RawEolTreatment")]
pub struct EolTreatment {
    /// Share of the end-of-life outflow that is collected for recycling.
    collection_rate: f64,
    /// Share of the collected element recovered by recycling.
    recovery_yield: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEolTreatment {
    collection_rate: f64,
    recovery_yield: f64,
}

impl TryFrom<RawEolTreatment> for EolTreatment {
    type Error = IndicatorError;

    fn try_from(raw: RawEolTreatment) -> Result<Self, Self::Error> {
        Self::new(raw.collection_rate, raw.recovery_yield)
    }
}

fn share(field: &'static str, value: f64) -> Result<f64, IndicatorError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(IndicatorError::NotAShare { field, value })
    }
}

impl EolTreatment {
    /// Both rates must be shares in `[0, 1]`.
    pub fn new(collection_rate: f64, recovery_yield: f64) -> Result<Self, IndicatorError> {
        Ok(Self {
            collection_rate: share("collection_rate", collection_rate)?,
            recovery_yield: share("recovery_yield", recovery_yield)?,
        })
    }

    /// Share of the end-of-life outflow collected.
    pub fn collection_rate(&self) -> f64 {
        self.collection_rate
    }

    /// Share of the collected element recovered.
    pub fn recovery_yield(&self) -> f64 {
        self.recovery_yield
    }
}

/// Tonnes of one element put on the market in `units` products with `magnet_kg_per_unit` kg of
/// magnet each, of which `mass_fraction` is the element.
pub fn element_inflow_t(units: f64, magnet_kg_per_unit: f64, mass_fraction: f64) -> f64 {
    units * magnet_kg_per_unit * mass_fraction / 1000.0
}

/// The yearly flows of one element, for one product category or summed over several.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ElementFlows {
    /// Put on the market (entering use).
    pub inflow: Vec<f64>,
    /// In use at the end of the year.
    pub stock: Vec<f64>,
    /// Leaving use (end of life).
    pub eol_outflow: Vec<f64>,
    /// Collected for recycling.
    pub collected: Vec<f64>,
    /// Recovered as secondary material.
    pub recycled: Vec<f64>,
}

/// Circularity indicators of one element in one year; `None` when the denominator is zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CircularityRates {
    /// `collected / eol_outflow`.
    pub collection_rate: Option<f64>,
    /// `recycled / eol_outflow`.
    pub eol_recycling_rate: Option<f64>,
    /// `recycled / inflow`.
    pub eol_recycling_input_rate: Option<f64>,
}

/// One link of a material-flow Sankey diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SankeyLink {
    /// Origin node.
    pub source: String,
    /// Destination node.
    pub target: String,
    /// The element flowing (`Nd`, `Dy`, ...).
    #[serde(rename = "type")]
    pub element: String,
    /// The calendar year.
    pub time: i32,
    /// Tonnes in that year.
    pub value: f64,
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator != 0.0).then(|| numerator / denominator)
}

impl ElementFlows {
    /// Completes a category's stock model run with its end-of-life treatment.
    pub fn from_dsm(inflow: Vec<f64>, dsm: DsmResult, treatment: &EolTreatment) -> Self {
        let collected: Vec<f64> = dsm
            .outflow
            .iter()
            .map(|eol| eol * treatment.collection_rate)
            .collect();
        let recycled = collected
            .iter()
            .map(|c| c * treatment.recovery_yield)
            .collect();
        Self {
            inflow,
            stock: dsm.stock,
            eol_outflow: dsm.outflow,
            collected,
            recycled,
        }
    }

    /// Number of years covered.
    pub fn years(&self) -> usize {
        self.inflow.len()
    }

    /// Sums flows year by year, e.g. one element over all product categories.
    pub fn total<'a>(
        parts: impl IntoIterator<Item = &'a ElementFlows>,
    ) -> Result<ElementFlows, IndicatorError> {
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return Ok(ElementFlows::default());
        };
        let mut total = first.clone();
        for part in parts {
            if part.years() != total.years() {
                return Err(IndicatorError::YearsMismatch {
                    expected: total.years(),
                    actual: part.years(),
                });
            }
            for (sum, add) in [
                (&mut total.inflow, &part.inflow),
                (&mut total.stock, &part.stock),
                (&mut total.eol_outflow, &part.eol_outflow),
                (&mut total.collected, &part.collected),
                (&mut total.recycled, &part.recycled),
            ] {
                sum.iter_mut().zip(add).for_each(|(s, a)| *s += a);
            }
        }
        Ok(total)
    }

    /// The circularity indicators for each year.
    pub fn rates(&self) -> Vec<CircularityRates> {
        (0..self.years())
            .map(|i| CircularityRates {
                collection_rate: ratio(self.collected[i], self.eol_outflow[i]),
                eol_recycling_rate: ratio(self.recycled[i], self.eol_outflow[i]),
                eol_recycling_input_rate: ratio(self.recycled[i], self.inflow[i]),
            })
            .collect()
    }

    /// The five Sankey links of product category `good` for the year at `year_index`
    /// (calendar year `year`), or `None` if the index is out of range.
    pub fn sankey_links(
        &self,
        good: &str,
        element: &str,
        year: i32,
        year_index: usize,
    ) -> Option<[SankeyLink; 5]> {
        if year_index >= self.years() {
            return None;
        }
        let i = year_index;
        let use_node = format!("use:{good}");
        let link = |source: &str, target: &str, value: f64| SankeyLink {
            source: source.to_owned(),
            target: target.to_owned(),
            element: element.to_owned(),
            time: year,
            value,
        };
        Some([
            link("manufacturing", &use_node, self.inflow[i]),
            link(&use_node, "collection", self.collected[i]),
            link(
                &use_node,
                "uncollected_eol",
                self.eol_outflow[i] - self.collected[i],
            ),
            link("collection", "recycling", self.recycled[i]),
            link(
                "collection",
                "recycling_losses",
                self.collected[i] - self.recycled[i],
            ),
        ])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn flows(inflow: &[f64], eol: &[f64], treatment: &EolTreatment) -> ElementFlows {
        let dsm = DsmResult {
            stock: vec![0.0; inflow.len()],
            outflow: eol.to_vec(),
            outflow_by_cohort: None,
        };
        ElementFlows::from_dsm(inflow.to_vec(), dsm, treatment)
    }

    #[test]
    fn treatment_rates_must_be_shares() {
        assert_eq!(
            EolTreatment::new(1.2, 0.5).unwrap_err(),
            IndicatorError::NotAShare {
                field: "collection_rate",
                value: 1.2
            }
        );
        assert!(matches!(
            EolTreatment::new(0.5, f64::NAN).unwrap_err(),
            IndicatorError::NotAShare {
                field: "recovery_yield",
                ..
            }
        ));
        let json = r#"{"collection_rate": 0.5, "recovery_yield": -0.1}"#;
        let err = serde_json::from_str::<EolTreatment>(json).unwrap_err();
        assert!(err.to_string().contains("recovery_yield"));
        let ok: EolTreatment =
            serde_json::from_str(r#"{"collection_rate": 0.9, "recovery_yield": 0.8}"#).unwrap();
        assert_eq!((ok.collection_rate(), ok.recovery_yield()), (0.9, 0.8));
    }

    #[test]
    fn rates_are_absent_without_a_denominator() {
        let treatment = EolTreatment::new(0.5, 0.5).unwrap();
        let rates = flows(&[0.0, 4.0], &[0.0, 2.0], &treatment).rates();
        assert_eq!(rates[0].collection_rate, None);
        assert_eq!(rates[0].eol_recycling_input_rate, None);
        assert_eq!(rates[1].collection_rate, Some(0.5));
        assert_eq!(rates[1].eol_recycling_rate, Some(0.25));
        assert_eq!(rates[1].eol_recycling_input_rate, Some(0.125));
    }

    #[test]
    fn totals_need_the_same_years_and_sankey_the_year_in_range() {
        let treatment = EolTreatment::new(0.5, 0.5).unwrap();
        let a = flows(&[1.0, 2.0], &[0.5, 1.0], &treatment);
        let b = flows(&[1.0], &[0.5], &treatment);
        assert_eq!(
            ElementFlows::total([&a, &b]).unwrap_err(),
            IndicatorError::YearsMismatch {
                expected: 2,
                actual: 1
            }
        );
        let total = ElementFlows::total([&a, &a]).unwrap();
        assert_eq!(total.inflow, [2.0, 4.0]);
        assert_eq!(total.recycled, [0.25, 0.5]);
        assert!(a.sankey_links("hdd", "Nd", 2040, 2).is_none());
        let links = a.sankey_links("hdd", "Nd", 2016, 1).unwrap();
        let total_out: f64 = links[1..3].iter().map(|l| l.value).sum();
        assert_eq!(total_out, a.eol_outflow[1]);
        assert_eq!(serde_json::to_value(&links[0]).unwrap()["type"], "Nd");
    }
}
