//! One statement for both backends: [`Sql`] holds the text (PostgreSQL-style `$1` placeholders,
//! which sqlx also accepts on SQLite) and typed arguments; it runs on a pool or a transaction of
//! either backend and decodes rows into [`record!`](crate::record) types.
//!
//! ```ignore
//! let row: Option<PassportDb> = Sql::new("SELECT id, org_id FROM passports WHERE id = $1")
//!     .bind(id)
//!     .fetch_optional(self.db.reader())
//!     .await?;
//! ```
//!
//! Stores are plain `impl` blocks over a [`Db`](super::Db): no macro, no generic bounds, and
//! rustfmt and an IDE follow every line. What differs between the dialects is named in
//! [`Dialect`](super::Dialect).

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Postgres, Sqlite};
use uuid::Uuid;

use super::StoreError;

/// A row type both backends decode (a [`record!`](crate::record) struct, or a tuple).
pub trait Record:
    for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Record for T where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}

/// A column value both backends decode (for scalar queries).
pub trait Value:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> Value for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + Send
        + Unpin
{
}

/// The type of a NULL argument: PostgreSQL wants to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    I32,
    I64,
    F64,
    Text,
    Bytes,
    Uuid,
    Time,
    Date,
}

/// One bound value.
#[derive(Debug, Clone)]
pub enum Arg<'q> {
    Null(Kind),
    Bool(bool),
    I32(i32),
    I64(i64),
    F64(f64),
    Text(Cow<'q, str>),
    Bytes(Cow<'q, [u8]>),
    Uuid(Uuid),
    Time(DateTime<Utc>),
    Date(NaiveDate),
}

/// What can be bound to a statement; `Option<T>` binds a typed NULL for `None`.
pub trait Bind<'q> {
    fn into_arg(self) -> Arg<'q>;
    /// The NULL of this type.
    fn null() -> Arg<'q>
    where
        Self: Sized;
}

macro_rules! bind_by_value {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl<'q> Bind<'q> for $ty {
            fn into_arg(self) -> Arg<'q> {
                Arg::$variant(self.into())
            }
            fn null() -> Arg<'q> {
                Arg::Null(Kind::$variant)
            }
        }
    )*};
}

bind_by_value! {
    bool => Bool,
    i32 => I32,
    i64 => I64,
    f64 => F64,
    Uuid => Uuid,
    DateTime<Utc> => Time,
    NaiveDate => Date,
    String => Text,
    &'q str => Text,
    Cow<'q, str> => Text,
    Vec<u8> => Bytes,
    &'q [u8] => Bytes,
}

impl<'q> Bind<'q> for &'q String {
    fn into_arg(self) -> Arg<'q> {
        Arg::Text(Cow::Borrowed(self.as_str()))
    }
    fn null() -> Arg<'q> {
        Arg::Null(Kind::Text)
    }
}

impl<'q> Bind<'q> for &'q Vec<u8> {
    fn into_arg(self) -> Arg<'q> {
        Arg::Bytes(Cow::Borrowed(self.as_slice()))
    }
    fn null() -> Arg<'q> {
        Arg::Null(Kind::Bytes)
    }
}

impl<'q, const N: usize> Bind<'q> for &'q [u8; N] {
    fn into_arg(self) -> Arg<'q> {
        Arg::Bytes(Cow::Borrowed(self.as_slice()))
    }
    fn null() -> Arg<'q> {
        Arg::Null(Kind::Bytes)
    }
}

impl<'q, T: Bind<'q>> Bind<'q> for Option<T> {
    fn into_arg(self) -> Arg<'q> {
        match self {
            Some(value) => value.into_arg(),
            None => T::null(),
        }
    }
    fn null() -> Arg<'q> {
        T::null()
    }
}

impl<'q> Bind<'q> for Arg<'q> {
    fn into_arg(self) -> Arg<'q> {
        self
    }
    fn null() -> Arg<'q> {
        Arg::Null(Kind::Text)
    }
}

