//! The modelled stock: the observed placed-on-market inflow, run through the dynamic stock
//! model per series (country x category x element), with a forecast to the horizon.
//!
//! Rules:
//! - The model starts in the first year with placed-on-market figures; it covers products with
//!   passports only (nothing placed on the market before is in it).
//! - Observed inflow runs to the last year with placed-on-market figures (any series). After
//!   it, each series' inflow is the mean of its last `extrapolation_years` observed years
//!   (zeros included), held constant to the horizon.
//! - One survival curve per category, reused for every country and element of it.
//! - Disclosure: the model is a lower-triangular linear map of the inflows, so a published
//!   modelled figure must be a function of published placed-on-market cells only, and no more
//!   is withheld than that asks (per series, at every grain):
//!   - stock in use and end-of-life outflow in year `t` are linear in the series' inflows of
//!     the years up to `t` (forecast years: of every observed year), and give them back through
//!     the mass balance. They are withheld from the first year a placed-on-market cell they are
//!     made of is withheld on: the series' own cell when it has a category, otherwise its cell
//!     in each category (categories have their own survival curves, so a series without a
//!     category weighs them differently from their published sum, and two such weighings
//!     give a withheld category back);
//!   - the modelled inflow of an observed year is the placed-on-market cell itself, withheld
//!     with it; of a forecast year, the mean of the last `extrapolation_years` observed cells,
//!     withheld when one of them is.
//!
//!   A new year with one maker withholds that year and the forecast of the series it is in,
//!   not the years before it, nor the series it is not in. Withheld sets of a line are each of
//!   size 0 or >= 2, so their union over years is too: the secondary protection carries over
//!   (the LP audit with the modelled figures is in `modelled_tests.rs`).

use std::collections::BTreeMap;

use super::dsm::SurvivalCurve;
use super::flow::Flow;
use super::parameters::Parameters;
use super::table::{Dim, Grain, Key, Table};

/// Micrograms per kilogram.
pub const UG_PER_KG: f64 = 1e9;

/// What a model runs over: the grain of its finest series, and its first and last observed
/// years when they are given (otherwise those of the tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    pub finest: Grain,
    pub span: Option<(i32, i32)>,
}

impl Default for ModelShape {
    fn default() -> Self {
        ModelShape {
            finest: Grain::FINEST,
            span: None,
        }
    }
}

/// Modelled flows of one cell, one value per model year (kg).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub inflow: Vec<f64>,
    pub stock: Vec<f64>,
    pub outflow: Vec<f64>,
    /// The first model year (index) whose stock and outflow are withheld from the published
    /// statistics, and every later one; `None` when published throughout.
    pub withheld_from: Option<usize>,
    /// The model years (indexes) whose inflow is withheld; empty when none is.
    pub inflow_withheld: Vec<bool>,
}

impl Series {
    /// Whether the stock and outflow of model year `index` are withheld from the published
    /// statistics.
    pub fn withheld_at(&self, index: usize) -> bool {
        self.withheld_from.is_some_and(|from| index >= from)
    }

    /// Whether the modelled `flow` of model year `index` is withheld.
    pub fn withheld(&self, flow: Flow, index: usize) -> bool {
        match flow {
            Flow::PlacedOnMarket => self.inflow_withheld.get(index).copied().unwrap_or(false),
            _ => self.withheld_at(index),
        }
    }
}

/// The modelled stock at every grain.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Modelled {
    /// The first model year.
    pub start: i32,
    /// The last observed year (inflow after it is extrapolated).
    pub last_observed: i32,
    /// The number of model years (start to horizon).
    pub years: usize,
    series: BTreeMap<Key, Series>,
}

impl Modelled {
    /// Runs the model over the placed-on-market tables (by year). With `protect`, cells follow
    /// the tables' suppression as described in the module documentation.
    pub fn run(pom: &BTreeMap<i32, &Table>, params: &Parameters, protect: bool) -> Modelled {
        Modelled::run_over(pom, params, protect, ModelShape::default())
    }

    /// [`Modelled::run`] over tables of another grain, or over given years: the products' net
    /// mass (country x category) runs through the same survival curves over the rare earths'
    /// model years, so that the two models age the same products alike.
    pub fn run_over(
        pom: &BTreeMap<i32, &Table>,
        params: &Parameters,
        protect: bool,
        shape: ModelShape,
    ) -> Modelled {
        let observed: Vec<i32> = pom
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(y, _)| *y)
            .collect();
        let (start, last) = match (shape.span, observed.first(), observed.last()) {
            (Some(span), ..) => span,
            (None, Some(&start), Some(&last)) => (start, last),
            _ => return Modelled::default(),
        };
        if last < start {
            return Modelled::default();
        }
        let end = params.horizon.max(last);
        let years = usize::try_from(end - start + 1).unwrap_or(0);
        let observed_years = usize::try_from(last - start + 1).unwrap_or(0);

