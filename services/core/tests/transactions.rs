//! A transaction whose start is cancelled (a client hung up, a timeout) leaves no connection
//! behind inside a transaction. On PostgreSQL, a `BEGIN` sent but not yet answered when its
//! future was dropped used to hand the connection back to the pool inside a transaction the
//! pool did not know of: every later write on it stayed uncommitted, invisible to the other
//! connections and holding its locks, until the next transaction on that connection happened
//! to commit it (the fault test saw an instance hang at shutdown on such a lock). On both
//! backends.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reetrace_core::backend_test;
use reetrace_core::db::{Db, PoolOptions, Sql};
use reetrace_core::testing::TestDatabase;

backend_test!(
    a_cancelled_begin_leaves_no_open_transaction,
    |db: TestDatabase| async move {
        // One writer connection, so that every write below runs on the connection the
        // cancelled starts used.
        let options = PoolOptions {
            max_connections: 1,
            ..PoolOptions::default()
        };
        let writer = Db::connect(&db.url, &options).await.unwrap();
        let observer = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        Sql::new("CREATE TABLE cancelled_begin (id BIGINT PRIMARY KEY)")
            .execute(writer.writer())
            .await
            .unwrap();
        for round in 0..200_i64 {
            // Cancelled at every point from before the connection is taken to after the
            // answer (then the transaction is simply dropped).
            let wait = Duration::from_micros(u64::try_from(round % 50).unwrap() * 10);
            let _ = tokio::time::timeout(wait, writer.begin()).await;
            Sql::new("INSERT INTO cancelled_begin (id) VALUES ($1)")
                .bind(round)
                .execute(writer.writer())
                .await
                .unwrap();
            let seen: i64 = Sql::new("SELECT COUNT(*) FROM cancelled_begin WHERE id = $1")
                .bind(round)
                .scalar(observer.reader())
                .await
                .unwrap();
            assert_eq!(
                seen, 1,
                "round {round} (cancelled after {wait:?}): a write outside any transaction is \
                 not visible to another connection, so it ran inside a transaction left open"
            );
        }
        // And a transaction after all of that commits as usual.
        let mut tx = writer.begin().await.unwrap();
        Sql::new("INSERT INTO cancelled_begin (id) VALUES (-1)")
            .execute(&mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let total: i64 = Sql::new("SELECT COUNT(*) FROM cancelled_begin")
            .scalar(observer.reader())
            .await
            .unwrap();
        assert_eq!(total, 201);
    }
);
