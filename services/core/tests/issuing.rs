//! Issuing as a kernel capability, on SQLite and PostgreSQL, with no service crate: the issuing
//! migrations alone make the tables (the same ones the passport service's first migration
//! made), the stores keep keys and status lists, and an organisation issues a credential that a
//! verifier checks with core's cryptosuites and the organisation's DID document as served.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use reetrace_core::backend_test;
use reetrace_core::crypto::data_integrity::{self, ASSERTION_METHOD};
use reetrace_core::crypto::jose::{self, Jws};
use reetrace_core::crypto::{
    MasterKey, Reseal, StatusList, VerifyingKey, jcs, parse_public_key_multibase,
};
use reetrace_core::db::{Backend, Db, MigrationSet, PoolOptions, Sql, StoreError};
use reetrace_core::domain::issuing::status_list::{status_entry, status_list_url};
use reetrace_core::domain::issuing::{
    Rotation, SigningKeyRow, StatusPurpose, StatusRef, VC_CONTEXT, credential_urn, timestamp,
};
use reetrace_core::service::issuing::{Issuing, IssuingConfig};
use reetrace_core::store::issuing::status_bits::{LIST_CAPACITY, LIST_SIZE};
use reetrace_core::store::issuing::{self, IssuingStores, MIGRATIONS};
use reetrace_core::testing::{TestDatabase, signing_key_row};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

const BASE: &str = "https://deposits.example";

/// A database with the issuing migrations only (twice: migrating again is harmless).
async fn open(db: &TestDatabase) -> (Db, Arc<dyn IssuingStores>) {
    let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    conn.migrate(&MIGRATIONS).await.unwrap();
    conn.migrate(&MIGRATIONS).await.unwrap();
    let store = issuing::open(&conn);
    (conn, store)
}

/// Issuing for a fresh database, as a service other than passport would hold it.
async fn issuing_on(db: &TestDatabase) -> (Db, Arc<Issuing>) {
    let (conn, store) = open(db).await;
    let config = IssuingConfig {
        base_url: BASE.into(),
        aliases: vec!["https://old.example".into()],
    };
    let issuing = Issuing::new(store, MasterKey::generate().unwrap(), config);
    (conn, Arc::new(issuing))
}

/// Now, to the microsecond (what PostgreSQL keeps), so stored times compare exactly.
fn now() -> DateTime<Utc> {
    reetrace_core::domain::account::now()
}

/// `seconds` after `at`.
fn later(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    at + Duration::seconds(seconds)
}

// --- The stores -----------------------------------------------------------------------------

backend_test!(
    keys_list_oldest_first_and_rotation_retires_or_revokes_the_others,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let org = Uuid::new_v4();
        let other = Uuid::new_v4();
        let t0 = now();
        let k1 = signing_key_row(org, 1, t0);
        store.insert_key(&k1, Rotation::None).await.unwrap();
        let bystander = signing_key_row(other, 9, t0);
        store.insert_key(&bystander, Rotation::None).await.unwrap();
        assert_eq!(store.org_keys(org).await.unwrap(), vec![k1.clone()]);

        // Retire: the old key stops signing but is kept, not revoked.
        let k2 = signing_key_row(org, 2, later(t0, 1));
        store.insert_key(&k2, Rotation::Retire).await.unwrap();
        let k1_retired = SigningKeyRow {
            retired_at: Some(k2.created_at),
            ..k1.clone()
        };
        assert_eq!(
            store.org_keys(org).await.unwrap(),
            vec![k1_retired.clone(), k2.clone()]
        );

        // Revoke: every other key is withdrawn; an earlier retirement time stays.
        let k3 = signing_key_row(org, 3, later(t0, 2));
        store.insert_key(&k3, Rotation::Revoke).await.unwrap();
        let keys = store.org_keys(org).await.unwrap();
        assert_eq!(
            keys,
            vec![
                SigningKeyRow {
                    revoked_at: Some(k3.created_at),
                    ..k1_retired
                },
                SigningKeyRow {
                    retired_at: Some(k3.created_at),
                    revoked_at: Some(k3.created_at),
                    ..k2
                },
                k3.clone(),
            ]
        );
        // Another organisation's keys are untouched.
        assert_eq!(store.org_keys(other).await.unwrap(), vec![bystander]);

        // The rotation and the insert share one transaction: a refused insert (the key id
        // exists) revokes nothing.
        let clash = SigningKeyRow {
            id: k3.id.clone(),
            created_at: later(t0, 3),
            ..signing_key_row(org, 4, t0)
        };
        let err = store
            .insert_key(&clash, Rotation::Revoke)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert_eq!(store.org_keys(org).await.unwrap(), keys);
        assert!(store.org_keys(Uuid::new_v4()).await.unwrap().is_empty());

        // Oldest first by creation time, not by when the row was written.
        let older = signing_key_row(org, 5, later(t0, -1));
        store.insert_key(&older, Rotation::None).await.unwrap();
        let listed = store.org_keys(org).await.unwrap();
        assert_eq!(listed[0], older);
        assert_eq!(listed[1..], keys);
    }
);

