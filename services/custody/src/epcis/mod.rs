//! GS1 EPCIS 2.0 for the custody service: validation, the event hash, the events we emit,
//! and query support. Pure functions over `serde_json::Value`; no storage, no HTTP.
//!
//! - [`schema`]: validation against the official EPCIS 2.0 JSON Schema, embedded and compiled
//!   once. [`validate_document`] for an `EPCISDocument` or `EPCISQueryDocument`,
//!   [`validate_event`] for a standalone event (it needs its own `@context`),
//!   [`schema::validate_document_event`] for a member of an `eventList`. Errors are
//!   [`SchemaError`]s: a JSON pointer into the instance and a message.
//! - [`hash`]: the CBV 2.0 EPCIS Event Hash ID, `ni:///sha-256;{hex}?ver=CBV2.0`.
//!   [`event_hash`] for a standalone event, [`hash::event_hash_in`] for an event of a document
//!   (whose `@context` declares its prefixes), [`hash::document_event_hashes`] for all events
//!   of a document, [`hash::pre_hash_string`] for the canonical string that is hashed. It
//!   ignores `eventID`, `recordTime`, `errorDeclaration` and `certificationInfo`, and key
//!   order, whitespace, list order, time zones and identifier notation.
//! - [`build`]: the events of our custody steps, each a plain function of a small struct:
//!   [`observation_event`] (an `ObjectEvent` `OBSERVE` for collect, receive, sort, handover,
//!   accept, destroy, export), [`transformation_event`] (a `TransformationEvent` for
//!   dismantling and recycling, lots in kilograms), [`error_declaration_event`] (the EPCIS
//!   correction of an event). Products are [`ProductEpc`]s, lots [`LotEpc`]s.
//! - [`query`]: [`EventQuery`] parses the parameters of `GET /api/v1/epcis/events`
//!   (`EQ_bizStep`, `MATCH_anyEPC`, `MATCH_epcClass`, `GE_eventTime`, `LT_eventTime`,
//!   `EQ_bizLocation`, `EQ_action`, `perPage`, `nextPageToken`) and decides whether an event
//!   matches; [`query_document`] wraps a result page in an `EPCISQueryDocument`. The REST
//!   binding's further parameters are [`query_binding`]'s, with the sensor parameters in
//!   [`query_sensor`], the extension-field families in [`query_fields`], the quantities in
//!   [`query_quantity`], units of measure in [`query_units`] and the result controls
//!   (`orderBy`, ...) in [`query_order`].
//! - [`vocab`]: the JSON-LD context (`ree:` is `https://w3id.org/reetrace/vocab#`) and the
//!   business steps and dispositions of our steps.
//!
//! Our own business steps (`ree:sorting`, `ree:dismantling`, `ree:recycling`,
//! `ree:exporting`) are CURIEs because CBV 2.0 has no such step and the schema refuses a bare
//! word that is not a CBV value.

pub mod build;
pub mod hash;
pub mod query;
pub mod query_binding;
pub mod query_fields;
pub mod query_order;
pub mod query_quantity;
pub mod query_sensor;
pub mod query_units;
pub mod schema;
pub mod vocab;

pub use build::{
    BuildError, ErrorDeclaration, ErrorReason, LotEpc, LotQuantity, Observation, ProductEpc,
    Transformation, error_declaration_event, observation_event, transformation_event,
};
pub use hash::{HashError, event_hash};
pub use query::{EventQuery, QueryError, query_document};
pub use schema::{SchemaError, validate_document, validate_event};
pub use vocab::{ObservationStep, TransformationStep};
