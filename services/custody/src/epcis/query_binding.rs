//! The rest of the EPCIS 2.0 simple event query, as the REST binding (`/epcis/2.0/events`)
//! takes it: the parameters beyond those of `GET /api/v1/epcis/events` ([`super::query`]),
//! each checked exactly on an event's JSON. Parameters of the standard that need master data
//! (`WD_*`, `HASATTR_*`, `EQATTR_*`) are refused naming the parameter
//! ([`QueryError::Unsupported`]), never ignored. The sensor parameters are
//! [`super::query_sensor`]'s, the extension fields [`super::query_fields`]'s, the result
//! controls (`orderBy`, ...) [`super::query_order`]'s.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::hash::{Prefixes, Vocabulary};
use super::query::{IdMatch, QueryError, canonical_id, invalid, list, time};
use super::query_fields::FieldCondition;
use super::query_order::ResultControls;
use super::query_quantity::Quantities;
use super::query_sensor::SensorConditions;

/// The event types of EPCIS 2.0.
pub const EVENT_TYPES: [&str; 5] = [
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
];

/// Standard parameters (families of them) this repository does not evaluate: they need
/// master data. `EQ_ATTR_` is the query schema's spelling of `EQATTR_`.
const UNSUPPORTED: [&str; 5] = ["WD_", "HASATTR_", "EQATTR_", "EQ_ATTR_", "MATCH_INNER_"];

/// Whether `name` is a parameter of the standard that this repository refuses.
pub fn unsupported(name: &str) -> bool {
    UNSUPPORTED.iter().any(|p| name.starts_with(p))
}

/// A comparison of a quantity, a sensor value or an extension field with a bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Compare {
    pub fn holds(self, value: f64, bound: f64) -> bool {
        value
            .partial_cmp(&bound)
            .is_some_and(|order| self.accepts(order))
    }

    /// The comparison of an operator (`EQ`, `GT`, `GE`, `LT`, `LE`).
    pub fn of(op: &str) -> Option<Compare> {
        Some(match op {
            "EQ" => Compare::Eq,
            "GT" => Compare::Gt,
            "GE" => Compare::Ge,
            "LT" => Compare::Lt,
            "LE" => Compare::Le,
            _ => return None,
        })
    }

    /// Whether `value`, converted from another unit when `converted`, satisfies the
    /// comparison with `bound`: a converted value carries rounding, so within a billionth it
    /// equals the bound.
    pub fn holds_measured(self, value: f64, bound: f64, converted: bool) -> bool {
        if converted && (value - bound).abs() <= 1e-9 * value.abs().max(bound.abs()).max(1.0) {
            return self.accepts(Ordering::Equal);
        }
        self.holds(value, bound)
    }

    /// Whether a value that stands in `order` to the bound satisfies the comparison.
    pub fn accepts(self, order: Ordering) -> bool {
        match self {
            Compare::Eq => order == Ordering::Equal,
            Compare::Gt => order == Ordering::Greater,
            Compare::Ge => order != Ordering::Less,
            Compare::Lt => order == Ordering::Less,
            Compare::Le => order != Ordering::Greater,
        }
    }
}

/// The binding's parameters beyond the v1 query. Empty lists do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    pub event_types: Vec<String>,
    pub record_time_from: Option<DateTime<FixedOffset>>,
    pub record_time_until: Option<DateTime<FixedOffset>>,
    pub dispositions: Vec<String>,
    pub persistent_set: Vec<String>,
    pub persistent_unset: Vec<String>,
    pub read_points: Vec<String>,
    pub transformation_ids: Vec<String>,
    pub epc: Vec<IdMatch>,
    pub parent_id: Vec<IdMatch>,
    pub input_epc: Vec<IdMatch>,
    pub output_epc: Vec<IdMatch>,
    pub epc_class: Vec<IdMatch>,
    pub input_epc_class: Vec<IdMatch>,
    pub output_epc_class: Vec<IdMatch>,
    pub any_epc_class: Vec<IdMatch>,
    /// `{op}_quantity`, `{op}_quantity_{uom}`.
    pub quantities: Quantities,
    pub event_ids: Vec<String>,
    pub error_declared: bool,
    pub declared_from: Option<DateTime<FixedOffset>>,
    pub declared_until: Option<DateTime<FixedOffset>>,
    pub error_reasons: Vec<String>,
    pub corrective_ids: Vec<String>,
    /// (`EQ_bizTransaction_{type}`: canonical type, identifiers).
    pub biz_transactions: Vec<(String, Vec<String>)>,
    /// (`EQ_source_{type}`: canonical type, identifiers).
    pub sources: Vec<(String, Vec<String>)>,
    /// (`EQ_destination_{type}`: canonical type, identifiers).
    pub destinations: Vec<(String, Vec<String>)>,
    /// The sensor parameters.
    pub sensor: SensorConditions,
    /// The extension-field parameters but those of sensor data.
    pub fields: Vec<FieldCondition>,
    /// `orderBy`, `orderDirection`, `eventCountLimit`, `maxEventCount`.
    pub controls: ResultControls,
}

