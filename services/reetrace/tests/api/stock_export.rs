//! The tidy export by `group_by`: the dimensions kept, the rest summed; a withheld row names
//! the coarser grain that publishes the row holding it, and the export at the grain most
//! withheld rows fall back to is offered in a `Link` header (and `coarser` in JSON).

use serde_json::Value;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::stock::{PUBLIC, TOTAL_ND_KG, get_json, market, wait_for_total};

/// The CSV export at `query`, read with `key`: its `Link` header and its lines.
async fn csv(app: &TestApp, key: &str, query: &str) -> (Option<String>, Vec<String>) {
    let mut request = app.get(&format!("/api/v1/stock/export.csv?{query}"));
    if !key.is_empty() {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{query}");
    let link = response
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (link, text.lines().map(str::to_owned).collect())
}

api_test!(
    the_export_keeps_the_dimensions_asked_for_and_offers_a_coarser_grain,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        market(&app).await;
        wait_for_total(&app, &regulator, TOTAL_ND_KG).await;

        // At the finest grain the lone and dominated countries are withheld; each names the
        // grain that publishes the row holding it, and the Link offers that export.
        let (link, lines) = csv(&app, PUBLIC, "element=Nd&basis=observed").await;
        assert_eq!(
            lines[0],
            "year,country,category,element,flow,basis,value,unit,parameters_version,coarser_group_by"
        );
        let it =
            "2026,IT,ev_traction_motor,Nd,placed_on_market,observed,,kg,,\"year,category,element\"";
        assert!(lines.iter().any(|l| l == it), "{lines:?}");
        let link = link.expect("a Link header when rows are withheld");
        assert_eq!(
            link,
            "</api/v1/stock/export.csv?group_by=year,category,element&element=Nd&basis=observed>; \
             rel=\"alternate\"; title=\"group_by=year,category,element\""
        );

        // Following it: every row published, countries summed.
        let href = link[1..link.find('>').unwrap()].to_owned();
        let query = href.split_once('?').unwrap().1.to_owned();
        let (again, coarse) = csv(&app, PUBLIC, &query).await;
        assert_eq!(again, None, "nothing withheld, nothing offered");
        assert_eq!(
            coarse[0],
            "year,category,element,flow,basis,value,unit,parameters_version,coarser_group_by"
        );
        assert!(coarse.len() > 1);
        for line in &coarse[1..] {
            let fields: Vec<&str> = line.split(',').collect();
            assert!(!fields[5].is_empty(), "published: {line}");
        }
        let placed = coarse
            .iter()
            .find(|l| l.starts_with("2026,ev_traction_motor,Nd,placed_on_market,observed,"))
            .unwrap();
        let value: f64 = placed.split(',').nth(5).unwrap().parse().unwrap();
        assert!((value - TOTAL_ND_KG).abs() < 1e-9, "{placed}");

        // The coarser rows are the figures /flows publishes at that grain (the same protected
        // subtotals), in JSON with the grain and the count of published rows.
        let json = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/export.csv?element=Nd&group_by=year,category,element&format=json",
        )
        .await;
        assert_eq!(
            json["group_by"],
            serde_json::json!(["year", "category", "element"])
        );
        let rows = json["rows"].as_array().unwrap();
        assert_eq!(
            json["published_rows"].as_u64().unwrap() as usize,
            rows.len()
        );
        assert!(json.get("coarser").is_none());
        let flows = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/flows?element=Nd&group_by=year,category,element&basis=both",
        )
        .await;
        let by_slot = |r: &Value| {
            (
                r["year"].as_i64(),
                r["category"].as_str().map(str::to_owned),
                r["flow"].as_str().map(str::to_owned),
                r["basis"].as_str().map(str::to_owned),
            )
        };
        let flow_rows: Vec<&Value> = flows["rows"].as_array().unwrap().iter().collect();
        assert_eq!(flow_rows.len(), rows.len());
        for row in rows {
            let twin = flow_rows
                .iter()
                .find(|f| by_slot(f) == by_slot(row))
                .unwrap();
            assert_eq!(twin["value"], row["value"], "{row}");
            assert!(row.get("country").is_none());
        }

        // The JSON of the finest export names the same fallback per row and as a whole.
        let fine = get_json(
            &app,
            PUBLIC,
            "/api/v1/stock/export.csv?element=Nd&basis=observed&format=json",
        )
        .await;
        let withheld: Vec<&Value> = fine["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["suppressed"] == true)
            .collect();
        assert!(!withheld.is_empty());
        assert!(
            withheld
                .iter()
                .all(|r| r["coarser_group_by"] == "year,category,element")
        );
        assert_eq!(fine["coarser"]["group_by"], "year,category,element");
        assert_eq!(
            fine["coarser"]["withheld_rows"].as_u64().unwrap() as usize,
            withheld.len()
        );
        assert!(
            fine["coarser"]["href"]
                .as_str()
                .unwrap()
                .ends_with("&format=json")
        );

        // Without the year: sums over the years, no year column.
        let (_, by_country) = csv(
            &app,
            PUBLIC,
            "element=Nd&basis=observed&group_by=country&flow=placed_on_market",
        )
        .await;
        assert_eq!(
            by_country[0],
            "country,flow,basis,value,unit,parameters_version,coarser_group_by"
        );
        assert!(
            by_country[1..]
                .iter()
                .any(|l| l.starts_with("IT,placed_on_market,observed,,kg,,"))
        );

        // An authority reads every row exactly: nothing withheld, nothing offered.
        let (link, exact) = csv(&app, &regulator, "element=Nd&basis=observed").await;
        assert_eq!(link, None);
        assert!(
            exact[1..]
                .iter()
                .all(|l| !l.split(',').nth(6).unwrap().is_empty())
        );

        // A bad group_by is a problem naming it.
        let response = app
            .get("/api/v1/stock/export.csv?group_by=year,planet")
            .send()
            .await
            .unwrap();
        let body = assert_problem(response, 400, "invalid_query").await;
        assert_eq!(body["errors"][0]["pointer"], "group_by", "{body}");
    }
);
