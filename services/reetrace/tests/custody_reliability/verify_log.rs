//! `reetrace verify-log`, the built binary, on the database and through the API: a clean log
//! verifies; an event edited in the database, a deleted chain link, reordered links and an
//! edited leaf hash each fail it, naming what broke; undoing the tampering verifies again.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Running, names, verify_log};
use crate::{both, rows, sql};

/// Three products collected, handed over and accepted: nine events on nine leaves.
async fn small_log(app: &Running) -> String {
    let (_, maker) = app.org("Acme Motors", "manufacturer").await;
    let (_, collector) = app.org("Collecte Lyon", "recycler").await;
    let (recycler_id, recycler) = app.org("Urban Mine", "recycler").await;
    for i in 0..3 {
        let id = app.product(&maker, &format!("VL-{i}")).await;
        for (key, body) in [
            (
                &collector,
                json!({"action": "collect", "at": "2026-09-02T09:30:00Z"}),
            ),
            (
                &collector,
                json!({"action": "handover", "at": "2026-09-03T09:30:00Z", "to_org": recycler_id}),
            ),
            (
                &recycler,
                json!({"action": "accept", "at": "2026-09-04T09:30:00Z"}),
            ),
        ] {
            let (status, body) = app.step(key, &id, &body).await;
            assert_eq!(status, 201, "{body}");
        }
    }
    recycler
}

async fn db_form(app: &Running) -> (i32, Value, String) {
    verify_log(vec!["--database-url".into(), app.db_url.clone()]).await
}

async fn url_form(app: &Running, key: &str) -> (i32, Value, String) {
    verify_log(vec![
        "--url".into(),
        app.address.clone(),
        "--api-key".into(),
        key.to_owned(),
        "--page-size".into(),
        "4".into(),
    ])
    .await
}