fn once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), QueryError> {
    if slot.replace(value).is_some() {
        return Err(QueryError::Repeated(name));
    }
    Ok(())
}

fn ids(param: &'static str, raw: &str, prefixes: &Prefixes) -> Result<Vec<IdMatch>, QueryError> {
    Ok(list(param, raw)?
        .into_iter()
        .map(|v| IdMatch::new(v, prefixes))
        .collect())
}

fn locations(
    param: &'static str,
    raw: &str,
    prefixes: &Prefixes,
) -> Result<Vec<String>, QueryError> {
    Ok(list(param, raw)?
        .into_iter()
        .map(|v| canonical_id(&prefixes.expand(v).unwrap_or_else(|| v.to_owned())))
        .collect())
}

fn words(
    param: &'static str,
    raw: &str,
    prefixes: &Prefixes,
    vocabulary: Vocabulary,
) -> Result<Vec<String>, QueryError> {
    Ok(list(param, raw)?
        .into_iter()
        .map(|v| vocabulary.canonical(prefixes, v))
        .collect())
}

/// An error reason's canonical IRI (`incorrect_data` is CBV's `ER-incorrect_data`).
fn error_reason(prefixes: &Prefixes, v: &str) -> String {
    if v.contains(':') {
        prefixes.expand(v).unwrap_or_else(|| v.to_owned())
    } else {
        format!("https://ref.gs1.org/cbv/ER-{v}")
    }
}

impl Conditions {
    /// Takes one parameter of the binding; `Ok(false)` when it is none of them.
    pub(crate) fn take(
        &mut self,
        name: &str,
        raw: &str,
        prefixes: &Prefixes,
    ) -> Result<bool, QueryError> {
        match name {
            "eventType" => {
                for v in list("eventType", raw)? {
                    if !EVENT_TYPES.contains(&v) {
                        return Err(invalid("eventType", v, "expected an EPCIS 2.0 event type"));
                    }
                    self.event_types.push(v.to_owned());
                }
            }
            "GE_recordTime" => once(
                &mut self.record_time_from,
                "GE_recordTime",
                time("GE_recordTime", raw)?,
            )?,
            "LT_recordTime" => once(
                &mut self.record_time_until,
                "LT_recordTime",
                time("LT_recordTime", raw)?,
            )?,
            "EQ_disposition" => self.dispositions.extend(words(
                "EQ_disposition",
                raw,
                prefixes,
                Vocabulary::Disposition,
            )?),
            "EQ_persistentDisposition_set" => self.persistent_set.extend(words(
                "EQ_persistentDisposition_set",
                raw,
                prefixes,
                Vocabulary::Disposition,
            )?),
            "EQ_persistentDisposition_unset" => self.persistent_unset.extend(words(
                "EQ_persistentDisposition_unset",
                raw,
                prefixes,
                Vocabulary::Disposition,
            )?),
            "EQ_readPoint" => self
                .read_points
                .extend(locations("EQ_readPoint", raw, prefixes)?),
            "EQ_transformationID" => self.transformation_ids.extend(
                list("EQ_transformationID", raw)?
                    .into_iter()
                    .map(str::to_owned),
            ),
            "MATCH_epc" => self.epc.extend(ids("MATCH_epc", raw, prefixes)?),
            "MATCH_parentID" => self.parent_id.extend(ids("MATCH_parentID", raw, prefixes)?),
            "MATCH_inputEPC" => self.input_epc.extend(ids("MATCH_inputEPC", raw, prefixes)?),
            "MATCH_outputEPC" => self
                .output_epc
                .extend(ids("MATCH_outputEPC", raw, prefixes)?),
            "MATCH_epcClass" => self.epc_class.extend(ids("MATCH_epcClass", raw, prefixes)?),
            "MATCH_inputEPCClass" => {
                self.input_epc_class
                    .extend(ids("MATCH_inputEPCClass", raw, prefixes)?)
            }
            "MATCH_outputEPCClass" => {
                self.output_epc_class
                    .extend(ids("MATCH_outputEPCClass", raw, prefixes)?)
            }
            "MATCH_anyEPCClass" => {
                self.any_epc_class
                    .extend(ids("MATCH_anyEPCClass", raw, prefixes)?)
            }
            "EQ_eventID" => self
                .event_ids
                .extend(list("EQ_eventID", raw)?.into_iter().map(str::to_owned)),
            "EXISTS_errorDeclaration" => {
                if !raw.trim().is_empty() && !raw.trim().eq_ignore_ascii_case("true") {
                    return Err(invalid("EXISTS_errorDeclaration", raw, "takes no value"));
                }
                self.error_declared = true;
            }
            // The query schema spells it `GE_errorDeclaration_Time`.
            "GE_errorDeclarationTime" | "GE_errorDeclaration_Time" => once(
                &mut self.declared_from,
                "GE_errorDeclarationTime",
                time("GE_errorDeclarationTime", raw).map_err(|e| as_given(e, name))?,
            )?,
            // The query schema spells it `LT_errorDeclaration_Time`.
            "LT_errorDeclarationTime" | "LT_errorDeclaration_Time" => once(
                &mut self.declared_until,
                "LT_errorDeclarationTime",
                time("LT_errorDeclarationTime", raw).map_err(|e| as_given(e, name))?,
            )?,
            "EQ_errorReason" => {
                for v in list("EQ_errorReason", raw)? {
                    self.error_reasons.push(error_reason(prefixes, v));
                }
            }
            "EQ_correctiveEventID" => self.corrective_ids.extend(
                list("EQ_correctiveEventID", raw)?
                    .into_iter()
                    .map(str::to_owned),
            ),
            _ if self.controls.take(name, raw)? => {}
            _ if self.take_typed(name, raw, prefixes)? => {}
            _ if self.quantities.take(name, raw)? => {}
            _ if self.sensor.take(name, raw)? => {}
            _ => match FieldCondition::parse(name, raw)? {
                Some(condition) => self.fields.push(condition),
                None => return Ok(false),
            },
        }
        Ok(true)
    }

