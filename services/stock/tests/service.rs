//! The stock service over its store: answers follow the projection (from cached tables that
//! are rebuilt when their revision moves), group_by and filters, custody flows in answers,
//! disclosure for custody cells and own scopes.

#![allow(clippy::unwrap_used)]

use reetrace_core::backend_test;
use reetrace_core::db::{Db, PoolOptions};
use reetrace_core::domain::{Category, Country, Element};
use reetrace_core::service::feed::Projection;
use reetrace_core::testing::TestDatabase;
use reetrace_stock::domain::flow::Flow;
use reetrace_stock::domain::table::Grain;
use reetrace_stock::feed::{CustodyProjection, PassportProjection};
use reetrace_stock::service::bodies::{FigureView, FlowRow};
use reetrace_stock::service::{
    BasisChoice, FlowRequest, SankeyRequest, Scope, StockService, filter_key, grain_of,
};
use reetrace_stock::store::{self, MIGRATIONS};
use reetrace_stock::testing::{Stream, TestPassport, product_step};
use uuid::Uuid;

async fn service(db: &TestDatabase) -> (Db, StockService) {
    let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    conn.migrate(&MIGRATIONS).await.unwrap();
    (conn.clone(), StockService::new(store::open(&conn), 3))
}

fn request(group: Grain, by_year: bool, flow: Option<Flow>) -> FlowRequest {
    FlowRequest {
        filter: filter_key(None, None, Some(Element::Nd)),
        flow,
        year_from: None,
        year_to: None,
        group,
        by_year,
        basis: BasisChoice::Observed,
    }
}

fn kg(row: &FlowRow) -> f64 {
    match row.figure {
        FigureView::Value(v) => v,
        other => panic!("{other:?} in {row:?}"),
    }
}

