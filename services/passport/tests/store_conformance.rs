//! Storage conformance: the passport stores behave the same on SQLite and PostgreSQL — status
//! lists as passports flip them, passports and their versions, status changes, the feed, the
//! backup of the tables (with core's issuing tables, whose own conformance is core's
//! `tests/issuing.rs`).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reetrace_core::backend_test;
use reetrace_core::db::{ArchiveError, Archived, Db, Kind, PoolOptions, Sql, StoreError};
use reetrace_core::domain::idempotency::StoredResponse;
use reetrace_core::domain::issuing::{Rotation, StatusRef};
use reetrace_core::domain::{Category, Gtin};
use reetrace_core::testing::{TestDatabase, signing_key_row};
use reetrace_passport::domain::passport::{
    CredentialFormat, FeedEventKind, FeedRow, Identity, ListFilter, Lookup, NewPassport,
    PassportStatus, StatusChange,
};
use reetrace_passport::store::{self, IdempotentWrite, VersionError};
use serde_json::json;
use support::{
    Stores, batch, bit, country, later, lot, model, now, open, own_batch, own_item, passports,
    random_gtin, random_items, serial, status_bit,
};
use tokio::task::JoinSet;
use uuid::Uuid;

/// More than any test writes.
const ALL: u32 = 100_000;

async fn feed(store: &Stores) -> Vec<FeedRow> {
    store.feed_after(0, ALL).await.unwrap()
}

fn seqs(rows: &[FeedRow]) -> Vec<i64> {
    rows.iter().map(|r| r.seq).collect()
}

fn ids(rows: &[NewPassport]) -> Vec<Uuid> {
    rows.iter().map(|r| r.id).collect()
}

/// Stores the rows one by one and checks that each was created.
async fn insert_all(store: &Stores, rows: &[NewPassport]) {
    let created = store.insert_passports(rows, false, None).await.unwrap();
    assert_eq!(created, vec![true; rows.len()]);
}

/// Whether one row was created on its own.
async fn insert_one(store: &Stores, row: &NewPassport) -> bool {
    store
        .insert_passports(std::slice::from_ref(row), false, None)
        .await
        .unwrap()[0]
}

/// An idempotent write whose answer records which rows were created.
fn answer_with_flags(org_id: Uuid, key: &str) -> IdempotentWrite {
    IdempotentWrite {
        org_id,
        key: key.into(),
        respond: Box::new(|created: &[bool]| Some(flags_answer(created))),
    }
}

fn flags_answer(created: &[bool]) -> StoredResponse {
    StoredResponse {
        fingerprint: [7; 32],
        status: 207,
        content_type: "application/json".into(),
        body: serde_json::to_string(created).unwrap(),
    }
}

fn change(
    status: PassportStatus,
    reason: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> StatusChange {
    StatusChange {
        status,
        reason: reason.map(str::to_owned),
        at,
        event_id: Uuid::new_v4(),
    }
}

// --- Status lists -------------------------------------------------------------------------

backend_test!(
    a_signed_list_is_cached_only_while_its_bits_are_unchanged,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let rows = random_items(&store, org, 3).await;
        insert_all(&store, &rows).await;
        let list_id = rows[0].status[0].list_id.clone();
        assert!(rows.iter().all(|r| r.status[0].list_id == list_id));

        let cached = |list_id: String| {
            let store = store.clone();
            async move {
                store
                    .issuing
                    .status_list(&list_id)
                    .await
                    .unwrap()
                    .unwrap()
                    .credential
            }
        };
        let fresh = store.issuing.status_list(&list_id).await.unwrap().unwrap();
        store
            .issuing
            .cache_signed(&list_id, fresh.updated_at, "signed-0")
            .await
            .unwrap();
        assert_eq!(cached(list_id.clone()).await.as_deref(), Some("signed-0"));

        // A signer read the list, then a revocation flipped a bit before it stored its
        // signature: the stale signature must not stick, and the old one is gone.
        let read = store.issuing.status_list(&list_id).await.unwrap().unwrap();
        let revoke = |at| change(PassportStatus::Revoked, None, at);
        let revoked = store
            .set_status(rows[0].id, &revoke(later(read.updated_at, 1)))
            .await
            .unwrap();
        assert!(revoked.is_some());
        let flipped = store.issuing.status_list(&list_id).await.unwrap().unwrap();
        assert_eq!(flipped.credential, None, "a bit flip drops the cached one");
        assert!(bit(&flipped.bits, rows[0].status[0].index));
        assert!(flipped.updated_at > read.updated_at);
        store
            .issuing
            .cache_signed(&list_id, read.updated_at, "stale")
            .await
            .unwrap();
        assert_eq!(cached(list_id.clone()).await, None);
        store
            .issuing
            .cache_signed(&list_id, flipped.updated_at, "signed-1")
            .await
            .unwrap();
        assert_eq!(cached(list_id.clone()).await.as_deref(), Some("signed-1"));

        // Flips stamped with the same instant as the previous one (two writers, one clock
        // tick) or an earlier one (a clock stepped back): a signature of the bits read before
        // them must still not stick.
        for (row, seconds) in [(&rows[1], 0), (&rows[2], -60)] {
            let before = store.issuing.status_list(&list_id).await.unwrap().unwrap();
            let at = later(before.updated_at, seconds);
            store
                .set_status(row.id, &revoke(at))
                .await
                .unwrap()
                .unwrap();
            store
                .issuing
                .cache_signed(&list_id, before.updated_at, "stale")
                .await
                .unwrap();
            let after = store.issuing.status_list(&list_id).await.unwrap().unwrap();
            assert_eq!(
                after.credential, None,
                "outdated bits were cached ({seconds} s)"
            );
            assert!(bit(&after.bits, row.status[0].index));
            store
                .issuing
                .cache_signed(&list_id, after.updated_at, "signed")
                .await
                .unwrap();
            assert_eq!(cached(list_id.clone()).await.as_deref(), Some("signed"));
        }
    }
);

