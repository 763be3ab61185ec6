//! The outcome of a gradient check: every [`Check`], as a table for people or as JSON.

use std::fmt::Write as _;

use model::{Activation, Cost};
use serde::Serialize;

use crate::compare::{Check, Comparison};
use crate::DataKind;

/// The cost of the batch as each side computed it: the first sign that both sides run the
/// same network and the same cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Losses {
    #[serde(serialize_with = "cost_name")]
    pub cost: Cost,
    /// The hand-written forward pass, in f64.
    pub manual: f64,
    /// `model::Cost::loss` on Burn, in f64 (`None` when the f64 comparison was skipped).
    pub autodiff_f64: Option<f64>,
    /// `model::Cost::loss` on Burn, in f32.
    pub autodiff_f32: f64,
    /// The dtype Burn stored the f64 run's gradients in (`F64`).
    pub f64_gradient_dtype: Option<String>,
    /// The dtype Burn stored the f32 run's gradients in (`F32`).
    pub f32_gradient_dtype: String,
}

fn cost_name<S: serde::Serializer>(cost: &Cost, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(cost.name())
}

/// Everything a run checked, and whether all of it passed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// True when every check passed.
    pub passed: bool,
    /// Layer sizes, input to output.
    pub network: Vec<usize>,
    /// The activation function of the hidden layers (`sigmoid` or `relu`).
    pub activation: Activation,
    pub parameters: usize,
    /// Examples in the batch.
    pub batch: usize,
    pub data: DataKind,
    pub seed: u64,
    /// The backend Burn's autodiff ran on.
    pub backend: String,
    /// The step h of the central differences.
    pub fd_step: f64,
    /// Finite-difference probes left out because a step moved a ReLU unit across its kink at
    /// z = 0, where the cost has no derivative (see [`crate::finite`]); 0 for sigmoid networks.
    pub fd_skipped_at_kinks: usize,
    /// The deliberate mistake injected into the hand-written backward pass, if any.
    pub fault: Option<String>,
    /// Why the f64 comparison was not run, on a backend that cannot compute in f64.
    pub f64_skipped: Option<String>,
    pub losses: Vec<Losses>,
    pub checks: Vec<Check>,
}

impl Report {
    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The highest-numbered layer with a failed check: where a mistake in the backward pass
    /// shows first, since BP2 carries it down to every layer below.
    pub fn highest_failing_layer(&self) -> Option<usize> {
        self.failures().map(|c| c.layer).max()
    }

    /// The largest relative error of one comparison over all layers and costs (NaN if any
    /// was NaN; 0 if there was no such check).
    pub fn max_rel_error(&self, comparison: Comparison) -> f64 {
        self.checks
            .iter()
            .filter(|c| c.comparison == comparison)
            .map(|c| c.max_rel_error)
            .fold(0.0, |m, e| {
                if e.is_nan() || m.is_nan() {
                    f64::NAN
                } else {
                    m.max(e)
                }
            })
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        // A report holds only strings, numbers and bools: serialising cannot fail, and a NaN
        // becomes `null`.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as a table per cost, then a verdict.
    pub fn table(&self) -> String {
        let mut out = self.header();
        for losses in &self.losses {
            out += &self.cost_section(losses);
        }
        out += &self.largest_errors();
        out += &self.verdict();
        out
    }

    /// What was checked, on what, and any note on how.
    fn header(&self) -> String {
        let mut out = String::new();
        let sizes: Vec<String> = self.network.iter().map(usize::to_string).collect();
        let data = match self.data {
            DataKind::Mnist => "MNIST test images",
            DataKind::Random => "random inputs",
        };
        let _ = writeln!(
            out,
            "Gradient check of the {} {} network ({} parameters, seed {}) on {} {data}; \
             Burn backend {}",
            sizes.join("-"),
            self.activation.name(),
            self.parameters,
            self.seed,
            self.batch,
            self.backend,
        );
        if let Some(reason) = &self.f64_skipped {
            let _ = writeln!(out, "Note: the f64 comparison was skipped: {reason}");
        }
        if self.fd_skipped_at_kinks > 0 {
            let _ = writeln!(
                out,
                "Note: {} finite-difference probes were left out: a step moved a ReLU unit \
                 across its kink at z = 0, where the cost has no derivative",
                self.fd_skipped_at_kinks
            );
        }
        if let Some(fault) = &self.fault {
            let _ = writeln!(
                out,
                "Deliberate fault in the hand-written backward pass: {fault}"
            );
        }
        out
    }

    /// One cost's line of losses, then a row per check of that cost.
    fn cost_section(&self, losses: &Losses) -> String {
        let mut out = String::new();
        let cost = losses.cost;
        let mut burn = Vec::new();
        if let Some(c) = losses.autodiff_f64 {
            burn.push(format!(
                "Burn f64 differs by {:.1e}",
                (c - losses.manual).abs()
            ));
        }
        burn.push(format!(
            "Burn f32 differs by {:.1e}",
            (losses.autodiff_f32 - losses.manual).abs()
        ));
        let _ = writeln!(
            out,
            "\n{} cost: C = {:.12} by hand; {}",
            cost.name(),
            losses.manual,
            burn.join(", "),
        );
        let _ = writeln!(
            out,
            "  {:<13} {:<12} {:<6} {:>8} {:>13} {:>13} {:>9}  result",
            "compared to", "layer", "param", "compared", "max abs err", "max rel err", "tolerance"
        );
        for c in self.checks.iter().filter(|c| c.cost == cost) {
            let layer = format!("{} ({}→{})", c.layer, c.shape[0], c.shape[1]);
            let _ = writeln!(
                out,
                "  {:<13} {:<12} {:<6} {:>8} {:>13.2e} {:>13.2e} {:>9.0e}  {}",
                c.comparison.label(),
                layer,
                c.param.name(),
                c.compared,
                c.max_abs_error,
                c.max_rel_error,
                c.tolerance,
                if c.passed { "pass" } else { "FAIL" },
            );
        }
        out
    }

    /// The largest relative error of each comparison, beside its tolerance.
    fn largest_errors(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nLargest relative errors (|a − b| / max(|a|, |b|, floor)):"
        );
        for comparison in [
            Comparison::ManualVsAutodiffF64,
            Comparison::ManualVsFiniteDifference,
            Comparison::ManualVsAutodiffF32,
        ] {
            let tolerance = comparison.tolerance();
            let worst = if self.checks.iter().any(|c| c.comparison == comparison) {
                format!("{:.2e}", self.max_rel_error(comparison))
            } else {
                "not run".to_string()
            };
            let _ = writeln!(
                out,
                "  hand-written vs {:<13} {worst}  (tolerance {:.0e}, floor {:.0e})",
                comparison.label(),
                tolerance.relative,
                tolerance.floor,
            );
        }
        out
    }

    /// PASSED, or FAILED with every failed check and where to look first.
    fn verdict(&self) -> String {
        let mut out = String::new();
        let failed: Vec<&Check> = self.failures().collect();
        if failed.is_empty() {
            let _ = writeln!(out, "\nPASSED: all {} checks.", self.checks.len());
            return out;
        }
        let _ = writeln!(
            out,
            "\nFAILED: {} of {} checks:",
            failed.len(),
            self.checks.len()
        );
        for c in failed {
            let _ = writeln!(out, "  {}", c.describe());
        }
        if let Some(layer) = self.highest_failing_layer() {
            let _ = writeln!(
                out,
                "An error in layer l's δ also spoils every layer below it (BP2 carries it \
                 down), so look first at the highest failing layer: {layer}."
            );
        }
        out
    }
}
