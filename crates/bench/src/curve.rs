//! `bench curve`: test accuracy against epochs for one training config, the first epoch at each
//! target accuracy and the epoch from which the run holds it, so that two ways of training are compared by the epochs they need
//! rather than by the seconds one host takes.
//!
//! The run is the one `train --config FILE` makes (the same network, seed, schedule and
//! distortions, on all of the config's training images), with the test images scored after
//! every epoch. They only watch: the run keeps its last epoch and chooses nothing by them. Each
//! epoch's row is written to `OUT.partial` as it ends, so an interrupted run keeps its curve so
//! far; the finished curve then replaces `OUT`. A partial file that exists is refused (two runs
//! would mix their rows in it).

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use train::{EpochMetrics, Keep, Observer, Overrides, TrainConfig};

use crate::args::CurveArgs;
use crate::cpu::{Busy, Whose};

/// The header of the curve's CSV file.
const HEADER: &str = "epoch,test_accuracy,train_loss,learning_rate,seconds";

/// Trains `args.config` with the test images watched, printing each epoch to stderr and the
/// summary to stdout.
pub(crate) fn curve(args: &CurveArgs) -> Result<()> {
    if let Some(bad) = args.target.iter().find(|t| !(0.0..=100.0).contains(*t)) {
        bail!("--target {bad} is not a percentage: give accuracies from 0 to 100, e.g. 99.3");
    }
    let overrides = Overrides {
        epochs: args.epochs,
        seed: args.seed,
        backend: args.backend,
        data_dir: args.data_dir.clone(),
        learning_rate: None,
    };
    if let Some(out) = args.out.as_ref().filter(|out| out.is_dir()) {
        bail!(
            "--out {} is a directory: name the CSV file to write, e.g. {}",
            out.display(),
            out.join("curve.csv").display()
        );
    }
    let mut config = TrainConfig::resolve(&args.config, &overrides)?;
    // Every training image trains and the last epoch is kept: the test images choose nothing.
    config.validation = 0;
    config.keep = Keep::Last;
    let (mut splits, _) = train::load_splits(&config)?;
    splits.validation = splits.test.head(splits.test.len());
    let backend = model::Backend::resolve(config.backend)?;
    let partial = args.out.as_ref().map(|out| partial_path(out));
    let mut watcher = Watcher {
        epochs: config.epochs,
        file: match &partial {
            Some(path) => Some(start_file(path)?),
            None => None,
        },
        partial: partial.clone(),
        error: None,
    };
    let busy = Busy::start(Whose::Own);
    let fitted = train::fit(&config, &splits, backend, &mut watcher)?;
    let cores = busy.cores();
    if let Some(error) = watcher.error {
        return Err(error);
    }
    if let (Some(out), Some(partial)) = (&args.out, &partial) {
        std::fs::rename(partial, out)
            .with_context(|| format!("cannot move {} to {}", partial.display(), out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    let summary = Summary {
        config: &args.config,
        seed: config.seed,
        backend: backend.label(),
        history: &fitted.history,
        seconds: fitted.seconds,
        cores,
    };
    crate::print_ignoring_closed_pipe(&summary.text(&args.target))
        .context("cannot print the summary to standard output")
}

/// `FILE.partial` beside `FILE`: where the curve grows until the run ends.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

fn start_file(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // Never two runs into one file: a partial file is another run's, or an interrupted one's.
    let mut file = match File::options().write(true).create_new(true).open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} exists: another `bench curve` is writing it, or an interrupted one left it (its \
             rows are that run's curve so far); move it away or delete it, then run again",
            path.display()
        ),
        opened => opened.with_context(|| format!("cannot write {}", path.display()))?,
    };
    writeln!(file, "{HEADER}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(file)
}

/// One row of the curve: the epoch, its test accuracy (a fraction), its mean training cost,
/// learning rate and seconds of training steps.
fn row(m: &EpochMetrics) -> String {
    let accuracy = m
        .validation_accuracy
        .map_or_else(String::new, |a| a.to_string());
    format!(
        "{},{accuracy},{},{},{}",
        m.epoch, m.train_loss, m.learning_rate, m.seconds
    )
}

/// Shows each epoch as it ends and appends it to the partial file.
struct Watcher {
    epochs: usize,
    file: Option<File>,
    partial: Option<PathBuf>,
    /// The first failure to write the file; training goes on, and the run ends with it.
    error: Option<anyhow::Error>,
}

impl Observer for Watcher {
    fn epoch_done(&mut self, m: &EpochMetrics) {
        let accuracy = m.validation_accuracy.unwrap_or(f64::NAN);
        eprintln!(
            "epoch {:>3}/{}  test {:6.2}%  loss {:.4}  lr {:.2e}  {:.2} s",
            m.epoch,
            self.epochs,
            100.0 * accuracy,
            m.train_loss,
            m.learning_rate,
            m.seconds
        );
        if let (Some(file), Some(path), None) = (&mut self.file, &self.partial, &self.error) {
            if let Err(e) = writeln!(file, "{}", row(m)).and_then(|()| file.flush()) {
                self.error = Some(anyhow::Error::new(e).context(format!(
                    "cannot write {} (the curve so far is in it)",
                    path.display()
                )));
            }
        }
    }
}

/// The epochs at which a curve first reaches each target, and what it ended at.
struct Summary<'a> {
    config: &'a Path,
    seed: u64,
    backend: &'a str,
    history: &'a [EpochMetrics],
    seconds: f64,
    cores: Option<f64>,
}

impl Summary<'_> {
    fn text(&self, targets: &[f64]) -> String {
        let accuracy = |m: &EpochMetrics| m.validation_accuracy.unwrap_or(f64::NAN);
        let epochs = self.history.len();
        let mut text = format!(
            "{}, seed {}, {epochs} epoch{} on {}",
            self.config.display(),
            self.seed,
            if epochs == 1 { "" } else { "s" },
            self.backend
        );
        if let Some(last) = self.history.last() {
            let _ = write!(
                text,
                ": test accuracy {:.2}% after the last",
                100.0 * accuracy(last)
            );
        }
        let best = (self.history.iter()).max_by(|a, b| accuracy(a).total_cmp(&accuracy(b)));
        if let Some(best) = best {
            let (percent, at) = (100.0 * accuracy(best), best.epoch);
            let _ = write!(text, ", highest {percent:.2}% (epoch {at})");
        }
        for &target in targets {
            let (history, fraction) = (self.history, target / 100.0);
            let reached = match (
                first_epoch_at(history, fraction),
                held_from(history, fraction),
            ) {
                (None, _) => "not reached".to_string(),
                (Some(first), None) => format!("first at epoch {first}, not held to the end"),
                (Some(first), Some(held)) => {
                    format!("first at epoch {first}, held from epoch {held}")
                }
            };
            let _ = write!(text, "\n{target}%: {reached}");
        }
        let steps: f64 = self.history.iter().map(|m| m.seconds).sum();
        let _ = write!(
            text,
            "\n{:.1} s in all, {:.2} s an epoch of training steps",
            self.seconds,
            steps / epochs.max(1) as f64
        );
        if let Some(cores) = self.cores {
            let _ = write!(text, ", {cores:.2} cores busy");
        }
        text
    }
}