// --- Inserting passports ------------------------------------------------------------------

backend_test!(
    a_batch_stores_the_rows_that_do_not_conflict_with_their_answer,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let gtin = random_gtin();
        let stored = passports(&store, org, vec![support::item(&gtin, "S-1")]).await;
        insert_all(&store, &stored).await;

        let mut rows = random_items(&store, org, 5).await;
        // Row 1 claims the stored passport's identity; row 4 repeats row 2's.
        rows[1].gtin = Some(gtin);
        rows[1].serial = Some(serial("S-1"));
        rows[4].gtin = rows[2].gtin;
        rows[4].serial = rows[2].serial.clone();
        let created = store
            .insert_passports(&rows, false, Some(answer_with_flags(org, "bulk-1")))
            .await
            .unwrap();
        let expected = vec![true, false, true, true, false];
        assert_eq!(created, expected);

        for (row, created) in rows.iter().zip(&expected) {
            let found = store.passport(row.id).await.unwrap();
            let versions = store.versions(row.id).await.unwrap();
            if *created {
                let found = found.unwrap();
                assert_eq!((found.version, found.status), (1, PassportStatus::Active));
                assert_eq!(found.gtin, row.gtin);
                assert_eq!(found.serial, row.serial);
                assert_eq!(versions.len(), 1);
                assert_eq!(versions[0].credential, row.credential);
                assert_eq!(versions[0].status, row.status);
            } else {
                assert!(found.is_none());
                assert!(versions.is_empty());
            }
        }
        // The stored passport keeps its identity.
        let owner = store
            .find(&Identity::Item {
                gtin,
                serial: serial("S-1"),
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(owner.id, stored[0].id);

        let events = feed(&store).await;
        assert_eq!(seqs(&events), vec![1, 2, 3, 4]);
        assert!(
            events
                .iter()
                .all(|e| e.kind == FeedEventKind::Issued && e.version == 1)
        );
        assert_eq!(
            events.iter().map(|e| e.passport_id).collect::<Vec<_>>(),
            vec![stored[0].id, rows[0].id, rows[2].id, rows[3].id]
        );
        assert_eq!(
            events[2].credential.as_deref(),
            Some(rows[2].credential.as_str())
        );
        assert_eq!(
            store.stored_response(org, "bulk-1").await.unwrap(),
            Some(flags_answer(&expected))
        );

        // An answer of None keeps nothing.
        let more = random_items(&store, org, 1).await;
        let write = IdempotentWrite {
            org_id: org,
            key: "bulk-2".into(),
            respond: Box::new(|_| None),
        };
        assert_eq!(
            store
                .insert_passports(&more, false, Some(write))
                .await
                .unwrap(),
            vec![true]
        );
        assert_eq!(store.stored_response(org, "bulk-2").await.unwrap(), None);
    }
);

backend_test!(
    an_atomic_batch_with_a_conflict_stores_nothing,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let stored = random_items(&store, org, 1).await;
        insert_all(&store, &stored).await;

        let mut rows = random_items(&store, org, 4).await;
        rows[3].gtin = stored[0].gtin;
        rows[3].serial = stored[0].serial.clone();
        let created = store
            .insert_passports(&rows, true, Some(answer_with_flags(org, "atomic-1")))
            .await
            .unwrap();
        assert_eq!(created, vec![true, true, true, false]);
        for row in &rows {
            assert!(store.passport(row.id).await.unwrap().is_none());
            assert!(store.versions(row.id).await.unwrap().is_empty());
        }
        assert!(store.passports(&ids(&rows)).await.unwrap().is_empty());
        assert_eq!(
            seqs(&feed(&store).await),
            vec![1],
            "no feed row for the refused batch"
        );
        assert_eq!(store.stored_response(org, "atomic-1").await.unwrap(), None);

        // A duplicate within the batch refuses it too.
        let mut rows = random_items(&store, org, 2).await;
        rows[1].gtin = rows[0].gtin;
        rows[1].serial = rows[0].serial.clone();
        let created = store.insert_passports(&rows, true, None).await.unwrap();
        assert_eq!(created, vec![true, false]);
        assert!(store.passports(&ids(&rows)).await.unwrap().is_empty());

        // The sequence did not move: the next event directly follows the first.
        let next = random_items(&store, org, 2).await;
        let created = store
            .insert_passports(&next, true, Some(answer_with_flags(org, "atomic-1")))
            .await
            .unwrap();
        assert_eq!(created, vec![true, true]);
        assert_eq!(seqs(&feed(&store).await), vec![1, 2, 3]);
        assert_eq!(
            store.stored_response(org, "atomic-1").await.unwrap(),
            Some(flags_answer(&[true, true]))
        );
    }
);

