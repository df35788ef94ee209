//! End-to-end tests of the HTTP API: the real application on port 0, a fresh database per test,
//! each test run against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod helpers;

mod accounts;
mod audit;
mod bulk;
pub mod claims;
mod conformity;
mod connections;
mod credential_v2;
mod credentials;
mod custody;
mod deposits;
mod epcis;
mod epcis_binding;
mod epcis_binding_listing;
mod epcis_binding_order;
mod epcis_binding_query;
mod epcis_binding_sensor;
mod epcis_hash_versions;
mod epcis_interop;
mod errors;
mod free_access;
mod gs1;
mod idempotency_retention;
pub mod import;
mod labels;
mod lot_urls;
mod magnet_materials;
mod magnets;
mod master_key;
mod matrix;
mod ops;
mod pages;
pub mod passports;
mod proof_sets;
mod resolver;
mod resolver_gs1;
pub mod scan;
mod scenarios;
mod stock;
mod stock_deposits;
mod stock_export;
mod stock_magnet_materials;
mod stock_magnets;
mod stock_ranking;
mod stock_values;
mod tls;
mod unchanged_put;
mod visibility;
