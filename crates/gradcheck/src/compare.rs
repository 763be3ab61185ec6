//! Comparing two sets of gradients, layer by layer: the largest absolute and relative errors,
//! against a tolerance suited to how the second set was computed.

use model::Cost;
use serde::Serialize;

use crate::finite::Sample;
use crate::manual::Gradients;
use crate::{DataKind, ParamKind};

/// What the hand-written gradients are compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Burn's autodiff, computing in f64 on the same weights and batch.
    ManualVsAutodiffF64,
    /// Central finite differences of the hand-written cost.
    ManualVsFiniteDifference,
    /// Burn's autodiff in f32, the precision training uses.
    ManualVsAutodiffF32,
}

impl Comparison {
    /// The name in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Comparison::ManualVsAutodiffF64 => "manual_vs_autodiff_f64",
            Comparison::ManualVsFiniteDifference => "manual_vs_finite_difference",
            Comparison::ManualVsAutodiffF32 => "manual_vs_autodiff_f32",
        }
    }

    /// The name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Comparison::ManualVsAutodiffF64 => "autodiff f64",
            Comparison::ManualVsFiniteDifference => "finite diff.",
            Comparison::ManualVsAutodiffF32 => "autodiff f32",
        }
    }

    /// The tolerance this comparison is held to.
    pub fn tolerance(self) -> Tolerance {
        match self {
            Comparison::ManualVsAutodiffF64 => Tolerance::AUTODIFF_F64,
            Comparison::ManualVsFiniteDifference => Tolerance::FINITE_DIFFERENCE,
            Comparison::ManualVsAutodiffF32 => Tolerance::AUTODIFF_F32,
        }
    }
}

/// How close two gradients must be: a relative error of at most `relative`, where the relative
/// error of a and b is |a − b| / max(|a|, |b|, `floor`).
///
/// The floor is there because a gradient that is zero, or nearly so, has no meaningful relative
/// error: rounding leaves every computed gradient with an *absolute* error of about
/// ε × (the size of the terms summed into it), and when those terms cancel to almost nothing,
/// that error is a large fraction of the result. Below the floor, the test becomes an absolute
/// one: |a − b| ≤ `relative` × `floor`. Each floor is set well below the gradients that drive
/// learning here (1e-4 to 1e-1) and above the absolute noise of the method compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tolerance {
    pub relative: f64,
    pub floor: f64,
}

impl Tolerance {
    /// Hand-written vs Burn, both in f64: the two differ only in the order of their sums, so
    /// they agree to a few ε = 2.2e-16 of the terms summed. Below the floor 1e-6 (a
    /// ten-thousandth of the gradients that matter) the test is absolute, ≤ 1e-16. A floor of
    /// 1e-8 would be too low: a gradient of 1e-8 summed from terms of 1e-3 carries rounding
    /// errors of about 1e-18, a relative 1e-10, and such gradients occur (measured over 1,120
    /// random networks and batches: 3.7e-10 with the floor at 1e-8, 9.7e-12 with it at 1e-6).
    pub const AUTODIFF_F64: Tolerance = Tolerance {
        relative: 1e-10,
        floor: 1e-6,
    };

    /// Hand-written vs finite differences: those are accurate to about 2e-12 absolute (see
    /// [`crate::finite`]), so a relative 1e-6 holds for gradients from about 1e-6 up; the floor
    /// 1e-5 makes the test an absolute 1e-11 below that.
    pub const FINITE_DIFFERENCE: Tolerance = Tolerance {
        relative: 1e-6,
        floor: 1e-5,
    };

    /// Hand-written (f64) vs Burn in f32 (ε = 1.2e-7): each gradient passes through a few
    /// layers of sums, so relative errors around 1e-6 are normal and 1e-4 leaves room. f32
    /// leaves absolute errors of up to about 1e-7 on these gradients, so below the floor 1e-3
    /// the test is absolute, ≤ 1e-7 (measured over 1,120 random networks and batches: at most
    /// 2.6e-5 relative with this floor).
    pub const AUTODIFF_F32: Tolerance = Tolerance {
        relative: 1e-4,
        floor: 1e-3,
    };

    /// |a − b| / max(|a|, |b|, floor).
    pub fn relative_error(self, a: f64, b: f64) -> f64 {
        (a - b).abs() / a.abs().max(b.abs()).max(self.floor)
    }
}

/// One comparison of one layer's weights or biases: a row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What the hand-written gradients were compared with.
    pub comparison: Comparison,
    /// The cost differentiated.
    #[serde(serialize_with = "cost_name")]
    pub cost: Cost,
    /// The inputs of the batch.
    pub data: DataKind,
    /// The layer, numbered from 1 (the first hidden layer) to L (the output layer).
    pub layer: usize,
    /// The layer's `[inputs, outputs]`.
    pub shape: [usize; 2],
    pub param: ParamKind,
    /// How many parameters were compared.
    pub compared: usize,
    pub max_abs_error: f64,
    /// The largest |a − b| / max(|a|, |b|, floor).
    pub max_rel_error: f64,
    /// The largest relative error allowed.
    pub tolerance: f64,
    /// The floor of the relative error's denominator.
    pub floor: f64,
    pub passed: bool,
}

