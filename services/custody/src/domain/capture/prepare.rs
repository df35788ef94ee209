//! Phase 1 of capture, no I/O: the envelope and every event checked against the GS1 schema,
//! hashed, named, classified and put in their stored form.

use chrono::{DateTime, Utc};
use reetrace_core::domain::{FieldError, Lgtin, Sgtin};
use serde_json::Value;
use uuid::Uuid;

use super::{
    CAPTURE_LIMIT, EventFault, EventKind, EventRefusal, Incoming, Name, Prepared, StoreKey,
    SubjectKey, event_pointer,
};
use crate::domain::error::CustodyError;
use crate::domain::state::Action;
use crate::domain::step::check_event_time;
use crate::epcis::hash::{HashVersion, Prefixes, event_hash_as, event_hash_in};
use crate::epcis::query::{biz_step_key_in, canonical_id, location_key};
use crate::epcis::schema::{validate_document, validate_document_event};
use crate::epcis::vocab::REE_VOCAB;

/// The row id of the error declaration of event `id` (the event id column is unique; the
/// declaration's document keeps `id` as its `eventID`).
pub fn declaration_id(id: &str) -> String {
    format!("{id}#error-declaration-1")
}

/// Checks a captured document (phase 1, no I/O) as of `now`. Envelope errors refuse the
/// document; event errors stay with their events. `bases` are the public base URLs whose
/// `/p/{id}` and `/lots/{id}` name our products and lots: the current one, then its aliases.
pub fn prepare(
    mut document: Value,
    bases: &[String],
    now: DateTime<Utc>,
) -> Result<Prepared, CustodyError> {
    let mut list = match document.pointer_mut("/epcisBody/eventList") {
        Some(Value::Array(list)) => std::mem::take(list),
        _ => Vec::new(),
    };
    // The envelope alone: each event is checked on its own below, with its own pointer.
    validate_document(&document).map_err(|errors| {
        CustodyError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldError::new(e.pointer, e.message))
                .collect(),
        )
    })?;
    if list.is_empty() {
        return Err(CustodyError::invalid(
            "/epcisBody/eventList",
            "the document holds no events to capture",
        ));
    }
    if list.len() > CAPTURE_LIMIT {
        return Err(CustodyError::TooManyEvents {
            events: list.len(),
            limit: CAPTURE_LIMIT,
        });
    }
    let context = document.get("@context").cloned().unwrap_or(Value::Null);
    let mut document_prefixes = Prefixes::standard();
    document_prefixes.declare(&context);
    let events = list
        .drain(..)
        .enumerate()
        .map(|(index, event)| incoming(index, event, &context, &document_prefixes, bases, now))
        .collect();
    Ok(Prepared { events })
}

fn incoming(
    index: usize,
    event: Value,
    context: &Value,
    document_prefixes: &Prefixes,
    bases: &[String],
    now: DateTime<Utc>,
) -> Incoming {
    let mut incoming = Incoming {
        index,
        event,
        kind: EventKind::Plain,
        id: String::new(),
        hash: String::new(),
        legacy_hash: None,
        id_is_hash: false,
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
    if let Some((pointer, why)) = oversize(&incoming.event, &event_pointer(index)) {
        incoming.errors.push(EventRefusal {
            index,
            pointer,
            fault: EventFault::TooLarge(why),
        });
        return incoming;
    }
    if let Err(errors) = validate_document_event(&incoming.event) {
        let at = event_pointer(index);
        incoming.errors = errors
            .into_iter()
            .map(|e| EventRefusal {
                index,
                pointer: format!("{at}{}", e.pointer),
                fault: EventFault::Schema(e.message),
            })
            .collect();
        return incoming;
    }
    if let Err(error) = fill(&mut incoming, context, document_prefixes, bases, now) {
        incoming.errors.push(error);
    }
    incoming
}

/// The longest string an event may hold (identifiers, URIs, extension text), in bytes.
pub const MAX_EVENT_STRING: usize = 2_048;
/// The deepest nesting of objects and arrays in an event.
pub const MAX_EVENT_DEPTH: usize = 16;
/// The most values (members and items, all levels) in an event, extensions included.
pub const MAX_EVENT_VALUES: usize = 4_096;

/// What in `event` exceeds the caps, with its pointer.
fn oversize(event: &Value, at: &str) -> Option<(String, String)> {
    fn walk(
        value: &Value,
        pointer: &mut String,
        depth: usize,
        count: &mut usize,
    ) -> Option<(String, String)> {
        *count += 1;
        if *count > MAX_EVENT_VALUES {
            return Some((
                pointer.clone(),
                format!("an event holds at most {MAX_EVENT_VALUES} values, extensions included"),
            ));
        }
        match value {
            Value::String(text) if text.len() > MAX_EVENT_STRING => Some((
                pointer.clone(),
                format!(
                    "a string of {} bytes; an event's strings hold at most {MAX_EVENT_STRING}",
                    text.len()
                ),
            )),
            Value::Array(_) | Value::Object(_) if depth >= MAX_EVENT_DEPTH => Some((
                pointer.clone(),
                format!("an event nests at most {MAX_EVENT_DEPTH} levels deep"),
            )),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                let found = walk(item, pointer, depth + 1, count);
                pointer.truncate(len);
                found
            }),
            Value::Object(members) => members.iter().find_map(|(key, member)| {
                if key.len() > MAX_EVENT_STRING {
                    return Some((
                        pointer.clone(),
                        format!("a member name of {} bytes", key.len()),
                    ));
                }
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                let found = walk(member, pointer, depth + 1, count);
                pointer.truncate(len);
                found
            }),
            _ => None,
        }
    }
    let mut pointer = at.to_owned();
    walk(event, &mut pointer, 0, &mut 0)
}

