//! The linear-programming audit of a protected [`Table`]: how tightly an intruder can bound each
//! sensitive withheld cell from everything the table publishes.
//!
//! Every answer of the stock service is read from the published cells of a table, at any grain,
//! with any filter, so what an intruder can combine is exactly the set of published cells and
//! the additive relations between them: each subtotal, at any grain and along any dimension
//! (country, category, element), is the sum of the cells it adds up. The audit takes one
//! variable per withheld cell (at least zero: masses are never negative), fixes every published
//! cell to its value, writes every relation as an equation, and minimises and maximises each
//! sensitive withheld cell. A cell is *exposed* when its value minus the lower bound, or the
//! upper bound minus its value, is below its protection level
//! ([`DisclosureRule::protection_ug`]).
//!
//! Only the withheld cells linked to the target through relations (its connected component)
//! enter its programme: published cells are constants, and other components cannot move it.

use std::collections::HashMap;

use crate::lp::{Optimum, optimise};

use super::disclosure::{DisclosureRule, Line, lines};
use super::table::{Grain, Table};

/// How tightly the published cells bound one sensitive withheld cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exposure {
    /// The cell's position in the table.
    pub cell: usize,
    /// The cell's value in micrograms.
    pub value_ug: i128,
    /// The least value the published cells allow (micrograms), or, when a point found for
    /// another cell already leaves the required margin below, that point's value.
    pub lower_ug: f64,
    /// The greatest value the published cells allow (infinite when unbounded), or a point's
    /// value leaving the required margin above.
    pub upper_ug: f64,
    /// The margin required on either side of the value.
    pub required_ug: i128,
}

impl Exposure {
    /// Whether the bounds leave at least the required margin on both sides (within the
    /// solver's round-off, `tolerance_ug`).
    fn is_protected(&self, tolerance_ug: f64) -> bool {
        let value = self.value_ug as f64;
        let required = self.required_ug as f64 - tolerance_ug;
        self.upper_ug - value >= required && value - self.lower_ug >= required
    }
}

/// One relation over withheld cells: `sum(coefficient * cell) = rhs` (published cells folded
/// into `rhs`), in scaled units.
struct Equation {
    terms: Vec<(usize, f64)>,
    rhs: f64,
}

/// The linear system of a protected table, split into connected components.
struct System {
    /// Variable of each table position (withheld cells only).
    var_of: Vec<Option<usize>>,
    /// Table position of each variable.
    cell_of: Vec<usize>,
    /// Component of each variable.
    component: Vec<usize>,
    /// Variables and equations of each component.
    members: Vec<Vec<usize>>,
    equations: Vec<Vec<Equation>>,
    /// Micrograms per unit of the programme (values are scaled to at most a million).
    scale: f64,
}

impl System {
    fn new(table: &Table, lines: &[Line]) -> System {
        let stats = &table.stats;
        let largest = stats.iter().map(|s| s.value_ug.abs()).max().unwrap_or(0);
        let scale = (largest as f64 / 1e6).max(1.0);
        let mut var_of = vec![None; stats.len()];
        let mut cell_of = Vec::new();
        for (i, s) in stats.iter().enumerate() {
            if s.suppressed {
                var_of[i] = Some(cell_of.len());
                cell_of.push(i);
            }
        }
        let mut parent: Vec<usize> = (0..cell_of.len()).collect();
        let mut raw: Vec<(Vec<(usize, f64)>, i128)> = Vec::new();
        for line in lines {
            let entries = line
                .children
                .iter()
                .map(|&c| (c, 1.0))
                .chain([(line.parent, -1.0)]);
            let mut terms = Vec::new();
            let mut rhs: i128 = 0;
            for (cell, coefficient) in entries {
                match var_of[cell] {
                    Some(v) => terms.push((v, coefficient)),
                    None if coefficient > 0.0 => rhs -= stats[cell].value_ug,
                    None => rhs += stats[cell].value_ug,
                }
            }
            if let Some(&(first, _)) = terms.first() {
                for &(v, _) in &terms[1..] {
                    let (a, b) = (find(&mut parent, first), find(&mut parent, v));
                    parent[a.max(b)] = a.min(b);
                }
                raw.push((terms, rhs));
            }
        }
        let mut index: HashMap<usize, usize> = HashMap::new();
        let mut component = vec![0; cell_of.len()];
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (v, slot) in component.iter_mut().enumerate() {
            let root = find(&mut parent, v);
            let c = *index.entry(root).or_insert_with(|| {
                members.push(Vec::new());
                members.len() - 1
            });
            *slot = c;
            members[c].push(v);
        }
        let mut equations: Vec<Vec<Equation>> = members.iter().map(|_| Vec::new()).collect();
        for (terms, rhs) in raw {
            let c = component[terms[0].0];
            equations[c].push(Equation {
                terms,
                rhs: rhs as f64 / scale,
            });
        }
        System {
            var_of,
            cell_of,
            component,
            members,
            equations,
            scale,
        }
    }

