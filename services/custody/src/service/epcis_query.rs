//! Reading the EPCIS repository: `GET /api/v1/epcis/events` (an EPCIS simple event query, one
//! page at a time) and `GET /api/v1/epcis/events/{eventID}`. Authorities and admins read every
//! event; anyone else the events it is involved in.
//!
//! The store filters in SQL first ([`event_filter`]: a superset of the matches, on indexed
//! columns), then [`EventQuery::matches`] decides exactly on each stored event. Pages follow
//! the log order, or the binding's `orderBy`/`orderDirection`. The cursor (`nextPageToken`)
//! of `/api/v1/epcis/events` is the leaf index of the last event of a page; the binding's
//! ([`cursor`]) is bound to its query and order. An order by an extension field is
//! [`by_field`]'s.

use chrono::{SecondsFormat, Utc};
use reetrace_core::domain::{Lgtin, Principal, Role, Sgtin};
use serde_json::Value;

use super::CustodyService;
use crate::domain::CustodyError;
use crate::domain::capture::declaration_id;
use crate::domain::event::{EventFilter, EventRow, EventValue, ScanKey, ScanOrder, ScanPosition};
use crate::epcis::query::{IdMatch, biz_step_key};
use crate::epcis::query_order::{Direction, OrderKey};
use crate::epcis::{EventQuery, query_document};

mod by_field;
mod cursor;

/// The most stored events one request reads: a page that finds fewer matches within them
/// ends early, with a cursor to go on from.
pub const SCAN_LIMIT: usize = 10_000;

/// The most stored events `maxEventCount` reads to count a result.
pub const COUNT_LIMIT: usize = 100_000;

/// One page of a query.
#[derive(Debug, Clone)]
pub struct EventsPage {
    /// The `EPCISQueryDocument` holding the page's events.
    pub document: Value,
    /// The cursor of the next page, when there may be one.
    pub next_page_token: Option<String>,
}

/// The SQL pre-filter of `query`: it keeps every event the query matches (and may keep more;
/// [`EventQuery::matches`] decides). A filter that SQL cannot express (an EPC pattern, the
/// EPCIS `action`, which no column holds) is left to the exact check.
pub fn event_filter(query: &EventQuery) -> EventFilter {
    EventFilter {
        biz_steps: query.biz_steps.iter().map(|s| biz_step_key(s)).collect(),
        actions: Vec::new(),
        biz_locations: query.biz_locations.clone(),
        any_epc: identifiers(&query.any_epc),
        epc_class: identifiers(&query.epc_class),
        time_from: query.event_time_from.map(|t| t.with_timezone(&Utc)),
        time_before: query.event_time_until.map(|t| t.with_timezone(&Utc)),
        involving: None,
    }
}