/// The first epoch whose test accuracy is at least `target` (a fraction).
fn first_epoch_at(history: &[EpochMetrics], target: f64) -> Option<usize> {
    (history.iter())
        .find(|m| m.validation_accuracy.is_some_and(|a| a >= target))
        .map(|m| m.epoch)
}

/// The first epoch from which every later epoch's test accuracy is at least `target`: a single
/// lucky epoch reaches a target long before a run holds it.
fn held_from(history: &[EpochMetrics], target: f64) -> Option<usize> {
    let below = |m: &EpochMetrics| m.validation_accuracy.is_none_or(|a| a < target);
    match history.iter().rposition(below) {
        Some(i) => history.get(i + 1).map(|m| m.epoch),
        None => history.first().map(|m| m.epoch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: usize, accuracy: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss: 0.5 / epoch as f64,
            train_accuracy: 0.9,
            validation_loss: Some(0.1),
            validation_accuracy: Some(accuracy),
            learning_rate: 0.001,
            seconds: 2.0,
        }
    }

    #[test]
    fn the_first_epoch_at_a_target_is_the_first_to_reach_it() {
        let history = [
            epoch(1, 0.97),
            epoch(2, 0.993),
            epoch(3, 0.991),
            epoch(4, 0.995),
        ];
        assert_eq!(first_epoch_at(&history, 0.99), Some(2));
        assert_eq!(first_epoch_at(&history, 0.993), Some(2));
        assert_eq!(first_epoch_at(&history, 0.994), Some(4));
        assert_eq!(first_epoch_at(&history, 0.996), None);
        assert_eq!(held_from(&history, 0.99), Some(2));
        assert_eq!(held_from(&history, 0.993), Some(4));
        assert_eq!(held_from(&history, 0.96), Some(1));
        assert_eq!(held_from(&history, 0.996), None);
        assert_eq!(held_from(&[], 0.5), None);
        let summary = Summary {
            config: Path::new("configs/best.toml"),
            seed: 2,
            backend: "flex",
            history: &history,
            seconds: 8.5,
            cores: Some(1.5),
        };
        let text = summary.text(&[99.3, 99.6]);
        assert_eq!(
            text,
            "configs/best.toml, seed 2, 4 epochs on flex: test accuracy 99.50% after the last, \
             highest 99.50% (epoch 4)\n99.3%: first at epoch 2, held from epoch 4\n\
             99.6%: not reached\n\
             8.5 s in all, 2.00 s an epoch of training steps, 1.50 cores busy"
        );
    }

    #[test]
    fn rows_carry_the_epoch_and_its_test_accuracy() {
        assert_eq!(
            row(&epoch(3, 0.9934)),
            "3,0.9934,0.16666666666666666,0.001,2"
        );
        assert_eq!(
            HEADER.split(',').count(),
            row(&epoch(1, 0.5)).split(',').count()
        );
        assert_eq!(
            partial_path(Path::new("out/curve.csv")),
            Path::new("out/curve.csv.partial")
        );
    }
}
