//! Appending events to the custody log inside a write's transaction: each event joins its
//! subjects' hash chains and gets a salted covering leaf (see [`log_leaf`]); the leaves, the
//! chain links, the event index and the tree nodes they complete are written at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::RngExt;
use reetrace_core::db::{Sql, StoreError, Tx};
use reetrace_core::merkle::{self, Frontier, Hash, NodeId};
use uuid::Uuid;

use super::codec::CHUNK;
use super::transparency_log::{load_nodes, node_index, node_level};
use super::write::{WriteError, Written, conflict_as};
use crate::domain::event::NewEvent;
use crate::domain::log_leaf::{self, Joined};
use crate::epcis::hash::HashVersion;

/// Events per multi-row insert (14 values each, far below either backend's bind limit).
const EVENT_CHUNK: usize = 500;
/// Rows per multi-row insert of narrow rows.
const ROW_CHUNK: usize = 2000;

/// Appends `events` to the log and to their subjects' chains.
pub(super) async fn append(
    tx: &mut Tx,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Result<Written, WriteError> {
    let mut ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(WriteError::DuplicateEvent(pair[0].to_owned()));
    }
    // The head row is held until commit, so what follows sees every event committed before and
    // no other writer appends meanwhile.
    let size: i64 =
        Sql::new("UPDATE custody_log_head SET size = size + $1 WHERE id = 1 RETURNING size")
            .bind(events.len() as i64)
            .scalar(&mut *tx)
            .await?;
    refuse_stored_ids(tx, events).await?;
    let start = size - events.len() as i64;
    let start_u = u64::try_from(start).map_err(|_| StoreError::Corrupt("log size".into()))?;
    let known = load_nodes(&mut *tx, &Frontier::node_ids(start_u)).await?;
    let frontier = Frontier::load(start_u, &known)
        .map_err(|e| StoreError::Corrupt(format!("log frontier: {e}")))?;
    let tails = chain_tails(tx, events).await?;
    // Stored as the leaves cover it (whole microseconds).
    let now = log_leaf::stored_time(now);
    let leaves = Leaves::of(events, start, frontier, tails, now)?;
    insert_events(tx, events, start, &leaves.hashes, &leaves.salts, now).await?;
    insert_event_epcs(tx, &leaves.epcs).await?;
    insert_chain_links(tx, &leaves.links).await?;
    insert_nodes(tx, &leaves.nodes).await?;
    Ok(Written {
        leaves: events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.event_id.clone(), start + i as i64))
            .collect(),
        tree_size: size,
    })
}

/// Refuses event ids stored already (idempotent capture decides what to answer).
async fn refuse_stored_ids(tx: &mut Tx, events: &[NewEvent]) -> Result<(), WriteError> {
    for chunk in events.chunks(CHUNK) {
        let mut sql = Sql::new("SELECT event_id FROM custody_events WHERE event_id IN ");
        sql.push_list(chunk.iter().map(|e| e.event_id.as_str()));
        sql.push(" LIMIT 1");
        if let Some(id) = sql.scalar_optional::<String>(&mut *tx).await? {
            return Err(WriteError::DuplicateEvent(id));
        }
    }
    Ok(())
}

/// The last link of each chain the events join (subjects without one start at their genesis).
async fn chain_tails(
    tx: &mut Tx,
    events: &[NewEvent],
) -> Result<HashMap<Uuid, (i64, Vec<u8>)>, StoreError> {
    let mut subjects: Vec<Uuid> = events
        .iter()
        .flat_map(|e| e.subjects.iter().copied())
        .collect();
    subjects.sort_unstable();
    subjects.dedup();
    let mut tails = HashMap::with_capacity(subjects.len());
    for chunk in subjects.chunks(CHUNK) {
        let mut sql = Sql::new(
            "SELECT c.subject_id, c.seq, c.link FROM custody_chain c WHERE c.subject_id IN ",
        );
        sql.push_list(chunk.iter().copied());
        sql.push(
            " AND c.seq = (SELECT MAX(d.seq) FROM custody_chain d WHERE d.subject_id = c.subject_id)",
        );
        let rows: Vec<(Uuid, i64, Vec<u8>)> = sql.fetch_all(&mut *tx).await?;
        for (subject, seq, link) in rows {
            tails.insert(subject, (seq, link));
        }
    }
    Ok(tails)
}

