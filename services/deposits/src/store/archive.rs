//! The deposit tables in a backup: the records, their signed credentials and the feed the
//! stock service reads cannot be recomputed. The keys that signed them and the status bits are in core's issuing archive,
//! restored before these.

use std::sync::Arc;

use async_trait::async_trait;
use reetrace_core::db::{ArchiveError, ArchiveTable, Archived, Db, Kind, Tx};

use super::SqlDeposits;

/// The archived tables, in restore order, with their columns in the order of the live schema.
static TABLES: &[ArchiveTable] = &[
    ArchiveTable {
        name: "deposits",
        columns: &[
            ("deposit_id", Kind::Uuid),
            ("org_id", Kind::Uuid),
            ("created_at", Kind::Time),
            ("revoked_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "deposit_versions",
        columns: &[
            ("deposit_id", Kind::Uuid),
            ("version", Kind::I64),
            ("credential_id", Kind::Uuid),
            ("name", Kind::Text),
            ("deposit_type", Kind::Text),
            ("status", Kind::Text),
            ("country", Kind::Text),
            ("record", Kind::Text),
            ("credential", Kind::Text),
            ("revocation_list", Kind::Text),
            ("revocation_index", Kind::I64),
            ("created_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "deposit_feed",
        columns: &[
            ("seq", Kind::I64),
            ("event_id", Kind::Uuid),
            ("type", Kind::Text),
            ("deposit_id", Kind::Uuid),
            ("version", Kind::I64),
            ("org_id", Kind::Uuid),
            ("occurred_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "deposit_feed_head",
        columns: &[("id", Kind::I64), ("head", Kind::I64)],
    },
    ArchiveTable {
        name: "deposit_idempotency",
        columns: &[
            ("org_id", Kind::Uuid),
            ("key", Kind::Text),
            ("fingerprint", Kind::Bytes),
            ("status", Kind::I64),
            ("content_type", Kind::Text),
            ("body", Kind::Text),
            ("created_at", Kind::Time),
        ],
    },
];

/// The deposits store as a backup sees it.
pub fn archive(db: &Db) -> Arc<dyn Archived> {
    Arc::new(SqlDeposits { db: db.clone() })
}

#[async_trait]
impl Archived for SqlDeposits {
    fn archive_tables(&self) -> &'static [ArchiveTable] {
        TABLES
    }

    /// Refuses a target that holds deposits; removes the feed head the migrations seed (the
    /// archive brings its own).
    async fn prepare_restore(&self, tx: &mut Tx) -> Result<(), ArchiveError> {
        let rows = tx.count_rows("deposits").await?;
        if rows > 0 {
            return Err(ArchiveError::NotEmpty {
                table: "deposits",
                rows,
            });
        }
        tx.clear_table("deposit_feed_head").await?;
        Ok(())
    }
}
