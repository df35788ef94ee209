//! Keeping the projection: a batch of passport, custody or deposits feed events, already read into
//! changes (`crate::feed`), is applied in one transaction of the store: the inbox of event
//! ids (an id seen before, or twice in the batch, counts once), the passports, the cells and
//! the cursor commit together, so a replay changes nothing and a restart loses nothing.
//!
//! A custody step on a product whose passport is not known yet waits (is parked) until the
//! passport arrives; the passport batch that brings it attributes the step. The rules (what a
//! passport or a step adds to the cells) are in `domain::passport` and `domain::custody`; the
//! statements in `store::projection`.
//!
//! These fail only when the store does, so they answer [`StoreError`], as core's feed
//! consumer expects of a projection (not [`StockError`](super::StockError)).

use std::collections::{BTreeSet, HashSet};

use reetrace_core::db::{StoreError, Tx};
use uuid::Uuid;

use crate::domain::custody::CustodyChange;
use crate::domain::deposits::DepositChange;
use crate::domain::flow::Deltas;
use crate::domain::passport::{self, PassportChange, PassportRecord};
use crate::store::{ProjectionStore, StockStore};

/// Opens the projection transaction of a batch of `(event id, sequence, change)` and puts its
/// ids in the inbox: the batch's last sequence, the transaction, and the changes of the events
/// not seen before (an id repeated within the batch counts once). `None` for an empty batch.
async fn begin_batch<'a, T>(
    store: &dyn ProjectionStore,
    events: &'a [(String, i64, T)],
) -> Result<Option<(i64, Tx, Vec<&'a T>)>, StoreError> {
    let Some(last) = events.last().map(|(_, seq, _)| *seq) else {
        return Ok(None);
    };
    let mut tx = store.begin_projection().await?;
    let ids: Vec<&str> = events.iter().map(|(id, ..)| id.as_str()).collect();
    let mut fresh = store.claim_events(&mut tx, &ids).await?;
    let changes = events
        .iter()
        .filter(|(id, ..)| fresh.remove(id))
        .map(|(_, _, change)| change)
        .collect();
    Ok(Some((last, tx, changes)))
}

/// Applies passport feed events `(event id, sequence, change)` of `stream`; also attributes
/// the custody steps that waited for these passports.
pub async fn apply_passports(
    store: &dyn ProjectionStore,
    stream: &str,
    events: &[(String, i64, PassportChange)],
) -> Result<(), StoreError> {
    let Some((last, mut tx, changes)) = begin_batch(store, events).await? else {
        return Ok(());
    };
    let passport_ids: Vec<Uuid> = changes
        .iter()
        .filter_map(|c| c.passport_id())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut records = store.passports_of(&mut tx, &passport_ids).await?;
    let known: HashSet<Uuid> = records.keys().copied().collect();
    let mut changed = BTreeSet::new();
    let mut deltas = Deltas::new();
    for change in changes {
        let Some(id) = change.passport_id() else {
            continue;
        };
        if let Some(record) = passport::apply(records.get(&id), change, &mut deltas) {
            records.insert(id, record);
            changed.insert(id);
        }
    }
    let first_seen: Vec<Uuid> = changed
        .iter()
        .filter(|id| !known.contains(id))
        .copied()
        .collect();
    for step in store.take_parked(&mut tx, &first_seen).await? {
        if let Some(record) = records.get(&step.passport_id) {
            step.attribute(record.facts.category, record.facts.country, &mut deltas);
        }
    }
    let to_save: Vec<&PassportRecord> = changed.iter().filter_map(|id| records.get(id)).collect();
    store.save_passports(&mut tx, &to_save).await?;
    store.add_deltas(&mut tx, &deltas).await?;
    store.move_cursor(&mut tx, stream, last).await?;
    tx.commit().await
}

/// Applies custody feed events `(event id, sequence, change)` of `stream`; a product step whose
/// passport is not known yet waits for it.
pub async fn apply_custody(
    store: &dyn ProjectionStore,
    stream: &str,
    events: &[(String, i64, CustodyChange)],
) -> Result<(), StoreError> {
    let Some(last) = events.last().map(|(_, seq, _)| *seq) else {
        return Ok(());
    };
    let mut tx = store.begin_projection().await?;
    let ids: Vec<&str> = events.iter().map(|(id, ..)| id.as_str()).collect();
    let mut fresh = store.claim_events(&mut tx, &ids).await?;
    let changes: Vec<(&str, &CustodyChange)> = events
        .iter()
        .filter(|(id, ..)| fresh.remove(id))
        .flat_map(|(id, _, change)| change.parts().map(move |part| (id.as_str(), part)))
        .collect();
    let passport_ids: Vec<Uuid> = changes
        .iter()
        .filter_map(|(_, c)| match c {
            CustodyChange::Product(step) => Some(step.passport_id),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let records = store.passports_of(&mut tx, &passport_ids).await?;
    let mut deltas = Deltas::new();
    let mut waiting = Vec::new();
    for (event_id, change) in changes {
        match change {
            CustodyChange::Product(step) => match records.get(&step.passport_id) {
                Some(r) => step.attribute(r.facts.category, r.facts.country, &mut deltas),
                None => waiting.push((event_id, step)),
            },
            CustodyChange::Cells(cells) => deltas.extend(cells),
            CustodyChange::Several(_) | CustodyChange::Ignore => {}
        }
    }
    store.park(&mut tx, &waiting).await?;
    store.add_deltas(&mut tx, &deltas).await?;
    store.move_cursor(&mut tx, stream, last).await?;
    tx.commit().await
}

/// Applies deposits feed events `(event id, sequence, change)` of `stream`: the newest version
/// of each deposit, and withdrawals.
pub async fn apply_deposits(
    store: &dyn StockStore,
    stream: &str,
    events: &[(String, i64, DepositChange)],
) -> Result<(), StoreError> {
    let Some((last, mut tx, changes)) = begin_batch(store, events).await? else {
        return Ok(());
    };
    store.save_deposits(&mut tx, &changes).await?;
    store.move_cursor(&mut tx, stream, last).await?;
    tx.commit().await
}
