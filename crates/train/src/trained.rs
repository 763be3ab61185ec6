//! A finished run: its report, and the files `train` writes into the run directory.

use std::fmt;
use std::path::PathBuf;

use model::{Backend, Score};
use run::{
    CheckpointStore, EpochMetrics, Report, RunWriter, StartedFrom, CURVES_FILE, METRICS_FILE,
    REPORT_FILE,
};
use serde::Serialize;

use crate::plan::epochs;
use crate::{Fitted, Splits, TrainConfig, TrainError};

/// A finished run: where it was written, its report and its history. Displayed, it is the
/// closing lines `train` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Trained {
    pub out_dir: PathBuf,
    pub report: Report,
    pub history: Vec<EpochMetrics>,
}

impl fmt::Display for Trained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        writeln!(
            f,
            "test accuracy {:.2}% ({} of {} images) after {} in {:.1} s ({:.2} s per epoch)",
            100.0 * r.test_accuracy,
            r.test_correct.unwrap_or_default(),
            r.test_images,
            epochs(r.epochs),
            r.train_seconds,
            r.seconds_per_epoch
        )?;
        write!(f, "wrote {}", self.out_dir.display())
    }
}

/// Writes the finished run's files (the network and its seal, metrics, curves, report and the
/// kept checkpoints) and moves the run into place.
pub(crate) fn write_run(
    writer: RunWriter,
    report: Report,
    fitted: Fitted,
    config: &TrainConfig,
    store: &CheckpointStore,
) -> Result<Trained, TrainError> {
    writer.write_network(&fitted.network, config.cost)?;
    writer.write(METRICS_FILE, EpochMetrics::to_csv(&fitted.history))?;
    writer.write(CURVES_FILE, curves_svg(&fitted.history))?;
    writer.write(REPORT_FILE, report.to_json()?)?;
    let kept = store.kept()?;
    if !kept.is_empty() {
        let into = writer.staging_dir().join(run::CHECKPOINTS_DIR);
        std::fs::create_dir(&into).map_err(|source| TrainError::Checkpoint {
            path: into.clone(),
            source,
        })?;
        for dir in kept {
            let name = dir.file_name().unwrap_or_default();
            std::fs::rename(&dir, into.join(name)).map_err(|source| TrainError::Checkpoint {
                path: dir.clone(),
                source,
            })?;
        }
    }
    let out_dir = writer.commit()?;
    Ok(Trained {
        out_dir,
        report,
        history: fitted.history,
    })
}

/// The report of a finished run.
pub(crate) fn report(
    config: &TrainConfig,
    splits: &Splits,
    fitted: &Fitted,
    test: Score,
    backend: Backend,
    started_from: Option<StartedFrom>,
) -> Report {
    let last = fitted.history.last();
    Report {
        test_accuracy: test.accuracy,
        test_loss: test.loss,
        test_correct: Some(test.correct),
        epochs: config.epochs,
        train_seconds: fitted.seconds,
        seconds_per_epoch: fitted.history.iter().map(|m| m.seconds).sum::<f64>()
            / fitted.history.len().max(1) as f64,
        backend: backend.name().to_string(),
        final_validation_accuracy: last.and_then(|m| m.validation_accuracy),
        best_validation_accuracy: fitted.best.map(|b| b.validation_accuracy),
        best_validation_epoch: fitted.best.map(|b| b.epoch),
        kept: config.keep,
        kept_epoch: Some(fitted.kept_epoch),
        parameters: burn::module::Module::num_params(&fitted.network),
        layers: config.model.sizes(),
        train_images: splits.train.len(),
        validation_images: splits.validation.len(),
        test_images: splits.test.len(),
        seed: config.seed,
        class_names: config.class_names.clone(),
        per_class: config.per_class,
        started_from,
        rate_changes: fitted.rate_changes.clone(),
    }
}

/// The training curves, from the same numbers as `metrics.csv`.
pub fn curves_svg(history: &[EpochMetrics]) -> String {
    let rows: Vec<pictures::EpochRow> = history
        .iter()
        .map(|m| pictures::EpochRow {
            epoch: m.epoch,
            train_loss: m.train_loss,
            train_accuracy: m.train_accuracy,
            validation_accuracy: m.validation_accuracy,
            learning_rate: m.learning_rate,
        })
        .collect();
    pictures::curves_svg(&rows)
}