    /// `EQ_bizTransaction_{type}`, `EQ_source_{type}`, `EQ_destination_{type}`.
    fn take_typed(
        &mut self,
        name: &str,
        raw: &str,
        prefixes: &Prefixes,
    ) -> Result<bool, QueryError> {
        let (slot, kind, vocabulary, param) =
            if let Some(t) = name.strip_prefix("EQ_bizTransaction_") {
                (
                    &mut self.biz_transactions,
                    t,
                    Vocabulary::BizTransactionType,
                    "EQ_bizTransaction_{type}",
                )
            } else if let Some(t) = name.strip_prefix("EQ_source_") {
                (
                    &mut self.sources,
                    t,
                    Vocabulary::SourceDestinationType,
                    "EQ_source_{type}",
                )
            } else if let Some(t) = name.strip_prefix("EQ_destination_") {
                (
                    &mut self.destinations,
                    t,
                    Vocabulary::SourceDestinationType,
                    "EQ_destination_{type}",
                )
            } else {
                return Ok(false);
            };
        if kind.is_empty() {
            return Err(invalid(param, name, "names no type"));
        }
        let values = list(param, raw)?
            .into_iter()
            .map(|v| canonical_id(&prefixes.expand(v).unwrap_or_else(|| v.to_owned())))
            .collect();
        slot.push((vocabulary.canonical(prefixes, kind), values));
        Ok(true)
    }