backend_test!(
    a_reused_idempotency_key_is_a_conflict_and_stores_nothing,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let first = random_items(&store, org, 2).await;
        store
            .insert_passports(&first, false, Some(answer_with_flags(org, "k")))
            .await
            .unwrap();
        let second = random_items(&store, org, 2).await;
        let err = store
            .insert_passports(&second, false, Some(answer_with_flags(org, "k")))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert!(store.passports(&ids(&second)).await.unwrap().is_empty());
        for row in &second {
            assert!(store.versions(row.id).await.unwrap().is_empty());
        }
        let events = feed(&store).await;
        assert_eq!(seqs(&events), vec![1, 2]);
        assert!(events.iter().all(|e| ids(&first).contains(&e.passport_id)));
        assert_eq!(
            store.stored_response(org, "k").await.unwrap(),
            Some(flags_answer(&[true, true]))
        );
        // The same key of another organisation is another key.
        let other = Uuid::new_v4();
        let theirs = random_items(&store, other, 1).await;
        store
            .insert_passports(&theirs, false, Some(answer_with_flags(other, "k")))
            .await
            .unwrap();
        assert_eq!(
            store.stored_response(other, "k").await.unwrap(),
            Some(flags_answer(&[true]))
        );
    }
);

backend_test!(
    an_answer_is_kept_without_a_write_once_per_key,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        store
            .keep_answer(answer_with_flags(org, "same"))
            .await
            .unwrap();
        assert_eq!(
            store.stored_response(org, "same").await.unwrap(),
            Some(flags_answer(&[]))
        );
        let err = store
            .keep_answer(answer_with_flags(org, "same"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert!(
            feed(&store).await.is_empty(),
            "keeping an answer writes no event"
        );
    }
);

backend_test!(
    identities_are_unique_as_the_partial_indexes_say,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let (org, other) = (Uuid::new_v4(), Uuid::new_v4());
        let (g1, g2, g3) = (random_gtin(), random_gtin(), random_gtin());
        let cases = [
            // GS1 serials are unique per GTIN, whoever registers them.
            (org, support::item(&g1, "S1"), true),
            (other, support::item(&g1, "S1"), false),
            (org, support::item(&g2, "S1"), true),
            // GS1 lots are unique per GTIN for batches only.
            (org, batch(&g1, "L1"), true),
            (other, batch(&g1, "L1"), false),
            (org, batch(&g2, "L1"), true),
            (
                org,
                support::Ident {
                    lot: Some(lot("L1")),
                    ..support::item(&g1, "S2")
                },
                true,
            ),
            // One model passport per GTIN; its items and batches are separate passports.
            (org, model(&g3), true),
            (other, model(&g3), false),
            (org, support::item(&g3, "S1"), true),
            (org, batch(&g3, "L1"), true),
            // Without a GTIN, serials and lots are the organisation's own.
            (org, own_item("X1"), true),
            (org, own_item("X1"), false),
            (other, own_item("X1"), true),
            (org, own_batch("X1"), true),
            (org, own_batch("X1"), false),
            (other, own_batch("X1"), true),
        ];
        for (n, (org_id, ident, allowed)) in cases.into_iter().enumerate() {
            let row = passports(&store, org_id, vec![ident.clone()])
                .await
                .remove(0);
            assert_eq!(
                insert_one(&store, &row).await,
                allowed,
                "case {n}: {ident:?}"
            );
            assert_eq!(store.passport(row.id).await.unwrap().is_some(), allowed);
        }
    }
);

// --- Versions -----------------------------------------------------------------------------