/// What appending events computes before it writes: each event's chain links and leaf, and the
/// tree nodes the leaves complete.
struct Leaves<'e> {
    /// Leaf hashes, in event order.
    hashes: Vec<Vec<u8>>,
    /// Each event's salt, in event order.
    salts: Vec<[u8; log_leaf::SALT_BYTES]>,
    /// (leaf index, identifier, role) rows of the event index.
    epcs: Vec<(i64, &'e str, &'static str)>,
    /// (subject, seq, leaf index, link) rows of the chains.
    links: Vec<(Uuid, i64, i64, Vec<u8>)>,
    nodes: Vec<(NodeId, Hash)>,
}

impl<'e> Leaves<'e> {
    /// Chains each event onto its subjects' tails and appends its leaf to the tree of `start`
    /// leaves.
    fn of(
        events: &'e [NewEvent],
        start: i64,
        mut frontier: Frontier,
        mut tails: HashMap<Uuid, (i64, Vec<u8>)>,
        recorded_at: DateTime<Utc>,
    ) -> Result<Leaves<'e>, StoreError> {
        let mut out = Leaves {
            hashes: Vec::with_capacity(events.len()),
            salts: Vec::with_capacity(events.len()),
            epcs: Vec::new(),
            links: Vec::new(),
            nodes: Vec::with_capacity(events.len() * 2),
        };
        for (i, event) in events.iter().enumerate() {
            let leaf_index = start + i as i64;
            let digest = log_leaf::event_digest(&event.document);
            let mut joined = Vec::with_capacity(event.subjects.len());
            for subject in &event.subjects {
                let (seq, previous) = tails
                    .get(subject)
                    .cloned()
                    .unwrap_or_else(|| (0, log_leaf::genesis(*subject).to_vec()));
                let link = log_leaf::next_link(&previous, &digest);
                joined.push(Joined {
                    subject: *subject,
                    seq: seq + 1,
                    link,
                });
                tails.insert(*subject, (seq + 1, link.to_vec()));
                out.links
                    .push((*subject, seq + 1, leaf_index, link.to_vec()));
            }
            // A fresh random salt, so that the leaf served to a key not involved in the event
            // cannot be matched against guessed event content.
            let salt: [u8; log_leaf::SALT_BYTES] = rand::rng().random();
            let record = log_leaf::record_digest(&record_of(event, recorded_at, &salt));
            out.salts.push(salt);
            let leaf_hash = merkle::leaf_hash(&log_leaf::covering_leaf_data(
                &event.event_id,
                &digest,
                &record,
                &joined,
            ));
            let nodes = frontier
                .append(leaf_hash)
                .map_err(|e| StoreError::Corrupt(format!("log append: {e}")))?;
            out.nodes.extend(nodes);
            out.hashes.push(leaf_hash.to_vec());
            let mut unique: Vec<(&str, &'static str)> = event
                .epcs
                .iter()
                .map(|(epc, role)| (epc.as_str(), *role))
                .collect();
            unique.sort_unstable();
            unique.dedup();
            out.epcs.extend(
                unique
                    .into_iter()
                    .map(|(epc, role)| (leaf_index, epc, role)),
            );
        }
        Ok(out)
    }
}

/// The columns of `event` as they are stored, which its leaf covers.
fn record_of<'a>(
    event: &'a NewEvent,
    recorded_at: DateTime<Utc>,
    salt: &'a [u8],
) -> log_leaf::EventRecord<'a> {
    log_leaf::EventRecord {
        event_hash: &event.event_hash,
        event_type: &event.event_type,
        action: &event.action,
        biz_step: event.biz_step.as_deref(),
        biz_location: event.biz_location.as_deref(),
        event_time: log_leaf::stored_time(event.event_time),
        recorder: event.org_id,
        data: &event.data,
        recorded_at,
        salt: Some(salt),
    }
}

