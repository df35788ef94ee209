//! The pages people look at: the passport page with its script, the regulator dashboard and
//! the assets they load, served from the binary with the right types and policies.

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The `src`/`href` of every `<script>` and `<link rel="stylesheet">` of a page.
fn loaded_assets(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in ["<script src=\"", "<link rel=\"stylesheet\" href=\""] {
        for part in html.split(tag).skip(1) {
            found.push(part.split('"').next().unwrap().to_owned());
        }
    }
    found
}

api_test!(
    the_passport_page_loads_its_script_from_this_server_under_its_policy,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let passport = app.register(&key, &motor("EVM-PAGE-1")).await;
        let id = passport["id"].as_str().unwrap();
        let page = app
            .get(&format!("/p/{id}"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let policy = header(&page, "content-security-policy");
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(policy.contains("connect-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("data-passport-id=\"{id}\"")));
        assert!(html.contains("<h2 id=\"custody-h\">Custody timeline</h2>"));
        assert_eq!(loaded_assets(&html), vec!["/assets/passport.js".to_owned()]);

        let script = app.get("/assets/passport.js").send().await.unwrap();
        assert_eq!(script.status(), 200);
        assert_eq!(
            header(&script, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header(&script, "x-content-type-options"), "nosniff");
        let body = script.text().await.unwrap();
        assert!(body.contains("sessionStorage"), "the key stays in the tab");
        assert!(body.contains("'/api/v1/custody/'"), "reads the custody API");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "this origin only"
        );
    }
);

api_test!(
    the_dashboard_and_its_assets_are_served_with_their_types_and_policy,
    |app: TestApp| async move {
        let page = app.get("/dashboard").send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
        let policy = header(&page, "content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{directive} in {policy}");
        }
        assert!(!policy.contains("unsafe"), "{policy}");
        let html = page.text().await.unwrap();
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.contains("<label for=\"f-element\">Element</label>"));
        assert!(html.contains("<option value=\"Dy\">Dysprosium (Dy)</option>"));
        assert!(
            html.contains(
                "<option value=\"wind_turbine_generator\">Wind turbine generator</option>"
            )
        );
        assert!(html.contains("id=\"download-csv\"") && html.contains("id=\"download-json\""));
        let assets = loaded_assets(&html);
        assert_eq!(
            assets,
            vec![
                "/assets/charts.js".to_owned(),
                "/assets/map.js".to_owned(),
                "/assets/secondary.js".to_owned(),
                "/assets/dashboard.js".to_owned(),
                "/assets/dashboard.css".to_owned()
            ]
        );
        for (path, content_type, needle) in [
            (
                "/assets/charts.js",
                "text/javascript; charset=utf-8",
                "window.ReeCharts",
            ),
            (
                "/assets/dashboard.js",
                "text/javascript; charset=utf-8",
                "/api/v1/whoami",
            ),
            (
                "/assets/dashboard.css",
                "text/css; charset=utf-8",
                ".series.forecast",
            ),
            ("/assets/favicon.svg", "image/svg+xml", "<svg"),
            (
                "/assets/map.js",
                "text/javascript; charset=utf-8",
                "window.ReeMap",
            ),
            (
                "/assets/secondary.js",
                "text/javascript; charset=utf-8",
                "window.ReeSecondary",
            ),
            (
                "/assets/world-atlas-2.0.2/countries-110m.json",
                "application/json",
                "\"type\":\"Topology\"",
            ),
        ] {
            let response = app.get(path).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(header(&response, "content-type"), content_type, "{path}");
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
            assert!(!header(&response, "cache-control").is_empty(), "{path}");
            let body = response.text().await.unwrap();
            assert!(body.contains(needle), "{path} holds {needle}");
        }
        // HEAD answers the headers too; an unknown asset is a problem+json 404.
        let head = app
            .client
            .head(app.url("/assets/dashboard.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200);
        let missing = app.get("/assets/nothing.js").send().await.unwrap();
        assert_problem(missing, 404, "not_found").await;
    }
);

api_test!(
    the_field_page_its_assets_and_its_service_worker_are_served_for_the_scope_scan,
    |app: TestApp| async move {
        let page = app.get("/scan").send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&page, "cache-control"), "no-cache");
        let policy = header(&page, "content-security-policy");
        for directive in [
            "script-src 'self'",
            "connect-src 'self'",
            "worker-src 'self'",
        ] {
            assert!(policy.contains(directive), "{directive} in {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(
            header(&page, "permissions-policy"),
            "camera=(self), geolocation=(self)"
        );
        let html = page.text().await.unwrap();
        assert_eq!(
            loaded_assets(&html),
            [
                "/assets/scan-queue.js",
                "/assets/scan-forms.js",
                "/assets/scan.js",
                "/assets/scan.css"
            ]
        );
        assert!(html.contains("<option value=\"DE\">Germany</option>"));
        for (path, content_type) in [
            ("/assets/scan.js", "text/javascript; charset=utf-8"),
            ("/assets/scan-queue.js", "text/javascript; charset=utf-8"),
            ("/assets/scan-forms.js", "text/javascript; charset=utf-8"),
            ("/assets/scan.css", "text/css; charset=utf-8"),
        ] {
            let asset = app.get(path).send().await.unwrap();
            assert_eq!(asset.status(), 200, "{path}");
            assert_eq!(header(&asset, "content-type"), content_type, "{path}");
            assert_eq!(header(&asset, "x-content-type-options"), "nosniff");
            let body = asset.text().await.unwrap();
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{path}: no other origin"
            );
        }

        let worker = app.get("/scan-sw.js").send().await.unwrap();
        assert_eq!(worker.status(), 200);
        assert_eq!(
            header(&worker, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header(&worker, "service-worker-allowed"), "/scan");
        assert_eq!(header(&worker, "cache-control"), "no-cache");
        assert!(header(&worker, "content-security-policy").contains("connect-src 'self'"));
        let js = worker.text().await.unwrap();
        assert!(js.contains("const CACHE = 'reetrace-field-0."), "{js}");
        assert!(js.contains("'/assets/scan.js'"));

        // The queue sends every step with the Idempotency-Key it was recorded with.
        let queue = app.get("/assets/scan-queue.js").send().await.unwrap();
        let queue = queue.text().await.unwrap();
        assert!(queue.contains("'Idempotency-Key': entry.idempotency_key"));
        assert!(queue.contains("indexedDB.open("));
    }
);
