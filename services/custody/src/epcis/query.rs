//! `GET /api/v1/epcis/events`: the query parameters we support, the exact semantic check of
//! one event against them, and the `EPCISQueryDocument` of a result page.
//!
//! Parameters follow the EPCIS 2.0 simple event query as the REST binding puts it in the URL:
//! a parameter taking a list may be repeated, and one occurrence may carry several values
//! separated by `|` (the binding's own example is `EQ_bizStep=shipping%7Cdecommissioning`).
//! Commas are not separators: they are legal inside URIs (`geo:` URIs, GS1 serial numbers).
//! Values of a list are alternatives; different parameters must all hold.
//!
//! Values are compared in the canonical form of the event hash, so `receiving`,
//! `urn:epcglobal:cbv:bizstep:receiving` and `https://ref.gs1.org/cbv/BizStep-receiving` are
//! the same business step, `ree:sorting` is its full IRI, and an EPC URN matches its Digital
//! Link. An EPC pattern `urn:epc:idpat:sgtin:{prefix}.{item}.*` matches every serial and lot
//! of that GTIN. The store pre-filters in SQL; this module is the reference for what a match
//! is.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::hash::{Prefixes, Vocabulary, gs1};
use super::query_binding::{self, Conditions};
use super::query_fields::SortKey;
use super::query_order::OrderKey;
use super::vocab;

/// The parameters of `GET /api/v1/epcis/events`.
const V1_PARAMETERS: [&str; 9] = [
    "EQ_bizStep",
    "MATCH_anyEPC",
    "MATCH_epcClass",
    "GE_eventTime",
    "LT_eventTime",
    "EQ_bizLocation",
    "EQ_action",
    "perPage",
    "nextPageToken",
];

/// Results per page when `perPage` is absent.
pub const DEFAULT_PER_PAGE: u32 = 30;
/// The largest `perPage` accepted.
pub const MAX_PER_PAGE: u32 = 1000;

/// Why a query string was refused; each names the parameter (EPCIS
/// `QueryParameterException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A parameter this endpoint does not know.
    #[error("unknown query parameter \"{0}\"")]
    Unknown(String),
    /// A parameter of the EPCIS standard this repository does not evaluate.
    #[error("query parameter \"{0}\" is not supported by this repository")]
    Unsupported(String),
    /// A single-valued parameter given twice.
    #[error("query parameter {0} is given more than once")]
    Repeated(&'static str),
    /// A value that does not fit its parameter.
    #[error("query parameter {param}: {reason} (got \"{value}\")")]
    Invalid {
        /// The parameter.
        param: &'static str,
        /// The value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A value that does not fit its parameter, for the families whose names carry a field,
    /// a unit or a type (`GE_value_CEL`, `EQ_example:grade`).
    #[error("query parameter {param}: {reason} (got \"{value}\")")]
    Malformed {
        /// The parameter, as given.
        param: String,
        /// The value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// An `EQ_action` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpcisAction {
    /// `ADD`
    Add,
    /// `OBSERVE`
    Observe,
    /// `DELETE`
    Delete,
}

impl EpcisAction {
    /// The EPCIS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EpcisAction::Add => "ADD",
            EpcisAction::Observe => "OBSERVE",
            EpcisAction::Delete => "DELETE",
        }
    }
}

/// A value to match an identifier against: exactly, or every identifier under a GTIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMatch {
    /// The value as given.
    pub given: String,
    /// Its canonical form (a constrained Digital Link for GS1 keys).
    pub canonical: String,
    /// Whether it is a pattern (`urn:epc:idpat:...`): then identifiers below `canonical`
    /// match too.
    pub pattern: bool,
}

impl IdMatch {
    pub(crate) fn new(given: &str, prefixes: &Prefixes) -> IdMatch {
        let given = given.to_owned();
        let canonical = canonical_id(&prefixes.expand(&given).unwrap_or_else(|| given.clone()));
        let pattern = given.starts_with("urn:epc:idpat:");
        IdMatch {
            given,
            canonical,
            pattern,
        }
    }

    pub(crate) fn matches(&self, canonical: &str) -> bool {
        canonical == self.canonical
            || (self.pattern
                && canonical
                    .strip_prefix(self.canonical.as_str())
                    .is_some_and(|rest| rest.starts_with('/')))
    }
}