/// The events, a multi-row insert per chunk; an id stored meanwhile is
/// [`WriteError::DuplicateEvent`].
async fn insert_events(
    tx: &mut Tx,
    events: &[NewEvent],
    start: i64,
    leaf_hashes: &[Vec<u8>],
    salts: &[[u8; log_leaf::SALT_BYTES]],
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    for (chunk_no, chunk) in events.chunks(EVENT_CHUNK).enumerate() {
        let first = chunk_no * EVENT_CHUNK;
        let mut sql = Sql::new(
            "INSERT INTO custody_events (leaf_index, event_id, event_hash, event_type, action, biz_step, \
             biz_location, event_time, org_id, document, data, leaf_hash, recorded_at, salt, \
             hash_version) ",
        );
        sql.push_values(chunk.iter().enumerate(), |row, (j, event)| {
            let i = first + j;
            row.bind(start + i as i64)
                .bind(event.event_id.as_str())
                .bind(event.event_hash.as_str())
                .bind(event.event_type.as_str())
                .bind(event.action.as_str())
                .bind(event.biz_step.as_deref())
                .bind(event.biz_location.as_deref())
                .bind(log_leaf::stored_time(event.event_time))
                .bind(event.org_id)
                .bind(event.document.as_str())
                .bind(event.data.as_str())
                .bind(leaf_hashes[i].as_slice())
                .bind(now)
                .bind(salts[i].as_slice())
                // Every event is hashed with the current version when it is stored.
                .bind(HashVersion::CURRENT.number());
        });
        let first_id = chunk
            .first()
            .map(|e| e.event_id.clone())
            .unwrap_or_default();
        sql.execute(&mut *tx)
            .await
            .map_err(|e| conflict_as(e, WriteError::DuplicateEvent(first_id)))?;
    }
    Ok(())
}

/// The identifiers each event names, for EPCIS queries.
async fn insert_event_epcs(
    tx: &mut Tx,
    rows: &[(i64, &str, &'static str)],
) -> Result<(), WriteError> {
    for chunk in rows.chunks(ROW_CHUNK) {
        let mut sql = Sql::new("INSERT INTO custody_event_epcs (leaf_index, epc, role) ");
        sql.push_values(chunk, |row, (leaf_index, epc, role)| {
            row.bind(*leaf_index).bind(*epc).bind(*role);
        });
        sql.execute(&mut *tx).await?;
    }
    Ok(())
}

/// The new links of the chains; a link taken meanwhile is a lost race.
async fn insert_chain_links(
    tx: &mut Tx,
    rows: &[(Uuid, i64, i64, Vec<u8>)],
) -> Result<(), WriteError> {
    for chunk in rows.chunks(ROW_CHUNK) {
        let mut sql = Sql::new("INSERT INTO custody_chain (subject_id, seq, leaf_index, link) ");
        sql.push_values(chunk, |row, (subject, seq, leaf_index, link)| {
            row.bind(*subject)
                .bind(*seq)
                .bind(*leaf_index)
                .bind(link.as_slice());
        });
        sql.execute(&mut *tx)
            .await
            .map_err(|e| conflict_as(e, WriteError::Stale))?;
    }
    Ok(())
}

/// The tree nodes the new leaves completed.
async fn insert_nodes(tx: &mut Tx, nodes: &[(NodeId, Hash)]) -> Result<(), WriteError> {
    for chunk in nodes.chunks(CHUNK) {
        let mut rows = Vec::with_capacity(chunk.len());
        for (id, hash) in chunk {
            rows.push((node_level(id), node_index(id)?, hash.as_slice()));
        }
        let mut sql = Sql::new("INSERT INTO custody_log_nodes (level, idx, hash) ");
        sql.push_values(rows, |row, (level, idx, hash)| {
            row.bind(level).bind(idx).bind(hash);
        });
        sql.execute(&mut *tx).await?;
    }
    Ok(())
}
