//! Storage of the custody service: its copy of the passports, products' and lots' custody,
//! events with their hash chains and Merkle log leaves, checkpoints, claims, the feed cursor
//! and the idempotent answers. All its SQL is here, one file per store trait, on both backends
//! through [`reetrace_core::db`]; rows come back as domain types.
//!
//! Every change of custody goes through [`WriteStore::write`]: one transaction that
//! compares-and-sets the custody of what it touches, appends its events to the subjects' hash
//! chains and to the global log, and keeps the idempotent answer (see [`write`]).

mod append;
mod archive;
mod capture_jobs;
mod claims;
mod codec;
mod events;
mod idempotency;
mod lots;
mod passport_copies;
mod products;
mod transparency_log;
pub mod write;

use std::sync::Arc;

use reetrace_core::db::{Archived, Db, MigrationSet};

pub use capture_jobs::CaptureJobStore;
pub use claims::ClaimStore;
pub use events::EventStore;
pub use idempotency::{IdempotencyStore, idempotent_answers};
pub use lots::LotStore;
pub use passport_copies::PassportCopies;
pub use products::ProductStore;
pub use transparency_log::TransparencyLogStore;
pub use write::{Respond, Write, WriteError, WriteStore, Written};

/// The custody service's migrations.
pub static MIGRATIONS: MigrationSet = reetrace_core::db::migrations::CUSTODY;

/// Everything the custody service stores.
pub trait CustodyStore:
    ProductStore
    + LotStore
    + ClaimStore
    + EventStore
    + TransparencyLogStore
    + PassportCopies
    + IdempotencyStore
    + WriteStore
    + CaptureJobStore
{
}

impl<T> CustodyStore for T where
    T: ProductStore
        + LotStore
        + ClaimStore
        + EventStore
        + TransparencyLogStore
        + PassportCopies
        + IdempotencyStore
        + WriteStore
        + CaptureJobStore
{
}

/// The store for a database.
pub fn open(db: &Db) -> Arc<dyn CustodyStore> {
    Arc::new(SqlCustody { db: db.clone() })
}

/// What a backup holds of custody, for a database.
pub fn archive(db: &Db) -> Arc<dyn Archived> {
    Arc::new(SqlCustody { db: db.clone() })
}

/// The custody store, on either backend.
#[derive(Debug, Clone)]
pub struct SqlCustody {
    db: Db,
}

impl SqlCustody {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}
