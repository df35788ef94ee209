//! The result controls of the simple event query (EPCIS 2.0 §8.2.7.1, `SimpleEventQuery`):
//! `orderBy`, `orderDirection`, `eventCountLimit` and `maxEventCount`, as the REST binding
//! (`/epcis/2.0/events`) takes them.
//!
//! What the standard says, and what this repository does:
//! - `orderBy`: `eventTime`, `recordTime` or the qualified name of a top-level extension
//!   field "whose type is Int, Float, Time or String" (a CURIE or an IRI, as the
//!   `EQ_{field}` parameters name it: [`super::query_fields`]). Events "that lack the
//!   specified field altogether may occur in any position": here they come last, in log
//!   order, whichever the direction. Numbers (also strings that read as one) order by value,
//!   times by instant, other strings by code point; numbers come before times and times
//!   before strings. Without `orderBy`, events come in the log's order (the order they were
//!   recorded in).
//! - `orderDirection`: `ASC` or `DESC`; "if omitted, defaults to DESC". Here it needs `orderBy`
//!   (alone it would order nothing, and no parameter is ignored).
//! - `eventCountLimit`: only the first N events in that order; it "may only be used when
//!   orderBy is specified" and is mutually exclusive with `maxEventCount`, both refused with a
//!   `QueryParameterException`.
//! - `maxEventCount`: if the query would return more than N events, a
//!   `QueryTooLargeException` instead of a result.
//!
//! Ties (events with the same time) are broken by the log position, in the same direction;
//! events with the same value of an extension field keep the log order. Every page of a
//! result thus starts exactly where the previous one ended.

use std::cmp::Ordering;

use super::query::{QueryError, invalid};
use super::query_fields::{FieldName, SortKey};

/// What `orderBy` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderKey {
    /// `eventTime`.
    EventTime,
    /// `recordTime`.
    RecordTime,
    /// A top-level extension field.
    Field(FieldName),
}

/// `orderDirection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `ASC`: earliest first.
    Ascending,
    /// `DESC`: latest first (the standard's default).
    Descending,
}

/// The result controls of a query; all absent: every match, in log order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultControls {
    /// `orderBy`.
    pub order_by: Option<OrderKey>,
    /// `orderDirection` as given.
    pub direction: Option<Direction>,
    /// `eventCountLimit`: at most this many events in all (over every page).
    pub event_count_limit: Option<u32>,
    /// `maxEventCount`: more matches than this is a `QueryTooLargeException`.
    pub max_event_count: Option<u32>,
}

fn once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), QueryError> {
    if slot.replace(value).is_some() {
        return Err(QueryError::Repeated(name));
    }
    Ok(())
}

fn count(name: &'static str, raw: &str, least: u32) -> Result<u32, QueryError> {
    match raw.trim().parse::<u32>() {
        Ok(n) if n >= least && n <= i32::MAX as u32 => Ok(n),
        _ if least == 0 => Err(invalid(name, raw, "expected a whole number from 0")),
        _ => Err(invalid(name, raw, "expected a whole number from 1")),
    }
}

