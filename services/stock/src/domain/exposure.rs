//! The linear-programming audit of a protected [`Table`]: how tightly an intruder can bound each
//! sensitive withheld cell from everything the table publishes.
//!
//! Every answer of the stock service is read from the published cells of a table, at any grain,
//! with any filter, so what an intruder can combine is exactly the set of published cells and
//! the additive relations between them: each subtotal, at any grain and along any dimension
//! (country, category, element), is the sum of the cells it adds up. Together these say
//! exactly that every cell is the sum of the finest cells under it, so the audit takes one
//! variable per withheld finest cell (at least zero: masses are never negative), one equation
//! per published subtotal (its withheld finest cells add up to what its published ones leave),
//! reads a withheld subtotal as the sum of its finest cells, and minimises and maximises each
//! sensitive withheld cell. That is the programme of one variable per withheld cell and one
//! equation per relation with the subtotals substituted out: the same bounds, with far fewer
//! rows when most cells are withheld. A cell is *exposed* when its value minus the lower
//! bound, or the upper bound minus its value, is below its protection level
//! ([`DisclosureRule::protection_ug`]).
//!
//! Only the withheld cells linked to the target through relations (its connected component)
//! enter its programme: published cells are constants, and other components cannot move it.
//!
//! Flows whose cells bound each other (recycled content never exceeds what was placed on the
//! market; see [`super::linked`]) are audited together: the programme then holds the cells of
//! several tables, their published subtotals, and inequalities between their finest cells,
//! most of them as bounds of slack variables rather than rows (`exposure_slack.rs`).

use std::collections::HashMap;

use crate::lp::{Optimum, Relation, optimise};

use super::disclosure::DisclosureRule;
use super::table::{Grain, Stat, Table};
use mark::Mark;
use slack::{Slack, merged};

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

/// One relation over withheld finest cells: `sum(coefficient * cell)` equal to, or at most,
/// `rhs` (published cells folded into `rhs`), in scaled units.
struct Row {
    terms: Vec<(usize, f64)>,
    relation: Relation,
    rhs: f64,
}

/// A withheld cell as the programme sees it: the sum of its withheld finest cells (variables)
/// and of its published finest cells (a constant).
struct Sum {
    vars: Vec<usize>,
    constant_ug: i128,
}

/// The linear system of protected tables over their withheld finest cells, split into
/// connected components.
///
/// Every cell is the sum of the finest cells under it, and the subtotal relations of every
/// line, at every grain, say exactly that; so the programme takes one variable per withheld
/// *finest* cell, a withheld subtotal being the sum of its variables (plus its published finest
/// cells), and one equation per published subtotal. Both give the same set of values for every
/// cell, hence the same bounds, with far fewer rows than one equation per line when most cells
/// are withheld.
struct System {
    /// Each withheld cell as a sum (by position; `None` for a published cell).
    sum_of: Vec<Option<Sum>>,
    /// The value of each variable's cell (micrograms).
    values: Vec<i128>,
    /// Component of each variable.
    component: Vec<usize>,
    /// Variables (ascending) and rows of each component.
    members: Vec<Vec<usize>>,
    rows: Vec<Vec<Row>>,
    /// Whether a component holds an inequality between flows.
    bounded: Vec<bool>,
    /// Micrograms per unit of the programme (values are scaled to at most a million).
    scale: f64,
}

