//! Everything in SQL text that differs between SQLite and PostgreSQL, in one place. Stores write
//! one text for both backends and ask the [`Dialect`] for these pieces; anything else that
//! looks dialect-specific is a bug.
//!
//! What the two share and stores rely on: `$n` placeholders, `INSERT ... ON CONFLICT ... DO
//! UPDATE/NOTHING`, `RETURNING`, `UPDATE ... FROM (VALUES ...)` with `columnN` names,
//! row values in `IN` (`(a, b) IN ((..), (..))`), `CAST(x AS BIGINT)`.

use super::Backend;

/// The SQL dialect of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect(pub Backend);

impl Dialect {
    pub fn backend(self) -> Backend {
        self.0
    }

    /// A row lock for `SELECT ... {for_update}` in a transaction. SQLite has one writer, so a
    /// read inside a write transaction already sees and keeps the latest state.
    pub fn for_update(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// The statement that keeps other writers of `table` waiting until the transaction ends
    /// (for rules no constraint can state); none on SQLite, whose one writer does already.
    pub fn lock_table(self, table: &str) -> Option<String> {
        match self.0 {
            Backend::Sqlite => None,
            Backend::Postgres => Some(format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")),
        }
    }

    /// The text at `path` (object keys) of the JSON held as text in `column`, NULL where there
    /// is none. Keys are our own constants, never client input.
    pub fn json_text(self, column: &str, path: &[&str]) -> String {
        match self.0 {
            Backend::Sqlite => format!("json_extract({column}, '$.{}')", path.join(".")),
            Backend::Postgres => format!("(CAST({column} AS jsonb) #>> '{{{}}}')", path.join(",")),
        }
    }

    /// The null-safe equality operator (`a {is} b` is true when both are NULL).
    pub fn null_safe_eq(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "IS",
            Backend::Postgres => "IS NOT DISTINCT FROM",
        }
    }

    /// The statement that refreshes the planner's statistics.
    pub fn analyze(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "ANALYZE",
            Backend::Postgres => "VACUUM ANALYZE",
        }
    }

    /// How the catalog lists a table's columns in order: one row `(column name, type name)`
    /// per column of the table bound to `$1`.
    pub fn columns_of_table(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
            Backend::Postgres => {
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position"
            }
        }
    }

    /// How the catalog lists the tables: one row `(table name)` per table.
    pub fn tables(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 ORDER BY table_name"
            }
        }
    }
}