both!(
    verify_log_passes_a_clean_log_and_names_each_tampering,
    |app: Running| async move {
        let key = small_log(&app).await;
        let checkpoint = app.checkpoint().await;
        assert_eq!(checkpoint["tree_size"], 9);

        let (code, report, stderr) = db_form(&app).await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(report["ok"], true);
        assert_eq!(report["source"], "database");
        assert_eq!(
            (report["events"].clone(), report["subjects"].clone()),
            (json!(9), json!(3))
        );
        assert_eq!(report["checkpoint_size"], 9);
        assert_eq!(
            report["verifier_key"], checkpoint["verifier_key"],
            "printed to pin it"
        );

        let (code, report, stderr) = url_form(&app, &key).await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(report["source"], app.address);
        assert_eq!(report["verifier_key"], checkpoint["verifier_key"]);
        assert_eq!(
            (report["events"].clone(), report["checkpoint_size"].clone()),
            (json!(9), json!(9))
        );

        // Pinned: the right key passes; an impostor's key under the same name does not.
        let vkey = checkpoint["verifier_key"].as_str().unwrap().to_owned();
        let pinned = |vkey: String| {
            let mut args = vec![
                "--url".to_owned(),
                app.address.clone(),
                "--api-key".into(),
                key.clone(),
            ];
            args.extend(["--verifier-key".to_owned(), vkey]);
            args
        };
        let (code, _, _) = verify_log(pinned(vkey.clone())).await;
        assert_eq!(code, 0);
        let impostor = reetrace_core::checkpoint::verifier_key(
            vkey.split('+').next().unwrap(),
            &reetrace_core::crypto::generate_signing_key()
                .unwrap()
                .verifying_key(),
        )
        .unwrap();
        let (code, report, _) = verify_log(pinned(impostor.clone())).await;
        assert_eq!(code, 1, "{report}");
        assert!(names(&report, &["not the pinned one"]), "{report}");
        assert!(names(&report, &["checkpoint does not verify"]), "{report}");
        let (code, _, _) = verify_log(vec![
            "--database-url".into(),
            app.db_url.clone(),
            "--verifier-key".into(),
            impostor,
        ])
        .await;
        assert_eq!(code, 1);
        // The entries are not public.
        let (code, _, stderr) = verify_log(vec!["--url".into(), app.address.clone()]).await;
        assert_eq!(code, 2);
        assert!(stderr.contains("--api-key"), "{stderr}");

        // An event row edited in the database: both forms name it.
        let (event_id, document): (String, String) = rows!(
            &app.db,
            (String, String),
            "SELECT event_id, document FROM custody_events WHERE leaf_index = 4"
        )
        .remove(0);
        let edited = document.replace("2026-09-03T09:30:00", "2026-09-03T19:30:00");
        assert_ne!(edited, document);
        sql!(
            &app.db,
            "UPDATE custody_events SET document = $1 WHERE leaf_index = 4",
            edited
        );
        for (code, report, stderr) in [db_form(&app).await, url_form(&app, &key).await] {
            assert_eq!(code, 1, "{report} {stderr}");
            assert_eq!(report["ok"], false);
            assert!(
                names(&report, &["breaks at event", &event_id, "leaf 4"]),
                "{report}"
            );
            assert!(
                names(&report, &["leaf 4", "recomputed leaf hash"]),
                "{report}"
            );
            assert!(
                names(&report, &["differs from the signed checkpoint"]),
                "{report}"
            );
        }
        sql!(
            &app.db,
            "UPDATE custody_events SET document = $1 WHERE leaf_index = 4",
            document
        );
        assert_eq!(db_form(&app).await.0, 0, "restored");

        // A chain link deleted: the chain skips and the leaf no longer matches.
        let (subject, seq, leaf, link): (Uuid, i64, i64, Vec<u8>) = rows!(
            &app.db,
            (Uuid, i64, i64, Vec<u8>),
            "SELECT subject_id, seq, leaf_index, link FROM custody_chain WHERE leaf_index = 4"
        )
        .remove(0);
        assert_eq!(seq, 2, "leaf 4 is the second product's handover");
        sql!(
            &app.db,
            "DELETE FROM custody_chain WHERE subject_id = $1 AND seq = 2",
            subject
        );
        let (code, report, _) = db_form(&app).await;
        assert_eq!(code, 1);
        assert!(
            names(
                &report,
                &[
                    &subject.to_string(),
                    "forks or skips",
                    "link 3 follows link 1"
                ]
            ),
            "{report}"
        );
        assert!(
            names(&report, &["leaf 4", "recomputed leaf hash"]),
            "{report}"
        );
        sql!(
            &app.db,
            "INSERT INTO custody_chain (subject_id, seq, leaf_index, link) VALUES ($1, $2, $3, $4)",
            subject,
            seq,
            leaf,
            link
        );
        assert_eq!(db_form(&app).await.0, 0, "restored");

        // Two links of one chain reordered.
        let swap = async |a: i64, b: i64| {
            sql!(
                &app.db,
                "UPDATE custody_chain SET seq = -1 WHERE subject_id = $1 AND seq = $2",
                subject,
                a
            );
            sql!(
                &app.db,
                "UPDATE custody_chain SET seq = $2 WHERE subject_id = $1 AND seq = $3",
                subject,
                a,
                b
            );
            sql!(
                &app.db,
                "UPDATE custody_chain SET seq = $2 WHERE subject_id = $1 AND seq = -1",
                subject,
                b
            );
        };
        swap(2, 3).await;
        let (code, report, _) = db_form(&app).await;
        assert_eq!(code, 1);
        assert!(
            names(
                &report,
                &["forks or skips", "leaf 4", "link 3 follows link 1"]
            ),
            "{report}"
        );
        let (code, report, _) = url_form(&app, &key).await;
        assert_eq!(code, 1);
        assert!(names(&report, &["forks or skips", "leaf 4"]), "{report}");
        swap(3, 2).await;
        assert_eq!(db_form(&app).await.0, 0, "restored");

        // A leaf hash edited.
        let (original,): (Vec<u8>,) = rows!(
            &app.db,
            (Vec<u8>,),
            "SELECT leaf_hash FROM custody_events WHERE leaf_index = 7"
        )
        .remove(0);
        sql!(
            &app.db,
            "UPDATE custody_events SET leaf_hash = $1 WHERE leaf_index = 7",
            vec![7u8; 32]
        );
        let (code, report, _) = db_form(&app).await;
        assert_eq!(code, 1);
        assert!(
            names(&report, &["leaf 7", "recomputed leaf hash"]),
            "{report}"
        );
        assert_eq!(report["problem_count"], 1, "{report}");
        sql!(
            &app.db,
            "UPDATE custody_events SET leaf_hash = $1 WHERE leaf_index = 7",
            original
        );
        let (code, report, _) = url_form(&app, &key).await;
        assert_eq!(code, 0, "{report}");
    }
);

both!(an_empty_log_verifies, |app: Running| async move {
    let (_, key) = app.org("Reader", "regulator").await;
    let (code, report, stderr) = db_form(&app).await;
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(
        (report["events"].clone(), report["checkpoint_size"].clone()),
        (json!(0), Value::Null)
    );
    let (code, report, stderr) = url_form(&app, &key).await;
    assert_eq!(code, 0, "{report} {stderr}");
});
