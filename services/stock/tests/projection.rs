//! The stock projections on SQLite and PostgreSQL: exactly once (replay, restart), what
//! passports and custody events add to the cells, custody steps that wait for their passport.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reetrace_core::backend_test;
use reetrace_core::db::{Db, PoolOptions};
use reetrace_core::domain::feed::CloudEvent;
use reetrace_core::domain::{Category, Country, Element};
use reetrace_core::service::feed::{Consumer, FeedSource, Projection};
use reetrace_core::testing::TestDatabase;
use reetrace_stock::domain::flow::Flow;
use reetrace_stock::domain::flow::StoredCell;
use reetrace_stock::domain::passport::PassportStatus;
use reetrace_stock::feed::{CustodyProjection, PassportProjection};
use reetrace_stock::store::{self, MIGRATIONS, StockStore};
use reetrace_stock::testing::{
    Input, MemoryFeed, Stream, TestPassport, lot_step, product_step, transformation,
};
use uuid::Uuid;

async fn open(db: &TestDatabase) -> (Db, Arc<dyn StockStore>) {
    let conn = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    conn.migrate(&MIGRATIONS).await.unwrap();
    conn.migrate(&MIGRATIONS).await.unwrap();
    let store = store::open(&conn);
    (conn, store)
}

fn org(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A small world: three makers, items and batches, a model passport, a new version, a
/// revocation; collection, sorting, dismantling, recycling and an export of a lot.
struct World {
    passports: Vec<CloudEvent>,
    custody: Vec<CloudEvent>,
}

fn world(extra_items: usize) -> World {
    let mut p = Stream::passport();
    let mut c = Stream::custody();
    let recycler = org(100);
    let mut passports = Vec::new();
    let mut custody = Vec::new();
    let motor = TestPassport::item(org(1), "ev_traction_motor", "FR", 2024);
    let mut batch = TestPassport::item(org(2), "hard_disk_drive", "DE", 2023);
    batch.granularity = "batch";
    batch.units = Some(1000);
    batch.elements = vec![("Nd", 4.0), ("Pr", 0.66)];
    batch.recycled = vec![];
    let mut model = TestPassport::item(org(3), "smartphone", "FR", 2024);
    model.granularity = "model";
    let revoked = TestPassport::item(org(3), "ev_traction_motor", "FR", 2024);
    let mut v2 = batch.clone();
    v2.version = 2;
    v2.units = Some(800);
    passports.extend([
        motor.event(&mut p),
        batch.event(&mut p),
        model.event(&mut p),
        revoked.event(&mut p),
        v2.event(&mut p),
        revoked.status_event(&mut p, "revoked"),
    ]);
    for i in 0..extra_items {
        let maker = org(1 + (i % 3) as u128);
        let item = TestPassport::item(
            maker,
            "e_bike_motor",
            ["FR", "DE", "IT"][i % 3],
            2020 + (i % 5) as i32,
        );
        passports.push(item.event(&mut p));
        custody.push(product_step(
            &mut c,
            "collect",
            item.id,
            recycler,
            2025,
            &[("Nd", 337_500_000), ("Pr", 105_000_000), ("Dy", 60_000_000)],
        ));
    }
    let content = [("Nd", 337_500_000), ("Pr", 105_000_000), ("Dy", 60_000_000)];
    custody.extend([
        product_step(&mut c, "collect", motor.id, recycler, 2035, &content),
        product_step(&mut c, "receive", motor.id, recycler, 2035, &content),
        product_step(&mut c, "sort", motor.id, recycler, 2035, &content),
        transformation(
            &mut c,
            "dismantling",
            recycler,
            2036,
            &[Input {
                passport_id: Some(motor.id),
                elements: &content,
                origin: &[("ev_traction_motor", "FR", 1_000_000)],
            }],
            &[(
                &[("Nd", 337_000_000), ("Pr", 104_000_000), ("Dy", 59_000_000)],
                &[("ev_traction_motor", "FR", 1_000_000)],
            )],
            &[("Nd", 500_000), ("Pr", 1_000_000), ("Dy", 1_000_000)],
        ),
        transformation(
            &mut c,
            "recycling",
            recycler,
            2036,
            &[Input {
                passport_id: None,
                elements: &[("Nd", 300_000_001)],
                origin: &[
                    ("ev_traction_motor", "FR", 600_000),
                    ("hard_disk_drive", "DE", 400_000),
                ],
            }],
            &[(
                &[("Nd", 270_000_000)],
                &[
                    ("ev_traction_motor", "FR", 600_000),
                    ("hard_disk_drive", "DE", 400_000),
                ],
            )],
            &[("Nd", 30_000_001)],
        ),
        lot_step(
            &mut c,
            "export",
            recycler,
            2037,
            &[("Nd", 10)],
            &[
                ("ev_traction_motor", "FR", 333_333),
                ("hard_disk_drive", "DE", 666_667),
            ],
        ),
        // Something the stock service does not know: it still moves the cursor.
        c.event(
            "org.reetrace.custody.aggregation",
            "x",
            reetrace_stock::testing::mid_year(2036),
            serde_json::json!({"action": "aggregation"}),
        ),
    ]);
    World { passports, custody }
}

async fn consume(store: &Arc<dyn StockStore>, feed: Arc<MemoryFeed>, custody: bool) -> usize {
    let projection: Arc<dyn Projection> = if custody {
        Arc::new(CustodyProjection::new(store.clone()))
    } else {
        Arc::new(PassportProjection::new(store.clone()))
    };
    Consumer::new(feed, projection).catch_up().await.unwrap()
}

fn cell(
    cells: &[StoredCell],
    flow: Flow,
    category: Category,
    country: &str,
    element: Element,
) -> i128 {
    cells
        .iter()
        .filter(|c| {
            c.key.flow == flow
                && c.key.category == category
                && c.key.country == Country::parse(country).unwrap()
                && c.key.element == element.into()
        })
        .map(|c| c.value_ug)
        .sum()
}

backend_test!(
    passports_count_by_granularity_versions_replace_and_revocation_removes,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let w = world(0);
        consume(
            &store,
            Arc::new(MemoryFeed::new("passport", w.passports)),
            false,
        )
        .await;
        let cells = store.cells().await.unwrap();
        let pom = Flow::PlacedOnMarket;
        // The motor item once (the revoked motor of org 3 is gone): 337.5 g of Nd.
        assert_eq!(
            cell(&cells, pom, Category::EvTractionMotor, "FR", Element::Nd),
            337_500_000
        );
        // The batch counts its units, and version 2 (800 units) replaced version 1 (1000).
        assert_eq!(
            cell(&cells, pom, Category::HardDiskDrive, "DE", Element::Nd),
            800 * 4_000_000
        );
        assert_eq!(
            cell(&cells, pom, Category::HardDiskDrive, "DE", Element::Pr),
            800 * 660_000
        );
        // The model passport counts zero.
        assert_eq!(
            cell(&cells, pom, Category::Smartphone, "FR", Element::Nd),
            0
        );
        assert_eq!(
            cell(
                &cells,
                Flow::RecycledContent,
                Category::EvTractionMotor,
                "FR",
                Element::Nd
            ),
            16_875_000
        );
        // Only the live makers contribute; the revoked passport's maker left no live record.
        let makers: Vec<Uuid> = cells
            .iter()
            .filter(|c| c.records > 0)
            .map(|c| c.org_id)
            .collect();
        assert!(
            makers.iter().all(|m| *m == org(1) || *m == org(2)),
            "{makers:?}"
        );
        let revoked = cells.iter().find(|c| c.org_id == org(3));
        assert!(revoked.is_none_or(|c| c.records == 0 && c.value_ug == 0));
        let all: i128 = cells
            .iter()
            .filter(|c| c.key.flow == pom)
            .map(|c| c.value_ug)
            .sum();
        assert_eq!(
            all,
            337_500_000 + 105_000_000 + 60_000_000 + 800 * 4_660_000
        );
        assert_eq!(store.cursor("passport").await.unwrap(), 6);
    }
);