backend_test!(
    sealed_keys_are_rewritten_all_or_nothing_and_only_if_unchanged,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let org = Uuid::new_v4();
        let t0 = now();
        let (k1, k2) = (
            signing_key_row(org, 1, t0),
            signing_key_row(org, 2, later(t0, 1)),
        );
        store.insert_key(&k1, Rotation::None).await.unwrap();
        store.insert_key(&k2, Rotation::Retire).await.unwrap();
        let mut sealed = store.sealed_keys().await.unwrap();
        sealed.sort();
        let mut expected = vec![
            (k1.id.clone(), k1.sealed_secret.clone()),
            (k2.id.clone(), k2.sealed_secret.clone()),
        ];
        expected.sort();
        assert_eq!(sealed, expected);

        let move_to = |k: &SigningKeyRow, from: Vec<u8>, byte: u8| Reseal {
            id: k.id.clone(),
            from,
            to: vec![byte; 72],
        };
        // One stale row (its secret is not what was read): nothing is written.
        let stale = [
            move_to(&k1, k1.sealed_secret.clone(), 0xa1),
            move_to(&k2, vec![0; 72], 0xa2),
        ];
        let err = store.reseal_keys(&stale).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let keys = store.org_keys(org).await.unwrap();
        assert_eq!(keys[0].sealed_secret, k1.sealed_secret, "rolled back");

        let fresh = [
            move_to(&k1, k1.sealed_secret.clone(), 0xa1),
            move_to(&k2, k2.sealed_secret.clone(), 0xa2),
        ];
        store.reseal_keys(&fresh).await.unwrap();
        let keys = store.org_keys(org).await.unwrap();
        assert_eq!(
            keys.iter().map(|k| k.sealed_secret[0]).collect::<Vec<_>>(),
            vec![0xa1, 0xa2]
        );
        // The same plan again finds the rows changed.
        assert!(store.reseal_keys(&fresh).await.is_err());
        store.reseal_keys(&[]).await.unwrap();
    }
);

backend_test!(
    allocation_hands_out_unique_indexes_per_purpose_list,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let org = Uuid::new_v4();
        let at = now();
        let mut revocation = store
            .allocate(org, StatusPurpose::Revocation, 300, at)
            .await
            .unwrap();
        revocation.extend(
            store
                .allocate(org, StatusPurpose::Revocation, 200, at)
                .await
                .unwrap(),
        );
        let suspension = store
            .allocate(org, StatusPurpose::Suspension, 100, at)
            .await
            .unwrap();
        let message = store
            .allocate(org, StatusPurpose::Message, 100, at)
            .await
            .unwrap();
        let elsewhere = store
            .allocate(Uuid::new_v4(), StatusPurpose::Revocation, 10, at)
            .await
            .unwrap();

        let list_of = |refs: &[StatusRef]| -> String {
            let lists: HashSet<&str> = refs.iter().map(|r| r.list_id.as_str()).collect();
            assert_eq!(lists.len(), 1, "one list holds them all: {lists:?}");
            lists.into_iter().next().unwrap().to_owned()
        };
        let lists = [
            list_of(&revocation),
            list_of(&suspension),
            list_of(&message),
            list_of(&elsewhere),
        ];
        assert_eq!(
            lists.iter().collect::<HashSet<_>>().len(),
            4,
            "a list per org and purpose"
        );

        for (refs, purpose) in [
            (&revocation, StatusPurpose::Revocation),
            (&suspension, StatusPurpose::Suspension),
            (&message, StatusPurpose::Message),
        ] {
            assert!(
                refs.iter()
                    .all(|r| r.purpose == purpose && r.index < LIST_SIZE)
            );
            let unique: HashSet<u32> = refs.iter().map(|r| r.index).collect();
            assert_eq!(unique.len(), refs.len(), "no index handed out twice");
        }

        let list = store.status_list(&lists[0]).await.unwrap().unwrap();
        assert_eq!(list.id, lists[0]);
        assert_eq!(list.org_id, org);
        assert_eq!(list.purpose, StatusPurpose::Revocation);
        assert_eq!(list.size, LIST_SIZE);
        assert_eq!(list.allocated, 500);
        assert_eq!(list.bits.len(), (LIST_SIZE / 8) as usize);
        assert!(
            list.bits.iter().all(|b| *b == 0),
            "handing out sets no status bit"
        );
        assert_eq!(list.credential, None);
        assert!(store.status_list("no-such-list").await.unwrap().is_none());
    }
);