impl ResultControls {
    /// Takes one of the four parameters; `Ok(false)` when `name` is none of them.
    pub(crate) fn take(&mut self, name: &str, raw: &str) -> Result<bool, QueryError> {
        match name {
            "orderBy" => {
                let key = match raw.trim() {
                    "eventTime" => OrderKey::EventTime,
                    "recordTime" => OrderKey::RecordTime,
                    other => match FieldName::parse(other) {
                        Some(field) => OrderKey::Field(field),
                        None => {
                            return Err(invalid(
                                "orderBy",
                                raw,
                                "expected eventTime, recordTime or the qualified name of an extension field (prefix:name or an IRI)",
                            ));
                        }
                    },
                };
                once(&mut self.order_by, "orderBy", key)?;
            }
            "orderDirection" => {
                let direction = match raw.trim() {
                    "ASC" => Direction::Ascending,
                    "DESC" => Direction::Descending,
                    _ => return Err(invalid("orderDirection", raw, "expected ASC or DESC")),
                };
                once(&mut self.direction, "orderDirection", direction)?;
            }
            "eventCountLimit" => once(
                &mut self.event_count_limit,
                "eventCountLimit",
                count("eventCountLimit", raw, 1)?,
            )?,
            "maxEventCount" => once(
                &mut self.max_event_count,
                "maxEventCount",
                count("maxEventCount", raw, 0)?,
            )?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The rules between the parameters (§8.2.7.1), once all are taken.
    pub(crate) fn check(&self) -> Result<(), QueryError> {
        if let (Some(limit), Some(_)) = (self.event_count_limit, self.max_event_count) {
            return Err(invalid(
                "eventCountLimit",
                &limit.to_string(),
                "eventCountLimit and maxEventCount are mutually exclusive",
            ));
        }
        if self.order_by.is_none() {
            if let Some(limit) = self.event_count_limit {
                return Err(invalid(
                    "eventCountLimit",
                    &limit.to_string(),
                    "eventCountLimit may only be used with orderBy",
                ));
            }
            if let Some(direction) = self.direction {
                let given = match direction {
                    Direction::Ascending => "ASC",
                    Direction::Descending => "DESC",
                };
                return Err(invalid(
                    "orderDirection",
                    given,
                    "orderDirection may only be used with orderBy",
                ));
            }
        }
        Ok(())
    }

    /// The direction in effect: `DESC` unless `ASC` is given (§8.2.7.1).
    pub fn direction(&self) -> Direction {
        self.direction.unwrap_or(Direction::Descending)
    }
}

/// The order of two events by an extension field: `(key, log position)` each, the key
/// `None` when the event lacks the field. Keys in `direction`, events without one last; equal
/// keys and keyless events in log order.
pub fn field_order(
    a: (Option<&SortKey>, i64),
    b: (Option<&SortKey>, i64),
    direction: Direction,
) -> Ordering {
    match (a.0, b.0) {
        (Some(x), Some(y)) => {
            let by_key = x.total_cmp(y);
            let by_key = match direction {
                Direction::Ascending => by_key,
                Direction::Descending => by_key.reverse(),
            };
            by_key.then(a.1.cmp(&b.1))
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.1.cmp(&b.1),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn controls(pairs: &[(&str, &str)]) -> Result<ResultControls, QueryError> {
        let mut c = ResultControls::default();
        for (name, raw) in pairs {
            assert!(c.take(name, raw)?);
        }
        c.check()?;
        Ok(c)
    }

    #[test]
    fn direction_defaults_to_descending() {
        let c = controls(&[("orderBy", "eventTime")]).unwrap();
        assert_eq!(c.order_by, Some(OrderKey::EventTime));
        assert_eq!(c.direction(), Direction::Descending);
        let c = controls(&[("orderBy", "recordTime"), ("orderDirection", "ASC")]).unwrap();
        assert_eq!(c.direction(), Direction::Ascending);
        let c = controls(&[("orderBy", "example:grade"), ("eventCountLimit", "2")]).unwrap();
        assert_eq!(
            c.order_by,
            Some(OrderKey::Field(FieldName::parse("example:grade").unwrap()))
        );
        assert!(controls(&[("orderBy", "https://ns.example.com/epcis/#grade")]).is_ok());
    }

    #[test]
    fn refusals_name_the_parameter() {
        let param = |pairs: &[(&str, &str)]| match controls(pairs).unwrap_err() {
            QueryError::Invalid { param, .. } => param,
            QueryError::Repeated(param) => param,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(param(&[("orderBy", "bizStep")]), "orderBy");
        assert_eq!(param(&[("orderBy", "example:")]), "orderBy");
        assert_eq!(
            param(&[("orderBy", "eventTime"), ("orderDirection", "asc")]),
            "orderDirection"
        );
        assert_eq!(
            param(&[("orderBy", "eventTime"), ("orderBy", "eventTime")]),
            "orderBy"
        );
        assert_eq!(
            param(&[("orderBy", "eventTime"), ("eventCountLimit", "0")]),
            "eventCountLimit"
        );
        assert_eq!(param(&[("maxEventCount", "-1")]), "maxEventCount");
        assert_eq!(param(&[("maxEventCount", "99999999999")]), "maxEventCount");
        assert_eq!(param(&[("eventCountLimit", "3")]), "eventCountLimit");
        assert_eq!(param(&[("orderDirection", "DESC")]), "orderDirection");
        assert_eq!(
            param(&[
                ("orderBy", "eventTime"),
                ("eventCountLimit", "3"),
                ("maxEventCount", "3")
            ]),
            "eventCountLimit"
        );
        assert!(controls(&[("maxEventCount", "0")]).is_ok());
    }

    #[test]
    fn extension_field_order_puts_keyless_events_last_and_keeps_ties_in_log_order() {
        let key = |v: serde_json::Value| SortKey::of(&v);
        // (key, leaf): numbers (also as strings), a tie, a time, a text, two without a key.
        let mut events = vec![
            (key(serde_json::json!("b")), 1),
            (None, 2),
            (key(serde_json::json!(2.5)), 3),
            (key(serde_json::json!("10")), 4),
            (key(serde_json::json!(2.5)), 5),
            (None, 6),
            (key(serde_json::json!("2026-01-01T00:00:00Z")), 7),
        ];
        let leaves = |events: &[(Option<SortKey>, i64)]| -> Vec<i64> {
            events.iter().map(|e| e.1).collect()
        };
        events.sort_by(|a, b| {
            field_order(
                (a.0.as_ref(), a.1),
                (b.0.as_ref(), b.1),
                Direction::Ascending,
            )
        });
        assert_eq!(leaves(&events), [3, 5, 4, 7, 1, 2, 6]);
        events.sort_by(|a, b| {
            field_order(
                (a.0.as_ref(), a.1),
                (b.0.as_ref(), b.1),
                Direction::Descending,
            )
        });
        assert_eq!(leaves(&events), [1, 7, 4, 3, 5, 2, 6]);
    }
}