/// The filter of `GET /api/v1/epcis/events`. Empty lists do not filter.
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    /// `EQ_bizStep`: the business step is one of these (canonical IRIs).
    pub biz_steps: Vec<String>,
    /// `MATCH_anyEPC`: an EPC in `epcList`, `childEPCs`, `inputEPCList`, `outputEPCList` or
    /// `parentID` matches one of these.
    pub any_epc: Vec<IdMatch>,
    /// `MATCH_epcClass`: an `epcClass` of a quantity list matches one of these.
    pub epc_class: Vec<IdMatch>,
    /// `GE_eventTime`: at or after.
    pub event_time_from: Option<DateTime<FixedOffset>>,
    /// `LT_eventTime`: strictly before.
    pub event_time_until: Option<DateTime<FixedOffset>>,
    /// `EQ_bizLocation`: the business location is one of these (canonical).
    pub biz_locations: Vec<String>,
    /// `EQ_action`: the action is one of these.
    pub actions: Vec<EpcisAction>,
    /// `perPage`.
    pub per_page: u32,
    /// `nextPageToken`: the opaque cursor of the page to return.
    pub next_page_token: Option<String>,
    /// The REST binding's further parameters (`/epcis/2.0/events`).
    pub binding: Conditions,
    /// Whether cursors are bound to the query and its order (the binding's); otherwise a
    /// cursor is the log position of the last event of a page (`/api/v1/epcis/events`).
    pub bound_cursor: bool,
}

impl Default for EventQuery {
    fn default() -> Self {
        EventQuery {
            biz_steps: Vec::new(),
            any_epc: Vec::new(),
            epc_class: Vec::new(),
            event_time_from: None,
            event_time_until: None,
            biz_locations: Vec::new(),
            actions: Vec::new(),
            per_page: DEFAULT_PER_PAGE,
            next_page_token: None,
            binding: Conditions::default(),
            bound_cursor: false,
        }
    }
}

impl EventQuery {
    /// Parses a raw query string (`EQ_bizStep=receiving&perPage=10`), percent-decoding it.
    pub fn from_query_string(query: &str) -> Result<EventQuery, QueryError> {
        EventQuery::from_pairs(form_urlencoded::parse(query.as_bytes()))
    }

    /// Parses the query string of the REST binding's `/epcis/2.0/events`: every parameter of
    /// the simple event query this repository evaluates; the standard's others are refused as
    /// [`QueryError::Unsupported`].
    pub fn from_binding_query_string(query: &str) -> Result<EventQuery, QueryError> {
        EventQuery::parse(form_urlencoded::parse(query.as_bytes()), true)
    }