backend_test!(
    a_full_list_opens_the_next_one,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let org = Uuid::new_v4();
        let purpose = StatusPurpose::Revocation;
        let first = store
            .allocate(org, purpose, (LIST_CAPACITY - 10) as usize, now())
            .await
            .unwrap();
        let first_list = first[0].list_id.clone();
        assert!(first.iter().all(|r| r.list_id == first_list));

        let crossing = store.allocate(org, purpose, 30, now()).await.unwrap();
        assert_eq!(crossing.len(), 30);
        let (old, new): (Vec<&StatusRef>, Vec<&StatusRef>) =
            crossing.iter().partition(|r| r.list_id == first_list);
        assert_eq!(old.len(), 10, "the first list is filled up to its capacity");
        assert_eq!(new.len(), 20, "the rest comes from a new list");
        let second_list = new[0].list_id.clone();
        assert!(new.iter().all(|r| r.list_id == second_list));

        let after = store.allocate(org, purpose, 5, now()).await.unwrap();
        assert!(
            after.iter().all(|r| r.list_id == second_list),
            "a full list is not reused"
        );

        let all: HashSet<(&str, u32)> = first
            .iter()
            .chain(&crossing)
            .chain(&after)
            .map(|r| (r.list_id.as_str(), r.index))
            .collect();
        assert_eq!(all.len(), LIST_CAPACITY as usize - 10 + 30 + 5);
        assert!(all.iter().all(|(_, index)| *index < LIST_SIZE));
        let full = store.status_list(&first_list).await.unwrap().unwrap();
        assert_eq!(full.allocated, LIST_CAPACITY);
        let next = store.status_list(&second_list).await.unwrap().unwrap();
        assert_eq!(next.allocated, 25);
    }
);

backend_test!(
    bits_set_and_clear_in_their_own_transaction_and_drop_the_signed_list,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let org = Uuid::new_v4();
        let refs = store
            .allocate(org, StatusPurpose::Suspension, 3, now())
            .await
            .unwrap();
        let list_id = refs[0].list_id.clone();
        let fresh = store.status_list(&list_id).await.unwrap().unwrap();
        store
            .cache_signed(&list_id, fresh.updated_at, "signed")
            .await
            .unwrap();
        let mut changes = issuing::BitChanges::new();
        changes.insert(list_id.clone(), (vec![refs[0].index, refs[2].index], true));
        store.set_bits(changes, now()).await.unwrap();
        let set = store.status_list(&list_id).await.unwrap().unwrap();
        let bits = StatusList::from_bytes(set.bits.clone()).unwrap();
        assert_eq!(bits.count_set(), 2);
        assert!(bits.get(refs[2].index as usize).unwrap());
        assert_eq!(set.credential, None, "the signed list is stale");
        assert!(set.updated_at > fresh.updated_at);

        let mut changes = issuing::BitChanges::new();
        changes.insert(list_id.clone(), (vec![refs[0].index], false));
        store.set_bits(changes, now()).await.unwrap();
        let cleared = store.status_list(&list_id).await.unwrap().unwrap();
        let bits = StatusList::from_bytes(cleared.bits).unwrap();
        assert!(!bits.get(refs[0].index as usize).unwrap());
        assert!(bits.get(refs[2].index as usize).unwrap());
    }
);

