//! The custody domain: the state machine and holder rule, exact mass balance, and what the
//! tamper-evident log commits to. No I/O here.

pub mod balance;
pub mod claim;
pub mod event;
pub mod log;
pub mod lot;
pub mod product;
pub mod state;
pub mod transparency_log;
