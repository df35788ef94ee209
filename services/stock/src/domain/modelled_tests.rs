//! The LP audit of the modelled figures: the modelled inflow, stock and outflow are a linear map
//! of the placed-on-market inflows, so an intruder holds, besides every published
//! placed-on-market cell of every year, one linear equation per published modelled figure. The
//! audit here bounds each sensitive placed-on-market cell with all of them together (variables:
//! the finest cells of every year, at least zero) and asks that its protection level be left on
//! both sides, as `exposure` does for one table.

use std::collections::BTreeMap;

use reetrace_core::domain::{Category, Country, Element};
use uuid::Uuid;

use super::Modelled;
use crate::domain::disclosure::{DisclosureRule, protect_with};
use crate::domain::figures::{self, FigureSelection};
use crate::domain::flow::Flow;
use crate::domain::parameters::{Parameters, defaults};
use crate::domain::table::{Contribution, Grain, Key, Table};
use crate::lp::{Optimum, Relation, optimise};

type Market = BTreeMap<i32, Vec<Contribution>>;

fn contribution(category: Category, org: u128, kg: i128) -> Contribution {
    Contribution {
        country: Country::parse("FR").expect("a country"),
        category,
        element: Element::Nd.into(),
        org: Uuid::from_u128(org),
        value_ug: kg * 1_000_000_000,
    }
}

fn tables(market: &Market, rule: Option<DisclosureRule>) -> BTreeMap<i32, Table> {
    market
        .iter()
        .map(|(year, rows)| {
            let mut table = Table::build(rows.iter().copied());
            if let Some(rule) = rule {
                protect_with(&mut table, rule);
            }
            (*year, table)
        })
        .collect()
}

fn model(tables: &BTreeMap<i32, Table>, params: &Parameters, protect: bool) -> Modelled {
    let refs = tables.iter().map(|(y, t)| (*y, t)).collect();
    Modelled::run(&refs, params, protect)
}

/// Every modelled figure of every grain and year, as an answer reads it: (year, key, flow) to
/// its value in kg, `None` when withheld.
fn modelled_figures(model: &Modelled, exact: bool) -> BTreeMap<(i32, Key, Flow), Option<f64>> {
    let mut out = BTreeMap::new();
    for group in Grain::all() {
        let sel = FigureSelection {
            flows: Flow::MODELLED.to_vec(),
            filter: Key::default(),
            group,
            by_year: true,
            from: model.start,
            to: model.end(),
            exact,
        };
        for row in figures::modelled(model, &sel) {
            let year = row.year.expect("rows by year");
            out.insert((year, row.key, row.flow), row.figure.kg());
        }
    }
    out
}

/// A sensitive cell's bounds under everything published, with its value and protection level
/// (kg).
#[derive(Debug)]
struct Bounds {
    year: i32,
    key: Key,
    value: f64,
    lower: f64,
    upper: f64,
    required: f64,
}

/// Bounds every sensitive placed-on-market cell using every published placed-on-market cell
/// and every published modelled figure.
fn audit(market: &Market, params: &Parameters, rule: DisclosureRule) -> Vec<Bounds> {
    let protected = tables(market, Some(rule));
    let published = modelled_figures(&model(&protected, params, true), false);
    let exact = tables(market, None);
    let base = modelled_figures(&model(&exact, params, false), true);

    // One variable per finest cell of each year.
    let vars: Vec<(i32, Key)> = exact
        .iter()
        .flat_map(|(year, t)| t.at(Grain::FINEST).map(move |(k, _)| (*year, *k)))
        .collect();
    let kg = |table: &Table, key: &Key| table.get(key).map_or(0.0, |s| s.value_ug as f64 / 1e9);
    // The modelled figures' coefficients on each variable: one more kg in it, from an
    // organisation of its own (the map is linear).
    let mut coefficients: BTreeMap<(i32, Key, Flow), Vec<(usize, f64)>> = BTreeMap::new();
    for (v, (year, key)) in vars.iter().enumerate() {
        let mut more = market.clone();
        let (Some(country), Some(category), Some(element)) =
            (key.country, key.category, key.element)
        else {
            continue;
        };
        more.entry(*year).or_default().push(Contribution {
            country,
            category,
            element,
            org: Uuid::from_u128(u128::MAX),
            value_ug: 1_000_000_000,
        });
        let moved = modelled_figures(&model(&tables(&more, None), params, false), true);
        for (figure, value) in moved {
            let slope = value.unwrap_or(0.0) - base.get(&figure).copied().flatten().unwrap_or(0.0);
            if slope.abs() > 1e-12 {
                coefficients.entry(figure).or_default().push((v, slope));
            }
        }
    }

    let mut rows: Vec<(Vec<(usize, f64)>, f64)> = Vec::new();
    let under = |year: i32, cell: &Key| -> Vec<(usize, f64)> {
        vars.iter()
            .enumerate()
            .filter(|(_, (y, k))| *y == year && k.at(cell.grain()) == *cell)
            .map(|(v, _)| (v, 1.0))
            .collect()
    };
    for (year, table) in &protected {
        for (key, stat) in Grain::all().flat_map(|g| table.at(g)) {
            if !stat.suppressed {
                rows.push((under(*year, key), stat.value_ug as f64 / 1e9));
            }
        }
    }
    for (figure, value) in &published {
        if let Some(value) = value {
            rows.push((
                coefficients.get(figure).cloned().unwrap_or_default(),
                *value,
            ));
        }
    }

    let bounds = vec![(0.0, f64::INFINITY); vars.len()];
    let mut out = Vec::new();
    for (year, table) in &protected {
        for (key, stat) in Grain::all().flat_map(|g| table.at(g)) {
            if !rule.is_sensitive(stat) {
                continue;
            }
            let mut objective = vec![0.0; vars.len()];
            for (v, _) in under(*year, key) {
                objective[v] = 1.0;
            }
            let solve = |maximise: bool| {
                let rows = rows
                    .iter()
                    .map(|(terms, rhs)| (terms.as_slice(), Relation::Equal, *rhs));
                match optimise(maximise, &objective, &bounds, rows) {
                    Optimum::Point(x, _) => x,
                    Optimum::Unbounded => f64::INFINITY,
                    Optimum::Failed => panic!("the published figures are consistent"),
                }
            };
            out.push(Bounds {
                year: *year,
                key: *key,
                value: kg(&exact[year], key),
                lower: solve(false),
                upper: solve(true),
                required: rule.protection_ug(stat) as f64 / 1e9,
            });
        }
    }
    out
}