/// Where a statement runs: a pool (reads, or a write outside a transaction) or a transaction.
pub enum On<'c> {
    SqlitePool(&'c SqlitePool),
    PgPool(&'c PgPool),
    SqliteConn(&'c mut SqliteConnection),
    PgConn(&'c mut PgConnection),
}

/// A statement with its arguments; also a builder for statements whose text depends on the
/// input (multi-row `VALUES`, `IN` lists, optional filters).
#[derive(Debug, Clone)]
pub struct Sql<'q> {
    text: Cow<'static, str>,
    args: Vec<Arg<'q>>,
}

impl<'q> Sql<'q> {
    /// A statement; its text numbers its placeholders itself (`$1`, `$2`...).
    pub fn new(text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Binds the next numbered placeholder.
    pub fn bind(mut self, value: impl Bind<'q>) -> Self {
        self.args.push(value.into_arg());
        self
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.to_mut().push_str(text);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub fn push_bind(&mut self, value: impl Bind<'q>) -> &mut Self {
        self.args.push(value.into_arg());
        let n = self.args.len();
        let text = self.text.to_mut();
        text.push('$');
        text.push_str(&n.to_string());
        self
    }

    /// Appends `(v1, v2, ...)` binding each value (for `IN` lists); an empty list becomes
    /// `(NULL)`, which matches nothing.
    pub fn push_list<B: Bind<'q>>(&mut self, values: impl IntoIterator<Item = B>) -> &mut Self {
        self.push("(");
        let mut first = true;
        for value in values {
            if !first {
                self.push(", ");
            }
            first = false;
            self.push_bind(value);
        }
        if first {
            self.push("NULL");
        }
        self.push(")")
    }

    /// Appends `VALUES (...), (...)`: `row` binds the columns of one item with [`Row::bind`].
    pub fn push_values<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut row: impl FnMut(&mut Row<'_, 'q>, T),
    ) -> &mut Self {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            let mut columns = Row {
                sql: self,
                first: true,
            };
            row(&mut columns, item);
            self.push(")");
        }
        self
    }

    /// Runs the statement; returns how many rows it changed.
    pub async fn execute(self, on: impl Into<On<'_>>) -> Result<u64, StoreError> {
        Ok(match on.into() {
            On::SqlitePool(pool) => self.sqlite().execute(pool).await?.rows_affected(),
            On::SqliteConn(conn) => self.sqlite().execute(conn).await?.rows_affected(),
            On::PgPool(pool) => self.pg().execute(pool).await?.rows_affected(),
            On::PgConn(conn) => self.pg().execute(conn).await?.rows_affected(),
        })
    }

    /// Every row, decoded.
    pub async fn fetch_all<T: Record>(self, on: impl Into<On<'_>>) -> Result<Vec<T>, StoreError> {
        match on.into() {
            On::SqlitePool(pool) => decode_all(self.sqlite().fetch_all(pool).await?),
            On::SqliteConn(conn) => decode_all(self.sqlite().fetch_all(conn).await?),
            On::PgPool(pool) => decode_all(self.pg().fetch_all(pool).await?),
            On::PgConn(conn) => decode_all(self.pg().fetch_all(conn).await?),
        }
    }

    /// The first row, if any, decoded.
    pub async fn fetch_optional<T: Record>(
        self,
        on: impl Into<On<'_>>,
    ) -> Result<Option<T>, StoreError> {
        match on.into() {
            On::SqlitePool(pool) => decode_one(self.sqlite().fetch_optional(pool).await?),
            On::SqliteConn(conn) => decode_one(self.sqlite().fetch_optional(conn).await?),
            On::PgPool(pool) => decode_one(self.pg().fetch_optional(pool).await?),
            On::PgConn(conn) => decode_one(self.pg().fetch_optional(conn).await?),
        }
    }

    /// Exactly one row, decoded (none is an error).
    pub async fn fetch_one<T: Record>(self, on: impl Into<On<'_>>) -> Result<T, StoreError> {
        self.fetch_optional(on)
            .await?
            .ok_or_else(|| StoreError::from(sqlx::Error::RowNotFound))
    }

    /// The first column of every row.
    pub async fn scalars<T: Value>(self, on: impl Into<On<'_>>) -> Result<Vec<T>, StoreError> {
        let rows: Vec<(T,)> = self.fetch_all(on).await?;
        Ok(rows.into_iter().map(|(value,)| value).collect())
    }

    /// The first column of the first row, if there is a row.
    pub async fn scalar_optional<T: Value>(
        self,
        on: impl Into<On<'_>>,
    ) -> Result<Option<T>, StoreError> {
        let row: Option<(T,)> = self.fetch_optional(on).await?;
        Ok(row.map(|(value,)| value))
    }

    /// The first column of the one row.
    pub async fn scalar<T: Value>(self, on: impl Into<On<'_>>) -> Result<T, StoreError> {
        let (value,): (T,) = self.fetch_one(on).await?;
        Ok(value)
    }

    fn sqlite(self) -> Query<'q, Sqlite, SqliteArguments> {
        let text = match anonymous_placeholders(&self.text, self.args.len()) {
            Some(text) => Cow::Owned(text),
            None => self.text,
        };
        let mut query = sqlx::query(AssertSqlSafe(text));
        for arg in self.args {
            query = match arg {
                Arg::Null(kind) => match kind {
                    Kind::Bool => query.bind(None::<bool>),
                    Kind::I32 => query.bind(None::<i32>),
                    Kind::I64 => query.bind(None::<i64>),
                    Kind::F64 => query.bind(None::<f64>),
                    Kind::Text => query.bind(None::<String>),
                    Kind::Bytes => query.bind(None::<Vec<u8>>),
                    Kind::Uuid => query.bind(None::<Uuid>),
                    Kind::Time => query.bind(None::<DateTime<Utc>>),
                    Kind::Date => query.bind(None::<NaiveDate>),
                },
                Arg::Bool(v) => query.bind(v),
                Arg::I32(v) => query.bind(v),
                Arg::I64(v) => query.bind(v),
                Arg::F64(v) => query.bind(v),
                Arg::Text(Cow::Owned(v)) => query.bind(v),
                Arg::Text(Cow::Borrowed(v)) => query.bind(v.to_owned()),
                Arg::Bytes(Cow::Owned(v)) => query.bind(v),
                Arg::Bytes(Cow::Borrowed(v)) => query.bind(v.to_vec()),
                Arg::Uuid(v) => query.bind(v),
                Arg::Time(v) => query.bind(v),
                Arg::Date(v) => query.bind(v),
            };
        }
        query
    }

    fn pg(self) -> Query<'q, Postgres, PgArguments> {
        let mut query = sqlx::query(AssertSqlSafe(self.text));
        for arg in self.args {
            query = match arg {
                Arg::Null(kind) => match kind {
                    Kind::Bool => query.bind(None::<bool>),
                    Kind::I32 => query.bind(None::<i32>),
                    Kind::I64 => query.bind(None::<i64>),
                    Kind::F64 => query.bind(None::<f64>),
                    Kind::Text => query.bind(None::<String>),
                    Kind::Bytes => query.bind(None::<Vec<u8>>),
                    Kind::Uuid => query.bind(None::<Uuid>),
                    Kind::Time => query.bind(None::<DateTime<Utc>>),
                    Kind::Date => query.bind(None::<NaiveDate>),
                },
                Arg::Bool(v) => query.bind(v),
                Arg::I32(v) => query.bind(v),
                Arg::I64(v) => query.bind(v),
                Arg::F64(v) => query.bind(v),
                Arg::Text(v) => query.bind(v.into_owned()),
                Arg::Bytes(v) => query.bind(v.into_owned()),
                Arg::Uuid(v) => query.bind(v),
                Arg::Time(v) => query.bind(v),
                Arg::Date(v) => query.bind(v),
            };
        }
        query
    }
}

