//! A scenario run: the baseline (observed inflow and its forecast per category and element, a
//! lifetime per category, baseline collection rates and recovery yields) with the resolved
//! levers applied, through the dynamic stock model.
//!
//! Everything a lever changes is linear in the inflow or applied after the model, so the run
//! works on series summed over countries (the sum of the countries' runs, since one survival
//! curve serves every country of a category):
//!
//! - inflow `I'(t) = I(t) x D(t) x T(t) x (1 - s(t))`: demand growth `D(t) = (1 + g)^(t - a + 1)`
//!   from `a = max(first forecast year, from)` on, content factors `T` and substituted shares `s`
//!   from their year on (several compose by multiplication);
//! - a lifetime lever from cohort `Y` on: `S(t) = sum_{c < Y} I'(c) sf_old(t - c) +
//!   sum_{c >= Y} I'(c) sf_new(t - c)`, two runs of the model on the split inflow (flodym's
//!   cohort-dependent lifetime parameters);
//! - `collected(t) = outflow(t) x r(t)`, `recovered(t) = collected(t) x y(t)`, each rate at its
//!   baseline before its lever's `from`, then in equal steps to the target in `by`.
//!
//! Generic over the category and element keys, so the benchmark can run larger vocabularies.

use std::collections::BTreeMap;

use super::dsm::{InflowAt, SurvivalCurve};
use super::levers::{Change, Effect};
use super::lifetime::{Lifetime, LifetimeError};

/// The baseline collection rate and recovery yield of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EolRates {
    pub collection_rate: f64,
    pub recovery_yield: f64,
}

/// What a scenario is applied to.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline<C, E> {
    /// The first model year.
    pub start: i32,
    /// The number of model years.
    pub years: usize,
    /// The number of observed years (the inflow after them is the forecast).
    pub observed: usize,
    pub inflow_at: InflowAt,
    pub lifetimes: BTreeMap<C, Lifetime>,
    /// Inflow per category and element, one value per model year (observed, then forecast).
    pub inflows: BTreeMap<(C, E), Vec<f64>>,
    /// Baseline rates per category and element; `default_rates` for the others.
    pub rates: BTreeMap<(C, E), EolRates>,
    pub default_rates: EolRates,
}

/// The flows of one series in a scenario, one value per model year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Placed on the market (entering use).
    pub inflow: Vec<f64>,
    /// In use at the end of the year.
    pub stock: Vec<f64>,
    /// Reaching end of life.
    pub outflow: Vec<f64>,
    pub collected: Vec<f64>,
    /// Recovered as secondary material (secondary supply).
    pub recovered: Vec<f64>,
}

impl Outcome {
    fn zeros(years: usize) -> Self {
        let z = vec![0.0; years];
        Self {
            inflow: z.clone(),
            stock: z.clone(),
            outflow: z.clone(),
            collected: z.clone(),
            recovered: z,
        }
    }

    fn add(&mut self, other: &Outcome) {
        for (sum, add) in [
            (&mut self.inflow, &other.inflow),
            (&mut self.stock, &other.stock),
            (&mut self.outflow, &other.outflow),
            (&mut self.collected, &other.collected),
            (&mut self.recovered, &other.recovered),
        ] {
            sum.iter_mut().zip(add).for_each(|(a, b)| *a += b);
        }
    }
}

/// Why a run failed (levers are checked before, so only extreme inputs get here).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WhatIfError {
    #[error("the lifetime of {category}: {source}")]
    Lifetime {
        category: String,
        #[source]
        source: LifetimeError,
    },
    #[error("the figures of {category} {element} overflow: they add up beyond what a number holds")]
    Overflow { category: String, element: String },
}

/// The lifetime stretched by `factor`: mean and standard deviation (Weibull: the scale) times
/// the factor, as flodym's `lt_factor_by_cohort`.
pub fn stretched(lifetime: &Lifetime, factor: f64) -> Lifetime {
    match *lifetime {
        Lifetime::Fixed { mean } => Lifetime::Fixed {
            mean: mean * factor,
        },
        Lifetime::Normal { mean, sd } => Lifetime::Normal {
            mean: mean * factor,
            sd: sd * factor,
        },
        Lifetime::Weibull { shape, scale } => Lifetime::Weibull {
            shape,
            scale: scale * factor,
        },
        Lifetime::LogNormal { mean, sd } => Lifetime::LogNormal {
            mean: mean * factor,
            sd: sd * factor,
        },
    }
}

/// The survival curves of a category: the baseline's, and from a cohort on a new one.
struct Curves {
    old: SurvivalCurve,
    new: Option<(usize, SurvivalCurve)>,
}

