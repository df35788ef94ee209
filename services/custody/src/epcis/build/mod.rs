//! Building the events the custody service emits for its own steps.
//!
//! Each builder is a plain function from a small input struct to a `serde_json::Value` that
//! validates against the EPCIS 2.0 schema as a standalone event:
//!
//! - [`observation_event`]: an `ObjectEvent`, action `OBSERVE`, for collect, receive, sort,
//!   handover, accept, destroy and export ([`ObservationStep`]);
//! - [`transformation_event`]: a `TransformationEvent` for dismantling and recycling
//!   ([`TransformationStep`]), with items and mass lots (kilograms, `KGM`) in and out;
//! - [`error_declaration_event`]: the EPCIS correction of a recorded event.
//!
//! Every event carries the `@context` of [`vocab::context`], its
//! `eventTime` with milliseconds and offset, the matching `eventTimeZoneOffset`, and as
//! `eventID` its own [event hash](super::hash) (so that capturing the same event twice is
//! recognisably the same). Our extension fields are `ree:` terms:
//!
//! | field | meaning |
//! |---|---|
//! | `ree:holder` | who holds the objects at (for a handover: until) this step, as a URI such as an operator id `eori:DE...` |
//! | `ree:toHolder` | handover: who the objects go to (also as a `possessing_party` destination) |
//! | `ree:fromHolder` | accept: who handed them over (also as a `possessing_party` source) |
//! | `ree:measuredMass` | the mass weighed at this step, in kilograms |

mod ids;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde_json::{Map, Value, json};

pub use ids::{LotEpc, LotQuantity, ProductEpc};

use super::hash::{self, HashError};
use super::vocab::{self, ObservationStep, TransformationStep};
use reetrace_core::domain::Mass;

/// Why an event could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// An event about nothing.
    #[error("the event names no product and no lot")]
    NothingObserved,
    /// A transformation without inputs or without outputs.
    #[error(
        "a transformation needs inputs and outputs (one side may be empty only with a transformation id)"
    )]
    EmptyTransformation,
    /// A field the step requires is missing.
    #[error("{step} needs {field}")]
    Missing {
        /// The step.
        step: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field given for a step it does not apply to.
    #[error("{field} does not apply to {step}")]
    NotApplicable {
        /// The step.
        step: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A value that must be an absolute URI (or CURIE) is not one.
    #[error("{field} must be an absolute URI, got \"{value}\"")]
    NotAUri {
        /// The field.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// An offset EPCIS cannot express (beyond ±14:00 or not whole minutes).
    #[error("EPCIS time zone offsets are whole minutes within ±14:00, got {0} s")]
    TimeZoneOffset(i32),
    /// Not an http(s) base URL.
    #[error("the base URL must be an http(s) URL without query or fragment, got \"{0}\"")]
    BaseUrl(String),
    /// An empty id for our own URIs.
    #[error("an empty id for /{0}/")]
    EmptyId(&'static str),
    /// An error declaration for something that is not an event.
    #[error("an error declaration copies an event object with a \"type\"")]
    NotAnEvent,
    /// The finished event could not be hashed (not expected for built events).
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// An observation of products or lots at one custody step.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Which step.
    pub step: ObservationStep,
    /// When it happened, in the local time of the place (the offset is recorded too).
    pub event_time: DateTime<FixedOffset>,
    /// The products observed.
    pub products: Vec<ProductEpc>,
    /// The lots observed, with their mass.
    pub lots: Vec<LotQuantity>,
    /// Where it was observed (`readPoint`), a URI.
    pub read_point: Option<String>,
    /// Where the objects are afterwards (`bizLocation`), a URI.
    pub biz_location: Option<String>,
    /// Who holds the objects (`ree:holder`), a URI.
    pub holder: String,
    /// Handover only, and required there: the next holder (`ree:toHolder`).
    pub to_holder: Option<String>,
    /// Accept only, optional: the previous holder (`ree:fromHolder`).
    pub from_holder: Option<String>,
    /// The mass weighed at this step (`ree:measuredMass`, in kilograms).
    pub measured_mass: Option<Mass>,
}

/// A transformation: products and lots in, products and lots out.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformation {
    /// Dismantling or recycling.
    pub step: TransformationStep,
    /// When it happened.
    pub event_time: DateTime<FixedOffset>,
    /// Links several events of one transformation (`transformationID`), a URI.
    pub transformation_id: Option<String>,
    /// Products consumed (`inputEPCList`).
    pub input_products: Vec<ProductEpc>,
    /// Lots consumed (`inputQuantityList`).
    pub input_lots: Vec<LotQuantity>,
    /// Parts that carry on as items of their own (`outputEPCList`).
    pub output_products: Vec<ProductEpc>,
    /// Lots produced (`outputQuantityList`).
    pub output_lots: Vec<LotQuantity>,
    /// Where (`readPoint`), a URI.
    pub read_point: Option<String>,
    /// Where the outputs are (`bizLocation`), a URI.
    pub biz_location: Option<String>,
    /// Who performs it and holds the outputs (`ree:holder`), a URI.
    pub holder: String,
}

/// Why an event is declared erroneous (CBV 2.0 error reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    /// The event happened, but what it says is wrong (`incorrect_data`).
    IncorrectData,
    /// The event did not happen (`did_not_occur`).
    DidNotOccur,
}

/// The correction of a recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDeclaration {
    /// When the error was declared.
    pub declaration_time: DateTime<FixedOffset>,
    /// Why.
    pub reason: ErrorReason,
    /// The events that replace it, by `eventID`.
    pub corrective_event_ids: Vec<String>,
}