    /// Parses decoded name/value pairs, in order, as a web framework hands them over.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<EventQuery, QueryError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        EventQuery::parse(pairs, false)
    }

    fn parse<I, K, V>(pairs: I, binding: bool) -> Result<EventQuery, QueryError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let prefixes = Prefixes::standard();
        let mut q = EventQuery::default();
        let mut seen_per_page = false;
        for (name, raw) in pairs {
            let raw = raw.as_ref();
            // The binding's MATCH_epcClass is the standard's (quantityList and
            // childQuantityList only); v1's looks in every quantity list.
            if binding
                && (name.as_ref() == "MATCH_epcClass" || !V1_PARAMETERS.contains(&name.as_ref()))
            {
                if q.binding.take(name.as_ref(), raw, &prefixes)? {
                    continue;
                }
                if query_binding::unsupported(name.as_ref()) {
                    return Err(QueryError::Unsupported(name.as_ref().to_owned()));
                }
                return Err(QueryError::Unknown(name.as_ref().to_owned()));
            }
            match name.as_ref() {
                "EQ_bizStep" => {
                    for v in list("EQ_bizStep", raw)? {
                        let step = Vocabulary::BizStep.canonical(&prefixes, v);
                        q.biz_steps.push(step);
                    }
                }
                "MATCH_anyEPC" => {
                    for v in list("MATCH_anyEPC", raw)? {
                        q.any_epc.push(IdMatch::new(v, &prefixes));
                    }
                }
                "MATCH_epcClass" => {
                    for v in list("MATCH_epcClass", raw)? {
                        q.epc_class.push(IdMatch::new(v, &prefixes));
                    }
                }
                "EQ_bizLocation" => {
                    for v in list("EQ_bizLocation", raw)? {
                        let expanded = prefixes.expand(v).unwrap_or_else(|| v.to_owned());
                        q.biz_locations.push(canonical_id(&expanded));
                    }
                }
                "EQ_action" => {
                    for v in list("EQ_action", raw)? {
                        q.actions.push(match v {
                            "ADD" => EpcisAction::Add,
                            "OBSERVE" => EpcisAction::Observe,
                            "DELETE" => EpcisAction::Delete,
                            _ => {
                                return Err(invalid(
                                    "EQ_action",
                                    v,
                                    "expected ADD, OBSERVE or DELETE",
                                ));
                            }
                        });
                    }
                }
                "GE_eventTime" => {
                    set_once(
                        &mut q.event_time_from,
                        "GE_eventTime",
                        time("GE_eventTime", raw)?,
                    )?;
                }
                "LT_eventTime" => {
                    set_once(
                        &mut q.event_time_until,
                        "LT_eventTime",
                        time("LT_eventTime", raw)?,
                    )?;
                }
                "perPage" => {
                    if std::mem::replace(&mut seen_per_page, true) {
                        return Err(QueryError::Repeated("perPage"));
                    }
                    q.per_page = match raw.parse::<u32>() {
                        Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => n,
                        _ => {
                            return Err(invalid(
                                "perPage",
                                raw,
                                "expected a whole number from 1 to 1000",
                            ));
                        }
                    };
                }
                "nextPageToken" => {
                    if raw.is_empty() {
                        return Err(invalid("nextPageToken", raw, "must not be empty"));
                    }
                    set_once(&mut q.next_page_token, "nextPageToken", raw.to_owned())?;
                }
                other => return Err(QueryError::Unknown(other.to_owned())),
            }
        }
        if binding {
            q.binding.controls.check()?;
            q.bound_cursor = true;
        }
        Ok(q)
    }

    /// The value of `event` that `orderBy` names when it names an extension field; `None`
    /// when the event lacks it (or `orderBy` names none).
    pub fn field_key(&self, event: &Value) -> Option<SortKey> {
        match &self.binding.controls.order_by {
            Some(OrderKey::Field(field)) => field.sort_key(event, &event_prefixes(event)),
            _ => None,
        }
    }

    /// Whether `event` satisfies every parameter. Prefixes come from the event's own
    /// `@context` on top of the standard ones and `ree`.
    pub fn matches(&self, event: &Value) -> bool {
        let prefixes = event_prefixes(event);
        self.matches_biz_step(event, &prefixes)
            && self.matches_action(event)
            && self.matches_time(event)
            && self.matches_location(event, &prefixes)
            && self.matches_epcs(event, &prefixes)
            && self.matches_classes(event, &prefixes)
            && self.binding.matches(event, &prefixes)
    }

    fn matches_biz_step(&self, event: &Value, prefixes: &Prefixes) -> bool {
        self.biz_steps.is_empty()
            || event["bizStep"].as_str().is_some_and(|s| {
                let step = Vocabulary::BizStep.canonical(prefixes, s);
                self.biz_steps.contains(&step)
            })
    }

    fn matches_action(&self, event: &Value) -> bool {
        self.actions.is_empty()
            || event["action"]
                .as_str()
                .is_some_and(|a| self.actions.iter().any(|x| x.as_str() == a))
    }

    fn matches_time(&self, event: &Value) -> bool {
        if self.event_time_from.is_none() && self.event_time_until.is_none() {
            return true;
        }
        let Some(t) = event["eventTime"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        else {
            return false;
        };
        self.event_time_from.is_none_or(|from| t >= from)
            && self.event_time_until.is_none_or(|until| t < until)
    }

    fn matches_location(&self, event: &Value, prefixes: &Prefixes) -> bool {
        self.biz_locations.is_empty()
            || event["bizLocation"]["id"].as_str().is_some_and(|id| {
                let id = canonical_id(&prefixes.expand(id).unwrap_or_else(|| id.to_owned()));
                self.biz_locations.contains(&id)
            })
    }

    fn matches_epcs(&self, event: &Value, prefixes: &Prefixes) -> bool {
        if self.any_epc.is_empty() {
            return true;
        }
        let lists = ["epcList", "childEPCs", "inputEPCList", "outputEPCList"];
        let epcs = lists
            .iter()
            .filter_map(|l| event[l].as_array())
            .flatten()
            .chain(std::iter::once(&event["parentID"]))
            .filter_map(Value::as_str);
        any_match(&self.any_epc, epcs, prefixes)
    }

    fn matches_classes(&self, event: &Value, prefixes: &Prefixes) -> bool {
        if self.epc_class.is_empty() {
            return true;
        }
        let lists = [
            "quantityList",
            "childQuantityList",
            "inputQuantityList",
            "outputQuantityList",
        ];
        let classes = lists
            .iter()
            .filter_map(|l| event[l].as_array())
            .flatten()
            .filter_map(|q| q["epcClass"].as_str());
        any_match(&self.epc_class, classes, prefixes)
    }
}

