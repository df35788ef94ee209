//! The pure core of the stock service: lifetime distributions, the inflow-driven dynamic stock
//! model and its indicators; the flow cells and what passports and custody events add to them;
//! tables at every grain with disclosure control; the modelled stock and the figures read from
//! them (`figures`); the model parameters and scenarios (`scenario`: the model on given inflows;
//! `levers` and `whatif`: policy levers on the observed baseline; `products` and `ranking`: the
//! products' net mass and the ranking of categories by the value of their rare earths). No I/O
//! here.

pub mod custody;
pub mod deposits;
pub mod disclosure;
pub mod dsm;
pub mod exposure;
pub mod figures;
pub mod flow;
pub mod indicators;
pub mod levers;
pub mod lifetime;
pub mod linked;
pub mod modelled;
pub mod parameters;
pub mod passport;
pub mod pattern;
pub mod prices;
pub mod products;
pub mod ranking;
pub mod report;
pub mod scenario;
pub mod table;
pub mod whatif;

pub use dsm::{DsmError, DsmResult, InflowAt, SurvivalCurve, run};
pub use indicators::{
    CircularityRates, ElementFlows, EolTreatment, IndicatorError, SankeyLink, element_inflow_t,
};
pub use lifetime::{Lifetime, LifetimeError};
