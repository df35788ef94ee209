//! The quantity parameters of the simple event query (EPCIS 2.0 §8.2.7.1): `EQ_quantity`,
//! `GT_quantity`, `GE_quantity`, `LT_quantity`, `LE_quantity` (a quantity element's
//! `quantity`, whatever its unit) and the same with a unit, `GE_quantity_KGM` (a quantity
//! element in that unit, or in one convertible to it: [`super::query_units`]). Every bound
//! must hold for one quantity element, of any of the four quantity lists.

use serde_json::Value;

use super::query::QueryError;
use super::query_binding::Compare;
use super::query_units::{self, Scale};

/// The quantity bounds of a query: (comparison, bound, unit).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantities(pub Vec<(Compare, f64, Option<String>)>);

impl Quantities {
    /// Takes one quantity parameter; `Ok(false)` when `name` is none of them.
    pub(crate) fn take(&mut self, name: &str, raw: &str) -> Result<bool, QueryError> {
        let Some((op, rest)) = name.split_once('_') else {
            return Ok(false);
        };
        let Some(compare) = Compare::of(op) else {
            return Ok(false);
        };
        let uom = match rest.strip_prefix("quantity") {
            Some("") => None,
            Some(unit) => match unit.strip_prefix('_') {
                Some(uom) => Some(uom),
                None => return Ok(false),
            },
            None => return Ok(false),
        };
        let bound = query_units::bound(name, uom, raw)?;
        self.0.push((compare, bound, uom.map(str::to_owned)));
        Ok(true)
    }

    /// Every bound holds for one quantity element of the event.
    pub(crate) fn matches(&self, event: &Value) -> bool {
        if self.0.is_empty() {
            return true;
        }
        [
            "quantityList",
            "childQuantityList",
            "inputQuantityList",
            "outputQuantityList",
        ]
        .iter()
        .filter_map(|l| event[l].as_array())
        .flatten()
        .any(|q| {
            let Some(value) = q["quantity"].as_f64() else {
                return false;
            };
            self.0.iter().all(|(c, bound, uom)| match uom {
                None => c.holds(value, *bound),
                Some(wanted) => q["uom"]
                    .as_str()
                    .and_then(|given| {
                        query_units::convert(value, given.trim(), wanted, Scale::Level)
                    })
                    .is_some_and(|(v, converted)| c.holds_measured(v, *bound, converted)),
            })
        })
    }
}
