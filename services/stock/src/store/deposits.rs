//! The stock service's copy of the residue deposits (`stock_deposits`,
//! `stock_deposit_content`): written by the deposits feed's consumer inside its projection
//! transaction, read back as content lines for the secondary-resources answer.

use async_trait::async_trait;
use reetrace_core::db::{Sql, StoreError, Tx};
use reetrace_core::domain::{Country, TrackedElement};
use uuid::Uuid;

use super::{CHUNK, SqlStock, corrupt};
use crate::domain::deposits::{ContentLine, DepositChange, DepositFacts};

/// The deposits as the stock service keeps them.
#[async_trait]
pub trait DepositStockStore: Send + Sync {
    /// Applies deposits feed changes, in feed order, inside a projection transaction. A version
    /// older than (or as old as) the kept one, or of a withdrawn deposit, changes nothing.
    async fn save_deposits(
        &self,
        tx: &mut Tx,
        changes: &[&DepositChange],
    ) -> Result<(), StoreError>;
    /// The content lines of every deposit not withdrawn, of the elements the urban mine
    /// follows (the rare earths, B, Co, Ni).
    async fn deposit_lines(&self) -> Result<Vec<ContentLine>, StoreError>;
}

const UPSERT: &str = "INSERT INTO stock_deposits (deposit_id, version, org_id, deposit_type, \
     status, country, nuts, illustrative, tonnes, withdrawn) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (deposit_id) DO UPDATE SET version = excluded.version, org_id = excluded.org_id, \
     deposit_type = excluded.deposit_type, status = excluded.status, country = excluded.country, \
     nuts = excluded.nuts, illustrative = excluded.illustrative, tonnes = excluded.tonnes";
const LINES: &str = "SELECT d.deposit_id, d.country, d.deposit_type, d.status, d.illustrative, \
     c.element, c.kg, c.uncertainty_kg FROM stock_deposit_content c \
     JOIN stock_deposits d ON d.deposit_id = c.deposit_id WHERE d.withdrawn = $1 \
     ORDER BY d.deposit_id, c.element";

async fn clear_content(tx: &mut Tx, deposit_id: Uuid) -> Result<(), StoreError> {
    Sql::new("DELETE FROM stock_deposit_content WHERE deposit_id = $1")
        .bind(deposit_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn upsert(tx: &mut Tx, facts: &DepositFacts) -> Result<(), StoreError> {
    let kept: Option<(i64, bool)> =
        Sql::new("SELECT version, withdrawn FROM stock_deposits WHERE deposit_id = $1")
            .bind(facts.deposit_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((version, withdrawn)) = kept
        && (withdrawn || version >= facts.version)
    {
        return Ok(());
    }
    Sql::new(UPSERT)
        .bind(facts.deposit_id)
        .bind(facts.version)
        .bind(facts.org_id)
        .bind(facts.deposit_type.clone())
        .bind(facts.status.clone())
        .bind(facts.country.code().to_owned())
        .bind(facts.nuts.clone())
        .bind(facts.illustrative)
        .bind(facts.tonnes)
        .bind(false)
        .execute(&mut *tx)
        .await?;
    clear_content(tx, facts.deposit_id).await?;
    for chunk in facts.content.chunks(CHUNK) {
        let mut sql = Sql::new(
            "INSERT INTO stock_deposit_content (deposit_id, element, kg, uncertainty_kg) ",
        );
        sql.push_values(chunk, |row, c| {
            row.bind(facts.deposit_id)
                .bind(c.element.clone())
                .bind(c.kg)
                .bind(c.uncertainty_kg);
        });
        sql.execute(&mut *tx).await?;
    }
    Ok(())
}

#[async_trait]
impl DepositStockStore for SqlStock {
    async fn save_deposits(
        &self,
        tx: &mut Tx,
        changes: &[&DepositChange],
    ) -> Result<(), StoreError> {
        for change in changes {
            match change {
                DepositChange::Upsert(facts) => upsert(tx, facts).await?,
                DepositChange::Withdrawn { deposit_id } => {
                    Sql::new("UPDATE stock_deposits SET withdrawn = $2 WHERE deposit_id = $1")
                        .bind(*deposit_id)
                        .bind(true)
                        .execute(&mut *tx)
                        .await?;
                    clear_content(tx, *deposit_id).await?;
                }
                DepositChange::Ignore => {}
            }
        }
        Ok(())
    }

    async fn deposit_lines(&self) -> Result<Vec<ContentLine>, StoreError> {
        type Row = (Uuid, String, String, String, bool, String, f64, f64);
        let rows: Vec<Row> = Sql::new(LINES)
            .bind(false)
            .fetch_all(self.db.reader())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (deposit_id, country, deposit_type, status, illustrative, element, kg, u) in rows {
            // Elements besides the rare earths and the magnet materials stay in the deposits
            // service's answers.
            let Ok(element) = element.parse::<TrackedElement>() else {
                continue;
            };
            out.push(ContentLine {
                deposit_id,
                country: Country::parse(&country).map_err(corrupt)?,
                deposit_type,
                status,
                illustrative,
                element,
                kg,
                uncertainty_kg: u,
            });
        }
        Ok(out)
    }
}