/// The prefixes in scope for a stored event: the standard ones, `ree`, and its `@context`'s.
fn event_prefixes(event: &Value) -> Prefixes {
    let mut prefixes = Prefixes::standard();
    if let Some(context) = event.get("@context") {
        prefixes.declare(context);
    }
    prefixes
}

fn any_match<'a>(
    wanted: &[IdMatch],
    mut ids: impl Iterator<Item = &'a str>,
    prefixes: &Prefixes,
) -> bool {
    ids.any(|id| {
        let id = canonical_id(&prefixes.expand(id).unwrap_or_else(|| id.to_owned()));
        wanted.iter().any(|w| w.matches(&id))
    })
}

/// The canonical form of an identifier: a constrained Digital Link for GS1 keys, the value
/// itself otherwise.
pub(crate) fn canonical_id(id: &str) -> String {
    gs1::normalise(id.trim()).unwrap_or_else(|| id.trim().to_owned())
}

/// The form the store keeps a business step in (`custody_events.biz_step`), so that the SQL
/// pre-filter of `EQ_bizStep` finds every spelling: the canonical IRI, written back as a bare
/// CBV word or a `ree:` CURIE where it is one (as our own events write them).
pub fn biz_step_key(canonical: &str) -> String {
    const CBV: &str = "https://ref.gs1.org/cbv/BizStep-";
    if let Some(word) = canonical.strip_prefix(CBV) {
        word.to_owned()
    } else if let Some(term) = canonical.strip_prefix(vocab::REE_VOCAB) {
        format!("{}:{term}", vocab::REE_PREFIX)
    } else {
        canonical.to_owned()
    }
}

/// The store's key of a business step as an event writes it, with the standard prefixes and
/// those of `context` (the event's document `@context`).
pub(crate) fn biz_step_key_in(step: &str, prefixes: &Prefixes) -> String {
    biz_step_key(&Vocabulary::BizStep.canonical(prefixes, step))
}

/// The form the store keeps a business location in (`custody_events.biz_location`): the
/// identifier's canonical form, as `EQ_bizLocation` compares them.
pub fn location_key(id: &str) -> String {
    canonical_id(id)
}

pub(crate) fn invalid(param: &'static str, value: &str, reason: &'static str) -> QueryError {
    QueryError::Invalid {
        param,
        value: value.to_owned(),
        reason,
    }
}

/// The `|`-separated values of one occurrence; none may be empty.
pub(crate) fn list<'a>(param: &'static str, raw: &'a str) -> Result<Vec<&'a str>, QueryError> {
    raw.split('|')
        .map(|v| {
            let v = v.trim();
            if v.is_empty() {
                Err(invalid(param, raw, "empty value"))
            } else {
                Ok(v)
            }
        })
        .collect()
}

pub(crate) fn time(param: &'static str, raw: &str) -> Result<DateTime<FixedOffset>, QueryError> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        // An unencoded `+01:00` arrives as ` 01:00` (form encoding reads `+` as a space).
        .or_else(|e| DateTime::parse_from_rfc3339(&raw.replace(' ', "+")).map_err(|_| e))
        .map_err(|_| {
            invalid(
                param,
                raw,
                "expected an RFC 3339 date-time with a time zone",
            )
        })
}

fn set_once<T>(slot: &mut Option<T>, param: &'static str, value: T) -> Result<(), QueryError> {
    if slot.replace(value).is_some() {
        return Err(QueryError::Repeated(param));
    }
    Ok(())
}

/// The `EPCISQueryDocument` answering a simple event query with `events` (one page).
pub fn query_document(events: Vec<Value>, creation_date: DateTime<Utc>) -> Value {
    json!({
        "@context": vocab::context(),
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date.to_rfc3339_opts(SecondsFormat::Millis, true),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": { "eventList": events }
            }
        }
    })
}
