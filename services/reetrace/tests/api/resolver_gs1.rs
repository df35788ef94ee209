//! The resolver against the GS1-Conformant Resolver Standard, release 1.2.0 (ratified January
//! 2026, <https://ref.gs1.org/standards/resolver/1.2.0>): a test per clause the resolver answers
//! on its authority, named by its section; "item n" is the n-th statement of the standard's
//! conformance statement (section 5). The linkset itself (sections 2.5.8, 2.9, 2.10 and 2.14)
//! is checked by `resolver::the_linkset_lists_every_link`.

use serde_json::Value;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;
use crate::resolver::{BROWSER, get, header, model, path_of, stored_credential, varies_on_accept};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The credential's representations, and what each `Accept` gets.
const CREDENTIAL_ACCEPTS: [(&str, &str); 7] = [
    ("application/vc", "application/vc"),
    ("application/ld+json", "application/ld+json"),
    ("application/vc+ld+json", "application/vc+ld+json"),
    ("application/json", "application/json"),
    ("text/html;q=0.5, application/vc", "application/vc"),
    ("*/*", "application/json"),
    // The credential has no HTML form: a browser asking for it gets the JSON.
    (BROWSER, "application/json"),
];

// Section 2.6.1: "Resolvers SHALL redirect to the default link unless there is information in
// the request that can be used to determine a better response"; `Accept` is such information
// (section 2.6.3). The default link is the credential (`gs1:defaultLink` in the linkset); a
// browser's `text/html` matches the page's link, `application/linkset+json` the linkset.
api_test!(
    section_2_6_1_without_a_link_type_the_default_link_unless_accept_says_better,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &motor("EVM-1")).await;
        let path = path_of(&app, &issued["uri"]);
        let stored = stored_credential(&app, issued["id"].as_str().unwrap()).await;
        let set: Value = get(&app, &format!("{path}?linkType=linkset"), "*/*")
            .await
            .json()
            .await
            .unwrap();
        let default = set["linkset"][0]["https://gs1.org/voc/defaultLink"][0]["href"]
            .as_str()
            .unwrap()
            .to_owned();
        let target = app.client.get(&default).send().await.unwrap();
        assert_eq!(target.status(), 200);
        assert_eq!(
            target.text().await.unwrap(),
            stored,
            "the default link's target"
        );

        // Nothing in the request to match against the links: the default link's target.
        let bare = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(bare.status(), 200);
        assert_eq!(bare.text().await.unwrap(), stored, "no Accept header");
        for query in ["", "?linkType=", "?linkType=gs1:defaultLink"] {
            let response = get(&app, &format!("{path}{query}"), "*/*").await;
            assert_eq!(response.status(), 200, "{query}");
            assert!(varies_on_accept(&response), "{query}");
            assert_eq!(header(&response, "content-type"), "application/json");
            assert_eq!(response.text().await.unwrap(), stored, "{query}");
        }
        // Better responses, matched on Accept.
        let page = get(&app, &path, BROWSER).await;
        assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
        let linkset = get(&app, &path, "application/linkset+json").await;
        assert_eq!(header(&linkset, "content-type"), "application/linkset+json");
        assert_eq!(linkset.json::<Value>().await.unwrap(), set);
    }
);

// Section 2.6.2 (item 17) with the GS1 Web Vocabulary's link type for a passport, `gs1:dpp`
// (release 1.19): the signed credential, with the content negotiation of the credential's link
// type that earlier releases offered (`gs1:certificationInfo`, still answered).
api_test!(
    section_2_6_2_gs1_dpp_is_the_passport_negotiated_as_the_credential,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &motor("EVM-1")).await;
        let path = path_of(&app, &issued["uri"]);
        let stored = stored_credential(&app, issued["id"].as_str().unwrap()).await;
        let linkset = format!(
            "<{}?linkType=linkset>; rel=\"linkset\"",
            issued["uri"].as_str().unwrap()
        );
        for link_type in [
            "gs1:dpp",
            "https://gs1.org/voc/dpp",
            "https://ref.gs1.org/voc/dpp",
            "https://www.gs1.org/voc/dpp",
            "http://gs1.org/voc/dpp",
            "https%3A%2F%2Fref.gs1.org%2Fvoc%2Fdpp",
            "gs1:certificationInfo",
            "ree:verifiableCredential",
        ] {
            for (accept, content_type) in CREDENTIAL_ACCEPTS {
                let response = get(&app, &format!("{path}?linkType={link_type}"), accept).await;
                assert_eq!(response.status(), 200, "{link_type} {accept}");
                assert_eq!(
                    header(&response, "content-type"),
                    content_type,
                    "{link_type} {accept}"
                );
                assert!(varies_on_accept(&response), "{link_type} {accept}");
                assert!(
                    header(&response, "link").contains(&linkset),
                    "{link_type} {accept}"
                );
                assert_eq!(
                    response.text().await.unwrap(),
                    stored,
                    "{link_type} {accept}"
                );
            }
        }
        // A GS1 Digital Link of a model and an id path answer it alike.
        let model = app.register(&key, &model("04012345000016")).await;
        let model_path = path_of(&app, &model["uri"]);
        let by_id = format!("/p/{}", issued["id"].as_str().unwrap());
        for (path, id) in [(model_path, &model["id"]), (by_id, &issued["id"])] {
            let response = get(&app, &format!("{path}?linkType=gs1:dpp"), "application/vc").await;
            assert_eq!(
                header(&response, "content-type"),
                "application/vc",
                "{path}"
            );
            assert_eq!(
                response.text().await.unwrap(),
                stored_credential(&app, id.as_str().unwrap()).await,
                "{path}"
            );
        }
    }
);

