//! The GS1 Digital Link resolver and the QR codes: every identifier form, content negotiation,
//! the linkset, errors, HEAD/OPTIONS/CORS, the page, and QR images decoded back to the URL.

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;

pub(crate) const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

/// A batch of hub motors whose lot needs percent-encoding.
fn batch() -> Value {
    json!({"granularity": "batch",
     "product": {"gtin": "04012345000016", "lot": "LOT/2026-A", "units": 500, "name": "E-bike hub motor",
       "category": "e_bike_motor", "net_mass_g": 2500, "placed_on_market": {"date": "2026-04-15", "country": "DE"}},
     "ree_content": {"components": [{"name": "magnet ring", "material": "NdFeB-bonded", "mass_g": 150,
       "elements": [{"element": "Nd", "mass_g": 30}, {"element": "Pr", "mass_g": 8}]}]}})
}

/// A model passport of `gtin`.
pub(crate) fn model(gtin: &str) -> Value {
    json!({"granularity": "model",
     "product": {"gtin": gtin, "name": "Traction motor PMSM 150 kW (model)", "model": "PM150",
       "category": "ev_traction_motor", "net_mass_g": 48000, "placed_on_market": {"date": "2026-01-10", "country": "FR"}},
     "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
       "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Dy", "mass_g": 60}]}]}})
}

/// A hard disk drive without a GTIN: it resolves at `/p/{id}`.
fn drive() -> Value {
    json!({"granularity": "item",
     "product": {"name": "3.5\" hard disk drive", "category": "hard_disk_drive", "net_mass_g": 650,
       "placed_on_market": {"date": "2025-11-03", "country": "NL"}},
     "ree_content": {"components": [{"name": "voice coil magnet", "material": "NdFeB-sintered", "mass_g": 12,
       "elements": [{"element": "Nd", "mass_g": 3.2}, {"element": "Pr", "mass_g": 0.9}, {"element": "Dy", "mass_g": 0.1}]}]}})
}

pub(crate) fn path_of(app: &TestApp, uri: &Value) -> String {
    uri.as_str()
        .unwrap()
        .strip_prefix(&app.address)
        .unwrap()
        .to_owned()
}

pub(crate) fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn varies_on_accept(response: &reqwest::Response) -> bool {
    header(response, "vary")
        .split(',')
        .any(|v| v.trim().eq_ignore_ascii_case("accept"))
}

pub(crate) async fn get(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.get(path).header("accept", accept).send().await.unwrap()
}

