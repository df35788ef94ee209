//! Disclosure control at regulator scale: a table of 1,000,000 passports (120 makers over 30
//! countries and 18 categories, each passport's rare earths by element) protected, then audited
//! by the linear programme, with the time of each step.
//!
//! ```text
//! cargo bench -p reetrace-stock --bench disclosure
//! DISCLOSURE_BENCH_PASSPORTS=100000 cargo bench -p reetrace-stock --bench disclosure
//! ```
//!
//! All passports fall in one table (one flow, one year): the most cells a table can fill, so
//! the largest programme protection has to solve.
#![allow(clippy::print_stdout, reason = "a bench binary reports on stdout")]
#![allow(clippy::expect_used, reason = "a bench binary stops on a broken table")]

use std::collections::HashMap;
use std::time::Instant;

use reetrace_core::domain::{Category, Country, Element};
use reetrace_stock::domain::disclosure::{DisclosureRule, protect_with};
use reetrace_stock::domain::exposure::{audit, exposed};
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
                element,
                org: Uuid::from_u128(0x1000_0000 + u128::from(maker)),
                value_ug,
            },
        )
        .collect()
}

fn main() {
    let passports: u64 = std::env::var("DISCLOSURE_BENCH_PASSPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rule = DisclosureRule::new(3);
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
}