backend_test!(
    a_new_version_follows_the_current_one_and_supersedes_it,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let v1 = random_items(&store, org, 1).await.remove(0);
        insert_all(&store, std::slice::from_ref(&v1)).await;

        let mut v2 = support::next_version(&store, &v1).await;
        v2.category = Category::NimhBattery;
        v2.country = country("FR");
        v2.placed_on_market = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        v2.model_passport = Some(Uuid::new_v4());
        v2.confidential = Some(r#"{"supplier":"secret"}"#.into());
        v2.format = CredentialFormat::V2;
        v2.credential_jws = Some("eyJhbGciOiJFZERTQSJ9..c2lnbmF0dXJl".into());
        v2.placement = Some(r#"{"type":["VerifiableCredential","PlacementDeclaration"]}"#.into());
        v2.registration_fingerprint = [9; 32];

        let skip = NewPassport {
            version: 3,
            ..v2.clone()
        };
        let err = store.add_version(&skip, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                VersionError::Stale {
                    current: 1,
                    expected: 2
                }
            ),
            "{err:?}"
        );
        let again = NewPassport {
            version: 1,
            ..v2.clone()
        };
        let err = store.add_version(&again, None).await.unwrap_err();
        assert!(
            matches!(err, VersionError::Stale { current: 1, .. }),
            "{err:?}"
        );
        let unknown = NewPassport {
            id: Uuid::new_v4(),
            ..v2.clone()
        };
        let err = store.add_version(&unknown, None).await.unwrap_err();
        assert!(matches!(err, VersionError::NotFound), "{err:?}");
        assert_eq!(store.versions(v1.id).await.unwrap().len(), 1);
        assert_eq!(
            feed(&store).await.len(),
            1,
            "a refused version writes no event"
        );

        store
            .add_version(&v2, Some(answer_with_flags(org, "v2")))
            .await
            .unwrap();
        let versions = store.versions(v1.id).await.unwrap();
        assert_eq!(
            versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(versions[0].superseded_at, Some(v2.created_at));
        assert_eq!(versions[0].credential, v1.credential);
        assert_eq!(versions[1].superseded_at, None);
        assert_eq!(versions[1].credential_id, v2.credential_id);
        assert_eq!(versions[1].credential, v2.credential);
        assert_eq!(versions[1].confidential, v2.confidential);
        assert_eq!(versions[1].status, v2.status);
        // The form, the detached JWS and the placement declaration come back as written.
        assert_eq!(versions[0].format, CredentialFormat::V1);
        assert_eq!(versions[0].placement, None);
        assert_eq!(versions[1].format, CredentialFormat::V2);
        assert_eq!(versions[1].credential_jws, v2.credential_jws);
        assert_eq!(versions[1].placement, v2.placement);
        // What each version was made from comes back as written.
        assert_eq!(versions[0].registration_fingerprint, Some([0; 32]));
        assert_eq!(versions[1].registration_fingerprint, Some([9; 32]));
        assert_eq!(
            store.version(v1.id, None).await.unwrap().as_ref(),
            Some(&versions[1])
        );
        assert_eq!(
            store.version(v1.id, Some(1)).await.unwrap().as_ref(),
            Some(&versions[0])
        );
        assert_eq!(store.version(v1.id, Some(3)).await.unwrap(), None);

        // The resolver's one read: the passport with its current credential, by id and by
        // GS1 identity; nothing for an unknown id or identity.
        let current = store.passport(v1.id).await.unwrap().unwrap();
        let identity = Identity::Item {
            gtin: v1.gtin.unwrap(),
            serial: v1.serial.clone().unwrap(),
        };
        for lookup in [Lookup::Id(v1.id), Lookup::Identity(&identity)] {
            let (row, credential) = store.current_credential(lookup).await.unwrap().unwrap();
            assert_eq!(row, current, "{lookup:?}");
            assert_eq!(credential, v2.credential, "{lookup:?}");
        }
        let elsewhere = Identity::Item {
            gtin: v1.gtin.unwrap(),
            serial: serial("NOT-ISSUED"),
        };
        assert!(
            store
                .current_credential(Lookup::Id(Uuid::new_v4()))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .current_credential(Lookup::Identity(&elsewhere))
                .await
                .unwrap()
                .is_none()
        );

        // The superseded version's message bit is set, the current one's is not.
        assert!(status_bit(&store, &v1.status[2]).await);
        assert!(!status_bit(&store, &v2.status[2]).await);
        assert!(!status_bit(&store, &v1.status[0]).await);

        let row = store.passport(v1.id).await.unwrap().unwrap();
        assert_eq!(row.version, 2);
        assert_eq!(row.category, Category::NimhBattery);
        assert_eq!(row.country, country("FR"));
        assert_eq!(row.placed_on_market, v2.placed_on_market);
        assert_eq!(row.model_passport, v2.model_passport);
        assert_eq!(row.updated_at, v2.created_at);
        assert_eq!(row.created_at, v1.created_at);
        assert_eq!((row.gtin, row.serial), (v1.gtin, v1.serial.clone()));
        let listed = store
            .list(
                &ListFilter {
                    category: Some(Category::NimhBattery),
                    ..ListFilter::default()
                },
                None,
                10,
            )
            .await
            .unwrap();
        assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), vec![v1.id]);

        let events = feed(&store).await;
        assert_eq!(seqs(&events), vec![1, 2]);
        let versioned = &events[1];
        assert_eq!(versioned.kind, FeedEventKind::Versioned);
        assert_eq!((versioned.passport_id, versioned.version), (v1.id, 2));
        assert_eq!(versioned.org_id, org);
        assert_eq!(versioned.occurred_at, v2.created_at);
        assert_eq!(
            versioned.credential.as_deref(),
            Some(v2.credential.as_str())
        );
        assert_eq!(versioned.data, None);
        assert_eq!(
            events[0].credential.as_deref(),
            Some(v1.credential.as_str())
        );
        assert_eq!(
            store.stored_response(org, "v2").await.unwrap(),
            Some(flags_answer(&[true]))
        );

        let err = store.add_version(&v2, None).await.unwrap_err();
        assert!(
            matches!(err, VersionError::Stale { current: 2, .. }),
            "{err:?}"
        );
    }
);

// --- Status changes -----------------------------------------------------------------------