/// The stored credential, byte for byte, from the credential endpoint.
pub(crate) async fn stored_credential(app: &TestApp, id: &str) -> String {
    app.get(&format!("/api/v1/passports/{id}/credential"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

api_test!(
    every_identifier_form_resolves_to_its_passport,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let model = app.register(&key, &model("04012345000016")).await;
        let mut item = motor("EVM-2026-000001");
        item["product"]["model_passport"] = model["id"].clone();
        let item = app.register(&key, &item).await;
        let batch = app.register(&key, &batch()).await;
        let drive = app.register(&key, &drive()).await;

        let id = drive["id"].as_str().unwrap();
        assert_eq!(drive["uri"], format!("{}/p/{id}", app.address));
        assert_eq!(
            batch["uri"],
            format!("{}/01/04012345000016/10/LOT%2F2026-A", app.address)
        );
        assert_eq!(model["uri"], format!("{}/01/04012345000016", app.address));
        for issued in [&item, &batch, &model, &drive] {
            let path = path_of(&app, &issued["uri"]);
            let response = get(&app, &path, "application/json").await;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(header(&response, "content-type"), "application/json");
            assert!(varies_on_accept(&response), "{path}");
            let link = header(&response, "link");
            assert!(
                link.contains(&format!(
                    "<{}?linkType=linkset>; rel=\"linkset\"",
                    issued["uri"].as_str().unwrap()
                )),
                "{link}"
            );
            let body = response.text().await.unwrap();
            let id = issued["id"].as_str().unwrap();
            assert_eq!(
                body,
                stored_credential(&app, id).await,
                "exact stored bytes"
            );
            let credential: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(credential["credentialSubject"]["id"], issued["uri"]);
        }
        // A GS1 product also resolves at /p/{id}, pointing to its Digital Link as canonical.
        let by_id = get(
            &app,
            &format!("/p/{}", item["id"].as_str().unwrap()),
            "application/json",
        )
        .await;
        assert_eq!(by_id.status(), 200);
        assert!(header(&by_id, "link").contains(&format!(
            "<{}>; rel=\"canonical\"",
            item["uri"].as_str().unwrap()
        )));
        // The lot also resolves when written with the slash percent-encoded in lower case.
        let lower = get(
            &app,
            "/01/04012345000016/10/LOT%2f2026-A",
            "application/json",
        )
        .await;
        assert_eq!(lower.status(), 200);
    }
);

api_test!(
    content_negotiation_picks_the_representation,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &motor("EVM-1")).await;
        let id = issued["id"].as_str().unwrap();
        let path = path_of(&app, &issued["uri"]);
        let stored = stored_credential(&app, id).await;

        let page = get(&app, &path, BROWSER).await;
        assert_eq!(page.status(), 200);
        assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
        assert!(varies_on_accept(&page));
        assert!(header(&page, "content-security-policy").starts_with("default-src 'none'"));
        let html = page.text().await.unwrap();
        assert!(html.contains("<h1>Traction motor PMSM 150 kW</h1>"));
        assert!(html.contains("<td>Neodymium</td><td class=\"num\">337.5</td>"));
        assert!(html.contains("<td>Praseodymium</td><td class=\"num\">105</td>"));
        assert!(
            html.contains("Signature valid"),
            "the badge verifies the proof"
        );
        assert!(html.contains("<strong class=\"ok\">active</strong>"));

        for (accept, content_type) in [
            ("application/vc", "application/vc"),
            // The VC 1.1 era's media type, honoured as a legacy alias of application/vc.
            ("application/vc+ld+json", "application/vc+ld+json"),
            ("application/ld+json", "application/ld+json"),
            ("application/json", "application/json"),
            ("*/*", "application/json"),
            ("text/html;q=0.5, application/vc", "application/vc"),
            (
                "application/json;q=0.4, application/ld+json;q=0.6",
                "application/ld+json",
            ),
        ] {
            let response = get(&app, &path, accept).await;
            assert_eq!(response.status(), 200, "{accept}");
            assert_eq!(header(&response, "content-type"), content_type, "{accept}");
            assert_eq!(response.text().await.unwrap(), stored, "{accept}");
        }
        // The credential endpoint honours the VC 1.1 media type as well.
        let legacy = get(
            &app,
            &format!("/api/v1/passports/{id}/credential"),
            "application/vc+ld+json",
        )
        .await;
        assert_eq!(header(&legacy, "content-type"), "application/vc+ld+json");
        assert_eq!(legacy.text().await.unwrap(), stored);
        let html_first = get(&app, &path, "text/html, application/json").await;
        assert_eq!(
            header(&html_first, "content-type"),
            "text/html; charset=utf-8"
        );

        let refused = get(&app, &path, "image/png").await;
        assert!(varies_on_accept(&refused));
        assert_problem(refused, 406, "not_acceptable").await;

        // A control character in the query string is refused, naming the parameter, as on every
        // route (the resolver reads its query string itself).
        for accept in [BROWSER, "application/json"] {
            let odd = get(&app, &format!("{path}?linkType=gs1%16pip"), accept).await;
            let problem = assert_problem(odd, 400, "invalid_query").await;
            assert_eq!(problem["errors"][0]["pointer"], "linkType");
        }

        // linkType wins over Accept.
        let pip = get(
            &app,
            &format!("{path}?linkType=gs1:pip"),
            "application/json",
        )
        .await;
        assert_eq!(header(&pip, "content-type"), "text/html; charset=utf-8");
        let vc = get(
            &app,
            &format!("{path}?linkType=ree:verifiableCredential"),
            BROWSER,
        )
        .await;
        assert_eq!(header(&vc, "content-type"), "application/json");
        assert_eq!(vc.text().await.unwrap(), stored);
        let certification = get(
            &app,
            &format!("{path}?linkType=gs1:certificationInfo"),
            "application/vc",
        )
        .await;
        assert_eq!(header(&certification, "content-type"), "application/vc");

        // Link types served elsewhere redirect.
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for (link_type, target) in [
            ("gs1:traceability", format!("/api/v1/custody/{id}")),
            (
                "version-history",
                format!("/api/v1/passports/{id}/versions"),
            ),
            ("ree:qrCode", format!("/api/v1/passports/{id}/qr.svg")),
        ] {
            let response = no_redirects
                .get(app.url(&format!("{path}?linkType={link_type}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 307, "{link_type}");
            assert_eq!(header(&response, "location"), app.url(&target));
        }
        // An empty linkType is no linkType: Accept decides.
        let empty = get(&app, &format!("{path}?linkType="), "application/vc").await;
        assert_eq!(header(&empty, "content-type"), "application/vc");
    }
);

api_test!(
    status_lists_are_served_as_vcs_or_as_accept_prefers,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &motor("EVM-1")).await;
        let url = issued["credential"]["credentialStatus"][0]["statusListCredential"]
            .as_str()
            .unwrap()
            .to_owned();
        let list_path = url.strip_prefix(&app.address).unwrap().to_owned();
        let mut bodies = Vec::new();
        for (accept, served) in [
            (None, "application/vc"),
            (Some("*/*"), "application/vc"),
            (Some("application/vc"), "application/vc"),
            (Some("application/json"), "application/json"),
            (Some("application/vc+ld+json"), "application/vc+ld+json"),
            (
                Some("application/ld+json, application/vc;q=0.5"),
                "application/ld+json",
            ),
        ] {
            let mut request = app.get(&list_path);
            if let Some(accept) = accept {
                request = request.header("accept", accept);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{accept:?}");
            assert_eq!(header(&response, "content-type"), served, "{accept:?}");
            bodies.push(response.text().await.unwrap());
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "the same bytes");
        let list: Value = serde_json::from_str(&bodies[0]).unwrap();
        assert_eq!(list["id"], url);
    }
);

// GS1-Conformant Resolver Standard 1.2.0, section 2.9: `linkType=linkset` (and `all`) or
// `Accept: application/linkset+json` is the linkset, never a redirect; section 2.10: RFC 9264
// JSON, with a `Link` to GS1's JSON-LD context for it (item 13).
api_test!(the_linkset_lists_every_link, |app: TestApp| async move {
    let (org, key) = app.create_org("Acme Motors", "manufacturer").await;
    let model = app.register(&key, &model("04012345000016")).await;
    let mut item = motor("EVM-1");
    item["product"]["model_passport"] = model["id"].clone();
    let item = app.register(&key, &item).await;
    let id = item["id"].as_str().unwrap();
    let uri = item["uri"].as_str().unwrap();
    let path = path_of(&app, &item["uri"]);

    let by_accept = get(&app, &path, "application/linkset+json").await;
    assert_eq!(by_accept.status(), 200);
    assert_eq!(
        header(&by_accept, "content-type"),
        "application/linkset+json"
    );
    assert!(varies_on_accept(&by_accept));
    assert!(header(&by_accept, "link").contains("rel=\"http://www.w3.org/ns/json-ld#context\""));
    let set: Value = by_accept.json().await.unwrap();
    for query in ["linkType=linkset", "linkType=all"] {
        let other = get(&app, &format!("{path}?{query}"), BROWSER).await;
        assert_eq!(header(&other, "content-type"), "application/linkset+json");
        assert_eq!(other.json::<Value>().await.unwrap(), set, "{query}");
    }

    let context = &set["linkset"][0];
    assert_eq!(set["linkset"].as_array().unwrap().len(), 1);
    assert_eq!(context["anchor"], uri);
    let ns = format!("{}/contexts/reetrace/v1#", app.address);
    let first = |relation: &str| context[relation][0].clone();
    let pip = first("https://gs1.org/voc/pip");
    assert_eq!(pip["href"], format!("{uri}?linkType=gs1:pip"));
    assert_eq!(pip["type"], "text/html");
    assert!(pip["title"].as_str().unwrap().contains("Traction motor"));
    let credential_url = app.url(&format!("/api/v1/passports/{id}/credential"));
    // The signed passport under GS1's link type for it, and under the one earlier releases
    // offered; our own term would duplicate gs1:dpp (Resolver 1.2.0, section 2.14).
    for relation in [
        "https://gs1.org/voc/dpp",
        "https://gs1.org/voc/certificationInfo",
    ] {
        assert_eq!(first(relation)["href"], credential_url, "{relation}");
        assert_eq!(first(relation)["type"], "application/vc", "{relation}");
    }
    assert!(context.get(format!("{ns}verifiableCredential")).is_none());
    // Resolver 1.2.0, section 2.5.8: one default link, a target and a title and nothing else,
    // its target listed under a descriptive link type too (gs1:dpp). It is what a request
    // without a linkType and with nothing to match against the links gets (section 2.6.1).
    let default = first("https://gs1.org/voc/defaultLink");
    assert_eq!(
        context["https://gs1.org/voc/defaultLink"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(default["href"], credential_url);
    let mut members: Vec<&String> = default.as_object().unwrap().keys().collect();
    members.sort_unstable();
    assert_eq!(members, ["href", "title"]);
    assert_eq!(
        first("version-history")["href"],
        app.url(&format!("/api/v1/passports/{id}/versions"))
    );
    let qr: Vec<&str> = context[format!("{ns}qrCode")]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["href"].as_str().unwrap())
        .collect();
    assert_eq!(
        qr,
        [
            app.url(&format!("/api/v1/passports/{id}/qr.svg")),
            app.url(&format!("/api/v1/passports/{id}/qr.png"))
        ]
    );
    assert_eq!(
        first(&format!("{ns}issuer"))["href"],
        app.url(&format!("/orgs/{org}/did.json"))
    );
    assert_eq!(first(&format!("{ns}modelPassport"))["href"], model["uri"]);
    assert_eq!(
        first("https://gs1.org/voc/traceability")["href"],
        app.url(&format!("/api/v1/custody/{id}"))
    );
    assert!(
        first("https://gs1.org/voc/sustainabilityInfo")["href"]
            .as_str()
            .unwrap()
            .ends_with("#end-of-life")
    );
    // Every GS1 relation is a term of the GS1 Web Vocabulary (release 1.19's gs1:linkType
    // subproperties); the others are IANA's or ours.
    const GS1_LINK_TYPES: [&str; 6] = [
        "pip",
        "dpp",
        "certificationInfo",
        "sustainabilityInfo",
        "traceability",
        "defaultLink",
    ];
    for relation in context.as_object().unwrap().keys() {
        if let Some(term) = relation.strip_prefix("https://gs1.org/voc/") {
            assert!(GS1_LINK_TYPES.contains(&term), "{relation}");
        } else {
            assert!(
                relation == "anchor" || relation == "version-history" || relation.starts_with(&ns),
                "{relation}"
            );
        }
    }

    // The links lead where they say.
    let page = app
        .client
        .get(pip["href"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    let credential = app
        .client
        .get(credential_url.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(
        credential.text().await.unwrap(),
        stored_credential(&app, id).await
    );
    for target in [
        first("version-history")["href"].clone(),
        first(&format!("{ns}issuer"))["href"].clone(),
    ] {
        let response = app
            .client
            .get(target.as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{target}");
    }
    // The model's own linkset has no model link.
    let model_set: Value = get(
        &app,
        &format!("{}?linkType=linkset", path_of(&app, &model["uri"])),
        "*/*",
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        model_set["linkset"][0]
            .get(format!("{ns}modelPassport"))
            .is_none()
    );
});

api_test!(
    short_gtins_resolve_and_bad_identifiers_are_refused,
    |app: TestApp| async move {
        let (org, key) = app.create_org("Acme Motors", "manufacturer").await;
        // EAN-8 96385074, stored as the GTIN-14 00000096385074; GS1 allocates it on its own.
        app.add_prefix(&org, &json!({"gtin": "96385074"})).await;
        let issued = app.register(&key, &model("96385074")).await;
        let canonical = app.url("/01/00000096385074");
        assert_eq!(issued["uri"], canonical);
        let stored = stored_credential(&app, issued["id"].as_str().unwrap()).await;
        for form in [
            "96385074",
            "000096385074",
            "0000096385074",
            "00000096385074",
        ] {
            let response = get(&app, &format!("/01/{form}"), "application/json").await;
            assert_eq!(response.status(), 200, "GTIN form {form}");
            assert!(
                header(&response, "link").contains(&format!("<{canonical}>; rel=\"canonical\""))
            );
            assert_eq!(response.text().await.unwrap(), stored, "{form}");
        }

        let wrong = get(&app, "/01/96385075", "application/json").await;
        assert!(varies_on_accept(&wrong));
        let body = assert_problem(wrong, 400, "invalid_identifier").await;
        assert_eq!(body["errors"][0]["pointer"], "gtin");
        assert!(
            body["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("check digit should be 4"),
            "{body}"
        );
        let body = assert_problem(
            get(&app, "/01/123456789", BROWSER).await,
            400,
            "invalid_identifier",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "gtin");
        let body = assert_problem(
            get(&app, "/01/04012345000016/21/A%20B", "*/*").await,
            400,
            "invalid_identifier",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "serial");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("serial number (AI 21)")
        );
        let body = assert_problem(
            get(&app, "/01/04012345000016/10/%ZZ", "*/*").await,
            400,
            "invalid_identifier",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "lot");
        let body = assert_problem(
            get(
                &app,
                &format!("/01/04012345000016/21/{}", "9".repeat(21)),
                "*/*",
            )
            .await,
            400,
            "invalid_identifier",
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "serial");

        let missing = get(&app, "/01/04012345000016/21/NOPE", "application/json").await;
        assert!(varies_on_accept(&missing));
        let body = assert_problem(missing, 404, "not_found").await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("/01/04012345000016/21/NOPE")
        );
        assert_problem(
            get(&app, "/01/04012345000016", BROWSER).await,
            404,
            "not_found",
        )
        .await;
        assert_problem(
            get(&app, "/01/04012345000016/10/L1", "*/*").await,
            404,
            "not_found",
        )
        .await;
        assert_problem(
            get(&app, &format!("/p/{}", uuid::Uuid::now_v7()), "*/*").await,
            404,
            "not_found",
        )
        .await;
        let body = assert_problem(get(&app, "/p/not-a-uuid", "*/*").await, 400, "invalid_id").await;
        assert_eq!(body["errors"][0]["pointer"], "id");
    }
);

api_test!(head_and_options_are_answered, |app: TestApp| async move {
    let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
    let issued = app.register(&key, &motor("EVM-1")).await;
    let path = path_of(&app, &issued["uri"]);

    for accept in ["application/vc", BROWSER, "application/linkset+json"] {
        let full = get(&app, &path, accept).await;
        let head = app
            .client
            .head(app.url(&path))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200, "{accept}");
        assert_eq!(header(&head, "content-type"), header(&full, "content-type"));
        assert_eq!(header(&head, "link"), header(&full, "link"));
        assert!(varies_on_accept(&head));
        assert_eq!(
            header(&head, "content-length"),
            full.content_length().unwrap().to_string(),
            "{accept}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD has no body");
    }

    let options = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 204);
    assert_eq!(header(&options, "allow"), "GET, HEAD, OPTIONS");

    for target in [
        path.clone(),
        "/01/04012345000016".to_owned(),
        "/p/x".to_owned(),
    ] {
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(&target))
            .header("origin", "https://scanner.example")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization, accept")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 204, "{target}");
        assert_eq!(header(&preflight, "access-control-allow-origin"), "*");
        assert!(header(&preflight, "access-control-allow-methods").contains("GET"));
        let allowed = header(&preflight, "access-control-allow-headers");
        assert!(allowed.contains("authorization") && allowed.contains("accept"));
        assert!(preflight.bytes().await.unwrap().is_empty());
    }

    let cross_origin = app
        .get(&path)
        .header("origin", "https://scanner.example")
        .header("accept", "application/linkset+json")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_origin.status(), 200);
    assert_eq!(header(&cross_origin, "access-control-allow-origin"), "*");
    assert!(
        header(&cross_origin, "access-control-expose-headers").contains("link"),
        "scripts can read the Link header"
    );
    assert!(varies_on_accept(&cross_origin), "CORS keeps Vary: accept");
});

/// Rasterises the SVG the `qrcode` crate draws (`M{x} {y}h{w}v{h}H{x}V{y}` rectangles).
fn rasterise_svg(svg: &str) -> (usize, Vec<bool>) {
    let width: usize = svg
        .split("width=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut dark = vec![false; width * width];
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let (x, y, w, h) = (numbers[0], numbers[1], numbers[2], numbers[3]);
        for row in y..y + h {
            for col in x..x + w {
                dark[row * width + col] = true;
            }
        }
    }
    (width, dark)
}

fn decode_qr(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark(x, y) { 0 } else { 255 }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

api_test!(
    qr_codes_decode_to_the_resolver_url,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &batch()).await;
        let id = issued["id"].as_str().unwrap();
        let uri = issued["uri"].as_str().unwrap();

        let svg = app
            .get(&format!("/api/v1/passports/{id}/qr.svg"))
            .send()
            .await
            .unwrap();
        assert_eq!(svg.status(), 200);
        assert_eq!(header(&svg, "content-type"), "image/svg+xml");
        assert!(header(&svg, "cache-control").contains("max-age"));
        let svg = svg.text().await.unwrap();
        assert!(svg.contains(&format!("<title>QR code of {uri}</title>")));
        let (width, dark) = rasterise_svg(&svg);
        assert_eq!(decode_qr(width, width, |x, y| dark[y * width + x]), uri);

        let png_response = app
            .get(&format!("/api/v1/passports/{id}/qr.png"))
            .send()
            .await
            .unwrap();
        assert_eq!(png_response.status(), 200);
        assert_eq!(header(&png_response, "content-type"), "image/png");
        assert!(header(&png_response, "cache-control").contains("public"));
        let bytes = png_response.bytes().await.unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let code = qrcode::QrCode::new(uri.as_bytes()).unwrap();
        let modules = code.width();
        let side = (modules + 8) * 8;
        assert_eq!((info.width as usize, info.height as usize), (side, side));
        let line = info.line_size;
        let dark = |x: usize, y: usize| buf[y * line + x / 8] & (0x80 >> (x % 8)) == 0;
        assert_eq!(decode_qr(side, side, dark), uri);
        // The module grid is the QR matrix of the URL, with a 4-module quiet zone.
        let matrix = code.to_colors();
        for my in 0..modules + 8 {
            for mx in 0..modules + 8 {
                let inside = (4..modules + 4).contains(&mx) && (4..modules + 4).contains(&my);
                let expected =
                    inside && matrix[(my - 4) * modules + (mx - 4)] == qrcode::Color::Dark;
                assert_eq!(dark(mx * 8 + 4, my * 8 + 4), expected, "module {mx},{my}");
            }
        }

        let sized = app
            .get(&format!("/api/v1/passports/{id}/qr.png?size=512"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let sized = png::Decoder::new(std::io::Cursor::new(sized.to_vec()))
            .read_info()
            .unwrap();
        assert_eq!((sized.info().width, sized.info().height), (512, 512));

        let too_small = app
            .get(&format!("/api/v1/passports/{id}/qr.svg?size=10"))
            .send()
            .await
            .unwrap();
        let body = assert_problem(too_small, 400, "invalid_query").await;
        assert_eq!(body["errors"][0]["pointer"], "size");
        let missing = app
            .get(&format!(
                "/api/v1/passports/{}/qr.png",
                uuid::Uuid::now_v7()
            ))
            .send()
            .await
            .unwrap();
        assert_problem(missing, 404, "not_found").await;
    }
);

api_test!(
    hostile_product_names_are_escaped_on_the_page,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme <b>Motors</b>", "manufacturer").await;
        let mut hostile = motor("EVM-X");
        hostile["product"]["name"] = json!("<script>alert(\"x\")</script> & co");
        hostile["product"]["model"] = json!("\"><img src=x onerror=alert(1)>");
        hostile["end_of_life"]["hazards"] = json!(["</li><script>steal()</script>"]);
        let issued = app.register(&key, &hostile).await;
        let path = path_of(&app, &issued["uri"]);
        let page = get(&app, &path, BROWSER).await;
        assert_eq!(page.status(), 200);
        let csp = header(&page, "content-security-policy");
        assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"));
        assert_eq!(header(&page, "x-content-type-options"), "nosniff");
        let html = page.text().await.unwrap();
        // The page's own script is the only one.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(html.contains("<script src=\"/assets/passport.js\" defer></script>"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>Motors"));
        assert!(
            html.contains("<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</h1>")
        );
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("&lt;/li&gt;&lt;script&gt;steal()&lt;/script&gt;"));
        assert!(html.contains("Acme &lt;b&gt;Motors&lt;/b&gt;"));
        // The credential itself is data, returned as signed.
        let credential: Value = get(&app, &path, "application/json")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            credential["credentialSubject"]["product"]["name"],
            "<script>alert(\"x\")</script> & co"
        );
    }
);

