//! The disclosure patterns the tables were last protected with, each with its basis (the
//! method, the rule and the revisions it was computed for): what a restart reuses.

use async_trait::async_trait;
use reetrace_core::db::{Sql, StoreError};

use super::{CHUNK, SqlStock, corrupt};
use crate::domain::pattern::{Pattern, key_text, parse_key};

/// Storage of the tables' disclosure patterns.
#[async_trait]
pub trait PatternStore: Send + Sync {
    /// Every stored pattern.
    async fn patterns(&self) -> Result<Vec<Pattern>, StoreError>;
    /// Stores these patterns, each replacing the one of its table.
    async fn put_patterns(&self, patterns: &[Pattern]) -> Result<(), StoreError>;
}

const PATTERNS: &str = "SELECT flow, year, basis, cells, withheld FROM stock_patterns";
const PUT: &str = "INSERT INTO stock_patterns (flow, year, basis, cells, withheld) ";
const ON_CONFLICT: &str = " ON CONFLICT (flow, year) DO UPDATE SET basis = excluded.basis, \
     cells = excluded.cells, withheld = excluded.withheld";

#[async_trait]
impl PatternStore for SqlStock {
    async fn patterns(&self) -> Result<Vec<Pattern>, StoreError> {
        let rows: Vec<(String, i32, String, i64, String)> =
            Sql::new(PATTERNS).fetch_all(self.db.reader()).await?;
        rows.into_iter()
            .map(|(flow, year, basis, cells, withheld)| {
                let withheld = withheld
                    .lines()
                    .map(|line| {
                        parse_key(line).ok_or_else(|| corrupt(format!("pattern key {line:?}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Pattern {
                    flow: flow.parse().map_err(corrupt)?,
                    year,
                    basis,
                    cells: usize::try_from(cells).map_err(corrupt)?,
                    withheld,
                })
            })
            .collect()
    }

    async fn put_patterns(&self, patterns: &[Pattern]) -> Result<(), StoreError> {
        for chunk in patterns.chunks(CHUNK) {
            let rows = chunk
                .iter()
                .map(|p| {
                    let withheld: Vec<String> = p.withheld.iter().map(key_text).collect();
                    let cells = i64::try_from(p.cells).map_err(corrupt)?;
                    Ok((p, cells, withheld.join("\n")))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut sql = Sql::new(PUT);
            sql.push_values(&rows, |row, (p, cells, withheld)| {
                row.bind(p.flow.as_str())
                    .bind(p.year)
                    .bind(p.basis.as_str())
                    .bind(*cells)
                    .bind(withheld.as_str());
            });
            sql.push(ON_CONFLICT);
            sql.execute(self.db.writer()).await?;
        }
        Ok(())
    }
}