backend_test!(
    a_status_change_flips_the_bits_of_every_version,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let mut rows = random_items(&store, org, 2).await;
        insert_all(&store, &rows).await;
        let bystander = rows.pop().unwrap();
        let v1 = rows.pop().unwrap();
        let v2 = support::next_version(&store, &v1).await;
        store.add_version(&v2, None).await.unwrap();
        let v3 = support::next_version(&store, &v2).await;
        store.add_version(&v3, None).await.unwrap();
        let versions = [&v1, &v2, &v3];
        let bits = |slot: usize| {
            let store = store.clone();
            let refs: Vec<StatusRef> = versions.iter().map(|v| v.status[slot].clone()).collect();
            async move {
                let mut out = Vec::new();
                for r in &refs {
                    out.push(status_bit(&store, r).await);
                }
                out
            }
        };

        let t = later(v3.created_at, 1);
        let suspend = change(PassportStatus::Suspended, Some("audit"), t);
        let row = store.set_status(v1.id, &suspend).await.unwrap().unwrap();
        assert_eq!(row.status, PassportStatus::Suspended);
        assert_eq!(row.status_reason.as_deref(), Some("audit"));
        assert_eq!(row.updated_at, t);
        assert_eq!(row.version, 3);
        assert_eq!(store.passport(v1.id).await.unwrap(), Some(row));
        assert_eq!(bits(1).await, vec![true; 3]);
        assert_eq!(bits(0).await, vec![false; 3]);
        assert!(!status_bit(&store, &bystander.status[1]).await);
        let event = feed(&store).await.pop().unwrap();
        assert_eq!(event.kind, FeedEventKind::StatusChanged);
        assert_eq!(event.event_id, suspend.event_id);
        assert_eq!(
            (event.passport_id, event.version, event.org_id),
            (v1.id, 3, org)
        );
        assert_eq!(event.occurred_at, t);
        assert_eq!(event.credential, None);
        let data: serde_json::Value = serde_json::from_str(event.data.as_deref().unwrap()).unwrap();
        assert_eq!(data, json!({"status": "suspended", "reason": "audit"}));

        let reinstate = change(PassportStatus::Active, None, later(t, 1));
        let row = store.set_status(v1.id, &reinstate).await.unwrap().unwrap();
        assert_eq!(
            (row.status, row.status_reason),
            (PassportStatus::Active, None)
        );
        assert_eq!(bits(1).await, vec![false; 3]);
        let event = feed(&store).await.pop().unwrap();
        let data: serde_json::Value = serde_json::from_str(event.data.as_deref().unwrap()).unwrap();
        assert_eq!(data, json!({"status": "active", "reason": null}));

        let revoke = change(
            PassportStatus::Revoked,
            Some("key compromised"),
            later(t, 2),
        );
        let row = store.set_status(v1.id, &revoke).await.unwrap().unwrap();
        assert_eq!(row.status, PassportStatus::Revoked);
        assert_eq!(row.updated_at, revoke.at);
        assert_eq!(bits(0).await, vec![true; 3]);
        assert_eq!(bits(1).await, vec![false; 3]);
        assert!(!status_bit(&store, &bystander.status[0]).await);
        let stored = store.passport(v1.id).await.unwrap().unwrap();
        assert_eq!(stored.status_reason.as_deref(), Some("key compromised"));
        let event = feed(&store).await.pop().unwrap();
        let data: serde_json::Value = serde_json::from_str(event.data.as_deref().unwrap()).unwrap();
        assert_eq!(
            data,
            json!({"status": "revoked", "reason": "key compromised"})
        );

        let before = feed(&store).await.len();
        assert!(
            store
                .set_status(Uuid::new_v4(), &revoke)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(feed(&store).await.len(), before);
        // issued ×2, versioned ×2, three status changes.
        assert_eq!(seqs(&feed(&store).await), (1..=7).collect::<Vec<_>>());
    }
);

// --- Reads --------------------------------------------------------------------------------

backend_test!(
    find_resolves_each_kind_of_identity,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let (g1, g2) = (random_gtin(), random_gtin());
        let rows = passports(
            &store,
            org,
            vec![
                support::item(&g1, "S1"),
                support::Ident {
                    lot: Some(lot("L1")),
                    ..support::item(&g1, "S2")
                },
                batch(&g1, "L2"),
                model(&g2),
                support::item(&g2, "S1"),
            ],
        )
        .await;
        insert_all(&store, &rows).await;
        let find = |identity: Identity| {
            let store = store.clone();
            async move { store.find(&identity).await.unwrap().map(|p| p.id) }
        };
        let item = |gtin: &Gtin, number: &str| Identity::Item {
            gtin: *gtin,
            serial: serial(number),
        };
        let batch_of = |gtin: &Gtin, number: &str| Identity::Batch {
            gtin: *gtin,
            lot: lot(number),
        };
        assert_eq!(find(item(&g1, "S1")).await, Some(rows[0].id));
        assert_eq!(find(item(&g1, "S2")).await, Some(rows[1].id));
        assert_eq!(find(item(&g2, "S1")).await, Some(rows[4].id));
        assert_eq!(find(batch_of(&g1, "L2")).await, Some(rows[2].id));
        // An item that carries a lot number is not the lot's batch passport.
        assert_eq!(find(batch_of(&g1, "L1")).await, None);
        assert_eq!(find(Identity::Model { gtin: g2 }).await, Some(rows[3].id));
        // Items and batches of a GTIN are not its model.
        assert_eq!(find(Identity::Model { gtin: g1 }).await, None);
        assert_eq!(find(item(&g1, "S3")).await, None);
        assert_eq!(find(item(&g2, "L2")).await, None);
        let found = store.find(&item(&g1, "S1")).await.unwrap().unwrap();
        assert_eq!(found.org_id, org);
        assert_eq!(found.granularity, rows[0].granularity);
        assert_eq!(found.placed_on_market, rows[0].placed_on_market);
        assert_eq!(found.created_at, rows[0].created_at);
    }
);

backend_test!(
    passports_by_id_spans_chunks,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let rows = random_items(&store, org, 1_200).await;
        insert_all(&store, &rows).await;
        let mut wanted = ids(&rows);
        wanted.extend((0..10).map(|_| Uuid::new_v4()));
        let found = store.passports(&wanted).await.unwrap();
        assert_eq!(found.len(), 1_200);
        let found: HashSet<Uuid> = found.into_iter().map(|p| p.id).collect();
        assert_eq!(found, ids(&rows).into_iter().collect::<HashSet<_>>());
        // One batch, one event per row, in row order.
        let events = feed(&store).await;
        assert_eq!(seqs(&events), (1..=1_200).collect::<Vec<_>>());
        assert_eq!(
            events.iter().map(|e| e.passport_id).collect::<Vec<_>>(),
            ids(&rows)
        );
        assert!(store.passports(&[]).await.unwrap().is_empty());
    }
);

