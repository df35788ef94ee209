//! The magnets' boron, cobalt and nickel in the urban mine, on SQLite and PostgreSQL: v2
//! passports place them on the market (per unit, times a batch's units), custody events
//! collect, recycle, lose and export them, and answers give them only when asked for
//! (`element=Co`, `materials=magnet`): every rare-earth total stays rare earths only.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reetrace_core::backend_test;
use reetrace_core::db::{Db, PoolOptions};
use reetrace_core::domain::{Category, Country, Element, TrackedElement};
use reetrace_core::service::feed::{Consumer, Projection};
use reetrace_core::testing::TestDatabase;
use reetrace_stock::domain::flow::{Flow, StoredCell};
use reetrace_stock::domain::table::{Grain, Key, Materials};
use reetrace_stock::feed::{CustodyProjection, PassportProjection};
use reetrace_stock::service::bodies::{FigureView, FlowRow};
use reetrace_stock::service::{
    BasisChoice, FlowRequest, Scope, StockService, filter_key, grain_of,
};
use reetrace_stock::store::{self, MIGRATIONS};
use reetrace_stock::testing::{
    Input, MemoryFeed, Stream, TestPassport, lot_step, product_step, transformation,
};
use uuid::Uuid;

async fn service(db: &TestDatabase) -> (Db, StockService) {
    let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    conn.migrate(&MIGRATIONS).await.unwrap();
    (conn.clone(), StockService::new(store::open(&conn), 3))
}

