//! Who reads which custody records (issue 15, finding 1): EPCIS queries and single events go
//! to the recorder, the product's manufacturer, the holders along the product's or lot's chain,
//! and authorities; a manufacturer's key recounted a withheld cell from every custody event.

use serde_json::json;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;

/// The `eventID`s an EPCIS query answers `key` (or no key).
async fn event_ids(app: &TestApp, key: &str, query: &str) -> Vec<String> {
    let page = app
        .get_json(&format!("/api/v1/epcis/events{query}"), Some(key))
        .await;
    page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventID"].as_str().unwrap().to_owned())
        .collect()
}

api_test!(
    custody_events_are_read_only_by_those_involved_and_authorities,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, rival) = app.create_org("Rival Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let (_, bystander) = app.create_org("Elsewhere Recycling", "recycler").await;
        let (_, regulator) = app.create_org("Market Surveillance", "regulator").await;
        let (_, service) = app.create_org("Stock Service", "service").await;
        let id = app.register(&maker, &motor("EVM-SEEN-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.custody_step(&collector, &id, "collect", "2026-09-02T09:30:00Z")
            .await;
        app.custody_step(&collector, &id, "receive", "2026-09-03T09:30:00Z")
            .await;
        let lot = app
            .dismantle(&collector, &id, json!([{"element": "Nd", "mass_g": 330}]))
            .await;

        // The recorder, the manufacturer and authorities read all three events; a rival
        // manufacturer, a recycler that never held the product and a service key none (every
        // key read every event before).
        let all = event_ids(&app, &app.admin_key, "").await;
        assert_eq!(all.len(), 3);
        for key in [&maker, &collector, &regulator] {
            assert_eq!(event_ids(&app, key, "").await, all);
        }
        for key in [&rival, &bystander, &service] {
            assert_eq!(event_ids(&app, key, "").await, Vec::<String>::new());
            let encoded: String = url::form_urlencoded::byte_serialize(all[0].as_bytes()).collect();
            let one = app
                .get(&format!("/api/v1/epcis/events/{encoded}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            assert_problem(one, 404, "not_found").await;
        }
        // A scan shows any recycler the product's state and what it may do; its holder and
        // history only to those involved and authorities.
        let scan = format!("/api/v1/custody/{id}");
        for key in [&collector, &regulator] {
            let seen = app.get_json(&scan, Some(key)).await;
            assert_eq!(seen["events"].as_array().unwrap().len(), 3, "{seen}");
            assert!(seen["custody"]["holder"].is_string(), "{seen}");
        }
        let unseen = app.get_json(&scan, Some(&bystander)).await;
        assert_eq!(unseen["events"], json!([]), "{unseen}");
        assert!(unseen["custody"].get("holder").is_none(), "{unseen}");
        assert_eq!(unseen["custody"]["state"], "dismantled", "{unseen}");

        // A lot shows any key what it offers; its holder and chain to its holders and
        // authorities.
        let lot = format!("/api/v1/lots/{lot}");
        for key in [&collector, &regulator] {
            let seen = app.get_json(&lot, Some(key)).await;
            assert_eq!(seen["events"].as_array().unwrap().len(), 1, "{seen}");
            assert!(seen["holder"].is_string(), "{seen}");
        }
        for key in [&rival, &bystander] {
            let unseen = app.get_json(&lot, Some(key)).await;
            assert_eq!(unseen["events"], json!([]), "{unseen}");
            assert!(unseen.get("holder").is_none(), "{unseen}");
            assert_eq!(unseen["claimable"][0]["mass_g"], 330, "{unseen}");
        }

        let encoded: String = url::form_urlencoded::byte_serialize(all[2].as_bytes()).collect();
        let dismantling = app
            .get_json(&format!("/api/v1/epcis/events/{encoded}"), Some(&maker))
            .await;
        assert_eq!(dismantling["eventID"], all[2].as_str());
    }
);

api_test!(
    the_log_serves_every_leaf_but_events_only_to_those_involved,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let (_, bystander) = app.create_org("Elsewhere Recycling", "recycler").await;
        let (_, regulator) = app.create_org("Market Surveillance", "regulator").await;
        let id = app.register(&maker, &motor("EVM-LOG-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.custody_step(&collector, &id, "collect", "2026-09-02T09:30:00Z")
            .await;
        app.custody_step(&collector, &id, "receive", "2026-09-03T09:30:00Z")
            .await;

        // Those involved and authorities read each event; anyone else its leaf only (every
        // key read every event's document before, and recounted figures from them).
        for key in [&collector, &maker, &regulator] {
            let entries = app.get_json("/api/v1/log/entries", Some(key)).await;
            for entry in entries.as_array().unwrap() {
                assert_eq!(entry["redacted"], false, "{entry}");
                assert!(entry["document"].is_string(), "{entry}");
            }
        }
        let entries = app.get_json("/api/v1/log/entries", Some(&bystander)).await;
        let entries = entries.as_array().unwrap();
        assert_eq!(entries.len(), 2);
        for entry in entries {
            assert_eq!(entry["redacted"], true, "{entry}");
            for hidden in ["event_id", "document", "record"] {
                assert!(entry.get(hidden).is_none(), "{hidden}: {entry}");
            }
            assert_eq!(entry["links"], json!([]));
            assert!(entry["leaf_hash"].is_string() && entry["recorded_at"].is_string());
        }

        // The root still verifies from the outside with the bystander's key.
        for _ in 0..100 {
            let checkpoint = app
                .get_json("/api/v1/log/checkpoint", Some(&bystander))
                .await;
            if checkpoint["tree_size"] == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let outside =
            reetrace::verify_log::verify_remote(&app.url(""), Some(&bystander), None, 1000)
                .await
                .unwrap();
        assert!(outside.report.ok, "{:?}", outside.report.problems);
        assert_eq!(outside.report.redacted, 2);
        assert_eq!(outside.report.checkpoint_size, Some(2));
        let insider =
            reetrace::verify_log::verify_remote(&app.url(""), Some(&collector), None, 1000)
                .await
                .unwrap();
        assert!(insider.report.ok, "{:?}", insider.report.problems);
        assert_eq!((insider.report.redacted, insider.report.subjects), (0, 1));
    }
);