backend_test!(
    the_list_filters_and_pages_by_id,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (g1, g2) = (random_gtin(), random_gtin());
        let mut rows = Vec::new();
        for (org, gtin, category, place, n) in [
            (a, &g1, Category::NdfebMagnet, "DE", 3),
            (a, &g2, Category::NimhBattery, "FR", 2),
            (b, &g1, Category::NdfebMagnet, "DE", 2),
            (b, &g2, Category::NdfebMagnet, "FR", 1),
        ] {
            let idents = (0..n)
                .map(|_| support::item(gtin, &Uuid::new_v4().simple().to_string()[..20]))
                .collect();
            for mut row in passports(&store, org, idents).await {
                row.category = category;
                row.country = country(place);
                rows.push(row);
            }
        }
        insert_all(&store, &rows).await;

        let expect = |keep: &dyn Fn(&NewPassport) -> bool| {
            let mut ids: Vec<Uuid> = rows.iter().filter(|r| keep(r)).map(|r| r.id).collect();
            ids.sort();
            ids
        };
        let list = |filter: ListFilter, after: Option<Uuid>, limit: u32| {
            let store = store.clone();
            async move {
                let rows = store.list(&filter, after, limit).await.unwrap();
                rows.into_iter().map(|p| p.id).collect::<Vec<_>>()
            }
        };
        let of = |org: Uuid| ListFilter {
            org_id: Some(org),
            ..ListFilter::default()
        };

        assert_eq!(
            list(ListFilter::default(), None, 100).await,
            expect(&|_| true)
        );
        assert_eq!(list(of(a), None, 100).await, expect(&|r| r.org_id == a));
        assert_eq!(
            list(
                ListFilter {
                    category: Some(Category::NimhBattery),
                    ..ListFilter::default()
                },
                None,
                100
            )
            .await,
            expect(&|r| r.category == Category::NimhBattery)
        );
        assert_eq!(
            list(
                ListFilter {
                    gtin: Some(g1),
                    ..ListFilter::default()
                },
                None,
                100
            )
            .await,
            expect(&|r| r.gtin == Some(g1))
        );
        assert_eq!(
            list(
                ListFilter {
                    country: Some(country("FR")),
                    ..ListFilter::default()
                },
                None,
                100
            )
            .await,
            expect(&|r| r.country == country("FR"))
        );
        let narrow = ListFilter {
            org_id: Some(b),
            category: Some(Category::NdfebMagnet),
            gtin: Some(g1),
            country: Some(country("DE")),
        };
        assert_eq!(
            list(narrow, None, 100).await,
            expect(&|r| r.org_id == b && r.gtin == Some(g1))
        );
        assert!(
            list(
                ListFilter {
                    country: Some(country("IT")),
                    ..ListFilter::default()
                },
                None,
                100
            )
            .await
            .is_empty()
        );

        // Pages of two by id, each after the last id of the one before.
        let all_a = expect(&|r| r.org_id == a);
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = list(of(a), after, 2).await;
            assert!(page.len() <= 2);
            let Some(last) = page.last().copied() else {
                break;
            };
            paged.extend(page);
            after = Some(last);
        }
        assert_eq!(paged, all_a);
        assert_eq!(list(of(a), Some(all_a[1]), 100).await, all_a[2..]);
    }
);

// --- The feed -----------------------------------------------------------------------------

backend_test!(
    the_feed_pages_in_sequence_with_credentials_and_data,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let rows = random_items(&store, org, 3).await;
        insert_all(&store, &rows).await;
        let v2 = support::next_version(&store, &rows[1]).await;
        store.add_version(&v2, None).await.unwrap();
        let revoke = change(
            PassportStatus::Revoked,
            Some("recalled"),
            later(v2.created_at, 1),
        );
        store
            .set_status(rows[0].id, &revoke)
            .await
            .unwrap()
            .unwrap();

        let events = feed(&store).await;
        assert_eq!(seqs(&events), vec![1, 2, 3, 4, 5]);
        let expected: Vec<(&str, Uuid, u32, Option<&str>)> = vec![
            ("passport.issued", rows[0].id, 1, Some(&rows[0].credential)),
            ("passport.issued", rows[1].id, 1, Some(&rows[1].credential)),
            ("passport.issued", rows[2].id, 1, Some(&rows[2].credential)),
            ("passport.versioned", rows[1].id, 2, Some(&v2.credential)),
            ("passport.status_changed", rows[0].id, 1, None),
        ];
        let got: Vec<(&str, Uuid, u32, Option<&str>)> = events
            .iter()
            .map(|e| {
                (
                    e.kind.as_str(),
                    e.passport_id,
                    e.version,
                    e.credential.as_deref(),
                )
            })
            .collect();
        assert_eq!(got, expected);
        assert!(events[..4].iter().all(|e| e.data.is_none()));
        let data: serde_json::Value =
            serde_json::from_str(events[4].data.as_deref().unwrap()).unwrap();
        assert_eq!(data, json!({"status": "revoked", "reason": "recalled"}));
        assert_eq!(
            events
                .iter()
                .map(|e| e.event_id)
                .collect::<HashSet<_>>()
                .len(),
            5
        );
        // The revoked passport's credential is still served with its issued event.
        assert_eq!(
            events[0].credential.as_deref(),
            Some(rows[0].credential.as_str())
        );

        assert_eq!(store.feed_after(2, 2).await.unwrap(), events[2..4]);
        assert_eq!(store.feed_after(4, 10).await.unwrap(), events[4..]);
        assert!(store.feed_after(5, 10).await.unwrap().is_empty());
        assert!(store.feed_after(0, 0).await.unwrap().is_empty());
    }
);

