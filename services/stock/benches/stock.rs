//! The stock service at regulator scale: 1,000,000 passports and 3,000,000 custody events
//! loaded through the projections' apply path, then flows and indicators queries timed.
//!
//! ```text
//! cargo bench -p reetrace-stock --bench stock                      # SQLite, full size
//! STOCK_BENCH_BACKEND=postgres cargo bench -p reetrace-stock --bench stock
//! STOCK_BENCH_PASSPORTS=100000 STOCK_BENCH_CUSTODY=300000 cargo bench -p reetrace-stock --bench stock
//! STOCK_BENCH_MAGNETS=1 cargo bench -p reetrace-stock --bench stock  # v2 passports with B, Co, Ni
//! ```
//!
//! PostgreSQL uses `REETRACE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and a fresh database that is dropped afterwards. Events are synthetic but shaped exactly as the
//! feeds publish them (the projections parse every one): 120 manufacturers over 30 countries
//! and 18 categories, 2010-2025; custody: collection, sorting, transfers, dismantling and
//! recycling transformations, lot exports and destruction by 90 recyclers.
#![allow(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use reetrace_core::db::{Backend, Db, PoolOptions};
use reetrace_core::domain::feed::CloudEvent;
use reetrace_core::domain::{Category, Country, Element};
use reetrace_core::service::feed::{Consumer, FeedError, FeedSource, Projection};
use reetrace_core::testing::TestDatabase;
use reetrace_stock::domain::table::Grain;
use reetrace_stock::feed::{CustodyProjection, PassportProjection};
use reetrace_stock::service::{
    BasisChoice, FlowRequest, IndicatorRequest, Scope, StockService, filter_key, grain_of,
};
use reetrace_stock::store::{self, MIGRATIONS, StockStore};
use reetrace_stock::testing::{
    Input, Stream, TestPassport, lot_step, product_step, transformation,
};
use uuid::Uuid;

const BATCH: usize = 5_000;
const COUNTRIES: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "NO", "CH", "GB",
];
const MAKERS: u64 = 120;
const RECYCLERS_PER_COUNTRY: u64 = 3;

/// Grams of each element in one unit, per category (typical, for volume only).
fn content(category: Category) -> &'static [(&'static str, f64)] {
    match category {
        Category::NdfebMagnet => &[("Nd", 200.0), ("Pr", 50.0), ("Dy", 50.0), ("Tb", 10.0)],
        Category::SmcoMagnet => &[("Sm", 250.0)],
        Category::WindTurbineGenerator => &[
            ("Nd", 130_000.0),
            ("Pr", 32_500.0),
            ("Dy", 26_000.0),
            ("Tb", 6_500.0),
        ],
        Category::EvTractionMotor => &[("Nd", 300.0), ("Pr", 75.0), ("Dy", 75.0), ("Tb", 15.0)],
        Category::HevTractionMotor => &[("Nd", 1_000.0), ("Pr", 250.0)],
        Category::EBikeMotor => &[("Nd", 68.0), ("Pr", 17.0), ("Dy", 17.0), ("Tb", 3.4)],
        Category::IndustrialMotor => &[("Nd", 500.0), ("Pr", 125.0), ("Dy", 100.0)],
        Category::HardDiskDrive => &[("Nd", 4.0), ("Pr", 0.66), ("Dy", 0.19)],
        Category::Smartphone => &[("Nd", 0.16), ("Pr", 0.04), ("Dy", 0.04)],
        Category::Laptop => &[("Nd", 2.0), ("Pr", 0.5), ("Dy", 0.3)],
        Category::Loudspeaker => &[("Nd", 20.0), ("Pr", 5.0), ("Dy", 1.0)],
        Category::NimhBattery => &[("La", 1_000.0), ("Ce", 600.0), ("Nd", 200.0), ("Pr", 200.0)],
        Category::FluorescentLamp => &[
            ("Y", 1.0),
            ("Eu", 0.05),
            ("Tb", 0.05),
            ("Ce", 0.1),
            ("La", 0.1),
        ],
        Category::Autocatalyst => &[("Ce", 60.0), ("La", 5.0)],
        Category::FccCatalyst => &[("La", 800.0), ("Ce", 100.0)],
        Category::OpticalFibre => &[("Er", 0.01)],
        Category::PolishingPowder => &[("Ce", 500.0), ("La", 300.0)],
        Category::Other => &[("Nd", 10.0), ("Gd", 5.0)],
    }
}

