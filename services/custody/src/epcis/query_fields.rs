//! The extension-field parameters of the simple event query (EPCIS 2.0 §8.2.7.1), as the
//! REST binding (`/epcis/2.0/events`) takes them, and the key of `orderBy` on an extension
//! field.
//!
//! A family is `{op}_{place}{field}`: `op` is `EQ` (one of the `|`-separated values), `GT`,
//! `GE`, `LT`, `LE` (a number or an RFC 3339 time) or `EXISTS` (no value); `place` says
//! where the field is: nothing (the event), `ILMD_`, `ERROR_DECLARATION_`, `readPoint_`,
//! `bizLocation_` (`EQ` only), `SENSORELEMENT_`, `SENSORMETADATA_` or `SENSORREPORT_` (the
//! last three are [`super::query_sensor`]'s, checked on one sensor report), each also with
//! `INNER_` before it (`EQ_INNER_ILMD_...`): then the field is one nested at any depth
//! inside a top-level extension field of that place, not a top-level one. The names are those
//! of the standard's query schema (`EPCIS-Query-JSON-Schema-root.json`).
//!
//! `field` is a qualified name: a CURIE (`example:temperature`) or an IRI. A CURIE's prefix is
//! resolved with each event's own `@context` (on top of the standard prefixes and `ree`), and
//! so are the event's field names, so a field matches whichever prefix it was captured with
//! as long as both name the same IRI. The XML form `{namespace}#{name}` is that IRI too when
//! the namespace already ends in `/` or `#` (`https://ns.example.com/epcis/#temp` is
//! `https://ns.example.com/epcis/temp`).
//!
//! Values: `EQ` compares canonical forms (CURIEs expanded, GS1 keys as Digital Links, numbers
//! without trailing zeros); the comparisons hold between two numbers or two times, and a
//! string field that reads as one counts as one (as every value does in the XML binding).

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::hash::{Prefixes, canonical_value};
use super::query::QueryError;
use super::query_binding::Compare;

/// A qualified field name as a query gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldName(String);

impl FieldName {
    /// `prefix:local` (prefix `[a-z][a-zA-Z0-9]*`, local name of word characters) or an IRI
    /// (`scheme://...`, `urn:...`); anything else is no qualified name.
    pub fn parse(name: &str) -> Option<FieldName> {
        let iri = name.contains("://") || name.starts_with("urn:");
        let curie = name.split_once(':').is_some_and(|(prefix, local)| {
            prefix.starts_with(|c: char| c.is_ascii_lowercase())
                && prefix.chars().all(|c| c.is_ascii_alphanumeric())
                && !local.is_empty()
                && local.chars().all(|c| c.is_alphanumeric() || c == '_')
        });
        (iri || curie).then(|| FieldName(name.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The IRI it names in the scope of `prefixes`.
    pub(crate) fn iri(&self, prefixes: &Prefixes) -> String {
        qualified(&self.0, prefixes)
    }

    /// The `orderBy` key of `event`: the value of its top-level field of this name.
    pub(crate) fn sort_key(&self, event: &Value, prefixes: &Prefixes) -> Option<SortKey> {
        let iri = self.iri(prefixes);
        let (_, value) = extensions(event, prefixes).find(|(name, _)| *name == iri)?;
        SortKey::of(value)
    }
}

/// The IRI of a field name (or a CURIE value) in the scope of `prefixes`; a name with an
/// unknown prefix stays as written.
fn qualified(name: &str, prefixes: &Prefixes) -> String {
    if name.contains("://") || name.starts_with("urn:") {
        if let Some((namespace, local)) = name.rsplit_once('#')
            && (namespace.ends_with('/') || namespace.ends_with('#'))
        {
            return format!("{namespace}{local}");
        }
        return name.to_owned();
    }
    prefixes.expand(name).unwrap_or_else(|| name.to_owned())
}

/// The extension fields of an object (keys that are qualified names), by IRI.
fn extensions<'a>(
    object: &'a Value,
    prefixes: &'a Prefixes,
) -> impl Iterator<Item = (String, &'a Value)> + 'a {
    object
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.contains(':'))
        .map(|(key, value)| (qualified(key, prefixes), value))
}

/// Every field nested at any depth inside `value` (not `value` itself), by IRI.
fn nested<'a>(value: &'a Value, prefixes: &Prefixes, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                if key.contains(':') {
                    out.push((qualified(key, prefixes), inner));
                }
                nested(inner, prefixes, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| nested(i, prefixes, out)),
        _ => {}
    }
}

