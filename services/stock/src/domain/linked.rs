//! Flows whose cells bound each other, protected together.
//!
//! Each flow of a year is its own [`Table`], protected on its own by
//! [`super::disclosure`]. Some flows are not independent, cell by cell (same year, country,
//! category and element), and an intruder may use that:
//!
//! - recycled content is part of what was placed on the market: `recycled_content <=
//!   placed_on_market`;
//! - recycling recovers part of what went in, the rest being a recorded loss, and the losses
//!   flow also holds the losses of dismantling: `recycled <= recycling_input` and
//!   `recycling_input - recycled <= losses`.
//!
//! A recycled cell withheld in its own table is thus given away when the recycling input and
//! the losses of its cell are published and nothing else was lost there (the finding this
//! module answers). The flows of a group ([`group_of`]) are therefore audited together: one
//! programme holds the withheld cells of every table of the group, each table's subtotal
//! relations and the inequalities above at the finest grain (coarser ones follow from them),
//! each one only where the figures satisfy it (an intruder cannot rely on a relation the data
//! breaks). The recycling flows are first made to agree: a cell withheld in one of them is
//! withheld in all three (`mirror`). While a sensitive cell is exposed, the same cell of the
//! other flows of the group is withheld (or, when those are withheld already, the nearest
//! published cells of its own table, more at once each time the cell is found exposed again),
//! each changed table is completed again by its own rules, and the audit repeats.
//!
//! Other relations between flows were looked at and hold no bound: steps on products (collect,
//! sort, destroy, export) and dismantling fall in different years or are recorded by different
//! organisations from the flows they follow, so no cell of one bounds a cell of another.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::disclosure::{
    DisclosureRule, Line, complete, lines, member_of, protect_audited, repairs, widen,
};
use super::exposure::{Bound, Cells, Exposure, exposed, exposed_together};
use super::flow::Flow;
use super::table::{Grain, Key, Table};

/// The groups of flows protected together; every other flow is protected on its own.
const GROUPS: [&[Flow]; 2] = [&[Flow::PlacedOnMarket, Flow::RecycledContent], RECYCLING];

/// The flows protected together with `flow` (itself included), in a fixed order; `None` for a
/// flow protected on its own.
pub fn group_of(flow: Flow) -> Option<&'static [Flow]> {
    GROUPS.into_iter().find(|group| group.contains(&flow))
}

/// The inequalities between the flows of a group, cell by cell: `sum(coefficient * flow) <= 0`.
fn inequalities(group: &[Flow]) -> Vec<Vec<(Flow, f64)>> {
    use Flow::*;
    let all = [
        vec![(RecycledContent, 1.0), (PlacedOnMarket, -1.0)],
        vec![(Recycled, 1.0), (RecyclingInput, -1.0)],
        vec![(RecyclingInput, 1.0), (Recycled, -1.0), (Losses, -1.0)],
    ];
    all.into_iter()
        .filter(|terms| terms.iter().all(|(f, _)| group.contains(f)))
        .collect()
}

/// Protects the tables of one year's group together: `tables[i]` is the table of `group[i]`
/// (see the module documentation).
pub fn protect_group(tables: &mut [Table], group: &[Flow], rule: DisclosureRule) {
    // Whether each table's own audit found nothing exposed: such a table needs only its line
    // rules after the group withholds more of it (bounds only widen).
    let mut clean: Vec<bool> = tables
        .iter_mut()
        .map(|table| protect_audited(table, rule))
        .collect();
    // Each table's lines and the lines of each cell (they depend on its keys only), read once
    // when first needed.
    let mut structure: Vec<Option<Structure>> = tables.iter().map(|_| None).collect();
    if group == RECYCLING {
        mirror(tables, rule, &mut clean, &mut structure);
    }
    let mut suspects: Option<Vec<usize>> = None;
    // How many audits in a row found each cell exposed (by position in the group).
    let mut streak: HashMap<usize, u32> = HashMap::new();
    loop {
        let view: Vec<&Table> = tables.iter().collect();
        let exposed = exposed_in_group(&view, group, rule, suspects.as_deref());
        if exposed.is_empty() {
            return;
        }
        let now: Vec<usize> = exposed.iter().map(|(position, _, _)| *position).collect();
        streak.retain(|position, _| now.contains(position));
        suspects = Some(now);
        let mut withheld: Vec<Vec<usize>> = vec![Vec::new(); tables.len()];
        for (position, (t, at), exposure) in exposed {
            let times = streak.entry(position).or_default();
            *times += 1;
            let key = tables[t].keys[at];
            let mut widened = false;
            for (u, other) in tables.iter_mut().enumerate() {
                let Some(pos) = other.position(&key).filter(|_| u != t) else {
                    continue;
                };
                if !other.stats[pos].suppressed {
                    other.stats[pos].suppressed = true;
                    withheld[u].push(pos);
                    widened = true;
                }
            }
            if !widened {
                let (lines, member_of) =
                    structure[t].get_or_insert_with(|| structure_of(&tables[t]));
                let table = &mut tables[t];
                let local = Exposure {
                    cell: at,
                    ..exposure
                };
                withheld[t].extend(repairs(table, lines, member_of, local, *times));
            }
        }
        if withheld.iter().all(Vec::is_empty) {
            // Nothing published is left near the exposed cells: the audit in the tests names
            // any such cell.
            return;
        }
        settle(tables, rule, &withheld, &mut clean, &mut structure);
    }
}

