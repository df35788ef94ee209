//! The deposits service over its store and core's issuing, on SQLite and PostgreSQL: a
//! surveyor's record becomes a signed credential its organisation's DID document verifies,
//! versions keep their numbers, withdrawing revokes every version, and a refused record leaves
//! nothing behind.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reetrace_core::backend_test;
use reetrace_core::crypto::data_integrity::{self, ASSERTION_METHOD};
use reetrace_core::crypto::{MasterKey, StatusList, parse_public_key_multibase};
use reetrace_core::db::{Db, PoolOptions};
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::service::issuing::{Issuing, IssuingConfig};
use reetrace_core::store::issuing;
use reetrace_core::testing::TestDatabase;
use reetrace_deposits::domain::deposit::DepositInput;
use reetrace_deposits::service::{DepositError, DepositService, DepositVersion};
use reetrace_deposits::store::{self, DepositFilter, MIGRATIONS};
use serde_json::{Value, json};
use uuid::Uuid;

const BASE: &str = "https://reetrace.example";

async fn service(db: &TestDatabase) -> (DepositService, Arc<Issuing>) {
    let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    conn.migrate(&issuing::MIGRATIONS).await.unwrap();
    conn.migrate(&MIGRATIONS).await.unwrap();
    let config = IssuingConfig {
        base_url: BASE.into(),
        aliases: Vec::new(),
    };
    let issuing = Arc::new(Issuing::new(
        issuing::open(&conn),
        MasterKey::generate().unwrap(),
        config,
    ));
    (
        DepositService::new(store::open(&conn), issuing.clone()),
        issuing,
    )
}

/// Records a deposit without an idempotency key; its first version.
async fn create(service: &DepositService, org: Uuid, input: &DepositInput) -> DepositVersion {
    let idem = Idempotency {
        key: None,
        fingerprint: [0; 32],
    };
    match service.create(org, input, now(), &idem).await.unwrap() {
        Answer::Fresh(made) => made,
        Answer::Replay(_) => panic!("no key, no replay"),
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    reetrace_core::domain::account::now()
}

fn red_mud(tonnes: f64) -> DepositInput {
    serde_json::from_value(json!({
        "name": "Residue pond 10",
        "type": "bauxite_residue",
        "status": "closed",
        "location": {
            "geometry": {"type": "Polygon", "coordinates": [
                [[17.47, 47.08], [17.47, 47.09], [17.49, 47.09], [17.49, 47.08], [17.47, 47.08]]
            ]},
            "country": "HU", "nuts": "HU213"
        },
        "tonnage": {"tonnes": tonnes, "uncertainty_tonnes": 3_000_000, "method": "survey"},
        "deposition": {"from": 1964, "to": 2010},
        "assays": [{"sampled_on": "2024-05-02", "method": "ICP-MS", "laboratory": "Lab A",
                    "sample_count": 20,
                    "concentrations": [{"element": "Sc", "ppm": 110, "uncertainty_ppm": 8},
                                       {"element": "Nd", "ppm": 95, "uncertainty_ppm": 6}]}]
    }))
    .unwrap()
}

fn ash(country: &str) -> DepositInput {
    serde_json::from_value(json!({
        "name": "Ash landfill", "type": "fly_ash", "status": "active",
        "location": {"geometry": {"type": "Point", "coordinates": [23.1, 42.2]}, "country": country},
        "tonnage": {"tonnes": 5_000_000, "uncertainty_tonnes": 500_000, "method": "production_model"},
        "deposition": {"from": 1985}
    }))
    .unwrap()
}

/// Verifies a credential's proof with the key its issuer's DID document states.
async fn verify(issuing: &Issuing, org: Uuid, credential: &Value) {
    let document = issuing.did_document(org, BASE).await.unwrap().unwrap();
    assert_eq!(credential["issuer"], document["id"]);
    let resolve = |method: &str| {
        let found = document["verificationMethod"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["id"] == method))
            .ok_or_else(|| format!("{method} is not in the DID document"))?;
        parse_public_key_multibase(found["publicKeyMultibase"].as_str().unwrap_or_default())
            .map_err(|e| e.to_string())
    };
    data_integrity::verify(credential, ASSERTION_METHOD, &resolve).unwrap();
}