    /// Solves the component of `target` for its least or greatest value. Returns the optimum
    /// (micrograms; infinite when unbounded) and the optimal point (one value per member of the
    /// component, scaled), or `None` when the solver failed.
    fn solve(
        &self,
        table: &Table,
        target: usize,
        maximise: bool,
    ) -> Option<(f64, Option<Vec<f64>>)> {
        let objective = |v: usize| if v == target { 1.0 } else { 0.0 };
        self.programme(table, self.component[target], maximise, &objective, false)
    }

    /// Points that settle many cells at once: the sensitive cells of the component pushed down
    /// and up together, all of them and grain by grain (each cell capped at twice its value
    /// plus one unit, so the push stays bounded; a point of the capped programme is a point of
    /// the uncapped one).
    fn spread(&self, table: &Table, c: usize, rule: DisclosureRule) -> Vec<Vec<f64>> {
        let mut points = Vec::new();
        for grain in std::iter::once(None).chain(Grain::all().map(Some)) {
            let weight = |v: usize| {
                let cell = self.cell_of[v];
                let at = grain.is_none_or(|g| table.keys[cell].grain() == g);
                if at && rule.is_sensitive(&table.stats[cell]) {
                    1.0
                } else {
                    0.0
                }
            };
            for maximise in [false, true] {
                if let Some((_, Some(point))) = self.programme(table, c, maximise, &weight, true) {
                    points.push(point);
                }
            }
        }
        points
    }

    /// One programme over component `c`.
    fn programme(
        &self,
        table: &Table,
        c: usize,
        maximise: bool,
        objective: &dyn Fn(usize) -> f64,
        capped: bool,
    ) -> Option<(f64, Option<Vec<f64>>)> {
        let members = &self.members[c];
        let local: HashMap<usize, usize> =
            members.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        let bounds: Vec<(f64, f64)> = members
            .iter()
            .map(|&v| {
                let value = table.stats[self.cell_of[v]].value_ug;
                let min = if value >= 0 { 0.0 } else { f64::NEG_INFINITY };
                let max = if capped {
                    (2 * value.abs()) as f64 / self.scale + 1.0
                } else {
                    f64::INFINITY
                };
                (min, max)
            })
            .collect();
        let costs: Vec<f64> = members.iter().map(|&v| objective(v)).collect();
        let equations: Vec<(Vec<(usize, f64)>, f64)> = self.equations[c]
            .iter()
            .map(|e| {
                (
                    e.terms.iter().map(|&(v, a)| (local[&v], a)).collect(),
                    e.rhs,
                )
            })
            .collect();
        let rows = equations
            .iter()
            .map(|(terms, rhs)| (terms.as_slice(), *rhs));
        match optimise(maximise, &costs, &bounds, rows) {
            Optimum::Point(optimum, point) => Some((optimum * self.scale, Some(point))),
            Optimum::Unbounded if maximise => Some((f64::INFINITY, None)),
            Optimum::Unbounded => Some((f64::NEG_INFINITY, None)),
            Optimum::Failed => None,
        }
    }
}

/// One side of a cell's range, with the value a known point must reach to settle it.
#[derive(Clone, Copy)]
enum Side {
    Lower(f64),
    Upper(f64),
}

