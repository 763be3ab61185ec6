//! Training progress on standard output: on a terminal, a bar redrawn in place during each
//! epoch (`indicatif`, which handles redraw rates and terminal widths), then the epoch's line;
//! in a log or a pipe, one line per epoch.
//!
//! Progress is a courtesy: a closed or full standard output never ends a run, so every write
//! here ignores its error.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use train::{EpochMetrics, Observer, Plan};

/// How `train` shows its progress.
pub(crate) enum Progress {
    /// A bar during each epoch, then the epoch's line.
    Bar { bar: ProgressBar, epochs: usize },
    /// One line per epoch.
    Lines { epochs: usize },
}

/// Prints a line to standard output, ignoring a closed pipe.
fn say(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

impl Progress {
    /// A bar on a terminal unless `plain`, else lines. (`--quiet` uses [`train::Silent`].)
    pub(crate) fn for_stdout(plain: bool) -> Progress {
        if std::io::stdout().is_terminal() && !plain {
            let style = ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} batches, {rate}/s",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}", state.per_sec());
                },
            )
            .progress_chars("== ");
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
            bar.set_style(style);
            Progress::Bar { bar, epochs: 0 }
        } else {
            Progress::Lines { epochs: 0 }
        }
    }
}

impl Progress {
    /// Shows what the run is about to do, before its first epoch.
    pub(crate) fn show_plan(&mut self, plan: &Plan) {
        match self {
            Progress::Bar { epochs, .. } | Progress::Lines { epochs } => {
                *epochs = plan.epochs;
                say(plan);
            }
        }
    }
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, batches: usize) {
        if let Progress::Bar { bar, epochs } = self {
            bar.reset();
            bar.set_length(batches as u64);
            bar.set_prefix(format!("{epoch:>3}/{epochs}"));
        }
    }

    fn batch_done(&mut self) {
        if let Progress::Bar { bar, .. } = self {
            bar.inc(1);
        }
    }

    fn epoch_done(&mut self, metrics: &EpochMetrics) {
        match self {
            Progress::Bar { bar, epochs } => {
                // The bar is cleared (until the next epoch resets it): the terminal keeps only
                // the epochs' lines.
                bar.finish_and_clear();
                say(metrics.line(*epochs));
            }
            Progress::Lines { epochs } => say(metrics.line(*epochs)),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Progress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}
