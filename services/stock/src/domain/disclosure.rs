//! Disclosure control: no single organisation's figure can be read out of regulator answers.
//!
//! **Primary suppression**: a cell (at any grain) built from fewer than `k` distinct
//! organisations is withheld.
//!
//! **Secondary suppression**: every grain of a [`Table`] can be asked for (any `group_by`,
//! single-value filters), so a withheld cell could be recovered by subtracting published cells
//! from a published subtotal — in one answer, or between two answers with different `group_by`.
//! The table is therefore protected as a whole. A *line* is a subtotal together with the cells
//! it adds up (the cells of one grain that differ only in one dimension); in every line:
//!
//! 1. the number of withheld entries (cells and subtotal) is never exactly one, so no entry is
//!    the difference of published ones;
//! 2. a primary cell whose subtotal is published is covered by other withheld cells of the line
//!    worth at least as much as itself, so that the subtotal minus the published cells bounds
//!    it no tighter than to within 100 % of its value.
//!
//! Partners are chosen deterministically (the smallest cell that is large enough, otherwise the
//! largest; the subtotal when no cell is left), and the rules are applied to a worklist of
//! lines, a line coming back whenever one of its entries is withheld, until nothing changes.
//! The pattern depends on the data only, never on the question asked, so two answers never
//! withhold different cells of the same table. This is the classic line heuristic of
//! statistical offices (as in tau-ARGUS "hypercube"-style protection), not an optimal linear
//! program; its guarantee is checked by an attacker in the tests that solves every line with a
//! single unknown, across all grains, until nothing more comes out.

use std::collections::{HashMap, VecDeque};

use super::table::{Grain, Table};

/// A subtotal and the cells it adds up (positions in the table).
struct Line {
    parent: usize,
    children: Vec<usize>,
}

/// Withholds every cell of `table` that would disclose fewer than `k` organisations, and enough
/// others that none can be recovered (see the module documentation).
pub fn protect(table: &mut Table, k: u32) {
    for stat in table.stats.iter_mut() {
        stat.primary = stat.contributors < k;
        stat.suppressed = stat.primary;
    }
    let lines = lines(table);
    let mut member_of: Vec<Vec<usize>> = vec![Vec::new(); table.stats.len()];
    for (l, line) in lines.iter().enumerate() {
        member_of[line.parent].push(l);
        for &c in &line.children {
            member_of[c].push(l);
        }
    }
    // A worklist of lines: a line is looked at again whenever one of its entries is withheld.
    let mut queued = vec![true; lines.len()];
    let mut queue: VecDeque<usize> = (0..lines.len()).collect();
    while let Some(l) = queue.pop_front() {
        queued[l] = false;
        for cell in protect_line(table, &lines[l]) {
            for &other in &member_of[cell] {
                if !queued[other] {
                    queued[other] = true;
                    queue.push_back(other);
                }
            }
        }
    }
}

/// Every line of the table: for each grain and each of its dimensions, the cells that differ
/// only in that dimension, with their subtotal.
fn lines(table: &Table) -> Vec<Line> {
    let mut out = Vec::new();
    for grain in Grain::all() {
        for dim in grain.dims() {
            let mut by_parent: HashMap<usize, usize> = HashMap::new();
            for i in table.range(grain) {
                let Some(parent) = table.position(&table.keys[i].without(dim)) else {
                    continue;
                };
                let l = *by_parent.entry(parent).or_insert_with(|| {
                    out.push(Line {
                        parent,
                        children: Vec::new(),
                    });
                    out.len() - 1
                });
                out[l].children.push(i);
            }
        }
    }
    out
}

