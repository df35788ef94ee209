//! The pure calculation core of the stock service: lifetime distributions, the inflow-driven
//! dynamic stock model and the indicators regulators read from it. No I/O here.

pub mod dsm;
pub mod indicators;
pub mod lifetime;

pub use dsm::{DsmError, DsmResult, InflowAt, SurvivalCurve, run};
pub use indicators::{
    CircularityRates, ElementFlows, EolTreatment, IndicatorError, SankeyLink, element_inflow_t,
};
pub use lifetime::{Lifetime, LifetimeError};