/// The rate path of a series: `base` until `from`, then equal steps to `target` in `by`.
fn ramp(path: &mut [f64], base: f64, from: usize, by: usize, target: f64) {
    let steps = (by.max(from) - from + 1) as f64;
    for (t, r) in path.iter_mut().enumerate().skip(from) {
        *r = if t >= by {
            target
        } else {
            base + (target - base) * ((t - from + 1) as f64) / steps
        };
    }
}

/// Runs the baseline with `changes` applied; one outcome per category and element of the
/// baseline's inflows.
pub fn project<C, E>(
    baseline: &Baseline<C, E>,
    changes: &[Change<C, E>],
) -> Result<BTreeMap<(C, E), Outcome>, WhatIfError>
where
    C: Ord + Copy + std::fmt::Display,
    E: Ord + Copy + std::fmt::Display,
{
    let years = baseline.years;
    let mut curves: BTreeMap<C, Curves> = BTreeMap::new();
    let mut out = BTreeMap::new();
    let mut head = vec![0.0; years];
    let mut tail = vec![0.0; years];
    let (mut stock2, mut outflow2) = (vec![0.0; years], vec![0.0; years]);
    for (&(category, element), base_inflow) in &baseline.inflows {
        let applies =
            |c: &Change<C, E>| c.category == category && c.element.is_none_or(|e| e == element);
        let mine: Vec<&Change<C, E>> = changes.iter().filter(|c| applies(c)).collect();
        if let std::collections::btree_map::Entry::Vacant(slot) = curves.entry(category) {
            let lifetime = baseline
                .lifetimes
                .get(&category)
                .copied()
                .unwrap_or(Lifetime::Fixed { mean: 0.0 });
            let failed = |source| WhatIfError::Lifetime {
                category: category.to_string(),
                source,
            };
            let old = SurvivalCurve::new(&lifetime, years, baseline.inflow_at).map_err(failed)?;
            let new = changes
                .iter()
                .filter(|c| c.category == category)
                .find_map(|c| match c.effect {
                    Effect::LifetimeFactor(f) => Some((c.from, stretched(&lifetime, f))),
                    Effect::NewLifetime(l) => Some((c.from, l)),
                    _ => None,
                })
                .map(|(from, l)| {
                    SurvivalCurve::new(&l, years, baseline.inflow_at).map(|curve| (from, curve))
                })
                .transpose()
                .map_err(failed)?;
            slot.insert(Curves { old, new });
        }
        let curve = &curves[&category];

        let mut o = Outcome::zeros(years);
        o.inflow.copy_from_slice(base_inflow);
        for change in &mine {
            let from = change.from.min(years);
            match change.effect {
                Effect::Content(f) => o.inflow[from..].iter_mut().for_each(|v| *v *= f),
                Effect::Substitution(s) => o.inflow[from..].iter_mut().for_each(|v| *v *= 1.0 - s),
                Effect::Demand(g) => {
                    let a = from.max(baseline.observed).min(years);
                    let mut m = 1.0;
                    for v in &mut o.inflow[a..] {
                        m *= 1.0 + g;
                        *v *= m;
                    }
                }
                _ => {}
            }
        }
        match &curve.new {
            None => curve
                .old
                .run_into(&o.inflow, &mut o.stock, &mut o.outflow)
                .map_err(|_| overflow(category, element))?,
            Some((from, new)) => {
                let from = (*from).min(years);
                head.fill(0.0);
                tail.fill(0.0);
                head[..from].copy_from_slice(&o.inflow[..from]);
                tail[from..].copy_from_slice(&o.inflow[from..]);
                curve
                    .old
                    .run_into(&head, &mut o.stock, &mut o.outflow)
                    .map_err(|_| overflow(category, element))?;
                new.run_into(&tail, &mut stock2, &mut outflow2)
                    .map_err(|_| overflow(category, element))?;
                o.stock.iter_mut().zip(&stock2).for_each(|(a, b)| *a += b);
                o.outflow
                    .iter_mut()
                    .zip(&outflow2)
                    .for_each(|(a, b)| *a += b);
            }
        }
        let rates = baseline
            .rates
            .get(&(category, element))
            .copied()
            .unwrap_or(baseline.default_rates);
        let mut collection = vec![rates.collection_rate; years];
        let mut recovery = vec![rates.recovery_yield; years];
        for change in &mine {
            match change.effect {
                Effect::CollectionRate { target, by } => {
                    ramp(
                        &mut collection,
                        rates.collection_rate,
                        change.from,
                        by,
                        target,
                    );
                }
                Effect::RecoveryYield { target, by } => {
                    ramp(&mut recovery, rates.recovery_yield, change.from, by, target);
                }
                _ => {}
            }
        }
        for t in 0..years {
            o.collected[t] = o.outflow[t] * collection[t];
            o.recovered[t] = o.collected[t] * recovery[t];
        }
        if o.stock
            .iter()
            .chain(&o.outflow)
            .chain(&o.inflow)
            .any(|v| !v.is_finite())
        {
            return Err(overflow(category, element));
        }
        out.insert((category, element), o);
    }
    Ok(out)
}