/// Where a field is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldPlace {
    Event,
    Ilmd,
    ErrorDeclaration,
    ReadPoint,
    BizLocation,
    SensorElement,
    SensorMetadata,
    SensorReport,
}

impl FieldPlace {
    /// Whether the conditions of this place are checked on one sensor report.
    pub fn is_sensor(self) -> bool {
        matches!(
            self,
            FieldPlace::SensorElement | FieldPlace::SensorMetadata | FieldPlace::SensorReport
        )
    }

    /// The object holding this place's fields in `event` (not for the sensor places).
    fn of(self, event: &Value) -> &Value {
        match self {
            FieldPlace::Event => event,
            FieldPlace::Ilmd => &event["ilmd"],
            FieldPlace::ErrorDeclaration => &event["errorDeclaration"],
            FieldPlace::ReadPoint => &event["readPoint"],
            FieldPlace::BizLocation => &event["bizLocation"],
            FieldPlace::SensorElement | FieldPlace::SensorMetadata | FieldPlace::SensorReport => {
                &Value::Null
            }
        }
    }
}

/// A bound of `GT_`, `GE_`, `LT_`, `LE_`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldBound {
    Number(f64),
    Time(DateTime<FixedOffset>),
}

impl FieldBound {
    fn parse(raw: &str) -> Option<FieldBound> {
        let raw = raw.trim();
        if let Ok(n) = raw.parse::<f64>()
            && n.is_finite()
        {
            return Some(FieldBound::Number(n));
        }
        DateTime::parse_from_rfc3339(raw)
            .or_else(|e| DateTime::parse_from_rfc3339(&raw.replace(' ', "+")).map_err(|_| e))
            .ok()
            .map(FieldBound::Time)
    }

    fn holds(self, compare: Compare, value: &Value) -> bool {
        let Some(key) = SortKey::of(value) else {
            return false;
        };
        let order = match (self, key) {
            (FieldBound::Number(b), SortKey::Number(v)) => v.partial_cmp(&b),
            (FieldBound::Time(b), SortKey::Time(v)) => Some(v.cmp(&b)),
            _ => None,
        };
        order.is_some_and(|o| compare.accepts(o))
    }
}

/// What a condition asks of the field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldTest {
    /// `EQ_`: one of these values.
    Equals(Vec<String>),
    /// `GT_`, `GE_`, `LT_`, `LE_`.
    Compare(Compare, FieldBound),
    /// `EXISTS_`.
    Exists,
}

/// One extension-field parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCondition {
    /// The parameter's name (for errors and documentation).
    pub param: String,
    pub place: FieldPlace,
    /// `INNER_`: a field nested in a top-level extension field.
    pub inner: bool,
    pub field: FieldName,
    pub test: FieldTest,
}

/// The places of a name after its operator, longest first, and the operators they take.
const PLACES: [(&str, FieldPlace); 8] = [
    ("ERROR_DECLARATION_", FieldPlace::ErrorDeclaration),
    ("SENSORELEMENT_", FieldPlace::SensorElement),
    ("SENSORMETADATA_", FieldPlace::SensorMetadata),
    ("SENSORREPORT_", FieldPlace::SensorReport),
    ("ILMD_", FieldPlace::Ilmd),
    ("readPoint_", FieldPlace::ReadPoint),
    ("bizLocation_", FieldPlace::BizLocation),
    ("", FieldPlace::Event),
];