/// A small deterministic generator (xorshift64*): the same world on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What custody events need to know of a passport.
struct Known {
    id: Uuid,
    org: Uuid,
    category: Category,
    country: usize,
    year: i32,
    units: u64,
}

struct World {
    rng: Rng,
    /// When set, custody events happen in this year (live ingestion rather than a back-fill).
    live_year: Option<i32>,
    passports: Stream,
    custody: Stream,
    known: Vec<Known>,
    /// Passports as v2 credentials whose magnets also hold B, Co and Ni (`STOCK_BENCH_MAGNETS`).
    magnets: bool,
}

fn maker(n: u64) -> Uuid {
    Uuid::from_u128(0x1000_0000 + u128::from(n))
}

fn recycler(country: usize, n: u64) -> Uuid {
    Uuid::from_u128(0x2000_0000 + (country as u128) * 16 + u128::from(n))
}

fn micrograms(grams: f64, units: u64) -> i64 {
    (grams * 1e6).round() as i64 * units as i64
}

impl World {
    fn new() -> Self {
        World {
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            live_year: None,
            passports: Stream::passport(),
            custody: Stream::custody(),
            known: Vec::new(),
            magnets: std::env::var("STOCK_BENCH_MAGNETS").is_ok_and(|v| v == "1"),
        }
    }

    /// The issued or versioned event of `p`: with magnet materials, a v2 credential whose
    /// magnets hold boron, cobalt and nickel in proportion to the neodymium (NdFeB-like).
    fn issue(&mut self, p: &TestPassport) -> CloudEvent {
        if !self.magnets {
            return p.event(&mut self.passports);
        }
        let nd: f64 = p
            .elements
            .iter()
            .filter(|(e, _)| *e == "Nd")
            .map(|(_, g)| g)
            .sum();
        let round = |g: f64| (g * 1e3).round() / 1e3;
        let materials = [
            ("B", round(nd * 0.035), 0.0),
            ("Co", round(nd * 0.06), round(nd * 0.003)),
            ("Ni", round(nd * 0.01), 0.0),
        ];
        p.event_v2(&mut self.passports, &materials)
    }

    /// The next passport event: mostly new items and batches; some new versions and
    /// revocations of earlier passports.
    fn passport_event(&mut self) -> CloudEvent {
        let roll = self.rng.below(1000);
        if roll < 20 && !self.known.is_empty() {
            let k = &self.known[self.rng.below(self.known.len() as u64) as usize];
            let mut p = self.test_passport(k.id, k.category, k.country, k.year, k.units);
            p.org = k.org;
            p.version = 2 + (self.rng.below(3) as u32);
            return self.issue(&p);
        }
        if roll < 25 && !self.known.is_empty() {
            let k = &self.known[self.rng.below(self.known.len() as u64) as usize];
            let mut p = self.test_passport(k.id, k.category, k.country, k.year, k.units);
            p.org = k.org;
            return p.status_event(&mut self.passports, "revoked");
        }
        let m = self.rng.below(MAKERS);
        // Each maker makes two categories and sells in ten countries.
        let category = Category::ALL[((m + self.rng.below(2) * 7) % 18) as usize];
        let country = ((m * 7 + self.rng.below(10)) % 30) as usize;
        let year = 2010 + self.rng.below(16) as i32;
        let units = if roll < 125 {
            10 + self.rng.below(990)
        } else {
            1
        };
        let id = Uuid::from_u128(u128::from(self.rng.next()) << 64 | u128::from(self.rng.next()));
        let mut p = self.test_passport(id, category, country, year, units);
        p.org = maker(m);
        if roll >= 990 {
            p.granularity = "model";
        } else {
            self.known.push(Known {
                id,
                org: maker(m),
                category,
                country,
                year,
                units,
            });
        }
        self.issue(&p)
    }

