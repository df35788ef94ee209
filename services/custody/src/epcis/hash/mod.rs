//! The EPCIS Event Hash ID of CBV 2.0 (section 8.9): `ni:///sha-256;{hex}?ver=CBV2.0`.
//!
//! The hash is SHA-256 over a *pre-hash string* built from the event's content in a fixed
//! order, independent of JSON key order, whitespace, list order, EPC URN versus Digital Link
//! notation, bare versus URI vocabulary, time zone and number notation:
//!
//! 1. `eventType=` and the event type;
//! 2. the standard fields in the canonical property order: `eventTime`,
//!    `eventTimeZoneOffset`, `epcList`, `parentID`, `inputEPCList`, `childEPCs`,
//!    `quantityList`, `childQuantityList`, `inputQuantityList`, `outputEPCList`,
//!    `outputQuantityList`, `action`, `transformationID`, `bizStep`, `disposition`,
//!    `persistentDisposition`, `readPoint`, `bizLocation`, `bizTransactionList`, `sourceList`,
//!    `destinationList`, `sensorElementList`, `ilmd`; a value is written `key=value`, a
//!    container as its name followed by its children, the members of a list sorted;
//! 3. everything else: as the CBV 2.0 profile of the reference implementation has it, the
//!    extensions found inside `readPoint`, `bizLocation` and sensor elements, prefixed by
//!    their parent field's name, in that order; then the user extensions
//!    (`{namespace}name=value`, nested ones with their parent); each group sorted.
//!
//! Not hashed: `eventID`, `recordTime`, `errorDeclaration`, `certificationInfo`, `@context`
//! and the `type` key itself (its value is step 1). An error declaration therefore keeps
//! the hash of the event it declares erroneous.
//!
//! Values are normalised (module `canon`): timestamps to UTC milliseconds, numbers without
//! trailing zeros, CBV URNs, bare CBV words and CURIEs to web URIs, EPC URIs and Digital
//! Links to constrained canonical Digital Links (module `gs1`).
//!
//! The rules follow the CBV 2.0 text as written up in the reference implementation
//! (`RalphTro/epcis-event-hash-generator`, whose README is the algorithm's public
//! description), and the output reproduces its CBV 2.0 test vectors (`tests/epcis_hash.rs`
//! names the few it does not, and why). [`HashVersion`] tells this version from the one
//! events stored before migration 30004 were hashed with.

mod canon;
pub(crate) mod gs1;
mod order;
mod version;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use order::{SENSOR_METADATA, SENSOR_REPORT, STANDARD};

pub(crate) use canon::{Prefixes, Vocabulary, value as canonical_value};
pub use version::HashVersion;

/// Why an event could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The event is not a JSON object.
    #[error("an EPCIS event is a JSON object")]
    NotAnObject,
    /// No `type`, or not a string.
    #[error("the event has no \"type\" string")]
    MissingType,
    /// A timestamp field that is not an RFC 3339 date-time with a zone.
    #[error("\"{field}\" is not a date-time with a time zone: \"{value}\"")]
    BadTimestamp {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// A document without an `epcisBody` event list.
    #[error(
        "not an EPCIS document with epcisBody.eventList (or queryResults.resultsBody.eventList)"
    )]
    NotADocument,
}

/// The version suffix of the algorithm implemented here.
pub const HASH_VERSION: &str = "CBV2.0";

/// The EPCIS event hash of a standalone event, whose prefixes come from its own `@context`.
pub fn event_hash(event: &Value) -> Result<String, HashError> {
    event_hash_in(event, None)
}

/// The EPCIS event hash of an event of a document whose `@context` is `document_context`
/// (the event's own `@context`, if any, is applied on top of it).
pub fn event_hash_in(event: &Value, document_context: Option<&Value>) -> Result<String, HashError> {
    event_hash_as(HashVersion::CURRENT, event, document_context)
}

