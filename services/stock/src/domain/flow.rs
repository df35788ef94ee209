//! The flows of the urban mine and the cells they are counted in.
//!
//! A *cell* is one flow in one year, one market country, one product category and one element;
//! its value is an exact mass in micrograms. Every contribution to a cell also names the
//! organisation it comes from (see [`Flow::contributor`]), so that disclosure control can count
//! distinct contributors without recounting raw events, and so that manufacturers and recyclers
//! can be shown their own figures only.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use reetrace_core::domain::{Category, Country, TrackedElement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A material flow (or stock) of rare-earth elements and of the other magnet materials (B, Co,
/// Ni), in kg in the API.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Put on the market in new products (passports, by market year). With basis `modelled`, the
    /// model's inflow: the observed series, extrapolated after the last observed year.
    PlacedOnMarket,
    /// Recycled REE declared by new passports (by market year).
    RecycledContent,
    /// Products collected (custody `collect` steps).
    Collected,
    /// Products sorted (custody `sort` steps).
    Sorted,
    /// What entered dismantling (inputs of `dismantling` transformations).
    Dismantled,
    /// What entered recycling (inputs of `recycling` transformations).
    RecyclingInput,
    /// Recovered as secondary material (outputs of `recycling` transformations).
    Recycled,
    /// Products and lots destroyed.
    Destroyed,
    /// Products and lots exported.
    Exported,
    /// Recorded losses of dismantling and recycling.
    Losses,
    /// In use at the end of the year (modelled).
    StockInUse,
    /// Reaching end of life during the year (modelled).
    EolGenerated,
}

/// Who a cell's contributions belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contributor {
    /// The manufacturer that issued the passport.
    Manufacturer,
    /// The organisation that recorded the custody event (collector, sorter, recycler...).
    Recorder,
}

impl Flow {
    /// Every flow, in the order answers list them.
    pub const ALL: [Flow; 12] = [
        Flow::PlacedOnMarket,
        Flow::RecycledContent,
        Flow::Collected,
        Flow::Sorted,
        Flow::Dismantled,
        Flow::RecyclingInput,
        Flow::Recycled,
        Flow::Destroyed,
        Flow::Exported,
        Flow::Losses,
        Flow::StockInUse,
        Flow::EolGenerated,
    ];

    /// The flows observed from passports and custody events.
    pub const OBSERVED: [Flow; 10] = [
        Flow::PlacedOnMarket,
        Flow::RecycledContent,
        Flow::Collected,
        Flow::Sorted,
        Flow::Dismantled,
        Flow::RecyclingInput,
        Flow::Recycled,
        Flow::Destroyed,
        Flow::Exported,
        Flow::Losses,
    ];

    /// The flows of the dynamic stock model.
    pub const MODELLED: [Flow; 3] = [Flow::PlacedOnMarket, Flow::StockInUse, Flow::EolGenerated];

    pub const fn as_str(self) -> &'static str {
        match self {
            Flow::PlacedOnMarket => "placed_on_market",
            Flow::RecycledContent => "recycled_content",
            Flow::Collected => "collected",
            Flow::Sorted => "sorted",
            Flow::Dismantled => "dismantled",
            Flow::RecyclingInput => "recycling_input",
            Flow::Recycled => "recycled",
            Flow::Destroyed => "destroyed",
            Flow::Exported => "exported",
            Flow::Losses => "losses",
            Flow::StockInUse => "stock_in_use",
            Flow::EolGenerated => "eol_generated",
        }
    }

    /// Whether the flow is observed (from feeds).
    pub fn is_observed(self) -> bool {
        Flow::OBSERVED.contains(&self)
    }

    /// Whether the model produces the flow.
    pub fn is_modelled(self) -> bool {
        Flow::MODELLED.contains(&self)
    }

    /// Whose contributions an observed cell of this flow holds: passport flows belong to the
    /// manufacturer, custody flows to the organisation that recorded them (the throughput a
    /// custody figure reveals is the recorder's; a lot's manufacturers are not known one by one).
    pub fn contributor(self) -> Contributor {
        match self {
            Flow::PlacedOnMarket | Flow::RecycledContent => Contributor::Manufacturer,
            _ => Contributor::Recorder,
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A flow name outside the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flow {0:?}")]
pub struct UnknownFlow(pub String);

impl FromStr for Flow {
    type Err = UnknownFlow;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flow::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFlow(s.to_owned()))
    }
}

