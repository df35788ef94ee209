//! The shared kernel of reetrace: what every service uses, in the same rooms as a service.
//!
//! - [`domain`]: the vocabulary (elements, masses, categories, GS1 identifiers, countries, roles,
//!   organisations, feed events); types and rules, no I/O.
//! - [`service`]: the kernel's use cases (accounts, feed consumers, leases, the retry helper)
//!   and the ports other services implement (recycled-content claims).
//! - [`store`]: what the kernel stores (accounts and keys, leases), on [`db`].
//! - [`api`]: the HTTP edge shared by every service: problem+json and its code registry,
//!   extractors, authentication, pagination, idempotent replay, the accounts and feed routes.
//! - [`client`]: calls to other services over HTTP (their feeds, their claim checks).
//! - [`db`]: storage plumbing — one way to write a store for SQLite and PostgreSQL.
//! - [`crypto`], [`merkle`], [`checkpoint`], [`csv`]: libraries (signatures, Merkle trees,
//!   signed notes, CSV fields), pure.
//!
//! The kernel knows no service's routes or tables. It only carries every service's migration
//! files, embedded from `migrations/` by its build script ([`db::migrations`]), each service
//! naming its own set.

pub mod api;
pub mod checkpoint;
pub mod client;
pub mod crypto;
pub mod csv;
pub mod db;
pub mod domain;
pub mod merkle;
pub mod metrics;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
