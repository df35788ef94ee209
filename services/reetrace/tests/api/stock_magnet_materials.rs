//! What the stock service receives from custody once products and lots carry B, Co and Ni
//! (issue 16), and how the stock service of this branch reacts: custody feed events name the
//! magnet materials under `elements` like the rare earths (`{"Co": micrograms}`), and a stock
//! service that reads only rare-earth symbols keeps such an event in its quarantine (the
//! consumer moves on: events of other subjects are still counted). The stock service that
//! counts B, Co and Ni applies them instead; this test then says so.

use std::time::Duration;

use serde_json::Value;

use crate::api_test;
use crate::helpers::TestApp;
use crate::magnets::magnet_motor;
use crate::passports::motor;

/// The collected Nd a regulator sees, in kilograms.
async fn collected_nd(app: &TestApp, regulator: &str) -> f64 {
    let answer = app
        .get_json(
            "/api/v1/stock/flows?group_by=&element=Nd&flow=collected",
            Some(regulator),
        )
        .await;
    answer["totals"]
        .as_array()
        .and_then(|t| t.first())
        .and_then(|t| t["value"].as_f64())
        .unwrap_or(0.0)
}

api_test!(
    custody_events_name_cobalt_and_a_rare_earth_only_stock_keeps_them_aside,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let with_magnets = app.register(&maker, &magnet_motor("STK-M-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let plain = app.register(&maker, &motor("STK-P-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.custody_step(&collector, &with_magnets, "collect", "2026-09-02T09:30:00Z")
            .await;
        app.custody_step(&collector, &plain, "collect", "2026-09-02T10:30:00Z")
            .await;

        // What the stock service receives: the collect step of the magnet motor names, per
        // element in micrograms, its rare earths and the B, Co and Ni of its magnets.
        let feed = app
            .get_json("/api/v1/feeds/custody?limit=100", Some(&app.admin_key))
            .await;
        let collect = feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["data"]["passport_id"] == with_magnets.as_str())
            .unwrap_or_else(|| panic!("no event of {with_magnets}: {feed}"))
            .clone();
        let elements = &collect["data"]["elements"];
        assert_eq!(elements["Nd"], 380_400_000, "{collect}");
        assert_eq!(elements["Co"], 21_600_000, "{collect}");
        assert_eq!(elements["Ni"], 5_600_000, "{collect}");
        assert_eq!(elements["B"], 16_800_000, "{collect}");

        // The consumer moves on: the plain motor's 337.5 g of Nd are counted.
        let mut nd = 0.0;
        for _ in 0..200 {
            nd = collected_nd(&app, &regulator).await;
            if nd > 0.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let quarantine: Value = app
            .get("/api/v1/admin/quarantine")
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kept: Vec<&Value> = quarantine["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["consumer"] == "stock.custody")
            .collect();
        // This branch's stock service reads rare-earth symbols only: it keeps the magnet
        // motor's step aside, naming the symbol, and counts the plain motor alone.
        assert_eq!(kept.len(), 1, "{quarantine}");
        assert_eq!(kept[0]["subject"], with_magnets.as_str(), "{quarantine}");
        let reason = kept[0]["reason"].as_str().unwrap();
        assert!(reason.contains("\"B\""), "{reason}");
        assert!((nd - 0.3375).abs() < 1e-9, "collected Nd: {nd} kg");
    }
);