// Section 2.12 (item 19): "when redirecting, by default, a resolver SHALL transmit the entirety
// of the query string in the request URI to the target destination": every pair but `linkType`,
// the instruction addressed to this resolver, which would make a target that is a resolver URI
// in turn (the model passport) answer for the link type asked of the item. The redirect also
// points to the linkset, as the conformance statement asks of redirects too.
api_test!(
    section_2_12_a_redirect_passes_the_query_string_on,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let model = app.register(&key, &model("04012345000016")).await;
        let mut item = motor("EVM-1");
        item["product"]["model_passport"] = model["id"].clone();
        let item = app.register(&key, &item).await;
        let id = item["id"].as_str().unwrap();
        let path = path_of(&app, &item["uri"]);
        let client = no_redirects();

        let custody = client
            .get(app.url(&format!(
                "{path}?linkType=gs1:traceability&17=261231&ref=card"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(custody.status(), 307);
        assert_eq!(
            header(&custody, "location"),
            app.url(&format!("/api/v1/custody/{id}?17=261231&ref=card"))
        );
        assert!(header(&custody, "link").contains("rel=\"linkset\""));
        // Into a target with a query string and a fragment of its own.
        let section = client
            .get(app.url(&format!("{path}?ref=card&linkType=gs1:sustainabilityInfo")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&section, "location"),
            format!(
                "{}?linkType=gs1:pip&ref=card#end-of-life",
                item["uri"].as_str().unwrap()
            )
        );
        // The model passport's Digital Link gets the pairs but not the item's linkType, and
        // answers.
        let up = client
            .get(app.url(&format!("{path}?linkType=ree:modelPassport&ref=card")))
            .send()
            .await
            .unwrap();
        let location = header(&up, "location");
        assert_eq!(
            location,
            format!("{}?ref=card", model["uri"].as_str().unwrap())
        );
        let model_answer = app
            .client
            .get(&location)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(model_answer.status(), 200);
        // Without other pairs, the target as it is.
        let versions = client
            .get(app.url(&format!("{path}?linkType=version-history")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&versions, "location"),
            app.url(&format!("/api/v1/passports/{id}/versions"))
        );
    }
);

// Section 2.6.2: the resolver "SHALL redirect to the requested type of link if available" (item
// 17) and "SHALL return a 404 Not Found message if a link of the requested type is not
// available" (item 18; GS1's resolver test suite: `specificLinkTypeNotFound`, with
// `linkType=gs1:nosuchlt`). Link types come from the GS1 Web Vocabulary (section 2.14):
// `gs1:recyclingInfo` is none of its terms (`gs1:sustainabilityInfo` is).
api_test!(
    section_2_6_2_a_link_type_the_product_lacks_is_404_not_the_default,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Acme Motors", "manufacturer").await;
        let issued = app.register(&key, &motor("EVM-1")).await;
        let path = path_of(&app, &issued["uri"]);
        let no_redirects = no_redirects();

        // The GS1 term for the end-of-life section redirects there, in any of its spellings.
        for link_type in [
            "gs1:sustainabilityInfo",
            "https://gs1.org/voc/sustainabilityInfo",
            "https://ref.gs1.org/voc/sustainabilityInfo",
        ] {
            let response = no_redirects
                .get(app.url(&format!("{path}?linkType={link_type}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 307, "{link_type}");
            assert!(
                header(&response, "location").ends_with("?linkType=gs1:pip#end-of-life"),
                "{link_type}"
            );
        }

        for (link_type, accept) in [
            // The standard's own probe, and a GS1 type this resolver does not serve.
            ("gs1:nosuchlt", "application/vc"),
            ("gs1:epil", BROWSER),
            // Not a GS1 Web Vocabulary term (it was served here before).
            ("gs1:recyclingInfo", "application/json"),
            ("https://gs1.org/voc/recyclingInfo", "*/*"),
            ("ree:nothing", "application/json"),
            ("garbage", "application/json"),
            // A type we serve, but this item has no model passport.
            ("ree:modelPassport", "application/json"),
        ] {
            let response = get(&app, &format!("{path}?linkType={link_type}"), accept).await;
            assert!(varies_on_accept(&response), "{link_type}");
            let problem = assert_problem(response, 404, "not_found").await;
            assert_eq!(problem["errors"][0]["pointer"], "linkType", "{link_type}");
            let detail = problem["detail"].as_str().unwrap();
            assert!(
                detail.contains(&format!("no link of type {link_type}.")),
                "{detail}"
            );
            assert!(detail.contains("?linkType=linkset"), "{detail}");
            assert_eq!(
                detail.contains("gs1:sustainabilityInfo"),
                link_type.ends_with("recyclingInfo"),
                "{detail}"
            );
        }
    }
);