api_test!(
    the_page_shows_the_status_and_the_callers_tier,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, recycler) = app.create_org("Urban Mine Recycling", "recycler").await;
        let issued = app.register(&owner, &motor("EVM-1")).await;
        let id = issued["id"].as_str().unwrap();
        let path = path_of(&app, &issued["uri"]);

        let public = get(&app, &path, BROWSER).await;
        assert_eq!(header(&public, "cache-control"), "public, max-age=60");
        let public = public.text().await.unwrap();
        assert!(public.contains("<strong id=\"footer-tier\">public</strong> access tier"));
        assert!(!public.contains("48 segments"));

        let professional = app
            .get(&path)
            .header("accept", BROWSER)
            .bearer_auth(&recycler)
            .send()
            .await
            .unwrap();
        assert_eq!(header(&professional, "cache-control"), "private, no-cache");
        let professional = professional.text().await.unwrap();
        assert!(professional.contains("professional (recycler)"));
        assert!(
            professional.contains("<dt>Where it is</dt><dd>rotor, 48 segments in V-slots</dd>")
        );
        assert!(
            !professional.contains("Magnets GmbH"),
            "confidential stays with the owner"
        );
        let own = app
            .get(&path)
            .header("accept", BROWSER)
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(own.contains("Magnets GmbH"));
        let bad_key = app
            .get(&path)
            .header("accept", BROWSER)
            .bearer_auth("rtk_nope_nope")
            .send()
            .await
            .unwrap();
        assert_eq!(bad_key.status(), 401, "a wrong key is refused, not ignored");

        let suspend = app
            .post(&format!("/api/v1/passports/{id}/suspend"))
            .bearer_auth(&owner)
            .json(&json!({"reason": "under review"}))
            .send()
            .await
            .unwrap();
        assert_eq!(suspend.status(), 200);
        let html = get(&app, &path, BROWSER).await.text().await.unwrap();
        assert!(html.contains("banner-suspended"));
        assert!(html.contains("Reason: under review"));

        let revoke = app
            .post(&format!("/api/v1/passports/{id}/revoke"))
            .bearer_auth(&owner)
            .json(&json!({"reason": "recalled"}))
            .send()
            .await
            .unwrap();
        assert_eq!(revoke.status(), 200);
        let page = get(&app, &path, BROWSER).await;
        assert_eq!(page.status(), 200, "a revoked passport still resolves");
        let html = page.text().await.unwrap();
        let banner = html.find("banner-revoked").expect("a revoked banner");
        assert!(banner < html.find("<h1>").unwrap(), "above everything else");
        assert!(html.contains("<strong class=\"bad\">revoked</strong>"));
        assert!(html.contains("Reason: recalled"));
        assert!(
            html.contains("Signature valid"),
            "the signature itself is intact"
        );
        let credential = get(&app, &path, "application/vc").await;
        assert_eq!(credential.status(), 200);
        assert_eq!(
            credential.text().await.unwrap(),
            stored_credential(&app, id).await
        );
    }
);