/// Everything phase 2 needs from a schema-valid event.
fn fill(
    incoming: &mut Incoming,
    context: &Value,
    document_prefixes: &Prefixes,
    bases: &[String],
    now: DateTime<Utc>,
) -> Result<(), EventRefusal> {
    let index = incoming.index;
    let at = event_pointer(index);
    let fail = |pointer: String, fault: EventFault| EventRefusal {
        index,
        pointer,
        fault,
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
        .map_err(|e| fail(at.clone(), EventFault::Schema(e.to_string())))?;
    incoming.legacy_hash = event_hash_as(HashVersion::V1, event, Some(context))
        .ok()
        .filter(|legacy| *legacy != incoming.hash);
    incoming.id = match event.get("eventID").and_then(Value::as_str) {
        Some(id) => id.trim().to_owned(),
        None => incoming.hash.clone(),
    };
    incoming.id_is_hash = event.get("eventID").and_then(Value::as_str).is_none();
    incoming.event_type = event["type"].as_str().unwrap_or_default().to_owned();
    let time = event["eventTime"].as_str().unwrap_or_default();
    incoming.event_time = DateTime::parse_from_rfc3339(time)
        .map_err(|_| {
            fail(
                format!("{at}/eventTime"),
                EventFault::Schema("not an RFC 3339 date-time with a time zone".into()),
            )
        })?
        .with_timezone(&Utc);
    check_event_time(incoming.event_time, now)
        .map_err(|why| fail(format!("{at}/eventTime"), EventFault::EventTime(why)))?;
    incoming.biz_step = event["bizStep"]
        .as_str()
        .map(|s| biz_step_key_in(s, prefixes));
    let expand = |id: &str| prefixes.expand(id).unwrap_or_else(|| id.trim().to_owned());
    let biz_location = event["bizLocation"]["id"].as_str();
    incoming.biz_location = biz_location.map(|id| location_key(&expand(id)));
    incoming.location = biz_location
        .or_else(|| event["readPoint"]["id"].as_str())
        .map(str::to_owned);
    incoming.names = names(event, &at, &expand, bases);
    incoming.kind = if event.get("errorDeclaration").is_some() {
        EventKind::Declaration
    } else {
        match (incoming.event_type.as_str(), incoming.biz_step.as_deref()) {
            ("TransformationEvent", Some(step @ ("ree:dismantling" | "ree:recycling"))) => {
                return Err(fail(
                    format!("{at}/bizStep"),
                    EventFault::UseTransformations {
                        step: step.to_owned(),
                    },
                ));
            }
            ("ObjectEvent", Some(step)) => {
                step_action(step).map_or(EventKind::Plain, EventKind::Step)
            }
            _ => EventKind::Plain,
        }
    };
    if incoming.kind == EventKind::Step(Action::Handover) {
        incoming.to_holder = to_holder(event, &at, prefixes);
    }
    incoming.document = stored_form(&mut incoming.event, context, &incoming.id)
        .map_err(|e| fail(at.clone(), EventFault::Schema(e)))?;
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
fn names(event: &Value, at: &str, expand: &dyn Fn(&str) -> String, bases: &[String]) -> Vec<Name> {
    let mut out = Vec::new();
    let mut push = |raw: &str, role: &'static str, class: bool, pointer: String| {
        let expanded = expand(raw);
        let key = if class {
            lot_key(&expanded, bases).map(SubjectKey::Lot)
        } else {
            product_key(&expanded, bases).map(SubjectKey::Product)
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
pub(super) fn product_key(id: &str, bases: &[String]) -> Option<StoreKey> {
    if let Ok(sgtin) = Sgtin::parse(id) {
        return Some(StoreKey::Epc(sgtin.to_uri()));
    }
    own_id(id, bases, "p").map(StoreKey::Id)
}

/// A lot as the store keys it: the canonical LGTIN, or the id in one of our lot URIs.
pub(super) fn lot_key(id: &str, bases: &[String]) -> Option<StoreKey> {
    if let Ok(lgtin) = Lgtin::parse(id) {
        return Some(StoreKey::Epc(lgtin.to_uri()));
    }
    own_id(id, bases, "lots").map(StoreKey::Id)
}

/// The id in `<base>/<collection>/<uuid>`, under the current base URL or a former one (an
/// instance moved with `reetrace admin instance move` keeps naming what it issued before).
fn own_id(id: &str, bases: &[String], collection: &str) -> Option<Uuid> {
    bases.iter().find_map(|base| {
        let rest = id.strip_prefix(base.trim_end_matches('/'))?;
        let rest = rest
            .strip_prefix('/')?
            .strip_prefix(collection)?
            .strip_prefix('/')?;
        rest.parse().ok()
    })
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
pub(super) fn merge_contexts(document: &Value, own: Value) -> Value {
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
