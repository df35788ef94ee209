//! A feed event a consumer cannot apply goes to the quarantine and the consumer moves on;
//! later events of its subject wait with it; a replay after a fix applies them in feed order.
//! On both backends (the quarantine is a table of the kernel's own migrations).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use reetrace_core::backend_test;
use reetrace_core::db::{Db, PoolOptions, StoreError};
use reetrace_core::domain::feed::CloudEvent;
use reetrace_core::service::feed::{
    Consumer, FeedError, FeedSource, Projection, Quarantines, ReplayOutcome,
};
use reetrace_core::store::lease::MIGRATIONS;
use reetrace_core::store::quarantine;
use reetrace_core::testing::TestDatabase;
use serde_json::json;

fn event(seq: i64, subject: &str, poison: bool) -> CloudEvent {
    CloudEvent {
        specversion: "1.0".into(),
        id: format!("e{seq}"),
        source: "/test".into(),
        kind: "org.test.changed".into(),
        subject: Some(subject.into()),
        time: Utc::now(),
        datacontenttype: "application/json".into(),
        sequence: seq.to_string(),
        data: json!({"poison": poison}),
    }
}

struct Feed(Vec<CloudEvent>);

#[async_trait]
impl FeedSource for Feed {
    fn stream(&self) -> &str {
        "test"
    }
    async fn read(&self, after: i64, limit: u32) -> Result<Vec<CloudEvent>, FeedError> {
        Ok(self
            .0
            .iter()
            .filter(|e| e.seq().unwrap() > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

/// Applies events in memory: refuses poisoned ones until `fixed`, counts per subject.
#[derive(Default)]
struct Memory {
    cursor: Mutex<i64>,
    applied: Mutex<BTreeMap<String, Vec<i64>>>,
    fixed: Mutex<bool>,
    /// Fails like a database that is down (never a reason to quarantine).
    down: Mutex<bool>,
}

#[async_trait]
impl Projection for Memory {
    fn name(&self) -> &str {
        "test.memory"
    }
    async fn cursor(&self, _stream: &str) -> Result<i64, StoreError> {
        Ok(*self.cursor.lock().unwrap())
    }
    async fn apply(&self, _stream: &str, events: &[CloudEvent]) -> Result<(), StoreError> {
        if *self.down.lock().unwrap() {
            return Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut));
        }
        let fixed = *self.fixed.lock().unwrap();
        if let Some(bad) = events.iter().find(|e| e.data["poison"] == true && !fixed) {
            return Err(StoreError::Corrupt(format!(
                "event {} makes no sense",
                bad.id
            )));
        }
        let mut applied = self.applied.lock().unwrap();
        for e in events {
            applied
                .entry(e.subject.clone().unwrap())
                .or_default()
                .push(e.seq().unwrap());
        }
        let last = events.last().unwrap().seq().unwrap();
        let mut cursor = self.cursor.lock().unwrap();
        *cursor = (*cursor).max(last);
        Ok(())
    }
    async fn advance(&self, _stream: &str, position: i64) -> Result<(), StoreError> {
        let mut cursor = self.cursor.lock().unwrap();
        *cursor = (*cursor).max(position);
        Ok(())
    }
}

backend_test!(
    a_poisoned_event_is_quarantined_with_what_waits_for_it_and_replayed_after_a_fix,
    |db: TestDatabase| async move {
        let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        conn.migrate(&MIGRATIONS).await.unwrap();
        let quarantines = Quarantines::new(quarantine::open(&conn));
        // a: 1, 3 (poisoned), 5 (waits for 3); b: 2, 4, 6, unaffected.
        let events = vec![
            event(1, "a", false),
            event(2, "b", false),
            event(3, "a", true),
            event(4, "b", false),
            event(5, "a", false),
            event(6, "b", false),
        ];
        let memory = Arc::new(Memory::default());
        let consumer = Consumer::new(Arc::new(Feed(events.clone())), memory.clone())
            .with_quarantine(quarantines.of("test.memory"));
        let applied = consumer.catch_up().await.unwrap();
        assert_eq!(applied, 4);
        assert_eq!(*memory.cursor.lock().unwrap(), 6, "the consumer moved on");
        assert_eq!(memory.applied.lock().unwrap()["a"], [1]);
        assert_eq!(memory.applied.lock().unwrap()["b"], [2, 4, 6]);
        let kept = quarantines.store.list(None, None, 100).await.unwrap();
        let seqs: Vec<i64> = kept.iter().map(|q| q.seq).collect();
        assert_eq!(seqs, [3, 5]);
        assert!(kept[0].reason.contains("makes no sense"));
        assert!(kept[1].reason.contains("waits"));
        assert_eq!(
            quarantines
                .counters
                .get_or_create(&reetrace_core::service::feed::ConsumerLabel {
                    consumer: "test.memory".into()
                })
                .get(),
            2
        );

        // A later event of the held subject waits too, in a later batch.
        let mut more = events.clone();
        more.push(event(7, "a", false));
        let consumer = Consumer::new(Arc::new(Feed(more)), memory.clone())
            .with_quarantine(quarantines.of("test.memory"));
        assert_eq!(consumer.catch_up().await.unwrap(), 0);
        assert_eq!(quarantines.store.count().await.unwrap(), 3);

        // Still refused before the fix: nothing leaves.
        match consumer.replay(3).await.unwrap() {
            ReplayOutcome::StillRefused(why) => assert!(why.contains("makes no sense")),
            other => panic!("{other:?}"),
        }
        assert_eq!(quarantines.store.count().await.unwrap(), 3);
        // After the fix: 3, 5 and 7, in feed order; the cursor does not move back.
        *memory.fixed.lock().unwrap() = true;
        assert_eq!(
            consumer.replay(3).await.unwrap(),
            ReplayOutcome::Applied(vec![3, 5, 7])
        );
        assert_eq!(memory.applied.lock().unwrap()["a"], [1, 3, 5, 7]);
        assert_eq!(quarantines.store.count().await.unwrap(), 0);
        assert_eq!(*memory.cursor.lock().unwrap(), 7);
        assert_eq!(consumer.replay(3).await.unwrap(), ReplayOutcome::NotFound);
    }
);

backend_test!(
    a_database_that_is_down_is_retried_never_quarantined,
    |db: TestDatabase| async move {
        let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        conn.migrate(&MIGRATIONS).await.unwrap();
        let quarantines = Quarantines::new(quarantine::open(&conn));
        let memory = Arc::new(Memory::default());
        *memory.down.lock().unwrap() = true;
        let consumer = Consumer::new(
            Arc::new(Feed(vec![event(1, "a", false), event(2, "a", false)])),
            memory.clone(),
        )
        .with_quarantine(quarantines.of("test.memory"));
        assert!(consumer.catch_up().await.is_err());
        assert_eq!(*memory.cursor.lock().unwrap(), 0);
        assert_eq!(quarantines.store.count().await.unwrap(), 0);
        *memory.down.lock().unwrap() = false;
        assert_eq!(consumer.catch_up().await.unwrap(), 2);
    }
);
