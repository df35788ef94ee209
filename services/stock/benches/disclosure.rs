//! Disclosure control at regulator scale: a table of 1,000,000 passports (120 makers over 30
//! countries and 18 categories, each passport's rare earths by element) protected, then audited
//! by the linear programme, with the time of each step.
//!
//! ```text
//! cargo bench -p reetrace-stock --bench disclosure
//! DISCLOSURE_BENCH_PASSPORTS=100000 cargo bench -p reetrace-stock --bench disclosure
//! DISCLOSURE_BENCH_GROUP=2012-recycling_input+recycled+losses.tsv cargo bench -p reetrace-stock --bench disclosure
//! ```
//!
//! `DISCLOSURE_BENCH_GROUP` protects and audits one group of linked flows of one year as the
//! stock bench dumped it (`STOCK_BENCH_BREAKDOWN=1 STOCK_BENCH_DUMP=DIR`), and nothing else.
//!
//! All passports fall in one table (one flow, one year): the most cells a table can fill, so
//! the largest programme protection has to solve. Then the two groups of flows protected
//! together ([`reetrace_stock::domain::linked`]), at the same size: placed on the market with
//! the recycled content a quarter of the makers declare (5 %), and recycling input, recycled
//! and losses of 90 recyclers (each recovers 80 to 95 %; losses also hold dismantling losses).
#![allow(clippy::print_stdout, reason = "a bench binary reports on stdout")]
#![allow(clippy::expect_used, reason = "a bench binary stops on a broken table")]

use std::collections::HashMap;
use std::time::Instant;

use reetrace_core::domain::{Category, Country, Element};
use reetrace_stock::domain::disclosure::{DisclosureRule, protect_with};
use reetrace_stock::domain::exposure::{audit, exposed};
use reetrace_stock::domain::flow::Flow;
use reetrace_stock::domain::linked::{exposed_in_group, group_of, protect_group};
use reetrace_stock::domain::table::{Contribution, Grain, Stat, Table};
use uuid::Uuid;

const COUNTRIES: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "NO", "CH", "GB",
];
const MAKERS: u64 = 120;

/// Elements of one unit (micrograms), per category: a few per category, as in real products.
fn content(category: Category) -> &'static [(Element, i128)] {
    use Element::*;
    match category {
        Category::NdfebMagnet | Category::EvTractionMotor | Category::EBikeMotor => &[
            (Nd, 200_000_000),
            (Pr, 50_000_000),
            (Dy, 40_000_000),
            (Tb, 8_000_000),
        ],
        Category::SmcoMagnet => &[(Sm, 250_000_000)],
        Category::WindTurbineGenerator => &[(Nd, 130_000_000_000), (Dy, 26_000_000_000)],
        Category::NimhBattery => &[(La, 1_000_000_000), (Ce, 600_000_000), (Nd, 200_000_000)],
        Category::FluorescentLamp => &[(Y, 1_000_000), (Eu, 50_000), (Tb, 50_000)],
        Category::Autocatalyst | Category::FccCatalyst | Category::PolishingPowder => {
            &[(Ce, 60_000_000), (La, 5_000_000)]
        }
        Category::OpticalFibre => &[(Er, 10_000)],
        _ => &[(Nd, 2_000_000), (Pr, 500_000), (Dy, 300_000)],
    }
}

/// A small deterministic generator (xorshift64*): the same world on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Cell x organisation rows of `passports` passports: each maker sells in its home country
/// and two others, in three categories of its own; a passport is 1 to 100 units.
fn rows(passports: u64) -> Vec<Contribution> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sums: HashMap<(usize, usize, Element, u64), i128> = HashMap::new();
    for _ in 0..passports {
        let maker = rng.below(MAKERS);
        let country = (maker as usize + 7 * rng.below(3) as usize) % COUNTRIES.len();
        let category = (maker as usize * 5 + rng.below(3) as usize) % Category::ALL.len();
        let units = 1 + i128::from(rng.below(100));
        for &(element, ug) in content(Category::ALL[category]) {
            *sums.entry((country, category, element, maker)).or_default() += ug * units;
        }
    }
    sums.into_iter()
        .map(
            |((country, category, element, maker), value_ug)| Contribution {
                country: Country::parse(COUNTRIES[country]).expect("country"),
                category: Category::ALL[category],
                element: element.into(),
                org: Uuid::from_u128(0x1000_0000 + u128::from(maker)),
                value_ug,
            },
        )
        .collect()
}