backend_test!(
    custody_flows_go_to_the_products_urban_mine_even_when_the_passport_comes_later,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let w = world(3);
        // Custody first: the product steps wait for their passports.
        consume(
            &store,
            Arc::new(MemoryFeed::new("custody", w.custody.clone())),
            true,
        )
        .await;
        assert_eq!(store.parked().await.unwrap(), 3 + 2);
        consume(
            &store,
            Arc::new(MemoryFeed::new("passport", w.passports.clone())),
            false,
        )
        .await;
        assert_eq!(store.parked().await.unwrap(), 0);
        let cells = store.cells().await.unwrap();
        let ev = Category::EvTractionMotor;
        let hdd = Category::HardDiskDrive;
        assert_eq!(
            cell(&cells, Flow::Collected, ev, "FR", Element::Nd),
            337_500_000
        );
        assert_eq!(
            cell(&cells, Flow::Sorted, ev, "FR", Element::Dy),
            60_000_000
        );
        assert_eq!(
            cell(&cells, Flow::Dismantled, ev, "FR", Element::Pr),
            105_000_000
        );
        assert_eq!(cell(&cells, Flow::Losses, ev, "FR", Element::Pr), 1_000_000);
        // Recycling a mixed lot: inputs, outputs and losses split 60/40 exactly.
        assert_eq!(
            cell(&cells, Flow::RecyclingInput, ev, "FR", Element::Nd),
            180_000_001
        );
        assert_eq!(
            cell(&cells, Flow::RecyclingInput, hdd, "DE", Element::Nd),
            120_000_000
        );
        assert_eq!(
            cell(&cells, Flow::Recycled, ev, "FR", Element::Nd),
            162_000_000
        );
        assert_eq!(
            cell(&cells, Flow::Recycled, hdd, "DE", Element::Nd),
            108_000_000
        );
        assert_eq!(
            cell(&cells, Flow::Losses, ev, "FR", Element::Nd)
                + cell(&cells, Flow::Losses, hdd, "DE", Element::Nd),
            500_000 + 30_000_001
        );
        // 10 micrograms exported by thirds: the remainder to the largest share.
        assert_eq!(cell(&cells, Flow::Exported, ev, "FR", Element::Nd), 3);
        assert_eq!(cell(&cells, Flow::Exported, hdd, "DE", Element::Nd), 7);
        // Custody flows belong to the recorder, in the year of the event.
        let recycled: Vec<&StoredCell> = cells
            .iter()
            .filter(|c| c.key.flow == Flow::Recycled)
            .collect();
        assert!(
            recycled
                .iter()
                .all(|c| c.org_id == org(100) && c.key.year == 2036)
        );

        // The same events in the other order give the same cells.
        let other = TestDatabase::new(db.backend).await.unwrap();
        let (_c2, store2) = open(&other).await;
        consume(
            &store2,
            Arc::new(MemoryFeed::new("passport", w.passports)),
            false,
        )
        .await;
        consume(
            &store2,
            Arc::new(MemoryFeed::new("custody", w.custody)),
            true,
        )
        .await;
        assert_eq!(store2.cells().await.unwrap(), cells);
    }
);

