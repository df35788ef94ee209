//! Storage conformance: the account store behaves the same on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

use chrono::Utc;
use reetrace_core::backend_test;
use reetrace_core::db::{Db, PoolOptions, StoreError};
use reetrace_core::domain::account::{KeyRow, Org};
use reetrace_core::domain::{NewApiKey, Role};
use reetrace_core::store::accounts::{AccountStore, MIGRATIONS};
use reetrace_core::testing::TestDatabase;
use uuid::Uuid;

async fn open(db: &TestDatabase) -> (Db, std::sync::Arc<dyn AccountStore>) {
    let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    conn.migrate(&MIGRATIONS).await.unwrap();
    // Migrating twice is harmless.
    conn.migrate(&MIGRATIONS).await.unwrap();
    let store = reetrace_core::store::accounts::open(&conn);
    (conn, store)
}

fn org(name: &str, role: Role) -> Org {
    Org {
        id: Uuid::now_v7(),
        name: name.into(),
        role,
        operator_id: None,
        created_at: reetrace_core::domain::account::now(),
    }
}

fn key(org_id: Uuid) -> (NewApiKey, KeyRow) {
    let key = NewApiKey::generate();
    let row = KeyRow {
        id: Uuid::now_v7(),
        org_id,
        prefix: key.prefix.clone(),
        hash: key.hash,
        label: None,
        created_at: reetrace_core::domain::account::now(),
    };
    (key, row)
}

backend_test!(orgs_round_trip_exactly, |db: TestDatabase| async move {
    let (_conn, store) = open(&db).await;
    let mut acme = org("Acme", Role::Manufacturer);
    acme.operator_id = Some("eori:FR123456789000".parse().unwrap());
    let (_, row) = key(acme.id);
    store.insert_org(&acme, &row).await.unwrap();
    assert_eq!(store.org(acme.id).await.unwrap().unwrap(), acme);
    assert!(store.org(Uuid::now_v7()).await.unwrap().is_none());
});

backend_test!(
    org_listing_filters_and_pages_in_creation_order,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let mut ids = Vec::new();
        for (i, role) in [
            Role::Recycler,
            Role::Manufacturer,
            Role::Recycler,
            Role::Recycler,
        ]
        .into_iter()
        .enumerate()
        {
            let o = org(&format!("org {i}"), role);
            let (_, row) = key(o.id);
            store.insert_org(&o, &row).await.unwrap();
            if role == Role::Recycler {
                ids.push(o.id);
            }
        }
        let first = store
            .list_orgs(Some(Role::Recycler), None, 2)
            .await
            .unwrap();
        assert_eq!(first.iter().map(|o| o.id).collect::<Vec<_>>(), ids[..2]);
        let rest = store
            .list_orgs(Some(Role::Recycler), Some(first[1].id), 2)
            .await
            .unwrap();
        assert_eq!(rest.iter().map(|o| o.id).collect::<Vec<_>>(), ids[2..]);
        assert_eq!(store.list_orgs(None, None, 100).await.unwrap().len(), 4);
    }
);

backend_test!(
    keys_are_found_by_prefix_and_revoked_once,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let o = org("Acme", Role::Manufacturer);
        let (first, row) = key(o.id);
        store.insert_org(&o, &row).await.unwrap();
        let found = store.key_by_prefix(&first.prefix).await.unwrap().unwrap();
        assert_eq!(found.org_id, o.id);
        assert_eq!(found.hash, first.hash);
        assert_eq!(found.role, Role::Manufacturer);
        assert!(!found.revoked);

        let at = reetrace_core::domain::account::now();
        let revoked = store.revoke_key(o.id, row.id, at).await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(at));
        // A second revocation keeps the first time.
        let again = store
            .revoke_key(o.id, row.id, Utc::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.revoked_at, Some(at));
        assert!(
            store
                .key_by_prefix(&first.prefix)
                .await
                .unwrap()
                .unwrap()
                .revoked
        );
        // Another organisation's key id is not found.
        assert!(
            store
                .revoke_key(Uuid::now_v7(), row.id, at)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .revoke_key_by_prefix("nosuchkey0", at)
                .await
                .unwrap()
                .is_none()
        );
    }
);

backend_test!(
    constraints_map_to_store_errors,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let mut a = org("A", Role::Recycler);
        a.operator_id = Some("lei:506700GE1G29325QX363".parse().unwrap());
        let (_, row) = key(a.id);
        store.insert_org(&a, &row).await.unwrap();
        let mut b = org("B", Role::Recycler);
        b.operator_id = a.operator_id.clone();
        let (_, row_b) = key(b.id);
        let err = store.insert_org(&b, &row_b).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        // The organisation was not half-written.
        assert!(store.org(b.id).await.unwrap().is_none());

        let (_, orphan) = key(Uuid::now_v7());
        let err = store.insert_key(&orphan).await.unwrap_err();
        assert!(matches!(err, StoreError::MissingReference), "{err:?}");

        let mut nul = org("A\0B", Role::Recycler);
        nul.id = Uuid::now_v7();
        let (_, row_nul) = key(nul.id);
        if let Err(err) = store.insert_org(&nul, &row_nul).await {
            // PostgreSQL refuses NUL in text; SQLite stores it. The API refuses it before either.
            assert!(matches!(err, StoreError::InvalidText), "{err:?}");
        }
    }
);
