//! The ranking of product categories by the value of the rare earths they hold: the value of
//! the rare earths reaching end of life per tonne of product reaching end of life, and the
//! value recovered as secondary material.
//!
//! Both masses of the per-tonne figure come out of the dynamic stock model with the same
//! survival curve per category: the rare earths' end-of-life outflow from the placed-on-market
//! rare-earth cells, the products' from the placed-on-market product masses (each passport's
//! net mass times its units). So the ratio compares the rare earths and the products of the
//! same vintages.
//!
//! Publication: a figure of a row is a function of published figures only, or withheld.
//! - The value at end of life is the sum, over the priced elements, of the category's modelled
//!   end-of-life cells times their prices: withheld when any of those cells is.
//! - The product mass at end of life is the category's modelled series of the product-mass
//!   tables, which have their own disclosure control (the same rule over country x category,
//!   the manufacturers as contributors): withheld as the modelled rule withholds it.
//! - The value per tonne is published only where both are.
//! - The value recovered is the sum of the category's recycled cells times their prices:
//!   withheld when any of them is.
//!
//! Ranks are given among the published figures only, so a rank says nothing of a withheld row.

use std::cmp::Ordering;

use reetrace_core::domain::Category;

use super::report::Metric;

/// Kilograms per tonne.
const KG_PER_T: f64 = 1_000.0;

/// A value at the price used, at the least and at the greatest price of the series.
pub type Worth = [Metric; 3];

/// What the ranking of one category is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryValues {
    pub category: Category,
    /// The value of the rare earths reaching end of life.
    pub eol_worth: Worth,
    /// The mass of the products reaching end of life, in kg.
    pub eol_product_kg: Metric,
    /// The value of the rare earths recovered (recycled).
    pub recovered: Worth,
}

/// One ranked category.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedCategory {
    pub values: CategoryValues,
    /// The value at end of life per tonne of product at end of life.
    pub per_tonne: Worth,
    /// 1 for the highest published value per tonne; `None` where it is not published.
    pub rank_per_tonne: Option<u32>,
    /// 1 for the highest published value recovered; `None` where it is not published.
    pub rank_recovered: Option<u32>,
}

/// Adds `figure` to a running sum: withheld when either is; an undefined figure (no price)
/// adds nothing.
pub fn add(sum: Metric, figure: Metric) -> Metric {
    match (sum, figure) {
        (Metric::Suppressed, _) | (_, Metric::Suppressed) => Metric::Suppressed,
        (Metric::Value(a), Metric::Value(b)) => Metric::Value(a + b),
        (Metric::Value(a), Metric::Undefined) | (Metric::Undefined, Metric::Value(a)) => {
            Metric::Value(a)
        }
        (Metric::Undefined, Metric::Undefined) => Metric::Undefined,
    }
}

/// `worth / product` per tonne: withheld when either is, undefined without a product mass.
fn per_tonne(worth: Metric, product_kg: Metric) -> Metric {
    match (worth, product_kg) {
        (Metric::Suppressed, _) | (_, Metric::Suppressed) => Metric::Suppressed,
        (Metric::Value(w), Metric::Value(kg)) if kg > 0.0 => Metric::Value(w / (kg / KG_PER_T)),
        _ => Metric::Undefined,
    }
}

fn value(metric: Metric) -> Option<f64> {
    match metric {
        Metric::Value(v) => Some(v),
        _ => None,
    }
}

/// The ranks of published values, highest first (equal values: the category order).
fn ranks(values: &[(Category, Option<f64>)]) -> Vec<Option<u32>> {
    let mut order: Vec<usize> = (0..values.len())
        .filter(|i| values[*i].1.is_some())
        .collect();
    order.sort_by(|a, b| {
        let (va, vb) = (values[*a].1.unwrap_or(0.0), values[*b].1.unwrap_or(0.0));
        vb.partial_cmp(&va)
            .unwrap_or(Ordering::Equal)
            .then(values[*a].0.cmp(&values[*b].0))
    });
    let mut out = vec![None; values.len()];
    for (rank, i) in order.into_iter().enumerate() {
        out[i] = u32::try_from(rank + 1).ok();
    }
    out
}

