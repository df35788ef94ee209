//! `reetrace admin master-key rotate|check`: every sealed signing key moves to a new master
//! key, an interrupted or repeated rotation is finished by the next run, and the application
//! then starts and signs with the new key only.

use std::path::Path;
use std::process::Command;

use reetrace::config::SecretText;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::TestApp;

/// Where the `reetrace` binary takes its master key from.
enum Master<'a> {
    /// `REETRACE_MASTER_KEY`, the text of the key.
    Text(&'a str),
    /// `REETRACE_MASTER_KEY_FILE`.
    File(&'a Path),
}

/// Runs `reetrace admin ARGS` on the app's database; returns (exit code, answer, standard
/// error).
async fn admin(app: &TestApp, master: Master<'_>, args: &[&str]) -> (i32, Value, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reetrace"));
    command
        .arg("admin")
        .args(args)
        .arg("--database-url")
        .arg(&app.database_url)
        .env_remove("REETRACE_MASTER_KEY")
        .env_remove("REETRACE_MASTER_KEY_FILE")
        .env("REETRACE_PUBLIC_BASE_URL", app.config.public_base_url())
        .env("REETRACE_LOG", "warn");
    match master {
        Master::Text(key) => command.env("REETRACE_MASTER_KEY", key),
        Master::File(path) => command.env("REETRACE_MASTER_KEY_FILE", path),
    };
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.code().unwrap(),
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

api_test!(
    a_master_key_rotation_moves_every_sealed_key_and_can_be_run_again,
    |app: TestApp| async move {
        let (org_a, _) = app.create_org("Acme Motors", "manufacturer").await;
        let (org_b, _) = app.create_org("Magnet Works", "manufacturer").await;
        let old: String = app.config.master_key.as_ref().unwrap().expose().to_string();
        // A retired key is sealed too: two keys for Magnet Works.
        let (code, _, stderr) = admin(
            &app,
            Master::Text(&old),
            &["key", "rotate", "--org", &org_b],
        )
        .await;
        assert_eq!(code, 0, "{stderr}");
        let signing_keys = 3;
        let dir = tempfile::tempdir().unwrap();
        let new_file = dir.path().join("keys").join("master.key");

        let (code, answer, stderr) =
            admin(&app, Master::Text(&old), &["master-key", "check"]).await;
        assert_eq!(code, 0, "{answer} {stderr}");
        assert_eq!(
            answer,
            json!({"ok": true, "signing_keys": signing_keys, "custody_log_keys": 1})
        );

        let rotate = [
            "master-key",
            "rotate",
            "--new-key-file",
            new_file.to_str().unwrap(),
        ];
        let (code, answer, stderr) = admin(&app, Master::Text(&old), &rotate).await;
        assert_eq!(code, 0, "{answer} {stderr}");
        assert_eq!(
            answer["signing_keys"],
            json!({"resealed": signing_keys, "already": 0})
        );
        assert_eq!(
            answer["custody_log_keys"],
            json!({"resealed": 1, "already": 0})
        );
        assert!(
            answer["next"]
                .as_str()
                .unwrap()
                .contains("REETRACE_MASTER_KEY_FILE=")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&new_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the new key file is private");
        }

        // The old key opens nothing any more; the new one opens everything.
        let (code, answer, _) = admin(&app, Master::Text(&old), &["master-key", "check"]).await;
        assert_eq!(code, 1, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("does not open with the configured master key"),
            "{answer}"
        );
        let (code, answer, _) =
            admin(&app, Master::File(&new_file), &["master-key", "check"]).await;
        assert_eq!(code, 0, "{answer}");

        // Again: nothing left to move.
        let (code, answer, _) = admin(&app, Master::Text(&old), &rotate).await;
        assert_eq!(code, 0, "{answer}");
        assert_eq!(
            answer["signing_keys"],
            json!({"resealed": 0, "already": signing_keys})
        );
        // "Rotating" to the key in use is refused.
        let (code, _, stderr) = admin(&app, Master::File(&new_file), &rotate).await;
        assert_ne!(code, 0);
        assert!(stderr.contains("holds the master key in use"), "{stderr}");

        // The application starts with the new key and signs with the moved keys; with the old
        // key it does not start (the custody log's key no longer opens).
        let new_text = std::fs::read_to_string(&new_file).unwrap();
        let mut config = app.config.clone();
        config.master_key = Some(SecretText::new(new_text.trim().to_owned()));
        let restarted = reetrace::app::build(&config).await.unwrap();
        let issuing = &restarted.services().issuing;
        for org in [&org_a, &org_b] {
            issuing.active_key(org.parse().unwrap()).await.unwrap();
        }
        let mut stale = app.config.clone();
        stale.master_key = Some(SecretText::new(old));
        assert!(reetrace::app::build(&stale).await.is_err());
    }
);
