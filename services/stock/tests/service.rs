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
