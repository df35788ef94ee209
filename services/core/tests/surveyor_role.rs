//! The `surveyor` role's migration (accounts 10004) on a database that already holds
//! organisations, keys and GS1 prefixes, on SQLite (where the organisations' table is made
//! again) and PostgreSQL (where its check is replaced): every row and reference survives, the
//! new role is taken, an unknown one still refused, and foreign keys are enforced after it.

#![allow(clippy::unwrap_used)]

use reetrace_core::backend_test;
use reetrace_core::db::migrations::ACCOUNTS;
use reetrace_core::db::{Db, MigrationSet, PoolOptions, Sql};
use reetrace_core::testing::TestDatabase;
use uuid::Uuid;

/// The accounts migrations before the surveyor role.
static BEFORE: MigrationSet = MigrationSet {
    name: "accounts",
    sqlite: ACCOUNTS.sqlite.split_at(3).0,
    postgres: ACCOUNTS.postgres.split_at(3).0,
};

async fn org(db: &Db, id: Uuid, role: &str) -> Result<u64, reetrace_core::db::StoreError> {
    Sql::new("INSERT INTO orgs (id, name, role, created_at) VALUES ($1, 'Org', $2, $3)")
        .bind(id)
        .bind(role.to_owned())
        .bind(chrono::Utc::now())
        .execute(db.writer())
        .await
}

async fn key(db: &Db, org_id: Uuid, prefix: &str) -> Result<u64, reetrace_core::db::StoreError> {
    Sql::new(
        "INSERT INTO api_keys (id, org_id, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(org_id)
    .bind(prefix.to_owned())
    .bind(vec![0u8; 32])
    .bind(chrono::Utc::now())
    .execute(db.writer())
    .await
}

backend_test!(
    the_surveyor_role_keeps_every_organisation_and_reference,
    |db: TestDatabase| async move {
        assert_eq!(BEFORE.sqlite.len(), 3);
        let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        conn.migrate(&BEFORE).await.unwrap();
        let maker = Uuid::new_v4();
        org(&conn, maker, "manufacturer").await.unwrap();
        key(&conn, maker, "rtk_aaaaaa").await.unwrap();
        Sql::new(
            "INSERT INTO gs1_prefixes (prefix, org_id, kind, grandfathered, created_at) \
             VALUES ('4012345', $1, 'company_prefix', false, $2)",
        )
        .bind(maker)
        .bind(chrono::Utc::now())
        .execute(conn.writer())
        .await
        .unwrap();
        assert!(org(&conn, Uuid::new_v4(), "surveyor").await.is_err());

        conn.migrate(&ACCOUNTS).await.unwrap();
        let surveyor = Uuid::new_v4();
        org(&conn, surveyor, "surveyor").await.unwrap();
        key(&conn, surveyor, "rtk_bbbbbb").await.unwrap();
        assert!(org(&conn, Uuid::new_v4(), "wizard").await.is_err());
        // References still checked: a key of no organisation is refused.
        assert!(key(&conn, Uuid::new_v4(), "rtk_cccccc").await.is_err());
        let keys: i64 = Sql::new("SELECT COUNT(*) FROM api_keys k JOIN orgs o ON o.id = k.org_id")
            .scalar(conn.reader())
            .await
            .unwrap();
        assert_eq!(keys, 2);
        let prefixes: i64 = Sql::new("SELECT COUNT(*) FROM gs1_prefixes WHERE org_id = $1")
            .bind(maker)
            .scalar(conn.reader())
            .await
            .unwrap();
        assert_eq!(prefixes, 1);
    }
);
