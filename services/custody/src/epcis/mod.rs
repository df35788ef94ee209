//! GS1 EPCIS 2.0 for the custody service: validation against the official JSON Schema
//! ([`schema`]), the CBV 2.0 event hash ([`hash`]) and the vocabulary of our events
//! ([`vocab`]).

pub mod hash;
pub mod schema;
pub mod vocab;

pub use hash::{HashError, event_hash};
pub use schema::{SchemaError, validate_document, validate_event};
pub use vocab::{ObservationStep, TransformationStep};