/// [`event_hash_in`] by the rules of `version`; an older version only to recognise events
/// stored with it.
pub fn event_hash_as(
    version: HashVersion,
    event: &Value,
    document_context: Option<&Value>,
) -> Result<String, HashError> {
    let pre = pre_hash_string_as(version, event, document_context)?;
    Ok(hash_of_pre_hash(&pre))
}

/// The `ni:` URI of a pre-hash string.
pub fn hash_of_pre_hash(pre_hash: &str) -> String {
    let digest = Sha256::digest(pre_hash.as_bytes());
    format!("ni:///sha-256;{}?ver={HASH_VERSION}", hex::encode(digest))
}

/// The hashes of every event of an `EPCISDocument` or `EPCISQueryDocument`, in order.
pub fn document_event_hashes(document: &Value) -> Result<Vec<String>, HashError> {
    let body = &document["epcisBody"];
    let events = body["eventList"]
        .as_array()
        .or_else(|| body["queryResults"]["resultsBody"]["eventList"].as_array())
        .ok_or(HashError::NotADocument)?;
    let context = document.get("@context");
    events.iter().map(|e| event_hash_in(e, context)).collect()
}

/// The pre-hash string of an event: what [`event_hash_in`] hashes. Exposed for debugging and
/// for comparing with other implementations.
pub fn pre_hash_string(
    event: &Value,
    document_context: Option<&Value>,
) -> Result<String, HashError> {
    pre_hash_string_as(HashVersion::CURRENT, event, document_context)
}

/// [`pre_hash_string`] by the rules of `version`.
pub fn pre_hash_string_as(
    version: HashVersion,
    event: &Value,
    document_context: Option<&Value>,
) -> Result<String, HashError> {
    let fields = event.as_object().ok_or(HashError::NotAnObject)?;
    let event_type = fields
        .get("type")
        .and_then(Value::as_str)
        .ok_or(HashError::MissingType)?;
    let mut prefixes = Prefixes::standard().for_hash(version);
    if let Some(context) = document_context {
        prefixes.declare(context);
    }
    if let Some(context) = fields.get("@context") {
        prefixes.declare(context);
    }
    let mut pre = PreHash {
        prefixes: &prefixes,
        out: format!("eventType={event_type}"),
        version,
        trailing: Vec::new(),
    };
    pre.standard_fields(fields)?;
    for (name, value) in fields {
        if !STANDARD.contains(&name.as_str()) && !excluded(name) {
            for extension in pre.generic(name, value) {
                pre.trail(Trailing::Extension, extension);
            }
        }
    }
    let PreHash {
        mut out,
        mut trailing,
        ..
    } = pre;
    trailing.sort();
    trailing.iter().for_each(|(_, t)| out.push_str(t));
    Ok(out)
}

/// Event fields that are not part of the event's content.
fn excluded(name: &str) -> bool {
    matches!(
        name,
        "eventID" | "recordTime" | "errorDeclaration" | "certificationInfo"
    ) || annotation(name)
}

/// Keys that annotate rather than carry content, at any depth: JSON-LD keywords, the XML text
/// marker of converted documents and comments (which the reference implementation also skips).
fn annotation(name: &str) -> bool {
    name.starts_with('@') || matches!(name, "#text" | "rdfs:comment" | "comment")
}

struct PreHash<'p> {
    prefixes: &'p Prefixes,
    version: HashVersion,
    out: String,
    /// Extensions and extension leftovers, sorted and appended at the end.
    trailing: Vec<(Trailing, String)>,
}

/// Where an entry of the trailing block goes. Version 2, like the reference implementation,
/// keeps the extensions of `readPoint`, `bizLocation` and sensor elements in the canonical
/// order of their parents, before the event's own extensions; each group sorted. Version 1
/// sorted the whole block as strings (every entry then ranks [`Trailing::Any`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Trailing {
    Any,
    ReadPoint,
    BizLocation,
    SensorElement,
    Extension,
}

