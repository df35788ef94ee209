//! The products' net mass placed on the market: each counted passport's net mass times its
//! units (an item once, a batch its units, a model passport and a revoked one not at all, as
//! for the rare earths), by market year, country and category, per manufacturer.
//!
//! One table per year over country x category (no element), protected by the same disclosure
//! control as the rare-earth tables (the manufacturers are the contributors), then run through
//! the dynamic stock model to the products' mass reaching end of life
//! ([`super::modelled::Modelled::run_over`]).
//!
//! Passports stored before the stock service kept the net mass (migration 40005) have none:
//! their units count as of unknown mass ([`ProductTables::without_mass`]), outside the tables.

use std::collections::BTreeMap;

use reetrace_core::domain::{Category, Country};
use uuid::Uuid;

use super::table::{Key, Materials, Table};

/// Counted units of one manufacturer's passports of one year, country and category with the
/// same net mass per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductCount {
    pub year: i32,
    pub country: Country,
    pub category: Category,
    pub org: Uuid,
    pub units: u64,
    /// Per unit, micrograms; `None` when the passport was stored without it.
    pub net_mass_ug: Option<i64>,
}

/// The product-mass tables and the units of unknown mass.
#[derive(Debug, Clone, Default)]
pub struct ProductTables {
    /// Per market year: product mass (micrograms) over country x category.
    pub tables: BTreeMap<i32, Table>,
    /// Units without a known net mass, per market year, country and category.
    pub without_mass: BTreeMap<(i32, Country, Category), u64>,
}

impl ProductTables {
    /// Sums the counts into one table per year (not yet protected).
    pub fn build(counts: &[ProductCount]) -> ProductTables {
        let mut rows: BTreeMap<i32, Vec<(Key, Uuid, i128)>> = BTreeMap::new();
        let mut without_mass = BTreeMap::new();
        for c in counts {
            let Some(net) = c.net_mass_ug else {
                *without_mass
                    .entry((c.year, c.country, c.category))
                    .or_insert(0) += c.units;
                continue;
            };
            // Product mass is no element's: it sits with the rare earths' group.
            let key = Key {
                country: Some(c.country),
                category: Some(c.category),
                element: None,
                materials: Materials::RareEarths,
            };
            let mass = i128::from(net) * i128::from(c.units);
            rows.entry(c.year).or_default().push((key, c.org, mass));
        }
        ProductTables {
            tables: rows
                .into_iter()
                .map(|(year, rows)| (year, Table::build_keyed(rows)))
                .collect(),
            without_mass,
        }
    }

    /// Units of unknown mass in `category` placed on the market up to `year` (in `country`,
    /// or anywhere).
    pub fn units_without_mass(
        &self,
        year: i32,
        country: Option<Country>,
        category: Category,
    ) -> u64 {
        self.without_mass
            .iter()
            .filter(|((y, c, k), _)| {
                *y <= year && *k == category && country.is_none_or(|only| only == *c)
            })
            .map(|(_, units)| *units)
            .sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::disclosure::protect;
    use crate::domain::modelled::{ModelShape, Modelled};
    use crate::domain::parameters::defaults;
    use crate::domain::table::{Dim, Grain};

    fn count(year: i32, country: &str, org: u128, units: u64, grams: Option<i64>) -> ProductCount {
        ProductCount {
            year,
            country: Country::parse(country).unwrap(),
            category: Category::EvTractionMotor,
            org: Uuid::from_u128(org),
            units,
            net_mass_ug: grams.map(|g| g * 1_000_000),
        }
    }

    #[test]
    fn tables_sum_mass_times_units_and_keep_unknown_masses_apart() {
        let products = ProductTables::build(&[
            count(2024, "FR", 1, 10, Some(48_000)),
            count(2024, "FR", 2, 1, Some(50_000)),
            count(2024, "DE", 3, 2, Some(40_000)),
            count(2023, "FR", 1, 5, None),
            count(2025, "FR", 1, 7, None),
        ]);
        let table = &products.tables[&2024];
        assert_eq!(
            table.get(&Key::default()).unwrap().value_ug,
            (480_000 + 50_000 + 80_000) * 1_000_000
        );
        let fr = Key {
            country: Some(Country::parse("FR").unwrap()),
            ..Key::default()
        };
        assert_eq!(table.get(&fr).unwrap().contributors, 2);
        // No element grain: a table over country x category.
        assert!(table.at(Grain::FINEST).next().is_none());
        assert_eq!(
            table.at(Grain::of(&[Dim::Country, Dim::Category])).count(),
            2
        );
        assert!(!products.tables.contains_key(&2023));
        let ev = Category::EvTractionMotor;
        assert_eq!(products.units_without_mass(2024, None, ev), 5);
        assert_eq!(products.units_without_mass(2025, None, ev), 12);
        assert_eq!(
            products.units_without_mass(2025, Country::parse("DE").ok(), ev),
            0
        );
    }

    /// The product model runs over the rare earths' years with the same curves, and withholds
    /// from the first year a product-mass cell it is made of is withheld.
    #[test]
    fn the_product_model_ages_like_the_rare_earths_and_follows_the_tables_suppression() {
        let mut products = ProductTables::build(&[
            count(2020, "FR", 1, 1, Some(1_000)),
            count(2020, "FR", 2, 1, Some(1_000)),
            count(2020, "FR", 3, 1, Some(1_000)),
            count(2021, "FR", 1, 1, Some(1_000)),
        ]);
        for table in products.tables.values_mut() {
            protect(table, 3);
        }
        let refs = products.tables.iter().map(|(y, t)| (*y, t)).collect();
        let params = defaults();
        let shape = ModelShape {
            finest: Grain::of(&[Dim::Country, Dim::Category]),
            span: Some((2019, 2022)),
        };
        let model = Modelled::run_over(&refs, &params, true, shape);
        assert_eq!((model.start, model.last_observed), (2019, 2022));
        let key = Key {
            country: Country::parse("FR").ok(),
            category: Some(Category::EvTractionMotor),
            element: None,
            materials: Materials::RareEarths,
        };
        let series = model.get(&key).unwrap();
        assert_eq!(&series.inflow[..4], [0.0, 3.0, 1.0, 0.0]);
        assert_eq!(series.withheld_from, model.index(2021));
        // The total over categories is the same series (one category), summed once.
        let total = model.get(&Key::default()).unwrap();
        assert_eq!(total.inflow, series.inflow);
        assert_eq!(total.outflow, series.outflow);
    }
}
