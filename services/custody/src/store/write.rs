//! Every custody write, in one transaction: it compares-and-sets the custody of what it touches
//! (so two writers racing on one product cannot both win), records new lots, claims and the
//! transformation, appends its events to the subjects' hash chains and to the global log, and
//! keeps the idempotent answer. A lost race is [`WriteError::Stale`]: the service reads again
//! and decides again.
//!
//! Each event's leaf covers the columns it is stored with (see [`log_leaf`]): its event and
//! record times are stored in whole microseconds, which both backends keep exactly.
//!
//! Writers serialise on the log head row (PostgreSQL) or the single writer connection
//! (SQLite): leaf indexes, which are also the custody feed's sequence, are handed out in commit
//! order with no gap. Bulk parts are multi-row statements, one round trip per chunk: a capture
//! of a 100-event document is a handful of statements, not hundreds.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::RngExt;
use reetrace_core::db::{Sql, StoreError, Tx};
use reetrace_core::domain::idempotency::StoredResponse;
use reetrace_core::merkle::{self, Frontier, Hash, NodeId};
use uuid::Uuid;

use super::SqlCustody;
use super::claims::{hold_claims, lock_claimed_lots};
use super::codec::{CHUNK, bag_text, json_text};
use super::lots::{LOT_COLUMNS, origin_text};
use super::transparency_log::{load_nodes, node_index, node_level};
use crate::domain::claim::ClaimRow;
use crate::domain::event::NewEvent;
use crate::domain::log_leaf::{self, Joined};
use crate::domain::lot::{LotChange, LotRow};
use crate::domain::reservation::ReservationCap;
use crate::domain::state::Custody;
use crate::domain::transformation::TransformationRow;

/// Events per multi-row insert (13 values each, far below either backend's bind limit).
const EVENT_CHUNK: usize = 500;
/// Rows per multi-row insert of narrow rows.
const ROW_CHUNK: usize = 2000;

/// Computes the idempotent answer to keep from what the write appended.
pub type Respond = Box<dyn FnOnce(&Written) -> StoredResponse + Send>;

/// Everything one write does, in one transaction.
#[derive(Default)]
pub struct Write {
    /// Products whose custody changes: (passport id, expected custody, new custody).
    pub products: Vec<(Uuid, Custody, Custody)>,
    pub new_lots: Vec<LotRow>,
    pub lots: Vec<LotChange>,
    pub claims: Vec<ClaimRow>,
    /// The cap the reservations among `claims` are held to.
    pub reservation_cap: Option<ReservationCap>,
    pub transformation: Option<TransformationRow>,
    pub events: Vec<NewEvent>,
    /// (organisation, key, answer): kept with the write.
    pub idempotent: Option<(Uuid, String, Respond)>,
}

/// What a write appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// (event id, leaf index) of each event, in order.
    pub leaves: Vec<(String, i64)>,
    /// The log's size after the write (-1 when it appended nothing).
    pub tree_size: i64,
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Something changed since it was read; read again and decide again.
    #[error("a concurrent write changed what this write read")]
    Stale,
    /// An event with this id is stored already.
    #[error("event {0} is stored already")]
    DuplicateEvent(String),
    /// The idempotency key (or the claim id) was used meanwhile.
    #[error("the idempotency key was used meanwhile")]
    DuplicateKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies writes.
#[async_trait]
pub trait WriteStore: Send + Sync {
    /// Applies a write atomically (see the module documentation).
    async fn write(&self, write: Write) -> Result<Written, WriteError>;
}

#[async_trait]
impl WriteStore for SqlCustody {
    async fn write(&self, write: Write) -> Result<Written, WriteError> {
        let now = reetrace_core::domain::account::now();
        let mut tx = self.db.begin().await?;
        set_products(&mut tx, write.products, now).await?;
        set_lots(&mut tx, write.lots, now).await?;
        insert_lots(&mut tx, &write.new_lots, now).await?;
        let claimed = lock_claimed_lots(&mut tx, &write.claims).await?;
        insert_claims(&mut tx, &write.claims).await?;
        let reservations = write.reservation_cap.map(|cap| (&write.claims[..], cap));
        hold_claims(&mut tx, claimed, reservations, now).await?;
        if let Some(t) = &write.transformation {
            insert_transformation(&mut tx, t, now).await?;
        }
        let written = if write.events.is_empty() {
            Written {
                leaves: Vec::new(),
                tree_size: -1,
            }
        } else {
            append(&mut tx, &write.events, now).await?
        };
        if let Some((org_id, key, respond)) = write.idempotent {
            keep(&mut tx, org_id, key, respond(&written), now).await?;
        }
        tx.commit()
            .await
            .map_err(|e| conflict_as(e, WriteError::Stale))?;
        Ok(written)
    }
}

/// A unique violation inside a write means what the statement says; a serialization failure
/// is a lost race.
fn conflict_as(err: StoreError, as_what: WriteError) -> WriteError {
    match err {
        StoreError::Conflict { .. } => as_what,
        StoreError::Serialization(_) => WriteError::Stale,
        other => WriteError::Store(other),
    }
}

