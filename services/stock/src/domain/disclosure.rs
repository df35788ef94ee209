//! Disclosure control: no single organisation's figure can be read out of regulator answers.
//!
//! **Primary sensitivity** ([`DisclosureRule`]): a cell (at any grain) is sensitive when it is
//! built from fewer than `k` distinct organisations (the threshold rule; `k` = 3 by default),
//! or when one organisation dominates it (the p%-rule, `p` = 10 by default: with total `X` and
//! the two largest contributions `x1 >= x2`, the cell is sensitive when `X - x1 - x2 < p% x1`,
//! i.e. the second contributor, who knows its own part, would estimate the first to within
//! p %). A sensitive cell is withheld, and must not be *estimable* to within its protection
//! level: `p% x1 - (X - x1 - x2)` for a dominated cell (the second contributor as intruder), the
//! full `p% x1` for a cell of fewer than `k` organisations (where the others, together, know
//! everything but the largest part).
//!
//! **Secondary suppression**: every grain of a [`Table`] can be asked for (any `group_by`,
//! single-value filters), so a withheld cell could be recovered, or bounded, by combining
//! published cells: a subtotal minus its other cells, in one answer, or sums and differences
//! across answers with different `group_by` (across elements, categories and countries at
//! once). The table is therefore protected as a whole, in two passes.
//!
//! The first pass is the line heuristic. A *line* is a subtotal together with the cells it adds
//! up (the cells of one grain that differ only in one dimension); in every line:
//!
//! 1. the number of withheld entries (cells and subtotal) is never exactly one, so no entry is
//!    the difference of published ones;
//! 2. a sensitive cell whose subtotal is published is covered by other withheld cells of the
//!    line worth at least as much as itself when it has fewer than `k` organisations (so that
//!    the subtotal minus the published cells bounds it no tighter than to within 100 % of its
//!    value), at least its protection level when it is dominated.
//!
//! Partners are chosen deterministically (the smallest cell that is large enough, otherwise the
//! largest; the subtotal when no cell is left), and the rules are applied to a worklist of
//! lines, a line coming back whenever one of its entries is withheld, until nothing changes.
//!
//! Lines alone do not see combinations of lines (a withheld cell can be the sum of element
//! subtotals minus other categories' cells even though every line has two unknowns), so the
//! second pass is an audit and repair: the linear programme of [`super::exposure`] bounds
//! every sensitive withheld cell using all published cells and all additive relations, and
//! while some cell is exposed (bounded within its protection level), the published cell
//! nearest to it through relations (the smallest one worth its protection level, otherwise the
//! largest) is withheld, the lines run again, and the audit is repeated; a cell found exposed
//! again has two, then four, up to sixteen nearest cells withheld at once.
//!
//! The pattern depends on the data only, never on the question asked, so two answers never
//! withhold different cells of the same table. Tests check it against an attacker that solves
//! lines with a single unknown and against the linear programme, on hand-made and generated
//! adversarial tables.
//!
//! Scope and cost: the audit covers one table (one flow, one year) with every grain and filter;
//! flows whose cells bound each other are audited together by [`super::linked`]. Each audit
//! solves up to two programmes per sensitive withheld cell over the withheld finest cells
//! linked to it, most cells being settled by a few pushes of all of them together
//! (`benches/disclosure.rs`: about 2 s to protect a sparse table of 2,063 cells, 1,191 of them
//! sensitive, in a release build on two shared cores); a table is protected when it is built,
//! and rebuilt in the background when its revision moves, so only a table's first build delays
//! an answer, and its pattern is stored ([`super::pattern`]) so that a restart reuses it.

use std::collections::{HashMap, VecDeque};

use super::exposure::exposed_cells;
use super::table::{Grain, Stat, Table};

/// The primary sensitivity rules: the threshold rule (fewer than `k` organisations) and the
/// p%-rule (one organisation dominates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisclosureRule {
    /// Least number of organisations a published cell has.
    pub k: u32,
    /// Percent of the largest contribution that must stay uncertain.
    pub p: u32,
}

impl DisclosureRule {
    /// The p of the p%-rule when none is configured.
    pub const DEFAULT_P: u32 = 10;

    /// The threshold rule with `k` and the default p%-rule.
    pub const fn new(k: u32) -> DisclosureRule {
        DisclosureRule {
            k,
            p: Self::DEFAULT_P,
        }
    }

    /// Whether the cell may not be published.
    pub fn is_sensitive(&self, stat: &Stat) -> bool {
        self.protection_ug(stat) > 0 || stat.contributors < self.k
    }