/// Where a figure comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Counted from passports and custody events (exact).
    Observed,
    /// Computed by the dynamic stock model from the observed inflow and the parameters.
    Modelled,
}

impl Basis {
    pub const fn as_str(self) -> &'static str {
        match self {
            Basis::Observed => "observed",
            Basis::Modelled => "modelled",
        }
    }
}

/// One cell at the finest grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub flow: Flow,
    pub year: i32,
    pub country: Country,
    pub category: Category,
    pub element: TrackedElement,
}

/// A cell as stored: one organisation's share of it (for snapshots and tests).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredCell {
    pub key: CellKey,
    pub org_id: Uuid,
    pub value_ug: i128,
    /// Live records behind the value (a revoked passport takes its own back out).
    pub records: i64,
}

/// A flow in a year, a country and a category: the cells of its elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub flow: Flow,
    pub year: i32,
    pub country: Country,
    pub category: Category,
}

impl Place {
    pub fn cell(self, element: TrackedElement) -> CellKey {
        CellKey {
            flow: self.flow,
            year: self.year,
            country: self.country,
            category: self.category,
            element,
        }
    }
}

/// Changes to cells, summed per cell and contributing organisation, ready to be written in one
/// go (a batch of events touches far fewer cells than it has events).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deltas {
    /// (cell, organisation) -> (micrograms, contributions): a contribution is one passport or
    /// one custody event; the organisation contributes to the cell while its count is positive.
    cells: BTreeMap<(CellKey, Uuid), (i128, i64)>,
}

impl Deltas {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (`sign` = 1) or removes (`sign` = -1) one contribution of `micrograms`.
    pub fn add(&mut self, key: CellKey, org: Uuid, micrograms: i128, sign: i64) {
        let slot = self.cells.entry((key, org)).or_insert((0, 0));
        slot.0 += micrograms * i128::from(sign);
        slot.1 += sign;
    }

    /// Adds every element of `masses` (micrograms) to the cells of `place`.
    pub fn add_masses(&mut self, place: Place, org: Uuid, masses: &ElementMasses, sign: i64) {
        for (&element, &micrograms) in masses.iter() {
            if micrograms != 0 {
                self.add(place.cell(element), org, micrograms, sign);
            }
        }
    }

    /// The summed changes that are not zero, in key order (a stable lock order for writers).
    pub fn entries(&self) -> impl Iterator<Item = (&CellKey, Uuid, i128, i64)> {
        self.cells
            .iter()
            .filter(|(_, (value, records))| *value != 0 || *records != 0)
            .map(|((key, org), (value, records))| (key, *org, *value, *records))
    }

    /// The (flow, year) tables the changes touch.
    pub fn tables(&self) -> Vec<(Flow, i32)> {
        let mut tables: Vec<(Flow, i32)> = self
            .entries()
            .map(|(key, ..)| (key.flow, key.year))
            .collect();
        tables.sort();
        tables.dedup();
        tables
    }

    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    pub fn extend(&mut self, other: &Deltas) {
        for ((key, org), (value, records)) in &other.cells {
            let slot = self.cells.entry((*key, *org)).or_insert((0, 0));
            slot.0 += value;
            slot.1 += records;
        }
    }
}

/// Masses per element (the rare earths and B, Co, Ni) in micrograms (exact; `i128` so that
/// units times content never overflows).
pub type ElementMasses = BTreeMap<TrackedElement, i128>;

/// Splits `amount` in proportion to `weights`, exactly: every part is rounded down and the
/// remainder goes to the largest weight (the first of equal ones), so the parts add up to
/// `amount`. Parts with the same key are merged. `None` when the weights sum to zero.
pub fn split_exact<K: Ord + Copy>(amount: i128, weights: &[(K, u64)]) -> Option<Vec<(K, i128)>> {
    let mut merged: BTreeMap<K, u128> = BTreeMap::new();
    let mut order: Vec<K> = Vec::new();
    for (key, weight) in weights {
        if !merged.contains_key(key) {
            order.push(*key);
        }
        *merged.entry(*key).or_insert(0) += u128::from(*weight);
    }
    // Keep the total below 2^64 so that `mul_div_floor` cannot overflow; the proportions move
    // by less than one part in 2^32 and the parts still add up exactly.
    while merged.values().sum::<u128>() > u128::from(u64::MAX) {
        merged.values_mut().for_each(|w| *w >>= 1);
    }
    let total: u128 = merged.values().sum();
    if total == 0 {
        return None;
    }
    let magnitude = amount.unsigned_abs();
    let mut parts: Vec<(K, u128)> = order
        .iter()
        .map(|k| (*k, mul_div_floor(magnitude, merged[k], total)))
        .collect();
    let given: u128 = parts.iter().map(|(_, p)| p).sum();
    let largest = order
        .iter()
        .enumerate()
        .fold(None::<(usize, u128)>, |best, (i, k)| match best {
            Some((_, w)) if w >= merged[k] => best,
            _ => Some((i, merged[k])),
        })
        .map(|(i, _)| i)?;
    parts[largest].1 += magnitude - given;
    let sign = if amount < 0 { -1 } else { 1 };
    Some(
        parts
            .into_iter()
            .map(|(k, p)| (k, sign * i128::try_from(p).unwrap_or(i128::MAX)))
            .collect(),
    )
}

