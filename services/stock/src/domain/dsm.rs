//! Inflow-driven dynamic stock model (cohort survival), as in flodym's `InflowDrivenDSM`.
//!
//! # Conventions
//!
//! Read from flodym 1.1.0 (`pik-piam/flodym`, `flodym/lifetime_models.py`: `UnevenTimeDim`,
//! `LifetimeModel.compute_survival_factor`, `_remaining_ages`, `get_quad_points_and_weights`,
//! `compute_outflow_pdf`; `flodym/stocks.py`: `InflowDrivenDSM._compute_stock`,
//! `DynamicStockModel._compute_outflow`), and checked against the golden run in
//! `tests/fixtures/mfa/` (computed with flodym 1.1.0).
//!
//! - Time step `t` (one model year) covers `[y_t - 1/2, y_t + 1/2]`; stock is the value at the
//!   *end* of the step. The inflow of cohort `c` enters at one instant of its step, chosen by
//!   [`InflowAt`]: `start`, `middle` (flodym's default) or `end`. Its age at the end of step `t` is
//!   `t - c + offset` with offset `1`, `1/2` and `0` respectively.
//! - `sf(t, c) = S_L(t - c + offset)` for `t >= c`: flodym evaluates the survival function at that
//!   single point (no integral over the step) unless `n_pts_per_interval > 1`, an optional
//!   Gauss-Lobatto average over the inflow instant that ignores `inflow_at`; that option is not
//!   implemented here.
//! - Stock `S(t) = sum_{c <= t} I(c) sf(t, c)`; outflow `O(t, c) = I(c) (sf(t-1, c) - sf(t, c))`
//!   and `O(c, c) = I(c) (1 - sf(c, c))`, so `I(t) - O(t) = S(t) - S(t-1)` holds exactly (up to
//!   rounding) for every distribution.
//! - Normal lifetimes are not truncated at zero (flodym: "no correction or truncation done
//!   here"); the probability of a negative lifetime is part of `1 - sf(c, c)`, i.e. it leaves in
//!   the inflow year and the mass balance still holds.
//! - Fixed lifetimes survive while `age < mean` (strict). For an integer lifetime `L` the cohort
//!   leaves in year `c + L` with `middle` or `end`, and in `c + L - 1` with `start`; a lifetime of
//!   zero leaves in the inflow year. `end` is the convention of the original ODYM
//!   `DynamicStockModel` (`sf = ProbDist.sf(m - n)`), so ODYM's unit cases hold with `end` and,
//!   for integer fixed lifetimes, with `middle`.
//! - Time steps are contiguous years (interval length 1); flodym's uneven time steps are not
//!   supported.
//!
//! Because the lifetime does not depend on the cohort, `sf(t, c)` depends only on the age
//! `t - c`: a [`SurvivalCurve`] holds it once per product category and is applied to every
//! element's inflow series by a convolution.

use crate::domain::lifetime::{Lifetime, LifetimeError, Survival};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// When, within its year, a cohort's inflow enters the stock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InflowAt {
    /// At the beginning of the year: a full year of ageing by the year's end.
    Start,
    /// In the middle of the year (flodym's default, the most accurate single point).
    #[default]
    Middle,
    /// At the end of the year: age zero at the year's end (the original ODYM convention).
    End,
}

impl InflowAt {
    /// Age in years of a cohort at the end of its own inflow year.
    pub fn age_offset(self) -> f64 {
        match self {
            InflowAt::Start => 1.0,
            InflowAt::Middle => 0.5,
            InflowAt::End => 0.0,
        }
    }
}

/// Why a stock model run was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DsmError {
    /// The lifetime parameters are invalid.
    #[error(transparent)]
    Lifetime(#[from] LifetimeError),
    /// The inflow series does not cover the modelled years.
    #[error("inflow has {actual} values but the model covers {expected} years")]
    InflowLength {
        /// Number of modelled years.
        expected: usize,
        /// Length of the inflow given.
        actual: usize,
    },
    /// An inflow value is NaN or infinite.
    #[error("inflow for year index {index} must be finite, got {value}")]
    NonFiniteInflow {
        /// Position in the inflow series.
        index: usize,
        /// The rejected value.
        value: f64,
    },
    /// An output buffer passed to [`SurvivalCurve::run_into`] has the wrong length.
    #[error("output buffer `{buffer}` has {actual} values but the model covers {expected} years")]
    BufferLength {
        /// `"stock"` or `"outflow"`.
        buffer: &'static str,
        /// Number of modelled years.
        expected: usize,
        /// Length of the buffer given.
        actual: usize,
    },
}

