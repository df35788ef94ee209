//! Flows protected together: the recycled cell recovered from recycling input and losses, and
//! generated recycling and placement markets audited across their flows.
#![allow(clippy::unwrap_used)]

use reetrace_core::domain::{Category, Country, Element};

use super::*;
use crate::domain::disclosure::protect_with;
use crate::domain::table::Contribution;
use crate::domain::table::tests::row;

const RULE: DisclosureRule = DisclosureRule::new(3);
const RECYCLING: [Flow; 3] = [Flow::RecyclingInput, Flow::Recycled, Flow::Losses];

/// One recycling run: `input` micrograms in, `recovered` out, the rest lost.
fn run(
    rows: &mut [Vec<Contribution>; 3],
    (country, category, element): (&str, Category, Element),
    org: u128,
    input: i128,
    recovered: i128,
) {
    rows[0].push(row(country, category, element, org, input));
    if recovered > 0 {
        rows[1].push(row(country, category, element, org, recovered));
    }
    if input > recovered {
        rows[2].push(row(country, category, element, org, input - recovered));
    }
}

fn tables(rows: [Vec<Contribution>; 3]) -> Vec<Table> {
    rows.into_iter().map(Table::build).collect()
}

/// Recyclers 1 to 4 recycle hard drives, smartphones and laptops in France and Germany;
/// in French hard drives' Dy, recyclers 2 and 3 recover nothing, so recycler 1 alone makes
/// the recycled cell, while its input and losses cells have three recyclers each.
fn recycling_market() -> [Vec<Contribution>; 3] {
    use Category::*;
    use Element::*;
    let mut rows: [Vec<Contribution>; 3] = Default::default();
    for (c, country) in ["FR", "DE"].into_iter().enumerate() {
        for (i, category) in [HardDiskDrive, Smartphone, Laptop].into_iter().enumerate() {
            for (j, element) in [Nd, Dy].into_iter().enumerate() {
                if (country, category, element) == ("FR", HardDiskDrive, Dy) {
                    continue;
                }
                for org in 1..=4 {
                    let input =
                        1_000 * (org as i128) + 100 * (i as i128) + 10 * j as i128 + c as i128;
                    run(
                        &mut rows,
                        (country, category, element),
                        org,
                        input,
                        input * 9 / 10,
                    );
                }
            }
        }
    }
    let cell = ("FR", HardDiskDrive, Dy);
    run(&mut rows, cell, 1, 700, 630);
    run(&mut rows, cell, 2, 500, 0);
    run(&mut rows, cell, 3, 450, 0);
    rows
}

fn fr_hdd_dy() -> Key {
    Key::finest(
        Country::parse("FR").unwrap(),
        Category::HardDiskDrive,
        Element::Dy,
    )
}

/// The finding: each table protected on its own withholds the recycled cell of a single
/// recycler, yet recycling input minus losses, both published, gives it exactly.
#[test]
fn a_recycled_cell_recovered_from_input_and_losses_is_closed() {
    let mut alone = tables(recycling_market());
    for table in &mut alone {
        protect_with(table, RULE);
    }
    let recycled = alone[1].position(&fr_hdd_dy()).unwrap();
    assert!(alone[1].stats[recycled].suppressed);
    for t in [0, 2] {
        assert!(!alone[t].get(&fr_hdd_dy()).unwrap().suppressed, "table {t}");
    }
    let found = exposed_in_group(&alone.iter().collect::<Vec<_>>(), &RECYCLING, RULE, None);
    let (_, _, e) = found
        .iter()
        .find(|(_, (t, at), _)| (*t, *at) == (1, recycled))
        .unwrap();
    assert_eq!(e.value_ug, 630);
    // Input 1,650 minus losses 1,020: the least value the published cells allow is the value.
    assert!((e.lower_ug - 630.0).abs() < 1e-6, "{e:?}");

    let mut together = tables(recycling_market());
    protect_group(&mut together, &RECYCLING, RULE);
    assert!(
        exposed_in_group(&together.iter().collect::<Vec<_>>(), &RECYCLING, RULE, None).is_empty()
    );
    assert!(together[1].get(&fr_hdd_dy()).unwrap().suppressed);
    // Each table still passes its own audit, and keeps most of its cells published.
    for table in &together {
        assert!(super::super::exposure::exposed(table, RULE).is_empty());
        assert!(table.suppressed() * 2 < table.stats.len());
    }
}

