//! What a backup holds of custody, on both backends: the archived tables are every custody
//! table of the live schema, with its columns in order and of the declared kinds; a restore
//! refuses a target that holds custody events and makes room for the archived log head.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use reetrace_core::backend_test;
use reetrace_core::db::{ArchiveError, Backend, Db, Kind, PoolOptions, Sql};
use reetrace_core::testing::TestDatabase;
use reetrace_custody::domain::event::NewEvent;
use reetrace_custody::store::{self, Write};
use uuid::Uuid;

async fn connect(db: &TestDatabase) -> Db {
    let db = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    db.migrate(&store::MIGRATIONS).await.unwrap();
    db
}

/// Whether a live column type holds values of `kind`.
fn fits(backend: Backend, kind: Kind, live: &str) -> bool {
    let live = live.to_ascii_lowercase();
    match (backend, kind) {
        (Backend::Sqlite, Kind::Uuid | Kind::Bytes) => live == "blob",
        (Backend::Sqlite, Kind::I32 | Kind::I64) => live == "integer",
        (Backend::Sqlite, Kind::Text | Kind::Time | Kind::Date) => live == "text",
        (Backend::Postgres, Kind::Uuid) => live == "uuid",
        (Backend::Postgres, Kind::Bytes) => live == "bytea",
        (Backend::Postgres, Kind::I32 | Kind::I64) => live == "bigint" || live == "integer",
        (Backend::Postgres, Kind::Text) => live == "text",
        (Backend::Postgres, Kind::Time) => live == "timestamp with time zone",
        (Backend::Postgres, Kind::Date) => live == "date",
        (_, Kind::Bool) => live == "boolean",
        (_, Kind::F64) => false,
    }
}

backend_test!(
    the_archived_columns_are_the_live_schema,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let archived = store::archive(&db);
        let tables = archived.archive_tables();
        let live_tables: Vec<String> = Sql::new(db.dialect().tables())
            .scalars(db.reader())
            .await
            .unwrap();
        let live: BTreeSet<&str> = live_tables
            .iter()
            .map(String::as_str)
            .filter(|t| t.starts_with("custody_"))
            .collect();
        let declared: BTreeSet<&str> = tables.iter().map(|t| t.name).collect();
        assert_eq!(
            declared, live,
            "every custody table is archived, and only those"
        );
        assert_eq!(declared.len(), tables.len(), "each table once");
        for table in tables {
            let columns: Vec<(String, String)> = Sql::new(db.dialect().columns_of_table())
                .bind(table.name)
                .fetch_all(db.reader())
                .await
                .unwrap();
            let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
            let declared: Vec<&str> = table.column_names().collect();
            assert_eq!(declared, names, "the columns of {} in order", table.name);
            for ((name, kind), (_, live)) in table.columns.iter().zip(&columns) {
                assert!(
                    fits(db.backend(), *kind, live),
                    "{}.{name} is declared {kind:?} but is {live}",
                    table.name
                );
            }
        }
        // Referenced tables come before the tables that refer to them.
        let position = |name: &str| tables.iter().position(|t| t.name == name).unwrap();
        assert!(position("custody_events") < position("custody_event_epcs"));
        assert!(position("custody_events") < position("custody_chain"));
        assert!(position("custody_lots") < position("custody_claims"));
    }
);

backend_test!(
    a_restore_needs_a_target_without_custody_events,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let archived = store::archive(&db);

        // A fresh target: the seeded log head makes way for the archived one.
        let mut tx = db.begin().await.unwrap();
        archived.prepare_restore(&mut tx).await.unwrap();
        assert_eq!(tx.count_rows("custody_log_head").await.unwrap(), 0);
        tx.rollback().await.unwrap();

        let subject = Uuid::now_v7();
        store::open(&db)
            .write(Write {
                events: vec![NewEvent {
                    event_id: "urn:uuid:00000000-0000-4000-8000-000000000001".into(),
                    event_hash: "ni:///sha-256;00?ver=CBV2.0".into(),
                    event_type: "ObjectEvent".into(),
                    action: "collect".into(),
                    biz_step: None,
                    biz_location: None,
                    event_time: reetrace_core::domain::account::now(),
                    org_id: Uuid::nil(),
                    document: "{}".into(),
                    data: "{}".into(),
                    subjects: vec![subject],
                    epcs: Vec::new(),
                }],
                ..Write::default()
            })
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        let refused = archived.prepare_restore(&mut tx).await.unwrap_err();
        assert!(
            matches!(
                refused,
                ArchiveError::NotEmpty {
                    table: "custody_events",
                    rows: 1
                }
            ),
            "{refused}"
        );
        tx.rollback().await.unwrap();
        assert_eq!(
            store::open(&db).log_size().await.unwrap(),
            1,
            "nothing was removed"
        );
    }
);
