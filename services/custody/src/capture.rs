//! EPCIS 2.0 capture (`POST /api/v1/epcis/capture`) and query (`GET /api/v1/epcis/events`).
//!
//! A captured `EPCISDocument` goes through two phases:
//!
//! 1. `prepare` (no I/O): the envelope and every event are checked against the GS1 schema,
//!    each event gets its event hash (computed with the document's `@context`) and its
//!    `eventID` (the hash when it has none), and is classified: one of our custody steps
//!    (`Kind::Step`), an error declaration, or anything else, stored as it is. A
//!    transformation by one of our own processes (`ree:dismantling`, `ree:recycling`) is
//!    refused: it needs its output assays, which only `POST /api/v1/custody/transformations`
//!    takes. The stored form of each event is made here: the event with the document's
//!    `@context` and its `eventID`, without a client's `recordTime` (the repository sets it).
//! 2. `apply` (against the store): idempotency by `eventID` and hash, the products and
//!    lots the events name, the state machine and holder rule for our steps (the same
//!    `steps::decide` as the REST routes), and one write for the whole
//!    document: one transaction, one compare-and-set of every product and lot it moves, one
//!    append to the log.
//!
//! Corrections never edit or delete: an event carrying `errorDeclaration` for a stored
//! `eventID` is stored as a new leaf (EPCIS 2.0 section 7.4.1.2: the prior event is not
//! modified, and queries return both). It keeps the `eventID` of the event it corrects inside
//! its document; its row is keyed `<eventID>#error-declaration-1`.

mod apply;
pub mod query;

use chrono::{DateTime, Utc};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::{Lgtin, Sgtin};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::state::Action;
use crate::epcis::hash::{Prefixes, event_hash_in};
use crate::epcis::query::{biz_step_key_in, canonical_id, location_key};
use crate::epcis::schema::{validate_document, validate_document_event};
use crate::epcis::vocab::REE_VOCAB;

/// The most events one document may carry (the `GS1-EPCIS-Capture-Limit` of the REST binding).
pub const CAPTURE_LIMIT: usize = 10_000;

/// The request header choosing what a failing event does to its document.
pub const ERROR_BEHAVIOUR_HEADER: &str = "GS1-EPCIS-Capture-Error-Behaviour";

/// What a failing event does to its document (`GS1-EPCIS-Capture-Error-Behaviour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorBehaviour {
    /// All or nothing (`rollback`, the default).
    #[default]
    Rollback,
    /// The valid events are stored, the others listed (`proceed`).
    Proceed,
}

impl ErrorBehaviour {
    /// Reads the header value (absent: [`ErrorBehaviour::Rollback`]).
    pub fn parse(value: Option<&str>) -> Result<ErrorBehaviour, Problem> {
        match value.map(str::trim) {
            None => Ok(ErrorBehaviour::Rollback),
            Some(v) if v.eq_ignore_ascii_case("rollback") => Ok(ErrorBehaviour::Rollback),
            Some(v) if v.eq_ignore_ascii_case("proceed") => Ok(ErrorBehaviour::Proceed),
            Some(v) => Err(Problem::bad_request(
                crate::api::error::INVALID_HEADER,
                format!("{ERROR_BEHAVIOUR_HEADER} is rollback or proceed, got {v:?}."),
            )
            .with_errors(vec![FieldError::new(
                ERROR_BEHAVIOUR_HEADER,
                "expected rollback or proceed",
            )])),
        }
    }
}

/// What became of one event of a captured document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Stored now: a new leaf of the log.
    Captured,
    /// The same `eventID` with the same hash was stored before (or earlier in the document):
    /// the original's leaf, nothing new.
    Duplicate,
    /// Not stored; `errors` says why.
    Refused,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventError {
    /// The event's position in `epcisBody.eventList`.
    pub index: usize,
    /// JSON pointer into the captured document.
    pub pointer: String,
    pub detail: String,
    /// A stable machine code (`schema`, `step_not_allowed`, `event_id_reused`, ...).
    pub code: String,
    /// The HTTP status this error alone would have.
    pub status: u16,
}