/// Applies both rules to one line; returns the cells it withheld.
fn protect_line(table: &mut Table, line: &Line) -> Vec<usize> {
    let mut withheld = Vec::new();
    let stats = &mut table.stats;

    // Rule 2: cover each primary cell by withheld partners worth at least as much.
    for &x in &line.children {
        if !stats[x].primary {
            continue;
        }
        while !stats[line.parent].suppressed {
            let needed = stats[x].value_ug;
            let covered: i128 = line
                .children
                .iter()
                .filter(|&&c| c != x && stats[c].suppressed)
                .map(|&c| stats[c].value_ug)
                .sum();
            if covered >= needed && covered > 0 {
                break;
            }
            let partner = pick(stats, &line.children, needed - covered).unwrap_or(line.parent);
            stats[partner].suppressed = true;
            withheld.push(partner);
        }
    }

    // Rule 1: never exactly one withheld entry in a line.
    let count = line
        .children
        .iter()
        .filter(|&&c| stats[c].suppressed)
        .count()
        + usize::from(stats[line.parent].suppressed);
    if count == 1 {
        let partner = line
            .children
            .iter()
            .filter(|&&c| !stats[c].suppressed)
            .min_by_key(|&&c| stats[c].value_ug)
            .copied()
            .unwrap_or(line.parent);
        stats[partner].suppressed = true;
        withheld.push(partner);
    }
    withheld
}