/// Two categories with survival curves of their own; in 2021 one maker is alone among
/// smartphones, so the smartphone cell and its partner (hard drives) are withheld while their
/// total is published.
fn market() -> Market {
    let mut market = Market::new();
    for (year, lone) in [(2020, false), (2021, true), (2022, false)] {
        let mut rows = Vec::new();
        if lone {
            rows.push(contribution(Category::Smartphone, 1, 7));
        } else {
            rows.extend((1..=3).map(|org| contribution(Category::Smartphone, org, 5)));
        }
        rows.extend((4..=6).map(|org| contribution(Category::HardDiskDrive, org, 4)));
        market.insert(year, rows);
    }
    market
}

#[test]
fn published_modelled_figures_leave_every_sensitive_cell_its_protection_level() {
    let params = defaults();
    let rule = DisclosureRule::new(3);
    let market = market();
    let protected = tables(&market, Some(rule));
    let lone = Key {
        category: Some(Category::Smartphone),
        ..Key::default()
    };
    assert!(protected[&2021].get(&lone).is_some_and(|s| s.suppressed));
    assert!(
        !protected[&2021]
            .get(&Key::default())
            .is_some_and(|s| s.suppressed)
    );

    let audit = audit(&market, &params, rule);
    assert!(!audit.is_empty());
    for b in &audit {
        let tolerance = 1e-6;
        assert!(
            b.value - b.lower >= b.required - tolerance
                && b.upper - b.value >= b.required - tolerance,
            "{} {:?} bounded to [{}, {}] around {} (protection {})",
            b.year,
            b.key,
            b.lower,
            b.upper,
            b.value,
            b.required
        );
    }
}

#[test]
fn what_a_lone_maker_in_one_year_withholds_and_what_stays_published() {
    let params = defaults();
    let model = model(
        &tables(&market(), Some(DisclosureRule::new(3))),
        &params,
        true,
    );
    let published = modelled_figures(&model, false);
    let at = |year: i32, category: Option<Category>, flow: Flow| {
        let key = Key {
            category,
            ..Key::default()
        };
        published[&(year, key, flow)]
    };
    // The year before is published at every grain.
    for category in [
        None,
        Some(Category::Smartphone),
        Some(Category::HardDiskDrive),
    ] {
        assert!(at(2020, category, Flow::StockInUse).is_some());
        // From 2021 on, stock and outflow of the series made of a withheld cell are withheld,
        // the total's too (its categories' curves would weigh the two withheld cells apart).
        assert!(at(2021, category, Flow::StockInUse).is_none());
        assert!(at(2040, category, Flow::EolGenerated).is_none());
    }
    // The modelled inflow of an observed year is its placed-on-market cell: 2022 is published,
    // the total of 2021 too; the forecast averages 2020-2022 and is withheld with 2021.
    assert_eq!(
        at(2022, Some(Category::Smartphone), Flow::PlacedOnMarket),
        Some(15.0)
    );
    assert_eq!(at(2021, None, Flow::PlacedOnMarket), Some(19.0));
    assert!(at(2021, Some(Category::Smartphone), Flow::PlacedOnMarket).is_none());
    assert!(at(2023, Some(Category::Smartphone), Flow::PlacedOnMarket).is_none());
}

#[test]
fn a_forecast_is_withheld_only_when_a_year_it_averages_is() {
    let mut params = defaults();
    params.extrapolation_years = 2;
    let mut market = Market::new();
    for year in 2018..=2022 {
        let rows = if year == 2018 {
            vec![contribution(Category::Smartphone, 1, 7)]
        } else {
            (1..=3)
                .map(|org| contribution(Category::Smartphone, org, 5))
                .collect()
        };
        market.insert(year, rows);
    }
    let model = model(
        &tables(&market, Some(DisclosureRule::new(3))),
        &params,
        true,
    );
    let published = modelled_figures(&model, false);
    let total = |year: i32, flow: Flow| published[&(year, Key::default(), flow)];
    assert!(total(2018, Flow::PlacedOnMarket).is_none());
    assert_eq!(total(2019, Flow::PlacedOnMarket), Some(15.0));
    // The forecast averages 2021 and 2022, both published.
    assert_eq!(total(2030, Flow::PlacedOnMarket), Some(15.0));
    // The stock holds the 2018 cohort in every later year.
    assert!(total(2019, Flow::StockInUse).is_none());
    assert!(total(2030, Flow::StockInUse).is_none());
    assert!(total(2030, Flow::EolGenerated).is_none());
}
