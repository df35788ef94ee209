//! Leases: at most one instance does a piece of background work at a time (a feed consumer,
//! the checkpoint publisher), and another takes over within a lease's lifetime when it dies.

use std::time::Duration;

use crate::db::{Db, MigrationSet, Sql, StoreError};

/// The kernel's own migrations (leases).
pub static MIGRATIONS: MigrationSet = crate::db::migrations::CORE;

/// Takes, renews and gives back leases.
#[derive(Debug, Clone)]
pub struct Leases {
    db: Db,
    /// This process's name in the lease table.
    holder: String,
}

const ACQUIRE: &str = "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms \
     WHERE leases.holder = excluded.holder OR leases.expires_ms < $4 RETURNING holder";
const RELEASE: &str = "UPDATE leases SET expires_ms = 0 WHERE name = $1 AND holder = $2";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Leases {
    /// Leases held as `holder` (unique per process: host name and a random suffix).
    pub fn new(db: Db, holder: impl Into<String>) -> Self {
        Self {
            db,
            holder: holder.into(),
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Takes or renews `name` for `ttl`; false when another live holder has it.
    pub async fn try_acquire(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = now_ms();
        let expires = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let row: Option<String> = Sql::new(ACQUIRE)
            .bind(name)
            .bind(&self.holder)
            .bind(expires)
            .bind(now)
            .scalar_optional(self.db.writer())
            .await?;
        Ok(row.is_some())
    }

    /// Gives `name` back (on shutdown), so another instance takes it at once.
    pub async fn release(&self, name: &str) -> Result<(), StoreError> {
        Sql::new(RELEASE)
            .bind(name)
            .bind(&self.holder)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }
}