impl System {
    /// The bound of variable `v` (at `slot` of its component) on one side: a known point's
    /// value when one already reaches the mark, otherwise the optimum (whose point is kept).
    /// A failed solve gives the cell's own value (unproven is unsafe).
    fn side(
        &self,
        table: &Table,
        v: usize,
        slot: usize,
        found: &mut Vec<Vec<f64>>,
        side: Side,
    ) -> f64 {
        let (maximise, reaches): (_, &dyn Fn(f64) -> bool) = match side {
            Side::Lower(mark) => (false, &move |x| x <= mark),
            Side::Upper(mark) => (true, &move |x| x >= mark),
        };
        let known = found
            .iter()
            .map(|point| point[slot] * self.scale)
            .find(|&x| reaches(x));
        if let Some(x) = known {
            return x;
        }
        match self.solve(table, v, maximise) {
            Some((optimum, point)) => {
                found.extend(point);
                optimum
            }
            None => table.stats[self.cell_of[v]].value_ug as f64,
        }
    }
}

fn find(parent: &mut [usize], mut v: usize) -> usize {
    while parent[v] != v {
        parent[v] = parent[parent[v]];
        v = parent[v];
    }
    v
}

/// The bounds of every sensitive cell of `table` under `rule`, in table order.
///
/// A published sensitive cell is bounded exactly by its own value; a cell the solver could not
/// bound is reported as bounded exactly too (unproven is unsafe). Each optimum found is a
/// point the published cells allow; a cell that such a point already places at least its
/// protection level below (above) its value needs no programme of its own on that side, and
/// its `lower_ug` (`upper_ug`) is then that point's value rather than the optimum: every
/// bound that decides an exposure is an optimum.
pub fn audit(table: &Table, rule: DisclosureRule) -> Vec<Exposure> {
    let lines = lines(table);
    let all: Vec<usize> = (0..table.stats.len()).collect();
    audit_cells(table, rule, &lines, &all)
}

/// The sensitive cells of `table` that the published cells bound tighter than their protection
/// level allows.
pub fn exposed(table: &Table, rule: DisclosureRule) -> Vec<Exposure> {
    let lines = lines(table);
    let all: Vec<usize> = (0..table.stats.len()).collect();
    exposed_cells(table, rule, &lines, &all)
}

/// The exposed cells among `cells`. Withholding more cells only frees more variables, so
/// bounds only widen: after a repair, only the cells exposed before need another look.
pub(crate) fn exposed_cells(
    table: &Table,
    rule: DisclosureRule,
    lines: &[Line],
    cells: &[usize],
) -> Vec<Exposure> {
    let tolerance = tolerance_ug(table);
    audit_cells(table, rule, lines, cells)
        .into_iter()
        .filter(|e| !e.is_protected(tolerance))
        .collect()
}

fn audit_cells(
    table: &Table,
    rule: DisclosureRule,
    lines: &[Line],
    cells: &[usize],
) -> Vec<Exposure> {
    let system = System::new(table, lines);
    let tolerance = tolerance_ug(table);
    // Points found so far, per component (scaled values of its members, in member order).
    let mut points: HashMap<usize, Vec<Vec<f64>>> = HashMap::new();
    let mut out = Vec::new();
    for &cell in cells {
        let stat = &table.stats[cell];
        if !rule.is_sensitive(stat) {
            continue;
        }
        let required_ug = rule.protection_ug(stat);
        let exact = stat.value_ug as f64;
        let (lower_ug, upper_ug) = match system.var_of[cell] {
            None => (exact, exact),
            Some(v) => {
                let c = system.component[v];
                let slot = system.members[c].binary_search(&v).unwrap_or(0);
                let margin = required_ug as f64 - tolerance;
                let found = points
                    .entry(c)
                    .or_insert_with(|| system.spread(table, c, rule));
                let lower = system.side(table, v, slot, found, Side::Lower(exact - margin));
                let upper = system.side(table, v, slot, found, Side::Upper(exact + margin));
                (lower, upper)
            }
        };
        out.push(Exposure {
            cell,
            value_ug: stat.value_ug,
            lower_ug,
            upper_ug,
            required_ug,
        });
    }
    out
}
/// The round-off the audit forgives: a millionth of the programme's unit (a trillionth of the
/// table's largest cell), at least one microgram.
fn tolerance_ug(table: &Table) -> f64 {
    let largest = table
        .stats
        .iter()
        .map(|s| s.value_ug.abs())
        .max()
        .unwrap_or(0);
    (largest as f64 / 1e12).max(1.0)
}

#[cfg(test)]
#[path = "exposure_tests.rs"]
mod tests;
