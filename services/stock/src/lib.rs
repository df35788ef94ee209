//! The stock service: the urban mine for regulators. It keeps its own projection of the
//! passport and custody feeds (flow cells maintained incrementally, exactly once), runs the
//! dynamic stock model over the observed inflow, and answers flows, indicators, Sankey
//! diagrams and exports with disclosure control.
//!
//! - [`api`]: the routes under `/api/v1/stock`: parse the query (a bad value names its
//!   parameter), call the service, answer; `api::error` turns [`service::StockError`] into
//!   problem+json.
//! - [`service`]: the use cases: applying feed batches, the answers (from cached tables and
//!   model), the parameters.
//! - [`domain`]: the rules, pure: flow cells, tables and disclosure control, the dynamic stock
//!   model, indicators and the Sankey balance.
//! - [`store`]: all SQL, on SQLite or PostgreSQL.
//! - `lp`: the linear-programming solver behind the disclosure audit.
//! - [`feed`]: the consumers of the passport and custody feeds (events read into changes).
//! - `testing` (feature `testing`): feed events shaped as the other services publish them, for
//!   tests and benches.

pub mod api;
pub mod domain;
pub mod feed;
mod lp;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
