//! Every service's migrations, embedded at build time from `migrations/<set>/<backend>/` (see
//! `build.rs`: one [`MigrationSet`] constant per folder, such as [`CUSTODY`]), and the sqlx
//! [`Migrator`] made of them when a database is migrated.
//!
//! `sqlx::migrate!` did this through sqlx's proc macros, which compile a second sqlx and the
//! bundled SQLite for the host. What it recorded in a database must not change: sqlx refuses to
//! run when an applied migration's checksum differs, so a database migrated by an older build
//! would no longer start. The versions and descriptions come from the file names as sqlx reads
//! them, and the checksums are sqlx's own (SHA-384 of the text, [`Migration::new`]); the test
//! below compares every set with sqlx's reading of its folder.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::Backend;

/// One migration file: what sqlx reads from its name (`<version>_<description>.sql`, the
/// underscores of the description read as spaces) and its text.
#[derive(Debug)]
pub struct Embedded {
    pub version: i64,
    pub description: &'static str,
    pub migration_type: MigrationType,
    pub sql: &'static str,
}

/// One service's migrations, one folder per backend.
///
/// Every service records its applied migrations in a table of its own
/// (`_reetrace_migrations_<name>`), so services sharing a database never see each other's
/// history as "missing".
#[derive(Debug)]
pub struct MigrationSet {
    /// The folder under `migrations/`, also the end of the history table's name.
    pub name: &'static str,
    pub sqlite: &'static [Embedded],
    pub postgres: &'static [Embedded],
}

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

impl MigrationSet {
    pub fn table_name(&self) -> String {
        format!("_reetrace_migrations_{}", self.name)
    }

    /// The migrator of `backend`, recording into [`Self::table_name`].
    ///
    /// A migration whose text starts with `-- no-transaction` runs outside a transaction, as
    /// sqlx decides when it reads a folder.
    pub fn migrator(&self, backend: Backend) -> Migrator {
        let files = match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        };
        let mut migrator = Migrator::with_migrations(
            files
                .iter()
                .map(|file| {
                    Migration::new(
                        file.version,
                        Cow::Borrowed(file.description),
                        file.migration_type,
                        SqlStr::from_static(file.sql),
                        file.sql.starts_with("-- no-transaction"),
                    )
                })
                .collect(),
        );
        migrator.dangerous_set_table_name(self.table_name());
        migrator
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use super::*;

    /// What sqlx records and checks of each migration; the checksum stands for the text.
    type Summary = Vec<(i64, String, MigrationType, bool, String)>;

    fn summary(migrator: &Migrator) -> Summary {
        migrator
            .iter()
            .map(|m| {
                let description = m.description.to_string();
                let checksum = hex::encode(&m.checksum);
                (m.version, description, m.migration_type, m.no_tx, checksum)
            })
            .collect()
    }

    /// `Migrator::new` on a folder reads it with the function `sqlx::migrate!` called at compile
    /// time (with no `sqlx.toml`, as here), so agreeing with it field by field, checksums
    /// included, means a database migrated by a build that used the macro is still accepted.
    #[tokio::test]
    async fn embedded_sets_are_what_sqlx_reads_from_their_folders() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
        for set in ALL {
            for backend in [Backend::Sqlite, Backend::Postgres] {
                let folder = root.join(set.name).join(backend.to_string());
                let read = Migrator::new(folder).await.unwrap();
                let embedded = set.migrator(backend);
                assert!(!embedded.migrations.is_empty(), "{}/{backend}", set.name);
                assert_eq!(summary(&embedded), summary(&read), "{}/{backend}", set.name);
                assert_eq!(embedded.table_name, set.table_name());
            }
        }
    }
}
