//! The pages people look at: the passport page with its script, served from the binary with
//! the right types and policies.

use crate::api_test;
use crate::helpers::TestApp;
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