/// Completes each table with cells newly withheld (`withheld[t]`) by its own rules: the line
/// rules over those cells' lines where the table's audit found nothing exposed (bounds only
/// widen), otherwise the lines and the audit again.
fn settle(
    tables: &mut [Table],
    rule: DisclosureRule,
    withheld: &[Vec<usize>],
    clean: &mut [bool],
    structure: &mut [Option<Structure>],
) {
    for (t, cells) in withheld.iter().enumerate() {
        if cells.is_empty() {
            continue;
        }
        if clean[t] {
            let (lines, member_of) = structure[t].get_or_insert_with(|| structure_of(&tables[t]));
            widen(&mut tables[t], rule, lines, member_of, cells);
        } else {
            clean[t] = complete(&mut tables[t], rule);
        }
    }
}

/// The recycling group's flows: the same recyclers' input, output and losses, cell by cell.
const RECYCLING: &[Flow] = &[Flow::RecyclingInput, Flow::Recycled, Flow::Losses];

/// Withholds, in every table of the group, each cell withheld in any of them, and completes the
/// changed tables by their line rules, until the patterns agree. In recycling, a cell's input,
/// output and losses are the same recyclers' figures and bound each other: a recycled cell
/// withheld beside a published input and losses is what the joint audit would find exposed,
/// one repair round at a time.
fn mirror(
    tables: &mut [Table],
    rule: DisclosureRule,
    clean: &mut [bool],
    structure: &mut [Option<Structure>],
) {
    loop {
        let mut withheld: Vec<Vec<usize>> = vec![Vec::new(); tables.len()];
        let keys: BTreeSet<Key> = tables
            .iter()
            .flat_map(|t| {
                t.keys
                    .iter()
                    .zip(&t.stats)
                    .filter(|(_, s)| s.suppressed)
                    .map(|(k, _)| *k)
            })
            .collect();
        for (t, table) in tables.iter_mut().enumerate() {
            for key in &keys {
                if let Some(at) = table
                    .position(key)
                    .filter(|&at| !table.stats[at].suppressed)
                {
                    table.stats[at].suppressed = true;
                    withheld[t].push(at);
                }
            }
        }
        if withheld.iter().all(Vec::is_empty) {
            return;
        }
        settle(tables, rule, &withheld, clean, structure);
    }
}

/// A table's lines and the lines of each cell (they depend on its keys only).
type Structure = (Vec<Line>, Vec<Vec<usize>>);

fn structure_of(table: &Table) -> Structure {
    let lines = lines(table);
    let member_of = member_of(table, &lines);
    (lines, member_of)
}

/// The exposed sensitive cells of a group's tables audited together (among `suspects`, or
/// every cell): position in the group, table and position in it, and the exposure.
pub fn exposed_in_group(
    tables: &[&Table],
    group: &[Flow],
    rule: DisclosureRule,
    suspects: Option<&[usize]>,
) -> Vec<(usize, (usize, usize), Exposure)> {
    let cells = Cells::new(tables.to_vec());
    let bounds = bounds(tables, group, &cells);
    if bounds.is_empty() {
        return Vec::new();
    }
    let every: Vec<usize>;
    let targets = match suspects {
        Some(cells) => cells,
        None => {
            every = (0..tables.iter().map(|t| t.stats.len()).sum()).collect();
            &every
        }
    };
    exposed_together(&cells, rule, &bounds, targets)
        .into_iter()
        .map(|e| (e.cell, cells.locate(e.cell), e))
        .collect()
}

