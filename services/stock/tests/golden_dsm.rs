//! Reproduces the golden REE stock model run (flodym 1.1.0) in `tests/fixtures/mfa/`:
//! per-good stock and flows, per-element indicators and the 2040 Sankey links, all from the
//! input files alone.
#![allow(clippy::unwrap_used)]

use reetrace_stock::domain::{
    ElementFlows, EolTreatment, InflowAt, Lifetime, SurvivalCurve, element_inflow_t,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

const REL_TOL: f64 = 1e-9;

fn fixture(name: &str) -> Vec<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/mfa")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|f| f.trim().to_owned()).collect())
        .collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

fn assert_close(what: &str, got: f64, want: f64) {
    let scale = got.abs().max(want.abs());
    assert!(
        (got - want).abs() <= REL_TOL * scale,
        "{what}: got {got:e}, golden {want:e} (rel diff {:e})",
        (got - want).abs() / scale
    );
}

struct Good {
    name: String,
    magnet_kg_per_unit: f64,
    lifetime: Lifetime,
    treatment: EolTreatment,
    /// (element, mass fraction of the magnet)
    fractions: Vec<(String, f64)>,
}

struct Model {
    years: Vec<i32>,
    goods: Vec<Good>,
    /// (good, element) -> flows
    flows: BTreeMap<(String, String), ElementFlows>,
}

fn run_model() -> Model {
    let params = fixture("golden_ree_params.csv");
    let header = &params[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let goods: Vec<Good> = params[1..]
        .iter()
        .map(|row| Good {
            name: row[col("good")].clone(),
            magnet_kg_per_unit: num(&row[col("magnet_kg_per_unit")]),
            lifetime: Lifetime::Weibull {
                shape: num(&row[col("weibull_shape")]),
                scale: num(&row[col("weibull_scale")]),
            },
            treatment: EolTreatment::new(
                num(&row[col("collection_rate")]),
                num(&row[col("recovery_yield")]),
            )
            .unwrap(),
            fractions: header
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    h.strip_prefix("frac_")
                        .map(|e| (e.to_owned(), num(&row[i])))
                })
                .collect(),
        })
        .collect();
    assert_eq!(goods.len(), 3);

    let units = fixture("golden_ree_units.csv");
    let years: Vec<i32> = units[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!((years[0], years.len()), (2015, 26));

    let mut flows = BTreeMap::new();
    for good in &goods {
        let column = units[0].iter().position(|h| *h == good.name).unwrap();
        let sold: Vec<f64> = units[1..].iter().map(|r| num(&r[column])).collect();
        // One survival curve per good, shared by its four elements.
        let curve = SurvivalCurve::new(&good.lifetime, years.len(), InflowAt::Middle).unwrap();
        for (element, fraction) in &good.fractions {
            let inflow: Vec<f64> = sold
                .iter()
                .map(|&u| element_inflow_t(u, good.magnet_kg_per_unit, *fraction))
                .collect();
            let dsm = curve.run(&inflow).unwrap();
            flows.insert(
                (good.name.clone(), element.clone()),
                ElementFlows::from_dsm(inflow, dsm, &good.treatment),
            );
        }
    }
    Model {
        years,
        goods,
        flows,
    }
}

#[test]
fn stock_and_flows_per_good_and_element_match_flodym() {
    let model = run_model();
    let golden = fixture("golden_ree_dsm.csv");
    assert_eq!(
        golden[0],
        [
            "year",
            "good",
            "element",
            "inflow_t",
            "stock_t",
            "eol_outflow_t",
            "collected_t",
            "recycled_t"
        ]
    );
    assert_eq!(golden.len() - 1, model.years.len() * model.flows.len());
    for row in &golden[1..] {
        let year: i32 = row[0].parse().unwrap();
        let i = model.years.iter().position(|&y| y == year).unwrap();
        let flows = &model.flows[&(row[1].clone(), row[2].clone())];
        let label = |column: &str| format!("{column} {year} {} {}", row[1], row[2]);
        assert_close(&label("inflow"), flows.inflow[i], num(&row[3]));
        assert_close(&label("stock"), flows.stock[i], num(&row[4]));
        assert_close(&label("eol_outflow"), flows.eol_outflow[i], num(&row[5]));
        assert_close(&label("collected"), flows.collected[i], num(&row[6]));
        assert_close(&label("recycled"), flows.recycled[i], num(&row[7]));
    }
}

#[test]
fn element_indicators_match_flodym() {
    let model = run_model();
    let golden = fixture("golden_ree_indicators.csv");
    assert_eq!(
        golden[0],
        [
            "year",
            "element",
            "inflow_t",
            "stock_t",
            "eol_outflow_t",
            "collected_t",
            "recycled_t",
            "collection_rate",
            "eol_recycling_rate",
            "eol_recycling_input_rate"
        ]
    );
    let elements: Vec<&String> = model.goods[0].fractions.iter().map(|(e, _)| e).collect();
    assert_eq!(golden.len() - 1, model.years.len() * elements.len());
    let totals: BTreeMap<&str, ElementFlows> = elements
        .iter()
        .map(|&element| {
            let parts = model
                .goods
                .iter()
                .map(|g| &model.flows[&(g.name.clone(), element.clone())]);
            (element.as_str(), ElementFlows::total(parts).unwrap())
        })
        .collect();
    for row in &golden[1..] {
        let year: i32 = row[0].parse().unwrap();
        let i = model.years.iter().position(|&y| y == year).unwrap();
        let total = &totals[row[1].as_str()];
        let rates = total.rates()[i];
        let label = |column: &str| format!("{column} {year} {}", row[1]);
        assert_close(&label("inflow"), total.inflow[i], num(&row[2]));
        assert_close(&label("stock"), total.stock[i], num(&row[3]));
        assert_close(&label("eol_outflow"), total.eol_outflow[i], num(&row[4]));
        assert_close(&label("collected"), total.collected[i], num(&row[5]));
        assert_close(&label("recycled"), total.recycled[i], num(&row[6]));
        assert_close(
            &label("collection_rate"),
            rates.collection_rate.unwrap(),
            num(&row[7]),
        );
        assert_close(
            &label("eol_recycling_rate"),
            rates.eol_recycling_rate.unwrap(),
            num(&row[8]),
        );
        assert_close(
            &label("eol_recycling_input_rate"),
            rates.eol_recycling_input_rate.unwrap(),
            num(&row[9]),
        );
    }
}

#[test]
fn sankey_links_2040_match_flodym() {
    let model = run_model();
    let golden = fixture("golden_ree_sankey_2040.csv");
    assert_eq!(golden[0], ["source", "target", "type", "time", "value"]);
    let i = model.years.iter().position(|&y| y == 2040).unwrap();
    let links: Vec<_> = model
        .goods
        .iter()
        .flat_map(|good| {
            let flows = &model.flows;
            good.fractions.iter().flat_map(move |(element, _)| {
                flows[&(good.name.clone(), element.clone())]
                    .sankey_links(&good.name, element, 2040, i)
                    .unwrap()
            })
        })
        .collect();
    assert_eq!(links.len(), golden.len() - 1);
    for (link, row) in links.iter().zip(&golden[1..]) {
        assert_eq!(
            (
                link.source.as_str(),
                link.target.as_str(),
                link.element.as_str(),
                link.time
            ),
            (
                row[0].as_str(),
                row[1].as_str(),
                row[2].as_str(),
                row[3].parse().unwrap()
            ),
        );
        let label = format!("{} -> {} {}", link.source, link.target, link.element);
        assert_close(&label, link.value, num(&row[4]));
    }
}

#[test]
fn golden_run_balances_and_cohorts_add_up() {
    let model = run_model();
    let good = &model.goods[0];
    let curve = SurvivalCurve::new(&good.lifetime, model.years.len(), InflowAt::Middle).unwrap();
    let flows = &model.flows[&(good.name.clone(), "Nd".to_owned())];
    let with_cohorts = curve.run_with_cohorts(&flows.inflow).unwrap();
    let by_cohort = with_cohorts.outflow_by_cohort.as_ref().unwrap();
    for (t, row) in by_cohort.iter().enumerate() {
        assert_close("cohort sum", row.iter().sum(), flows.eol_outflow[t]);
        let previous = if t == 0 { 0.0 } else { flows.stock[t - 1] };
        let change = flows.stock[t] - previous;
        let net = flows.inflow[t] - flows.eol_outflow[t];
        assert!((change - net).abs() <= 1e-12 * flows.stock[t], "year {t}");
    }
}