        let mut inflows: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
        for (&year, table) in pom {
            let Ok(t) = usize::try_from(year - start) else {
                continue;
            };
            for (key, stat) in table.at(shape.finest) {
                let series = inflows.entry(*key).or_insert_with(|| vec![0.0; years]);
                if t < years {
                    series[t] = stat.value_ug as f64 / UG_PER_KG;
                }
            }
        }
        let window = usize::try_from(params.extrapolation_years)
            .unwrap_or(1)
            .clamp(1, observed_years.max(1));
        for series in inflows.values_mut() {
            let recent = &series[observed_years - window..observed_years];
            let mean = recent.iter().sum::<f64>() / window as f64;
            series[observed_years..].iter_mut().for_each(|v| *v = mean);
        }

        let mut curves = BTreeMap::new();
        let mut finest: BTreeMap<Key, Series> = BTreeMap::new();
        for (key, inflow) in inflows {
            let Some(category) = key.category else {
                continue;
            };
            let curve = curves.entry(category).or_insert_with(|| {
                SurvivalCurve::new(&params.lifetime(category), years, params.inflow_at)
                    .expect("validated parameters give a survival curve")
            });
            let mut stock = vec![0.0; years];
            let mut outflow = vec![0.0; years];
            curve
                .run_into(&inflow, &mut stock, &mut outflow)
                .expect("series are sized to the model years and finite");
            finest.insert(
                key,
                Series {
                    inflow,
                    stock,
                    outflow,
                    withheld_from: None,
                    inflow_withheld: Vec::new(),
                },
            );
        }

        let mut series: BTreeMap<Key, Series> = BTreeMap::new();
        let grains: Vec<Grain> = Grain::all()
            .filter(|g| g.dims().all(|d| shape.finest.has(d)))
            .collect();
        for (key, s) in &finest {
            for &grain in &grains {
                let total = series.entry(key.at(grain)).or_insert_with(|| Series {
                    inflow: vec![0.0; years],
                    stock: vec![0.0; years],
                    outflow: vec![0.0; years],
                    withheld_from: None,
                    inflow_withheld: Vec::new(),
                });
                for (sum, add) in [
                    (&mut total.inflow, &s.inflow),
                    (&mut total.stock, &s.stock),
                    (&mut total.outflow, &s.outflow),
                ] {
                    sum.iter_mut().zip(add).for_each(|(a, b)| *a += b);
                }
            }
        }
        if protect {
            withhold(&mut series, pom, start, observed_years, window);
        }
        Modelled {
            start,
            last_observed: last,
            years,
            series,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The last model year.
    pub fn end(&self) -> i32 {
        self.start + i32::try_from(self.years).unwrap_or(0) - 1
    }

    /// The index of `year`, if the model covers it.
    pub fn index(&self, year: i32) -> Option<usize> {
        usize::try_from(year - self.start)
            .ok()
            .filter(|i| *i < self.years)
    }

    pub fn get(&self, key: &Key) -> Option<&Series> {
        self.series.get(key)
    }

    /// The series at `grain` matching `filter`, as [`Table::select`] does.
    pub fn select<'a>(
        &'a self,
        grain: Grain,
        filter: &'a Key,
    ) -> impl Iterator<Item = (&'a Key, &'a Series)> + 'a {
        let lookup = super::table::Dim::ALL
            .into_iter()
            .filter(|d| grain.has(*d) || filter.grain().has(*d))
            .fold(Grain::TOTAL, Grain::with);
        self.series.iter().filter(move |(key, _)| {
            key.grain() == lookup
                && key.materials == filter.materials
                && (filter.country.is_none() || key.country == filter.country)
                && (filter.category.is_none() || key.category == filter.category)
                && (filter.element.is_none() || key.element == filter.element)
        })
    }
}

