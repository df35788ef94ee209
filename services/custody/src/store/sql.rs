//! The custody stores on SQLite and PostgreSQL.
//!
//! The SQL is the same text on both backends except for the null-safe comparison (`IS` on
//! SQLite, `IS NOT DISTINCT FROM` on PostgreSQL), so one macro writes both native
//! implementations. Writers serialise on the log head row (PostgreSQL) or the single writer
//! connection (SQLite): leaf indexes, which are also the custody feed's sequence, are handed out
//! in commit order with no gap.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use reetrace_core::db::{SqliteDb, StoreError};
use reetrace_core::domain::idempotency::{StoredResponse, fingerprint_from_bytes};
use reetrace_core::merkle::{self, Frontier, Hash, NodeId};
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, QueryBuilder};
use uuid::Uuid;

use super::{
    ChainLink, ClaimRow, CustodyStore, EventFilter, EventRow, LotRow, PassportChange, ProductRow,
    Write, WriteError, Written,
};
use crate::domain::balance::Bag;
use crate::domain::log::{self, Joined};
use crate::domain::state::{Custody, State};

/// Custody on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteCustody {
    db: SqliteDb,
}

impl SqliteCustody {
    pub fn new(db: SqliteDb) -> Self {
        Self { db }
    }
    fn as_db(&self) -> reetrace_core::db::Db {
        reetrace_core::db::Db::Sqlite(self.db.clone())
    }
    fn write_pool(&self) -> &sqlx::SqlitePool {
        &self.db.write
    }
    fn read(&self) -> &sqlx::SqlitePool {
        &self.db.read
    }
}

/// Custody on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgCustody {
    pool: PgPool,
}

impl PgCustody {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
    fn as_db(&self) -> reetrace_core::db::Db {
        reetrace_core::db::Db::Postgres(self.pool.clone())
    }
    fn write_pool(&self) -> &PgPool {
        &self.pool
    }
    fn read(&self) -> &PgPool {
        &self.pool
    }
}

const CHUNK: usize = 500;
/// Events per multi-row insert (13 values each, far below either backend's bind limit).
const EVENT_CHUNK: usize = 500;
/// Rows per multi-row insert of narrow rows.
const ROW_CHUNK: usize = 2000;

const PRODUCT_COLUMNS: &str = "passport_id, org_id, version, passport_status, granularity, gtin, serial, lot, units, \
     name, category, country, placed_on_market, net_mass_ug, epc, elements, state, holder, pending_to, updated_at";
const LOT_COLUMNS: &str = "lot_id, epc, gtin, lot_number, kind, material, mass_ug, remaining_ug, elements, remaining, \
     claimed, origin, state, holder, pending_to, transformation_id, created_at, updated_at";
const EVENT_COLUMNS: &str = "leaf_index, event_id, event_hash, event_type, action, org_id, event_time, document, data, \
     leaf_hash, recorded_at";

#[derive(sqlx::FromRow)]
struct ProductDb {
    passport_id: Uuid,
    org_id: Uuid,
    version: i64,
    passport_status: String,
    granularity: String,
    gtin: Option<String>,
    serial: Option<String>,
    lot: Option<String>,
    units: i64,
    name: String,
    category: String,
    country: String,
    placed_on_market: NaiveDate,
    net_mass_ug: i64,
    epc: String,
    elements: String,
    state: String,
    holder: Option<Uuid>,
    pending_to: Option<Uuid>,
    updated_at: DateTime<Utc>,
}

fn bag(text: &str) -> Result<Bag, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("element masses: {e}")))
}

fn bag_text(bag: &Bag) -> String {
    serde_json::to_string(bag).unwrap_or_else(|_| "{}".to_owned())
}

fn custody(
    state: &str,
    holder: Option<Uuid>,
    pending_to: Option<Uuid>,
) -> Result<Custody, StoreError> {
    Ok(Custody {
        state: State::parse(state)
            .ok_or_else(|| StoreError::Corrupt(format!("custody state {state:?}")))?,
        holder,
        pending_to,
    })
}