impl FieldCondition {
    /// The condition a parameter `name` states, if it is one of the families; `Ok(None)`
    /// when it is none of them.
    pub(crate) fn parse(name: &str, raw: &str) -> Result<Option<FieldCondition>, QueryError> {
        let Some((op, rest)) = name.split_once('_') else {
            return Ok(None);
        };
        let compare = match Compare::of(op) {
            Some(c) => Some(c),
            None if op == "EXISTS" => None,
            None => return Ok(None),
        };
        let (inner, rest) = match rest.strip_prefix("INNER_") {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let Some((place, field)) = PLACES
            .iter()
            .find_map(|(tag, place)| rest.strip_prefix(tag).map(|f| (*place, f)))
        else {
            return Ok(None);
        };
        let allowed = match place {
            // The schema has only EQ_ for the fields of read points and business locations,
            // and no EXISTS_INNER_ for those of sensor data.
            FieldPlace::ReadPoint | FieldPlace::BizLocation => compare == Some(Compare::Eq),
            _ if place.is_sensor() && inner => compare.is_some(),
            _ => true,
        };
        let Some(field) = FieldName::parse(field) else {
            // `EQ_somethingElse` is no family member; `EQ_ILMD_something` names no field.
            return if place == FieldPlace::Event && !inner {
                Ok(None)
            } else {
                Err(malformed(
                    name,
                    field,
                    "expected a qualified field name (prefix:name or an IRI)",
                ))
            };
        };
        if !allowed {
            return Ok(None);
        }
        let test = match compare {
            None => {
                let v = raw.trim();
                if !v.is_empty() && !v.eq_ignore_ascii_case("true") {
                    return Err(malformed(name, raw, "takes no value"));
                }
                FieldTest::Exists
            }
            Some(Compare::Eq) => {
                let values = raw
                    .split('|')
                    .map(str::trim)
                    .map(|v| {
                        if v.is_empty() {
                            Err(malformed(name, raw, "empty value"))
                        } else {
                            Ok(v.to_owned())
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                FieldTest::Equals(values)
            }
            Some(c) => {
                let bound = FieldBound::parse(raw).ok_or_else(|| {
                    malformed(name, raw, "expected a number or an RFC 3339 date-time")
                })?;
                FieldTest::Compare(c, bound)
            }
        };
        Ok(Some(FieldCondition {
            param: name.to_owned(),
            place,
            inner,
            field,
            test,
        }))
    }

    /// Whether `event` satisfies this condition (not for the sensor places).
    pub(crate) fn holds(&self, event: &Value, prefixes: &Prefixes) -> bool {
        self.holds_in(self.place.of(event), prefixes)
    }

    /// Whether the fields of `container` (an event, an ILMD, a sensor report, ...) satisfy
    /// this condition.
    pub(crate) fn holds_in(&self, container: &Value, prefixes: &Prefixes) -> bool {
        let iri = self.field.iri(prefixes);
        let mut candidates: Vec<(String, &Value)> = Vec::new();
        for (name, value) in extensions(container, prefixes) {
            if self.inner {
                nested(value, prefixes, &mut candidates);
            } else {
                candidates.push((name, value));
            }
        }
        candidates
            .iter()
            .filter(|(name, _)| *name == iri)
            .any(|(_, value)| self.test_value(value, prefixes))
    }

    fn test_value(&self, value: &Value, prefixes: &Prefixes) -> bool {
        match (&self.test, value) {
            (FieldTest::Exists, v) => !v.is_null(),
            (_, Value::Array(items)) => items.iter().any(|i| self.test_value(i, prefixes)),
            (_, Value::Object(o)) => o
                .get("@value")
                .is_some_and(|inner| self.test_value(inner, prefixes)),
            (FieldTest::Equals(wanted), v) => {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return false,
                };
                let got = canonical_value(prefixes, &text);
                wanted.iter().any(|w| canonical_value(prefixes, w) == got)
            }
            (FieldTest::Compare(c, bound), v) => bound.holds(*c, v),
        }
    }
}

fn malformed(param: &str, value: &str, reason: &'static str) -> QueryError {
    QueryError::Malformed {
        param: param.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

/// The value of a field as `orderBy` and the comparisons read it: a number (a JSON number or
/// a string that reads as one), a time (RFC 3339), or text.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Number(f64),
    Time(DateTime<FixedOffset>),
    Text(String),
}

impl SortKey {
    /// The key of a scalar value; arrays, objects and null have none.
    pub fn of(value: &Value) -> Option<SortKey> {
        match value {
            Value::Number(n) => n.as_f64().map(SortKey::Number),
            Value::String(s) => {
                let t = s.trim();
                if let Ok(n) = t.parse::<f64>()
                    && n.is_finite()
                {
                    Some(SortKey::Number(n))
                } else if let Ok(time) = DateTime::parse_from_rfc3339(t) {
                    Some(SortKey::Time(time))
                } else {
                    Some(SortKey::Text(s.clone()))
                }
            }
            Value::Object(o) => o.get("@value").and_then(SortKey::of),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortKey::Number(_) => 0,
            SortKey::Time(_) => 1,
            SortKey::Text(_) => 2,
        }
    }

    /// A total order: numbers, then times, then texts, each in its own order.
    pub fn total_cmp(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Time(a), SortKey::Time(b)) => a.cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}