backend_test!(
    replaying_a_feed_from_the_start_changes_nothing,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let w = world(700);
        let passports = w.passports.clone();
        let custody = w.custody.clone();
        assert_eq!(
            consume(
                &store,
                Arc::new(MemoryFeed::new("passport", w.passports)),
                false
            )
            .await,
            passports.len()
        );
        assert_eq!(
            consume(
                &store,
                Arc::new(MemoryFeed::new("custody", w.custody)),
                true
            )
            .await,
            custody.len()
        );
        let before = store.cells().await.unwrap();
        let cursors = (
            store.cursor("passport").await.unwrap(),
            store.cursor("custody").await.unwrap(),
        );
        assert_eq!(cursors, (passports.len() as i64, custody.len() as i64));

        // The whole feed again, in one batch and in pieces: the inbox skips every event.
        let p = PassportProjection::new(store.clone());
        let c = CustodyProjection::new(store.clone());
        p.apply("passport", &passports).await.unwrap();
        c.apply("custody", &custody).await.unwrap();
        for chunk in passports.chunks(97) {
            p.apply("passport", chunk).await.unwrap();
        }
        assert_eq!(store.cells().await.unwrap(), before);
        // Replaying an early part never moves the cursor back.
        p.apply("passport", &passports[..10]).await.unwrap();
        assert_eq!(store.cursor("passport").await.unwrap(), cursors.0);
        // A consumer from a fresh start over the same store finds nothing new to do.
        let feed = Arc::new(MemoryFeed::new("passport", passports.clone()));
        assert_eq!(consume(&store, feed, false).await, 0);
        assert_eq!(store.cells().await.unwrap(), before);
    }
);

