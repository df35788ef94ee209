//! `reetrace verify-log --state FILE`, the monitor mode, on the database and through the API:
//! an append between runs advances the kept checkpoint; deleting the newest events and the
//! latest checkpoint (issue 15, finding 8) still passes plain `verify-log` but fails the
//! monitor as a rollback; a log regrown over the deleted part fails it as a fork; an edited
//! state file and another log's state are refused.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Running, names, verify_log};
use crate::{both, sql};

/// Three organisations that move products through collection, handover and acceptance.
struct Actors {
    maker: String,
    collector: String,
    recycler_id: String,
    recycler: String,
}

impl Actors {
    async fn new(app: &Running) -> Actors {
        let (_, maker) = app.org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.org("Collecte Lyon", "recycler").await;
        let (recycler_id, recycler) = app.org("Urban Mine", "recycler").await;
        Actors {
            maker,
            collector,
            recycler_id,
            recycler,
        }
    }

    /// Registers `serial` and records its three steps: three leaves.
    async fn three_leaves(&self, app: &Running, serial: &str) {
        let id = app.product(&self.maker, serial).await;
        for (key, body) in [
            (
                &self.collector,
                json!({"action": "collect", "at": "2026-09-02T09:30:00Z"}),
            ),
            (
                &self.collector,
                json!({"action": "handover", "at": "2026-09-03T09:30:00Z", "to_org": self.recycler_id}),
            ),
            (
                &self.recycler,
                json!({"action": "accept", "at": "2026-09-04T09:30:00Z"}),
            ),
        ] {
            let (status, body) = app.step(key, &id, &body).await;
            assert_eq!(status, 201, "{body}");
        }
    }
}

async fn on_db(app: &Running, state: Option<&Path>) -> (i32, Value, String) {
    let mut args = vec!["--database-url".to_owned(), app.db_url.clone()];
    if let Some(state) = state {
        args.extend(["--state".to_owned(), state.display().to_string()]);
    }
    verify_log(args).await
}

async fn on_api(app: &Running, key: &str, state: &Path) -> (i32, Value, String) {
    verify_log(vec![
        "--url".into(),
        app.address.clone(),
        "--api-key".into(),
        key.to_owned(),
        "--state".into(),
        state.display().to_string(),
    ])
    .await
}

fn kept(state: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap()
}

/// A fresh directory for state files, removed at the end of the test.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let dir = std::env::temp_dir().join(format!("reetrace-monitor-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the finding did: every event from leaf `size` on, its chain links and identifiers,
/// the tree nodes over them and the checkpoints beyond `size` deleted; the head set back.
async fn roll_back_to(app: &Running, size: i64) {
    sql!(
        &app.db,
        "DELETE FROM custody_event_epcs WHERE leaf_index >= $1",
        size
    );
    sql!(
        &app.db,
        "DELETE FROM custody_chain WHERE leaf_index >= $1",
        size
    );
    sql!(
        &app.db,
        "DELETE FROM custody_events WHERE leaf_index >= $1",
        size
    );
    for level in 0..8i64 {
        // A node covers leaves [idx * 2^level, (idx + 1) * 2^level): gone when it reaches `size`.
        sql!(
            &app.db,
            "DELETE FROM custody_log_nodes WHERE level = $1 AND idx >= $2",
            level,
            size >> level
        );
    }
    sql!(
        &app.db,
        "DELETE FROM custody_checkpoints WHERE size > $1",
        size
    );
    sql!(
        &app.db,
        "UPDATE custody_log_head SET size = $1 WHERE id = 1",
        size
    );
}

/// What a careful rollback does too: products no remaining event names set back in use, so
/// that their custody rows agree with the log that is left (plain verify-log compares them).
async fn set_custody_back(app: &Running) {
    sql!(
        &app.db,
        "UPDATE custody_products SET state = 'in_use', holder = NULL, pending_to = NULL \
         WHERE passport_id NOT IN (SELECT subject_id FROM custody_chain)"
    );
}

