//! The `deposits` service: mining and industrial residues (coal combustion residues, bauxite
//! residue, phosphogypsum, tailings, slag) as secondary resources of rare earths, with their
//! signed assays, beside the urban mine the other services follow.
//!
//! - [`domain`]: deposit records, locations (GeoJSON geometry, RFC 7946), assays and the
//!   content they give (GUM combination of uncertainties), the credential of a version;
//!   rules, no I/O.
//! - [`service`]: record, version, withdraw, read and list deposits, each version signed by
//!   the recording organisation through core's issuing capability.
//! - [`store`]: the deposits and their versions on SQLite or PostgreSQL.
//! - [`feed`]: the deposits feed (CloudEvents) the stock service adds deposits up from.
//! - [`api`]: the routes under `/api/v1/deposits` (reads are open data; surveyors write).

pub mod api;
pub mod domain;
pub mod feed;
pub mod service;
pub mod store;
