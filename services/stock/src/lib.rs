//! The stock service: the urban mine for regulators. It keeps its own projection of the
//! passport and custody feeds (flow cells maintained incrementally, exactly once), runs the
//! dynamic stock model over the observed inflow, and answers flows, indicators, Sankey
//! diagrams and exports with disclosure control.

pub mod api;
pub mod domain;
pub mod feed;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
