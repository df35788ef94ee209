//! What a store operation can fail with.

/// What a store operation can fail with, in terms a handler can answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write.
    #[error("conflicts with an existing record ({constraint})")]
    Conflict { constraint: String },
    /// A referenced record does not exist.
    #[error("refers to a record that does not exist")]
    MissingReference,
    /// Text the database cannot store (a NUL character).
    #[error("text contains a NUL character, which cannot be stored")]
    InvalidText,
    /// The database is unreachable or the pool is exhausted.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Two writers raced; the caller may retry.
    #[error("a concurrent write conflicted; retry")]
    Serialization(#[source] sqlx::Error),
    /// Stored data that does not decode into our types.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err)
            }
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                match db.kind() {
                    ErrorKind::UniqueViolation => StoreError::Conflict {
                        constraint: db.constraint().unwrap_or("unique").to_owned(),
                    },
                    ErrorKind::ForeignKeyViolation => StoreError::MissingReference,
                    _ if code == "22021" || code == "22P05" => StoreError::InvalidText,
                    // PostgreSQL serialization failure / deadlock; SQLite busy or locked.
                    _ if matches!(code.as_str(), "40001" | "40P01" | "5" | "6" | "517") => {
                        StoreError::Serialization(err)
                    }
                    _ => StoreError::Database(err),
                }
            }
            _ => StoreError::Database(err),
        }
    }
}