impl TryFrom<ProductDb> for ProductRow {
    type Error = StoreError;
    fn try_from(r: ProductDb) -> Result<Self, StoreError> {
        Ok(ProductRow {
            passport_id: r.passport_id,
            org_id: r.org_id,
            version: u32::try_from(r.version).map_err(|_| StoreError::Corrupt("version".into()))?,
            passport_status: r.passport_status,
            granularity: r.granularity,
            gtin: r.gtin,
            serial: r.serial,
            lot: r.lot,
            units: u64::try_from(r.units).map_err(|_| StoreError::Corrupt("units".into()))?,
            name: r.name,
            category: r.category,
            country: r.country,
            placed_on_market: r.placed_on_market,
            net_mass_ug: r.net_mass_ug,
            epc: r.epc,
            elements: bag(&r.elements)?,
            custody: custody(&r.state, r.holder, r.pending_to)?,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LotDb {
    lot_id: Uuid,
    epc: String,
    gtin: Option<String>,
    lot_number: Option<String>,
    kind: String,
    material: String,
    mass_ug: i64,
    remaining_ug: i64,
    elements: String,
    remaining: String,
    claimed: String,
    origin: String,
    state: String,
    holder: Uuid,
    pending_to: Option<Uuid>,
    transformation_id: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<LotDb> for LotRow {
    type Error = StoreError;
    fn try_from(r: LotDb) -> Result<Self, StoreError> {
        Ok(LotRow {
            lot_id: r.lot_id,
            epc: r.epc,
            gtin: r.gtin,
            lot_number: r.lot_number,
            kind: r.kind,
            material: r.material,
            mass_ug: r.mass_ug,
            remaining_ug: r.remaining_ug,
            elements: bag(&r.elements)?,
            remaining: bag(&r.remaining)?,
            claimed: bag(&r.claimed)?,
            origin: r.origin,
            custody: custody(&r.state, Some(r.holder), r.pending_to)?,
            transformation_id: r.transformation_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventDb {
    leaf_index: i64,
    event_id: String,
    event_hash: String,
    event_type: String,
    action: String,
    org_id: Uuid,
    event_time: DateTime<Utc>,
    document: String,
    data: String,
    leaf_hash: Vec<u8>,
    recorded_at: DateTime<Utc>,
}

impl From<EventDb> for EventRow {
    fn from(r: EventDb) -> Self {
        EventRow {
            leaf_index: r.leaf_index,
            event_id: r.event_id,
            event_hash: r.event_hash,
            event_type: r.event_type,
            action: r.action,
            org_id: r.org_id,
            event_time: r.event_time,
            document: r.document,
            data: r.data,
            leaf_hash: r.leaf_hash,
            recorded_at: r.recorded_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ClaimDb {
    claim_id: Uuid,
    lot_id: Uuid,
    passport_id: Uuid,
    org_id: Uuid,
    element: String,
    mass_ug: i64,
    status: String,
    created_at: DateTime<Utc>,
}

impl From<ClaimDb> for ClaimRow {
    fn from(r: ClaimDb) -> Self {
        ClaimRow {
            claim_id: r.claim_id,
            lot_id: r.lot_id,
            passport_id: r.passport_id,
            org_id: r.org_id,
            element: r.element,
            mass_ug: r.mass_ug,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct LinkDb {
    subject_id: Uuid,
    seq: i64,
    leaf_index: i64,
    link: Vec<u8>,
}

impl From<LinkDb> for ChainLink {
    fn from(r: LinkDb) -> Self {
        ChainLink {
            subject_id: r.subject_id,
            seq: r.seq,
            leaf_index: r.leaf_index,
            link: r.link,
        }
    }
}

fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("a log hash of {} bytes", bytes.len())))
}

fn node_level(id: &NodeId) -> i64 {
    i64::from(id.level)
}

fn node_index(id: &NodeId) -> Result<i64, StoreError> {
    i64::try_from(id.index).map_err(|_| StoreError::Corrupt("node index out of range".into()))
}

/// Unique violations inside a write: which one matters decides the answer.
fn conflict_as(err: StoreError, as_what: WriteError) -> WriteError {
    match err {
        StoreError::Conflict { .. } => as_what,
        StoreError::Serialization(_) => WriteError::Stale,
        other => WriteError::Store(other),
    }
}

macro_rules! custody_store {
    ($store:ty, $is:literal) => {
        impl $store {
            async fn load_nodes<'c, E>(executor: E, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError>
            where
                E: sqlx::Executor<'c, Database = <Self as StoreDb>::Database>,
            {
                let mut out = HashMap::with_capacity(ids.len());
                if ids.is_empty() {
                    return Ok(out);
                }
                let mut q = QueryBuilder::new("SELECT level, idx, hash FROM custody_log_nodes WHERE (level, idx) IN (");
                let mut list = q.separated(", ");
                for id in ids {
                    list.push("(");
                    list.push_bind_unseparated(node_level(id));
                    list.push_unseparated(", ");
                    list.push_bind_unseparated(node_index(id)?);
                    list.push_unseparated(")");
                }
                q.push(")");
                let rows: Vec<(i64, i64, Vec<u8>)> = q.build_query_as().fetch_all(executor).await?;
                for (level, idx, hash) in rows {
                    let id = NodeId::new(
                        u8::try_from(level).map_err(|_| StoreError::Corrupt("node level".into()))?,
                        u64::try_from(idx).map_err(|_| StoreError::Corrupt("node index".into()))?,
                    );
                    out.insert(id, to_hash(&hash)?);
                }
                Ok(out)
            }

            async fn keep(
                tx: &mut sqlx::Transaction<'_, <Self as StoreDb>::Database>,
                org_id: Uuid,
                key: String,
                response: StoredResponse,
                now: DateTime<Utc>,
            ) -> Result<(), WriteError> {
                sqlx::query(
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
                .execute(&mut **tx)
                .await
                .map_err(|e| conflict_as(e.into(), WriteError::DuplicateKey))?;
                Ok(())
            }

            /// The last link of each chain the events join (subjects without one start at
            /// their genesis).
            async fn chain_tails(
                tx: &mut sqlx::Transaction<'_, <Self as StoreDb>::Database>,
                events: &[super::NewEvent],
            ) -> Result<HashMap<Uuid, (i64, Vec<u8>)>, StoreError> {
                let mut subjects: Vec<Uuid> = events.iter().flat_map(|e| e.subjects.iter().copied()).collect();
                subjects.sort_unstable();
                subjects.dedup();
                let mut tails = HashMap::with_capacity(subjects.len());
                for chunk in subjects.chunks(CHUNK) {
                    let mut q = QueryBuilder::new("SELECT c.subject_id, c.seq, c.link FROM custody_chain c WHERE c.subject_id IN (");
                    let mut list = q.separated(", ");
                    for s in chunk {
                        list.push_bind(*s);
                    }
                    q.push(") AND c.seq = (SELECT MAX(d.seq) FROM custody_chain d WHERE d.subject_id = c.subject_id)");
                    let rows: Vec<(Uuid, i64, Vec<u8>)> = q.build_query_as().fetch_all(&mut **tx).await?;
                    for (subject, seq, link) in rows {
                        tails.insert(subject, (seq, link));
                    }
                }
                Ok(tails)
            }

            async fn write_tx(&self, write: Write) -> Result<Written, WriteError> {
                let now = reetrace_core::domain::account::now();
                let mut tx = self.write_pool().begin().await.map_err(StoreError::from)?;

                // Compare-and-set every product and lot, in id order (no deadlocks between
                // writers touching the same ones).
                let mut products = write.products;
                products.sort_by_key(|(id, _, _)| *id);
                if products.windows(2).any(|w| w[0].0 == w[1].0) {
                    // Two changes of one product in one write cannot both hold.
                    return Err(WriteError::Stale);
                }
                // One statement per chunk: a capture moves hundreds of products at once.
                for chunk in products.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(
                        "UPDATE custody_products SET state = v.column2, holder = v.column3, \
                         pending_to = v.column4, updated_at = ",
                    );
                    q.push_bind(now);
                    q.push(" FROM (VALUES ");
                    let mut rows = q.separated(", ");
                    for (id, expect, set) in chunk {
                        rows.push("(");
                        rows.push_bind_unseparated(*id);
                        rows.push_unseparated(", ");
                        rows.push_bind_unseparated(set.state.as_str());
                        rows.push_unseparated(", ");
                        rows.push_bind_unseparated(set.holder);
                        rows.push_unseparated(", ");
                        rows.push_bind_unseparated(set.pending_to);
                        rows.push_unseparated(", ");
                        rows.push_bind_unseparated(expect.state.as_str());
                        rows.push_unseparated(", ");
                        rows.push_bind_unseparated(expect.holder);
                        rows.push_unseparated(", ");
                        rows.push_bind_unseparated(expect.pending_to);
                        rows.push_unseparated(")");
                    }
                    q.push(concat!(
                        ") AS v WHERE custody_products.passport_id = v.column1 AND custody_products.state = v.column5 \
                         AND custody_products.holder ", $is, " v.column6 AND custody_products.pending_to ", $is, " v.column7"
                    ));
                    let done = q
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict_as(e.into(), WriteError::Stale))?;
                    if done.rows_affected() != chunk.len() as u64 {
                        return Err(WriteError::Stale);
                    }
                }
                let mut lots = write.lots;
                lots.sort_by_key(|l| l.lot_id);
                for change in &lots {
                    let holder = change.custody.holder.ok_or(WriteError::Stale)?;
                    let done = sqlx::query(concat!(
                        "UPDATE custody_lots SET state = $2, holder = $3, pending_to = $4, remaining_ug = $5, \
                         remaining = $6, claimed = $7, updated_at = $8 \
                         WHERE lot_id = $1 AND state = $9 AND holder = $10 AND pending_to ", $is, " $11 \
                         AND remaining_ug = $12 AND claimed = $13"
                    ))
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
                    .map_err(|e| conflict_as(e.into(), WriteError::Stale))?;
                    if done.rows_affected() != 1 {
                        return Err(WriteError::Stale);
                    }
                }
                for lot in &write.new_lots {
                    let holder = lot.custody.holder.ok_or(WriteError::Stale)?;
                    sqlx::query(AssertSqlSafe(format!(
                        "INSERT INTO custody_lots ({LOT_COLUMNS}) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)"
                    )))
                    .bind(lot.lot_id)
                    .bind(&lot.epc)
                    .bind(&lot.gtin)
                    .bind(&lot.lot_number)
                    .bind(&lot.kind)
                    .bind(&lot.material)
                    .bind(lot.mass_ug)
                    .bind(lot.remaining_ug)
                    .bind(bag_text(&lot.elements))
                    .bind(bag_text(&lot.remaining))
                    .bind(bag_text(&lot.claimed))
                    .bind(&lot.origin)
                    .bind(lot.custody.state.as_str())
                    .bind(holder)
                    .bind(lot.custody.pending_to)
                    .bind(lot.transformation_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict_as(e.into(), WriteError::Stale))?;
                }
                for claim in &write.claims {
                    sqlx::query(
                        "INSERT INTO custody_claims (claim_id, lot_id, passport_id, org_id, element, mass_ug, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(claim.claim_id)
                    .bind(claim.lot_id)
                    .bind(claim.passport_id)
                    .bind(claim.org_id)
                    .bind(&claim.element)
                    .bind(claim.mass_ug)
                    .bind(&claim.status)
                    .bind(claim.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict_as(e.into(), WriteError::DuplicateKey))?;
                }
                if let Some(t) = &write.transformation {
                    sqlx::query(
                        "INSERT INTO custody_transformations (id, process, org_id, at, inputs, outputs, losses, event_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(t.id)
                    .bind(&t.process)
                    .bind(t.org_id)
                    .bind(t.at)
                    .bind(&t.inputs)
                    .bind(&t.outputs)
                    .bind(&t.losses)
                    .bind(&t.event_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict_as(e.into(), WriteError::Stale))?;
                }

                let count = write.events.len() as i64;
                if count == 0 {
                    if let Some((org_id, key, respond)) = write.idempotent {
                        let response = respond(&Written { leaves: Vec::new(), tree_size: -1 });
                        Self::keep(&mut tx, org_id, key, response, now).await?;
                    }
                    tx.commit().await.map_err(|e| conflict_as(e.into(), WriteError::Stale))?;
                    return Ok(Written { leaves: Vec::new(), tree_size: -1 });
                }
                let mut ids: Vec<&str> = write.events.iter().map(|e| e.event_id.as_str()).collect();
                ids.sort_unstable();
                if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
                    return Err(WriteError::DuplicateEvent(pair[0].to_owned()));
                }

                // Append to the log: the head row is held until commit, so what follows sees
                // every event committed before and no other writer appends meanwhile.
                let size: i64 = sqlx::query_scalar("UPDATE custody_log_head SET size = size + $1 WHERE id = 1 RETURNING size")
                    .bind(count)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;

                // Refuse event ids stored already (idempotent capture decides what to answer).
                for chunk in write.events.chunks(CHUNK) {
                    let mut q = QueryBuilder::new("SELECT event_id FROM custody_events WHERE event_id IN (");
                    let mut list = q.separated(", ");
                    for e in chunk {
                        list.push_bind(e.event_id.as_str());
                    }
                    q.push(") LIMIT 1");
                    let found: Option<String> = q.build_query_scalar().fetch_optional(&mut *tx).await.map_err(StoreError::from)?;
                    if let Some(id) = found {
                        return Err(WriteError::DuplicateEvent(id));
                    }
                }

                let start = size - count;
                let start_u = u64::try_from(start).map_err(|_| StoreError::Corrupt("log size".into()))?;
                let node_ids = Frontier::node_ids(start_u);
                let known = Self::load_nodes(&mut *tx, &node_ids).await?;
                let mut frontier = Frontier::load(start_u, &known)
                    .map_err(|e| StoreError::Corrupt(format!("log frontier: {e}")))?;
                let mut tails = Self::chain_tails(&mut tx, &write.events).await?;
                let mut new_nodes: Vec<(NodeId, Hash)> = Vec::with_capacity(write.events.len() * 2);
                let mut leaves = Vec::with_capacity(write.events.len());
                let mut leaf_hashes = Vec::with_capacity(write.events.len());
                let mut epc_rows: Vec<(i64, &str, &'static str)> = Vec::new();
                let mut chain_rows: Vec<(Uuid, i64, i64, Vec<u8>)> = Vec::new();
                for (i, event) in write.events.iter().enumerate() {
                    let leaf_index = start + i as i64;
                    let digest = log::event_digest(&event.document);
                    let mut joined = Vec::with_capacity(event.subjects.len());
                    for subject in &event.subjects {
                        let (seq, previous) = tails
                            .get(subject)
                            .cloned()
                            .unwrap_or_else(|| (0, log::genesis(*subject).to_vec()));
                        let link = log::next_link(&previous, &digest);
                        joined.push(Joined { subject: *subject, seq: seq + 1, link });
                        tails.insert(*subject, (seq + 1, link.to_vec()));
                        chain_rows.push((*subject, seq + 1, leaf_index, link.to_vec()));
                    }
                    let leaf_hash = merkle::leaf_hash(&log::leaf_data(&event.event_id, &digest, &joined));
                    let nodes = frontier
                        .append(leaf_hash)
                        .map_err(|e| StoreError::Corrupt(format!("log append: {e}")))?;
                    new_nodes.extend(nodes);
                    leaf_hashes.push(leaf_hash.to_vec());
                    let mut unique: Vec<(&str, &'static str)> =
                        event.epcs.iter().map(|(epc, role)| (epc.as_str(), *role)).collect();
                    unique.sort_unstable();
                    unique.dedup();
                    epc_rows.extend(unique.into_iter().map(|(epc, role)| (leaf_index, epc, role)));
                    leaves.push((event.event_id.clone(), leaf_index));
                }
                // Multi-row inserts: a round trip per chunk, not per event.
                for (chunk_no, chunk) in write.events.chunks(EVENT_CHUNK).enumerate() {
                    let first = chunk_no * EVENT_CHUNK;
                    let mut q = QueryBuilder::new(
                        "INSERT INTO custody_events (leaf_index, event_id, event_hash, event_type, action, biz_step, \
                         biz_location, event_time, org_id, document, data, leaf_hash, recorded_at) ",
                    );
                    q.push_values(chunk.iter().enumerate(), |mut b, (j, event)| {
                        let i = first + j;
                        b.push_bind(start + i as i64)
                            .push_bind(event.event_id.as_str())
                            .push_bind(event.event_hash.as_str())
                            .push_bind(event.event_type.as_str())
                            .push_bind(event.action.as_str())
                            .push_bind(event.biz_step.as_deref())
                            .push_bind(event.biz_location.as_deref())
                            .push_bind(event.event_time)
                            .push_bind(event.org_id)
                            .push_bind(event.document.as_str())
                            .push_bind(event.data.as_str())
                            .push_bind(leaf_hashes[i].as_slice())
                            .push_bind(now);
                    });
                    let first_id = chunk.first().map(|e| e.event_id.clone()).unwrap_or_default();
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict_as(e.into(), WriteError::DuplicateEvent(first_id)))?;
                }
                for chunk in epc_rows.chunks(ROW_CHUNK) {
                    let mut q = QueryBuilder::new("INSERT INTO custody_event_epcs (leaf_index, epc, role) ");
                    q.push_values(chunk, |mut b, (leaf_index, epc, role)| {
                        b.push_bind(*leaf_index).push_bind(*epc).push_bind(*role);
                    });
                    q.build().execute(&mut *tx).await.map_err(StoreError::from)?;
                }
                for chunk in chain_rows.chunks(ROW_CHUNK) {
                    let mut q = QueryBuilder::new("INSERT INTO custody_chain (subject_id, seq, leaf_index, link) ");
                    q.push_values(chunk, |mut b, (subject, seq, leaf_index, link)| {
                        b.push_bind(*subject).push_bind(*seq).push_bind(*leaf_index).push_bind(link.as_slice());
                    });
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict_as(e.into(), WriteError::Stale))?;
                }
                for chunk in new_nodes.chunks(CHUNK) {
                    let mut q = QueryBuilder::new("INSERT INTO custody_log_nodes (level, idx, hash) ");
                    let mut rows = Vec::with_capacity(chunk.len());
                    for (id, hash) in chunk {
                        rows.push((node_level(id), node_index(id)?, hash.to_vec()));
                    }
                    q.push_values(rows, |mut b, (level, idx, hash)| {
                        b.push_bind(level).push_bind(idx).push_bind(hash);
                    });
                    q.build().execute(&mut *tx).await.map_err(StoreError::from)?;
                }
                let written = Written { leaves, tree_size: size };
                if let Some((org_id, key, respond)) = write.idempotent {
                    let response = respond(&written);
                    Self::keep(&mut tx, org_id, key, response, now).await?;
                }
                tx.commit().await.map_err(|e| conflict_as(e.into(), WriteError::Stale))?;
                Ok(written)
            }
        }

        #[async_trait]
        impl CustodyStore for $store {
            async fn write(&self, write: Write) -> Result<Written, WriteError> {
                self.write_tx(write).await
            }

            async fn product(&self, passport_id: Uuid) -> Result<Option<ProductRow>, StoreError> {
                let row: Option<ProductDb> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT {PRODUCT_COLUMNS} FROM custody_products WHERE passport_id = $1")))
                        .bind(passport_id)
                        .fetch_optional(self.read())
                        .await?;
                row.map(ProductRow::try_from).transpose()
            }

            async fn product_by_epc(&self, epc: &str) -> Result<Option<ProductRow>, StoreError> {
                let row: Option<ProductDb> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT {PRODUCT_COLUMNS} FROM custody_products WHERE epc = $1")))
                        .bind(epc)
                        .fetch_optional(self.read())
                        .await?;
                row.map(ProductRow::try_from).transpose()
            }

            async fn lot(&self, lot_id: Uuid) -> Result<Option<LotRow>, StoreError> {
                let row: Option<LotDb> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT {LOT_COLUMNS} FROM custody_lots WHERE lot_id = $1")))
                        .bind(lot_id)
                        .fetch_optional(self.read())
                        .await?;
                row.map(LotRow::try_from).transpose()
            }

            async fn lot_by_epc(&self, epc: &str) -> Result<Option<LotRow>, StoreError> {
                let row: Option<LotDb> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT {LOT_COLUMNS} FROM custody_lots WHERE epc = $1")))
                        .bind(epc)
                        .fetch_optional(self.read())
                        .await?;
                row.map(LotRow::try_from).transpose()
            }

            async fn products_named(&self, epcs: &[String], ids: &[Uuid]) -> Result<Vec<ProductRow>, StoreError> {
                let mut out = Vec::new();
                for chunk in epcs.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("SELECT {PRODUCT_COLUMNS} FROM custody_products WHERE epc IN ("));
                    let mut list = q.separated(", ");
                    for epc in chunk {
                        list.push_bind(epc.as_str());
                    }
                    q.push(")");
                    let rows: Vec<ProductDb> = q.build_query_as().fetch_all(self.read()).await?;
                    for row in rows {
                        out.push(ProductRow::try_from(row)?);
                    }
                }
                for chunk in ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("SELECT {PRODUCT_COLUMNS} FROM custody_products WHERE passport_id IN ("));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    let rows: Vec<ProductDb> = q.build_query_as().fetch_all(self.read()).await?;
                    for row in rows {
                        out.push(ProductRow::try_from(row)?);
                    }
                }
                out.sort_by_key(|p| p.passport_id);
                out.dedup_by_key(|p| p.passport_id);
                Ok(out)
            }

            async fn lots_named(&self, epcs: &[String], ids: &[Uuid]) -> Result<Vec<LotRow>, StoreError> {
                let mut out = Vec::new();
                for chunk in epcs.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("SELECT {LOT_COLUMNS} FROM custody_lots WHERE epc IN ("));
                    let mut list = q.separated(", ");
                    for epc in chunk {
                        list.push_bind(epc.as_str());
                    }
                    q.push(")");
                    let rows: Vec<LotDb> = q.build_query_as().fetch_all(self.read()).await?;
                    for row in rows {
                        out.push(LotRow::try_from(row)?);
                    }
                }
                for chunk in ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("SELECT {LOT_COLUMNS} FROM custody_lots WHERE lot_id IN ("));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    let rows: Vec<LotDb> = q.build_query_as().fetch_all(self.read()).await?;
                    for row in rows {
                        out.push(LotRow::try_from(row)?);
                    }
                }
                out.sort_by_key(|l| l.lot_id);
                out.dedup_by_key(|l| l.lot_id);
                Ok(out)
            }

            async fn claims_of_lot(&self, lot_id: Uuid) -> Result<Vec<ClaimRow>, StoreError> {
                let rows: Vec<ClaimDb> = sqlx::query_as(
                    "SELECT claim_id, lot_id, passport_id, org_id, element, mass_ug, status, created_at FROM custody_claims \
                     WHERE lot_id = $1 ORDER BY created_at, claim_id, element",
                )
                .bind(lot_id)
                .fetch_all(self.read())
                .await?;
                Ok(rows.into_iter().map(ClaimRow::from).collect())
            }

            async fn claims_by_id(&self, claim_id: Uuid) -> Result<Vec<ClaimRow>, StoreError> {
                let rows: Vec<ClaimDb> = sqlx::query_as(
                    "SELECT claim_id, lot_id, passport_id, org_id, element, mass_ug, status, created_at FROM custody_claims \
                     WHERE claim_id = $1 ORDER BY lot_id, element",
                )
                .bind(claim_id)
                .fetch_all(self.read())
                .await?;
                Ok(rows.into_iter().map(ClaimRow::from).collect())
            }

            async fn release_claim(&self, claim_id: Uuid) -> Result<(), StoreError> {
                sqlx::query("UPDATE custody_claims SET status = 'released' WHERE claim_id = $1 AND status = 'reserved'")
                    .bind(claim_id)
                    .execute(self.write_pool())
                    .await?;
                Ok(())
            }

            async fn chain_of(&self, subject_id: Uuid) -> Result<Vec<(ChainLink, EventRow)>, StoreError> {
                let links: Vec<LinkDb> = sqlx::query_as(
                    "SELECT subject_id, seq, leaf_index, link FROM custody_chain WHERE subject_id = $1 ORDER BY seq",
                )
                .bind(subject_id)
                .fetch_all(self.read())
                .await?;
                let events: Vec<EventDb> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {EVENT_COLUMNS} FROM custody_events WHERE leaf_index IN \
                     (SELECT leaf_index FROM custody_chain WHERE subject_id = $1)"
                )))
                .bind(subject_id)
                .fetch_all(self.read())
                .await?;
                let mut by_leaf: HashMap<i64, EventRow> = events.into_iter().map(|e| (e.leaf_index, e.into())).collect();
                links
                    .into_iter()
                    .map(|l| {
                        let event = by_leaf
                            .remove(&l.leaf_index)
                            .ok_or_else(|| StoreError::Corrupt(format!("chain link to missing leaf {}", l.leaf_index)))?;
                        Ok((ChainLink::from(l), event))
                    })
                    .collect()
            }

            async fn event(&self, event_id: &str) -> Result<Option<EventRow>, StoreError> {
                let row: Option<EventDb> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT {EVENT_COLUMNS} FROM custody_events WHERE event_id = $1")))
                        .bind(event_id)
                        .fetch_optional(self.read())
                        .await?;
                Ok(row.map(EventRow::from))
            }

            async fn events_by_id(&self, event_ids: &[String]) -> Result<Vec<EventRow>, StoreError> {
                let mut out = Vec::new();
                for chunk in event_ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM custody_events WHERE event_id IN ("));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(id.as_str());
                    }
                    q.push(")");
                    let rows: Vec<EventDb> = q.build_query_as().fetch_all(self.read()).await?;
                    out.extend(rows.into_iter().map(EventRow::from));
                }
                Ok(out)
            }

            async fn query(&self, filter: &EventFilter, after: i64, limit: u32) -> Result<Vec<EventRow>, StoreError> {
                let mut q = QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM custody_events WHERE leaf_index > "));
                q.push_bind(after);
                let any_of = |q: &mut QueryBuilder<<Self as StoreDb>::Database>, column: &str, values: &[String]| {
                    if values.is_empty() {
                        return;
                    }
                    q.push(format!(" AND {column} IN ("));
                    let mut list = q.separated(", ");
                    for v in values {
                        list.push_bind(v.clone());
                    }
                    q.push(")");
                };
                any_of(&mut q, "biz_step", &filter.biz_steps);
                any_of(&mut q, "biz_location", &filter.biz_locations);
                any_of(&mut q, "action", &filter.actions);
                for (values, roles) in [
                    (&filter.any_epc, "('epc', 'parent', 'child', 'input', 'output')"),
                    (&filter.epc_class, "('class', 'input_class', 'output_class')"),
                ] {
                    if values.is_empty() {
                        continue;
                    }
                    q.push(format!(" AND leaf_index IN (SELECT leaf_index FROM custody_event_epcs WHERE role IN {roles} AND epc IN ("));
                    let mut list = q.separated(", ");
                    for v in values {
                        list.push_bind(v.clone());
                    }
                    q.push("))");
                }
                if let Some(from) = filter.time_from {
                    q.push(" AND event_time >= ").push_bind(from);
                }
                if let Some(before) = filter.time_before {
                    q.push(" AND event_time < ").push_bind(before);
                }
                q.push(" ORDER BY leaf_index LIMIT ").push_bind(i64::from(limit));
                let rows: Vec<EventDb> = q.build_query_as().fetch_all(self.read()).await?;
                Ok(rows.into_iter().map(EventRow::from).collect())
            }

            async fn events_from(&self, from: i64, limit: u32) -> Result<Vec<EventRow>, StoreError> {
                let rows: Vec<EventDb> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {EVENT_COLUMNS} FROM custody_events WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2"
                )))
                .bind(from)
                .bind(i64::from(limit))
                .fetch_all(self.read())
                .await?;
                Ok(rows.into_iter().map(EventRow::from).collect())
            }

            async fn links_between(&self, from: i64, to: i64) -> Result<Vec<ChainLink>, StoreError> {
                let rows: Vec<LinkDb> = sqlx::query_as(
                    "SELECT subject_id, seq, leaf_index, link FROM custody_chain WHERE leaf_index >= $1 AND leaf_index < $2 \
                     ORDER BY leaf_index, subject_id",
                )
                .bind(from)
                .bind(to)
                .fetch_all(self.read())
                .await?;
                Ok(rows.into_iter().map(ChainLink::from).collect())
            }

            async fn log_size(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT size FROM custody_log_head WHERE id = 1").fetch_one(self.read()).await?)
            }

            async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
                let mut out = HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK) {
                    out.extend(Self::load_nodes(self.read(), chunk).await?);
                }
                Ok(out)
            }

            async fn latest_checkpoint(&self) -> Result<Option<(i64, Vec<u8>, String)>, StoreError> {
                Ok(sqlx::query_as("SELECT size, root, note FROM custody_checkpoints ORDER BY size DESC LIMIT 1")
                    .fetch_optional(self.read())
                    .await?)
            }

            async fn checkpoint_covering(&self, size: i64) -> Result<Option<(i64, Vec<u8>, String)>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT size, root, note FROM custody_checkpoints WHERE size >= $1 ORDER BY size LIMIT 1",
                )
                .bind(size)
                .fetch_optional(self.read())
                .await?)
            }

            async fn checkpoint_at(&self, size: i64) -> Result<Option<(i64, Vec<u8>, String)>, StoreError> {
                Ok(sqlx::query_as("SELECT size, root, note FROM custody_checkpoints WHERE size = $1")
                    .bind(size)
                    .fetch_optional(self.read())
                    .await?)
            }

            async fn insert_checkpoint(&self, size: i64, root: &[u8], note: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO custody_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (size) DO NOTHING",
                )
                .bind(size)
                .bind(root)
                .bind(note)
                .bind(at)
                .execute(self.write_pool())
                .await?;
                Ok(())
            }

            async fn log_key(&self, name: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
                Ok(sqlx::query_as("SELECT public_key, sealed_secret FROM custody_log_keys WHERE name = $1")
                    .bind(name)
                    .fetch_optional(self.read())
                    .await?)
            }

            async fn sealed_log_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                Ok(sqlx::query_as("SELECT name, sealed_secret FROM custody_log_keys ORDER BY name")
                    .fetch_all(self.write_pool())
                    .await?)
            }

            async fn reseal_log_keys(&self, changes: &[reetrace_core::crypto::Reseal]) -> Result<(), StoreError> {
                reetrace_core::db::reseal_rows(&self.as_db(), "custody_log_keys", "name", changes).await
            }

            async fn insert_log_key(
                &self,
                name: &str,
                public_key: &[u8],
                sealed: &[u8],
                at: DateTime<Utc>,
            ) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
                sqlx::query(
                    "INSERT INTO custody_log_keys (name, public_key, sealed_secret, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(public_key)
                .bind(sealed)
                .bind(at)
                .execute(self.write_pool())
                .await?;
                Ok(sqlx::query_as("SELECT public_key, sealed_secret FROM custody_log_keys WHERE name = $1")
                    .bind(name)
                    .fetch_one(self.write_pool())
                    .await?)
            }

            async fn cursor(&self, stream: &str) -> Result<i64, StoreError> {
                let position: Option<i64> = sqlx::query_scalar("SELECT position FROM custody_cursors WHERE stream = $1")
                    .bind(stream)
                    .fetch_optional(self.read())
                    .await?;
                Ok(position.unwrap_or(0))
            }

            async fn apply_passports(&self, stream: &str, events: &[(String, i64, PassportChange)]) -> Result<(), StoreError> {
                let Some(last) = events.last().map(|(_, seq, _)| *seq) else {
                    return Ok(());
                };
                let now = reetrace_core::domain::account::now();
                let mut tx = self.write_pool().begin().await?;
                for (event_id, _, change) in events {
                    let fresh = sqlx::query("INSERT INTO custody_inbox (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING")
                        .bind(event_id)
                        .execute(&mut *tx)
                        .await?;
                    if fresh.rows_affected() == 0 {
                        continue;
                    }
                    match change {
                        PassportChange::Upsert(p) => {
                            sqlx::query(AssertSqlSafe(format!(
                                "INSERT INTO custody_products ({PRODUCT_COLUMNS}) VALUES \
                                 ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'in_use', NULL, NULL, $16) \
                                 ON CONFLICT (passport_id) DO UPDATE SET version = excluded.version, units = excluded.units, \
                                 name = excluded.name, category = excluded.category, country = excluded.country, \
                                 placed_on_market = excluded.placed_on_market, net_mass_ug = excluded.net_mass_ug, \
                                 elements = excluded.elements, updated_at = excluded.updated_at \
                                 WHERE custody_products.version < excluded.version"
                            )))
                            .bind(p.passport_id)
                            .bind(p.org_id)
                            .bind(i64::from(p.version))
                            .bind(&p.granularity)
                            .bind(&p.gtin)
                            .bind(&p.serial)
                            .bind(&p.lot)
                            .bind(i64::try_from(p.units).unwrap_or(i64::MAX))
                            .bind(&p.name)
                            .bind(&p.category)
                            .bind(&p.country)
                            .bind(p.placed_on_market)
                            .bind(p.net_mass_ug)
                            .bind(&p.epc)
                            .bind(bag_text(&p.elements))
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            // The passport (version) exists: its reserved claims are confirmed and
                            // replace the claims of its earlier versions.
                            let reserved: i64 = sqlx::query_scalar(
                                "SELECT COUNT(*) FROM custody_claims WHERE passport_id = $1 AND status = 'reserved'",
                            )
                            .bind(p.passport_id)
                            .fetch_one(&mut *tx)
                            .await?;
                            if reserved > 0 {
                                sqlx::query(
                                    "UPDATE custody_claims SET status = 'superseded' WHERE passport_id = $1 AND status = 'confirmed'",
                                )
                                .bind(p.passport_id)
                                .execute(&mut *tx)
                                .await?;
                                sqlx::query(
                                    "UPDATE custody_claims SET status = 'confirmed' WHERE passport_id = $1 AND status = 'reserved'",
                                )
                                .bind(p.passport_id)
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                        PassportChange::Status { passport_id, status } => {
                            sqlx::query("UPDATE custody_products SET passport_status = $2, updated_at = $3 WHERE passport_id = $1")
                                .bind(passport_id)
                                .bind(status)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                        }
                        PassportChange::Ignore => {}
                    }
                }
                sqlx::query(
                    "INSERT INTO custody_cursors (stream, position) VALUES ($1, $2) \
                     ON CONFLICT (stream) DO UPDATE SET position = excluded.position",
                )
                .bind(stream)
                .bind(last)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn stored_response(&self, org_id: Uuid, key: &str) -> Result<Option<StoredResponse>, StoreError> {
                let row: Option<(Vec<u8>, i64, String, String)> = sqlx::query_as(
                    "SELECT fingerprint, status, content_type, body FROM custody_idempotency WHERE org_id = $1 AND key = $2",
                )
                .bind(org_id)
                .bind(key)
                .fetch_optional(self.read())
                .await?;
                Ok(row.map(|(fingerprint, status, content_type, body)| StoredResponse {
                    fingerprint: fingerprint_from_bytes(&fingerprint),
                    status: u16::try_from(status).unwrap_or(200),
                    content_type,
                    body,
                }))
            }
        }
    };
}

/// Names each store's database type for the macro's generic helpers.
trait StoreDb {
    type Database: sqlx::Database;
}

impl StoreDb for SqliteCustody {
    type Database = sqlx::Sqlite;
}

impl StoreDb for PgCustody {
    type Database = sqlx::Postgres;
}

custody_store!(SqliteCustody, "IS");
custody_store!(PgCustody, "IS NOT DISTINCT FROM");
