//! Reading the EPCIS repository: `GET /api/v1/epcis/events` (an EPCIS simple event query, one
//! page at a time) and `GET /api/v1/epcis/events/{eventID}`. Authorities and admins read every
//! event; anyone else the events it is involved in.
//!
//! The store filters in SQL first ([`event_filter`]: a superset of the matches, on indexed
//! columns), then [`EventQuery::matches`] decides exactly on each stored event. Pages follow
//! the log order; the cursor (`nextPageToken`) is the leaf index of the last event of a page.

use chrono::{SecondsFormat, Utc};
use reetrace_core::domain::{Lgtin, Principal, Role, Sgtin};
use serde_json::Value;

use super::CustodyService;
use crate::domain::CustodyError;
use crate::domain::capture::declaration_id;
use crate::domain::event::{EventFilter, EventRow};
use crate::epcis::query::{IdMatch, biz_step_key};
use crate::epcis::{EventQuery, query_document};

/// The most stored events one request reads: a page that finds fewer matches within them
/// ends early, with a cursor to go on from.
pub const SCAN_LIMIT: usize = 10_000;

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

impl CustodyService {
    /// One page of the events `query` matches that `caller` may read, in log order.
    pub async fn query_events(
        &self,
        caller: &Principal,
        query: &EventQuery,
    ) -> Result<EventsPage, CustodyError> {
        let mut after = match &query.next_page_token {
            Some(token) => page_token(token)?,
            None => -1,
        };
        let filter = EventFilter {
            involving: reads_involved_only(caller).then_some(caller.org_id),
            ..event_filter(query)
        };
        let per_page = query.per_page as usize;
        let batch = u32::try_from((per_page + 1).max(100)).unwrap_or(u32::MAX);
        let mut events = Vec::with_capacity(per_page);
        let mut last_on_page = None;
        let mut next = None;
        let mut scanned = 0;
        'scan: loop {
            let rows = self.store.query(&filter, after, batch).await?;
            let exhausted = rows.len() < batch as usize;
            for row in &rows {
                scanned += 1;
                after = row.leaf_index;
                let event = presented(row)?;
                if !query.matches(&event) {
                    continue;
                }
                if events.len() == per_page {
                    // Another match: the page is full and has a next one.
                    next = last_on_page;
                    break 'scan;
                }
                last_on_page = Some(row.leaf_index);
                events.push(event);
            }
            if exhausted {
                break;
            }
            if scanned >= SCAN_LIMIT {
                next = Some(after);
                break;
            }
        }
        Ok(EventsPage {
            document: query_document(events, reetrace_core::domain::account::now()),
            next_page_token: next.map(|leaf: i64| leaf.to_string()),
        })
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