// --- The tables ------------------------------------------------------------------------------

/// The columns (name, type) and index names of `table`.
async fn shape(conn: &Db, table: &str) -> (Vec<(String, String)>, Vec<String>) {
    let columns = Sql::new(conn.dialect().columns_of_table())
        .bind(table)
        .fetch_all(conn.reader())
        .await
        .unwrap();
    let indexes = match conn.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT indexname::text FROM pg_indexes WHERE tablename = $1 ORDER BY indexname"
        }
    };
    let indexes = Sql::new(indexes)
        .bind(table)
        .scalars(conn.reader())
        .await
        .unwrap();
    (columns, indexes)
}

backend_test!(
    the_issuing_set_makes_the_tables_passport_made_and_keeps_them_where_it_did,
    |db: TestDatabase| async move {
        // Where the passport service ran first (every database before issuing was the
        // kernel's), the issuing set applies after it and changes nothing.
        let passport_first = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        let passport: &MigrationSet = &reetrace_core::db::migrations::PASSPORT;
        passport_first.migrate(passport).await.unwrap();
        let before = [
            shape(&passport_first, "signing_keys").await,
            shape(&passport_first, "status_lists").await,
        ];
        passport_first.migrate(&MIGRATIONS).await.unwrap();
        let after = [
            shape(&passport_first, "signing_keys").await,
            shape(&passport_first, "status_lists").await,
        ];
        assert_eq!(after, before);
        assert!(!before[0].0.is_empty() && !before[1].1.is_empty());

        // Alone, it makes the same tables.
        let alone = TestDatabase::new(db.backend).await.unwrap();
        let (conn, _) = open(&alone).await;
        let made = [
            shape(&conn, "signing_keys").await,
            shape(&conn, "status_lists").await,
        ];
        assert_eq!(made, before);
        passport_first.close().await;
        conn.close().await;
    }
);

// --- The capability ---------------------------------------------------------------------------

/// The key of `method` as `document` (a DID document) states it, if it may assert.
fn asserting_key(document: &Value, method: &str) -> Result<VerifyingKey, String> {
    let asserts = document["assertionMethod"]
        .as_array()
        .is_some_and(|a| a.iter().any(|m| m == method));
    if !asserts {
        return Err(format!("{method} is not an assertion method"));
    }
    let found = document["verificationMethod"]
        .as_array()
        .and_then(|methods| methods.iter().find(|m| m["id"] == method))
        .ok_or_else(|| format!("{method} is not in the document"))?;
    parse_public_key_multibase(found["publicKeyMultibase"].as_str().unwrap_or_default())
        .map_err(|e| e.to_string())
}

/// A small credential of a service that is not passport's.
fn deposit_record(issuer: &str, status: &StatusRef, at: DateTime<Utc>) -> Value {
    json!({
        "@context": [VC_CONTEXT],
        "id": credential_urn(Uuid::now_v7()),
        "type": ["VerifiableCredential", "ResidueDepositRecord"],
        "issuer": issuer,
        "validFrom": timestamp(at),
        "credentialSubject": {"id": "urn:example:deposit:tailings-7", "ndPpm": "412"},
        "credentialStatus": [status_entry(BASE, status)],
    })
}

/// The bit behind `status` in a signed status list credential, after its proof is checked
/// with the key `document` states.
fn listed_bit(list: &Value, document: &Value, status: &StatusRef) -> bool {
    data_integrity::verify(list, ASSERTION_METHOD, &|m: &str| {
        asserting_key(document, m)
    })
    .unwrap();
    assert_eq!(list["id"], status_list_url(BASE, &status.list_id));
    assert_eq!(list["issuer"], document["id"]);
    let subject = &list["credentialSubject"];
    assert_eq!(subject["statusPurpose"], status.purpose.as_str());
    let bits = StatusList::decode(subject["encodedList"].as_str().unwrap()).unwrap();
    bits.get(status.index as usize).unwrap()
}

