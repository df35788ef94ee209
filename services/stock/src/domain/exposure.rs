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
//!
//! Flows whose cells bound each other (recycled content never exceeds what was placed on the
//! market; see [`super::linked`]) are audited together: the programme then holds the cells of
//! several tables, their subtotal relations, and inequalities between them.

use std::collections::HashMap;

use crate::lp::{Optimum, Relation, optimise};

use super::disclosure::{DisclosureRule, Line, lines};
use super::table::{Stat, Table};

/// How tightly the published cells bound one sensitive withheld cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exposure {
    /// The cell's position (in the table, or in the [`Cells`] audited together).
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

/// The cells of one or more tables, numbered through the tables in order: what one audit sees.
pub(crate) struct Cells<'a> {
    tables: Vec<&'a Table>,
    /// Position of each table's first cell.
    starts: Vec<usize>,
    len: usize,
}

impl<'a> Cells<'a> {
    pub(crate) fn new(tables: Vec<&'a Table>) -> Cells<'a> {
        let mut starts = Vec::with_capacity(tables.len());
        let mut len = 0;
        for table in &tables {
            starts.push(len);
            len += table.stats.len();
        }
        Cells {
            tables,
            starts,
            len,
        }
    }

    /// The position of the first cell of the `t`-th table.
    pub(crate) fn start(&self, t: usize) -> usize {
        self.starts[t]
    }

    /// The table of position `i` (its index) and the cell's position in it.
    pub(crate) fn locate(&self, i: usize) -> (usize, usize) {
        let t = self.starts.partition_point(|&s| s <= i) - 1;
        (t, i - self.starts[t])
    }

    pub(crate) fn stat(&self, i: usize) -> &'a Stat {
        let (t, at) = self.locate(i);
        &self.tables[t].stats[at]
    }
}

/// An inequality between cells: `sum(coefficient * cell) <= 0` (positions in [`Cells`]).
pub(crate) type Bound = Vec<(usize, f64)>;

/// One relation over withheld cells: `sum(coefficient * cell)` equal to, or at most, `rhs`
/// (published cells folded into `rhs`), in scaled units.
struct Row {
    terms: Vec<(usize, f64)>,
    relation: Relation,
    rhs: f64,
}

/// The linear system of protected tables, split into connected components.
struct System {
    /// Variable of each position (withheld cells only).
    var_of: Vec<Option<usize>>,
    /// Position of each variable.
    cell_of: Vec<usize>,
    /// Component of each variable.
    component: Vec<usize>,
    /// Variables and rows of each component.
    members: Vec<Vec<usize>>,
    rows: Vec<Vec<Row>>,
    /// Whether a component holds an inequality.
    bounded: Vec<bool>,
    /// Micrograms per unit of the programme (values are scaled to at most a million).
    scale: f64,
}

