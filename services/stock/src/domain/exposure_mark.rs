//! A withheld cell as the audit's pushes and programmes settle it.

/// A withheld cell to settle: its variables (slots in its component), its published part, its
/// size, and the values a point must reach below and above.
pub(super) struct Mark {
    pub(super) slots: Vec<usize>,
    pub(super) constant_ug: f64,
    pub(super) size: f64,
    pub(super) lower: f64,
    pub(super) upper: f64,
}

impl Mark {
    /// The cell's value at `point` (micrograms).
    pub(super) fn at(&self, point: &[f64], scale: f64) -> f64 {
        self.slots.iter().map(|&s| point[s]).sum::<f64>() * scale + self.constant_ug
    }

    pub(super) fn reached(&self, point: &[f64], scale: f64, maximise: bool) -> bool {
        let x = self.at(point, scale);
        if maximise {
            x >= self.upper
        } else {
            x <= self.lower
        }
    }
}