/// `floor(a * b / c)` for `b <= c < 2^64`, without overflowing `u128`.
fn mul_div_floor(a: u128, b: u128, c: u128) -> u128 {
    // a = q c + r, so a b / c = q b + r b / c, and r b < c^2 < 2^128.
    let (q, r) = (a / c, a % c);
    q * b + r * b / c
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flow_names_round_trip() {
        for flow in Flow::ALL {
            assert_eq!(flow.as_str().parse::<Flow>().unwrap(), flow);
            assert_eq!(
                serde_json::to_value(flow).unwrap(),
                serde_json::json!(flow.as_str())
            );
        }
        assert!("stock".parse::<Flow>().is_err());
        assert!(Flow::PlacedOnMarket.is_observed() && Flow::PlacedOnMarket.is_modelled());
        assert!(!Flow::StockInUse.is_observed());
    }

    #[test]
    fn exact_split_gives_the_remainder_to_the_largest_share() {
        let parts = split_exact(10, &[("a", 333_334), ("b", 333_333), ("c", 333_333)]).unwrap();
        assert_eq!(parts, [("a", 4), ("b", 3), ("c", 3)]);
        let parts = split_exact(1_000_001, &[("a", 250_000), ("b", 750_000)]).unwrap();
        assert_eq!(parts, [("a", 250_000), ("b", 750_001)]);
        // Equal weights: the first one takes the remainder.
        assert_eq!(
            split_exact(5, &[("x", 1), ("y", 1)]).unwrap(),
            [("x", 3), ("y", 2)]
        );
        // Repeated keys merge; negative amounts split symmetrically.
        assert_eq!(
            split_exact(-7, &[("x", 1), ("y", 2), ("x", 1)]).unwrap(),
            [("x", -4), ("y", -3)]
        );
        assert_eq!(split_exact::<&str>(5, &[("x", 0)]), None);
    }

    #[test]
    fn exact_split_always_adds_up() {
        let weights: Vec<(u32, u64)> = (0..7)
            .map(|i| (i, 1 + (u64::from(i) * 7919) % 13))
            .collect();
        for amount in [0i128, 1, 2, 999, 1_000_003, 123_456_789_012_345] {
            let parts = split_exact(amount, &weights).unwrap();
            assert_eq!(parts.iter().map(|(_, p)| p).sum::<i128>(), amount);
            assert!(parts.iter().all(|(_, p)| *p >= 0));
        }
        // Weights summing beyond 2^64 are scaled down, and the parts still add up.
        let big = [(1, u64::MAX - 5), (2, 7_000_000u64)];
        let parts = split_exact(900_000_000_007, &big).unwrap();
        assert_eq!(parts.iter().map(|(_, p)| p).sum::<i128>(), 900_000_000_007);
    }

    #[test]
    fn deltas_sum_per_cell_and_drop_what_cancels() {
        let key = CellKey {
            flow: Flow::PlacedOnMarket,
            year: 2024,
            country: Country::parse("FR").unwrap(),
            category: Category::EvTractionMotor,
            element: reetrace_core::domain::Element::Nd.into(),
        };
        let org = Uuid::from_u128(1);
        let mut deltas = Deltas::new();
        deltas.add(key, org, 100, 1);
        deltas.add(key, org, 40, 1);
        assert_eq!(deltas.entries().next().unwrap().2, 140);
        assert_eq!(deltas.tables(), [(Flow::PlacedOnMarket, 2024)]);
        deltas.add(key, org, 140, -1);
        deltas.add(key, org, 0, -1);
        assert!(deltas.is_empty());
    }
}