/// A small deterministic generator (xorshift).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Generated recycling: five recyclers, a few cells with one or two of them, some runs that
/// recover nothing and one recycler far larger than the others; dismantlers add their losses.
fn generated_recycling(seed: u64) -> [Vec<Contribution>; 3] {
    let mut dice = Dice(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let countries = ["FR", "DE", "IT"];
    let categories = &Category::ALL[..4];
    let elements = [Element::Nd, Element::Pr, Element::Dy];
    let mut rows: [Vec<Contribution>; 3] = Default::default();
    for _ in 0..90 {
        let cell = (
            countries[dice.below(3) as usize],
            categories[dice.below(4) as usize],
            elements[dice.below(3) as usize],
        );
        let org = 1 + u128::from(dice.below(5));
        let input = if org == 1 { 20_000 } else { 100 } + i128::from(dice.below(5_000));
        let recovered = match dice.below(4) {
            0 => 0,
            _ => input * i128::from(50 + dice.below(50)) / 100,
        };
        run(&mut rows, cell, org, input, recovered);
    }
    for _ in 0..15 {
        let org = 20 + u128::from(dice.below(4));
        rows[2].push(row(
            countries[dice.below(3) as usize],
            categories[dice.below(4) as usize],
            elements[dice.below(3) as usize],
            org,
            1 + i128::from(dice.below(300)),
        ));
    }
    rows
}

/// Generated placement: recycled content is a share of what each maker placed.
fn generated_placement(seed: u64) -> [Vec<Contribution>; 2] {
    let mut dice = Dice(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    let mut rows: [Vec<Contribution>; 2] = Default::default();
    for _ in 0..80 {
        let country = ["FR", "DE"][dice.below(2) as usize];
        let category = Category::ALL[dice.below(5) as usize];
        let element = [Element::Nd, Element::Dy][dice.below(2) as usize];
        let org = 1 + u128::from(dice.below(6));
        let placed = 100 + i128::from(dice.below(10_000));
        rows[0].push(row(country, category, element, org, placed));
        let share = i128::from(dice.below(3)) * 45;
        if share > 0 {
            rows[1].push(row(country, category, element, org, placed * share / 100));
        }
    }
    rows
}

#[test]
fn generated_linked_flows_pass_the_joint_audit() {
    let placement = [Flow::PlacedOnMarket, Flow::RecycledContent];
    let mut exposed_alone = 0;
    for seed in 0..12 {
        let recycling: Vec<Vec<Contribution>> = generated_recycling(seed).into();
        let placed: Vec<Vec<Contribution>> = generated_placement(seed).into();
        for (group, rows) in [(&RECYCLING[..], recycling), (&placement[..], placed)] {
            let build = || -> Vec<Table> { rows.iter().cloned().map(Table::build).collect() };
            let mut alone = build();
            for table in &mut alone {
                protect_with(table, RULE);
            }
            exposed_alone +=
                exposed_in_group(&alone.iter().collect::<Vec<_>>(), group, RULE, None).len();
            let mut together = build();
            protect_group(&mut together, group, RULE);
            let left = exposed_in_group(&together.iter().collect::<Vec<_>>(), group, RULE, None);
            assert!(left.is_empty(), "{group:?} seed {seed}: {left:?}");
            for table in &together {
                assert!(super::super::exposure::exposed(table, RULE).is_empty());
            }
            if group == RECYCLING {
                // A cell withheld in one recycling flow is withheld in the others.
                for table in &together {
                    for (key, stat) in table.keys.iter().zip(&table.stats) {
                        for other in &together {
                            let same = other.get(key).is_none_or(|s| s.suppressed);
                            assert!(!stat.suppressed || same, "seed {seed}: {key:?}");
                        }
                    }
                }
            }
            // The pattern is a function of the data.
            let mut again = build();
            protect_group(&mut again, group, RULE);
            assert_eq!(again, together, "{group:?} seed {seed}");
        }
    }
    // The generator draws markets where tables protected one by one leave a cell exposed.
    assert!(exposed_alone > 0);
}

/// The audit of everything published runs its audits on several threads; what it finds is
/// every table's own findings in table order, then each group's, year by year, as one thread
/// would list them.
#[test]
fn the_audit_of_everything_published_lists_every_finding_in_order() {
    let mut tables: BTreeMap<(Flow, i32), Arc<Table>> = BTreeMap::new();
    for (year, seed) in [(2023, 1), (2024, 2), (2025, 3)] {
        // Protected one table at a time: the groups' joint audits find cells to report.
        let recycling: Vec<Vec<Contribution>> = generated_recycling(seed).into();
        for (flow, rows) in RECYCLING.into_iter().zip(recycling) {
            let mut table = Table::build(rows);
            protect_with(&mut table, RULE);
            tables.insert((flow, year), Arc::new(table));
        }
        // Not protected at all: the table's own audit finds its published sensitive cells.
        let placed: Vec<Vec<Contribution>> = generated_placement(seed).into();
        let table = Table::build(placed[0].clone());
        tables.insert((Flow::PlacedOnMarket, year), Arc::new(table));
    }
    let mut expected: Vec<(Flow, i32, Key)> = Vec::new();
    for ((flow, year), table) in &tables {
        for e in super::super::exposure::exposed(table, RULE) {
            expected.push((*flow, *year, table.keys[e.cell]));
        }
    }
    let alone = expected.len();
    let empty = Table::default();
    for group in GROUPS {
        for year in [2023, 2024, 2025] {
            let members: Vec<&Table> = group
                .iter()
                .map(|f| tables.get(&(*f, year)).map_or(&empty, |t| t.as_ref()))
                .collect();
            for (_, (t, at), _) in exposed_in_group(&members, group, RULE, None) {
                expected.push((group[t], year, members[t].keys[at]));
            }
        }
    }
    assert!(
        alone > 0 && expected.len() > alone,
        "{alone} of {}",
        expected.len()
    );
    let audit = audit_published(&tables, RULE);
    assert_eq!(audit.exposed, expected);
    assert_eq!(audit.tables, 12);
    let cells: usize = tables.values().map(|t| t.stats.len()).sum();
    assert_eq!(audit.cells, cells);
}

/// The joint programme's change of variables (the inequalities as bounds of slacks) gives the
/// bounds of the programme with the inequalities as rows: the same cells exposed, with the same
/// optimum on each side that exposes them, on generated markets protected one table at a time.
#[test]
fn inequalities_as_bounds_of_slacks_give_the_bounds_of_inequalities_as_rows() {
    use super::super::exposure::slack_unchanged;
    let placement = [Flow::PlacedOnMarket, Flow::RecycledContent];
    let mut compared = 0;
    for seed in 0..12 {
        let recycling: Vec<Vec<Contribution>> = generated_recycling(seed).into();
        let placed: Vec<Vec<Contribution>> = generated_placement(seed).into();
        for (group, rows) in [(&RECYCLING[..], recycling), (&placement[..], placed)] {
            let mut alone: Vec<Table> = rows.iter().cloned().map(Table::build).collect();
            for table in &mut alone {
                protect_with(table, RULE);
            }
            let view: Vec<&Table> = alone.iter().collect();
            let changed = exposed_in_group(&view, group, RULE, None);
            let rows_only = slack_unchanged(|| exposed_in_group(&view, group, RULE, None));
            assert_eq!(changed.len(), rows_only.len(), "{group:?} seed {seed}");
            for ((p, _, a), (q, _, b)) in changed.iter().zip(&rows_only) {
                assert_eq!(p, q, "{group:?} seed {seed}");
                // A side that decides the exposure is an optimum in both; the other may be any
                // point leaving the margin (less the microgram of round-off the audit forgives
                // at these sizes).
                let close = |x: f64, y: f64| (x - y).abs() <= 1e-6 * x.abs().max(1.0);
                let (value, margin) = (a.value_ug as f64, a.required_ug as f64 - 1.0);
                if value - a.lower_ug < margin || value - b.lower_ug < margin {
                    assert!(close(a.lower_ug, b.lower_ug), "{a:?} {b:?}");
                }
                if a.upper_ug - value < margin || b.upper_ug - value < margin {
                    assert!(close(a.upper_ug, b.upper_ug), "{a:?} {b:?}");
                }
                compared += 1;
            }
        }
    }
    // The generator exposes cells in most markets: 87 compared at these seeds.
    assert!(compared > 50, "{compared}");
}