backend_test!(
    a_restart_mid_stream_loses_nothing,
    |db: TestDatabase| async move {
        let w = world(700);
        let (_conn, store) = open(&db).await;
        let passport_feed = Arc::new(MemoryFeed::new("passport", w.passports.clone()));
        let custody_feed = Arc::new(MemoryFeed::new("custody", w.custody.clone()));
        // Half of each stream is there when the first consumers run...
        passport_feed.show(w.passports.len() / 2);
        custody_feed.show(w.custody.len() / 2);
        {
            let projection = Arc::new(PassportProjection::new(store.clone()));
            let feed: Arc<dyn FeedSource> = passport_feed.clone();
            Consumer::new(feed, projection).catch_up().await.unwrap();
            let projection = Arc::new(CustodyProjection::new(store.clone()));
            let feed: Arc<dyn FeedSource> = custody_feed.clone();
            Consumer::new(feed, projection).catch_up().await.unwrap();
        }
        assert_eq!(
            store.cursor("passport").await.unwrap(),
            (w.passports.len() / 2) as i64
        );
        // ...they are dropped (the process stops), the streams go on, new consumers continue.
        passport_feed.show(usize::MAX);
        custody_feed.show(usize::MAX);
        let rest =
            consume(&store, passport_feed, false).await + consume(&store, custody_feed, true).await;
        assert_eq!(
            rest,
            w.passports.len() - w.passports.len() / 2 + w.custody.len() - w.custody.len() / 2
        );

        let other = TestDatabase::new(db.backend).await.unwrap();
        let (_c2, straight) = open(&other).await;
        consume(
            &straight,
            Arc::new(MemoryFeed::new("passport", w.passports)),
            false,
        )
        .await;
        consume(
            &straight,
            Arc::new(MemoryFeed::new("custody", w.custody)),
            true,
        )
        .await;
        assert_eq!(
            store.cells().await.unwrap(),
            straight.cells().await.unwrap()
        );
    }
);

backend_test!(
    a_passport_record_keeps_the_latest_version_and_status,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let mut p = Stream::passport();
        let mut a = TestPassport::item(org(1), "laptop", "PL", 2022);
        let first = a.event(&mut p);
        a.version = 2;
        a.country = "CZ";
        let second = a.event(&mut p);
        let suspended = a.status_event(&mut p, "suspended");
        PassportProjection::new(store.clone())
            .apply("passport", &[first, second, suspended])
            .await
            .unwrap();
        let record = store.passport(a.id).await.unwrap().unwrap();
        assert_eq!(record.facts.version, 2);
        assert_eq!(record.facts.country, Country::parse("CZ").unwrap());
        assert_eq!(record.status, PassportStatus::Suspended);
        let cells = store.cells().await.unwrap();
        // Suspended still counts; the new country replaced the old one.
        assert_eq!(
            cell(
                &cells,
                Flow::PlacedOnMarket,
                Category::Laptop,
                "CZ",
                Element::Nd
            ),
            337_500_000
        );
        assert_eq!(
            cell(
                &cells,
                Flow::PlacedOnMarket,
                Category::Laptop,
                "PL",
                Element::Nd
            ),
            0
        );
        let revisions = store.revisions().await.unwrap();
        assert!(
            revisions
                .iter()
                .any(|(f, y, r)| *f == Flow::PlacedOnMarket && *y == 2022 && *r >= 1)
        );
    }
);

backend_test!(
    cells_hold_sums_past_64_bits_exactly,
    |db: TestDatabase| async move {
        let (_conn, store) = open(&db).await;
        let mut p = Stream::passport();
        // 1,000 batches of one maker, each 10 000 t of Nd (10^16 µg, the most a passport may
        // count of an element): 10^19 µg in one cell, past i64::MAX (9.2 * 10^18).
        let events: Vec<CloudEvent> = (0..1_000)
            .map(|_| {
                let mut batch = TestPassport::item(org(7), "wind_turbine_generator", "DE", 2025);
                batch.granularity = "batch";
                batch.units = Some(1_000_000);
                batch.elements = vec![("Nd", 10_000.0)];
                batch.recycled = vec![];
                batch.event(&mut p)
            })
            .collect();
        let applied = consume(&store, Arc::new(MemoryFeed::new("passport", events)), false).await;
        assert_eq!(applied, 1_000);
        let cells = store.cells().await.unwrap();
        let total = cell(
            &cells,
            Flow::PlacedOnMarket,
            Category::WindTurbineGenerator,
            "DE",
            Element::Nd,
        );
        assert_eq!(total, 10_000_000_000_000_000_000_i128);
        assert!(total > i128::from(i64::MAX));
    }
);
