//! A scenario run against flodym 1.1.0: the baseline and levers of
//! `tests/fixtures/mfa/golden_scenario_{baseline.csv,levers.json}` through
//! [`reetrace_stock::domain::whatif::project`] give the inflow, stock, end-of-life outflow,
//! collected and recovered of `golden_scenario_results.csv` (computed by `golden_scenario.py`
//! with flodym's `InflowDrivenDSM` and cohort-dependent lifetimes) to 1e-9.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use reetrace_core::domain::{Category, Element};
use reetrace_stock::domain::InflowAt;
use reetrace_stock::domain::levers::{Lever, ScenarioDefinition};
use reetrace_stock::domain::lifetime::Lifetime;
use reetrace_stock::domain::whatif::{Baseline, EolRates, project};
use serde_json::Value;

const REL_TOL: f64 = 1e-9;

fn read(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/mfa")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn rows(name: &str) -> Vec<Vec<String>> {
    read(name)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap()
}

#[test]
fn a_scenario_equals_the_flodym_run_of_the_same_inputs() {
    let spec: Value = serde_json::from_str(&read("golden_scenario_levers.json")).unwrap();
    let years = &spec["years"];
    let start = i32::try_from(years["from"].as_i64().unwrap()).unwrap();
    let end = i32::try_from(years["to"].as_i64().unwrap()).unwrap();
    let last_observed = i32::try_from(years["last_observed"].as_i64().unwrap()).unwrap();
    let n = usize::try_from(end - start + 1).unwrap();

    let mut inflows: BTreeMap<(Category, Element), Vec<f64>> = BTreeMap::new();
    for row in rows("golden_scenario_baseline.csv") {
        let key = (row[1].parse().unwrap(), row[2].parse().unwrap());
        let t = usize::try_from(row[0].parse::<i32>().unwrap() - start).unwrap();
        inflows.entry(key).or_insert_with(|| vec![0.0; n])[t] = num(&row[3]);
    }
    let lifetimes: BTreeMap<Category, Lifetime> =
        serde_json::from_value(spec["lifetimes"].clone()).unwrap();
    let mut rates = BTreeMap::new();
    for (category, r) in spec["rates"].as_object().unwrap() {
        let category: Category = category.parse().unwrap();
        for (c, e) in inflows.keys() {
            if *c == category {
                rates.insert(
                    (*c, *e),
                    EolRates {
                        collection_rate: r["collection_rate"].as_f64().unwrap(),
                        recovery_yield: r["recovery_yield"].as_f64().unwrap(),
                    },
                );
            }
        }
    }
    let baseline = Baseline {
        start,
        years: n,
        observed: usize::try_from(last_observed - start + 1).unwrap(),
        inflow_at: InflowAt::Middle,
        lifetimes,
        inflows,
        rates,
        default_rates: EolRates {
            collection_rate: 0.0,
            recovery_yield: 0.0,
        },
    };
    let levers: Vec<Lever> = serde_json::from_value(spec["levers"].clone()).unwrap();
    assert_eq!(levers.len(), 7, "every kind of lever is in the golden run");
    let definition = ScenarioDefinition {
        name: "golden".into(),
        description: String::new(),
        shared: false,
        levers,
    };
    let changes = definition.resolve((start, end)).unwrap();
    let outcomes = project(&baseline, &changes).unwrap();

    let golden = rows("golden_scenario_results.csv");
    assert_eq!(golden.len(), n * outcomes.len());
    for row in golden {
        let key: (Category, Element) = (row[1].parse().unwrap(), row[2].parse().unwrap());
        let t = usize::try_from(row[0].parse::<i32>().unwrap() - start).unwrap();
        let o = &outcomes[&key];
        for (what, got, want) in [
            ("inflow", o.inflow[t], num(&row[3])),
            ("stock", o.stock[t], num(&row[4])),
            ("outflow", o.outflow[t], num(&row[5])),
            ("collected", o.collected[t], num(&row[6])),
            ("recovered", o.recovered[t], num(&row[7])),
        ] {
            let scale = got.abs().max(want.abs());
            assert!(
                (got - want).abs() <= REL_TOL * scale,
                "{what} {} {} {}: got {got:e}, flodym {want:e}",
                row[0],
                row[1],
                row[2]
            );
        }
    }
}
