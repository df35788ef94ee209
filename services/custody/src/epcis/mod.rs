//! GS1 EPCIS 2.0 for the custody service: validation against the official JSON Schema
//! ([`schema`]) and the vocabulary of our events ([`vocab`]).

pub mod schema;
pub mod vocab;

pub use schema::{SchemaError, validate_document, validate_event};
pub use vocab::{ObservationStep, TransformationStep};