/// The signed credential of the list `status` is in, as served under the current base URL.
async fn signed_list(issuing: &Issuing, status: &StatusRef) -> Value {
    let text = issuing
        .status_list_credential(&status.list_id)
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

backend_test!(
    an_organisation_issues_a_credential_its_did_document_verifies,
    |db: TestDatabase| async move {
        let (_conn, issuing) = issuing_on(&db).await;
        let org = Uuid::now_v7();
        // The first issue makes the organisation's key.
        let key = issuing.issuer_key(org).await.unwrap();
        assert_eq!(key.issuer(), format!("did:web:deposits.example:orgs:{org}"));
        let status = issuing
            .allocate(org, StatusPurpose::Revocation, 1)
            .await
            .unwrap()
            .remove(0);
        let at = now();
        let unsigned = deposit_record(key.issuer(), &status, at);
        let secured = key.secure(&unsigned, at).unwrap();
        let credential: Value = serde_json::from_str(&secured.credential).unwrap();

        let document = issuing.did_document(org, BASE).await.unwrap().unwrap();
        assert_eq!(document["id"], key.issuer());
        let resolve = |m: &str| asserting_key(&document, m);
        let proof = data_integrity::verify(&credential, ASSERTION_METHOD, &resolve).unwrap();
        assert_eq!(proof.verification_method, key.verification_method());
        // The proof alone, over the same credential, is the same proof, as text or as a value.
        assert_eq!(key.sign(unsigned.clone(), at).unwrap(), credential);
        assert_eq!(key.sign_text(&unsigned, at).unwrap(), secured.credential);

        // The JWS: the detached one made whole is the compact one, and verifies.
        let compact = key.jws(&unsigned).unwrap();
        let canonical = jcs::canonicalize(&unsigned).unwrap();
        assert_eq!(
            jose::attach(&secured.detached_jws, &canonical).unwrap(),
            compact
        );
        let jws = Jws::parse(&compact).unwrap();
        assert_eq!(jws.kid, key.verification_method());
        assert_eq!(jws.payload, unsigned);
        jws.verify_with_key(&asserting_key(&document, &jws.kid).unwrap())
            .unwrap();

        // Its status: clear, then revoked, as the organisation's signed list says.
        let list = signed_list(&issuing, &status).await;
        assert!(!listed_bit(&list, &document, &status));
        issuing
            .set_status(std::slice::from_ref(&status), true)
            .await
            .unwrap();
        let list = signed_list(&issuing, &status).await;
        assert!(listed_bit(&list, &document, &status));

        // A retired key still verifies what it signed; a revoked one no longer asserts.
        let old_method = key.verification_method().to_owned();
        issuing.create_key(org, Rotation::Retire).await.unwrap();
        let document = issuing.did_document(org, BASE).await.unwrap().unwrap();
        asserting_key(&document, &old_method).unwrap();
        let newer = issuing.issuer_key(org).await.unwrap();
        assert_ne!(newer.verification_method(), old_method);
        issuing.create_key(org, Rotation::Revoke).await.unwrap();
        let document = issuing.did_document(org, BASE).await.unwrap().unwrap();
        assert!(asserting_key(&document, &old_method).is_err());
        assert!(
            issuing
                .did_document(Uuid::now_v7(), BASE)
                .await
                .unwrap()
                .is_none()
        );
    }
);

/// `GET path` on the issuers routes, with `host` as the `Host` header.
async fn get(issuing: &Arc<Issuing>, path: &str, host: &str) -> (StatusCode, String, Value) {
    let (router, _) = reetrace_core::api::issuers::router()
        .with_state(issuing.clone())
        .split_for_parts();
    let request = Request::get(path)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, serde_json::from_slice(&body).unwrap())
}

