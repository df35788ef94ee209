//! Grandfathering: the GTINs registered before organisations held GS1 prefixes (issue 15,
//! finding 4) stay with the organisation that used each first.
//!
//! A company prefix's length cannot be read off its GTINs, so each GTIN already used is
//! recorded as a single-GTIN entry (its 12 digits after the indicator digit, so the GTIN-14s of
//! its groupings too) of the organisation whose passport, or else output lot, used it first: it
//! keeps registering new serials under it. An organisation that used the same GTIN later (a
//! squat) keeps its passports and lots but registers no more under it; admins then add the real
//! prefixes.
//!
//! It runs once, after every service's migrations (the passports and lots are the passport and
//! custody services' tables, the entries the accounts'): the accounts migration that created the
//! prefixes left a row in `gs1_grandfathering`, deleted in the transaction that records the
//! entries. Several processes starting at once wait for each other on that row (PostgreSQL) or
//! the one writer (SQLite), and an entry recorded twice is kept once.

use reetrace_core::db::{Db, Sql, StoreError};

/// The first organisation to register a passport under each GTIN (earliest passport, then id),
/// unless an entry covers the GTIN already.
const PASSPORTS: &str = "INSERT INTO gs1_prefixes (prefix, org_id, kind, grandfathered, created_at) \
     SELECT digits, org_id, 'gtin', TRUE, created_at FROM ( \
         SELECT substr(gtin, 2, 12) AS digits, org_id, created_at, \
                row_number() OVER (PARTITION BY substr(gtin, 2, 12) ORDER BY created_at, id) AS n \
         FROM passports WHERE gtin IS NOT NULL) AS registrants \
     WHERE n = 1 AND org_id IN (SELECT id FROM orgs) AND NOT EXISTS ( \
         SELECT 1 FROM gs1_prefixes g WHERE substr(digits, 1, length(g.prefix)) = g.prefix) \
     ON CONFLICT DO NOTHING";

/// The first recycler to name an output lot with each GTIN no entry covers (recorded after the
/// passports: a GTIN a manufacturer registered stays the manufacturer's).
const LOTS: &str = "INSERT INTO gs1_prefixes (prefix, org_id, kind, grandfathered, created_at) \
     SELECT digits, org_id, 'gtin', TRUE, created_at FROM ( \
         SELECT substr(l.gtin, 2, 12) AS digits, t.org_id, l.created_at, \
                row_number() OVER (PARTITION BY substr(l.gtin, 2, 12) \
                                   ORDER BY l.created_at, l.lot_id) AS n \
         FROM custody_lots l JOIN custody_transformations t ON t.id = l.transformation_id \
         WHERE l.gtin IS NOT NULL) AS registrants \
     WHERE n = 1 AND org_id IN (SELECT id FROM orgs) AND NOT EXISTS ( \
         SELECT 1 FROM gs1_prefixes g WHERE substr(digits, 1, length(g.prefix)) = g.prefix) \
     ON CONFLICT DO NOTHING";

/// Records the grandfathered GTINs if this database has not yet; returns how many entries were
/// recorded (zero when it had).
pub async fn run(db: &Db) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    let pending: Option<i64> = Sql::new(format!(
        "SELECT CAST(id AS BIGINT) FROM gs1_grandfathering{}",
        db.dialect().for_update()
    ))
    .scalar_optional(&mut tx)
    .await?;
    if pending.is_none() {
        tx.rollback().await?;
        return Ok(0);
    }
    let recorded =
        Sql::new(PASSPORTS).execute(&mut tx).await? + Sql::new(LOTS).execute(&mut tx).await?;
    Sql::new("DELETE FROM gs1_grandfathering")
        .execute(&mut tx)
        .await?;
    tx.commit().await?;
    if recorded > 0 {
        tracing::info!(
            recorded,
            "GTINs registered before GS1 prefixes recorded for their first registrants"
        );
    }
    Ok(recorded)
}
