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

/// Optimises `objective . x` (maximises when `maximise`, otherwise minimises) over `x` with
/// `bounds[i].0 <= x[i] <= bounds[i].1` and every equation `sum(a * x[i]) = rhs`.
pub(crate) fn optimise<'a>(
    maximise: bool,
    objective: &[f64],
    bounds: &[(f64, f64)],
    equations: impl IntoIterator<Item = (&'a [(usize, f64)], f64)>,
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
    for (terms, rhs) in equations {
        let terms: Vec<(microlp::Variable, f64)> =
            terms.iter().map(|&(i, a)| (vars[i], a)).collect();
        programme.add_constraint(terms.as_slice(), ComparisonOp::Eq, rhs);
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