backend_test!(
    the_did_document_and_status_lists_are_served_as_named_at_each_host,
    |db: TestDatabase| async move {
        let (_conn, issuing) = issuing_on(&db).await;
        let org = Uuid::now_v7();
        let status = issuing
            .allocate(org, StatusPurpose::Suspension, 1)
            .await
            .unwrap()
            .remove(0);
        issuing.issuer_key(org).await.unwrap();

        let (code, content_type, document) = get(
            &issuing,
            &format!("/orgs/{org}/did.json"),
            "deposits.example",
        )
        .await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(content_type, "application/did+json");
        assert_eq!(document["id"], issuing.org_did(org));
        let (code, _, list) = get(
            &issuing,
            &format!("/status-lists/{}", status.list_id),
            "deposits.example",
        )
        .await;
        assert_eq!(code, StatusCode::OK);
        assert!(!listed_bit(&list, &document, &status));

        // At the former host, both name the former DID and verify as such.
        let (_, _, former) = get(&issuing, &format!("/orgs/{org}/did.json"), "old.example").await;
        assert_eq!(former["id"], format!("did:web:old.example:orgs:{org}"));
        let (_, _, former_list) = get(
            &issuing,
            &format!("/status-lists/{}", status.list_id),
            "old.example",
        )
        .await;
        assert_eq!(former_list["issuer"], former["id"]);
        data_integrity::verify(&former_list, ASSERTION_METHOD, &|m: &str| {
            asserting_key(&former, m)
        })
        .unwrap();

        let (code, content_type, problem) = get(
            &issuing,
            &format!("/orgs/{}/did.json", Uuid::now_v7()),
            "deposits.example",
        )
        .await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(problem["code"], "not_found");
        let (code, _, problem) =
            get(&issuing, "/status-lists/no-such-list", "deposits.example").await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_eq!(problem["detail"], "No status list \"no-such-list\".");
    }
);

/// The revocation list's count of indexes taken in the database.
async fn taken_in_database(store: &Arc<dyn IssuingStores>, list_id: &str) -> u32 {
    store.status_list(list_id).await.unwrap().unwrap().allocated
}

backend_test!(
    bulk_indexes_come_from_a_reserve_refilled_in_the_background,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let issuing = Issuing::new(
            store.clone(),
            MasterKey::generate().unwrap(),
            IssuingConfig {
                base_url: BASE.into(),
                aliases: Vec::new(),
            },
        );
        let org = Uuid::new_v4();
        // An empty reserve: the request's 100 are taken with a reserve for two more.
        let first = issuing.allocate_reserved(org, 100).await.unwrap();
        assert_eq!(first.len(), 100);
        let list = first[0][0].list_id.clone();
        assert_eq!(taken_in_database(&store, &list).await, 300);
        // From the reserve; it is left with 100, short of two more requests of 100, so it is
        // topped up to 200 in the background.
        let second = issuing.allocate_reserved(org, 100).await.unwrap();
        let mut topped_up = false;
        for _ in 0..200 {
            if taken_in_database(&store, &list).await == 400 {
                topped_up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(topped_up, "the reserve is refilled in the background");
        let direct = issuing.allocate_each_purpose(org, 50).await.unwrap();
        assert_eq!(taken_in_database(&store, &list).await, 450);
        for (k, purpose) in StatusPurpose::ALL.into_iter().enumerate() {
            let all: Vec<&StatusRef> = first
                .iter()
                .chain(&second)
                .chain(&direct)
                .map(|triple| &triple[k])
                .collect();
            assert!(all.iter().all(|r| r.purpose == purpose));
            let unique: HashSet<(&str, u32)> =
                all.iter().map(|r| (r.list_id.as_str(), r.index)).collect();
            assert_eq!(unique.len(), 250, "no index handed out twice ({purpose:?})");
        }
    }
);

backend_test!(
    a_reserved_take_does_not_wait_for_the_writer,
    |db: TestDatabase| async move {
        let (conn, issuing) = issuing_on(&db).await;
        let org = Uuid::new_v4();
        issuing.allocate_reserved(org, 10).await.unwrap();
        // Another request's long write transaction (a bulk registration signing and storing).
        let mut held = conn.begin().await.unwrap();
        Sql::new("CREATE TABLE writer_held (x INTEGER)")
            .execute(&mut held)
            .await
            .unwrap();
        if db.backend == Backend::Sqlite {
            let direct = tokio::time::timeout(
                std::time::Duration::from_millis(300),
                issuing.allocate_each_purpose(org, 10),
            )
            .await;
            assert!(direct.is_err(), "SQLite's one writer is held");
        }
        let reserved = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            issuing.allocate_reserved(org, 10),
        )
        .await
        .expect("taken from the reserve without waiting for the writer")
        .unwrap();
        assert_eq!(reserved.len(), 10);
        held.rollback().await.unwrap();
    }
);
