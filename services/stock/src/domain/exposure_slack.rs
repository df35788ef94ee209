//! Inequalities between flows turned into bounds on variables.
//!
//! The linked flows' inequalities (`recycled <= recycling_input`,
//! `recycling_input - recycled <= losses`, `recycled_content <= placed_on_market`; see
//! [`super::super::linked`]) hold cell by cell at the finest grain, so a group's programme has
//! one row for nearly every finest key, several times more rows than its published subtotals
//! give, and a simplex's work grows with its rows. Each such inequality, when every cell in it is
//! a variable, is `P <= z` for a sum `P` of variables and one variable `z` of its own; writing
//! `z = P + s` with a new variable `s >= 0` (the slack: what recycling lost, what losses hold
//! beyond it, what was placed without recycled content) makes the inequality the bound of `s`,
//! and every other row reads `z` as that sum. It is the same set of values for every cell (a
//! change of variables, one to one), so the same bounds, with one row less per inequality.

use super::Bound;

#[cfg(test)]
thread_local! {
    /// Set by tests that compare the programmes with and without the change of variables (on
    /// the thread that builds the system).
    pub(crate) static UNCHANGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the joint programmes' inequalities kept as rows (no change of variables), for
/// tests comparing both.
#[cfg(test)]
pub(crate) fn slack_unchanged<T>(f: impl FnOnce() -> T) -> T {
    UNCHANGED.with(|off| off.set(true));
    let out = f();
    UNCHANGED.with(|off| off.set(false));
    out
}

/// Inequalities between cells (`sum(coefficient * cell) <= 0`) over the system's variables
/// (`var_of` each cell's; `value_of` a cell's value): terms, and the published cells folded
/// into the right-hand side.
pub(super) fn over_variables(
    bounds: &[Bound],
    var_of: &[Option<usize>],
    value_of: impl Fn(usize) -> i128,
) -> Vec<(Vec<(usize, f64)>, i128)> {
    bounds
        .iter()
        .map(|bound| {
            let mut terms = Vec::new();
            let mut rhs: i128 = 0;
            for &(cell, coefficient) in bound {
                match var_of[cell] {
                    Some(v) => terms.push((v, coefficient)),
                    // Coefficients are whole numbers (1 or -1).
                    None => rhs -= coefficient as i128 * value_of(cell),
                }
            }
            (terms, rhs)
        })
        .collect()
}

/// The system's variables after the change: each original variable (a withheld finest cell) as
/// a sum of new ones. A new variable has the index of the original variable it replaces: the
/// cell's own value, or its slack.
pub(super) struct Slack {
    /// The new variables each original one is the sum of (itself when unchanged).
    sum_of: Vec<Vec<usize>>,
    /// The value of each new variable at the true figures (a slack's is never negative).
    pub(super) values: Vec<i128>,
    /// Whether each inequality became a bound (and needs no row).
    pub(super) replaced: Vec<bool>,
}

impl Slack {
    /// Changes variables for `inequalities` (`sum(coefficient * x[v]) <= rhs`, whole
    /// coefficients), taken in order; `values` are the original variables' values. An
    /// inequality is replaced when its right-hand side is zero and, in the variables so far, it
    /// reads `P - z <= 0` with every term of `P` of coefficient 1 and `z` an original variable
    /// not yet replaced nor part of another's sum. `z` must keep its own bound: a variable of a
    /// non-negative value is at least zero, which `z = P + s` keeps only when `P` is at least
    /// zero.
    pub(super) fn new(values: &[i128], inequalities: &[(Vec<(usize, f64)>, i128)]) -> Slack {
        #[cfg(test)]
        if UNCHANGED.with(std::cell::Cell::get) {
            return Slack {
                sum_of: (0..values.len()).map(|v| vec![v]).collect(),
                values: values.to_vec(),
                replaced: vec![false; inequalities.len()],
            };
        }
        let mut sum_of: Vec<Vec<usize>> = (0..values.len()).map(|v| vec![v]).collect();
        let mut new_values = values.to_vec();
        // How many original variables' sums hold each new variable.
        let mut holders = vec![1_u32; values.len()];
        let mut own = vec![true; values.len()];
        let mut replaced = vec![false; inequalities.len()];
        for (i, (terms, rhs)) in inequalities.iter().enumerate() {
            if *rhs != 0 {
                continue;
            }
            let terms = expand(&sum_of, terms);
            let mut minus = terms.iter().filter(|(_, a)| *a == -1.0).map(|(v, _)| *v);
            let (Some(z), None) = (minus.next(), minus.next()) else {
                continue;
            };
            let plus: Vec<usize> = terms.iter().map(|(v, _)| *v).filter(|&v| v != z).collect();
            let whole = terms.iter().all(|(v, a)| *v == z || *a == 1.0);
            if plus.is_empty() || !whole || !own[z] || holders[z] != 1 {
                continue;
            }
            if values[z] >= 0 && plus.iter().any(|&p| new_values[p] < 0) {
                continue;
            }
            let slack = values[z] - plus.iter().map(|&p| new_values[p]).sum::<i128>();
            if slack < 0 {
                // The figures break the inequality: it is not one an intruder can use.
                continue;
            }
            for &p in &plus {
                holders[p] += 1;
            }
            new_values[z] = slack;
            own[z] = false;
            let mut sum = plus;
            sum.push(z);
            sum_of[z] = sum;
            replaced[i] = true;
        }
        Slack {
            sum_of,
            values: new_values,
            replaced,
        }
    }

    /// The new variables of original variable `v`.
    pub(super) fn of(&self, v: usize) -> &[usize] {
        &self.sum_of[v]
    }

    /// A linear form over original variables as one over new ones.
    pub(super) fn terms(&self, terms: &[(usize, f64)]) -> Vec<(usize, f64)> {
        expand(&self.sum_of, terms)
    }
}

/// `terms` over original variables, each written as the sum of its new ones.
fn expand(sum_of: &[Vec<usize>], terms: &[(usize, f64)]) -> Vec<(usize, f64)> {
    merged(
        terms
            .iter()
            .flat_map(|&(v, a)| sum_of[v].iter().map(move |&w| (w, a)))
            .collect(),
    )
}

/// Terms with the coefficients of the same variable added (a new variable may be in the sums of
/// two original ones), zeros dropped, by variable.
pub(super) fn merged(mut terms: Vec<(usize, f64)>) -> Vec<(usize, f64)> {
    terms.sort_unstable_by_key(|(v, _)| *v);
    let mut out: Vec<(usize, f64)> = Vec::with_capacity(terms.len());
    for (v, a) in terms {
        match out.last_mut() {
            Some((last, b)) if *last == v => *b += a,
            _ => out.push((v, a)),
        }
    }
    out.retain(|(_, a)| *a != 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells 0 (recycling input), 1 (recycled) and 2 (losses) of one key, and 3 and 4 of
    /// another, where the losses cell is published (its value folded into the right-hand side).
    #[test]
    fn inequalities_between_variables_become_bounds_of_slacks() {
        let values = [100, 90, 15, 50, 40];
        let inequalities = vec![
            (vec![(1, 1.0), (0, -1.0)], 0),
            (vec![(4, 1.0), (3, -1.0)], 0),
            (vec![(0, 1.0), (1, -1.0), (2, -1.0)], 0),
            // input - recycled <= 12 (a published losses cell): stays a row.
            (vec![(3, 1.0), (4, -1.0)], 12),
            // recycled <= input again: input is a sum now, no longer a variable of its own.
            (vec![(1, 1.0), (0, -1.0)], 0),
        ];
        let slack = Slack::new(&values, &inequalities);
        assert_eq!(slack.replaced, [true, true, true, false, false]);
        // input = recycled + what recycling lost; losses = that loss + the rest of the losses.
        assert_eq!(slack.of(0), [1, 0]);
        assert_eq!(slack.of(2), [0, 2]);
        assert_eq!(slack.of(3), [4, 3]);
        assert_eq!(slack.values, [10, 90, 5, 10, 40]);
        // The rows left read the changed variables: input - recycled is the slack of input.
        assert_eq!(slack.terms(&inequalities[3].0), [(3, 1.0)]);
        assert_eq!(slack.terms(&inequalities[4].0), [(0, -1.0)]);
    }

    /// A variable of a non-negative value keeps its bound only where the sum it is written as
    /// cannot go below zero; figures that break an inequality leave it a row.
    #[test]
    fn a_change_that_would_lose_a_bound_or_break_the_figures_is_not_made() {
        let values = [100, -5, 30, 40];
        let inequalities = vec![
            (vec![(1, 1.0), (0, -1.0)], 0),
            (vec![(3, 1.0), (2, -1.0)], 0),
        ];
        let slack = Slack::new(&values, &inequalities);
        assert_eq!(slack.replaced, [false, false]);
        assert_eq!(slack.values, values);
    }
}
