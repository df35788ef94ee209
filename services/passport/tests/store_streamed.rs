//! Bulk inserts while the rows are still being signed (`insert_passports_streamed`), on SQLite
//! and PostgreSQL: chunks stored as they arrive in one transaction, an atomic conflict in a
//! later chunk refusing the whole batch, and a signer that stops short storing nothing.

#![allow(clippy::unwrap_used)]

mod support;

use reetrace_core::backend_test;
use reetrace_core::domain::idempotency::StoredResponse;
use reetrace_core::testing::TestDatabase;
use reetrace_passport::domain::passport::NewPassport;
use reetrace_passport::store::{IdempotentWrite, SignedChunk};
use support::{Stores, open, random_items};
use uuid::Uuid;

fn answer(org_id: Uuid, key: &str) -> IdempotentWrite {
    IdempotentWrite {
        org_id,
        key: key.into(),
        respond: Box::new(|created: &[bool]| {
            Some(StoredResponse {
                fingerprint: [3; 32],
                status: 200,
                content_type: "application/json".into(),
                body: serde_json::to_string(created).unwrap(),
            })
        }),
    }
}

/// Sends `rows` in chunks of `size`, then `Done` unless `complete` is false.
fn send(
    rows: Vec<NewPassport>,
    size: usize,
    complete: bool,
) -> reetrace_passport::store::SignedRows {
    let (out, rx) = tokio::sync::mpsc::channel(rows.len() + 1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        out.try_send(SignedChunk::Rows(rows.by_ref().take(size).collect()))
            .unwrap();
    }
    if complete {
        out.try_send(SignedChunk::Done).unwrap();
    }
    rx
}

async fn stored(store: &Stores, rows: &[NewPassport]) -> usize {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    store.passports(&ids).await.unwrap().len()
}

backend_test!(
    chunks_are_stored_as_they_arrive_in_one_transaction,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let rows = random_items(&store, org, 7).await;
        let created = store
            .insert_passports_streamed(send(rows.clone(), 3, true), false, Some(answer(org, "s")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(created, vec![true; 7]);
        assert_eq!(stored(&store, &rows).await, 7);
        let feed = store.feed_after(0, 100).await.unwrap();
        let order: Vec<Uuid> = feed.iter().map(|f| f.passport_id).collect();
        let seqs: Vec<i64> = feed.iter().map(|f| f.seq).collect();
        assert_eq!(
            order,
            rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            "events in row order"
        );
        assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
        let kept = store.stored_response(org, "s").await.unwrap().unwrap();
        assert_eq!(kept.body, serde_json::to_string(&created).unwrap());

        // A row of a later chunk that exists already: not created, the others are.
        let mut more = random_items(&store, org, 5).await;
        more[4].gtin = rows[0].gtin;
        more[4].serial = rows[0].serial.clone();
        let created = store
            .insert_passports_streamed(send(more.clone(), 2, true), false, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(created, vec![true, true, true, true, false]);
        assert_eq!(stored(&store, &more[..4]).await, 4);
    }
);

backend_test!(
    an_atomic_conflict_in_a_later_chunk_stores_nothing,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let first = random_items(&store, org, 1).await;
        store.insert_passports(&first, false, None).await.unwrap();
        let mut rows = random_items(&store, org, 6).await;
        rows[3].gtin = first[0].gtin;
        rows[3].serial = first[0].serial.clone();
        // The last row repeats an earlier row of the batch, in another chunk.
        rows[5].gtin = rows[0].gtin;
        rows[5].serial = rows[0].serial.clone();
        let created = store
            .insert_passports_streamed(send(rows.clone(), 2, true), true, Some(answer(org, "a")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(created, vec![true, true, true, false, true, false]);
        assert_eq!(stored(&store, &rows).await, 0);
        assert_eq!(
            store.feed_after(0, 100).await.unwrap().len(),
            1,
            "only the first passport's event"
        );
        assert_eq!(store.stored_response(org, "a").await.unwrap(), None);
    }
);

backend_test!(
    a_signer_that_stops_short_stores_nothing,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let rows = random_items(&store, org, 5).await;
        let outcome = store
            .insert_passports_streamed(send(rows.clone(), 2, false), false, Some(answer(org, "x")))
            .await
            .unwrap();
        assert_eq!(outcome, None);
        assert_eq!(stored(&store, &rows).await, 0);
        assert!(store.feed_after(0, 100).await.unwrap().is_empty());
        assert_eq!(store.stored_response(org, "x").await.unwrap(), None);
        // The same rows go in afterwards: nothing of the first attempt is left over.
        let created = store.insert_passports(&rows, true, None).await.unwrap();
        assert_eq!(created, vec![true; 5]);
    }
);