/// The text with its placeholders as SQLite's anonymous `?`, when it numbers them `$1`, `$2`...
/// in order, each once (as [`Sql::push_bind`] and [`Sql::push_values`] write them), one per
/// argument; `None` otherwise, or when there is none.
///
/// SQLite takes `$N` as a named parameter, and binding one looks its name up by a linear scan
/// of the statement's parameters: a multi-row `INSERT` of thousands of values would bind in
/// quadratic time. Anonymous parameters bind in constant time each. Quoted text is skipped.
fn anonymous_placeholders(text: &str, args: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut next = 1usize;
    let mut copied = 0;
    let mut quote = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'-' && bytes.get(i) == Some(&b'-') => {
                // A comment, to the end of the line.
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            None if b == b'$' => {
                let digits = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if i == digits {
                    continue;
                }
                if text[digits..i].parse::<usize>().ok()? != next {
                    return None;
                }
                next += 1;
                out.push_str(&text[copied..digits - 1]);
                out.push('?');
                copied = i;
            }
            None => {}
        }
    }
    if next == 1 || next - 1 != args {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The columns of one row of a `VALUES` list.
pub struct Row<'s, 'q> {
    sql: &'s mut Sql<'q>,
    first: bool,
}

impl<'q> Row<'_, 'q> {
    /// Binds the next column.
    pub fn bind(&mut self, value: impl Bind<'q>) -> &mut Self {
        if !self.first {
            self.sql.push(", ");
        }
        self.first = false;
        self.sql.push_bind(value);
        self
    }

    /// Writes the next column as SQL text (a constant or an expression).
    pub fn raw(&mut self, text: &str) -> &mut Self {
        if !self.first {
            self.sql.push(", ");
        }
        self.first = false;
        self.sql.push(text);
        self
    }
}

