//! Organisations, API keys and whoami.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};

api_test!(
    admin_creates_an_org_whose_key_works,
    |app: TestApp| async move {
        let (org_id, key) = app.create_org("Acme Motors", "manufacturer").await;
        let response = app
            .get("/api/v1/whoami")
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["org_id"], org_id);
        assert_eq!(me["org_name"], "Acme Motors");
        assert_eq!(me["role"], "manufacturer");
    }
);

api_test!(
    calls_without_a_valid_key_are_401,
    |app: TestApp| async move {
        let response = app.get("/api/v1/whoami").send().await.unwrap();
        let body = assert_problem(response, 401, "unauthorized").await;
        assert!(body["detail"].as_str().unwrap().contains("Bearer"));
        let forged = app
            .get("/api/v1/whoami")
            .bearer_auth("rtk_abcdefghij_notthesecret")
            .send()
            .await
            .unwrap();
        assert_problem(forged, 401, "unauthorized").await;
        let basic = app
            .get("/api/v1/whoami")
            .header("authorization", "Basic dXNlcjpwYXNz")
            .send()
            .await
            .unwrap();
        assert_problem(basic, 401, "unauthorized").await;
    }
);

api_test!(
    only_admins_create_and_list_orgs,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Recycler One", "recycler").await;
        let response = app
            .post("/api/v1/orgs")
            .bearer_auth(&key)
            .json(&json!({"name": "Sneaky", "role": "admin"}))
            .send()
            .await
            .unwrap();
        let body = assert_problem(response, 403, "forbidden").await;
        assert!(body["detail"].as_str().unwrap().contains("admin"));
        let list = app
            .get("/api/v1/orgs")
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_problem(list, 403, "forbidden").await;
    }
);

api_test!(org_list_pages_with_a_cursor, |app: TestApp| async move {
    for name in ["A", "B", "C"] {
        app.create_org(name, "recycler").await;
    }
    let first: Value = app
        .get("/api/v1/orgs?role=recycler&limit=2")
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get(&format!(
            "/api/v1/orgs?role=recycler&limit=2&cursor={cursor}"
        ))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["A", "B", "C"]);
    assert!(second.get("next_cursor").is_none());

    let bad = app
        .get("/api/v1/orgs?limit=5000")
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_problem(bad, 400, "invalid_query").await;
    let bad_cursor = app
        .get("/api/v1/orgs?cursor=nope")
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_problem(bad_cursor, 400, "invalid_cursor").await;
});

api_test!(
    keys_are_listed_by_prefix_and_revoked,
    |app: TestApp| async move {
        let (org_id, first_key) = app.create_org("Acme", "manufacturer").await;
        let created = app
            .post(&format!("/api/v1/orgs/{org_id}/api-keys"))
            .bearer_auth(&app.admin_key)
            .json(&json!({"label": "ci"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        let second_key = created["api_key"].as_str().unwrap().to_owned();
        let key_id = created["key_id"].as_str().unwrap().to_owned();

        let listed: Value = app
            .get(&format!("/api/v1/orgs/{org_id}/api-keys"))
            .bearer_auth(&first_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 2);
        let text = serde_json::to_string(listed).unwrap();
        assert!(!text.contains(&second_key), "listings never show secrets");
        assert!(second_key.contains(listed[1]["prefix"].as_str().unwrap()));

        let revoked = app
            .client
            .delete(app.url(&format!("/api/v1/orgs/{org_id}/api-keys/{key_id}")))
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        let after = app
            .get("/api/v1/whoami")
            .bearer_auth(&second_key)
            .send()
            .await
            .unwrap();
        let body = assert_problem(after, 401, "unauthorized").await;
        assert!(body["detail"].as_str().unwrap().contains("revoked"));
        // The other key still works.
        let still = app
            .get("/api/v1/whoami")
            .bearer_auth(&first_key)
            .send()
            .await
            .unwrap();
        assert_eq!(still.status(), 200);

        let missing = app
            .client
            .delete(app.url(&format!(
                "/api/v1/orgs/{org_id}/api-keys/{}",
                uuid::Uuid::now_v7()
            )))
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_problem(missing, 404, "not_found").await;
    }
);

api_test!(
    an_org_manages_only_its_own_keys,
    |app: TestApp| async move {
        let (acme, acme_key) = app.create_org("Acme", "manufacturer").await;
        let (other, _) = app.create_org("Other", "manufacturer").await;
        let own = app
            .post(&format!("/api/v1/orgs/{acme}/api-keys"))
            .bearer_auth(&acme_key)
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), 201, "no body is fine");
        let theirs = app
            .post(&format!("/api/v1/orgs/{other}/api-keys"))
            .bearer_auth(&acme_key)
            .send()
            .await
            .unwrap();
        assert_problem(theirs, 403, "forbidden").await;
        let read = app
            .get(&format!("/api/v1/orgs/{other}"))
            .bearer_auth(&acme_key)
            .send()
            .await
            .unwrap();
        assert_problem(read, 403, "forbidden").await;
        let bad_id = app
            .get("/api/v1/orgs/not-a-uuid")
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_problem(bad_id, 400, "invalid_id").await;
    }
);

api_test!(org_input_is_validated, |app: TestApp| async move {
    let post = |body: Value| {
        app.post("/api/v1/orgs")
            .bearer_auth(&app.admin_key)
            .json(&body)
            .send()
    };
    let bad_role = post(json!({"name": "X", "role": "overlord"}))
        .await
        .unwrap();
    let body = assert_problem(bad_role, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["pointer"], "/role");
    let empty = post(json!({"name": "  ", "role": "recycler"}))
        .await
        .unwrap();
    let body = assert_problem(empty, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["pointer"], "/name");
    let unknown = post(json!({"name": "X", "role": "recycler", "colour": "red"}))
        .await
        .unwrap();
    assert_problem(unknown, 422, "validation_failed").await;

    let eori = json!({"name": "X", "role": "recycler", "operator_id": {"scheme": "eori", "value": "FR123456789000"}});
    assert_eq!(post(eori.clone()).await.unwrap().status(), 201);
    let again = post(eori).await.unwrap();
    assert_problem(again, 409, "operator_id_taken").await;
});

api_test!(
    a_key_revoked_with_the_cli_is_refused_by_every_running_instance_within_a_second,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Revoked Ltd", "recycler").await;
        // A second instance on the same database, which has the key in its cache.
        let other = reetrace::app::build(&app.config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let other_url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = tokio_util::sync::CancellationToken::new();
        tokio::spawn(other.run(listener, shutdown.clone()));
        let whoami = |base: String| {
            let key = key.clone();
            async move {
                reqwest::Client::new()
                    .get(format!("{base}/api/v1/whoami"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(whoami(other_url.clone()).await, 200);
        // `reetrace admin key revoke --key-prefix`: a third process, outside both instances.
        let prefix = key.split('_').nth(1).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_reetrace"))
            .args(["admin", "key", "revoke", "--key-prefix", prefix])
            .args(["--database-url", &app.database_url])
            .env(
                "REETRACE_MASTER_KEY",
                app.config.master_key.as_ref().unwrap().expose(),
            )
            .env("REETRACE_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
        assert_eq!(whoami(other_url).await, 401);
        assert_eq!(whoami(app.address.clone()).await, 401);
        shutdown.cancel();
    }
);
