//! The kernel's tables in a backup: organisations, their API keys (hashed) and GS1 prefixes,
//! the feed events kept in quarantine (a consumer's cursor has moved past them: without them a
//! restored instance would lose them), the instance's identity (the base URL everything in the
//! backup is named under, and its former ones), and the audit trail of authority reads (an
//! archive older than it restores with the trail empty). Leases, the key revocation epoch and
//! the pending GTIN grandfathering (done at the first start after the prefixes' migration) are
//! runtime state.

use std::sync::Arc;

use async_trait::async_trait;

use crate::db::{ArchiveError, ArchiveTable, Archived, Db, Kind, Tx};

/// The archived tables, in restore order, with their columns in the order of the live schema.
static TABLES: &[ArchiveTable] = &[
    ArchiveTable {
        name: "orgs",
        columns: &[
            ("id", Kind::Uuid),
            ("name", Kind::Text),
            ("role", Kind::Text),
            ("operator_scheme", Kind::Text),
            ("operator_id", Kind::Text),
            ("created_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "api_keys",
        columns: &[
            ("id", Kind::Uuid),
            ("org_id", Kind::Uuid),
            ("prefix", Kind::Text),
            ("hash", Kind::Bytes),
            ("label", Kind::Text),
            ("created_at", Kind::Time),
            ("revoked_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "gs1_prefixes",
        columns: &[
            ("prefix", Kind::Text),
            ("org_id", Kind::Uuid),
            ("kind", Kind::Text),
            ("grandfathered", Kind::Bool),
            ("created_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "feed_quarantine",
        columns: &[
            ("consumer", Kind::Text),
            ("seq", Kind::I64),
            ("stream", Kind::Text),
            ("event_id", Kind::Text),
            ("subject", Kind::Text),
            ("event", Kind::Text),
            ("reason", Kind::Text),
            ("quarantined_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "instance_identity",
        columns: &[
            ("id", Kind::I64),
            ("public_base_url", Kind::Text),
            ("log_origin", Kind::Text),
            ("created_at", Kind::Time),
            ("moved_at", Kind::Time),
        ],
    },
    ArchiveTable {
        name: "instance_aliases",
        columns: &[("base_url", Kind::Text), ("retired_at", Kind::Time)],
    },
    ArchiveTable {
        name: "audit_trail",
        columns: &[
            ("id", Kind::Uuid),
            ("at", Kind::Time),
            ("org_id", Kind::Uuid),
            ("org_name", Kind::Text),
            ("key_id", Kind::Uuid),
            ("key_prefix", Kind::Text),
            ("method", Kind::Text),
            ("route", Kind::Text),
            ("path", Kind::Text),
            ("query", Kind::Text),
            ("status", Kind::I32),
        ],
    },
];

/// The tables of a database the kernel keeps but a backup does not: runtime state.
pub const NOT_ARCHIVED: &[&str] = &["leases", "key_revocation_epoch", "gs1_grandfathering"];

struct KernelArchive;

/// The kernel's archived tables.
pub fn archive(_db: &Db) -> Arc<dyn Archived> {
    Arc::new(KernelArchive)
}

#[async_trait]
impl Archived for KernelArchive {
    fn archive_tables(&self) -> &'static [ArchiveTable] {
        TABLES
    }

    async fn prepare_restore(&self, tx: &mut Tx) -> Result<(), ArchiveError> {
        let rows = tx.count_rows("orgs").await?;
        if rows > 0 {
            return Err(ArchiveError::NotEmpty {
                table: "orgs",
                rows,
            });
        }
        // A target started once before the restore recorded the identity it guessed; the
        // archive brings the identity its contents are named under.
        tx.clear_table("instance_aliases").await?;
        tx.clear_table("instance_identity").await?;
        Ok(())
    }
}