/// The outcome of one event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventResult {
    /// The event's position in `epcisBody.eventList`.
    pub index: usize,
    /// Its `eventID` (its event hash when it had none).
    #[serde(rename = "eventID", default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Its EPCIS event hash (`ni:///sha-256;...?ver=CBV2.0`).
    #[serde(rename = "eventHash", default, skip_serializing_if = "Option::is_none")]
    pub event_hash: Option<String>,
    /// Its leaf in the transparency log (the original's for a duplicate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<i64>,
    pub status: EventStatus,
    /// The custody step it applied (`collect`, `handover`, ...), `error_declaration`, or the
    /// event type when it was stored as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The products and lots (passport and lot ids) whose chains it joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Uuid>,
    /// An error declaration's own id (`<eventID>#error-declaration-1`), to read it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<EventError>,
}

/// The answer to a capture.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaptureReport {
    /// Events stored now.
    pub captured: usize,
    /// Events stored before (same `eventID`, same hash).
    pub duplicates: usize,
    /// Events not stored (only with `GS1-EPCIS-Capture-Error-Behaviour: proceed`).
    pub refused: usize,
    /// One result per event, in document order.
    pub events: Vec<EventResult>,
}

/// How an event is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An `ObjectEvent` with the business step of one of our custody actions.
    Step(Action),
    /// An event carrying `errorDeclaration`.
    Declaration,
    /// Anything else: stored as it is, joining the chains of what it names.
    Plain,
}

/// An identifier an event names, as the event index and the product and lot lookups use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    /// The canonical form the event index keeps (what `MATCH_anyEPC` compares).
    pub indexed: String,
    /// `epc`, `parent`, `child`, `input`, `output`, `class`, `input_class` or `output_class`.
    pub role: &'static str,
    /// The product or lot it may be, as the store keys them.
    pub key: Option<Key>,
    /// Where it is in the document.
    pub pointer: String,
}

/// How the store finds a product (instance identifiers) or a lot (class identifiers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A product by its EPC (canonical SGTIN Digital Link) or its passport URI's id.
    Product(StoreKey),
    /// A lot by its EPC (canonical LGTIN Digital Link) or its lot URI's id.
    Lot(StoreKey),
}

/// How the store keys a product or a lot: its EPC, or the id in one of our own URIs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum StoreKey {
    Epc(String),
    Id(Uuid),
}

/// One event of a document, checked and ready to apply.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub index: usize,
    /// The event as given.
    pub event: Value,
    pub kind: Kind,
    /// Its `eventID`, or its hash.
    pub id: String,
    pub hash: String,
    pub event_type: String,
    pub event_time: DateTime<Utc>,
    pub biz_step: Option<String>,
    pub biz_location: Option<String>,
    /// `bizLocation` (else `readPoint`) as given: the feed's location of a step.
    pub location: Option<String>,
    /// A handover's next holder as the event names it, with where.
    pub to_holder: Option<(String, String)>,
    pub names: Vec<Name>,
    /// The exact JSON stored.
    pub document: String,
    /// Why it cannot be captured (then nothing else above is meaningful).
    pub errors: Vec<EventError>,
}

/// A parsed, checked document.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub events: Vec<Incoming>,
}

fn event_pointer(index: usize) -> String {
    format!("/epcisBody/eventList/{index}")
}

fn event_error(
    index: usize,
    pointer: String,
    code: &str,
    status: u16,
    detail: String,
) -> EventError {
    EventError {
        index,
        pointer,
        detail,
        code: code.to_owned(),
        status,
    }
}

