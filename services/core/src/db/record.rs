//! [`record!`](crate::record): row types for both backends without `#[derive(sqlx::FromRow)]`,
//! whose proc macro (sqlx's `macros` feature) compiles a second sqlx and the bundled SQLite for
//! the host, the costliest duplicate of a cold build.

/// Makes a struct of columns a [`Record`](crate::db::Record): implements `sqlx::FromRow` for
/// SQLite's and PostgreSQL's rows, reading each field as `#[derive(sqlx::FromRow)]` does, with
/// `row.try_get("<field name>")` into the field's type.
///
/// Every field is listed, or the struct expression it builds does not compile. `field: "column"`
/// reads another column (a field cannot be named `type`); `field: flatten` decodes the field's
/// own record from the same row.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use uuid::Uuid;
///
/// struct OrgDb {
///     id: Uuid,
///     name: String,
/// }
///
/// struct KeyDb {
///     org: OrgDb,
///     kind: String,
///     created_at: DateTime<Utc>,
/// }
///
/// reetrace_core::record!(OrgDb { id, name });
/// reetrace_core::record!(KeyDb { org: flatten, kind: "type", created_at });
///
/// fn decodes_on_both_backends<T: reetrace_core::db::Record>() {}
/// decodes_on_both_backends::<KeyDb>();
/// ```
#[macro_export]
macro_rules! record {
    (@row $row:ty, $record:ident { $($field:ident $(: $how:tt)?),* }) => {
        impl<'r> $crate::db::__sqlx::FromRow<'r, $row> for $record {
            fn from_row(row: &'r $row) -> ::std::result::Result<Self, $crate::db::__sqlx::Error> {
                ::std::result::Result::Ok($record {
                    $($field: $crate::record!(@field row, $field $($how)?)?,)*
                })
            }
        }
    };
    (@field $row:ident, $field:ident) => {
        $crate::db::__sqlx::Row::try_get($row, ::std::stringify!($field))
    };
    (@field $row:ident, $field:ident flatten) => {
        $crate::db::__sqlx::FromRow::from_row($row)
    };
    (@field $row:ident, $field:ident $column:literal) => {
        $crate::db::__sqlx::Row::try_get($row, $column)
    };
    ($record:ident { $($field:ident $(: $how:tt)?),* $(,)? }) => {
        $crate::record!(
            @row $crate::db::__sqlx::sqlite::SqliteRow, $record { $($field $(: $how)?),* }
        );
        $crate::record!(
            @row $crate::db::__sqlx::postgres::PgRow, $record { $($field $(: $how)?),* }
        );
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sqlx::sqlite::SqlitePool;
    use uuid::Uuid;

    #[derive(Debug, PartialEq)]
    struct Inner {
        id: Uuid,
        note: Option<String>,
    }

    crate::record!(Inner { id, note });

    #[derive(Debug, PartialEq)]
    struct Outer {
        inner: Inner,
        kind: String,
        seq: i64,
    }

    crate::record!(Outer {
        inner: flatten,
        kind: "type",
        seq
    });

    #[tokio::test]
    async fn fields_are_read_by_name_renamed_or_flattened() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let id = Uuid::new_v4();
        let row = sqlx::query("SELECT $1 AS id, NULL AS note, 'lot' AS type, 7 AS seq")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        let outer: Outer = sqlx::FromRow::from_row(&row).unwrap();
        let inner = Inner { id, note: None };
        let expected = Outer {
            inner,
            kind: "lot".into(),
            seq: 7,
        };
        assert_eq!(outer, expected);

        let row = sqlx::query("SELECT 7 AS seq")
            .fetch_one(&pool)
            .await
            .unwrap();
        let missing = <Outer as sqlx::FromRow<_>>::from_row(&row).unwrap_err();
        assert!(matches!(missing, sqlx::Error::ColumnNotFound(c) if c == "id"));
    }
}
