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
//! largest; the subtotal when no cell is left), and the rules are applied until nothing changes.
//! The pattern depends on the data only, never on the question asked, so two answers never
//! withhold different cells of the same table. This is the classic line heuristic of
//! statistical offices (as in tau-ARGUS "hypercube"-style protection), not an optimal linear
//! program; its guarantee is checked by an attacker in the tests that solves every line with a
//! single unknown, across all grains, until nothing more comes out.

use super::table::{Dim, Grain, Key, Table};

/// Withholds every cell of `table` that would disclose fewer than `k` organisations, and enough
/// others that none can be recovered (see the module documentation).
pub fn protect(table: &mut Table, k: u32) {
    for cells in table.cells.iter_mut() {
        for stat in cells.values_mut() {
            let primary = stat.contributors < k;
            stat.primary = primary;
            stat.suppressed = primary;
        }
    }
    loop {
        let mut changed = false;
        for grain in Grain::all() {
            for dim in grain.dims() {
                changed |= protect_lines(table, grain, dim);
            }
        }
        if !changed {
            return;
        }
    }
}

/// Applies both rules to the lines of `grain` along `dim`; returns whether anything changed.
fn protect_lines(table: &mut Table, grain: Grain, dim: Dim) -> bool {
    let parent_grain = grain.without(dim);
    let mut lines: std::collections::BTreeMap<Key, Vec<Key>> = Default::default();
    for key in table.cells[grain_index(grain)].keys() {
        lines.entry(key.without(dim)).or_default().push(*key);
    }
    let mut changed = false;
    for (parent, children) in lines {
        changed |= protect_line(table, parent_grain, grain, &parent, &children);
    }
    changed
}

fn grain_index(grain: Grain) -> usize {
    Grain::all().position(|g| g == grain).unwrap_or(0)
}

fn protect_line(
    table: &mut Table,
    parent_grain: Grain,
    grain: Grain,
    parent: &Key,
    children: &[Key],
) -> bool {
    let (pg, cg) = (grain_index(parent_grain), grain_index(grain));
    let mut changed = false;
    let parent_suppressed = |t: &Table| t.cells[pg].get(parent).is_some_and(|s| s.suppressed);
    let stat = |t: &Table, key: &Key| t.cells[cg][key];

    // Rule 2: cover each primary cell by withheld partners worth at least as much.
    for x in children {
        if !stat(table, x).primary {
            continue;
        }
        loop {
            if parent_suppressed(table) {
                break;
            }
            let needed = stat(table, x).value_ug;
            let covered: i128 = children
                .iter()
                .filter(|c| *c != x && stat(table, c).suppressed)
                .map(|c| stat(table, c).value_ug)
                .sum();
            if covered >= needed && covered > 0 {
                break;
            }
            let deficit = needed - covered;
            match pick(table, cg, children, deficit) {
                Some(partner) => suppress(table, cg, &partner),
                None => suppress(table, pg, parent),
            }
            changed = true;
        }
    }

    // Rule 1: never exactly one withheld entry in a line.
    let withheld = children
        .iter()
        .filter(|c| stat(table, c).suppressed)
        .count()
        + usize::from(parent_suppressed(table));
    if withheld == 1 {
        let smallest = children
            .iter()
            .filter(|c| !stat(table, c).suppressed)
            .min_by_key(|c| stat(table, c).value_ug)
            .copied();
        match smallest {
            Some(partner) => suppress(table, cg, &partner),
            None => suppress(table, pg, parent),
        }
        changed = true;
    }
    changed
}

/// The published cell to withhold next: the smallest one worth at least `deficit`, otherwise
/// the largest one.
fn pick(table: &Table, grain: usize, children: &[Key], deficit: i128) -> Option<Key> {
    let open: Vec<(&Key, i128)> = children
        .iter()
        .map(|c| (c, table.cells[grain][c]))
        .filter(|(_, s)| !s.suppressed)
        .map(|(c, s)| (c, s.value_ug))
        .collect();
    open.iter()
        .filter(|(_, v)| *v >= deficit)
        .min_by_key(|(_, v)| *v)
        .or_else(|| open.iter().max_by_key(|(_, v)| *v))
        .map(|(c, _)| **c)
}

fn suppress(table: &mut Table, grain: usize, key: &Key) {
    if let Some(stat) = table.cells[grain].get_mut(key) {
        stat.suppressed = true;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::table::Row;
    use reetrace_core::domain::{Category, Country, Element};
    use uuid::Uuid;

    fn row(country: &str, category: Category, element: Element, org: u128, value: i128) -> Row {
        Row {
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
    fn market() -> Vec<Row> {
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
        let rows: Vec<Row> = (1..=4)
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