/// The revocation bit of a credential, read from its signed status list.
async fn revoked(issuing: &Issuing, credential: &Value) -> bool {
    let entry = &credential["credentialStatus"][0];
    assert_eq!(entry["statusPurpose"], "revocation");
    let url = entry["statusListCredential"].as_str().unwrap();
    let list_id = url.rsplit('/').next().unwrap();
    let list: Value =
        serde_json::from_str(&issuing.status_list_credential(list_id).await.unwrap()).unwrap();
    let bits =
        StatusList::decode(list["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap();
    let index: usize = entry["statusListIndex"].as_str().unwrap().parse().unwrap();
    bits.get(index).unwrap()
}

backend_test!(
    a_record_is_a_signed_credential_with_its_content,
    |db: TestDatabase| async move {
        let (service, issuing) = service(&db).await;
        let surveyor = Uuid::now_v7();
        let made = create(&service, surveyor, &red_mud(30_000_000.0)).await;
        assert_eq!(made.stored.version, 1);
        verify(&issuing, surveyor, &made.credential).await;
        let subject = &made.credential["credentialSubject"];
        assert_eq!(
            subject["id"],
            format!("{BASE}/deposits/{}", made.stored.deposit_id)
        );
        // 30 Mt at 95 g/t: 2,850 t of Nd; the polygon was clockwise, stored counterclockwise.
        assert_eq!(subject["content"][1]["element"], "Nd");
        assert_eq!(subject["content"][1]["contentKg"], 2_850_000.0);
        assert_eq!(
            subject["location"]["geometry"]["coordinates"][0][1],
            json!([17.49, 47.08])
        );
        assert!(!revoked(&issuing, &made.credential).await);

        let read = service.read(made.stored.deposit_id, None).await.unwrap();
        assert_eq!(read.credential, made.credential);
    }
);

backend_test!(
    versions_keep_their_numbers_and_withdrawal_revokes_them_all,
    |db: TestDatabase| async move {
        let (service, issuing) = service(&db).await;
        let surveyor = Uuid::now_v7();
        let first = create(&service, surveyor, &red_mud(30_000_000.0)).await;
        let id = first.stored.deposit_id;
        let second = service
            .update(surveyor, id, &red_mud(31_500_000.0), now())
            .await
            .unwrap();
        assert_eq!(second.stored.version, 2);
        assert_eq!(second.credential["credentialSubject"]["version"], 2);
        verify(&issuing, surveyor, &second.credential).await;

        // Another organisation can neither change nor withdraw it.
        let stranger = Uuid::now_v7();
        assert!(matches!(
            service.update(stranger, id, &red_mud(1.0), now()).await,
            Err(DepositError::NotOwner(_))
        ));
        assert!(matches!(
            service.revoke(stranger, id, now()).await,
            Err(DepositError::NotOwner(_))
        ));

        let withdrawn = service.revoke(surveyor, id, now()).await.unwrap();
        assert!(withdrawn.stored.revoked_at.is_some());
        for version in service.history(id).await.unwrap() {
            assert!(revoked(&issuing, &version.credential).await);
        }
        assert!(matches!(
            service.update(surveyor, id, &red_mud(1.0), now()).await,
            Err(DepositError::Revoked(_))
        ));
        // Withdrawing again is harmless.
        service.revoke(surveyor, id, now()).await.unwrap();
        // Withdrawn deposits leave the list unless asked for.
        assert!(
            service
                .list(&DepositFilter::default(), None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let all = DepositFilter {
            revoked: true,
            ..DepositFilter::default()
        };
        assert_eq!(service.list(&all, None, 10).await.unwrap().len(), 1);
    }
);

backend_test!(
    lists_filter_and_page_and_refusals_write_nothing,
    |db: TestDatabase| async move {
        let (service, _issuing) = service(&db).await;
        let surveyor = Uuid::now_v7();
        for country in ["BG", "PL", "BG"] {
            create(&service, surveyor, &ash(country)).await;
        }
        create(&service, surveyor, &red_mud(30_000_000.0)).await;
        let bulgaria = DepositFilter {
            country: Some("BG".into()),
            ..DepositFilter::default()
        };
        let page = service.list(&bulgaria, None, 1).await.unwrap();
        assert_eq!(page.len(), 1);
        let rest = service
            .list(&bulgaria, Some(page[0].stored.deposit_id), 10)
            .await
            .unwrap();
        assert_eq!(rest.len(), 1);
        assert!(rest[0].stored.deposit_id > page[0].stored.deposit_id);
        let residues = DepositFilter {
            deposit_type: Some("bauxite_residue".into()),
            ..DepositFilter::default()
        };
        assert_eq!(service.list(&residues, None, 10).await.unwrap().len(), 1);

        let Err(DepositError::Invalid(errors)) = service
            .create(
                surveyor,
                &red_mud(-5.0),
                now(),
                &Idempotency {
                    key: None,
                    fingerprint: [0; 32],
                },
            )
            .await
        else {
            panic!("a negative tonnage is refused")
        };
        assert_eq!(errors[0].pointer, "/tonnage/tonnes");
        assert_eq!(
            service
                .list(&DepositFilter::default(), None, 10)
                .await
                .unwrap()
                .len(),
            4,
            "nothing written"
        );
    }
);

backend_test!(
    retries_write_once_unchanged_puts_and_idempotency_keys,
    |db: TestDatabase| async move {
        let (service, _issuing) = service(&db).await;
        let surveyor = Uuid::now_v7();
        let key = reetrace_core::domain::idempotency::IdempotencyKey::parse("retry-1").unwrap();
        let idem = Idempotency {
            key: Some(key.clone()),
            fingerprint: [7; 32],
        };
        let Answer::Fresh(first) = service
            .create(surveyor, &red_mud(30_000_000.0), now(), &idem)
            .await
            .unwrap()
        else {
            panic!("the first request writes")
        };
        // The retry gets the first answer back; nothing more is written.
        let Answer::Replay(stored) = service
            .create(surveyor, &red_mud(30_000_000.0), now(), &idem)
            .await
            .unwrap()
        else {
            panic!("a retry replays")
        };
        assert_eq!(stored.status, 201);
        let replayed: Value = serde_json::from_str(&stored.body).unwrap();
        assert_eq!(replayed["id"], first.stored.deposit_id.to_string());
        let all = DepositFilter {
            revoked: true,
            ..DepositFilter::default()
        };
        assert_eq!(service.list(&all, None, 10).await.unwrap().len(), 1);

        // The same record PUT again: the current version, no new one.
        let id = first.stored.deposit_id;
        let same = service
            .update(surveyor, id, &red_mud(30_000_000.0), now())
            .await
            .unwrap();
        assert_eq!(same.stored.version, 1);
        assert_eq!(service.history(id).await.unwrap().len(), 1);
    }
);

/// The feed's events, as (type, deposit, version, Nd kg of the event's content).
async fn feed(service: &DepositService) -> Vec<(String, Uuid, i64, Option<f64>)> {
    use reetrace_core::service::feed::FeedSource;
    let events = reetrace_deposits::feed::DepositFeed::new(service.store().clone())
        .read(0, 100)
        .await
        .unwrap();
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            assert_eq!(e.seq().unwrap(), i as i64 + 1, "gap-free, in order");
            let nd = e.data["deposit"]["content"].as_array().and_then(|lines| {
                lines
                    .iter()
                    .find(|l| l["element"] == "Nd")
                    .and_then(|l| l["kg"].as_f64())
            });
            (
                e.kind.clone(),
                e.data["deposit_id"].as_str().unwrap().parse().unwrap(),
                e.data["version"].as_i64().unwrap(),
                nd,
            )
        })
        .collect()
}

backend_test!(
    the_feed_reports_versions_and_withdrawals_in_order,
    |db: TestDatabase| async move {
        let (service, _) = service(&db).await;
        let surveyor = Uuid::now_v7();
        let pond = create(&service, surveyor, &red_mud(30_000_000.0)).await;
        let id = pond.stored.deposit_id;
        service
            .update(surveyor, id, &red_mud(40_000_000.0), now())
            .await
            .unwrap();
        let landfill = create(&service, surveyor, &ash("BG")).await;
        service.revoke(surveyor, id, now()).await.unwrap();
        // Withdrawing again writes no second event.
        service.revoke(surveyor, id, now()).await.unwrap();
        let other = landfill.stored.deposit_id;
        let live = feed(&service).await;
        assert_eq!(
            live,
            vec![
                // Each event carries its own version's figures: 30 Mt, then 40 Mt, at 95 g/t.
                (
                    "org.reetrace.deposit.recorded".into(),
                    id,
                    1,
                    Some(2_850_000.0)
                ),
                (
                    "org.reetrace.deposit.versioned".into(),
                    id,
                    2,
                    Some(3_800_000.0)
                ),
                ("org.reetrace.deposit.recorded".into(), other, 1, None),
                ("org.reetrace.deposit.withdrawn".into(), id, 2, None),
            ]
        );

        // A database whose deposits were recorded before the feed existed: the migration's
        // back-fill writes the same events in the same order.
        let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
        for statement in ["DELETE FROM deposit_feed", "DELETE FROM deposit_feed_head"] {
            reetrace_core::db::Sql::new(statement)
                .execute(conn.writer())
                .await
                .unwrap();
        }
        let migration = match db.backend {
            reetrace_core::db::Backend::Sqlite => {
                include_str!("../../../migrations/deposits/sqlite/50002_deposit_feed.sql")
            }
            reetrace_core::db::Backend::Postgres => {
                include_str!("../../../migrations/deposits/postgres/50002_deposit_feed.sql")
            }
        };
        let backfill = migration
            .split("-- Deposits recorded before the feed")
            .nth(1)
            .and_then(|rest| rest.split_once('\n'))
            .unwrap()
            .1;
        for statement in backfill.split(";\n").filter(|s| s.contains("INSERT")) {
            let statement: String = statement
                .lines()
                .filter(|l| !l.starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            reetrace_core::db::Sql::new(statement)
                .execute(conn.writer())
                .await
                .unwrap();
        }
        assert_eq!(feed(&service).await, live);
        // The head continues after the back-filled events.
        let third = create(&service, surveyor, &ash("RO")).await;
        let after = feed(&service).await;
        assert_eq!(after.len(), 5);
        assert_eq!(after[4].1, third.stored.deposit_id);
    }
);
