//! The sensor-data parameters of the simple event query (EPCIS 2.0 §8.2.7.1), as the REST
//! binding (`/epcis/2.0/events`) takes them, checked on `sensorElementList`.
//!
//! The parameters, with the names of the standard's query schema:
//! - `EXISTS_sensorElementList` (also spelled `EXISTS_sensorElement`, as GS1's conformance
//!   test TCR-53 does): the event has a sensor element.
//! - `EQ_type` (measurement types; a bare word is a GS1 Web Vocabulary term, `Temperature`),
//!   `EQ_deviceID`, `EQ_dataProcessingMethod`, `EQ_bizRules`, `EQ_microorganism`,
//!   `EQ_chemicalSubstance`, `EQ_uriValue` (URIs), `EQ_stringValue`, `EQ_hexBinaryValue`
//!   (case-insensitive) and `EQ_booleanValue` (`true` or `false`).
//! - `GE_time`, `LT_time`, `GE_startTime`, `LT_startTime`, `GE_endTime`, `LT_endTime`.
//! - `EQ_value_{uom}`, and `GT_`, `GE_`, `LT_`, `LE_` of `value_{uom}`, `minValue_{uom}`,
//!   `maxValue_{uom}`, `meanValue_{uom}`, `sDev_{uom}`, `percValue_{uom}`: the attribute in
//!   the report's `uom`, converted to `{uom}` when both are units of one kind
//!   ([`super::query_units`]); and `GT_`, `GE_`, `LT_`, `LE_percRank` (no unit).
//! - The extension fields of sensor elements, their metadata and their reports
//!   (`EQ_SENSORREPORT_{field}`, ...; [`super::query_fields`]).
//!
//! All of them must hold together on one sensor report, with the sensor element it belongs
//! to: `EQ_type=Temperature&GE_value_CEL=8` finds a temperature of 8 °C or more, not an event
//! that has a temperature report and, elsewhere, some other reading of 8. The attributes a
//! `sensorMetadata` may carry for all its element's reports (`deviceID`, `deviceMetadata`,
//! `rawData`, `dataProcessingMethod`, `bizRules`, `time`) count for each report of the
//! element, as do the report's own. A sensor element without reports is checked as one with
//! an empty report, so that conditions on its metadata alone can hold.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::hash::{Prefixes, Vocabulary};
use super::query::{QueryError, canonical_id, list, time};
use super::query_binding::Compare;
use super::query_fields::{FieldCondition, FieldPlace};
use super::query_units::{self, Scale};

/// A numeric attribute of a sensor report that a parameter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorMeasure {
    Value,
    MinValue,
    MaxValue,
    MeanValue,
    SDev,
    PercValue,
    PercRank,
}

impl SensorMeasure {
    fn parse(name: &str) -> Option<SensorMeasure> {
        Some(match name {
            "value" => SensorMeasure::Value,
            "minValue" => SensorMeasure::MinValue,
            "maxValue" => SensorMeasure::MaxValue,
            "meanValue" => SensorMeasure::MeanValue,
            "sDev" => SensorMeasure::SDev,
            "percValue" => SensorMeasure::PercValue,
            "percRank" => SensorMeasure::PercRank,
            _ => return None,
        })
    }

    fn attribute(self) -> &'static str {
        match self {
            SensorMeasure::Value => "value",
            SensorMeasure::MinValue => "minValue",
            SensorMeasure::MaxValue => "maxValue",
            SensorMeasure::MeanValue => "meanValue",
            SensorMeasure::SDev => "sDev",
            SensorMeasure::PercValue => "percValue",
            SensorMeasure::PercRank => "percRank",
        }
    }
}

/// One comparison of a report's numeric attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureBound {
    pub measure: SensorMeasure,
    pub compare: Compare,
    pub bound: f64,
    /// The unit of `bound` (none for `percRank`).
    pub uom: Option<String>,
}

/// The sensor parameters of a query. Empty lists do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SensorConditions {
    pub exists: bool,
    pub types: Vec<String>,
    pub device_ids: Vec<String>,
    pub processing_methods: Vec<String>,
    pub biz_rules: Vec<String>,
    pub microorganisms: Vec<String>,
    pub chemical_substances: Vec<String>,
    pub uri_values: Vec<String>,
    pub string_values: Vec<String>,
    pub hex_binary_values: Vec<String>,
    pub boolean_values: Vec<bool>,
    /// (`GE_`/`LT_` bounds of `time`, `startTime`, `endTime`).
    pub times: Vec<(&'static str, Compare, DateTime<FixedOffset>)>,
    pub measures: Vec<MeasureBound>,
    pub fields: Vec<FieldCondition>,
}