    /// Whether `event` satisfies every condition.
    pub(crate) fn matches(&self, event: &Value, prefixes: &Prefixes) -> bool {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(text)
                .collect()
        };
        let vocab = |v: &str, vocabulary: Vocabulary| vocabulary.canonical(prefixes, v);
        let location = |v: &Value| {
            v["id"]
                .as_str()
                .map(|id| canonical_id(&prefixes.expand(id).unwrap_or_else(|| id.to_owned())))
        };
        let in_list = |wanted: &[String], got: Option<String>| {
            wanted.is_empty() || got.is_some_and(|g| wanted.contains(&g))
        };
        let declaration = &event["errorDeclaration"];
        in_list(&self.event_types, text(&event["type"]))
            && within(
                &event["recordTime"],
                self.record_time_from,
                self.record_time_until,
            )
            && in_list(
                &self.dispositions,
                event["disposition"]
                    .as_str()
                    .map(|d| vocab(d, Vocabulary::Disposition)),
            )
            && any_of(
                &self.persistent_set,
                strings(&event["persistentDisposition"]["set"])
                    .iter()
                    .map(|d| vocab(d, Vocabulary::Disposition)),
            )
            && any_of(
                &self.persistent_unset,
                strings(&event["persistentDisposition"]["unset"])
                    .iter()
                    .map(|d| vocab(d, Vocabulary::Disposition)),
            )
            && in_list(&self.read_points, location(&event["readPoint"]))
            && in_list(&self.transformation_ids, text(&event["transformationID"]))
            && ids_match(&self.epc, event, &["epcList", "childEPCs"], prefixes)
            && (self.parent_id.is_empty()
                || event["parentID"]
                    .as_str()
                    .is_some_and(|p| id_matches(&self.parent_id, p, prefixes)))
            && ids_match(&self.input_epc, event, &["inputEPCList"], prefixes)
            && ids_match(&self.output_epc, event, &["outputEPCList"], prefixes)
            && classes_match(
                &self.epc_class,
                event,
                &["quantityList", "childQuantityList"],
                prefixes,
            )
            && classes_match(
                &self.input_epc_class,
                event,
                &["inputQuantityList"],
                prefixes,
            )
            && classes_match(
                &self.output_epc_class,
                event,
                &["outputQuantityList"],
                prefixes,
            )
            && classes_match(
                &self.any_epc_class,
                event,
                &[
                    "quantityList",
                    "childQuantityList",
                    "inputQuantityList",
                    "outputQuantityList",
                ],
                prefixes,
            )
            && self.quantities.matches(event)
            && in_list(&self.event_ids, text(&event["eventID"]))
            && (!self.error_declared || declaration.is_object())
            && ((self.declared_from.is_none() && self.declared_until.is_none())
                || within(
                    &declaration["declarationTime"],
                    self.declared_from,
                    self.declared_until,
                ))
            && in_list(
                &self.error_reasons,
                declaration["reason"]
                    .as_str()
                    .map(|r| error_reason(prefixes, r)),
            )
            && any_of(
                &self.corrective_ids,
                strings(&declaration["correctiveEventIDs"]).into_iter(),
            )
            && typed_match(
                &self.biz_transactions,
                &event["bizTransactionList"],
                "bizTransaction",
                Vocabulary::BizTransactionType,
                prefixes,
            )
            && typed_match(
                &self.sources,
                &event["sourceList"],
                "source",
                Vocabulary::SourceDestinationType,
                prefixes,
            )
            && typed_match(
                &self.destinations,
                &event["destinationList"],
                "destination",
                Vocabulary::SourceDestinationType,
                prefixes,
            )
            && self.sensor.matches(event, prefixes)
            && self.fields.iter().all(|f| f.holds(event, prefixes))
    }
}

/// `error` naming the parameter as the query spelled it.
fn as_given(error: QueryError, name: &str) -> QueryError {
    match error {
        QueryError::Invalid {
            param,
            value,
            reason,
        } if param != name => QueryError::Malformed {
            param: name.to_owned(),
            value,
            reason,
        },
        other => other,
    }
}

fn within(
    value: &Value,
    from: Option<DateTime<FixedOffset>>,
    until: Option<DateTime<FixedOffset>>,
) -> bool {
    if from.is_none() && until.is_none() {
        return true;
    }
    let Some(t) = value
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    else {
        return false;
    };
    from.is_none_or(|f| t >= f) && until.is_none_or(|u| t < u)
}

fn any_of(wanted: &[String], mut got: impl Iterator<Item = String>) -> bool {
    wanted.is_empty() || got.any(|g| wanted.contains(&g))
}

fn id_matches(wanted: &[IdMatch], id: &str, prefixes: &Prefixes) -> bool {
    let id = canonical_id(&prefixes.expand(id).unwrap_or_else(|| id.to_owned()));
    wanted.iter().any(|w| w.matches(&id))
}

fn ids_match(wanted: &[IdMatch], event: &Value, lists: &[&str], prefixes: &Prefixes) -> bool {
    wanted.is_empty()
        || lists
            .iter()
            .filter_map(|l| event[*l].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .any(|id| id_matches(wanted, id, prefixes))
}

fn classes_match(wanted: &[IdMatch], event: &Value, lists: &[&str], prefixes: &Prefixes) -> bool {
    wanted.is_empty()
        || lists
            .iter()
            .filter_map(|l| event[*l].as_array())
            .flatten()
            .filter_map(|q| q["epcClass"].as_str())
            .any(|id| id_matches(wanted, id, prefixes))
}

/// Each `(type, identifiers)`: an element of `list` of that type names one of them.
fn typed_match(
    wanted: &[(String, Vec<String>)],
    list: &Value,
    field: &str,
    vocabulary: Vocabulary,
    prefixes: &Prefixes,
) -> bool {
    wanted.iter().all(|(kind, values)| {
        list.as_array().into_iter().flatten().any(|element| {
            element["type"]
                .as_str()
                .is_some_and(|t| vocabulary.canonical(prefixes, t) == *kind)
                && element[field].as_str().is_some_and(|v| {
                    values.contains(&canonical_id(
                        &prefixes.expand(v).unwrap_or_else(|| v.to_owned()),
                    ))
                })
        })
    })
}