/// Parses and checks a capture body (phase 1, no I/O). Envelope errors are the document's
/// problem; event errors stay with their events.
pub(crate) fn prepare(body: &[u8], base_url: &str) -> Result<Prepared, Problem> {
    let mut document: Value = reetrace_core::api::extract::parse_json(body)?;
    let mut list = match document.pointer_mut("/epcisBody/eventList") {
        Some(Value::Array(list)) => std::mem::take(list),
        _ => Vec::new(),
    };
    // The envelope alone: each event is checked on its own below, with its own pointer.
    validate_document(&document).map_err(|errors| {
        Problem::validation(
            errors
                .into_iter()
                .map(|e| FieldError::new(e.pointer, e.message))
                .collect(),
        )
    })?;
    if list.is_empty() {
        return Err(Problem::validation(vec![FieldError::new(
            "/epcisBody/eventList",
            "the document holds no events to capture",
        )]));
    }
    if list.len() > CAPTURE_LIMIT {
        return Err(Problem::new(crate::api::error::CAPTURE_LIMIT)
            .with_detail(format!(
                "A document carries at most {CAPTURE_LIMIT} events; this one has {}.",
                list.len()
            ))
            .with("capture_limit", CAPTURE_LIMIT));
    }
    let context = document.get("@context").cloned().unwrap_or(Value::Null);
    let mut document_prefixes = Prefixes::standard();
    document_prefixes.declare(&context);
    let events = list
        .drain(..)
        .enumerate()
        .map(|(index, event)| incoming(index, event, &context, &document_prefixes, base_url))
        .collect();
    Ok(Prepared { events })
}

fn incoming(
    index: usize,
    event: Value,
    context: &Value,
    document_prefixes: &Prefixes,
    base_url: &str,
) -> Incoming {
    let mut incoming = Incoming {
        index,
        event,
        kind: Kind::Plain,
        id: String::new(),
        hash: String::new(),
        event_type: String::new(),
        event_time: DateTime::<Utc>::MIN_UTC,
        biz_step: None,
        biz_location: None,
        location: None,
        to_holder: None,
        names: Vec::new(),
        document: String::new(),
        errors: Vec::new(),
    };
    if let Err(errors) = validate_document_event(&incoming.event) {
        let at = event_pointer(index);
        incoming.errors = errors
            .into_iter()
            .map(|e| {
                event_error(
                    index,
                    format!("{at}{}", e.pointer),
                    "schema",
                    422,
                    e.message,
                )
            })
            .collect();
        return incoming;
    }
    if let Err(error) = fill(&mut incoming, context, document_prefixes, base_url) {
        incoming.errors.push(error);
    }
    incoming
}