/// Marks what the published statistics withhold (see the module documentation): `window` is
/// the number of last observed years the forecast averages.
fn withhold(
    series: &mut BTreeMap<Key, Series>,
    pom: &BTreeMap<i32, &Table>,
    start: i32,
    observed_years: usize,
    window: usize,
) {
    let withheld_years = |key: &Key| -> Vec<usize> {
        pom.iter()
            .filter(|(_, t)| t.get(key).is_some_and(|stat| stat.suppressed))
            .filter_map(|(year, _)| usize::try_from(year - start).ok())
            .collect()
    };
    let mut first: BTreeMap<Key, Option<usize>> = BTreeMap::new();
    for (key, s) in series.iter_mut() {
        let years = withheld_years(key);
        first.insert(*key, years.first().copied());
        if years.is_empty() {
            continue;
        }
        let mut inflow = vec![false; s.inflow.len()];
        for &t in &years {
            if let Some(slot) = inflow.get_mut(t) {
                *slot = true;
            }
        }
        let forecast_withheld = years
            .iter()
            .any(|&t| t + window >= observed_years && t < observed_years);
        if forecast_withheld {
            let from = observed_years.min(inflow.len());
            inflow[from..].iter_mut().for_each(|v| *v = true);
        }
        s.inflow_withheld = inflow;
    }
    // A series without a category is a sum of its categories' series, each with its own
    // survival curve: withheld from the first year any of them is.
    let mut by_category: BTreeMap<Key, Option<usize>> = BTreeMap::new();
    for (key, from) in &first {
        if key.category.is_some() {
            let parent = by_category.entry(key.without(Dim::Category)).or_default();
            *parent = match (*parent, *from) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    for (key, s) in series.iter_mut() {
        let own = first.get(key).copied().flatten();
        let parts = if key.category.is_none() {
            by_category.get(key).copied().flatten()
        } else {
            None
        };
        s.withheld_from = match (own, parts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

#[cfg(test)]
#[path = "modelled_tests.rs"]
mod lp_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::disclosure::protect;
    use crate::domain::lifetime::Lifetime;
    use crate::domain::parameters::defaults;
    use crate::domain::table::Contribution;
    use reetrace_core::domain::{Category, Country, Element};
    use uuid::Uuid;

    fn table(rows: &[(u128, i128)], category: Category) -> Table {
        Table::build(rows.iter().map(|(org, kg)| Contribution {
            country: Country::parse("FR").unwrap(),
            category,
            element: Element::Nd.into(),
            org: Uuid::from_u128(*org),
            value_ug: kg * 1_000_000_000,
        }))
    }

    #[test]
    fn observed_inflow_then_the_mean_of_the_last_years_held_constant() {
        let mut params = defaults();
        params.horizon = 2030;
        params.extrapolation_years = 3;
        params
            .lifetimes
            .insert(Category::Smartphone, Lifetime::Fixed { mean: 2.0 });
        let tables: BTreeMap<i32, Table> = [(2020, 10), (2021, 20), (2022, 30), (2023, 40)]
            .into_iter()
            .map(|(y, kg)| (y, table(&[(1, kg)], Category::Smartphone)))
            .collect();
        let refs = tables.iter().map(|(y, t)| (*y, t)).collect();
        let model = Modelled::run(&refs, &params, false);
        assert_eq!(
            (model.start, model.last_observed, model.end()),
            (2020, 2023, 2030)
        );
        let total = model.get(&Key::default()).unwrap();
        assert_eq!(&total.inflow[..4], [10.0, 20.0, 30.0, 40.0]);
        assert!(total.inflow[4..].iter().all(|v| *v == 30.0));
        // Fixed two-year lifetime, mid-year inflow: in use for the year it came and the next.
        assert_eq!(total.stock[3], 70.0);
        assert_eq!(total.outflow[3], 20.0);
        assert_eq!(total.stock[10], 60.0);
    }

    #[test]
    fn a_cell_withheld_in_its_first_year_is_withheld_in_every_model_year() {
        let params = defaults();
        let mut tables = BTreeMap::new();
        let mut lone = table(&[(1, 5)], Category::Smartphone);
        let mut crowd = table(&[(1, 5), (2, 5), (3, 5)], Category::Smartphone);
        protect(&mut lone, 3);
        protect(&mut crowd, 3);
        tables.insert(2020, lone);
        tables.insert(2021, crowd);
        let refs = tables.iter().map(|(y, t)| (*y, t)).collect();
        let model = Modelled::run(&refs, &params, true);
        let total = model.get(&Key::default()).unwrap();
        assert_eq!(total.withheld_from, Some(0));
        assert!((0..model.years).all(|i| total.withheld_at(i)));
        let open = Modelled::run(&refs, &params, false);
        assert_eq!(open.get(&Key::default()).unwrap().withheld_from, None);
        assert!(Modelled::run(&BTreeMap::new(), &params, true).is_empty());
    }

    /// One maker alone in a new year withholds that year and the forecast, not the years
    /// before it (they depend on published inflows only).
    #[test]
    fn a_new_year_with_one_maker_withholds_from_that_year_on() {
        let mut params = defaults();
        params.horizon = 2030;
        let mut tables = BTreeMap::new();
        for year in 2020..=2023 {
            let mut crowd = table(&[(1, 5), (2, 5), (3, 5)], Category::Smartphone);
            protect(&mut crowd, 3);
            tables.insert(year, crowd);
        }
        let mut lone = table(&[(1, 5)], Category::Smartphone);
        protect(&mut lone, 3);
        tables.insert(2024, lone);
        let refs = tables.iter().map(|(y, t)| (*y, t)).collect();
        let model = Modelled::run(&refs, &params, true);
        let total = model.get(&Key::default()).unwrap();
        assert_eq!(total.withheld_from, model.index(2024));
        assert!(!total.withheld_at(model.index(2023).unwrap()));
        assert!(total.withheld_at(model.index(2024).unwrap()));
        assert!(total.withheld_at(model.index(2030).unwrap()));
    }
}