    /// The margin an intruder must be left on either side of the cell's value (micrograms,
    /// rounded up); 0 for a cell that is not sensitive.
    pub fn protection_ug(&self, stat: &Stat) -> i128 {
        let [x1, x2] = stat.largest;
        let p = i128::from(self.p);
        let hundredfold = if stat.contributors < self.k {
            p * x1
        } else {
            p * x1 - 100 * (stat.value_ug - x1 - x2)
        };
        if hundredfold <= 0 {
            0
        } else {
            (hundredfold + 99) / 100
        }
    }
}

/// A subtotal and the cells it adds up (positions in the table).
pub(crate) struct Line {
    pub(crate) parent: usize,
    pub(crate) children: Vec<usize>,
}

/// Withholds every sensitive cell of `table` (fewer than `k` organisations, or dominated under
/// the default p%-rule) and enough others that none can be recovered or estimated within its
/// protection level (see the module documentation).
pub fn protect(table: &mut Table, k: u32) {
    protect_with(table, DisclosureRule::new(k));
}

/// [`protect`] under any rule.
pub fn protect_with(table: &mut Table, rule: DisclosureRule) {
    protect_audited(table, rule);
}

/// [`protect_with`]; returns whether the last audit found no sensitive cell exposed (true
/// unless some exposed cell had no published cell left near it to withhold).
pub(crate) fn protect_audited(table: &mut Table, rule: DisclosureRule) -> bool {
    for stat in table.stats.iter_mut() {
        stat.primary = rule.is_sensitive(stat);
        stat.suppressed = stat.primary;
    }
    complete(table, rule)
}

/// Withholds more cells of `table`, whatever is withheld already, until the line rules hold
/// and the audit finds no sensitive cell exposed. Returns whether the last audit found none
/// (false when an exposed cell had no published cell left near it).
pub(crate) fn complete(table: &mut Table, rule: DisclosureRule) -> bool {
    let lines = lines(table);
    let member_of = member_of(table, &lines);
    let mut queue: VecDeque<usize> = (0..lines.len()).collect();
    // Withholding more only widens every bound: only the cells exposed last time can still be.
    let mut suspects: Vec<usize> = (0..table.stats.len()).collect();
    // How many audits in a row found each cell exposed.
    let mut streak: HashMap<usize, u32> = HashMap::new();
    loop {
        run_lines(table, rule, &lines, &member_of, queue);
        let exposed = exposed_cells(table, rule, &suspects);
        let clean = exposed.is_empty();
        suspects = exposed.iter().map(|e| e.cell).collect();
        streak.retain(|cell, _| suspects.contains(cell));
        queue = VecDeque::new();
        for exposure in exposed {
            let times = streak.entry(exposure.cell).or_default();
            *times += 1;
            for cell in repairs(table, &lines, &member_of, exposure, *times) {
                queue.extend(member_of[cell].iter().copied());
            }
        }
        if queue.is_empty() {
            return clean;
        }
    }
}

/// Withholds the published cells nearest to an exposed one ([`nearest_published`]), one at a
/// time as the cell is found exposed audit after audit: one the first time, then two, four, up
/// to sixteen at once, so that a cell that many relations pin down takes a few audits rather
/// than one per relation. Returns the cells withheld.
pub(crate) fn repairs(
    table: &mut Table,
    lines: &[Line],
    member_of: &[Vec<usize>],
    exposure: super::exposure::Exposure,
    times: u32,
) -> Vec<usize> {
    let mut out = Vec::new();
    for _ in 0..1_usize << times.clamp(1, 5).saturating_sub(1) {
        let Some(cell) = nearest_published(table, lines, member_of, exposure) else {
            break;
        };
        table.stats[cell].suppressed = true;
        out.push(cell);
    }
    out
}

/// After more cells of a table whose audit found nothing exposed were withheld (`withheld`):
/// the line rules again, over the lines of those cells. No audit is needed: withholding more
/// turns published constants into free variables, so every bound the audit found can only
/// widen, and what was protected stays protected.
pub(crate) fn widen(
    table: &mut Table,
    rule: DisclosureRule,
    lines: &[Line],
    member_of: &[Vec<usize>],
    withheld: &[usize],
) {
    let start = withheld
        .iter()
        .flat_map(|&cell| member_of[cell].iter().copied())
        .collect();
    run_lines(table, rule, lines, member_of, start);
}