fn cost_name<S: serde::Serializer>(cost: &Cost, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(cost.name())
}

impl Check {
    /// "autodiff f64, cross_entropy, mnist: layer 2 (30→10) weight: max relative error 3e-2 >
    /// 1e-10".
    pub fn describe(&self) -> String {
        format!(
            "{}, {}, {}: layer {} ({}→{}) {}: max relative error {:.1e} {} {:.0e} ({} compared)",
            self.comparison.label(),
            self.cost.name(),
            self.data.name(),
            self.layer,
            self.shape[0],
            self.shape[1],
            self.param,
            self.max_rel_error,
            if self.passed { "≤" } else { ">" },
            self.tolerance,
            self.compared,
        )
    }
}

/// What a set of checks is about: the cost differentiated and the batch's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub cost: Cost,
    pub data: DataKind,
}

/// Compares `other` with the hand-written gradients `manual` at the parameters in `sample`
/// (use [`Sample::all`] for every one): one [`Check`] per layer and parameter kind, held to
/// `comparison`'s tolerance. `sizes` are the network's layer sizes.
///
/// A NaN in either set is a failure (its error is reported as NaN).
pub fn compare(
    comparison: Comparison,
    case: Case,
    sizes: &[usize],
    manual: &Gradients,
    other: &Gradients,
    sample: &Sample,
) -> Vec<Check> {
    let tolerance = comparison.tolerance();
    sample
        .iter()
        .map(|(layer, param, indices)| {
            let (mine, theirs) = (manual.get(layer, param), other.get(layer, param));
            let (mut max_abs, mut max_rel, mut nan) = (0.0f64, 0.0f64, false);
            for &i in indices {
                let (a, b) = (mine[i], theirs[i]);
                nan |= a.is_nan() || b.is_nan();
                max_abs = max_abs.max((a - b).abs());
                max_rel = max_rel.max(tolerance.relative_error(a, b));
            }
            if nan {
                (max_abs, max_rel) = (f64::NAN, f64::NAN);
            }
            Check {
                comparison,
                cost: case.cost,
                data: case.data,
                layer,
                shape: [sizes[layer - 1], sizes[layer]],
                param,
                compared: indices.len(),
                max_abs_error: max_abs,
                max_rel_error: max_rel,
                tolerance: tolerance.relative,
                floor: tolerance.floor,
                // A check that compared nothing has not passed.
                passed: !nan && !indices.is_empty() && max_rel <= tolerance.relative,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PerLayer;

    #[test]
    fn relative_error_has_a_floor() {
        let t = Tolerance {
            relative: 1e-6,
            floor: 1e-8,
        };
        assert_eq!(t.relative_error(2.0, 1.0), 0.5);
        assert_eq!(t.relative_error(0.0, 0.0), 0.0);
        // Tiny gradients are judged against the floor, not against themselves.
        assert!((t.relative_error(1e-20, -1e-20) - 2e-12).abs() < 1e-24);
    }

    #[test]
    fn a_wrong_layer_fails_and_only_that_one() {
        let sizes = [2, 2, 1];
        let manual = PerLayer {
            weights: vec![vec![0.1, 0.2, 0.3, 0.4], vec![0.5, 0.6]],
            biases: vec![vec![0.1, 0.2], vec![0.3]],
        };
        let all = manual.map(|g| (0..g.len()).collect());
        let mut other = manual.clone();
        other.weights[1][1] *= 1.0 + 1e-6;
        other.biases[0][0] = f64::NAN;
        let case = Case {
            cost: Cost::Quadratic,
            data: DataKind::Random,
        };
        let checks = compare(
            Comparison::ManualVsAutodiffF64,
            case,
            &sizes,
            &manual,
            &other,
            &all,
        );
        assert_eq!(checks.len(), 4);
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| (c.layer, c.param))
            .collect();
        assert_eq!(failed, vec![(1, ParamKind::Bias), (2, ParamKind::Weight)]);
        assert!(checks[1].max_rel_error.is_nan());
        assert!(checks[2].describe().contains("layer 2 (2→1) weight"));
        assert_eq!(checks[3].compared, 1);
        // The same errors pass the f32 tolerance, except the NaN.
        let f32_checks = compare(
            Comparison::ManualVsAutodiffF32,
            case,
            &sizes,
            &manual,
            &other,
            &all,
        );
        assert_eq!(f32_checks.iter().filter(|c| !c.passed).count(), 1);
    }
}
