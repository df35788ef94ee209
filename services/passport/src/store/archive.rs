//! The passport tables in a backup: everything here cannot be recomputed (the signed bytes,
//! the feed other services project). The keys that signed them and the status bits are in
//! core's issuing archive, restored before these.

use async_trait::async_trait;
use reetrace_core::db::{ArchiveError, ArchiveTable, Archived, Kind, Tx};

use super::SqlPassports;

/// The archived tables, in restore order, with their columns in the order of the live schema.
static TABLES: &[ArchiveTable] = &[
    ArchiveTable {
        name: "passports",
        columns: &[
            ("id", Kind::Uuid),
            ("org_id", Kind::Uuid),
            ("version", Kind::I64),
            ("status", Kind::Text),
            ("status_reason", Kind::Text),
            ("granularity", Kind::Text),
            ("gtin", Kind::Text),
            ("serial", Kind::Text),
            ("lot", Kind::Text),
            ("category", Kind::Text),
            ("country", Kind::Text),
            ("placed_on_market", Kind::Date),
            ("model_passport", Kind::Uuid),
            ("created_at", Kind::Time),
            ("updated_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "passport_versions",
        columns: &[
            ("passport_id", Kind::Uuid),
            ("version", Kind::I64),
            ("credential_id", Kind::Uuid),
            ("credential", Kind::Text),
            ("component_details", Kind::Text),
            ("confidential", Kind::Text),
            ("key_id", Kind::Text),
            ("revocation_list", Kind::Text),
            ("revocation_index", Kind::I64),
            ("suspension_list", Kind::Text),
            ("suspension_index", Kind::I64),
            ("message_list", Kind::Text),
            ("message_index", Kind::I64),
            ("created_at", Kind::Time),
            ("superseded_at", Kind::Time),
            // Added with the v2 credential; an older archive restores them as NULL (v1).
            ("format", Kind::I64),
            ("credential_jws", Kind::Text),
            ("placement", Kind::Text),
            // Added with unchanged PUTs; an older archive restores it as NULL (never matches).
            ("registration_fingerprint", Kind::Bytes),
        ],
    },
    ArchiveTable {
        name: "passport_feed",
        columns: &[
            ("seq", Kind::I64),
            ("event_id", Kind::Uuid),
            ("type", Kind::Text),
            ("passport_id", Kind::Uuid),
            ("version", Kind::I64),
            ("org_id", Kind::Uuid),
            ("occurred_at", Kind::Time),
            ("data", Kind::Text),
        ],
    },
    ArchiveTable {
        name: "passport_feed_head",
        columns: &[("id", Kind::I64), ("head", Kind::I64)],
    },
    ArchiveTable {
        name: "passport_idempotency",
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

#[async_trait]
impl Archived for SqlPassports {
    fn archive_tables(&self) -> &'static [ArchiveTable] {
        TABLES
    }

    /// Refuses a target that holds passports; removes the feed head the migrations seed (the
    /// archive brings its own).
    async fn prepare_restore(&self, tx: &mut Tx) -> Result<(), ArchiveError> {
        let rows = tx.count_rows("passports").await?;
        if rows > 0 {
            return Err(ArchiveError::NotEmpty {
                table: "passports",
                rows,
            });
        }
        tx.clear_table("passport_feed_head").await?;
        Ok(())
    }
}