impl System {
    fn new(cells: &Cells, bounds: &[Bound]) -> System {
        let largest = (0..cells.len)
            .map(|i| cells.stat(i).value_ug.abs())
            .max()
            .unwrap_or(0);
        let scale = (largest as f64 / 1e6).max(1.0);
        // The finest cells under each cell.
        let mut leaves: Vec<Vec<usize>> = vec![Vec::new(); cells.len];
        for (t, table) in cells.tables.iter().enumerate() {
            let start = cells.start(t);
            for f in table.range(Grain::FINEST) {
                let key = table.keys[f];
                for grain in Grain::all() {
                    if let Some(p) = table.position(&key.at(grain)) {
                        leaves[start + p].push(start + f);
                    }
                }
            }
        }
        let finest = |i: usize| leaves[i].len() == 1 && leaves[i][0] == i;
        let mut var_of = vec![None; cells.len];
        let mut cell_of = Vec::new();
        for (i, slot) in var_of.iter_mut().enumerate() {
            if cells.stat(i).suppressed && finest(i) {
                *slot = Some(cell_of.len());
                cell_of.push(i);
            }
        }
        // The inequalities over variables (published cells folded into the right-hand side),
        // and the change of variables that makes most of them bounds.
        let inequalities = slack::over_variables(bounds, &var_of, |cell| cells.stat(cell).value_ug);
        let values: Vec<i128> = cell_of.iter().map(|&i| cells.stat(i).value_ug).collect();
        let slack = Slack::new(&values, &inequalities);
        let mut parent: Vec<usize> = (0..cell_of.len()).collect();
        let mut join = |vars: &[usize]| {
            if let Some(&first) = vars.first() {
                for &v in &vars[1..] {
                    let (a, b) = (find(&mut parent, first), find(&mut parent, v));
                    parent[a.max(b)] = a.min(b);
                }
            }
        };
        let mut raw: Vec<Row> = Vec::new();
        let mut sum_of: Vec<Option<Sum>> = Vec::with_capacity(cells.len);
        for (i, under) in leaves.iter().enumerate() {
            let stat = cells.stat(i);
            let mut vars = Vec::new();
            let mut constant_ug: i128 = 0;
            let mut free_below = false;
            for &f in under {
                match var_of[f] {
                    Some(v) => {
                        vars.extend_from_slice(slack.of(v));
                        free_below |= cells.stat(f).value_ug < 0;
                    }
                    None => constant_ug += cells.stat(f).value_ug,
                }
            }
            if !stat.suppressed {
                // A published subtotal: its withheld finest cells add up to what the published
                // ones leave of it.
                if !vars.is_empty() && !finest(i) {
                    join(&vars);
                    let terms: Vec<(usize, f64)> = vars.iter().map(|&v| (v, 1.0)).collect();
                    raw.push(Row {
                        terms: merged(terms),
                        relation: Relation::Equal,
                        rhs: (stat.value_ug - constant_ug) as f64 / scale,
                    });
                }
                sum_of.push(None);
                continue;
            }
            join(&vars);
            if !finest(i) && stat.value_ug >= 0 && free_below {
                // A subtotal is known not to be negative even where a cell under it may be.
                let terms: Vec<(usize, f64)> = vars.iter().map(|&v| (v, -1.0)).collect();
                raw.push(Row {
                    terms: merged(terms),
                    relation: Relation::AtMost,
                    rhs: constant_ug as f64 / scale,
                });
            }
            sum_of.push(Some(Sum { vars, constant_ug }));
        }
        for ((terms, rhs), replaced) in inequalities.iter().zip(&slack.replaced) {
            let terms = slack.terms(terms);
            let vars: Vec<usize> = terms.iter().map(|(v, _)| *v).collect();
            join(&vars);
            if !replaced && !terms.is_empty() {
                raw.push(Row {
                    terms,
                    relation: Relation::AtMost,
                    rhs: *rhs as f64 / scale,
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
            rows[c].push(row);
        }
        for (terms, _) in &inequalities {
            if let Some(&(v, _)) = terms.first() {
                bounded[component[slack.of(v)[0]]] = true;
            }
        }
        let values = slack.values;
        System {
            sum_of,
            values,
            component,
            members,
            rows,
            bounded,
            scale,
        }
    }

    /// The mark of withheld cell `cell` whose sum has variables: its component and its sum over
    /// the component's slots, with the values a point must reach to settle it.
    fn mark(&self, cells: &Cells, cell: usize, margin: f64) -> Option<(usize, Mark)> {
        let sum = self.sum_of[cell].as_ref()?;
        let &first = sum.vars.first()?;
        let c = self.component[first];
        let members = &self.members[c];
        let slots = sum
            .vars
            .iter()
            .filter_map(|v| members.binary_search(v).ok())
            .collect();
        let exact = cells.stat(cell).value_ug as f64;
        Some((
            c,
            Mark {
                slots,
                constant_ug: sum.constant_ug as f64,
                size: exact.abs(),
                lower: exact - margin,
                upper: exact + margin,
            },
        ))
    }

    /// Points that settle many cells at once: `marks` are the cells of component `c` to
    /// settle. The cells not yet settled on a side are pushed that way together (each weighted
    /// by the inverse of its value, so that small cells count as much as large ones, with every
    /// variable capped ([`System::caps`]) so that the push stays bounded and spreads; a point
    /// of the capped programme is a point of the uncapped one), and again with those still
    /// open, while a push settles any. The two sides are pushed on two threads.
    fn spread(&self, c: usize, marks: &[Mark]) -> Vec<Vec<f64>> {
        std::thread::scope(|scope| {
            let down = scope.spawn(|| self.push(c, marks, false));
            let mut points = self.push(c, marks, true);
            // A panic on the other thread is the solver's: resumed here, as on this one.
            match down.join() {
                Ok(more) => points.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
            points
        })
    }

    /// One side of [`System::spread`]: up when `maximise`, otherwise down.
    fn push(&self, c: usize, marks: &[Mark], maximise: bool) -> Vec<Vec<f64>> {
        let mut points: Vec<Vec<f64>> = Vec::new();
        let mut open: Vec<&Mark> = marks.iter().collect();
        while !open.is_empty() {
            let mut costs = vec![0.0; self.members[c].len()];
            for mark in &open {
                let weight = self.scale / (mark.size + self.scale);
                for &slot in &mark.slots {
                    costs[slot] += weight;
                }
            }
            let caps = self.caps(c, &open, maximise);
            let Some((_, Some(point))) = self.programme(c, maximise, &costs, Some(&caps)) else {
                break;
            };
            let before = open.len();
            open.retain(|m| !m.reached(&point, self.scale, maximise));
            let settled = open.len() < before;
            points.push(point);
            if !settled {
                break;
            }
        }
        points
    }

    /// The caps of a push over component `c` (one per member): twice each variable's value plus
    /// one unit; pushing up, a variable of an open cell is also capped where that cell is
    /// reached, so that the optimum spreads over many cells instead of driving a few far past
    /// their marks (a cap never falls below the true value, which keeps the programme feasible).
    fn caps(&self, c: usize, open: &[&Mark], maximise: bool) -> Vec<f64> {
        let members = &self.members[c];
        let mut caps: Vec<f64> = members
            .iter()
            .map(|&v| (2 * self.values[v].abs()) as f64 / self.scale + 1.0)
            .collect();
        if maximise {
            for mark in open {
                let reach = (mark.upper - mark.constant_ug) / self.scale;
                let reach = reach * (1.0 + 1e-6) + 1e-6;
                for &slot in &mark.slots {
                    let value = self.values[members[slot]] as f64 / self.scale;
                    caps[slot] = caps[slot].min(reach.max(value));
                }
            }
        }
        caps
    }

    /// One programme over component `c`: optimises `costs` (one per member, in member order),
    /// each variable at most its cap when `caps` are given. Returns the optimum (micrograms;
    /// infinite when unbounded) and the optimal point (one value per member, scaled), or `None`
    /// when the solver failed.
    fn programme(
        &self,
        c: usize,
        maximise: bool,
        costs: &[f64],
        caps: Option<&[f64]>,
    ) -> Option<(f64, Option<Vec<f64>>)> {
        let members = &self.members[c];
        let bounds: Vec<(f64, f64)> = members
            .iter()
            .enumerate()
            .map(|(slot, &v)| {
                let min = if self.values[v] >= 0 {
                    0.0
                } else {
                    f64::NEG_INFINITY
                };
                (min, caps.map_or(f64::INFINITY, |caps| caps[slot]))
            })
            .collect();
        let local = |v: usize| members.binary_search(&v).unwrap_or(0);
        let rows: Vec<Row> = self.rows[c]
            .iter()
            .map(|r| Row {
                terms: r.terms.iter().map(|&(v, a)| (local(v), a)).collect(),
                relation: r.relation,
                rhs: r.rhs,
            })
            .collect();
        let rows = rows.iter().map(|r| (r.terms.as_slice(), r.relation, r.rhs));
        match optimise(maximise, costs, &bounds, rows) {
            Optimum::Point(optimum, point) => Some((optimum * self.scale, Some(point))),
            Optimum::Unbounded if maximise => Some((f64::INFINITY, None)),
            Optimum::Unbounded => Some((f64::NEG_INFINITY, None)),
            Optimum::Failed => None,
        }
    }

    /// The bound of a withheld cell (`mark`, in component `c`) on one side: a known point's
    /// value when one already reaches the mark, otherwise the optimum (whose point is kept). A
    /// failed solve gives the cell's own value (unproven is unsafe).
    fn side(
        &self,
        c: usize,
        mark: &Mark,
        exact: f64,
        found: &mut Vec<Vec<f64>>,
        maximise: bool,
    ) -> f64 {
        let known = found
            .iter()
            .find(|point| mark.reached(point, self.scale, maximise));
        if let Some(point) = known {
            return mark.at(point, self.scale);
        }
        let mut costs = vec![0.0; self.members[c].len()];
        for &slot in &mark.slots {
            costs[slot] += 1.0;
        }
        match self.programme(c, maximise, &costs, None) {
            Some((optimum, point)) => {
                found.extend(point);
                optimum + mark.constant_ug
            }
            None => exact,
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
    let all: Vec<usize> = (0..table.stats.len()).collect();
    let cells = Cells::new(vec![table]);
    audit_cells(&cells, rule, &[], &all, false)
}

/// The sensitive cells of `table` that the published cells bound tighter than their protection
/// level allows.
pub fn exposed(table: &Table, rule: DisclosureRule) -> Vec<Exposure> {
    let all: Vec<usize> = (0..table.stats.len()).collect();
    exposed_cells(table, rule, &all)
}

/// The exposed cells among `cells`. Withholding more cells only frees more variables, so
/// bounds only widen: after a repair, only the cells exposed before need another look.
pub(crate) fn exposed_cells(
    table: &Table,
    rule: DisclosureRule,
    targets: &[usize],
) -> Vec<Exposure> {
    let cells = Cells::new(vec![table]);
    let tolerance = tolerance_ug(&cells);
    audit_cells(&cells, rule, &[], targets, false)
        .into_iter()
        .filter(|e| !e.is_protected(tolerance))
        .collect()
}

/// The exposed cells among `targets` when several tables are audited together, with the
/// inequalities `bounds` between their cells (positions in `cells`). Only cells whose programme
/// holds an inequality are looked at: the others are each table's own audit.
pub(crate) fn exposed_together(
    cells: &Cells,
    rule: DisclosureRule,
    bounds: &[Bound],
    targets: &[usize],
) -> Vec<Exposure> {
    let tolerance = tolerance_ug(cells);
    audit_cells(cells, rule, bounds, targets, true)
        .into_iter()
        .filter(|e| !e.is_protected(tolerance))
        .collect()
}

fn audit_cells(
    cells: &Cells,
    rule: DisclosureRule,
    bounds: &[Bound],
    targets: &[usize],
    bounded_only: bool,
) -> Vec<Exposure> {
    let system = System::new(cells, bounds);
    let tolerance = tolerance_ug(cells);
    // The sensitive targets: cell, margin required, and the component and mark (none for a
    // published cell, or a withheld one its published finest cells fix).
    type Place = Option<(usize, usize)>;
    let mut todo: Vec<(usize, i128, Place)> = Vec::new();
    // Each component's withheld targets.
    let mut marks: HashMap<usize, Vec<Mark>> = HashMap::new();
    for &cell in targets {
        let stat = cells.stat(cell);
        if !rule.is_sensitive(stat) {
            continue;
        }
        let required_ug = rule.protection_ug(stat);
        let margin = required_ug as f64 - tolerance;
        let mark = if stat.suppressed {
            system.mark(cells, cell, margin)
        } else {
            None
        };
        let place = match mark {
            // A withheld cell its published finest cells fix is its own table's finding.
            None if bounded_only && stat.suppressed => continue,
            None => None,
            Some((c, _)) if bounded_only && !system.bounded[c] => continue,
            Some((c, mark)) => {
                let list = marks.entry(c).or_default();
                list.push(mark);
                Some((c, list.len() - 1))
            }
        };
        todo.push((cell, required_ug, place));
    }
    // Points found so far, per component (scaled values of its members, in member order).
    let mut points: HashMap<usize, Vec<Vec<f64>>> = marks
        .iter()
        .map(|(&c, marks)| (c, system.spread(c, marks)))
        .collect();
    let mut out = Vec::with_capacity(todo.len());
    for (cell, required_ug, place) in todo {
        let stat = cells.stat(cell);
        let exact = stat.value_ug as f64;
        let (lower_ug, upper_ug) = match place {
            None => (exact, exact),
            Some((c, m)) => {
                let mark = &marks[&c][m];
                let found = points.entry(c).or_default();
                let lower = system.side(c, mark, exact, found, false);
                let upper = system.side(c, mark, exact, found, true);
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

#[path = "exposure_mark.rs"]
mod mark;
#[path = "exposure_slack.rs"]
mod slack;

#[cfg(test)]
pub(crate) use slack::slack_unchanged;

#[cfg(test)]
#[path = "exposure_tests.rs"]
mod tests;
