//! What a backup holds of custody: every custody table (none of it can be recomputed: events
//! are signed into the log), with its typed columns, in restore order.

use async_trait::async_trait;
use reetrace_core::db::{ArchiveError, ArchiveTable, Archived, Kind, Tx};

use super::SqlCustody;

/// The custody tables in restore order (referenced tables first), with their columns in the
/// order of the live schema (`tests/archive.rs` checks both backends against it).
static TABLES: &[ArchiveTable] = &[
    ArchiveTable {
        name: "custody_products",
        columns: &[
            ("passport_id", Kind::Uuid),
            ("org_id", Kind::Uuid),
            ("version", Kind::I64),
            ("passport_status", Kind::Text),
            ("granularity", Kind::Text),
            ("gtin", Kind::Text),
            ("serial", Kind::Text),
            ("lot", Kind::Text),
            ("units", Kind::I64),
            ("name", Kind::Text),
            ("category", Kind::Text),
            ("country", Kind::Text),
            ("placed_on_market", Kind::Date),
            ("net_mass_ug", Kind::I64),
            ("epc", Kind::Text),
            ("elements", Kind::Text),
            ("state", Kind::Text),
            ("holder", Kind::Uuid),
            ("pending_to", Kind::Uuid),
            ("updated_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "custody_lots",
        columns: &[
            ("lot_id", Kind::Uuid),
            ("epc", Kind::Text),
            ("gtin", Kind::Text),
            ("lot_number", Kind::Text),
            ("kind", Kind::Text),
            ("material", Kind::Text),
            ("mass_ug", Kind::I64),
            ("remaining_ug", Kind::I64),
            ("elements", Kind::Text),
            ("remaining", Kind::Text),
            ("claimed", Kind::Text),
            ("origin", Kind::Text),
            ("state", Kind::Text),
            ("holder", Kind::Uuid),
            ("pending_to", Kind::Uuid),
            ("transformation_id", Kind::Uuid),
            ("created_at", Kind::Time),
            ("updated_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "custody_transformations",
        columns: &[
            ("id", Kind::Uuid),
            ("process", Kind::Text),
            ("org_id", Kind::Uuid),
            ("at", Kind::Time),
            ("inputs", Kind::Text),
            ("outputs", Kind::Text),
            ("losses", Kind::Text),
            ("event_id", Kind::Text),
            ("created_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "custody_events",
        columns: &[
            ("leaf_index", Kind::I64),
            ("event_id", Kind::Text),
            ("event_hash", Kind::Text),
            ("event_type", Kind::Text),
            ("action", Kind::Text),
            ("biz_step", Kind::Text),
            ("biz_location", Kind::Text),
            ("event_time", Kind::Time),
            ("org_id", Kind::Uuid),
            ("document", Kind::Text),
            ("data", Kind::Text),
            ("leaf_hash", Kind::Bytes),
            ("recorded_at", Kind::Time),
            ("salt", Kind::Bytes),
            ("hash_version", Kind::I64),
        ],
    },
    ArchiveTable {
        name: "custody_event_epcs",
        columns: &[
            ("leaf_index", Kind::I64),
            ("epc", Kind::Text),
            ("role", Kind::Text),
        ],
    },
    ArchiveTable {
        name: "custody_chain",
        columns: &[
            ("subject_id", Kind::Uuid),
            ("seq", Kind::I64),
            ("leaf_index", Kind::I64),
            ("link", Kind::Bytes),
        ],
    },
    ArchiveTable {
        name: "custody_log_nodes",
        columns: &[
            ("level", Kind::I64),
            ("idx", Kind::I64),
            ("hash", Kind::Bytes),
        ],
    },
    ArchiveTable {
        name: "custody_log_head",
        columns: &[("id", Kind::I64), ("size", Kind::I64)],
    },
    ArchiveTable {
        name: "custody_checkpoints",
        columns: &[
            ("size", Kind::I64),
            ("root", Kind::Bytes),
            ("note", Kind::Text),
            ("created_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "custody_log_keys",
        columns: &[
            ("name", Kind::Text),
            ("public_key", Kind::Bytes),
            ("sealed_secret", Kind::Bytes),
            ("created_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "custody_claims",
        columns: &[
            ("claim_id", Kind::Uuid),
            ("lot_id", Kind::Uuid),
            ("passport_id", Kind::Uuid),
            ("org_id", Kind::Uuid),
            ("element", Kind::Text),
            ("mass_ug", Kind::I64),
            ("status", Kind::Text),
            ("created_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "custody_cursors",
        columns: &[("stream", Kind::Text), ("position", Kind::I64)],
    },
    ArchiveTable {
        name: "custody_inbox",
        columns: &[("event_id", Kind::Text)],
    },
    ArchiveTable {
        name: "custody_idempotency",
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
    ArchiveTable {
        name: "custody_capture_jobs",
        columns: &[
            ("capture_id", Kind::Uuid),
            ("org_id", Kind::Uuid),
            ("org_name", Kind::Text),
            ("role", Kind::Text),
            ("key_id", Kind::Uuid),
            ("behaviour", Kind::Text),
            ("document", Kind::Text),
            ("created_at", Kind::Time),
            ("attempts", Kind::I64),
            ("lease_owner", Kind::Text),
            ("lease_until_ms", Kind::I64),
            ("finished_at", Kind::Time),
            ("success", Kind::Bool),
            ("errors", Kind::Text),
            ("report", Kind::Text),
        ],
    },
];

#[async_trait]
impl Archived for SqlCustody {
    fn archive_tables(&self) -> &'static [ArchiveTable] {
        TABLES
    }

    /// Refuses a target that already holds custody events; removes the log head the
    /// migrations seed (the archive brings its own).
    async fn prepare_restore(&self, tx: &mut Tx) -> Result<(), ArchiveError> {
        let rows = tx.count_rows("custody_events").await?;
        if rows > 0 {
            return Err(ArchiveError::NotEmpty {
                table: "custody_events",
                rows,
            });
        }
        tx.clear_table("custody_log_head").await?;
        Ok(())
    }
}