api_test!(
    a_new_version_is_resolved_at_once_though_credentials_are_kept_in_memory,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &motor("EVM-2026-000777")).await;
        let id = issued["id"].as_str().unwrap().to_owned();
        let path = path_of(&app, &issued["uri"]);

        // Read twice: the second answer comes from memory, the same bytes and headers.
        let first = get(&app, &path, "application/vc").await;
        let (first_type, first_link) = (header(&first, "content-type"), header(&first, "link"));
        let first_body = first.text().await.unwrap();
        let second = get(&app, &path, "application/vc").await;
        assert_eq!(header(&second, "content-type"), first_type);
        assert_eq!(header(&second, "link"), first_link);
        assert!(varies_on_accept(&second));
        assert_eq!(second.text().await.unwrap(), first_body);
        assert_eq!(first_body, stored_credential(&app, &id).await);
        // Another representation of the same path is still negotiated, not the cached one.
        let html = get(&app, &path, "text/html").await;
        assert!(header(&html, "content-type").starts_with("text/html"));

        // A new version: the very next read serves it.
        let mut changed = motor("EVM-2026-000777");
        changed["product"]["name"] = json!("Traction motor PMSM 150 kW, rev. B");
        let updated = app
            .put(&format!("/api/v1/passports/{id}"))
            .bearer_auth(&key)
            .json(&changed)
            .send()
            .await
            .unwrap();
        assert_eq!(updated.status(), 200);
        let after = get(&app, &path, "application/vc")
            .await
            .text()
            .await
            .unwrap();
        assert_ne!(after, first_body);
        assert_eq!(after, stored_credential(&app, &id).await);
        let credential: Value = serde_json::from_str(&after).unwrap();
        assert_eq!(
            credential["credentialSubject"]["product"]["name"],
            "Traction motor PMSM 150 kW, rev. B"
        );
    }
);