fn org(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

backend_test!(
    answers_follow_the_projection_through_a_rebuild,
    |db: TestDatabase| async move {
        let (_conn, service) = service(&db).await;
        let passports = PassportProjection::new(service.store().clone());
        let mut stream = Stream::passport();
        let mut batch = Vec::new();
        for maker in 1..=3 {
            for country in ["FR", "DE"] {
                let p = TestPassport::item(org(maker), "hard_disk_drive", country, 2024);
                batch.push(p.event(&mut stream));
            }
        }
        passports.apply("passport", &batch).await.unwrap();
        let by_country = request(
            grain_of(true, false, false),
            false,
            Some(Flow::PlacedOnMarket),
        );
        let first = service.flows(Scope::All, &by_country).await.unwrap();
        assert_eq!(first.rows.len(), 2);
        assert!(
            first
                .rows
                .iter()
                .all(|r| (kg(r) - 3.0 * 0.3375).abs() < 1e-12)
        );

        // Three more in FR: the cached table answers until it is rebuilt.
        let more: Vec<_> = (1..=3)
            .map(|m| TestPassport::item(org(m), "hard_disk_drive", "FR", 2024).event(&mut stream))
            .collect();
        passports.apply("passport", &more).await.unwrap();
        service.refresh(false).await.unwrap();
        let second = service.flows(Scope::All, &by_country).await.unwrap();
        let fr = second
            .rows
            .iter()
            .find(|r| r.country == Some(Country::parse("FR").unwrap()))
            .unwrap();
        assert!((kg(fr) - 6.0 * 0.3375).abs() < 1e-12);
        let total = &second.totals[0];
        assert!((kg(total) - 9.0 * 0.3375).abs() < 1e-12);
        assert_eq!(second.group_by, ["country"]);
    }
);

backend_test!(
    custody_flows_in_answers_are_protected_by_recorder,
    |db: TestDatabase| async move {
        let (_conn, service) = service(&db).await;
        let store = service.store().clone();
        let mut p = Stream::passport();
        let mut c = Stream::custody();
        let mut passports = Vec::new();
        let mut steps = Vec::new();
        // Products of three makers in FR and DE; in FR three collectors, in DE only one.
        for maker in 1..=3u128 {
            for (i, country) in ["FR", "DE"].iter().enumerate() {
                let item = TestPassport::item(org(maker), "laptop", country, 2020);
                passports.push(item.event(&mut p));
                let collector = if i == 0 { org(100 + maker) } else { org(200) };
                steps.push(product_step(
                    &mut c,
                    "collect",
                    item.id,
                    collector,
                    2025,
                    &[("Nd", 2_000_000)],
                ));
            }
        }
        PassportProjection::new(store.clone())
            .apply("passport", &passports)
            .await
            .unwrap();
        CustodyProjection::new(store.clone())
            .apply("custody", &steps)
            .await
            .unwrap();
        let req = FlowRequest {
            filter: filter_key(None, Some(Category::Laptop), None),
            flow: Some(Flow::Collected),
            year_from: Some(2025),
            year_to: Some(2025),
            group: grain_of(true, false, false),
            by_year: true,
            basis: BasisChoice::Observed,
        };
        let answer = service.flows(Scope::Published, &req).await.unwrap();
        let country = |code: &str| {
            answer
                .rows
                .iter()
                .find(|r| r.country == Some(Country::parse(code).unwrap()))
                .unwrap()
        };
        // DE has one collector: withheld, and FR with it (the total would give DE back).
        assert_eq!(country("DE").figure, FigureView::Suppressed);
        assert_eq!(country("FR").figure, FigureView::Suppressed);
        assert!(
            matches!(answer.totals[0].figure, FigureView::Value(v) if (v - 0.012).abs() < 1e-12)
        );
        assert_eq!(answer.disclosure.as_ref().unwrap().suppressed, 2);
        // An authority reads both exactly.
        let exact = service.flows(Scope::All, &req).await.unwrap();
        assert!(exact.disclosure.is_none());
        assert!(
            exact
                .rows
                .iter()
                .all(|r| matches!(r.figure, FigureView::Value(_)))
        );

        // The DE collector sees its own throughput; a maker sees its own products only.
        let own = service.flows(Scope::Own(org(200)), &req).await.unwrap();
        assert_eq!(own.rows.len(), 1);
        assert!(matches!(own.rows[0].figure, FigureView::Value(v) if (v - 0.006).abs() < 1e-12));
        let maker = service
            .flows(
                Scope::Own(org(1)),
                &request(Grain::TOTAL, false, Some(Flow::Collected)),
            )
            .await
            .unwrap();
        assert!(
            maker.rows.is_empty(),
            "collection belongs to the collectors"
        );

        // The Sankey of the year: collection shows as a withheld-free total, end of life modelled.
        let sankey = service
            .sankey(
                Scope::All,
                &SankeyRequest {
                    year: 2025,
                    filter: filter_key(None, None, Some(Element::Nd)),
                },
            )
            .await
            .unwrap();
        let collected = sankey
            .links
            .iter()
            .find(|l| l.source == "end_of_life" && l.target == "collection")
            .unwrap();
        assert!(matches!(collected.figure, FigureView::Value(v) if (v - 0.012).abs() < 1e-12));
        assert_eq!(sankey.parameters_version, Some(1));
    }
);

backend_test!(
    a_restart_reuses_the_stored_disclosure_patterns_of_unchanged_tables,
    |db: TestDatabase| async move {
        let (conn, first) = service(&db).await;
        let passports = PassportProjection::new(first.store().clone());
        let mut stream = Stream::passport();
        let mut batch = Vec::new();
        for year in [2023, 2024] {
            for maker in 1..=3 {
                for country in ["FR", "DE"] {
                    let p = TestPassport::item(org(maker), "hard_disk_drive", country, year);
                    batch.push(p.event(&mut stream));
                }
            }
            // Alone in Italy: withheld, with partners.
            let p = TestPassport::item(org(4), "hard_disk_drive", "IT", year);
            batch.push(p.event(&mut stream));
        }
        passports.apply("passport", &batch).await.unwrap();
        let by_country = FlowRequest {
            year_from: Some(2023),
            year_to: Some(2023),
            ..request(
                grain_of(true, false, false),
                true,
                Some(Flow::PlacedOnMarket),
            )
        };
        first.refresh(true).await.unwrap();
        let (protected, reused) = first.groups_protected_and_reused();
        // Placed on the market and recycled content, protected together, in two years.
        assert_eq!((protected, reused), (2, 0));
        let published = first.flows(Scope::Published, &by_country).await.unwrap();
        let it = Some(Country::parse("IT").unwrap());
        let italy = |answer: &reetrace_stock::service::bodies::FlowsAnswer| {
            answer.rows.iter().find(|r| r.country == it).unwrap().figure
        };
        let rows = |answer: &reetrace_stock::service::bodies::FlowsAnswer| {
            serde_json::to_value(&answer.rows).unwrap()
        };
        assert_eq!(italy(&published), FigureView::Suppressed);

        // A restart on the same data takes every stored pattern and answers the same.
        let second = StockService::new(store::open(&conn), 3);
        second.refresh(true).await.unwrap();
        assert_eq!(second.groups_protected_and_reused(), (0, 2));
        let again = second.flows(Scope::Published, &by_country).await.unwrap();
        assert_eq!(rows(&again), rows(&published));

        // A new passport of 2024 moves that year's tables: only their group is protected.
        let p = TestPassport::item(org(5), "hard_disk_drive", "FR", 2024);
        passports
            .apply("passport", &[p.event(&mut stream)])
            .await
            .unwrap();
        let third = StockService::new(store::open(&conn), 3);
        third.refresh(true).await.unwrap();
        assert_eq!(third.groups_protected_and_reused(), (1, 1));

        // A stored pattern that publishes a sensitive cell is not taken: the group is
        // protected again and the cell stays withheld.
        let store = first.store().clone();
        let mut patterns = store.patterns().await.unwrap();
        let italy_key = reetrace_stock::domain::table::Key {
            country: it,
            ..Default::default()
        };
        for p in patterns.iter_mut().filter(|p| p.year == 2023) {
            p.withheld.retain(|k| *k != italy_key);
        }
        store.put_patterns(&patterns).await.unwrap();
        let fourth = StockService::new(store.clone(), 3);
        fourth.refresh(true).await.unwrap();
        assert_eq!(fourth.groups_protected_and_reused(), (1, 1));
        let answer = fourth.flows(Scope::Published, &by_country).await.unwrap();
        assert_eq!(italy(&answer), FigureView::Suppressed);
        assert_eq!(rows(&answer), rows(&published));
    }
);
