//! A query ordered by an extension field (`orderBy=example:grade`): no column holds the
//! field, so every match is read in log order (at most [`COUNT_LIMIT`] stored events, else a
//! `QueryTooLargeException`), its key kept with its log position, and the keys sorted
//! ([`field_order`]). A page is the events after the cursor's `(key, leaf)` in that total
//! order, so pages neither skip nor repeat an event, whatever is recorded between them: an
//! event recorded later falls in its place, before or after the cursor.

use std::collections::HashMap;

use super::{COUNT_LIMIT, EventsPage, cursor, presented};
use crate::domain::CustodyError;
use crate::domain::event::{EventFilter, ScanOrder};
use crate::epcis::query_fields::SortKey;
use crate::epcis::query_order::field_order;
use crate::epcis::{EventQuery, query_document};
use crate::service::CustodyService;

/// One match: its key, log position and event id.
struct Entry {
    key: Option<SortKey>,
    leaf: i64,
    event_id: String,
}

impl CustodyService {
    /// One page of `query` ordered by its extension field: at most `per_page` events, and no
    /// next page once `left` (what `eventCountLimit` leaves) are shown.
    pub(super) async fn page_by_field(
        &self,
        query: &EventQuery,
        filter: &EventFilter,
        per_page: usize,
        left: u64,
    ) -> Result<EventsPage, CustodyError> {
        let direction = query.binding.controls.direction();
        let (after, returned) = match &query.next_page_token {
            None => (None, 0),
            Some(token) => {
                let (key, leaf, returned) = cursor::read_field(token, query)?;
                (Some((key, leaf)), returned)
            }
        };
        let mut entries = self.keyed_matches(query, filter).await?;
        entries.sort_by(|a, b| {
            field_order(
                (a.key.as_ref(), a.leaf),
                (b.key.as_ref(), b.leaf),
                direction,
            )
        });
        let start = after.map_or(0, |(key, leaf)| {
            entries.partition_point(|e| {
                field_order((e.key.as_ref(), e.leaf), (key.as_ref(), leaf), direction).is_le()
            })
        });
        let left = usize::try_from(left.saturating_sub(returned)).unwrap_or(usize::MAX);
        let take = per_page.min(left);
        let page = &entries[start..(start + take).min(entries.len())];
        let ids: Vec<String> = page.iter().map(|e| e.event_id.clone()).collect();
        let rows = self.store.events_by_id(&ids).await?;
        let by_leaf: HashMap<i64, _> = rows.iter().map(|r| (r.leaf_index, r)).collect();
        let mut events = Vec::with_capacity(page.len());
        for entry in page {
            let row = by_leaf.get(&entry.leaf).ok_or_else(|| {
                CustodyError::internal(
                    "an ordered event vanished",
                    format_args!("leaf {}", entry.leaf),
                )
            })?;
            events.push(presented(row)?);
        }
        let shown = page.len();
        let more = start + shown < entries.len() && shown < left;
        let next_page_token = match page.last() {
            Some(last) if more => Some(cursor::write_field(
                last.key.as_ref(),
                last.leaf,
                returned + shown as u64,
                query,
            )),
            _ => None,
        };
        Ok(EventsPage {
            document: query_document(events, reetrace_core::domain::account::now()),
            next_page_token,
        })
    }

    /// Every event `query` matches within `filter`, with its key.
    async fn keyed_matches(
        &self,
        query: &EventQuery,
        filter: &EventFilter,
    ) -> Result<Vec<Entry>, CustodyError> {
        const BATCH: u32 = 1000;
        let mut after = None;
        let mut scanned = 0;
        let mut entries = Vec::new();
        loop {
            let rows = self
                .store
                .query(filter, ScanOrder::LOG, after, BATCH)
                .await?;
            for row in &rows {
                scanned += 1;
                after = Some(ScanOrder::LOG.position(row));
                let event = presented(row)?;
                if query.matches(&event) {
                    entries.push(Entry {
                        key: query.field_key(&event),
                        leaf: row.leaf_index,
                        event_id: row.event_id.clone(),
                    });
                }
            }
            if rows.len() < BATCH as usize {
                return Ok(entries);
            }
            if scanned >= COUNT_LIMIT {
                return Err(CustodyError::TooManyToOrder { limit: COUNT_LIMIT });
            }
        }
    }
}
