//! The instance's identity (`instance_identity`, one row) and its former base URLs
//! (`instance_aliases`), in the kernel's own migrations; see [`crate::domain::instance`].

use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, StoreError};
use crate::domain::instance::InstanceIdentity;

/// Reads and records the instance's identity.
#[derive(Debug, Clone)]
pub struct InstanceStore {
    db: Db,
}

/// Why a move was not made.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this database has no instance identity yet: start the instance once first")]
    NoIdentity,
    #[error("the instance is already at {0}")]
    AlreadyThere(String),
}

struct Row {
    public_base_url: String,
    log_origin: String,
    created_at: DateTime<Utc>,
    moved_at: Option<DateTime<Utc>>,
}

crate::record!(Row {
    public_base_url,
    log_origin,
    created_at,
    moved_at,
});

const SELECT: &str =
    "SELECT public_base_url, log_origin, created_at, moved_at FROM instance_identity WHERE id = 1";

impl InstanceStore {
    pub fn new(db: &Db) -> Self {
        Self { db: db.clone() }
    }

    /// The recorded identity, if the instance ever started on this database.
    pub async fn identity(&self) -> Result<Option<InstanceIdentity>, StoreError> {
        let Some(row) = Sql::new(SELECT)
            .fetch_optional::<Row>(self.db.writer())
            .await?
        else {
            return Ok(None);
        };
        let aliases: Vec<String> =
            Sql::new("SELECT base_url FROM instance_aliases ORDER BY retired_at, base_url")
                .scalars(self.db.writer())
                .await?;
        Ok(Some(InstanceIdentity {
            public_base_url: row.public_base_url,
            log_origin: row.log_origin,
            aliases,
            created_at: row.created_at,
            moved_at: row.moved_at,
        }))
    }

    /// Records the identity unless one is recorded already (two instances starting together
    /// on a fresh database: the first wins); returns the one recorded.
    pub async fn record(
        &self,
        public_base_url: &str,
        log_origin: &str,
        at: DateTime<Utc>,
    ) -> Result<InstanceIdentity, StoreError> {
        Sql::new(
            "INSERT INTO instance_identity (id, public_base_url, log_origin, created_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(public_base_url)
        .bind(log_origin)
        .bind(at)
        .execute(self.db.writer())
        .await?;
        self.identity()
            .await?
            .ok_or_else(|| StoreError::Corrupt("the instance identity was not recorded".into()))
    }

    /// Moves the instance to `to`: the current base URL becomes an alias (and `to` stops being
    /// one), in one transaction. The log's origin stays.
    pub async fn move_to(
        &self,
        to: &str,
        at: DateTime<Utc>,
    ) -> Result<InstanceIdentity, MoveError> {
        let mut tx = self.db.begin().await?;
        let lock = tx.dialect().for_update();
        let current: Option<String> = Sql::new(format!(
            "SELECT public_base_url FROM instance_identity WHERE id = 1{lock}"
        ))
        .scalar_optional(&mut tx)
        .await?;
        let current = current.ok_or(MoveError::NoIdentity)?;
        if current == to {
            return Err(MoveError::AlreadyThere(current));
        }
        Sql::new(
            "INSERT INTO instance_aliases (base_url, retired_at) VALUES ($1, $2) \
             ON CONFLICT (base_url) DO NOTHING",
        )
        .bind(current.as_str())
        .bind(at)
        .execute(&mut tx)
        .await?;
        Sql::new("DELETE FROM instance_aliases WHERE base_url = $1")
            .bind(to)
            .execute(&mut tx)
            .await?;
        Sql::new("UPDATE instance_identity SET public_base_url = $1, moved_at = $2 WHERE id = 1")
            .bind(to)
            .bind(at)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        self.identity().await?.ok_or(MoveError::NoIdentity)
    }
}