api_test!(
    the_jose_form_is_negotiated_for_v2_and_refused_for_v1,
    |app: TestApp| async move {
        use base64::Engine;
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &motor("EVM-JWT-1")).await;
        let id = issued["id"].as_str().unwrap();
        let uri = issued["uri"].as_str().unwrap();
        let path = path_of(&app, &issued["uri"]);
        let endpoint = format!("/api/v1/passports/{id}/credential");
        let token = get(&app, &endpoint, "application/vc+jwt").await;
        let token = token.text().await.unwrap();
        // The JSON credential first: the path is then answered from memory, but not the token.
        let json = get(&app, &path, "application/json").await;
        assert_eq!(header(&json, "content-type"), "application/json");
        for accept in [
            "application/vc+jwt",
            "application/json;q=0.5, application/vc+jwt",
        ] {
            let response = get(&app, &path, accept).await;
            assert_eq!(response.status(), 200, "{accept}");
            assert_eq!(header(&response, "content-type"), "application/vc+jwt");
            assert!(varies_on_accept(&response));
            assert_eq!(header(&response, "link"), header(&json, "link"));
            assert_eq!(header(&response, "cache-control"), "public, max-age=60");
            assert_eq!(response.text().await.unwrap(), token, "{accept}");
        }
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        let decode = |part: &str| -> Value {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap();
            serde_json::from_slice(&bytes).unwrap()
        };
        assert_eq!(decode(parts[0])["typ"], "vc+jwt");
        assert_eq!(decode(parts[1])["credentialSubject"]["id"], uri);
        assert!(!parts[2].is_empty());
        // The credential's link types honour the JOSE form too; the JSON form stays cached.
        for link_type in ["gs1:dpp", "gs1:certificationInfo"] {
            let by_link = get(
                &app,
                &format!("{path}?linkType={link_type}"),
                "application/vc+jwt",
            )
            .await;
            assert_eq!(header(&by_link, "content-type"), "application/vc+jwt");
            assert_eq!(by_link.text().await.unwrap(), token, "{link_type}");
        }
        let again = get(&app, &path, "application/json").await;
        assert_eq!(header(&again, "content-type"), "application/json");

        // A v1 version (stored before v2: format 1, no detached JWS) has no JOSE form: the
        // resolver answers the /credential endpoint's 406.
        app.execute(
            reetrace_core::db::Sql::new(
                "UPDATE passport_versions SET format = 1, credential_jws = NULL WHERE passport_id = $1",
            )
            .bind(uuid::Uuid::parse_str(id).unwrap()),
        )
        .await;
        let refused = get(&app, &path, "application/vc+jwt").await;
        assert!(varies_on_accept(&refused));
        let problem = assert_problem(refused, 406, "not_acceptable").await;
        let same = get(&app, &endpoint, "application/vc+jwt").await;
        let same = assert_problem(same, 406, "not_acceptable").await;
        assert_eq!(problem["detail"], same["detail"]);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("v1 credential, secured only by its eddsa-jcs-2022 proof"),
            "{problem}"
        );
        let json = get(&app, &path, "application/json").await;
        assert_eq!(json.status(), 200, "the embedded proof is still served");
    }
);

api_test!(
    a_public_answer_is_never_reused_for_a_key,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let item = app.register(&key, &motor("EVM-2026-000077")).await;
        let path = path_of(&app, &item["uri"]);
        for accept in ["text/html", "application/json"] {
            let public = get(&app, &path, accept).await;
            assert_eq!(public.status(), 200);
            let vary = header(&public, "vary").to_ascii_lowercase();
            assert!(vary.contains("accept"), "{vary}");
            // A browser that cached the public answer must not reuse it for a request with
            // a key, which sees more.
            assert!(vary.contains("authorization"), "{vary}");
            assert!(header(&public, "cache-control").starts_with("public"));
            let keyed = app
                .get(&path)
                .header("accept", accept)
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(keyed.status(), 200);
            assert!(header(&keyed, "cache-control").starts_with("private"));
        }
    }
);