/// The first pass alone (the line heuristic, as protection was before the audit): what the
/// audit's tests show combinations of lines to beat.
#[cfg(test)]
pub(crate) fn protect_by_lines(table: &mut Table, rule: DisclosureRule) {
    for stat in table.stats.iter_mut() {
        stat.primary = rule.is_sensitive(stat);
        stat.suppressed = stat.primary;
    }
    let lines = lines(table);
    let member_of = member_of(table, &lines);
    run_lines(table, rule, &lines, &member_of, (0..lines.len()).collect());
}

/// The lines each cell is an entry of.
pub(crate) fn member_of(table: &Table, lines: &[Line]) -> Vec<Vec<usize>> {
    let mut member_of: Vec<Vec<usize>> = vec![Vec::new(); table.stats.len()];
    for (l, line) in lines.iter().enumerate() {
        member_of[line.parent].push(l);
        for &c in &line.children {
            member_of[c].push(l);
        }
    }
    member_of
}

/// The line rules over a worklist: a line is looked at again whenever one of its entries is
/// withheld.
fn run_lines(
    table: &mut Table,
    rule: DisclosureRule,
    lines: &[Line],
    member_of: &[Vec<usize>],
    start: VecDeque<usize>,
) {
    let mut queued = vec![false; lines.len()];
    let mut queue = VecDeque::new();
    for l in start {
        if !queued[l] {
            queued[l] = true;
            queue.push_back(l);
        }
    }
    while let Some(l) = queue.pop_front() {
        queued[l] = false;
        for cell in protect_line(table, rule, &lines[l]) {
            for &other in &member_of[cell] {
                if !queued[other] {
                    queued[other] = true;
                    queue.push_back(other);
                }
            }
        }
    }
}

/// The published cell to withhold for an exposed one: among the lines of the exposed cell (or,
/// when all their entries are withheld, the lines reached through withheld entries), the
/// smallest published entry worth its protection level, otherwise the largest.
pub(crate) fn nearest_published(
    table: &Table,
    lines: &[Line],
    member_of: &[Vec<usize>],
    exposure: super::exposure::Exposure,
) -> Option<usize> {
    let stats = &table.stats;
    let mut seen_cells = vec![false; stats.len()];
    let mut seen_lines = vec![false; lines.len()];
    let mut frontier = vec![exposure.cell];
    seen_cells[exposure.cell] = true;
    while !frontier.is_empty() {
        let mut open = Vec::new();
        let mut next = Vec::new();
        for cell in frontier {
            for &l in &member_of[cell] {
                if std::mem::replace(&mut seen_lines[l], true) {
                    continue;
                }
                for &e in lines[l].children.iter().chain([&lines[l].parent]) {
                    if std::mem::replace(&mut seen_cells[e], true) {
                        continue;
                    }
                    if stats[e].suppressed {
                        next.push(e);
                    } else {
                        open.push(e);
                    }
                }
            }
        }
        let by_size = |&c: &usize| (stats[c].value_ug, c);
        let pick = open
            .iter()
            .copied()
            .filter(|&c| stats[c].value_ug >= exposure.required_ug)
            .min_by_key(by_size)
            .or_else(|| open.iter().copied().max_by_key(by_size));
        if pick.is_some() {
            return pick;
        }
        frontier = next;
    }
    None
}

/// Every line of the table: for each grain and each of its dimensions, the cells that differ
/// only in that dimension, with their subtotal.
pub(crate) fn lines(table: &Table) -> Vec<Line> {
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
fn protect_line(table: &mut Table, rule: DisclosureRule, line: &Line) -> Vec<usize> {
    let mut withheld = Vec::new();
    let stats = &mut table.stats;

    // Rule 2: cover each primary cell by withheld partners worth at least as much.
    for &x in &line.children {
        if !stats[x].primary {
            continue;
        }
        while !stats[line.parent].suppressed {
            let needed = cover(rule, &stats[x]);
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

/// What withheld partners of a sensitive cell must be worth in a line: its whole value for a
/// cell of fewer than `k` organisations, its protection level for a dominated one.
fn cover(rule: DisclosureRule, stat: &Stat) -> i128 {
    if stat.contributors < rule.k {
        stat.value_ug
    } else {
        rule.protection_ug(stat)
    }
}

/// The published cell to withhold next: the smallest one worth at least `deficit`, otherwise
/// the largest one.
fn pick(stats: &[Stat], children: &[usize], deficit: i128) -> Option<usize> {
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
    use crate::domain::table::tests::row;
    use crate::domain::table::{Contribution, Dim, Key};
    use reetrace_core::domain::{Category, Country, Element};

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
                        if s.contributors < 3 {
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
