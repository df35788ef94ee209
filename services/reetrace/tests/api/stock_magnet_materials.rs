//! What the stock service receives from custody once products and lots carry B, Co and Ni
//! (issue 16), and how it reacts: custody feed events name the magnet materials under
//! `elements` like the rare earths (`{"Co": micrograms}`), and the stock service counts them
//! (a stock service reading rare-earth symbols only had kept such events in its quarantine).

use std::time::Duration;

use serde_json::Value;

use crate::api_test;
use crate::helpers::TestApp;
use crate::magnets::magnet_motor;
use crate::passports::motor;

/// The collected mass of `element` a regulator sees, in kilograms.
async fn collected(app: &TestApp, regulator: &str, element: &str) -> f64 {
    let answer = app
        .get_json(
            &format!("/api/v1/stock/flows?group_by=&element={element}&flow=collected"),
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
    custody_events_name_cobalt_and_the_stock_service_counts_it,
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

        // Both motors are counted: 337.5 g + 380.4 g of Nd, and the magnets' 21.6 g of Co.
        let (mut nd, mut co) = (0.0, 0.0);
        for _ in 0..200 {
            nd = collected(&app, &regulator, "Nd").await;
            co = collected(&app, &regulator, "Co").await;
            if (nd - 0.7179).abs() < 1e-9 && (co - 0.0216).abs() < 1e-9 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!((nd - 0.7179).abs() < 1e-9, "collected Nd: {nd} kg");
        assert!((co - 0.0216).abs() < 1e-9, "collected Co: {co} kg");
        let quarantine: Value = app
            .get("/api/v1/admin/quarantine")
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kept = quarantine["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["consumer"] == "stock.custody")
            .count();
        assert_eq!(kept, 0, "{quarantine}");
    }
);
