//! The custody domain, no I/O: the state machine and holder rule, exact mass balance, what a
//! request may say, what the tamper-evident log commits to and how it is verified, the rows
//! custody keeps, and [`CustodyError`], why an operation did not happen.

pub mod balance;
pub mod capture;
pub mod capture_job;
pub mod claim;
pub mod error;
pub mod event;
pub mod log_leaf;
pub mod log_replay;
pub mod log_verifier;
pub mod lot;
pub mod product;
pub mod reservation;
pub mod state;
pub mod step;
pub mod transformation;
pub mod transparency_log;

pub use error::{Contention, CustodyError};