both!(
    monitor_advances_and_refuses_rollback_and_fork,
    |app: Running| async move {
        let dir = Dir::new();
        let (db_state, api_state) = (dir.0.join("db.json"), dir.0.join("api.json"));
        let actors = Actors::new(&app).await;
        actors.three_leaves(&app, "MON-0").await;
        assert_eq!(app.checkpoint().await["tree_size"], 3);

        // First run: verifies and keeps the checkpoint.
        let (code, report, stderr) = on_db(&app, Some(&db_state)).await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(
            report["monitor"],
            json!({"state": db_state, "previous_size": null, "tree_size": 3, "written": true})
        );
        assert_eq!(kept(&db_state)["tree_size"], 3);
        let (code, report, stderr) = on_api(&app, &actors.recycler, &api_state).await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(kept(&api_state)["tree_size"], 3);

        // An append between runs: consistent, and the kept checkpoint advances.
        for i in 1..3 {
            actors.three_leaves(&app, &format!("MON-{i}")).await;
        }
        let latest = app.checkpoint().await;
        assert_eq!(latest["tree_size"], 9);
        for (code, report, stderr) in [
            on_db(&app, Some(&db_state)).await,
            on_api(&app, &actors.recycler, &api_state).await,
        ] {
            assert_eq!(code, 0, "{report} {stderr}");
            assert_eq!(report["monitor"]["previous_size"], 3, "{report}");
            assert_eq!(report["monitor"]["tree_size"], 9, "{report}");
        }
        for state in [&db_state, &api_state] {
            assert_eq!(kept(state)["note"], latest["note"]);
            assert_eq!(kept(state)["root_hash"], latest["root_hash"]);
        }
        // Unchanged since: passes, and keeps the same.
        let (code, report, _) = on_db(&app, Some(&db_state)).await;
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["monitor"]["previous_size"], 9);

        // An edited state file is refused, not trusted (and not overwritten).
        let edited = dir.0.join("edited.json");
        let mut forged = kept(&db_state);
        forged["tree_size"] = json!(4);
        std::fs::write(&edited, forged.to_string()).unwrap();
        let (code, report, _) = on_db(&app, Some(&edited)).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            names(
                &report,
                &["state file", "is refused", "differ from its signed note"]
            ),
            "{report}"
        );
        assert_eq!(report["monitor"]["written"], false);
        assert_eq!(kept(&edited)["tree_size"], 4);

        // The finding: the newest six events and the latest checkpoint deleted. The older
        // checkpoint is validly signed, so plain verify-log passes; the monitor does not.
        roll_back_to(&app, 3).await;
        assert_eq!(app.checkpoint().await["tree_size"], 3);
        // The custody rows the deleted events moved give it away to plain verify-log...
        let (code, report, _) = on_db(&app, None).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            names(
                &report,
                &[
                    "custody_products.state is received",
                    "no event of the log moves it"
                ]
            ),
            "{report}"
        );
        // ...until they are set back too.
        set_custody_back(&app).await;
        let (code, report, stderr) = on_db(&app, None).await;
        assert_eq!(code, 0, "plain verify-log still passes: {report} {stderr}");
        for (code, report, stderr) in [
            on_db(&app, Some(&db_state)).await,
            on_api(&app, &actors.recycler, &api_state).await,
        ] {
            assert_eq!(code, 1, "{report} {stderr}");
            assert_eq!(report["ok"], false);
            assert!(
                names(
                    &report,
                    &["rollback", "3 leaves", "fewer than the 9 leaves"]
                ),
                "{report}"
            );
            assert_eq!(report["monitor"]["written"], false);
        }
        assert_eq!(kept(&db_state)["tree_size"], 9, "the kept state stays");

        // The log regrown past the kept size over other events: a fork, whatever its size.
        for i in 3..6 {
            actors.three_leaves(&app, &format!("MON-{i}")).await;
        }
        assert_eq!(app.checkpoint().await["tree_size"], 12);
        let (code, report, stderr) = on_db(&app, None).await;
        assert_eq!(
            code, 0,
            "plain verify-log passes the fork: {report} {stderr}"
        );
        let (code, report, _) = on_db(&app, Some(&db_state)).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            names(
                &report,
                &[
                    "fork",
                    "12 leaves is not consistent",
                    "9 leaves verified before"
                ]
            ),
            "{report}"
        );
        // Through the API the checkpoint of 9 leaves is gone: either no proof from it, or (when
        // the regrown log published a checkpoint at 9 leaves again) a proof from another root.
        let (code, report, _) = on_api(&app, &actors.recycler, &api_state).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            names(&report, &["fork", "no checkpoint of 9 leaves"])
                || names(
                    &report,
                    &["fork", "not consistent with the checkpoint of 9 leaves"]
                ),
            "{report}"
        );

        // Another log's state (another instance, another origin) is refused.
        let other = crate::support::spawn(app.db.backend()).await.unwrap();
        Actors::new(&other)
            .await
            .three_leaves(&other, "OTHER-0")
            .await;
        other.checkpoint().await;
        let foreign = dir.0.join("other.json");
        let (code, _, _) = on_db(&other, Some(&foreign)).await;
        assert_eq!(code, 0);
        let (code, report, _) = on_db(&app, Some(&foreign)).await;
        assert_eq!(code, 1, "{report}");
        assert!(names(&report, &["another log"]), "{report}");
    }
);

both!(
    an_empty_log_keeps_nothing_and_a_vanished_log_is_a_rollback,
    |app: Running| async move {
        let dir = Dir::new();
        let state = dir.0.join("state.json");
        let (code, report, stderr) = on_db(&app, Some(&state)).await;
        assert_eq!(code, 0, "{report} {stderr}");
        assert_eq!(report["monitor"]["written"], false);
        assert!(!state.exists(), "no checkpoint, nothing to keep");

        let actors = Actors::new(&app).await;
        actors.three_leaves(&app, "GONE-0").await;
        app.checkpoint().await;
        assert_eq!(on_db(&app, Some(&state)).await.0, 0);
        assert_eq!(kept(&state)["tree_size"], 3);
        roll_back_to(&app, 0).await;
        let (code, report, _) = on_db(&app, Some(&state)).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            names(&report, &["rollback", "no checkpoint", "3 leaves"]),
            "{report}"
        );
    }
);