/// Every inequality of the group at the finest grain that the figures satisfy, over positions
/// in `cells` (an absent cell is a known zero and drops out).
fn bounds(tables: &[&Table], group: &[Flow], cells: &Cells) -> Vec<Bound> {
    let mut keys: Vec<Key> = tables
        .iter()
        .flat_map(|t| t.at(Grain::FINEST).map(|(k, _)| *k))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::new();
    for terms in inequalities(group) {
        for key in &keys {
            let mut bound = Vec::new();
            let mut total: i128 = 0;
            for &(flow, coefficient) in &terms {
                let t = group.iter().position(|f| *f == flow);
                let Some((t, at)) = t.and_then(|t| Some((t, tables.get(t)?.position(key)?))) else {
                    continue;
                };
                total += coefficient as i128 * tables[t].stats[at].value_ug;
                bound.push((cells.start(t) + at, coefficient));
            }
            if !bound.is_empty() && total <= 0 {
                out.push(bound);
            }
        }
    }
    out
}

/// What the audit of the published statistics found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DisclosureAudit {
    /// Tables audited (one per flow and year).
    pub tables: usize,
    /// Their cells, at every grain.
    pub cells: usize,
    /// Cells withheld.
    pub withheld: usize,
    /// Cells sensitive under the rule (all withheld when protection holds).
    pub sensitive: usize,
    /// Sensitive cells the published cells bound tighter than their protection level, each
    /// table on its own or with the flows it is linked to: flow, year and cell.
    pub exposed: Vec<(Flow, i32, Key)>,
}

/// An exposed cell: flow, year and cell.
type Found = (Flow, i32, Key);

/// Audits protected tables (by flow and year) as an intruder reading every published cell
/// would: each table's own programme, then each group of linked flows of a year together. The
/// audits are independent, so they run on as many threads as there are cores; the findings
/// come in table order, then group by group and year by year, whatever the threads' timing.
pub fn audit_published(
    tables: &BTreeMap<(Flow, i32), Arc<Table>>,
    rule: DisclosureRule,
) -> DisclosureAudit {
    let mut out = DisclosureAudit::default();
    for table in tables.values() {
        out.tables += 1;
        out.cells += table.stats.len();
        out.withheld += table.suppressed();
        out.sensitive += table.stats.iter().filter(|s| rule.is_sensitive(s)).count();
    }
    let empty = Table::default();
    let years: BTreeSet<i32> = tables.keys().map(|(_, y)| *y).collect();
    // Every audit to run: a table alone, or a group's tables of one year.
    let mut jobs: Vec<(Vec<Flow>, i32)> = tables.keys().map(|(f, y)| (vec![*f], *y)).collect();
    for group in GROUPS {
        jobs.extend(years.iter().map(|&year| (group.to_vec(), year)));
    }
    let run = |(flows, year): &(Vec<Flow>, i32)| -> Vec<Found> {
        let members: Vec<&Table> = flows
            .iter()
            .map(|f| tables.get(&(*f, *year)).map_or(&empty, |t| t.as_ref()))
            .collect();
        if let [table] = members[..] {
            return exposed(table, rule)
                .into_iter()
                .map(|e| (flows[0], *year, table.keys[e.cell]))
                .collect();
        }
        exposed_in_group(&members, flows, rule, None)
            .into_iter()
            .map(|(_, (t, at), _)| (flows[t], *year, members[t].keys[at]))
            .collect()
    };
    let width = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let next = AtomicUsize::new(0);
    let mut found: Vec<(usize, Vec<Found>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..width.min(jobs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let j = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(j) else {
                            return done;
                        };
                        done.push((j, run(job)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(done) => done,
                // A panic on a worker is the solver's: resumed here, as on this thread.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    found.sort_unstable_by_key(|(j, _)| *j);
    out.exposed = found.into_iter().flat_map(|(_, e)| e).collect();
    out
}

#[cfg(test)]
#[path = "linked_tests.rs"]
mod tests;
