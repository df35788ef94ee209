//! The log covers what the figures are computed from: an event's `data` (the masses the stock
//! figures add up), its recorder (`org_id`) and the custody rows (`custody_products.holder`...)
//! edited in the database behind the application's back each fail `reetrace verify-log`, naming
//! the event or the product and the column, also after an export and a restore; undone, the log
//! verifies again.

use std::process::Command;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Running, names, verify_log};
use crate::{both, rows, sql};

/// Product A collected, handed over and accepted (leaves 0 to 2); product B collected (leaf 3).
/// Returns (A, B, the collector's id, the recycler's key).
async fn world(app: &Running) -> (String, String, String, String) {
    let (_, maker) = app.org("Acme Motors", "manufacturer").await;
    let (collector_id, collector) = app.org("Collecte Lyon", "recycler").await;
    let (recycler_id, recycler) = app.org("Urban Mine", "recycler").await;
    let a = app.product(&maker, "COVER-A").await;
    let b = app.product(&maker, "COVER-B").await;
    for (key, id, body) in [
        (
            &collector,
            &a,
            json!({"action": "collect", "at": "2025-09-02T09:30:00Z"}),
        ),
        (
            &collector,
            &a,
            json!({"action": "handover", "at": "2025-09-03T09:30:00Z", "to_org": recycler_id}),
        ),
        (
            &recycler,
            &a,
            json!({"action": "accept", "at": "2025-09-04T09:30:00Z"}),
        ),
        (
            &collector,
            &b,
            json!({"action": "collect", "at": "2025-09-05T09:30:00Z"}),
        ),
    ] {
        let (status, body) = app.step(key, id, &body).await;
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(app.checkpoint().await["tree_size"], 4);
    (a, b, collector_id, recycler)
}

async fn db_form(url: &str) -> (i32, Value, String) {
    verify_log(vec!["--database-url".into(), url.to_owned()]).await
}

/// The stored event of `leaf`: (event id, data, recorder).
async fn event_at(app: &Running, leaf: i64) -> (String, String, Uuid) {
    rows!(
        &app.db,
        (String, String, Uuid),
        "SELECT event_id, data, org_id FROM custody_events WHERE leaf_index = $1",
        leaf
    )
    .remove(0)
}

/// `data` with the Nd of the collected product multiplied by a thousand (plus some): the mass
/// the regulator's collected figure for 2025 adds up.
fn more_neodymium(data: &str) -> String {
    let mut value: Value = serde_json::from_str(data).unwrap();
    let nd = value["elements"]["Nd"].as_i64().unwrap();
    assert_eq!(nd, 337_500_000, "337.5 g of Nd in micrograms");
    value["elements"]["Nd"] = json!(nd * 1000 + 40_000);
    value.to_string()
}

/// Asserts that the report names the leaf of `event_id` as not matching what it covers, and
/// that its document (hence its chain) is intact: it is a column that was changed.
fn names_a_changed_column(report: &Value, leaf: i64, event_id: &str) {
    assert_eq!(report["ok"], false, "{report}");
    assert!(
        names(
            report,
            &[
                &format!("leaf {leaf} "),
                event_id,
                "recomputed leaf hash",
                "data, org_id"
            ]
        ),
        "{report}"
    );
    assert!(!names(report, &["breaks at event"]), "{report}");
}

both!(
    verify_log_names_an_edited_event_data_recorder_or_custody_row,
    |app: Running| async move {
        let (a, b, collector_id, recycler) = world(&app).await;
        let (code, report, stderr) = db_form(&app.db_url).await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(report["uncovered"], 0, "every leaf covers its columns");
        let through_api = |key: String| {
            verify_log(vec![
                "--url".into(),
                app.address.clone(),
                "--api-key".into(),
                key,
            ])
        };
        let (code, report, stderr) = through_api(recycler.clone()).await;
        assert_eq!(code, 0, "{report} {stderr}");

        // The collected mass of a product: the figures would add it up; verify-log refuses it.
        let (event_id, data, recorder) = event_at(&app, 0).await;
        sql!(
            &app.db,
            "UPDATE custody_events SET data = $1 WHERE leaf_index = 0",
            more_neodymium(&data)
        );
        let (code, report, stderr) = db_form(&app.db_url).await;
        assert_eq!(code, 1, "{report} {stderr}");
        names_a_changed_column(&report, 0, &event_id);
        assert!(
            names(&report, &["differs from the signed checkpoint"]),
            "{report}"
        );
        // From the outside too: the entry's record digest no longer gives the signed leaf.
        let (code, report, _) = through_api(recycler.clone()).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            names(&report, &["leaf 0 ", "recomputed leaf hash"]),
            "{report}"
        );
        sql!(
            &app.db,
            "UPDATE custody_events SET data = $1 WHERE leaf_index = 0",
            data.clone()
        );
        assert_eq!(db_form(&app.db_url).await.0, 0, "undone");

        // Another recorder: the figures would credit another organisation.
        let (event_id, _, holder) = event_at(&app, 3).await;
        sql!(
            &app.db,
            "UPDATE custody_events SET org_id = $1 WHERE leaf_index = 3",
            Uuid::now_v7()
        );
        let (code, report, _) = db_form(&app.db_url).await;
        assert_eq!(code, 1, "{report}");
        names_a_changed_column(&report, 3, &event_id);
        sql!(
            &app.db,
            "UPDATE custody_events SET org_id = $1 WHERE leaf_index = 3",
            holder
        );
        assert_eq!(db_form(&app.db_url).await.0, 0, "undone");
        assert_eq!(recorder.to_string(), collector_id);

        // Every new leaf commits to its event's random salt: another salt is named too.
        let (salt,): (Option<Vec<u8>>,) = rows!(
            &app.db,
            (Option<Vec<u8>>,),
            "SELECT salt FROM custody_events WHERE leaf_index = 3"
        )
        .remove(0);
        assert_eq!(salt.as_ref().map(Vec::len), Some(16), "a salted leaf");
        sql!(
            &app.db,
            "UPDATE custody_events SET salt = $1 WHERE leaf_index = 3",
            vec![0u8; 16]
        );
        let (code, report, _) = db_form(&app.db_url).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            names(&report, &["leaf 3 ", "recomputed leaf hash"]),
            "{report}"
        );
        sql!(
            &app.db,
            "UPDATE custody_events SET salt = $1 WHERE leaf_index = 3",
            salt
        );
        assert_eq!(db_form(&app.db_url).await.0, 0, "undone");

        // A product's holder: A was accepted by the recycler (leaf 2), not kept by the collector.
        let collector: Uuid = collector_id.parse().unwrap();
        let a_id: Uuid = a.parse().unwrap();
        let (holder,): (Uuid,) = rows!(
            &app.db,
            (Uuid,),
            "SELECT holder FROM custody_products WHERE passport_id = $1",
            a_id
        )
        .remove(0);
        assert_ne!(holder, collector);
        sql!(
            &app.db,
            "UPDATE custody_products SET holder = $1 WHERE passport_id = $2",
            collector,
            a_id
        );
        let (code, report, _) = db_form(&app.db_url).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            names(
                &report,
                &[
                    &format!("product {a}"),
                    &format!("custody_products.holder is {collector}"),
                    "leaf 2",
                    &holder.to_string()
                ]
            ),
            "{report}"
        );
        assert_eq!(report["problem_count"], 1, "the log itself holds: {report}");
        sql!(
            &app.db,
            "UPDATE custody_products SET holder = $1 WHERE passport_id = $2",
            holder,
            a_id
        );
        assert_eq!(db_form(&app.db_url).await.0, 0, "undone");

        // A handover that never happened, and a state the events never reached.
        let b_id: Uuid = b.parse().unwrap();
        sql!(
            &app.db,
            "UPDATE custody_products SET pending_to = $1, state = 'sorted' WHERE passport_id = $2",
            holder,
            b_id
        );
        let (code, report, _) = db_form(&app.db_url).await;
        assert_eq!(code, 1, "{report}");
        for column in ["pending_to is", "state is sorted"] {
            assert!(
                names(
                    &report,
                    &[
                        &format!("product {b}"),
                        &format!("custody_products.{column}")
                    ]
                ),
                "{report}"
            );
        }
        sql!(
            &app.db,
            "UPDATE custody_products SET pending_to = NULL, state = 'collected' WHERE passport_id = $1",
            b_id
        );
        let (code, report, _) = db_form(&app.db_url).await;
        assert_eq!(code, 0, "undone: {report}");
    }
);