/// Stock and outflow of one inflow series, per model year (same units as the inflow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DsmResult {
    /// In-use stock at the end of each year.
    pub stock: Vec<f64>,
    /// End-of-life outflow during each year, all cohorts together.
    pub outflow: Vec<f64>,
    /// Outflow by year (outer index) and cohort (inner index, zero for cohorts after the year),
    /// when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outflow_by_cohort: Option<Vec<Vec<f64>>>,
}

/// The survival function of one lifetime, tabulated by whole years of age since the inflow year.
///
/// Computing it costs one survival evaluation per year; applying it to an inflow series is a
/// convolution, so one curve per product category serves all elements and regions.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalCurve {
    /// `sf[a]`: share of a cohort still in use at the end of the year `a` years after its inflow.
    sf: Vec<f64>,
    /// `leaving[a]`: share of a cohort leaving during that year; `leaving[0] = 1 - sf[0]`.
    leaving: Vec<f64>,
}

impl SurvivalCurve {
    /// Tabulates the survival function of `lifetime` for a model of `years` years.
    pub fn new(
        lifetime: &Lifetime,
        years: usize,
        inflow_at: InflowAt,
    ) -> Result<Self, LifetimeError> {
        let survival = Survival::new(lifetime)?;
        let offset = inflow_at.age_offset();
        let sf: Vec<f64> = (0..years)
            .map(|age| survival.at(age as f64 + offset))
            .collect();
        let leaving = sf
            .iter()
            .scan(1.0, |previous, &now| {
                let left = *previous - now;
                *previous = now;
                Some(left)
            })
            .collect();
        Ok(Self { sf, leaving })
    }

    /// Number of model years the curve covers.
    pub fn years(&self) -> usize {
        self.sf.len()
    }

    /// Surviving share by age in years (`sf(c + a, c)`).
    pub fn survival(&self) -> &[f64] {
        &self.sf
    }

    /// Share of a cohort leaving in the year it reaches each age (`O(c + a, c) / I(c)`).
    pub fn outflow_shares(&self) -> &[f64] {
        &self.leaving
    }

    /// Runs the model for one inflow series (one value per model year).
    pub fn run(&self, inflow: &[f64]) -> Result<DsmResult, DsmError> {
        let mut stock = vec![0.0; self.years()];
        let mut outflow = vec![0.0; self.years()];
        self.run_into(inflow, &mut stock, &mut outflow)?;
        Ok(DsmResult {
            stock,
            outflow,
            outflow_by_cohort: None,
        })
    }