/// Writers for the concurrency tests: one task per writer, all starting together, each
/// storing `batches` batches of `size(batch)` random items of one shared organisation (so they
/// also contend for its status lists). Each task yields the rows it stored and how many status
/// changes it made.
async fn concurrent_writers(
    store: &Stores,
    writers: usize,
    batches: usize,
    size: fn(usize) -> usize,
    suspend_one: bool,
) -> JoinSet<(Vec<NewPassport>, usize)> {
    let start = Arc::new(tokio::sync::Barrier::new(writers));
    let mut tasks = JoinSet::new();
    let org = Uuid::new_v4();
    for _ in 0..writers {
        let (store, start) = (store.clone(), start.clone());
        tasks.spawn(async move {
            start.wait().await;
            let (mut stored, mut changes) = (Vec::new(), 0);
            for b in 0..batches {
                let rows = random_items(&store, org, size(b)).await;
                insert_all(&store, &rows).await;
                if suspend_one {
                    let c = change(PassportStatus::Suspended, Some("check"), now());
                    store.set_status(rows[0].id, &c).await.unwrap().unwrap();
                    changes += 1;
                }
                stored.extend(rows);
            }
            (stored, changes)
        });
    }
    tasks
}

backend_test!(
    concurrent_batches_number_the_feed_without_gaps,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let mut tasks = concurrent_writers(&store, 8, 4, |b| 10 + 5 * b, false).await;
        let mut stored = Vec::new();
        while let Some(done) = tasks.join_next().await {
            stored.extend(done.unwrap().0);
        }
        assert_eq!(stored.len(), 8 * (10 + 15 + 20 + 25));

        let events = feed(&store).await;
        assert_eq!(seqs(&events), (1..=stored.len() as i64).collect::<Vec<_>>());
        let mut issued: HashMap<Uuid, usize> = HashMap::new();
        for e in &events {
            assert_eq!(e.kind, FeedEventKind::Issued);
            *issued.entry(e.passport_id).or_default() += 1;
        }
        assert_eq!(issued.len(), stored.len());
        assert!(stored.iter().all(|r| issued.get(&r.id) == Some(&1)));
        assert_eq!(
            store.passports(&ids(&stored)).await.unwrap().len(),
            stored.len()
        );

        // The writers' status entries, allocated concurrently, never collide.
        let entries: HashSet<(&str, u32)> = stored
            .iter()
            .flat_map(|r| r.status.iter().map(|s| (s.list_id.as_str(), s.index)))
            .collect();
        assert_eq!(entries.len(), 3 * stored.len());
    }
);

backend_test!(
    a_reader_never_sees_an_event_before_the_ones_it_follows,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let writing = Arc::new(AtomicBool::new(true));
        let reader = {
            let (store, writing) = (store.clone(), writing.clone());
            tokio::spawn(async move {
                let (mut cursor, mut pages) = (0i64, 0usize);
                for _ in 0..20_000 {
                    let done = !writing.load(Ordering::Acquire);
                    let page = store.feed_after(cursor, 7).await.unwrap();
                    if page.is_empty() {
                        if done {
                            return (cursor, pages);
                        }
                        tokio::task::yield_now().await;
                        continue;
                    }
                    let expected: Vec<i64> = (cursor + 1..=cursor + page.len() as i64).collect();
                    assert_eq!(seqs(&page), expected, "the page after {cursor} has a gap");
                    cursor = page.last().unwrap().seq;
                    pages += 1;
                }
                panic!("the reader did not catch up within its reads (at {cursor})");
            })
        };
        let mut tasks = concurrent_writers(&store, 4, 8, |b| 1 + (b * 5) % 12, true).await;
        let mut events = 0;
        while let Some(done) = tasks.join_next().await {
            let (stored, changes) = done.unwrap();
            events += stored.len() + changes;
        }
        writing.store(false, Ordering::Release);
        let (cursor, pages) = reader.await.unwrap();
        assert_eq!(cursor, events as i64, "the reader saw every event");
        assert!(pages > 0);
        assert_eq!(
            seqs(&feed(&store).await),
            (1..=events as i64).collect::<Vec<_>>()
        );
    }
);

backend_test!(
    a_stored_value_that_does_not_parse_is_corrupt,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        let org = Uuid::new_v4();
        let rows = random_items(&store, org, 1).await;
        insert_all(&store, &rows).await;
        let id = rows[0].id;
        assert!(store.passport(id).await.unwrap().is_some());
        for (column, bad) in [
            ("gtin", "04012345000017"),
            ("serial", "no spaces allowed"),
            ("category", "permanent_magnet"),
            ("country", "XX"),
        ] {
            let good: Option<String> =
                Sql::new(format!("SELECT {column} FROM passports WHERE id = $1"))
                    .bind(id)
                    .scalar(conn.reader())
                    .await
                    .unwrap();
            let set = format!("UPDATE passports SET {column} = $1 WHERE id = $2");
            Sql::new(set.clone())
                .bind(bad)
                .bind(id)
                .execute(conn.writer())
                .await
                .unwrap();
            let err = store.passport(id).await.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt(_)), "{column}: {err:?}");
            Sql::new(set)
                .bind(good)
                .bind(id)
                .execute(conn.writer())
                .await
                .unwrap();
            assert!(store.passport(id).await.unwrap().is_some(), "{column}");
        }
        conn.close().await;
    }
);

// --- Backup -------------------------------------------------------------------------------

/// Whether a live column's type holds values of `kind` (SQLite's declared type, PostgreSQL's
/// `data_type`).
fn holds(kind: Kind, type_name: &str) -> bool {
    let type_name = type_name.to_ascii_lowercase();
    let allowed: &[&str] = match kind {
        Kind::Text => &["text"],
        Kind::Uuid => &["blob", "uuid"],
        Kind::Bytes => &["blob", "bytea"],
        Kind::I64 | Kind::I32 => &["integer", "bigint"],
        Kind::Time => &["text", "timestamp with time zone"],
        Kind::Date => &["text", "date"],
        Kind::Bool => &["boolean"],
        Kind::F64 => &[],
    };
    allowed.contains(&type_name.as_str())
}