/// The `ObjectEvent` of an observation.
pub fn observation_event(o: &Observation) -> Result<Value, BuildError> {
    let step_name = o.step.biz_step();
    if o.products.is_empty() && o.lots.is_empty() {
        return Err(BuildError::NothingObserved);
    }
    match (o.step, &o.to_holder) {
        (ObservationStep::Handover, None) => {
            return Err(BuildError::Missing {
                step: step_name,
                field: "to_holder",
            });
        }
        (ObservationStep::Handover, Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            return Err(BuildError::NotApplicable {
                step: step_name,
                field: "to_holder",
            });
        }
    }
    if o.from_holder.is_some() && o.step != ObservationStep::Accept {
        return Err(BuildError::NotApplicable {
            step: step_name,
            field: "from_holder",
        });
    }
    let mut e = head("ObjectEvent", o.event_time)?;
    if !o.products.is_empty() {
        e.insert("epcList".into(), product_uris(&o.products));
    }
    if !o.lots.is_empty() {
        e.insert("quantityList".into(), quantities(&o.lots));
    }
    e.insert("action".into(), json!("OBSERVE"));
    e.insert("bizStep".into(), json!(o.step.biz_step()));
    e.insert("disposition".into(), json!(o.step.disposition()));
    locations(&mut e, o.read_point.as_deref(), o.biz_location.as_deref())?;
    let holder = uri("holder", &o.holder)?;
    if let Some(to) = &o.to_holder {
        let to = uri("to_holder", to)?;
        e.insert("sourceList".into(), party("source", &holder));
        e.insert("destinationList".into(), party("destination", &to));
        e.insert("ree:toHolder".into(), json!(to));
    }
    if let Some(from) = &o.from_holder {
        let from = uri("from_holder", from)?;
        e.insert("sourceList".into(), party("source", &from));
        e.insert("destinationList".into(), party("destination", &holder));
        e.insert("ree:fromHolder".into(), json!(from));
    }
    e.insert("ree:holder".into(), json!(holder));
    if let Some(mass) = o.measured_mass {
        e.insert("ree:measuredMass".into(), ids::kilograms(mass));
    }
    finish(e)
}

/// The `TransformationEvent` of a dismantling or recycling.
pub fn transformation_event(t: &Transformation) -> Result<Value, BuildError> {
    let has_inputs = !t.input_products.is_empty() || !t.input_lots.is_empty();
    let has_outputs = !t.output_products.is_empty() || !t.output_lots.is_empty();
    // One side may be recorded by another event of the same transformation id.
    let complete = (has_inputs && has_outputs)
        || (t.transformation_id.is_some() && (has_inputs || has_outputs));
    if !complete {
        return Err(BuildError::EmptyTransformation);
    }
    let mut e = head("TransformationEvent", t.event_time)?;
    if !t.input_products.is_empty() {
        e.insert("inputEPCList".into(), product_uris(&t.input_products));
    }
    if !t.input_lots.is_empty() {
        e.insert("inputQuantityList".into(), quantities(&t.input_lots));
    }
    if !t.output_products.is_empty() {
        e.insert("outputEPCList".into(), product_uris(&t.output_products));
    }
    if !t.output_lots.is_empty() {
        e.insert("outputQuantityList".into(), quantities(&t.output_lots));
    }
    if let Some(id) = &t.transformation_id {
        e.insert(
            "transformationID".into(),
            json!(uri("transformation_id", id)?),
        );
    }
    e.insert("bizStep".into(), json!(t.step.biz_step()));
    e.insert("disposition".into(), json!(t.step.disposition()));
    locations(&mut e, t.read_point.as_deref(), t.biz_location.as_deref())?;
    e.insert("ree:holder".into(), json!(uri("holder", &t.holder)?));
    finish(e)
}