/// A GS1 Web Vocabulary term whatever its spelling (`Temperature`, `gs1:Temperature`, the
/// `https://gs1.org/voc/` IRI of older contexts).
fn measurement_type(prefixes: &Prefixes, v: &str) -> String {
    let canonical = Vocabulary::Gs1.canonical(prefixes, v);
    for old in ["https://gs1.org/voc/", "http://gs1.org/voc/"] {
        if let Some(term) = canonical.strip_prefix(old) {
            return format!("https://ref.gs1.org/voc/{term}");
        }
    }
    canonical
}

fn uri(prefixes: &Prefixes, v: &str) -> String {
    canonical_id(&prefixes.expand(v).unwrap_or_else(|| v.to_owned()))
}

impl SensorConditions {
    /// Whether no sensor parameter is given.
    pub fn is_empty(&self) -> bool {
        *self == SensorConditions::default()
    }

    /// Takes one sensor parameter; `Ok(false)` when `name` is none of them.
    pub(crate) fn take(&mut self, name: &str, raw: &str) -> Result<bool, QueryError> {
        // Values are kept as given: a CURIE in them is expanded with each event's prefixes.
        let uris = |param: &'static str, slot: &mut Vec<String>| -> Result<(), QueryError> {
            slot.extend(list(param, raw)?.into_iter().map(str::to_owned));
            Ok(())
        };
        match name {
            "EXISTS_sensorElementList" | "EXISTS_sensorElement" => {
                let v = raw.trim();
                if !v.is_empty() && !v.eq_ignore_ascii_case("true") {
                    return Err(malformed(name, raw, "takes no value"));
                }
                self.exists = true;
            }
            "EQ_type" => uris("EQ_type", &mut self.types)?,
            "EQ_deviceID" => uris("EQ_deviceID", &mut self.device_ids)?,
            "EQ_dataProcessingMethod" => {
                uris("EQ_dataProcessingMethod", &mut self.processing_methods)?;
            }
            "EQ_bizRules" => uris("EQ_bizRules", &mut self.biz_rules)?,
            "EQ_microorganism" => uris("EQ_microorganism", &mut self.microorganisms)?,
            "EQ_chemicalSubstance" => {
                uris("EQ_chemicalSubstance", &mut self.chemical_substances)?;
            }
            "EQ_uriValue" => uris("EQ_uriValue", &mut self.uri_values)?,
            "EQ_stringValue" => self
                .string_values
                .extend(list("EQ_stringValue", raw)?.into_iter().map(str::to_owned)),
            "EQ_hexBinaryValue" => {
                for v in list("EQ_hexBinaryValue", raw)? {
                    if v.len() % 2 != 0 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(malformed(name, v, "expected hexadecimal octets"));
                    }
                    self.hex_binary_values.push(v.to_ascii_uppercase());
                }
            }
            "EQ_booleanValue" => {
                for v in list("EQ_booleanValue", raw)? {
                    self.boolean_values.push(match v {
                        "true" => true,
                        "false" => false,
                        _ => return Err(malformed(name, v, "expected true or false")),
                    });
                }
            }
            "GE_time" | "LT_time" | "GE_startTime" | "LT_startTime" | "GE_endTime"
            | "LT_endTime" => {
                let (op, attribute) = name.split_at(3);
                let compare = if op == "GE_" {
                    Compare::Ge
                } else {
                    Compare::Lt
                };
                let attribute = match attribute {
                    "time" => "time",
                    "startTime" => "startTime",
                    _ => "endTime",
                };
                let param = match name {
                    "GE_time" => "GE_time",
                    "LT_time" => "LT_time",
                    "GE_startTime" => "GE_startTime",
                    "LT_startTime" => "LT_startTime",
                    "GE_endTime" => "GE_endTime",
                    _ => "LT_endTime",
                };
                self.times.push((attribute, compare, time(param, raw)?));
            }
            _ => return self.take_family(name, raw),
        }
        Ok(true)
    }

    /// `{op}_{measure}_{uom}`, `{op}_percRank` and the sensor extension fields.
    fn take_family(&mut self, name: &str, raw: &str) -> Result<bool, QueryError> {
        if let Some(condition) = FieldCondition::parse(name, raw)?
            && condition.place.is_sensor()
        {
            self.fields.push(condition);
            return Ok(true);
        }
        let Some((op, rest)) = name.split_once('_') else {
            return Ok(false);
        };
        let Some(compare) = Compare::of(op) else {
            return Ok(false);
        };
        let (measure, uom) = match rest.split_once('_') {
            Some((measure, uom)) => (SensorMeasure::parse(measure), Some(uom)),
            None => (SensorMeasure::parse(rest), None),
        };
        let Some(measure) = measure else {
            return Ok(false);
        };
        // The schema's names: EQ_ only of value; a unit on all but percRank, never on it.
        let named = match (measure, uom) {
            (SensorMeasure::PercRank, None) => compare != Compare::Eq,
            (SensorMeasure::PercRank, Some(_)) | (_, None) => false,
            (SensorMeasure::Value, Some(_)) => true,
            (_, Some(_)) => compare != Compare::Eq,
        };
        if !named {
            return Ok(false);
        }
        let bound = query_units::bound(name, uom, raw)?;
        self.measures.push(MeasureBound {
            measure,
            compare,
            bound,
            uom: uom.map(str::to_owned),
        });
        Ok(true)
    }

    /// Whether one sensor report of `event` satisfies every condition.
    pub(crate) fn matches(&self, event: &Value, prefixes: &Prefixes) -> bool {
        if self.is_empty() {
            return true;
        }
        let empty = Value::Array(vec![Value::Null]);
        event["sensorElementList"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|element| {
                let reports = match element["sensorReport"].as_array() {
                    Some(r) if !r.is_empty() => &element["sensorReport"],
                    _ => &empty,
                };
                reports
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|report| self.holds(element, report, prefixes))
            })
    }

    fn holds(&self, element: &Value, report: &Value, prefixes: &Prefixes) -> bool {
        let metadata = &element["sensorMetadata"];
        // An attribute of the report, or of its element's metadata.
        let texts = |attribute: &str| -> Vec<&str> {
            [&report[attribute], &metadata[attribute]]
                .into_iter()
                .filter_map(Value::as_str)
                .collect()
        };
        let uris_match = |wanted: &[String], attribute: &str| {
            wanted.is_empty()
                || texts(attribute).into_iter().any(|v| {
                    let v = uri(prefixes, v);
                    wanted.iter().any(|w| uri(prefixes, w) == v)
                })
        };
        (self.types.is_empty()
            || report["type"].as_str().is_some_and(|t| {
                let t = measurement_type(prefixes, t);
                self.types
                    .iter()
                    .any(|w| measurement_type(prefixes, w) == t)
            }))
            && uris_match(&self.device_ids, "deviceID")
            && uris_match(&self.processing_methods, "dataProcessingMethod")
            && uris_match(&self.biz_rules, "bizRules")
            && uris_match(&self.microorganisms, "microorganism")
            && uris_match(&self.chemical_substances, "chemicalSubstance")
            && uris_match(&self.uri_values, "uriValue")
            && (self.string_values.is_empty()
                || report["stringValue"]
                    .as_str()
                    .is_some_and(|v| self.string_values.iter().any(|w| w == v)))
            && (self.hex_binary_values.is_empty()
                || report["hexBinaryValue"].as_str().is_some_and(|v| {
                    self.hex_binary_values
                        .contains(&v.trim().to_ascii_uppercase())
                }))
            && (self.boolean_values.is_empty()
                || report["booleanValue"]
                    .as_bool()
                    .is_some_and(|v| self.boolean_values.contains(&v)))
            && self.times.iter().all(|(attribute, compare, bound)| {
                texts(attribute)
                    .into_iter()
                    .filter_map(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
                    .any(|t| compare.accepts(t.cmp(bound)))
            })
            && self.measures.iter().all(|m| measure_holds(m, report))
            && self.fields.iter().all(|f| {
                let container = match f.place {
                    FieldPlace::SensorMetadata => metadata,
                    FieldPlace::SensorReport => report,
                    _ => element,
                };
                f.holds_in(container, prefixes)
            })
    }
}

fn measure_holds(m: &MeasureBound, report: &Value) -> bool {
    let Some(value) = report[m.measure.attribute()].as_f64() else {
        return false;
    };
    let (value, converted) = match &m.uom {
        None => (value, false),
        Some(wanted) => {
            let Some(given) = report["uom"].as_str() else {
                return false;
            };
            let scale = if m.measure == SensorMeasure::SDev {
                Scale::Spread
            } else {
                Scale::Level
            };
            match query_units::convert(value, given.trim(), wanted, scale) {
                Some(v) => v,
                None => return false,
            }
        }
    };
    m.compare.holds_measured(value, m.bound, converted)
}

fn malformed(param: &str, value: &str, reason: &'static str) -> QueryError {
    QueryError::Malformed {
        param: param.to_owned(),
        value: value.to_owned(),
        reason,
    }
}
