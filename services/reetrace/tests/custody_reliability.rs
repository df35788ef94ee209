//! Reliability of the custody log: concurrent writers against both backends, and
//! `reetrace verify-log` catching tampering on the database and through the API (also of the
//! columns the figures read, and of the custody rows), and its monitor mode (`--state`) catching a rollback or a fork.
//! (The crash test is `tests/faults/kill_capture.sh`.)

#![allow(clippy::unwrap_used)]

#[path = "custody_reliability/support.rs"]
mod support;

#[path = "custody_reliability/concurrent.rs"]
mod concurrent;
#[path = "custody_reliability/log_cover.rs"]
mod log_cover;
#[path = "custody_reliability/monitor.rs"]
mod monitor;
#[path = "custody_reliability/verify_log.rs"]
mod verify_log;