/// Everything phase 2 needs from a schema-valid event.
fn fill(
    incoming: &mut Incoming,
    context: &Value,
    document_prefixes: &Prefixes,
    base_url: &str,
) -> Result<(), EventError> {
    let index = incoming.index;
    let at = event_pointer(index);
    let fail = |pointer: String, code: &str, status: u16, detail: String| {
        event_error(index, pointer, code, status, detail)
    };
    let event = &incoming.event;
    let own_context = event.get("@context");
    let extended;
    let prefixes = match own_context {
        Some(c) => {
            let mut p = document_prefixes.clone();
            p.declare(c);
            extended = p;
            &extended
        }
        None => document_prefixes,
    };
    incoming.hash = event_hash_in(event, Some(context))
        .map_err(|e| fail(at.clone(), "schema", 422, e.to_string()))?;
    incoming.id = match event.get("eventID").and_then(Value::as_str) {
        Some(id) => id.trim().to_owned(),
        None => incoming.hash.clone(),
    };
    incoming.event_type = event["type"].as_str().unwrap_or_default().to_owned();
    let time = event["eventTime"].as_str().unwrap_or_default();
    incoming.event_time = DateTime::parse_from_rfc3339(time)
        .map_err(|_| {
            fail(
                format!("{at}/eventTime"),
                "schema",
                422,
                "not an RFC 3339 date-time with a time zone".into(),
            )
        })?
        .with_timezone(&Utc);
    crate::service::check_event_time(incoming.event_time, Utc::now())
        .map_err(|why| fail(format!("{at}/eventTime"), "invalid_event_time", 422, why))?;
    incoming.biz_step = event["bizStep"]
        .as_str()
        .map(|s| biz_step_key_in(s, prefixes));
    let expand = |id: &str| prefixes.expand(id).unwrap_or_else(|| id.trim().to_owned());
    let biz_location = event["bizLocation"]["id"].as_str();
    incoming.biz_location = biz_location.map(|id| location_key(&expand(id)));
    incoming.location = biz_location
        .or_else(|| event["readPoint"]["id"].as_str())
        .map(str::to_owned);
    incoming.names = names(event, &at, &expand, base_url);
    incoming.kind = if event.get("errorDeclaration").is_some() {
        Kind::Declaration
    } else {
        match (incoming.event_type.as_str(), incoming.biz_step.as_deref()) {
            ("TransformationEvent", Some(step @ ("ree:dismantling" | "ree:recycling"))) => {
                return Err(fail(
                    format!("{at}/bizStep"),
                    "use_transformations",
                    422,
                    format!(
                        "a {step} transformation is recorded with POST /api/v1/custody/transformations, \
                         which takes the assays of its outputs and checks the mass balance"
                    ),
                ));
            }
            ("ObjectEvent", Some(step)) => step_action(step).map_or(Kind::Plain, Kind::Step),
            _ => Kind::Plain,
        }
    };
    if incoming.kind == Kind::Step(Action::Handover) {
        incoming.to_holder = to_holder(event, &at, prefixes);
    }
    incoming.document = stored_form(&mut incoming.event, context, &incoming.id)
        .map_err(|e| fail(at.clone(), "schema", 422, e))?;
    Ok(())
}

/// Our custody action of a business step (in the store's key form).
fn step_action(step: &str) -> Option<Action> {
    Some(match step {
        "collecting" => Action::Collect,
        "receiving" => Action::Receive,
        "ree:sorting" => Action::Sort,
        "departing" => Action::Handover,
        "accepting" => Action::Accept,
        "destroying" => Action::Destroy,
        "ree:exporting" => Action::Export,
        _ => return None,
    })
}

/// Every identifier the event names, with its role.
fn names(event: &Value, at: &str, expand: &dyn Fn(&str) -> String, base_url: &str) -> Vec<Name> {
    let mut out = Vec::new();
    let mut push = |raw: &str, role: &'static str, class: bool, pointer: String| {
        let expanded = expand(raw);
        let key = if class {
            lot_key(&expanded, base_url).map(Key::Lot)
        } else {
            product_key(&expanded, base_url).map(Key::Product)
        };
        out.push(Name {
            indexed: canonical_id(&expanded),
            role,
            key,
            pointer,
        });
    };
    for (list, role) in [
        ("epcList", "epc"),
        ("childEPCs", "child"),
        ("inputEPCList", "input"),
        ("outputEPCList", "output"),
    ] {
        for (i, epc) in event[list].as_array().into_iter().flatten().enumerate() {
            if let Some(epc) = epc.as_str() {
                push(epc, role, false, format!("{at}/{list}/{i}"));
            }
        }
    }
    if let Some(parent) = event["parentID"].as_str() {
        push(parent, "parent", false, format!("{at}/parentID"));
    }
    for (list, role) in [
        ("quantityList", "class"),
        ("childQuantityList", "class"),
        ("inputQuantityList", "input_class"),
        ("outputQuantityList", "output_class"),
    ] {
        for (i, q) in event[list].as_array().into_iter().flatten().enumerate() {
            if let Some(class) = q["epcClass"].as_str() {
                push(class, role, true, format!("{at}/{list}/{i}/epcClass"));
            }
        }
    }
    out
}