fn org(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const EV: &str = "ev_traction_motor";
const ORIGIN: &[(&str, &str, u64)] = &[(EV, "FR", 1_000_000)];

/// Three makers' batches of ten EV motors (B 15 g, Co 30 g of which 1.5 g recycled, Ni 2 g per
/// unit beside the rare earths), and a recycler that collects, recycles and exports cobalt.
fn feeds() -> (
    Vec<reetrace_core::domain::feed::CloudEvent>,
    Vec<reetrace_core::domain::feed::CloudEvent>,
) {
    let mut p = Stream::passport();
    let mut c = Stream::custody();
    let recycler = org(100);
    let mut passports = Vec::new();
    let mut custody = Vec::new();
    for maker in 1..=3 {
        let mut batch = TestPassport::item(org(maker), EV, "FR", 2024);
        batch.granularity = "batch";
        batch.units = Some(10);
        passports.push(batch.event_v2(
            &mut p,
            &[("B", 15.0, 0.0), ("Co", 30.0, 1.5), ("Ni", 2.0, 0.0)],
        ));
        custody.push(product_step(
            &mut c,
            "collect",
            batch.id,
            recycler,
            2035,
            &[("Nd", 3_375_000_000), ("Co", 300_000_000)],
        ));
    }
    custody.push(transformation(
        &mut c,
        "recycling",
        recycler,
        2036,
        &[Input {
            passport_id: None,
            elements: &[("Nd", 1_000_000_000), ("Co", 600_000_000)],
            origin: ORIGIN,
        }],
        &[(&[("Nd", 900_000_000), ("Co", 540_000_000)], ORIGIN)],
        &[("Nd", 100_000_000), ("Co", 60_000_000)],
    ));
    custody.push(lot_step(
        &mut c,
        "export",
        recycler,
        2037,
        &[("Co", 7), ("Ni", 5)],
        ORIGIN,
    ));
    (passports, custody)
}

fn cell(cells: &[StoredCell], flow: Flow, element: impl Into<TrackedElement>) -> i128 {
    let element = element.into();
    cells
        .iter()
        .filter(|c| {
            c.key.flow == flow
                && c.key.category == Category::EvTractionMotor
                && c.key.country == Country::parse("FR").unwrap()
                && c.key.element == element
        })
        .map(|c| c.value_ug)
        .sum()
}

async fn consume(
    service: &StockService,
    events: Vec<reetrace_core::domain::feed::CloudEvent>,
    custody: bool,
) {
    let store = service.store().clone();
    let projection: Arc<dyn Projection> = if custody {
        Arc::new(CustodyProjection::new(store))
    } else {
        Arc::new(PassportProjection::new(store))
    };
    let stream = if custody { "custody" } else { "passport" };
    Consumer::new(Arc::new(MemoryFeed::new(stream, events)), projection)
        .catch_up()
        .await
        .unwrap();
}

fn kg(row: &FlowRow) -> f64 {
    match row.figure {
        FigureView::Value(v) => v,
        other => panic!("{other:?} in {row:?}"),
    }
}

fn request(filter: Key, group: Grain, flow: Flow) -> FlowRequest {
    FlowRequest {
        filter,
        flow: Some(flow),
        year_from: None,
        year_to: None,
        group,
        by_year: false,
        basis: BasisChoice::Observed,
    }
}

backend_test!(
    passports_and_custody_events_count_boron_cobalt_and_nickel,
    |db: TestDatabase| async move {
        let (_conn, service) = service(&db).await;
        let (passports, custody) = feeds();
        // Custody first: the collection steps wait for their passports, cobalt and all.
        consume(&service, custody.clone(), true).await;
        consume(&service, passports.clone(), false).await;
        let cells = service.store().cells().await.unwrap();
        let pom = Flow::PlacedOnMarket;
        // Per unit, times ten units, for three makers.
        assert_eq!(cell(&cells, pom, TrackedElement::Co), 30 * 30_000_000);
        assert_eq!(cell(&cells, pom, TrackedElement::B), 30 * 15_000_000);
        assert_eq!(cell(&cells, pom, TrackedElement::Ni), 30 * 2_000_000);
        assert_eq!(cell(&cells, pom, Element::Nd), 30 * 337_500_000);
        assert_eq!(
            cell(&cells, Flow::RecycledContent, TrackedElement::Co),
            30 * 1_500_000
        );
        assert_eq!(
            cell(&cells, Flow::Collected, TrackedElement::Co),
            3 * 300_000_000
        );
        assert_eq!(
            cell(&cells, Flow::RecyclingInput, TrackedElement::Co),
            600_000_000
        );
        assert_eq!(
            cell(&cells, Flow::Recycled, TrackedElement::Co),
            540_000_000
        );
        assert_eq!(cell(&cells, Flow::Losses, TrackedElement::Co), 60_000_000);
        assert_eq!(cell(&cells, Flow::Exported, TrackedElement::Ni), 5);
        assert_eq!(service.store().parked().await.unwrap(), 0);

        // A replay changes nothing.
        consume(&service, custody, true).await;
        consume(&service, passports, false).await;
        assert_eq!(service.store().cells().await.unwrap(), cells);
    }
);

backend_test!(
    answers_give_the_magnet_materials_only_when_asked_and_rare_earth_totals_stay_rare_earths,
    |db: TestDatabase| async move {
        let (_conn, service) = service(&db).await;
        let (passports, custody) = feeds();
        consume(&service, passports, false).await;
        consume(&service, custody, true).await;
        let by_element = grain_of(false, false, true);
        let pom = Flow::PlacedOnMarket;

        // No element named: the rare earths, as before, and their total without B, Co, Ni.
        let ree = service
            .flows(
                Scope::All,
                &request(filter_key(None, None, None), by_element, pom),
            )
            .await
            .unwrap();
        let elements: Vec<_> = ree.rows.iter().map(|r| r.element.unwrap()).collect();
        assert_eq!(
            elements,
            [Element::Pr, Element::Nd, Element::Dy].map(TrackedElement::from)
        );
        assert!((kg(&ree.totals[0]) - 30.0 * 0.5025).abs() < 1e-9);
        assert!(ree.filters.materials.is_none());

        // element=Co: cobalt alone.
        let co = Key::filter(None, None, Some(TrackedElement::Co), Materials::RareEarths);
        assert_eq!(co.materials, Materials::Magnet);
        let answer = service
            .flows(Scope::All, &request(co, Grain::TOTAL, pom))
            .await
            .unwrap();
        assert_eq!(answer.rows.len(), 1);
        assert!((kg(&answer.rows[0]) - 0.9).abs() < 1e-12);
        assert_eq!(answer.filters.materials, Some("magnet"));

        // materials=magnet by element: B, Co, Ni, and their own total.
        let magnet = Key::filter(None, None, None, Materials::Magnet);
        let answer = service
            .flows(Scope::All, &request(magnet, by_element, pom))
            .await
            .unwrap();
        let rows: Vec<_> = answer
            .rows
            .iter()
            .map(|r| (r.element.unwrap(), kg(r)))
            .collect();
        assert_eq!(rows.len(), 3);
        for ((element, got), want) in rows.iter().zip([
            (TrackedElement::B, 0.45),
            (TrackedElement::Co, 0.9),
            (TrackedElement::Ni, 0.06),
        ]) {
            assert_eq!(*element, want.0);
            assert!((got - want.1).abs() < 1e-12, "{element}: {got}");
        }
        assert!((kg(&answer.totals[0]) - 1.41).abs() < 1e-12);

        // Recovered cobalt, from the custody feed.
        let recycled = service
            .flows(Scope::All, &request(co, Grain::TOTAL, Flow::Recycled))
            .await
            .unwrap();
        assert!((kg(&recycled.totals[0]) - 0.54).abs() < 1e-12);
    }
);