impl System {
    fn new(cells: &Cells, lines: &[Line], bounds: &[Bound]) -> System {
        let largest = (0..cells.len)
            .map(|i| cells.stat(i).value_ug.abs())
            .max()
            .unwrap_or(0);
        let scale = (largest as f64 / 1e6).max(1.0);
        let mut var_of = vec![None; cells.len];
        let mut cell_of = Vec::new();
        for (i, slot) in var_of.iter_mut().enumerate() {
            if cells.stat(i).suppressed {
                *slot = Some(cell_of.len());
                cell_of.push(i);
            }
        }
        let mut parent: Vec<usize> = (0..cell_of.len()).collect();
        let mut raw: Vec<Row> = Vec::new();
        let equations = lines.iter().map(|line| {
            let entries: Vec<(usize, f64)> = line
                .children
                .iter()
                .map(|&c| (c, 1.0))
                .chain([(line.parent, -1.0)])
                .collect();
            (entries, Relation::Equal)
        });
        let inequalities = bounds.iter().map(|b| (b.clone(), Relation::AtMost));
        for (entries, relation) in equations.chain(inequalities) {
            let mut terms = Vec::new();
            let mut rhs: i128 = 0;
            for (cell, coefficient) in entries {
                match var_of[cell] {
                    Some(v) => terms.push((v, coefficient)),
                    // Coefficients are whole numbers (1 or -1).
                    None => rhs -= coefficient as i128 * cells.stat(cell).value_ug,
                }
            }
            if let Some(&(first, _)) = terms.first() {
                for &(v, _) in &terms[1..] {
                    let (a, b) = (find(&mut parent, first), find(&mut parent, v));
                    parent[a.max(b)] = a.min(b);
                }
                raw.push(Row {
                    terms,
                    relation,
                    rhs: rhs as f64 / scale,
                });
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
        let mut rows: Vec<Vec<Row>> = members.iter().map(|_| Vec::new()).collect();
        let mut bounded = vec![false; members.len()];
        for row in raw {
            let c = component[row.terms[0].0];
            bounded[c] |= row.relation == Relation::AtMost;
            rows[c].push(row);
        }
        System {
            var_of,
            cell_of,
            component,
            members,
            rows,
            bounded,
            scale,
        }
    }

    /// Solves the component of `target` for its least or greatest value. Returns the optimum
    /// (micrograms; infinite when unbounded) and the optimal point (one value per member of the
    /// component, scaled), or `None` when the solver failed.
    fn solve(
        &self,
        cells: &Cells,
        target: usize,
        maximise: bool,
    ) -> Option<(f64, Option<Vec<f64>>)> {
        let objective = |v: usize| if v == target { 1.0 } else { 0.0 };
        self.programme(cells, self.component[target], maximise, &objective, false)
    }

    /// Points that settle many cells at once: `marks` are the cells of component `c` to
    /// settle (slot in the component, the value to reach below and above). The cells not yet
    /// settled on a side are pushed that way together (each weighted by the inverse of its
    /// value, so that small cells count as much as large ones, and capped at twice its value
    /// plus one unit so that the push stays bounded; a point of the capped programme is a point
    /// of the uncapped one), and again with those still open, while a push settles any. The
    /// two sides are pushed on two threads.
    fn spread(&self, cells: &Cells, c: usize, marks: &[(usize, f64, f64)]) -> Vec<Vec<f64>> {
        std::thread::scope(|scope| {
            let down = scope.spawn(|| self.push(cells, c, marks, false));
            let mut points = self.push(cells, c, marks, true);
            // A panic on the other thread is the solver's: resumed here, as on this one.
            match down.join() {
                Ok(more) => points.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
            points
        })
    }

    /// One side of [`System::spread`]: up when `maximise`, otherwise down.
    fn push(
        &self,
        cells: &Cells,
        c: usize,
        marks: &[(usize, f64, f64)],
        maximise: bool,
    ) -> Vec<Vec<f64>> {
        let members = &self.members[c];
        let reaches = |point: &[f64], &(slot, lower, upper): &(usize, f64, f64)| {
            let x = point[slot] * self.scale;
            if maximise { x >= upper } else { x <= lower }
        };
        let mut points: Vec<Vec<f64>> = Vec::new();
        let mut open: Vec<&(usize, f64, f64)> = marks.iter().collect();
        while !open.is_empty() {
            let mut weight = vec![0.0; members.len()];
            for &&(slot, _, _) in &open {
                let value = cells.stat(self.cell_of[members[slot]]).value_ug.abs() as f64;
                weight[slot] = self.scale / (value + self.scale);
            }
            let objective = |v: usize| members.binary_search(&v).map_or(0.0, |slot| weight[slot]);
            let Some((_, Some(point))) = self.programme(cells, c, maximise, &objective, true)
            else {
                break;
            };
            let before = open.len();
            open.retain(|m| !reaches(&point, m));
            let settled = open.len() < before;
            points.push(point);
            if !settled {
                break;
            }
        }
        points
    }

    /// One programme over component `c`.
    fn programme(
        &self,
        cells: &Cells,
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
                let value = cells.stat(self.cell_of[v]).value_ug;
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
        let rows: Vec<Row> = self.rows[c]
            .iter()
            .map(|r| Row {
                terms: r.terms.iter().map(|&(v, a)| (local[&v], a)).collect(),
                relation: r.relation,
                rhs: r.rhs,
            })
            .collect();
        let rows = rows.iter().map(|r| (r.terms.as_slice(), r.relation, r.rhs));
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
        cells: &Cells,
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
        match self.solve(cells, v, maximise) {
            Some((optimum, point)) => {
                found.extend(point);
                optimum
            }
            None => cells.stat(self.cell_of[v]).value_ug as f64,
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
    let cells = Cells::new(vec![table]);
    audit_cells(&cells, rule, &lines, &[], &all, false)
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
    targets: &[usize],
) -> Vec<Exposure> {
    let cells = Cells::new(vec![table]);
    let tolerance = tolerance_ug(&cells);
    audit_cells(&cells, rule, lines, &[], targets, false)
        .into_iter()
        .filter(|e| !e.is_protected(tolerance))
        .collect()
}

/// The exposed cells among `targets` when several tables are audited together, with `lines`
/// (of every table) and the inequalities `bounds` between their cells (positions in `cells`).
/// Only cells whose programme holds an inequality are looked at: the others are each table's
/// own audit.
pub(crate) fn exposed_together(
    cells: &Cells,
    rule: DisclosureRule,
    lines: &[Line],
    bounds: &[Bound],
    targets: &[usize],
) -> Vec<Exposure> {
    let tolerance = tolerance_ug(cells);
    audit_cells(cells, rule, lines, bounds, targets, true)
        .into_iter()
        .filter(|e| !e.is_protected(tolerance))
        .collect()
}

fn audit_cells(
    cells: &Cells,
    rule: DisclosureRule,
    lines: &[Line],
    bounds: &[Bound],
    targets: &[usize],
    bounded_only: bool,
) -> Vec<Exposure> {
    let system = System::new(cells, lines, bounds);
    let tolerance = tolerance_ug(cells);
    // The sensitive targets: cell, margin required, and the variable with its component and
    // slot in it (none for a published cell).
    type Place = Option<(usize, usize, usize)>;
    let mut todo: Vec<(usize, i128, Place)> = Vec::new();
    // The values each component's withheld targets must be shown to reach, below and above.
    let mut marks: HashMap<usize, Vec<(usize, f64, f64)>> = HashMap::new();
    for &cell in targets {
        let stat = cells.stat(cell);
        if !rule.is_sensitive(stat) {
            continue;
        }
        let required_ug = rule.protection_ug(stat);
        let place = match system.var_of[cell] {
            None => None,
            Some(v) => {
                let c = system.component[v];
                if bounded_only && !system.bounded[c] {
                    continue;
                }
                let slot = system.members[c].binary_search(&v).unwrap_or(0);
                let margin = required_ug as f64 - tolerance;
                let exact = stat.value_ug as f64;
                marks
                    .entry(c)
                    .or_default()
                    .push((slot, exact - margin, exact + margin));
                Some((v, c, slot))
            }
        };
        todo.push((cell, required_ug, place));
    }
    // Points found so far, per component (scaled values of its members, in member order).
    let mut points: HashMap<usize, Vec<Vec<f64>>> = marks
        .iter()
        .map(|(&c, marks)| (c, system.spread(cells, c, marks)))
        .collect();
    let mut out = Vec::with_capacity(todo.len());
    for (cell, required_ug, place) in todo {
        let stat = cells.stat(cell);
        let exact = stat.value_ug as f64;
        let (lower_ug, upper_ug) = match place {
            None => (exact, exact),
            Some((v, c, slot)) => {
                let margin = required_ug as f64 - tolerance;
                let found = points.entry(c).or_default();
                let lower = system.side(cells, v, slot, found, Side::Lower(exact - margin));
                let upper = system.side(cells, v, slot, found, Side::Upper(exact + margin));
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
/// largest cell), at least one microgram.
fn tolerance_ug(cells: &Cells) -> f64 {
    let largest = (0..cells.len)
        .map(|i| cells.stat(i).value_ug.abs())
        .max()
        .unwrap_or(0);
    (largest as f64 / 1e12).max(1.0)
}

#[cfg(test)]
#[path = "exposure_tests.rs"]
mod tests;
