//! Regulator-scale workload: 60 years x 18 product categories x 17 elements x 30 countries, one
//! survival curve per category shared by all its series. Target: under 100 ms on one core.
//!
//! Run with `cargo bench -p reetrace-stock --bench dsm`.
#![allow(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use reetrace_stock::domain::{InflowAt, Lifetime, SurvivalCurve};
use std::hint::black_box;
use std::time::Instant;

const YEARS: usize = 60;
const CATEGORIES: usize = 18;
const ELEMENTS: usize = 17;
const COUNTRIES: usize = 30;
const ROUNDS: usize = 20;

fn lifetime(category: usize) -> Lifetime {
    let k = category as f64;
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

/// Inflow series for every (category, element, country), flattened.
fn inflows() -> Vec<f64> {
    let series = CATEGORIES * ELEMENTS * COUNTRIES;
    (0..series * YEARS)
        .map(|i| {
            let (s, t) = (i / YEARS, i % YEARS);
            (1.0 + (s % 97) as f64) * (1.0 + 0.03 * t as f64)
        })
        .collect()
}

/// One full workload; returns a checksum so the work cannot be optimised away.
fn workload(inflows: &[f64], stock: &mut [f64], outflow: &mut [f64]) -> f64 {
    let per_category = ELEMENTS * COUNTRIES * YEARS;
    let mut checksum = 0.0;
    for category in 0..CATEGORIES {
        let curve = SurvivalCurve::new(&lifetime(category), YEARS, InflowAt::Middle)
            .expect("bench lifetimes are valid");
        let block = &inflows[category * per_category..(category + 1) * per_category];
        for series in block.chunks_exact(YEARS) {
            curve
                .run_into(series, stock, outflow)
                .expect("bench inflows are finite and sized");
            checksum += stock[YEARS - 1] + outflow[YEARS - 1];
        }
    }
    checksum
}

fn main() {
    let inflows = inflows();
    let (mut stock, mut outflow) = (vec![0.0; YEARS], vec![0.0; YEARS]);
    black_box(workload(&inflows, &mut stock, &mut outflow));

    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        black_box(workload(black_box(&inflows), &mut stock, &mut outflow));
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "dsm: {YEARS} years x {CATEGORIES} categories x {ELEMENTS} elements x {COUNTRIES} countries \
         ({} series): min {:.2} ms, median {:.2} ms, max {:.2} ms over {ROUNDS} rounds",
        CATEGORIES * ELEMENTS * COUNTRIES,
        times[0],
        times[ROUNDS / 2],
        times[ROUNDS - 1],
    );
}