/// Runs the built `reetrace` with `args` on `url`; asserts it succeeded.
fn reetrace(args: &[&str], url: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .args(args)
        .args(["--database-url", url])
        .env_remove("REETRACE_DATABASE_URL")
        .env("REETRACE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

both!(
    an_edited_event_survives_export_and_restore_but_not_verify_log,
    |app: Running| async move {
        let (_, _, _, _) = world(&app).await;
        let (event_id, data, _) = event_at(&app, 0).await;
        sql!(
            &app.db,
            "UPDATE custody_events SET data = $1 WHERE leaf_index = 0",
            more_neodymium(&data)
        );
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("backup.ndjson.gz");
        let target = reetrace_core::testing::TestDatabase::new(app.db.backend())
            .await
            .unwrap();
        let (app_url, target_url, path) = (
            app.db_url.clone(),
            target.url.clone(),
            archive.to_str().unwrap().to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            reetrace(&["export", "--output", &path], &app_url);
            reetrace(&["restore", "--input", &path], &target_url);
        })
        .await
        .unwrap();
        // The restored edit is what the rebuilt figures would read: verify-log names it.
        let (code, report, stderr) = db_form(&target.url).await;
        assert_eq!(code, 1, "{report} {stderr}");
        names_a_changed_column(&report, 0, &event_id);
        assert_eq!(report["events"], 4);
    }
);