/// The archives of the tables on a passport database, in the order a backup restores them:
/// core's issuing tables (signing keys, status lists), then the passport service's.
fn archives(conn: &Db) -> [Arc<dyn Archived>; 2] {
    [
        reetrace_core::store::issuing::archive(conn),
        store::archive(conn),
    ]
}

backend_test!(
    the_archive_covers_every_table_with_its_live_columns,
    |db: TestDatabase| async move {
        let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        support::migrate(&conn).await;
        let archives = archives(&conn);
        let tables: Vec<_> = archives.iter().flat_map(|a| a.archive_tables()).collect();
        // Restore order: what is referenced first.
        assert_eq!(
            tables.iter().map(|t| t.name).collect::<Vec<_>>(),
            [
                "signing_keys",
                "status_lists",
                "passports",
                "passport_versions",
                "passport_feed",
                "passport_feed_head",
                "passport_idempotency",
            ]
        );
        let dialect = conn.dialect();
        let live: Vec<String> = Sql::new(dialect.tables())
            .scalars(conn.reader())
            .await
            .unwrap();
        for table in live {
            if table.starts_with("_reetrace_migrations_") {
                continue;
            }
            assert!(
                tables.iter().any(|t| t.name == table),
                "table {table} is not archived"
            );
        }
        for table in tables {
            let columns: Vec<(String, String)> = Sql::new(dialect.columns_of_table())
                .bind(table.name)
                .fetch_all(conn.reader())
                .await
                .unwrap();
            let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
            assert_eq!(
                names,
                table.column_names().collect::<Vec<_>>(),
                "columns of {}",
                table.name
            );
            for ((name, type_name), (_, kind)) in columns.iter().zip(table.columns) {
                assert!(
                    holds(*kind, type_name),
                    "{}.{name} is {type_name}, archived as {kind:?}",
                    table.name
                );
            }
        }
        conn.close().await;
    }
);

backend_test!(
    a_restore_clears_the_seeded_feed_head_and_refuses_a_target_with_passports,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        let archive = store::archive(&conn);

        let mut tx = conn.begin().await.unwrap();
        archive.prepare_restore(&mut tx).await.unwrap();
        assert_eq!(tx.count_rows("passport_feed_head").await.unwrap(), 0);
        tx.rollback().await.unwrap();

        let org = Uuid::new_v4();
        insert_all(&store, &random_items(&store, org, 2).await).await;
        let mut tx = conn.begin().await.unwrap();
        let err = archive.prepare_restore(&mut tx).await.unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::NotEmpty {
                    table: "passports",
                    rows: 2
                }
            ),
            "{err:?}"
        );
        tx.rollback().await.unwrap();
        assert_eq!(
            feed(&store).await.len(),
            2,
            "a refused restore changes nothing"
        );
        conn.close().await;
    }
);

backend_test!(
    the_archived_rows_restore_into_a_fresh_database_as_they_were,
    |db: TestDatabase| async move {
        let store = open(&db).await;
        let org = Uuid::new_v4();
        let t0 = now();
        let key = signing_key_row(org, 1, t0);
        store
            .issuing
            .insert_key(&key, Rotation::None)
            .await
            .unwrap();
        let rows = random_items(&store, org, 3).await;
        store
            .insert_passports(&rows, false, Some(answer_with_flags(org, "bulk")))
            .await
            .unwrap();
        let v2 = support::next_version(&store, &rows[1]).await;
        store.add_version(&v2, None).await.unwrap();
        store
            .set_status(
                rows[0].id,
                &change(PassportStatus::Suspended, Some("checking"), later(t0, 5)),
            )
            .await
            .unwrap()
            .unwrap();

        let source = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        let mut exported = Vec::new();
        for table in archives(&source).iter().flat_map(|a| a.archive_tables()) {
            let mut rows = Vec::new();
            source
                .export_table(table, &mut |row| {
                    rows.push(row);
                    Ok(())
                })
                .await
                .unwrap();
            exported.push((table, rows));
        }

        let fresh = TestDatabase::new(db.backend).await.unwrap();
        let restored = open(&fresh).await;
        let target = Db::connect(&fresh.url, &PoolOptions::default())
            .await
            .unwrap();
        let mut tx = target.begin().await.unwrap();
        for archive in archives(&target) {
            archive.prepare_restore(&mut tx).await.unwrap();
        }
        for (table, rows) in exported {
            tx.import_rows(table, rows).await.unwrap();
        }
        tx.commit().await.unwrap();

        assert_eq!(
            restored.issuing.org_keys(org).await.unwrap(),
            store.issuing.org_keys(org).await.unwrap()
        );
        for row in &rows {
            assert_eq!(
                restored.passport(row.id).await.unwrap(),
                store.passport(row.id).await.unwrap()
            );
            assert_eq!(
                restored.versions(row.id).await.unwrap(),
                store.versions(row.id).await.unwrap()
            );
            for status in &row.status {
                assert_eq!(
                    restored.issuing.status_list(&status.list_id).await.unwrap(),
                    store.issuing.status_list(&status.list_id).await.unwrap()
                );
            }
        }
        assert_eq!(feed(&restored).await, feed(&store).await);
        assert_eq!(
            restored.stored_response(org, "bulk").await.unwrap(),
            store.stored_response(org, "bulk").await.unwrap()
        );
        // The feed head came from the archive: the next event follows the restored ones.
        let more = random_items(&restored, org, 1).await;
        insert_all(&restored, &more).await;
        assert_eq!(seqs(&feed(&restored).await), vec![1, 2, 3, 4, 5, 6]);
        source.close().await;
        target.close().await;
    }
);