/// The published cell to withhold next: the smallest one worth at least `deficit`, otherwise
/// the largest one.
fn pick(stats: &[super::table::Stat], children: &[usize], deficit: i128) -> Option<usize> {
    let open = || children.iter().copied().filter(|&c| !stats[c].suppressed);
    open()
        .filter(|&c| stats[c].value_ug >= deficit)
        .min_by_key(|&c| stats[c].value_ug)
        .or_else(|| open().max_by_key(|&c| stats[c].value_ug))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::table::{Contribution, Dim, Key};
    use reetrace_core::domain::{Category, Country, Element};
    use uuid::Uuid;

    fn row(
        country: &str,
        category: Category,
        element: Element,
        org: u128,
        value: i128,
    ) -> Contribution {
        Contribution {
            country: Country::parse(country).unwrap(),
            category,
            element,
            org: Uuid::from_u128(org),
            value_ug: value,
        }
    }

    /// Everything an attacker can work out from the published cells: repeatedly, any line
    /// (subtotal and its cells, at any grain, along any dimension) with exactly one unknown
    /// gives it away.
    fn attack(table: &Table) -> HashMap<Key, i128> {
        let mut known: HashMap<Key, i128> = Grain::all()
            .flat_map(|g| table.at(g))
            .filter(|(_, s)| !s.suppressed)
            .map(|(k, s)| (*k, s.value_ug))
            .collect();
        loop {
            let mut learned = false;
            for grain in Grain::all() {
                for dim in grain.dims() {
                    let mut lines: HashMap<Key, Vec<Key>> = HashMap::new();
                    for (key, _) in table.at(grain) {
                        lines.entry(key.without(dim)).or_default().push(*key);
                    }
                    for (parent, children) in lines {
                        let unknown: Vec<&Key> =
                            children.iter().filter(|c| !known.contains_key(c)).collect();
                        match (known.get(&parent), unknown.as_slice()) {
                            (Some(total), [only]) => {
                                let rest: i128 = children
                                    .iter()
                                    .filter(|c| c != only)
                                    .map(|c| known[c])
                                    .sum();
                                known.insert(**only, total - rest);
                                learned = true;
                            }
                            (None, []) => {
                                let sum = children.iter().map(|c| known[c]).sum();
                                known.insert(parent, sum);
                                learned = true;
                            }
                            _ => {}
                        }
                    }
                }
            }
            if !learned {
                return known;
            }
        }
    }

    /// A market where one manufacturer (org 1) is alone in IT and alone in smco magnets.
    fn market() -> Vec<Contribution> {
        use Category::*;
        use Element::*;
        let mut rows = vec![
            row("IT", EvTractionMotor, Nd, 1, 5_000),
            row("IT", EvTractionMotor, Dy, 1, 400),
            row("FR", SmcoMagnet, Sm, 1, 900),
        ];
        for (org, country) in [
            (2, "FR"),
            (3, "FR"),
            (4, "DE"),
            (5, "DE"),
            (6, "FR"),
            (7, "DE"),
        ] {
            rows.push(row(country, EvTractionMotor, Nd, org, 1_000 * org as i128));
            rows.push(row(country, EvTractionMotor, Dy, org, 100 * org as i128));
            rows.push(row(country, HardDiskDrive, Nd, org, 30 * org as i128));
        }
        rows
    }

    #[test]
    fn cells_of_fewer_than_k_organisations_are_withheld_and_cannot_be_recovered() {
        let mut table = Table::build(market());
        protect(&mut table, 3);
        let it = Country::parse("IT").unwrap();
        let sensitive: Vec<Key> = Grain::all()
            .flat_map(|g| table.at(g))
            .filter(|(_, s)| s.contributors < 3)
            .map(|(k, _)| *k)
            .collect();
        assert!(sensitive.contains(&Key {
            country: Some(it),
            ..Key::default()
        }));
        let known = attack(&table);
        for key in &sensitive {
            assert!(table.get(key).unwrap().suppressed, "{key:?}");
            assert!(!known.contains_key(key), "{key:?} recovered");
        }
        // The grand total stays published: protection withholds what it must, not everything.
        assert!(!table.get(&Key::default()).unwrap().suppressed);
        assert!(table.suppressed() < Grain::all().map(|g| table.at(g).count()).sum::<usize>());
    }

    #[test]
    fn a_primary_cell_is_covered_by_partners_worth_at_least_as_much() {
        let mut table = Table::build(market());
        protect(&mut table, 3);
        // Each line with a published subtotal: withheld partners of a primary cell add up to
        // at least its value, so "subtotal minus published" overstates it at least twofold.
        for grain in Grain::all() {
            for dim in grain.dims() {
                let mut lines: HashMap<Key, Vec<Key>> = HashMap::new();
                for (key, _) in table.at(grain) {
                    lines.entry(key.without(dim)).or_default().push(*key);
                }
                for (parent, children) in lines {
                    if table.get(&parent).unwrap().suppressed {
                        continue;
                    }
                    let withheld: i128 = children
                        .iter()
                        .filter(|c| table.get(c).unwrap().suppressed)
                        .map(|c| table.get(c).unwrap().value_ug)
                        .sum();
                    for c in &children {
                        let s = table.get(c).unwrap();
                        if s.primary {
                            assert!(withheld - s.value_ug >= s.value_ug, "{c:?} in {parent:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_lone_cell_takes_its_subtotal_with_it() {
        // One organisation alone in a country with a single category: the country subtotal
        // equals the cell, so it must go too, and so must a partner country.
        let mut rows = vec![row("IT", Category::Smartphone, Element::Nd, 1, 50)];
        for org in 2..=7 {
            let country = if org % 2 == 0 { "FR" } else { "DE" };
            rows.push(row(
                country,
                Category::Smartphone,
                Element::Nd,
                org,
                40 + org as i128,
            ));
        }
        let mut table = Table::build(rows);
        protect(&mut table, 3);
        let it = Key {
            country: Some(Country::parse("IT").unwrap()),
            ..Key::default()
        };
        assert!(table.get(&it).unwrap().suppressed);
        let known = attack(&table);
        assert!(!known.contains_key(&it));
        let withheld_countries = table
            .at(Grain::of(&[Dim::Country]))
            .filter(|(_, s)| s.suppressed)
            .count();
        assert!(withheld_countries >= 2);
    }

    #[test]
    fn with_enough_contributors_nothing_is_withheld() {
        let rows: Vec<Contribution> = (1..=4)
            .flat_map(|org| {
                [
                    row("FR", Category::Smartphone, Element::Nd, org, 10),
                    row("DE", Category::Smartphone, Element::Nd, org, 10),
                ]
            })
            .collect();
        let mut table = Table::build(rows);
        protect(&mut table, 3);
        assert_eq!(table.suppressed(), 0);
        protect(&mut table, 5);
        assert!(table.get(&Key::default()).unwrap().suppressed);
    }
}
