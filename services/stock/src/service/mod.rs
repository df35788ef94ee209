//! The use cases of the stock service, one file each:
//!
//! - `projection.rs`: applying a batch of feed events to the projection, in one transaction;
//! - `flows.rs`, `indicators.rs`, `sankey.rs`: the answers (flows and the tidy export,
//!   indicators, the Sankey diagram), read from the cached tables and model;
//! - `parameters.rs`: the model parameters (versions) and scenario runs;
//! - `values.rs`: the element price series (versions) and the flows valued at them;
//! - `ranking.rs`: the categories ranked by the value of their rare earths at end of life per
//!   tonne of product, and by the value recovered;
//! - `cache.rs`: the tables behind an answer (cached per flow and year until their revision
//!   moves) and the modelled stock (cached per parameter version and placed-on-market
//!   revisions);
//! - `scenarios.rs`: policy scenarios, stored by version, and their results on the baseline
//!   (`scenario_bodies.rs`: their JSON bodies);
//! - `secondary.rs`: the urban mine and the residue deposits side by side;
//! - `bodies.rs`: what the answers are made of, as JSON bodies;
//! - `error.rs`: [`StockError`], what they fail with.
//!
//! This file: the service itself and who may see what.

pub mod bodies;
mod cache;
mod error;
mod flows;
mod indicators;
mod parameters;
pub mod projection;
mod ranking;
mod sankey;
pub mod scenario_bodies;
pub mod scenarios;
pub mod secondary;
mod values;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};

use reetrace_core::domain::{Category, Country, Element, Principal, Role};
use uuid::Uuid;

use crate::domain::table::{Dim, Grain, Key, Materials};
use crate::store::StockStore;

pub use error::StockError;
pub use flows::{BasisChoice, ExportRequest, FlowRequest};
pub use indicators::IndicatorRequest;
pub use parameters::ParameterSet;
pub use ranking::{RANKING_RULE, RankingAnswer, RankingRequest, RankingRow};
pub use sankey::SankeyRequest;
pub use secondary::{SECONDARY_RULE, SecondaryAnswer, SecondaryRequest, SecondaryRow};
pub use values::{
    PriceChoice, PriceUsed, PricesView, ValueRow, ValueTotal, ValuesAnswer, ValuesRequest,
};

/// The default minimum of distinct organisations behind a published cell.
pub const DEFAULT_DISCLOSURE_K: u32 = 3;

/// Whose figures a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The published statistics: everything, with disclosure control (open data, no key).
    Published,
    /// Everything exactly (authorities and admins; authority reads are audited).
    All,
    /// One organisation's own figures, without suppression (manufacturers: their products;
    /// recyclers: their throughput).
    Own(Uuid),
}

struct Inner {
    store: Arc<dyn StockStore>,
    k: u32,
    cache: Mutex<cache::Cache>,
    /// A background refresh is running.
    refreshing: AtomicBool,
    /// Groups of tables protected, and groups that took their stored patterns.
    groups_protected: AtomicU64,
    groups_reused: AtomicU64,
}

/// The stock service (cheap to clone).
#[derive(Clone)]
pub struct StockService {
    inner: Arc<Inner>,
}

impl StockService {
    /// `k`: the least number of distinct organisations behind a cell regulators see.
    pub fn new(store: Arc<dyn StockStore>, k: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                k: k.max(1),
                cache: Mutex::new(cache::Cache::default()),
                refreshing: AtomicBool::new(false),
                groups_protected: AtomicU64::new(0),
                groups_reused: AtomicU64::new(0),
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn StockStore> {
        &self.inner.store
    }

    pub fn disclosure_k(&self) -> u32 {
        self.inner.k
    }

    /// Stores the built-in parameters and price series as version 1 unless a version exists, and starts building
    /// the tables in the background.
    pub async fn init(&self) -> Result<(), StockError> {
        self.seed().await?;
        self.warm_in_background();
        Ok(())
    }

    /// What `caller` may see: without a key the published statistics (disclosure control);
    /// regulators and admins every figure exactly; manufacturers and recyclers their own
    /// figures exactly (and, like anyone, the published statistics without a key); services
    /// nothing.
    pub fn scope_of(&self, caller: Option<&Principal>) -> Result<Scope, StockError> {
        let Some(caller) = caller else {
            return Ok(Scope::Published);
        };
        caller.require(&[
            Role::Regulator,
            Role::Admin,
            Role::Manufacturer,
            Role::Recycler,
        ])?;
        Ok(match caller.role {
            Role::Regulator | Role::Admin => Scope::All,
            _ => Scope::Own(caller.org_id),
        })
    }
}

/// The grain of a `group_by` without the year.
pub fn grain_of(country: bool, category: bool, element: bool) -> Grain {
    let mut g = Grain::TOTAL;
    for (on, dim) in [
        (country, Dim::Country),
        (category, Dim::Category),
        (element, Dim::Element),
    ] {
        if on {
            g = g.with(dim);
        }
    }
    g
}

/// The filter key of single-value filters over the rare earths (`element` absent: all of
/// them); [`Key::filter`] for the magnet materials.
pub fn filter_key(
    country: Option<Country>,
    category: Option<Category>,
    element: Option<Element>,
) -> Key {
    Key::filter(
        country,
        category,
        element.map(Into::into),
        Materials::RareEarths,
    )
}
