//! Storage of the stock service: its copy of the passports, the flow cells (per contributing
//! organisation), their revisions, custody steps waiting for their passport, the feed cursors
//! and inbox, the parameter, price and scenario versions.
//!
//! One store type, [`SqlStock`], runs on either backend (core's [`Db`]) and keeps seven
//! traits, one file each:
//!
//! - [`ProjectionStore`] (`projection.rs`): what the feed consumers write, step by step inside
//!   one projection transaction (inbox, passports, cells, parked steps, cursor);
//! - [`TableStore`] (`tables.rs`): the cells read back as the rows of a table;
//! - [`ParameterStore`] (`parameters.rs`): the versions of the model parameters;
//! - [`PriceStore`] (`prices.rs`): the versions of the element price series;
//! - [`ScenarioStore`] (`scenarios.rs`): the versions of the policy scenarios;
//! - [`PatternStore`] (`patterns.rs`): each table's disclosure pattern with the revisions it was
//!   computed for, so that a restart reuses it;
//! - [`DepositStockStore`] (`deposits.rs`): the residue deposits from the deposits feed.
//!
//! Each feed batch is applied in one transaction: the inbox of event ids, the projection
//! changes and the cursor commit together, so a replay changes nothing and a restart loses
//! nothing. Cells are changed by adding the batch's summed deltas, never recomputed.

mod deposits;
mod parameters;
mod patterns;
mod prices;
mod projection;
mod scenarios;
mod tables;

use std::collections::BTreeMap;
use std::sync::Arc;

use reetrace_core::db::{Db, MigrationSet, StoreError};
use reetrace_core::domain::TrackedElement;

use crate::domain::flow::ElementMasses;

pub use deposits::DepositStockStore;
pub use parameters::ParameterStore;
pub use patterns::PatternStore;
pub use prices::{PriceStore, PriceVersion};
pub use projection::ProjectionStore;
pub use scenarios::ScenarioStore;
pub use tables::TableStore;

/// The stock service's migrations.
pub static MIGRATIONS: MigrationSet = reetrace_core::db::migrations::STOCK;

/// Everything the stock service stores: the seven traits together.
pub trait StockStore:
    ProjectionStore
    + TableStore
    + ParameterStore
    + PriceStore
    + ScenarioStore
    + PatternStore
    + DepositStockStore
{
}

impl<T> StockStore for T where
    T: ProjectionStore
        + TableStore
        + ParameterStore
        + PriceStore
        + ScenarioStore
        + PatternStore
        + DepositStockStore
        + ?Sized
{
}

/// The store for a database.
pub fn open(db: &Db) -> Arc<dyn StockStore> {
    Arc::new(SqlStock::new(db.clone()))
}

/// The stock store, on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStock {
    db: Db,
}

impl SqlStock {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Rows per multi-row statement: well under both backends' bind-parameter limits.
const CHUNK: usize = 500;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Element masses as stored: a JSON object of micrograms by element symbol (integers of any
/// size: 128-bit values are written and read exactly).
fn masses_from_text(text: &str) -> Result<ElementMasses, StoreError> {
    let map: BTreeMap<TrackedElement, i128> =
        serde_json::from_str(text).map_err(|e| corrupt(format!("element masses: {e}")))?;
    Ok(map.into_iter().collect())
}

fn masses_to_text(masses: &ElementMasses) -> Result<String, StoreError> {
    let map: BTreeMap<&TrackedElement, &i128> = masses.iter().collect();
    serde_json::to_string(&map).map_err(corrupt)
}

/// A cell's value in two 64-bit columns: `value = hi * 10^18 + lo`, `lo` in `[0, 10^18)`.
mod wide {
    const BASE: i128 = 1_000_000_000_000_000_000;

    /// The halves of `value`; `None` beyond ±9.2 * 10^36 µg (no sum of accepted passports).
    pub(super) fn split(value: i128) -> Option<(i64, i64)> {
        let hi = i64::try_from(value.div_euclid(BASE)).ok()?;
        let lo = i64::try_from(value.rem_euclid(BASE)).ok()?;
        Some((hi, lo))
    }

    pub(super) fn join(hi: i64, lo: i64) -> i128 {
        i128::from(hi) * BASE + i128::from(lo)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn halves_round_trip_with_floor_semantics() {
            for value in [
                0,
                1,
                -1,
                BASE - 1,
                BASE,
                -BASE,
                i128::from(i64::MAX) * 3,
                -7 * BASE - 5,
            ] {
                let (hi, lo) = split(value).unwrap_or_default();
                assert!((0..BASE).contains(&i128::from(lo)), "{value}");
                assert_eq!(join(hi, lo), value);
            }
            assert_eq!(split(i128::MAX), None);
        }
    }
}