fn overflow<C: std::fmt::Display, E: std::fmt::Display>(category: C, element: E) -> WhatIfError {
    WhatIfError::Overflow {
        category: category.to_string(),
        element: element.to_string(),
    }
}

/// The outcomes summed over categories, per element.
pub fn by_element<C, E: Ord + Copy>(outcomes: &BTreeMap<(C, E), Outcome>) -> BTreeMap<E, Outcome> {
    let mut sums: BTreeMap<E, Outcome> = BTreeMap::new();
    for ((_, element), o) in outcomes {
        sums.entry(*element)
            .or_insert_with(|| Outcome::zeros(o.inflow.len()))
            .add(o);
    }
    sums
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn baseline() -> Baseline<&'static str, &'static str> {
        Baseline {
            start: 2020,
            years: 10,
            observed: 3,
            inflow_at: InflowAt::Middle,
            lifetimes: [("phone", Lifetime::Fixed { mean: 2.0 })].into(),
            inflows: [
                (("phone", "Nd"), vec![10.0; 10]),
                (("phone", "Dy"), vec![1.0; 10]),
            ]
            .into(),
            rates: [(
                ("phone", "Nd"),
                EolRates {
                    collection_rate: 0.5,
                    recovery_yield: 0.8,
                },
            )]
            .into(),
            default_rates: EolRates {
                collection_rate: 0.0,
                recovery_yield: 0.9,
            },
        }
    }

    fn change(
        element: Option<&'static str>,
        from: usize,
        effect: Effect,
    ) -> Change<&'static str, &'static str> {
        Change {
            category: "phone",
            element,
            from,
            effect,
        }
    }

    #[test]
    fn without_levers_the_baseline_is_the_model() {
        let out = project(&baseline(), &[]).unwrap();
        let nd = &out[&("phone", "Nd")];
        // Fixed two-year lifetime at mid-year: 20 in use, 10 leaving each year from year 2 on.
        assert_eq!(nd.stock[5], 20.0);
        assert_eq!(nd.outflow[5], 10.0);
        assert_eq!(nd.collected[5], 5.0);
        assert_eq!(nd.recovered[5], 4.0);
        assert_eq!(out[&("phone", "Dy")].collected[5], 0.0);
    }

    #[test]
    fn inflow_levers_multiply_from_their_year() {
        let changes = [
            change(Some("Dy"), 5, Effect::Content(0.5)),
            change(None, 6, Effect::Substitution(0.1)),
            change(None, 0, Effect::Demand(0.1)),
        ];
        let out = project(&baseline(), &changes).unwrap();
        let dy = &out[&("phone", "Dy")].inflow;
        let nd = &out[&("phone", "Nd")].inflow;
        // Demand grows from the first forecast year (index 3) on.
        assert_eq!(&dy[..3], [1.0, 1.0, 1.0]);
        assert!((dy[3] - 1.1).abs() < 1e-12);
        assert!((dy[5] - 1.1f64.powi(3) * 0.5).abs() < 1e-12);
        assert!((dy[6] - 1.1f64.powi(4) * 0.5 * 0.9).abs() < 1e-12);
        assert!((nd[6] - 10.0 * 1.1f64.powi(4) * 0.9).abs() < 1e-12);
    }

    #[test]
    fn rates_ramp_to_their_target_and_lifetimes_change_new_cohorts_only() {
        let changes = [
            change(Some("Nd"), 2, Effect::CollectionRate { target: 1.0, by: 6 }),
            change(None, 4, Effect::LifetimeFactor(2.0)),
        ];
        let out = project(&baseline(), &changes).unwrap();
        let nd = &out[&("phone", "Nd")];
        // Cohorts 0..4 leave after two years, later ones after four: no outflow in years 6, 7.
        assert_eq!(nd.outflow[5], 10.0);
        assert_eq!(nd.outflow[6], 0.0);
        assert_eq!(nd.outflow[8], 10.0);
        assert_eq!(nd.stock[7], 40.0);
        // The rate goes 0.5 -> 1.0 in five steps from index 2 to 6.
        assert!((nd.collected[5] - 10.0 * 0.9).abs() < 1e-12);
        assert!((nd.collected[8] - 10.0).abs() < 1e-12);
        let sums = by_element(&out);
        assert_eq!(sums.len(), 2);
    }
}