    /// Runs the model and also returns the outflow of each cohort in each year.
    pub fn run_with_cohorts(&self, inflow: &[f64]) -> Result<DsmResult, DsmError> {
        let mut result = self.run(inflow)?;
        let by_cohort = (0..self.years())
            .map(|year| {
                (0..self.years())
                    .map(|cohort| {
                        if cohort <= year {
                            inflow[cohort] * self.leaving[year - cohort]
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        result.outflow_by_cohort = Some(by_cohort);
        Ok(result)
    }

    /// Runs the model writing into caller-owned buffers, so that batch runs over many series
    /// allocate nothing.
    pub fn run_into(
        &self,
        inflow: &[f64],
        stock: &mut [f64],
        outflow: &mut [f64],
    ) -> Result<(), DsmError> {
        let years = self.years();
        if inflow.len() != years {
            return Err(DsmError::InflowLength {
                expected: years,
                actual: inflow.len(),
            });
        }
        for (buffer, len) in [("stock", stock.len()), ("outflow", outflow.len())] {
            if len != years {
                return Err(DsmError::BufferLength {
                    buffer,
                    expected: years,
                    actual: len,
                });
            }
        }
        if let Some((index, &value)) = inflow.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DsmError::NonFiniteInflow { index, value });
        }
        for year in 0..years {
            // Cohorts newest first, so that they line up with ages 0, 1, 2, ...
            let cohorts = inflow[..=year].iter().rev();
            let ages = self.sf[..=year].iter().zip(&self.leaving[..=year]);
            let (mut in_use, mut leaving) = (0.0, 0.0);
            for (&amount, (&surviving, &left)) in cohorts.zip(ages) {
                in_use += amount * surviving;
                leaving += amount * left;
            }
            stock[year] = in_use;
            outflow[year] = leaving;
        }
        Ok(())
    }
}

/// Runs the inflow-driven model for one series: `years` values of `inflow`, one lifetime.
///
/// For many series sharing a lifetime, build one [`SurvivalCurve`] and call
/// [`SurvivalCurve::run`] (or [`SurvivalCurve::run_into`]) per series instead.
pub fn run(
    years: usize,
    inflow: &[f64],
    lifetime: &Lifetime,
    inflow_at: InflowAt,
) -> Result<DsmResult, DsmError> {
    SurvivalCurve::new(lifetime, years, inflow_at)?.run(inflow)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ALL_INFLOW_AT: [InflowAt; 3] = [InflowAt::Start, InflowAt::Middle, InflowAt::End];

    fn lifetimes() -> [Lifetime; 5] {
        [
            Lifetime::Fixed { mean: 5.0 },
            Lifetime::Normal {
                mean: 25.0,
                sd: 5.0,
            },
            // Mostly negative-lifetime mass below zero: it must still balance.
            Lifetime::Normal { mean: 1.0, sd: 3.0 },
            Lifetime::Weibull {
                shape: 3.0,
                scale: 17.0,
            },
            Lifetime::LogNormal { mean: 7.0, sd: 2.5 },
        ]
    }

    /// An uneven inflow with growth, a gap and a dip.
    fn inflow(years: usize) -> Vec<f64> {
        (0..years)
            .map(|t| match t {
                7 | 8 => 0.0,
                _ => 10.0 + 3.0 * t as f64 + 5.0 * ((t % 4) as f64),
            })
            .collect()
    }

    #[test]
    fn odym_fixed_lifetime_unit_case() {
        let inflow: Vec<f64> = (1..=10).map(f64::from).collect();
        let lifetime = Lifetime::Fixed { mean: 5.0 };
        for inflow_at in [InflowAt::Middle, InflowAt::End] {
            let result = run(10, &inflow, &lifetime, inflow_at).unwrap();
            assert_eq!(
                result.stock,
                [1.0, 3.0, 6.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]
            );
            // Each cohort leaves exactly five years after it came in.
            assert_eq!(
                result.outflow,
                [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
            );
        }
        // Entering at the start of the year, a cohort has aged a year more by each year's end.
        let start = run(10, &inflow, &lifetime, InflowAt::Start).unwrap();
        assert_eq!(
            start.stock,
            [1.0, 3.0, 6.0, 10.0, 14.0, 18.0, 22.0, 26.0, 30.0, 34.0]
        );
    }

    #[test]
    fn zero_fixed_lifetime_leaves_in_the_inflow_year() {
        let inflow = inflow(12);
        let result = run(12, &inflow, &Lifetime::Fixed { mean: 0.0 }, InflowAt::End).unwrap();
        assert!(result.stock.iter().all(|&s| s == 0.0));
        assert_eq!(result.outflow, inflow);
    }

    #[test]
    fn survival_curve_samples_the_lifetime_at_age_plus_offset() {
        for lifetime in lifetimes() {
            for inflow_at in ALL_INFLOW_AT {
                let curve = SurvivalCurve::new(&lifetime, 40, inflow_at).unwrap();
                for (age, &sf) in curve.survival().iter().enumerate() {
                    let expected = lifetime
                        .survival(age as f64 + inflow_at.age_offset())
                        .unwrap();
                    assert_eq!(sf, expected, "{lifetime:?} {inflow_at:?} age {age}");
                }
                let left: f64 = curve.outflow_shares().iter().sum();
                let still_in_use = curve.survival()[39];
                assert!((left + still_in_use - 1.0).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn mass_balance_holds_for_every_distribution_and_inflow_time() {
        let years = 60;
        let inflow = inflow(years);
        for lifetime in lifetimes() {
            for inflow_at in ALL_INFLOW_AT {
                let result = run(years, &inflow, &lifetime, inflow_at).unwrap();
                let mut previous = 0.0;
                for (t, (&added, (&stock, &removed))) in inflow
                    .iter()
                    .zip(result.stock.iter().zip(&result.outflow))
                    .enumerate()
                {
                    let residual = added - removed - (stock - previous);
                    assert!(
                        residual.abs() <= 1e-12 * stock.max(added),
                        "{lifetime:?} {inflow_at:?} year {t}: residual {residual:e}"
                    );
                    assert!(stock >= 0.0 && removed >= 0.0);
                    previous = stock;
                }
            }
        }
    }

    #[test]
    fn steady_stock_is_inflow_times_mean_lifetime() {
        // With inflow at mid-year the stock is a midpoint-rule integral of S_L, so a constant
        // inflow builds up to inflow x E[L]: a check of the mean parametrisation end to end.
        let years = 200;
        let inflow = vec![2.0; years];
        for (lifetime, mean) in [
            (Lifetime::LogNormal { mean: 7.0, sd: 2.5 }, 7.0),
            (
                Lifetime::Normal {
                    mean: 25.0,
                    sd: 5.0,
                },
                25.0,
            ),
            (Lifetime::Fixed { mean: 12.0 }, 12.0),
        ] {
            let result = run(years, &inflow, &lifetime, InflowAt::Middle).unwrap();
            let stock = result.stock[years - 1];
            assert!(
                (stock - 2.0 * mean).abs() < 1e-3 * 2.0 * mean,
                "{lifetime:?}: {stock}"
            );
        }
    }

    #[test]
    fn cohort_outflows_add_up_to_the_outflow() {
        let inflow = inflow(30);
        let lifetime = Lifetime::Weibull {
            shape: 2.0,
            scale: 7.0,
        };
        let result = SurvivalCurve::new(&lifetime, 30, InflowAt::Middle)
            .unwrap()
            .run_with_cohorts(&inflow)
            .unwrap();
        let by_cohort = result.outflow_by_cohort.as_ref().unwrap();
        for (t, row) in by_cohort.iter().enumerate() {
            assert!(row[t + 1..].iter().all(|&o| o == 0.0));
            let sum: f64 = row.iter().sum();
            assert!((sum - result.outflow[t]).abs() <= 1e-12 * result.outflow[t].max(1.0));
        }
        assert_eq!(
            result.stock,
            run(30, &inflow, &lifetime, InflowAt::Middle).unwrap().stock
        );
    }

    #[test]
    fn bad_inputs_are_rejected() {
        let lifetime = Lifetime::Weibull {
            shape: 3.0,
            scale: 17.0,
        };
        assert_eq!(
            run(5, &[1.0; 4], &lifetime, InflowAt::Middle).unwrap_err(),
            DsmError::InflowLength {
                expected: 5,
                actual: 4
            }
        );
        let err = run(3, &[1.0, f64::NAN, 1.0], &lifetime, InflowAt::Middle).unwrap_err();
        assert!(matches!(err, DsmError::NonFiniteInflow { index: 1, .. }));
        let bad = Lifetime::Weibull {
            shape: 3.0,
            scale: -1.0,
        };
        assert!(matches!(
            run(3, &[1.0; 3], &bad, InflowAt::Middle).unwrap_err(),
            DsmError::Lifetime(LifetimeError::NotPositive { field: "scale", .. })
        ));
        let curve = SurvivalCurve::new(&lifetime, 3, InflowAt::Middle).unwrap();
        let (mut stock, mut outflow) = (vec![0.0; 3], vec![0.0; 2]);
        assert!(matches!(
            curve.run_into(&[1.0; 3], &mut stock, &mut outflow),
            Err(DsmError::BufferLength {
                buffer: "outflow",
                ..
            })
        ));
    }

    #[test]
    fn inflow_at_json_and_default() {
        assert_eq!(InflowAt::default(), InflowAt::Middle);
        for (json, value) in [
            ("\"start\"", InflowAt::Start),
            ("\"middle\"", InflowAt::Middle),
            ("\"end\"", InflowAt::End),
        ] {
            assert_eq!(serde_json::from_str::<InflowAt>(json).unwrap(), value);
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
        }
        assert!(serde_json::from_str::<InflowAt>("\"mid\"").is_err());
    }
}