/// Ranks the categories: by value per tonne (ranked rows first, highest first; then the rest
/// in category order), each with its rank by value recovered too.
pub fn rank(categories: Vec<CategoryValues>) -> Vec<RankedCategory> {
    let rows: Vec<(CategoryValues, Worth)> = categories
        .into_iter()
        .map(|c| {
            let per = c.eol_worth.map(|w| per_tonne(w, c.eol_product_kg));
            (c, per)
        })
        .collect();
    let by_tonne = ranks(
        &rows
            .iter()
            .map(|(c, per)| (c.category, value(per[0])))
            .collect::<Vec<_>>(),
    );
    let by_recovered = ranks(
        &rows
            .iter()
            .map(|(c, _)| (c.category, value(c.recovered[0])))
            .collect::<Vec<_>>(),
    );
    let mut out: Vec<RankedCategory> = rows
        .into_iter()
        .zip(by_tonne.into_iter().zip(by_recovered))
        .map(|((values, per_tonne), (t, r))| RankedCategory {
            values,
            per_tonne,
            rank_per_tonne: t,
            rank_recovered: r,
        })
        .collect();
    out.sort_by_key(|r| (r.rank_per_tonne.unwrap_or(u32::MAX), r.values.category));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worth(v: f64) -> Worth {
        [
            Metric::Value(v),
            Metric::Value(v / 2.0),
            Metric::Value(v * 2.0),
        ]
    }

    fn category(category: Category, eol: Worth, kg: Metric, recovered: Worth) -> CategoryValues {
        CategoryValues {
            category,
            eol_worth: eol,
            eol_product_kg: kg,
            recovered,
        }
    }

    #[test]
    fn per_tonne_divides_by_the_product_mass_in_tonnes_and_ranks_the_published_rows() {
        let ranked = rank(vec![
            category(
                Category::Smartphone,
                worth(30.0),
                Metric::Value(500.0),
                worth(1.0),
            ),
            category(
                Category::EvTractionMotor,
                worth(600.0),
                Metric::Value(2_000.0),
                worth(5.0),
            ),
            category(
                Category::HardDiskDrive,
                [Metric::Suppressed; 3],
                Metric::Value(100.0),
                [Metric::Suppressed; 3],
            ),
            category(
                Category::WindTurbineGenerator,
                worth(900.0),
                Metric::Suppressed,
                worth(0.0),
            ),
        ]);
        let order: Vec<Category> = ranked.iter().map(|r| r.values.category).collect();
        assert_eq!(
            order,
            [
                Category::EvTractionMotor,
                Category::Smartphone,
                Category::WindTurbineGenerator,
                Category::HardDiskDrive,
            ]
        );
        // 600 over 2 t: 300 per tonne; the range over the series divides alike.
        assert_eq!(
            ranked[0].per_tonne,
            [
                Metric::Value(300.0),
                Metric::Value(150.0),
                Metric::Value(600.0)
            ]
        );
        assert_eq!(ranked[1].per_tonne[0], Metric::Value(60.0));
        assert_eq!(
            (ranked[0].rank_per_tonne, ranked[1].rank_per_tonne),
            (Some(1), Some(2))
        );
        // Either mass withheld: no figure and no rank (unranked rows in category order).
        for withheld in &ranked[2..] {
            assert_eq!(withheld.per_tonne, [Metric::Suppressed; 3]);
            assert_eq!(withheld.rank_per_tonne, None);
        }
        // By value recovered: EV motors, smartphones, wind (zero is a published value).
        let recovered: Vec<Option<u32>> = ranked.iter().map(|r| r.rank_recovered).collect();
        assert_eq!(recovered, [Some(1), Some(2), Some(3), None]);
    }

    #[test]
    fn no_product_mass_is_no_ratio_and_sums_withhold_what_they_hold() {
        let ranked = rank(vec![category(
            Category::Other,
            worth(1.0),
            Metric::Value(0.0),
            worth(1.0),
        )]);
        assert_eq!(ranked[0].per_tonne, [Metric::Undefined; 3]);
        assert_eq!(ranked[0].rank_per_tonne, None);
        assert_eq!(
            add(Metric::Value(1.0), Metric::Undefined),
            Metric::Value(1.0)
        );
        assert_eq!(
            add(Metric::Value(1.0), Metric::Suppressed),
            Metric::Suppressed
        );
        assert_eq!(
            add(Metric::Undefined, Metric::Value(2.0)),
            Metric::Value(2.0)
        );
        assert_eq!(add(Metric::Undefined, Metric::Undefined), Metric::Undefined);
    }
}