/// A product as the store keys it: the canonical SGTIN of any SGTIN notation, or the id in
/// one of our passport URIs (`<base>/p/{id}`).
fn product_key(id: &str, base_url: &str) -> Option<StoreKey> {
    if let Ok(sgtin) = Sgtin::parse(id) {
        return Some(StoreKey::Epc(sgtin.to_uri()));
    }
    own_id(id, base_url, "p").map(StoreKey::Id)
}

/// A lot as the store keys it: the canonical LGTIN, or the id in one of our lot URIs.
fn lot_key(id: &str, base_url: &str) -> Option<StoreKey> {
    if let Ok(lgtin) = Lgtin::parse(id) {
        return Some(StoreKey::Epc(lgtin.to_uri()));
    }
    own_id(id, base_url, "lots").map(StoreKey::Id)
}

fn own_id(id: &str, base_url: &str, collection: &str) -> Option<Uuid> {
    let rest = id.strip_prefix(base_url.trim_end_matches('/'))?;
    let rest = rest
        .strip_prefix('/')?
        .strip_prefix(collection)?
        .strip_prefix('/')?;
    rest.parse().ok()
}

/// A handover's next holder: `ree:toHolder`, else the `possessing_party` destination.
fn to_holder(event: &Value, at: &str, prefixes: &Prefixes) -> Option<(String, String)> {
    let wanted = format!("{REE_VOCAB}toHolder");
    if let Some(fields) = event.as_object() {
        for (key, value) in fields {
            let is_to_holder = key == "ree:toHolder"
                || key == &wanted
                || prefixes.expand(key).is_some_and(|k| k == wanted);
            if let (true, Some(holder)) = (is_to_holder, value.as_str()) {
                let pointer = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                return Some((holder.trim().to_owned(), pointer));
            }
        }
    }
    let destinations = event["destinationList"].as_array()?;
    destinations.iter().enumerate().find_map(|(i, d)| {
        let kind = d["type"].as_str()?;
        let is_party = kind == "possessing_party"
            || kind.ends_with("SDT-possessing_party")
            || kind.ends_with("sdt:possessing_party");
        let holder = d["destination"].as_str().filter(|_| is_party)?;
        Some((
            holder.trim().to_owned(),
            format!("{at}/destinationList/{i}/destination"),
        ))
    })
}

/// The event as stored: its own JSON with the document's `@context` (so it stands alone), its
/// `eventID`, and no client `recordTime` (EPCIS: the capture interface ignores it; queries show
/// when the repository recorded it).
fn stored_form(event: &mut Value, context: &Value, id: &str) -> Result<String, String> {
    let fields = event.as_object_mut().ok_or("an event is an object")?;
    let merged = match fields.remove("@context") {
        None => context.clone(),
        Some(own) => merge_contexts(context, own),
    };
    fields.insert("@context".into(), merged);
    fields.remove("recordTime");
    fields
        .entry("eventID")
        .or_insert_with(|| Value::String(id.to_owned()));
    serde_json::to_string(fields).map_err(|e| e.to_string())
}

/// The document's context then the event's own, without repeating an entry (the schema wants
/// the members of a context array unique).
fn merge_contexts(document: &Value, own: Value) -> Value {
    let mut items: Vec<Value> = Vec::new();
    for c in [document.clone(), own] {
        match c {
            Value::Array(list) => items.extend(list),
            Value::Null => {}
            other => items.push(other),
        }
    }
    let mut unique: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    Value::Array(unique)
}

/// The problem of a document refused as a whole: one entry per event error.
pub(crate) fn refused(detail: String, errors: Vec<EventError>) -> Problem {
    let status = if errors.iter().all(|e| e.status == 409) {
        axum::http::StatusCode::CONFLICT
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Problem::new(crate::api::error::CAPTURE_REFUSED)
        .with_status(status)
        .with_detail(detail)
        .with_errors(
            errors
                .iter()
                .map(|e| FieldError::new(e.pointer.clone(), e.detail.clone()))
                .collect(),
        )
        .with("event_errors", errors)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