/// Compares-and-sets every product, in id order (no deadlocks between writers touching the
/// same ones), one statement per chunk: a capture moves hundreds of products at once.
async fn set_products(
    tx: &mut Tx,
    mut products: Vec<(Uuid, Custody, Custody)>,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    products.sort_by_key(|(id, _, _)| *id);
    if products.windows(2).any(|w| w[0].0 == w[1].0) {
        // Two changes of one product in one write cannot both hold.
        return Err(WriteError::Stale);
    }
    let is = tx.dialect().null_safe_eq();
    for chunk in products.chunks(CHUNK) {
        let mut sql = Sql::new(
            "UPDATE custody_products SET state = v.column2, holder = v.column3, \
             pending_to = v.column4, updated_at = ",
        );
        sql.push_bind(now).push(" FROM (");
        sql.push_values(chunk, |row, (id, expect, set)| {
            row.bind(*id)
                .bind(set.state.as_str())
                .bind(set.holder)
                .bind(set.pending_to)
                .bind(expect.state.as_str())
                .bind(expect.holder)
                .bind(expect.pending_to);
        });
        sql.push(&format!(
            ") AS v WHERE custody_products.passport_id = v.column1 AND custody_products.state = v.column5 \
             AND custody_products.holder {is} v.column6 AND custody_products.pending_to {is} v.column7"
        ));
        let done = sql
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict_as(e, WriteError::Stale))?;
        if done != chunk.len() as u64 {
            return Err(WriteError::Stale);
        }
    }
    Ok(())
}

/// Compares-and-sets every lot (custody, what is left, what is claimed), in id order.
async fn set_lots(
    tx: &mut Tx,
    mut lots: Vec<LotChange>,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    lots.sort_by_key(|l| l.lot_id);
    let is = tx.dialect().null_safe_eq();
    let text = format!(
        "UPDATE custody_lots SET state = $2, holder = $3, pending_to = $4, remaining_ug = $5, \
         remaining = $6, claimed = $7, updated_at = $8 \
         WHERE lot_id = $1 AND state = $9 AND holder = $10 AND pending_to {is} $11 \
         AND remaining_ug = $12 AND claimed = $13"
    );
    for change in &lots {
        let holder = change.custody.holder.ok_or(WriteError::Stale)?;
        let done = Sql::new(text.clone())
            .bind(change.lot_id)
            .bind(change.custody.state.as_str())
            .bind(holder)
            .bind(change.custody.pending_to)
            .bind(change.remaining_ug)
            .bind(bag_text(&change.remaining))
            .bind(bag_text(&change.claimed))
            .bind(now)
            .bind(change.expect.state.as_str())
            .bind(change.expect.holder)
            .bind(change.expect.pending_to)
            .bind(change.expect_remaining_ug)
            .bind(bag_text(&change.expect_claimed))
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict_as(e, WriteError::Stale))?;
        if done != 1 {
            return Err(WriteError::Stale);
        }
    }
    Ok(())
}

/// Records the lots a transformation made.
async fn insert_lots(tx: &mut Tx, lots: &[LotRow], now: DateTime<Utc>) -> Result<(), WriteError> {
    for lot in lots {
        let holder = lot.custody.holder.ok_or(WriteError::Stale)?;
        Sql::new(format!(
            "INSERT INTO custody_lots ({LOT_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)"
        ))
        .bind(lot.lot_id)
        .bind(lot.epc.as_str())
        .bind(lot.gtin.as_ref().map(|g| g.as_str()))
        .bind(lot.lot_number.as_ref().map(|l| l.as_str()))
        .bind(lot.kind.as_str())
        .bind(lot.material.as_str())
        .bind(lot.mass_ug)
        .bind(lot.remaining_ug)
        .bind(bag_text(&lot.elements))
        .bind(bag_text(&lot.remaining))
        .bind(bag_text(&lot.claimed))
        .bind(origin_text(&lot.origin))
        .bind(lot.custody.state.as_str())
        .bind(holder)
        .bind(lot.custody.pending_to)
        .bind(lot.transformation_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_as(e, WriteError::Stale))?;
    }
    Ok(())
}

/// Records claims; a claim id used meanwhile is [`WriteError::DuplicateKey`].
async fn insert_claims(tx: &mut Tx, claims: &[ClaimRow]) -> Result<(), WriteError> {
    for claim in claims {
        Sql::new(
            "INSERT INTO custody_claims (claim_id, lot_id, passport_id, org_id, element, mass_ug, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(claim.claim_id)
        .bind(claim.lot_id)
        .bind(claim.passport_id)
        .bind(claim.org_id)
        .bind(claim.element.symbol())
        .bind(claim.mass_ug)
        .bind(claim.status.as_str())
        .bind(claim.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_as(e, WriteError::DuplicateKey))?;
    }
    Ok(())
}

async fn insert_transformation(
    tx: &mut Tx,
    t: &TransformationRow,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    Sql::new(
        "INSERT INTO custody_transformations (id, process, org_id, at, inputs, outputs, losses, event_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(t.id)
    .bind(t.process.as_str())
    .bind(t.org_id)
    .bind(t.at)
    .bind(json_text("transformation inputs", &t.inputs)?)
    .bind(json_text("transformation outputs", &t.outputs)?)
    .bind(json_text("transformation losses", &t.losses)?)
    .bind(t.event_id.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_as(e, WriteError::Stale))?;
    Ok(())
}

/// Keeps the idempotent answer; a key used meanwhile is [`WriteError::DuplicateKey`].
async fn keep(
    tx: &mut Tx,
    org_id: Uuid,
    key: String,
    response: StoredResponse,
    now: DateTime<Utc>,
) -> Result<(), WriteError> {
    Sql::new(
        "INSERT INTO custody_idempotency (org_id, key, fingerprint, status, content_type, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org_id)
    .bind(key)
    .bind(response.fingerprint.to_vec())
    .bind(i64::from(response.status))
    .bind(response.content_type)
    .bind(response.body)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_as(e, WriteError::DuplicateKey))?;
    Ok(())
}

/// Appends `events` to the log and to their subjects' chains.
async fn append(
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
             biz_location, event_time, org_id, document, data, leaf_hash, recorded_at, salt) ",
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
                .bind(salts[i].as_slice());
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
