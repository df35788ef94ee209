//! Status list indexes reserved ahead for bulk issuing.
//!
//! Taking indexes is a write. On SQLite, whose one writer a bulk request holds while it signs
//! and stores, the next request's reservation would wait for all of that, and requests would
//! sign one after the other. So a bulk request takes its indexes from an organisation's
//! reserve in memory, and the reserve is refilled in the background when it runs low.
//!
//! Reserved indexes are taken in the database when reserved, like any other: a stopped process
//! loses those it still held, which are then never issued (their bits stay clear, and a clear
//! bit in a list says nothing of who holds which index). A reserve is topped up to twice the
//! size of the request that took from it, at most [`RESERVE_MAX`] of each purpose.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use super::status::allocate_triples;
use super::{Issuing, Result};
use crate::domain::issuing::StatusRef;

/// The most index triples a refill tops one organisation's reserve up to.
pub const RESERVE_MAX: usize = 16_384;

/// Every organisation's reserve.
#[derive(Default)]
pub(crate) struct Reserves(Arc<Mutex<HashMap<Uuid, Reserve>>>);

#[derive(Default)]
struct Reserve {
    entries: VecDeque<[StatusRef; 3]>,
    /// A refill is under way: no second one is started.
    refilling: bool,
}

impl Reserves {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Reserve>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How many triples to hold for requests of `count`: enough for two more of them.
fn target(count: usize) -> usize {
    (2 * count).clamp(1, RESERVE_MAX)
}

impl Issuing {
    /// One index in each purpose's list for each of `count` credentials, as
    /// [`Issuing::allocate_each_purpose`], taken from the organisation's reserve; when it
    /// holds fewer, they are taken in the database with a new reserve. Once a take leaves the
    /// reserve short of two more requests of this size, it is refilled in the background.
    pub async fn allocate_reserved(
        &self,
        org_id: Uuid,
        count: usize,
    ) -> Result<Vec<[StatusRef; 3]>> {
        let target = target(count);
        let (taken, refill) = {
            let mut reserves = self.reserves.lock();
            let reserve = reserves.entry(org_id).or_default();
            if reserve.entries.len() >= count {
                let taken: Vec<_> = reserve.entries.drain(..count).collect();
                let refill = reserve.entries.len() < target && !reserve.refilling;
                reserve.refilling |= refill;
                (Some(taken), refill)
            } else {
                (None, false)
            }
        };
        if let Some(taken) = taken {
            if refill {
                self.refill(org_id, target);
            }
            return Ok(taken);
        }
        let mut taken = self.allocate_each_purpose(org_id, count + target).await?;
        let rest = taken.split_off(count);
        self.reserves
            .lock()
            .entry(org_id)
            .or_default()
            .entries
            .extend(rest);
        Ok(taken)
    }

    /// Tops `org_id`'s reserve up to `target` in a task of its own.
    fn refill(&self, org_id: Uuid, target: usize) {
        let store = self.store.clone();
        let reserves = Reserves(self.reserves.0.clone());
        tokio::spawn(async move {
            let held = reserves.lock().get(&org_id).map_or(0, |r| r.entries.len());
            let wanted = target.saturating_sub(held);
            let got = if wanted == 0 {
                Ok(Vec::new())
            } else {
                allocate_triples(store.as_ref(), org_id, wanted).await
            };
            let mut all = reserves.lock();
            let reserve = all.entry(org_id).or_default();
            reserve.refilling = false;
            match got {
                Ok(triples) => reserve.entries.extend(triples),
                Err(e) => tracing::warn!(%org_id, "status list reserve not refilled: {e}"),
            }
        });
    }
}