/// A group's rows as the stock bench dumps them (`STOCK_BENCH_DUMP`): the group's first flow and
/// each flow's rows in the group's order.
fn read_group(path: &str) -> (Flow, Vec<Vec<Contribution>>) {
    let text = std::fs::read_to_string(path).expect("the group's file");
    let mut by_flow: Vec<(Flow, Vec<Contribution>)> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let flow: Flow = f[0].parse().expect("a flow");
        let row = Contribution {
            country: Country::parse(f[1]).expect("a country"),
            category: f[2].parse().expect("a category"),
            element: f[3].parse().expect("an element"),
            org: f[4].parse().expect("an organisation"),
            value_ug: f[5].parse().expect("micrograms"),
        };
        match by_flow.iter_mut().find(|(g, _)| *g == flow) {
            Some((_, rows)) => rows.push(row),
            None => by_flow.push((flow, vec![row])),
        }
    }
    let group = group_of(by_flow[0].0).expect("a group of linked flows");
    let rows = group
        .iter()
        .map(|g| {
            by_flow
                .iter()
                .find(|(f, _)| f == g)
                .map_or_else(Vec::new, |(_, rows)| rows.clone())
        })
        .collect();
    (group[0], rows)
}

fn main() {
    let rule = DisclosureRule::new(3);
    if let Ok(path) = std::env::var("DISCLOSURE_BENCH_GROUP") {
        let (flow, rows) = read_group(&path);
        linked(flow, rows, rule);
        return;
    }
    let passports: u64 = std::env::var("DISCLOSURE_BENCH_PASSPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let rows = rows(passports);
    let generate_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut table = Table::build(rows.iter().copied());
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    protect_with(&mut table, rule);
    let protect_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let bounds = audit(&table, rule);
    let audit_ms = t.elapsed().as_secs_f64() * 1e3;
    let left = exposed(&table, rule);
    let cells: Vec<Stat> = Grain::all()
        .flat_map(|g| table.at(g))
        .map(|(_, s)| *s)
        .collect();
    let primary = cells.iter().filter(|s| s.primary).count();
    let withheld = cells.iter().filter(|s| s.suppressed).count();
    println!(
        "disclosure control, {passports} passports, {} cell x organisation rows",
        rows.len()
    );
    println!("  generate {generate_ms:.0} ms, build {build_ms:.0} ms");
    println!(
        "  {} cells at all grains: {primary} sensitive, {withheld} withheld",
        cells.len()
    );
    println!("  protect (lines, then LP audit and repair): {protect_ms:.0} ms");
    println!(
        "  one more LP audit ({} sensitive cells bounded, 2 programmes each): {audit_ms:.0} ms",
        bounds.len()
    );
    println!("  exposed after protection: {}", left.len());
    assert!(left.is_empty(), "a sensitive cell is exposed");

    let placed: Vec<Contribution> = rows.clone();
    let recycled_content: Vec<Contribution> = rows
        .iter()
        .filter(|r| r.org.as_u128() % 4 == 0)
        .map(|r| Contribution {
            value_ug: r.value_ug / 20,
            ..*r
        })
        .collect();
    linked(
        Flow::PlacedOnMarket,
        [placed, recycled_content].into(),
        rule,
    );
    linked(Flow::RecyclingInput, recycling(&rows).into(), rule);
}

/// The recycling of what `placed` put on the market, by 90 recyclers (three per country):
/// input, recycled and losses rows.
fn recycling(placed: &[Contribution]) -> [Vec<Contribution>; 3] {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut out: [Vec<Contribution>; 3] = Default::default();
    for row in placed {
        let country = COUNTRIES
            .iter()
            .position(|c| Country::parse(c).ok() == Some(row.country))
            .expect("country");
        let org = Uuid::from_u128(0x2000_0000 + country as u128 * 16 + u128::from(rng.below(3)));
        let input = row.value_ug / 10;
        let recovered = input * i128::from(80 + rng.below(16)) / 100;
        let dismantling = input * i128::from(rng.below(5)) / 100;
        for (i, value_ug) in [input, recovered, input - recovered + dismantling]
            .into_iter()
            .enumerate()
        {
            out[i].push(Contribution {
                org,
                value_ug,
                ..*row
            });
        }
    }
    out
}

/// Protects and audits one group of linked flows, `tables` in the group's order.
fn linked(flow: Flow, rows: Vec<Vec<Contribution>>, rule: DisclosureRule) {
    let group = group_of(flow).expect("a group");
    let mut tables: Vec<Table> = rows.into_iter().map(Table::build).collect();
    let t = Instant::now();
    protect_group(&mut tables, group, rule);
    let protect_ms = t.elapsed().as_secs_f64() * 1e3;
    let view: Vec<&Table> = tables.iter().collect();
    let t = Instant::now();
    let left = exposed_in_group(&view, group, rule, None);
    let audit_ms = t.elapsed().as_secs_f64() * 1e3;
    let names: Vec<String> = group.iter().map(ToString::to_string).collect();
    println!(
        "linked flows {}: {} cells, {} withheld; protect together {protect_ms:.0} ms, audit together {audit_ms:.0} ms, exposed {}",
        names.join(" + "),
        tables
            .iter()
            .map(|t| Grain::all().map(|g| t.at(g).count()).sum::<usize>())
            .sum::<usize>(),
        tables.iter().map(Table::suppressed).sum::<usize>(),
        left.len()
    );
    assert!(left.is_empty(), "a sensitive cell is exposed across flows");
}