fn decode_all<R: sqlx::Row, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, R>,
{
    rows.iter()
        .map(|row| T::from_row(row).map_err(StoreError::from))
        .collect()
}

fn decode_one<R: sqlx::Row, T>(row: Option<R>) -> Result<Option<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, R>,
{
    row.as_ref()
        .map(|row| T::from_row(row).map_err(StoreError::from))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut sql = Sql::new("SELECT x FROM t WHERE a = ").bind(1i64);
        // `bind` after `new` does not write a placeholder; `push_bind` does.
        sql.push("$1 AND b IN ");
        sql.push_list(["p", "q"]);
        sql.push(" AND c = ").push_bind(Some(Uuid::nil()));
        assert_eq!(
            sql.text(),
            "SELECT x FROM t WHERE a = $1 AND b IN ($2, $3) AND c = $4"
        );
    }

    #[test]
    fn values_lists_separate_rows_and_columns() {
        let mut sql = Sql::new("INSERT INTO t (a, b, c) ");
        sql.push_values([(1i64, "x"), (2, "y")], |row, (a, b)| {
            row.bind(a).bind(b).raw("0");
        });
        assert_eq!(
            sql.text(),
            "INSERT INTO t (a, b, c) VALUES ($1, $2, 0), ($3, $4, 0)"
        );
    }

    #[test]
    fn pushed_placeholders_are_anonymous_on_sqlite() {
        let mut sql = Sql::new("INSERT INTO t (a, b) ");
        sql.push_values([(1i64, "x"), (2, "y")], |row, (a, b)| {
            row.bind(a).bind(b);
        });
        assert_eq!(sql.text(), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        assert_eq!(
            anonymous_placeholders(sql.text(), 4).as_deref(),
            Some("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)")
        );
        // Placeholders used twice keep their numbers.
        let sql = Sql::new("SELECT x FROM t WHERE ($1 IS NULL OR a = $1)").bind(1i64);
        assert_eq!(anonymous_placeholders(sql.text(), 1), None);
        let mut sql = Sql::new("SELECT x FROM t WHERE a = ");
        sql.push_bind(1i64).push(" OR b = $1");
        assert_eq!(anonymous_placeholders(sql.text(), 1), None);
    }

    #[test]
    fn an_empty_list_matches_nothing() {
        let mut sql = Sql::new("SELECT 1 WHERE 1 IN ");
        sql.push_list(Vec::<i64>::new());
        assert_eq!(sql.text(), "SELECT 1 WHERE 1 IN (NULL)");
    }

    #[test]
    fn placeholders_in_order_become_anonymous_on_sqlite() {
        let mut sql = Sql::new("INSERT INTO t (a, b) ");
        sql.push_values([(1i64, "x"), (2, "y")], |row, (a, b)| {
            row.bind(a).bind(b);
        });
        assert_eq!(
            anonymous_placeholders(sql.text(), 4).as_deref(),
            Some("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)")
        );
        let text = "SELECT '$2', \"$x\" FROM t -- it's $9\n\
                    WHERE a = $1 AND b = 'it''s $3' AND c = $2";
        assert_eq!(
            anonymous_placeholders(text, 2).as_deref(),
            Some(
                "SELECT '$2', \"$x\" FROM t -- it's $9\n\
                 WHERE a = ? AND b = 'it''s $3' AND c = ?"
            )
        );
        // Repeated, out of order, or not one per argument: left to SQLite's named parameters.
        assert_eq!(anonymous_placeholders("SELECT $1 WHERE $1 = 1", 1), None);
        assert_eq!(anonymous_placeholders("SELECT $2, $1", 2), None);
        assert_eq!(anonymous_placeholders("SELECT $1, '$2", 2), None);
        assert_eq!(anonymous_placeholders("SELECT 1", 0), None);
        assert_eq!(anonymous_placeholders("SELECT $ FROM t", 0), None);
    }

    #[test]
    fn none_binds_a_typed_null() {
        assert!(matches!(None::<Uuid>.into_arg(), Arg::Null(Kind::Uuid)));
        assert!(matches!(None::<&str>.into_arg(), Arg::Null(Kind::Text)));
        assert!(matches!(Some(3i64).into_arg(), Arg::I64(3)));
    }
}