impl PreHash<'_> {
    fn trail(&mut self, group: Trailing, entry: String) {
        let group = match self.version {
            HashVersion::V1 => Trailing::Any,
            HashVersion::V2 => group,
        };
        self.trailing.push((group, entry));
    }

    fn standard_fields(&mut self, e: &Map<String, Value>) -> Result<(), HashError> {
        if let Some(t) = e.get("eventTime") {
            let t = self.time("eventTime", t)?;
            self.push_pair("eventTime", &t);
        }
        self.scalar(e, "eventTimeZoneOffset");
        self.epc_list(e, "epcList");
        self.scalar(e, "parentID");
        self.epc_list(e, "inputEPCList");
        self.epc_list(e, "childEPCs");
        self.quantity_list(e, "quantityList");
        self.quantity_list(e, "childQuantityList");
        self.quantity_list(e, "inputQuantityList");
        self.epc_list(e, "outputEPCList");
        self.quantity_list(e, "outputQuantityList");
        self.scalar(e, "action");
        self.scalar(e, "transformationID");
        self.vocabulary(e, "bizStep", Vocabulary::BizStep);
        self.vocabulary(e, "disposition", Vocabulary::Disposition);
        self.persistent_disposition(e);
        self.location(e, "readPoint");
        self.location(e, "bizLocation");
        self.typed_list(
            e,
            "bizTransactionList",
            "bizTransaction",
            Vocabulary::BizTransactionType,
        );
        self.typed_list(e, "sourceList", "source", Vocabulary::SourceDestinationType);
        self.typed_list(
            e,
            "destinationList",
            "destination",
            Vocabulary::SourceDestinationType,
        );
        self.sensor_elements(e)?;
        if let Some(Value::Object(ilmd)) = e.get("ilmd") {
            let mut parts: Vec<String> = ilmd
                .iter()
                .filter(|(k, _)| !annotation(k))
                .flat_map(|(k, v)| self.generic(k, v))
                .collect();
            if !parts.is_empty() {
                parts.sort();
                self.out.push_str("ilmd");
                parts.iter().for_each(|p| self.out.push_str(p));
            }
        }
        Ok(())
    }

    fn push_pair(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.out.push_str(key);
            self.out.push('=');
            self.out.push_str(value);
        }
    }

    fn text(&self, value: &Value) -> String {
        canon::scalar_text(value)
            .map(|t| canon::value(self.prefixes, &t))
            .unwrap_or_default()
    }

    fn time(&self, field: &'static str, value: &Value) -> Result<String, HashError> {
        let text = canon::scalar_text(value).unwrap_or_default();
        if text.trim().is_empty() {
            return Ok(String::new());
        }
        canon::timestamp(&text).ok_or(HashError::BadTimestamp { field, value: text })
    }

    fn scalar(&mut self, e: &Map<String, Value>, key: &str) {
        if let Some(v) = e.get(key) {
            let text = self.text(v);
            self.push_pair(key, &text);
        }
    }

    fn vocabulary(&mut self, e: &Map<String, Value>, key: &str, vocabulary: Vocabulary) {
        if let Some(text) = e.get(key).and_then(canon::scalar_text) {
            let text = canon::vocabulary_value(self.prefixes, vocabulary, &text);
            self.push_pair(key, &text);
        }
    }

    /// `name` then the sorted members, when at least one is not empty.
    fn push_sorted(&mut self, name: &str, mut members: Vec<String>) {
        members.retain(|m| !m.is_empty());
        if !members.is_empty() {
            members.sort();
            self.out.push_str(name);
            members.iter().for_each(|m| self.out.push_str(m));
        }
    }

    fn epc_list(&mut self, e: &Map<String, Value>, key: &str) {
        if let Some(Value::Array(epcs)) = e.get(key) {
            let members = epcs
                .iter()
                .map(|epc| self.text(epc))
                .filter(|t| !t.is_empty())
                .map(|t| format!("epc={t}"))
                .collect();
            self.push_sorted(key, members);
        }
    }

    fn quantity_list(&mut self, e: &Map<String, Value>, key: &str) {
        let Some(Value::Array(elements)) = e.get(key) else {
            return;
        };
        let members = elements
            .iter()
            .filter_map(Value::as_object)
            .map(|q| {
                let mut s = String::new();
                for field in ["epcClass", "quantity", "uom"] {
                    if let Some(v) = q.get(field) {
                        let text = self.text(v);
                        if !text.is_empty() {
                            s.push_str(&format!("{field}={text}"));
                        }
                    }
                }
                if s.is_empty() {
                    s
                } else {
                    format!("quantityElement{s}")
                }
            })
            .collect();
        self.push_sorted(key, members);
    }

    fn persistent_disposition(&mut self, e: &Map<String, Value>) {
        let Some(Value::Object(pd)) = e.get("persistentDisposition") else {
            return;
        };
        let mut s = String::new();
        for key in ["set", "unset"] {
            let values: Vec<&Value> = match pd.get(key) {
                Some(Value::Array(values)) => values.iter().collect(),
                Some(v) => vec![v],
                None => Vec::new(),
            };
            let mut members: Vec<String> = values
                .into_iter()
                .filter_map(canon::scalar_text)
                .map(|t| canon::vocabulary_value(self.prefixes, Vocabulary::Disposition, &t))
                .filter(|t| !t.is_empty())
                .map(|t| format!("{key}={t}"))
                .collect();
            members.sort();
            members.iter().for_each(|m| s.push_str(m));
        }
        if !s.is_empty() {
            self.out.push_str("persistentDisposition");
            self.out.push_str(&s);
        }
    }

    /// `readPoint` or `bizLocation`: its `id`; its extensions go to the trailing block.
    fn location(&mut self, e: &Map<String, Value>, key: &str) {
        let Some(Value::Object(location)) = e.get(key) else {
            return;
        };
        if let Some(id) = location.get("id") {
            let id = self.text(id);
            if !id.is_empty() {
                self.out.push_str(key);
                self.push_pair("id", &id);
            }
        }
        let extensions = self.extensions_of(location, &["id"]);
        if !extensions.is_empty() {
            let group = if key == "readPoint" {
                Trailing::ReadPoint
            } else {
                Trailing::BizLocation
            };
            self.trail(group, format!("{key}{}", extensions.concat()));
        }
    }

    /// Business transactions, sources and destinations: each member is its type (a CBV word
    /// or URI) followed by its identifier, and the members are sorted.
    fn typed_list(&mut self, e: &Map<String, Value>, key: &str, id_key: &str, types: Vocabulary) {
        let Some(Value::Array(entries)) = e.get(key) else {
            return;
        };
        let members = entries
            .iter()
            .filter_map(Value::as_object)
            .map(|entry| {
                let mut s = String::new();
                if let Some(t) = entry.get("type").and_then(canon::scalar_text) {
                    let t = canon::vocabulary_value(self.prefixes, types, &t);
                    if !t.is_empty() {
                        s.push_str(&format!("type={t}"));
                    }
                }
                if let Some(id) = entry.get(id_key) {
                    let id = self.text(id);
                    if !id.is_empty() {
                        s.push_str(&format!("{id_key}={id}"));
                    }
                }
                s
            })
            .collect();
        self.push_sorted(key, members);
    }

    /// Sensor elements: metadata then sorted reports per element, elements sorted, without
    /// the list's own name (CBV 2.0). Their extensions go to the trailing block.
    fn sensor_elements(&mut self, e: &Map<String, Value>) -> Result<(), HashError> {
        let Some(Value::Array(elements)) = e.get("sensorElementList") else {
            return Ok(());
        };
        let mut members = Vec::new();
        for element in elements.iter().filter_map(Value::as_object) {
            let mut s = String::new();
            let mut leftovers = self.extensions_of(element, &["sensorMetadata", "sensorReport"]);
            if let Some(Value::Object(meta)) = element.get("sensorMetadata") {
                let fields = self.ordered(meta, &SENSOR_METADATA, None)?;
                if !fields.is_empty() {
                    s.push_str("sensorMetadata");
                    s.push_str(&fields);
                }
                let ext = self.extensions_of(meta, &SENSOR_METADATA);
                if !ext.is_empty() {
                    leftovers.push(format!("sensorMetadata{}", ext.concat()));
                }
            }
            let reports: Vec<&Map<String, Value>> = match element.get("sensorReport") {
                Some(Value::Array(reports)) => {
                    reports.iter().filter_map(Value::as_object).collect()
                }
                Some(Value::Object(report)) => vec![report],
                _ => Vec::new(),
            };
            let mut report_strings = Vec::new();
            for report in reports {
                let fields = self.ordered(report, &SENSOR_REPORT, Some(report_vocabulary))?;
                if !fields.is_empty() {
                    report_strings.push(format!("sensorReport{fields}"));
                }
                let ext = self.extensions_of(report, &SENSOR_REPORT);
                if !ext.is_empty() {
                    leftovers.push(format!("sensorReport{}", ext.concat()));
                }
            }
            report_strings.sort();
            report_strings.iter().for_each(|r| s.push_str(r));
            if !s.is_empty() {
                members.push(format!("sensorElement{s}"));
            }
            if !leftovers.is_empty() {
                leftovers.sort();
                self.trail(
                    Trailing::SensorElement,
                    format!("sensorElement{}", leftovers.concat()),
                );
            }
        }
        members.sort();
        members.iter().for_each(|m| self.out.push_str(m));
        Ok(())
    }

    /// The fields of `object` named in `order`, in that order; time fields normalised as
    /// timestamps, vocabulary fields expanded.
    fn ordered(
        &self,
        object: &Map<String, Value>,
        order: &[&'static str],
        vocabulary: Option<fn(&str) -> Option<Vocabulary>>,
    ) -> Result<String, HashError> {
        let mut s = String::new();
        for &field in order {
            let Some(v) = object.get(field) else { continue };
            let text = if matches!(field, "time" | "startTime" | "endTime") {
                self.time(field, v)?
            } else if let Some(vocab) = vocabulary.and_then(|f| f(field)) {
                canon::scalar_text(v)
                    .map(|t| canon::vocabulary_value(self.prefixes, vocab, &t))
                    .unwrap_or_default()
            } else {
                self.text(v)
            };
            if !text.is_empty() {
                s.push_str(&format!("{field}={text}"));
            }
        }
        Ok(s)
    }

    /// The sorted generic strings of the members of `object` that are not in `known`.
    fn extensions_of(&self, object: &Map<String, Value>, known: &[&str]) -> Vec<String> {
        let mut parts: Vec<String> = object
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()) && !annotation(k))
            .flat_map(|(k, v)| self.generic(k, v))
            .collect();
        parts.sort();
        parts
    }

    /// A user extension (or ILMD member): `{namespace}name=value`, or the name followed by its
    /// sorted children; a list gives one entry per member.
    fn generic(&self, name: &str, value: &Value) -> Vec<String> {
        let key = self.prefixes.key(name);
        self.generic_with_key(&key, value)
    }

    fn generic_with_key(&self, key: &str, value: &Value) -> Vec<String> {
        match value {
            Value::Array(items) => items
                .iter()
                .flat_map(|item| self.generic_with_key(key, item))
                .collect(),
            Value::Object(children) => {
                let mut parts: Vec<String> = children
                    .iter()
                    .filter(|(k, _)| !annotation(k))
                    .flat_map(|(k, v)| self.generic(k, v))
                    .collect();
                parts.sort();
                vec![format!("{key}{}", parts.concat())]
            }
            scalar => {
                let text = self.text(scalar);
                if text.is_empty() {
                    vec![key.to_owned()]
                } else {
                    vec![format!("{key}={text}")]
                }
            }
        }
    }
}

fn report_vocabulary(field: &str) -> Option<Vocabulary> {
    match field {
        "type" | "exception" => Some(Vocabulary::Gs1),
        "component" => Some(Vocabulary::Component),
        _ => None,
    }
}