/// Every form the event index may hold an identifier in: the canonical one, and our products'
/// and lots' own spelling of a GS1 key.
fn identifiers(matches: &[IdMatch]) -> Vec<String> {
    if matches.iter().any(|m| m.pattern) {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(matches.len());
    for m in matches {
        out.push(m.canonical.clone());
        if let Ok(sgtin) = Sgtin::parse(&m.given) {
            out.push(sgtin.to_uri());
        }
        if let Ok(lgtin) = Lgtin::parse(&m.given) {
            out.push(lgtin.to_uri());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A stored event as queries show it: as captured, with the time the repository recorded it.
fn presented(row: &EventRow) -> Result<Value, CustodyError> {
    let mut event: Value = serde_json::from_str(&row.document).map_err(|e| {
        CustodyError::internal(
            "stored event is not JSON",
            format_args!("leaf {}: {e}", row.leaf_index),
        )
    })?;
    if let Some(fields) = event.as_object_mut() {
        fields.insert(
            "recordTime".into(),
            Value::String(row.recorded_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
    }
    Ok(event)
}

/// Whether `caller` reads only the events it is involved in: everyone but the authorities
/// (regulators) and admins. The recorder, the product's manufacturer and the holders along a
/// product's or lot's chain are involved.
fn reads_involved_only(caller: &Principal) -> bool {
    !matches!(caller.role, Role::Regulator | Role::Admin)
}

fn page_token(token: &str) -> Result<i64, CustodyError> {
    match token.parse::<i64>() {
        Ok(leaf) if leaf >= 0 => Ok(leaf),
        _ => Err(CustodyError::InvalidPageToken),
    }
}

/// The order `query` asks for: `orderBy` and `orderDirection`, the log order without them.
fn scan_order(query: &EventQuery) -> ScanOrder {
    let controls = &query.binding.controls;
    let key = match controls.order_by {
        // An extension field is ordered in memory ([`by_field`]) after a scan in log order.
        None | Some(OrderKey::Field(_)) => return ScanOrder::LOG,
        Some(OrderKey::EventTime) => ScanKey::EventTime,
        Some(OrderKey::RecordTime) => ScanKey::RecordTime,
    };
    ScanOrder {
        key,
        descending: controls.direction() == Direction::Descending,
    }
}

/// Where the page `query` asks for starts, and how many events earlier pages returned.
fn start(
    query: &EventQuery,
    order: ScanOrder,
) -> Result<(Option<ScanPosition>, u64), CustodyError> {
    match &query.next_page_token {
        None => Ok((None, 0)),
        Some(token) if query.bound_cursor => {
            let (position, returned) = cursor::read(token, query, order)?;
            Ok((Some(position), returned))
        }
        Some(token) => Ok((
            Some(ScanPosition {
                at: None,
                leaf: page_token(token)?,
            }),
            0,
        )),
    }
}

impl CustodyService {
    /// One page of the events `query` matches that `caller` may read, in the order it asks
    /// for (the log order by default).
    pub async fn query_events(
        &self,
        caller: &Principal,
        query: &EventQuery,
    ) -> Result<EventsPage, CustodyError> {
        let order = scan_order(query);
        let filter = EventFilter {
            involving: reads_involved_only(caller).then_some(caller.org_id),
            ..event_filter(query)
        };
        if query.next_page_token.is_none()
            && let Some(max) = query.binding.controls.max_event_count
        {
            self.at_most(query, &filter, order, max).await?;
        }
        if let Some(OrderKey::Field(_)) = query.binding.controls.order_by {
            let limit = query.binding.controls.event_count_limit;
            let per_page = usize::try_from(query.per_page).unwrap_or(usize::MAX);
            return self
                .page_by_field(query, &filter, per_page, limit.map_or(u64::MAX, u64::from))
                .await;
        }
        let (mut after, returned) = start(query, order)?;
        let left = query
            .binding
            .controls
            .event_count_limit
            .map_or(u64::MAX, |limit| u64::from(limit).saturating_sub(returned));
        let per_page = usize::try_from(u64::from(query.per_page).min(left)).unwrap_or(0);
        let batch = u32::try_from((per_page + 1).max(100)).unwrap_or(u32::MAX);
        let mut events = Vec::with_capacity(per_page);
        let mut last_on_page = None;
        let mut next = None;
        let mut scanned = 0;
        'scan: loop {
            if per_page == 0 {
                // eventCountLimit is reached already.
                break;
            }
            let rows = self.store.query(&filter, order, after, batch).await?;
            let exhausted = rows.len() < batch as usize;
            for row in &rows {
                scanned += 1;
                after = Some(order.position(row));
                let event = presented(row)?;
                if !query.matches(&event) {
                    continue;
                }
                if events.len() == per_page {
                    // Another match: the page is full and has a next one.
                    next = last_on_page;
                    break 'scan;
                }
                last_on_page = after;
                events.push(event);
            }
            if exhausted {
                break;
            }
            if scanned >= SCAN_LIMIT {
                next = after;
                break;
            }
        }
        let shown = events.len() as u64;
        let next_page_token = match next {
            // eventCountLimit is reached: no page after this one.
            _ if left <= shown => None,
            None => None,
            Some(position) if query.bound_cursor => {
                Some(cursor::write(position, returned + shown, query, order))
            }
            Some(position) => Some(position.leaf.to_string()),
        };
        Ok(EventsPage {
            document: query_document(events, reetrace_core::domain::account::now()),
            next_page_token,
        })
    }

    /// `maxEventCount` (EPCIS 2.0 §8.2.7.1): more than `max` matches is a
    /// `QueryTooLargeException`, as is a result too large to count within [`COUNT_LIMIT`]
    /// stored events.
    async fn at_most(
        &self,
        query: &EventQuery,
        filter: &EventFilter,
        order: ScanOrder,
        max: u32,
    ) -> Result<(), CustodyError> {
        const BATCH: u32 = 1000;
        let mut after = None;
        let mut matched: u64 = 0;
        let mut scanned = 0;
        loop {
            let rows = self.store.query(filter, order, after, BATCH).await?;
            for row in &rows {
                scanned += 1;
                after = Some(order.position(row));
                if query.matches(&presented(row)?) {
                    matched += 1;
                    if matched > u64::from(max) {
                        return Err(CustodyError::QueryTooLarge { max, counted: true });
                    }
                }
            }
            if rows.len() < BATCH as usize {
                return Ok(());
            }
            if scanned >= COUNT_LIMIT {
                return Err(CustodyError::QueryTooLarge {
                    max,
                    counted: false,
                });
            }
        }
    }

    /// One page of the distinct values of `kind` in the events `caller` may read (the
    /// visibility of [`Self::query_events`]), and the token of the next page if there may be
    /// one.
    pub async fn event_values(
        &self,
        caller: &Principal,
        kind: EventValue,
        per_page: u32,
        token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), CustodyError> {
        let after = token.map(|t| cursor::read_value(kind, t)).transpose()?;
        let involving = reads_involved_only(caller).then_some(caller.org_id);
        let mut values = self
            .store
            .values(
                kind,
                involving,
                after.as_deref(),
                per_page.saturating_add(1),
            )
            .await?;
        let next = if values.len() > per_page as usize {
            values.truncate(per_page as usize);
            values.last().map(|v| cursor::write_value(kind, v))
        } else {
            None
        };
        Ok((values, next))
    }

    /// A stored event by its `eventID`, and the id of its error declaration if it has one;
    /// to a caller not involved in it, as if there were none.
    pub async fn epcis_event(
        &self,
        caller: &Principal,
        event_id: &str,
    ) -> Result<(Value, Option<String>), CustodyError> {
        let declaration = declaration_id(event_id);
        let rows = self
            .store
            .events_by_id(&[event_id.to_owned(), declaration.clone()])
            .await?;
        let row = rows
            .iter()
            .find(|r| r.event_id == event_id)
            .ok_or_else(|| CustodyError::NoEvent(event_id.to_owned()))?;
        if reads_involved_only(caller)
            && !self.store.involves(row.leaf_index, caller.org_id).await?
        {
            return Err(CustodyError::NoEvent(event_id.to_owned()));
        }
        let declared = rows.iter().any(|r| r.event_id == declaration);
        Ok((presented(row)?, declared.then_some(declaration)))
    }
}