    fn test_passport(
        &self,
        id: Uuid,
        category: Category,
        country: usize,
        year: i32,
        units: u64,
    ) -> TestPassport {
        let elements = content(category).to_vec();
        // 5 % recycled, to the microgram (passports carry at most 6 decimal places).
        let recycled = elements
            .iter()
            .map(|(e, g)| (*e, (g * 0.05 * 1e6).round() / 1e6))
            .collect();
        TestPassport {
            id,
            org: maker(0),
            version: 1,
            granularity: if units > 1 { "batch" } else { "item" },
            units: (units > 1).then_some(units),
            category: category.as_str(),
            country: COUNTRIES[country],
            year,
            elements,
            recycled,
        }
    }

    fn whole(&self, k: &Known) -> Vec<(&'static str, i64)> {
        content(k.category)
            .iter()
            .map(|(e, g)| (*e, micrograms(*g, k.units)))
            .collect()
    }

    /// The next custody event.
    fn custody_event(&mut self) -> CloudEvent {
        let n = self.known.len() as u64;
        let k = &self.known[self.rng.below(n) as usize];
        let country = k.country;
        let by = recycler(country, self.rng.below(RECYCLERS_PER_COUNTRY));
        let year = self
            .live_year
            .unwrap_or_else(|| (k.year + 1 + self.rng.below(12) as i32).min(2025));
        let origin_of = |k: &Known| (k.category.as_str(), COUNTRIES[k.country], 1_000_000u64);
        match self.rng.below(20) {
            0..=6 => {
                let whole = self.whole(k);
                product_step(&mut self.custody, "collect", k.id, by, year, &whole)
            }
            7..=11 => {
                let whole = self.whole(k);
                product_step(&mut self.custody, "sort", k.id, by, year, &whole)
            }
            12..=14 => {
                let whole = self.whole(k);
                product_step(&mut self.custody, "handover", k.id, by, year, &whole)
            }
            15..=16 => {
                let whole = self.whole(k);
                let origin = [origin_of(k)];
                let out: Vec<(&str, i64)> = whole.iter().map(|(e, m)| (*e, m * 95 / 100)).collect();
                let loss: Vec<(&str, i64)> =
                    whole.iter().map(|(e, m)| (*e, m - m * 95 / 100)).collect();
                transformation(
                    &mut self.custody,
                    "dismantling",
                    by,
                    year,
                    &[Input {
                        passport_id: Some(k.id),
                        elements: &whole,
                        origin: &origin,
                    }],
                    &[(&out, &origin)],
                    &loss,
                )
            }
            17..=18 => {
                let other = &self.known[self.rng.below(n) as usize];
                let whole = self.whole(k);
                let origin = [
                    (k.category.as_str(), COUNTRIES[k.country], 700_000u64),
                    (
                        other.category.as_str(),
                        COUNTRIES[other.country],
                        300_000u64,
                    ),
                ];
                let out: Vec<(&str, i64)> = whole.iter().map(|(e, m)| (*e, m * 9 / 10)).collect();
                let loss: Vec<(&str, i64)> =
                    whole.iter().map(|(e, m)| (*e, m - m * 9 / 10)).collect();
                transformation(
                    &mut self.custody,
                    "recycling",
                    by,
                    year,
                    &[Input {
                        passport_id: None,
                        elements: &whole,
                        origin: &origin,
                    }],
                    &[(&out, &origin)],
                    &loss,
                )
            }
            _ => {
                let whole: Vec<(&str, i64)> =
                    self.whole(k).iter().map(|(e, m)| (*e, m / 2)).collect();
                let action = if self.rng.below(2) == 0 {
                    "export"
                } else {
                    "destroy"
                };
                let origin = [origin_of(k)];
                lot_step(&mut self.custody, action, by, year, &whole, &origin)
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn load(
    label: &str,
    projection: &dyn Projection,
    stream: &str,
    total: usize,
    mut next: impl FnMut() -> CloudEvent,
) -> f64 {
    let started = Instant::now();
    let mut done = 0;
    let mut generating = Duration::ZERO;
    while done < total {
        let size = BATCH.min(total - done);
        let t = Instant::now();
        let batch: Vec<CloudEvent> = (0..size).map(|_| next()).collect();
        generating += t.elapsed();
        projection.apply(stream, &batch).await.expect("apply");
        done += size;
        if done % 200_000 == 0 || done == total {
            let applying = started.elapsed() - generating;
            println!(
                "  {label}: {done} events, {:.0} events/s applied ({:.1} s applying, {:.1} s generating)",
                done as f64 / applying.as_secs_f64(),
                applying.as_secs_f64(),
                generating.as_secs_f64()
            );
        }
    }
    let applying = started.elapsed() - generating;
    done as f64 / applying.as_secs_f64()
}

/// A feed over pre-generated events, for the consumer's own catch-up rate.
struct Pregenerated {
    stream: String,
    first: i64,
    events: Vec<CloudEvent>,
}

#[async_trait::async_trait]
impl FeedSource for Pregenerated {
    fn stream(&self) -> &str {
        &self.stream
    }
    async fn read(&self, after: i64, limit: u32) -> Result<Vec<CloudEvent>, FeedError> {
        let from = usize::try_from(after + 1 - self.first).unwrap_or(0);
        let to = (from + limit as usize).min(self.events.len());
        Ok(self
            .events
            .get(from..to)
            .map(<[_]>::to_vec)
            .unwrap_or_default())
    }
}

async fn run(backend: Backend, passports: usize, custody: usize) {
    let db = TestDatabase::new(backend)
        .await
        .expect("a database for the bench");
    let options = PoolOptions::default();
    let conn = Db::connect(&db.url, &options).await.expect("connect");
    conn.migrate(&MIGRATIONS).await.expect("migrate");
    let store: Arc<dyn StockStore> = store::open(&conn);
    println!("\n== {backend}: {passports} passports, {custody} custody events, batches of {BATCH}");

    let mut world = World::new();
    let passport_projection = PassportProjection::new(store.clone());
    let custody_projection = CustodyProjection::new(store.clone());
    let p_rate = load(
        "passports",
        &passport_projection,
        "passport",
        passports,
        || world.passport_event(),
    )
    .await;
    let c_rate = load("custody", &custody_projection, "custody", custody, || {
        world.custody_event()
    })
    .await;

    // The consumer's own catch-up (batches of 500, as in serve), on top of the loaded data.
    let extra = 50_000;
    let first = store.cursor("custody").await.expect("cursor") + 1;
    let events: Vec<CloudEvent> = (0..extra).map(|_| world.custody_event()).collect();
    let feed = Arc::new(Pregenerated {
        stream: "custody".into(),
        first,
        events,
    });
    let consumer = Consumer::new(feed, Arc::new(CustodyProjection::new(store.clone())));
    let t = Instant::now();
    let applied = consumer.catch_up().await.expect("catch up");
    let catch_up = applied as f64 / t.elapsed().as_secs_f64();

    // Each figure is printed as soon as it is measured: a run stopped part way keeps them.
    let cells = store.cells().await.expect("cells").len();
    println!(
        "  loading: passports {p_rate:.0} events/s, custody {c_rate:.0} events/s (apply path, batches of {BATCH})"
    );
    println!("  consumer catch-up (batches of 500): {catch_up:.0} events/s over {applied} events");
    println!("  {cells} cell rows (cell x organisation)");
    if std::env::var("STOCK_BENCH_BREAKDOWN").is_ok() {
        breakdown(store.as_ref()).await;
        conn.close().await;
        return;
    }
    let service = StockService::new(store.clone(), 3);
    service
        .parameters()
        .await
        .expect("parameters are seeded on first use");
    let nd = filter_key(None, None, Some(Element::Nd));
    let flows: Vec<(&str, FlowRequest)> = vec![
        (
            "flows all, by year",
            flow_req(
                filter_key(None, None, None),
                None,
                Grain::TOTAL,
                true,
                BasisChoice::Observed,
                None,
            ),
        ),
        (
            "flows Nd by year x country",
            flow_req(
                nd,
                None,
                grain_of(true, false, false),
                true,
                BasisChoice::Observed,
                None,
            ),
        ),
        (
            "flows 2024 by country x category",
            flow_req(
                filter_key(None, None, None),
                None,
                grain_of(true, true, false),
                true,
                BasisChoice::Observed,
                Some((2024, 2024)),
            ),
        ),
        (
            "flows DE collected by year x element",
            flow_req(
                filter_key(Some(Country::parse("DE").expect("DE")), None, None),
                Some(reetrace_stock::domain::flow::Flow::Collected),
                grain_of(false, false, true),
                true,
                BasisChoice::Observed,
                None,
            ),
        ),
        (
            "flows Dy observed+modelled to 2050",
            flow_req(
                filter_key(None, None, Some(Element::Dy)),
                None,
                Grain::TOTAL,
                true,
                BasisChoice::Both,
                None,
            ),
        ),
        (
            "flows modelled by year x category",
            flow_req(
                filter_key(None, None, None),
                None,
                grain_of(false, true, false),
                true,
                BasisChoice::Modelled,
                None,
            ),
        ),
    ];
    let indicators: Vec<(&str, IndicatorRequest)> = vec![
        (
            "indicators all",
            IndicatorRequest {
                filter: filter_key(None, None, None),
                year_from: None,
                year_to: None,
                group: Grain::TOTAL,
            },
        ),
        (
            "indicators by element",
            IndicatorRequest {
                filter: filter_key(None, None, None),
                year_from: None,
                year_to: None,
                group: grain_of(false, false, true),
            },
        ),
        (
            "indicators FR Nd by category",
            IndicatorRequest {
                filter: filter_key(
                    Some(Country::parse("FR").expect("FR")),
                    None,
                    Some(Element::Nd),
                ),
                year_from: None,
                year_to: None,
                group: grain_of(false, true, false),
            },
        ),
    ];
    let rounds = 200;
    let mut report = Vec::new();
    let t = Instant::now();
    service.refresh(true).await.expect("warm-up");
    let cold = t.elapsed().as_secs_f64() * 1e3;
    let (protected, _) = service.groups_protected_and_reused();
    println!("  start-up warm-up: {cold:.0} ms, {protected} groups of tables protected");
    // A restart on the same data: the stored patterns are reused.
    let restarted = StockService::new(store.clone(), 3);
    let t = Instant::now();
    restarted
        .refresh(true)
        .await
        .expect("warm-up after a restart");
    let restart = t.elapsed().as_secs_f64() * 1e3;
    let (again, reused) = restarted.groups_protected_and_reused();
    println!(
        "  warm-up after a restart: {restart:.0} ms ({reused} groups took their stored patterns, {again} protected)"
    );
    // An authority's exact figures and the published statistics (no key) read the same
    // protected tables; both are timed.
    for (scope, who) in [(Scope::All, "regulator"), (Scope::Published, "published")] {
        for (label, req) in &flows {
            report.push((
                format!("{label} ({who})"),
                time(rounds, || service.flows(scope, req)).await,
            ));
        }
        for (label, req) in &indicators {
            report.push((
                format!("{label} ({who})"),
                time(rounds, || service.indicators(scope, req)).await,
            ));
        }
    }
    // A manufacturer's own figures (no cache: read from its rows on every request).
    let own = Scope::Own(Uuid::from_u128(0x1000_0000 + 7));
    report.push((
        "flows own (one maker) by year".into(),
        time(20, || service.flows(own, &flows[0].1)).await,
    ));
    println!("  | query | p50 ms | p99 ms | max ms |");
    for (label, times) in report {
        println!(
            "  | {label} | {:.2} | {:.2} | {:.2} |",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or(0.0)
        );
    }
    // Live ingestion: a batch of this year's custody events. Answers keep coming from the
    // cached tables while the touched ones are rebuilt in the background; the rebuild time is
    // how far answers lag the feed.
    world.live_year = Some(2025);
    let more: Vec<CloudEvent> = (0..BATCH).map(|_| world.custody_event()).collect();
    custody_projection
        .apply("custody", &more)
        .await
        .expect("apply");
    let t = Instant::now();
    service.flows(Scope::All, &flows[0].1).await.expect("flows");
    let after_batch = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "  live: first answer after a {BATCH}-event batch of this year's custody events: {after_batch:.1} ms"
    );
    while service.refreshing() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let more: Vec<CloudEvent> = (0..BATCH).map(|_| world.custody_event()).collect();
    custody_projection
        .apply("custody", &more)
        .await
        .expect("apply");
    let t = Instant::now();
    service.refresh(false).await.expect("refresh");
    let lag = t.elapsed().as_secs_f64() * 1e3;
    println!("  live: rebuilding the tables another such batch touched (answer lag): {lag:.0} ms");

    // Where a rebuild's time goes, for the largest table.
    let (flow, year, rows) = {
        let mut best = (reetrace_stock::domain::flow::Flow::Collected, 2025, 0);
        for (flow, year, _) in store.revisions().await.expect("revisions") {
            let n = store.table_rows(flow, year).await.expect("rows").len();
            if n > best.2 {
                best = (flow, year, n);
            }
        }
        best
    };
    let t = Instant::now();
    let table_rows = store.table_rows(flow, year).await.expect("rows");
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut table = reetrace_stock::domain::table::Table::build(table_rows);
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    reetrace_stock::domain::disclosure::protect(&mut table, 3);
    let protect_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "  largest table ({flow} {year}, {rows} rows, {} cells at all grains, {} withheld): read {read_ms:.1} ms, build {build_ms:.1} ms, protect {protect_ms:.1} ms",
        Grain::all().map(|g| table.at(g).count()).sum::<usize>(),
        table.suppressed()
    );

    // The LP audit of everything published (each table, and the linked flows of each year).
    let t = Instant::now();
    let audit = service.audit_disclosure().await.expect("audit");
    println!(
        "  LP audit of every published table: {} tables, {} cells, {} sensitive, {} withheld, {} exposed, {:.1} s",
        audit.tables,
        audit.cells,
        audit.sensitive,
        audit.withheld,
        audit.exposed.len(),
        t.elapsed().as_secs_f64()
    );

    conn.close().await;
}

/// Where the start-up warm-up goes: each group of tables read, built and protected as the
/// service does it, timed (`STOCK_BENCH_BREAKDOWN=1`; no queries then). With
/// `STOCK_BENCH_DUMP=DIR`, each group of linked flows is written to `DIR` instead ([`dump`]).
async fn breakdown(store: &dyn StockStore) {
    use reetrace_stock::domain::disclosure::{DisclosureRule, protect_with};
    use reetrace_stock::domain::linked::{group_of, protect_group};
    use reetrace_stock::domain::table::Table;
    let rule = DisclosureRule::new(3);
    let mut done: Vec<(reetrace_stock::domain::flow::Flow, i32)> = Vec::new();
    let mut revisions = store.revisions().await.expect("revisions");
    revisions.sort_by_key(|(f, y, _)| (*y, f.to_string()));
    let all = Instant::now();
    for (flow, year, _) in revisions {
        if done.contains(&(flow, year)) {
            continue;
        }
        let group: Vec<_> = group_of(flow).map_or_else(|| vec![flow], <[_]>::to_vec);
        let t = Instant::now();
        let mut rows = Vec::new();
        for member in &group {
            rows.push(store.table_rows(*member, year).await.expect("rows"));
            done.push((*member, year));
        }
        let read = t.elapsed().as_secs_f64();
        if let Ok(dir) = std::env::var("STOCK_BENCH_DUMP") {
            // Only dumped, for the disclosure bench to protect.
            if group.len() > 1 {
                dump(&dir, year, &group, &rows);
            }
            continue;
        }
        let t = Instant::now();
        let tables: Vec<Table> = rows.into_iter().map(Table::build).collect();
        let build = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for table in &tables {
            let mut alone = table.clone();
            protect_with(&mut alone, rule);
        }
        let alone = t.elapsed().as_secs_f64();
        let mut together = tables.clone();
        let t = Instant::now();
        if group.len() > 1 {
            protect_group(&mut together, &group, rule);
        }
        let grouped = t.elapsed().as_secs_f64();
        let stats = || {
            together
                .iter()
                .flat_map(|t| Grain::all().flat_map(move |g| t.at(g)).map(|(_, s)| s))
        };
        let cells = stats().count();
        let sensitive = stats().filter(|s| rule.is_sensitive(s)).count();
        let withheld: usize = together.iter().map(Table::suppressed).sum();
        let names: Vec<String> = group.iter().map(ToString::to_string).collect();
        println!(
            "  {year} {}: {cells} cells, {sensitive} sensitive, {withheld} withheld; read {read:.2} s, build {build:.2} s, protect each alone {alone:.2} s, protect as a group {grouped:.2} s",
            names.join("+")
        );
    }
    println!("  breakdown total {:.1} s", all.elapsed().as_secs_f64());
}

/// Writes a group's rows to `dir` as tab-separated lines (flow, country, category, element,
/// organisation, micrograms), one file per group and year, for the disclosure bench to protect
/// again on its own (`DISCLOSURE_BENCH_GROUP`).
fn dump(
    dir: &str,
    year: i32,
    group: &[reetrace_stock::domain::flow::Flow],
    rows: &[Vec<reetrace_stock::domain::table::Contribution>],
) {
    use std::fmt::Write as _;
    let names: Vec<String> = group.iter().map(ToString::to_string).collect();
    let mut text = String::new();
    for (flow, rows) in names.iter().zip(rows) {
        for r in rows {
            writeln!(
                text,
                "{flow}\t{}\t{}\t{}\t{}\t{}",
                r.country, r.category, r.element, r.org, r.value_ug
            )
            .expect("a string takes writes");
        }
    }
    let path = std::path::Path::new(dir).join(format!("{year}-{}.tsv", names.join("+")));
    std::fs::write(&path, text).expect("the dump is written");
}

fn flow_req(
    filter: reetrace_stock::domain::table::Key,
    flow: Option<reetrace_stock::domain::flow::Flow>,
    group: Grain,
    by_year: bool,
    basis: BasisChoice,
    years: Option<(i32, i32)>,
) -> FlowRequest {
    FlowRequest {
        filter,
        flow,
        year_from: years.map(|y| y.0),
        year_to: years.map(|y| y.1),
        group,
        by_year,
        basis,
    }
}

async fn time<F, Fut, T, E>(rounds: usize, mut call: F) -> Vec<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    call().await.expect("warm-up");
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(call().await.expect("query"));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times
}

fn main() {
    let number = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or(default)
    };
    let passports = number("STOCK_BENCH_PASSPORTS", 1_000_000);
    let custody = number("STOCK_BENCH_CUSTODY", 3_000_000);
    let backends = match std::env::var("STOCK_BENCH_BACKEND").as_deref() {
        Ok("postgres") => vec![Backend::Postgres],
        Ok("both") => vec![Backend::Sqlite, Backend::Postgres],
        _ => vec![Backend::Sqlite],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    for backend in backends {
        runtime.block_on(run(backend, passports, custody));
    }
}
