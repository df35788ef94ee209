//! The `deposits` service: mining and industrial residues (coal combustion residues, bauxite
//! residue, phosphogypsum, tailings, slag) as secondary resources of rare earths, with their
//! signed assays, beside the urban mine the other services follow.
//!
//! - [`domain`]: deposit records, locations (GeoJSON geometry, RFC 7946), assays and the
//!   content they give (GUM combination of uncertainties); rules, no I/O.

pub mod domain;
