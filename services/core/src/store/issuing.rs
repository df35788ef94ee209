//! What issuing keeps (`signing_keys`, `status_lists`), for every service that issues: one
//! store type on [`Db`], one file per store trait, and the backup of the two tables.
//!
//! The tables come from the kernel's `issuing` migration set ([`MIGRATIONS`]). The passport
//! service created them in its own first migration before they were the kernel's; the set is
//! written to be applied after it, and to create them where no passport set ran.

mod signing_keys;
pub mod status_bits;
mod status_lists;

use std::sync::Arc;

use async_trait::async_trait;

use crate::db::{ArchiveError, ArchiveTable, Archived, Db, Kind, MigrationSet, StoreError, Tx};

pub use signing_keys::SigningKeyStore;
pub use status_lists::{BitChanges, StatusListStore, flip_bits};

/// Issuing's migrations.
pub static MIGRATIONS: MigrationSet = crate::db::migrations::ISSUING;

/// Everything issuing stores.
pub trait IssuingStores: SigningKeyStore + StatusListStore {}
impl<T: SigningKeyStore + StatusListStore> IssuingStores for T {}

/// The stores for a database.
pub fn open(db: &Db) -> Arc<dyn IssuingStores> {
    Arc::new(SqlIssuing { db: db.clone() })
}

/// The issuing tables as a backup holds them.
pub fn archive(db: &Db) -> Arc<dyn Archived> {
    Arc::new(SqlIssuing { db: db.clone() })
}

/// Issuing's tables, on either backend.
#[derive(Debug, Clone)]
pub struct SqlIssuing {
    db: Db,
}

/// A stored count or index as `u32`.
fn to_u32(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{value} is out of range")))
}

/// The archived tables, in restore order, with their columns in the order of the live schema:
/// the keys that signed what other tables keep, and the status bits of what they issued.
static TABLES: &[ArchiveTable] = &[
    ArchiveTable {
        name: "signing_keys",
        columns: &[
            ("id", Kind::Text),
            ("org_id", Kind::Uuid),
            ("public_key", Kind::Bytes),
            ("sealed_secret", Kind::Bytes),
            ("created_at", Kind::Time),
            ("retired_at", Kind::Time),
            ("revoked_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "status_lists",
        columns: &[
            ("id", Kind::Text),
            ("org_id", Kind::Uuid),
            ("purpose", Kind::Text),
            ("size", Kind::I64),
            ("allocated", Kind::I64),
            ("used", Kind::Bytes),
            ("bits", Kind::Bytes),
            ("credential", Kind::Text),
            ("created_at", Kind::Time),
            ("updated_at", Kind::Time),
        ],
    },
];

#[async_trait]
impl Archived for SqlIssuing {
    fn archive_tables(&self) -> &'static [ArchiveTable] {
        TABLES
    }

    /// Nothing to clear, and nothing refused here: the migrations seed no row, and a target
    /// that holds organisations is refused with the kernel's tables before these are written.
    async fn prepare_restore(&self, _tx: &mut Tx) -> Result<(), ArchiveError> {
        Ok(())
    }
}