/// The error declaration of `original`: the same event (same `eventID`, which it gets if it
/// had none) with an `errorDeclaration`, as EPCIS 2.0 corrects events; `recordTime` is left
/// to the repository that captures it.
pub fn error_declaration_event(
    original: &Value,
    declaration: &ErrorDeclaration,
) -> Result<Value, BuildError> {
    let mut e = original
        .as_object()
        .cloned()
        .ok_or(BuildError::NotAnEvent)?;
    if !e.get("type").is_some_and(Value::is_string) {
        return Err(BuildError::NotAnEvent);
    }
    e.remove("recordTime");
    e.remove("errorDeclaration");
    if !e.contains_key("eventID") {
        let id = hash::event_hash(&Value::Object(e.clone()))?;
        e.insert("eventID".into(), json!(id));
    }
    let corrective = declaration
        .corrective_event_ids
        .iter()
        .map(|id| uri("corrective_event_ids", id).map(Value::String))
        .collect::<Result<Vec<_>, _>>()?;
    let mut d = Map::new();
    d.insert(
        "declarationTime".into(),
        json!(timestamp(declaration.declaration_time)),
    );
    let reason = match declaration.reason {
        ErrorReason::IncorrectData => "incorrect_data",
        ErrorReason::DidNotOccur => "did_not_occur",
    };
    d.insert("reason".into(), json!(reason));
    if !corrective.is_empty() {
        d.insert("correctiveEventIDs".into(), Value::Array(corrective));
    }
    e.insert("errorDeclaration".into(), Value::Object(d));
    Ok(Value::Object(e))
}

fn head(event_type: &str, time: DateTime<FixedOffset>) -> Result<Map<String, Value>, BuildError> {
    let mut e = Map::new();
    e.insert("@context".into(), vocab::context());
    e.insert("type".into(), json!(event_type));
    e.insert("eventTime".into(), json!(timestamp(time)));
    e.insert("eventTimeZoneOffset".into(), json!(offset(time)?));
    Ok(e)
}

fn finish(mut e: Map<String, Value>) -> Result<Value, BuildError> {
    let id = hash::event_hash(&Value::Object(e.clone()))?;
    e.insert("eventID".into(), json!(id));
    Ok(Value::Object(e))
}

/// `2026-11-26T10:15:30.000+01:00`: milliseconds and the local offset.
fn timestamp(time: DateTime<FixedOffset>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// `+01:00`, as the schema's `eventTimeZoneOffset` pattern has it.
fn offset(time: DateTime<FixedOffset>) -> Result<String, BuildError> {
    let seconds = time.offset().local_minus_utc();
    if seconds % 60 != 0 || seconds.abs() > 14 * 3600 {
        return Err(BuildError::TimeZoneOffset(seconds));
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    Ok(format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60))
}

/// An absolute URI or CURIE: a scheme (letter, then letters, digits, `+-.`), a colon, and
/// no whitespace.
fn uri(field: &'static str, value: &str) -> Result<String, BuildError> {
    let scheme_ok = value.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if scheme_ok && !value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(value.to_owned())
    } else {
        Err(BuildError::NotAUri {
            field,
            value: value.to_owned(),
        })
    }
}

fn product_uris(products: &[ProductEpc]) -> Value {
    products.iter().map(|p| json!(p.as_str())).collect()
}

fn quantities(lots: &[LotQuantity]) -> Value {
    lots.iter()
        .map(|q| {
            json!({
                "epcClass": q.lot.as_str(),
                "quantity": ids::kilograms(q.mass),
                "uom": "KGM",
            })
        })
        .collect()
}

fn locations(
    e: &mut Map<String, Value>,
    read_point: Option<&str>,
    biz_location: Option<&str>,
) -> Result<(), BuildError> {
    if let Some(rp) = read_point {
        e.insert("readPoint".into(), json!({ "id": uri("read_point", rp)? }));
    }
    if let Some(bl) = biz_location {
        e.insert(
            "bizLocation".into(),
            json!({ "id": uri("biz_location", bl)? }),
        );
    }
    Ok(())
}

/// A one-member source or destination list naming the possessing party.
fn party(role: &str, party: &str) -> Value {
    json!([{ "type": "possessing_party", role: party }])
}
