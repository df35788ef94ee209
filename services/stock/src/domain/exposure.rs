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

use microlp::{ComparisonOp, Error, OptimizationDirection, Problem};

use super::disclosure::{DisclosureRule, Line, lines};
use super::table::Table;

/// How tightly the published cells bound one sensitive withheld cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exposure {
    /// The cell's position in the table.
    pub cell: usize,
    /// The cell's value in micrograms.
    pub value_ug: i128,
    /// The least value the published cells allow (micrograms).
    pub lower_ug: f64,
    /// The greatest value the published cells allow (infinite when unbounded).
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

    /// The least or greatest value of variable `target` (micrograms), `None` when the solver
    /// failed.
    fn bound(&self, table: &Table, target: usize, direction: OptimizationDirection) -> Option<f64> {
        let c = self.component[target];
        let mut problem = Problem::new(direction);
        let mut local: HashMap<usize, microlp::Variable> = HashMap::new();
        for &v in &self.members[c] {
            let value = table.stats[self.cell_of[v]].value_ug;
            let min = if value >= 0 { 0.0 } else { f64::NEG_INFINITY };
            let objective = if v == target { 1.0 } else { 0.0 };
            local.insert(v, problem.add_var(objective, (min, f64::INFINITY)));
        }
        for equation in &self.equations[c] {
            let terms: Vec<(microlp::Variable, f64)> = equation
                .terms
                .iter()
                .map(|&(v, a)| (local[&v], a))
                .collect();
            problem.add_constraint(terms.as_slice(), ComparisonOp::Eq, equation.rhs);
        }
        let unbounded = match direction {
            OptimizationDirection::Minimize => f64::NEG_INFINITY,
            OptimizationDirection::Maximize => f64::INFINITY,
        };
        match problem.solve().map(|outcome| outcome.into_solution()) {
            Ok(Ok(solution)) => Some(solution.objective() * self.scale),
            Err(Error::Unbounded) => Some(unbounded),
            _ => None,
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

/// The bounds of every sensitive cell of `table` under `rule`, in table order. A published
/// sensitive cell is bounded exactly by its own value; a cell the solver could not bound is
/// reported as bounded exactly too (unproven is unsafe).
pub fn audit(table: &Table, rule: DisclosureRule) -> Vec<Exposure> {
    let lines = lines(table);
    audit_lines(table, rule, &lines)
}

/// The sensitive cells of `table` that the published cells bound tighter than their protection
/// level allows.
pub fn exposed(table: &Table, rule: DisclosureRule) -> Vec<Exposure> {
    let lines = lines(table);
    exposed_lines(table, rule, &lines)
}

pub(crate) fn exposed_lines(table: &Table, rule: DisclosureRule, lines: &[Line]) -> Vec<Exposure> {
    let tolerance = tolerance_ug(table);
    audit_lines(table, rule, lines)
        .into_iter()
        .filter(|e| !e.is_protected(tolerance))
        .collect()
}

fn audit_lines(table: &Table, rule: DisclosureRule, lines: &[Line]) -> Vec<Exposure> {
    let system = System::new(table, lines);
    let mut out = Vec::new();
    for (cell, stat) in table.stats.iter().enumerate() {
        let required_ug = rule.protection_ug(stat);
        if !rule.is_sensitive(stat) {
            continue;
        }
        let exact = stat.value_ug as f64;
        let (lower_ug, upper_ug) = match system.var_of[cell] {
            None => (exact, exact),
            Some(v) => {
                let lower = system.bound(table, v, OptimizationDirection::Minimize);
                let upper = system.bound(table, v, OptimizationDirection::Maximize);
                (lower.unwrap_or(exact), upper.unwrap_or(exact))
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
