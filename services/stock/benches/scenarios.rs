//! A policy scenario at the model's full size: 60 years x 30 countries x 32 categories x 20
//! elements (19,200 inflow series), five levers on every category (lifetime stretched from 2030,
//! collection rate to 60 % by 2035, Dy content halved from 2030, 10 % substitution from 2027,
//! 3 % demand growth after the observed years). One round: sum the countries' inflows per
//! category and element (the run is linear in them), apply the levers, run the model (two
//! survival curves per category, the split at the lifetime lever's cohort), sum per element.
//! Target: under 250 ms.
//!
//! Run with `cargo bench -p reetrace-stock --bench scenarios`.
#![allow(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use reetrace_stock::domain::InflowAt;
use reetrace_stock::domain::levers::{Change, Effect};
use reetrace_stock::domain::lifetime::Lifetime;
use reetrace_stock::domain::whatif::{Baseline, EolRates, by_element, project};

const YEARS: usize = 60;
const COUNTRIES: u16 = 30;
const CATEGORIES: u16 = 32;
const ELEMENTS: u16 = 20;
const OBSERVED: usize = 20;
const START: i32 = 2006;
const ROUNDS: usize = 20;
/// The element the thrifting lever halves (any one of the 20).
const DY: u16 = 11;

/// One inflow series at the finest grain: (country, category, element) and its values.
type FinestSeries = ((u16, u16, u16), Vec<f64>);

fn lifetime(category: u16) -> Lifetime {
    let k = f64::from(category);
    match category % 4 {
        0 => Lifetime::Weibull {
            shape: 2.0 + k / 10.0,
            scale: 5.0 + k,
        },
        1 => Lifetime::LogNormal {
            mean: 4.0 + k,
            sd: 1.0 + k / 4.0,
        },
        2 => Lifetime::Normal {
            mean: 10.0 + k,
            sd: 2.0 + k / 5.0,
        },
        _ => Lifetime::Fixed { mean: 3.0 + k },
    }
}

/// Inflow per (country, category, element): observed years, then the flat forecast.
fn finest() -> Vec<FinestSeries> {
    let mut out = Vec::new();
    for country in 0..COUNTRIES {
        for category in 0..CATEGORIES {
            for element in 0..ELEMENTS {
                let s = f64::from((country * 7 + category * 3 + element) % 97 + 1);
                let mut series: Vec<f64> =
                    (0..YEARS).map(|t| s * (1.0 + 0.03 * t as f64)).collect();
                let flat = series[OBSERVED - 3..OBSERVED].iter().sum::<f64>() / 3.0;
                series[OBSERVED..].iter_mut().for_each(|v| *v = flat);
                out.push(((country, category, element), series));
            }
        }
    }
    out
}

fn changes() -> Vec<Change<u16, u16>> {
    let year = |y: i32| usize::try_from(y - START).unwrap_or(0);
    let mut out = Vec::new();
    for category in 0..CATEGORIES {
        let lever = |element, from, effect| Change {
            category,
            element,
            from,
            effect,
        };
        out.push(lever(None, year(2030), Effect::LifetimeFactor(1.2)));
        out.push(lever(
            None,
            year(2027),
            Effect::CollectionRate {
                target: 0.6,
                by: year(2035),
            },
        ));
        out.push(lever(Some(DY), year(2030), Effect::Content(0.5)));
        out.push(lever(None, year(2027), Effect::Substitution(0.1)));
        out.push(lever(None, year(2027), Effect::Demand(0.03)));
    }
    out
}

/// One scenario computation from the finest inflows; a checksum so nothing is optimised away.
fn round(finest: &[FinestSeries], changes: &[Change<u16, u16>]) -> f64 {
    let mut inflows: BTreeMap<(u16, u16), Vec<f64>> = BTreeMap::new();
    for ((_, category, element), series) in finest {
        let sum = inflows
            .entry((*category, *element))
            .or_insert_with(|| vec![0.0; YEARS]);
        sum.iter_mut().zip(series).for_each(|(a, b)| *a += b);
    }
    let baseline = Baseline {
        start: START,
        years: YEARS,
        observed: OBSERVED,
        inflow_at: InflowAt::Middle,
        lifetimes: (0..CATEGORIES).map(|c| (c, lifetime(c))).collect(),
        inflows,
        rates: BTreeMap::new(),
        default_rates: EolRates {
            collection_rate: 0.1,
            recovery_yield: 0.9,
        },
    };
    let outcomes = project(&baseline, changes).expect("bench inputs are valid");
    by_element(&outcomes)
        .values()
        .map(|o| o.stock[YEARS - 1] + o.recovered[YEARS - 1])
        .sum()
}

fn main() {
    let finest = finest();
    let changes = changes();
    black_box(round(&finest, &changes));
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        black_box(round(black_box(&finest), black_box(&changes)));
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "scenarios: {YEARS} years x {COUNTRIES} countries x {CATEGORIES} categories x {ELEMENTS} \
         elements ({} series), {} changes (five levers on every category): min {:.2} ms, \
         median {:.2} ms, max {:.2} ms over {ROUNDS} rounds",
        finest.len(),
        changes.len(),
        times[0],
        times[ROUNDS / 2],
        times[ROUNDS - 1],
    );
}
