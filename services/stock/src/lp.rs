//! The linear-programming solver behind the disclosure audit ([`crate::domain::exposure`]),
//! behind one function so that the domain does not depend on the solver's own types (a pure-Rust
//! solver from crates.io; swapping it touches this file only).

use microlp::{ComparisonOp, Error, OptimizationDirection, Problem};

/// What a programme gives.
pub(crate) enum Optimum {
    /// The optimal objective and the optimal point (one value per variable).
    Point(f64, Vec<f64>),
    /// The objective improves without end.
    Unbounded,
    /// The solver failed (infeasible or numerically lost).
    Failed,
}

/// How a row's left-hand side compares with its right-hand side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    /// `sum(a * x[i]) = rhs`
    Equal,
    /// `sum(a * x[i]) <= rhs`
    AtMost,
}

/// Optimises `objective . x` (maximises when `maximise`, otherwise minimises) over `x` with
/// `bounds[i].0 <= x[i] <= bounds[i].1` and every row `sum(a * x[i])` equal to, or at most,
/// its `rhs`.
pub(crate) fn optimise<'a>(
    maximise: bool,
    objective: &[f64],
    bounds: &[(f64, f64)],
    rows: impl IntoIterator<Item = (&'a [(usize, f64)], Relation, f64)>,
) -> Optimum {
    let direction = if maximise {
        OptimizationDirection::Maximize
    } else {
        OptimizationDirection::Minimize
    };
    let mut programme = Problem::new(direction);
    let vars: Vec<microlp::Variable> = objective
        .iter()
        .zip(bounds)
        .map(|(&c, &bound)| programme.add_var(c, bound))
        .collect();
    for (terms, relation, rhs) in rows {
        let terms: Vec<(microlp::Variable, f64)> =
            terms.iter().map(|&(i, a)| (vars[i], a)).collect();
        let op = match relation {
            Relation::Equal => ComparisonOp::Eq,
            Relation::AtMost => ComparisonOp::Le,
        };
        programme.add_constraint(terms.as_slice(), op, rhs);
    }
    match programme.solve().map(|outcome| outcome.into_solution()) {
        Ok(Ok(solution)) => Optimum::Point(
            solution.objective(),
            vars.iter().map(|&v| solution.var_value(v)).collect(),
        ),
        Err(Error::Unbounded) => Optimum::Unbounded,
        _ => Optimum::Failed,
    }
}
