//! `report.json`: a run's summary, what `train` prints at the end and what the readers show.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::read_text;
use crate::layout::REPORT_FILE;
use crate::RunError;

/// Which weights a run keeps (the config's `keep`, the report's `kept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The weights after the last epoch.
    #[default]
    Last,
    /// The weights of the epoch with the best validation accuracy (early stopping that keeps
    /// training to the end).
    Best,
}

/// The run another run's network started from (its `[init]` table), and what it copied and
/// froze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedFrom {
    /// The source run's directory.
    pub run: PathBuf,
    /// Layers copied from it (all but the output layer when it was reset).
    pub copied_layers: usize,
    /// Layers that kept their weights during training (the first ones).
    pub frozen_layers: usize,
    pub reset_output: bool,
}

impl fmt::Display for StartedFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "starting from {}: {} layer{} copied",
            self.run.display(),
            self.copied_layers,
            if self.copied_layers == 1 { "" } else { "s" }
        )?;
        if self.reset_output {
            write!(f, ", output layer afresh")?;
        }
        match self.frozen_layers {
            0 => Ok(()),
            1 => write!(f, ", layer 1 frozen"),
            n => write!(f, ", layers 1–{n} frozen"),
        }
    }
}

/// A run's `report.json`.
///
/// Every run `train` has written reads back. The first runs (before 2026-11-30) lack
/// `test_correct`, `kept` and `kept_epoch`; those read as absent (`kept` as
/// [`Keep::Last`], which is what those runs kept). Fields added later still
/// (`class_names`, `per_class`, `started_from`) are written only when they apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Fraction of the test images classified right, in 0..1.
    pub test_accuracy: f64,
    pub test_loss: f64,
    /// Test images classified right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_correct: Option<usize>,
    pub epochs: usize,
    /// Wall time of training, per-epoch validation included.
    pub train_seconds: f64,
    /// Mean wall time of an epoch's training steps.
    pub seconds_per_epoch: f64,
    /// The backend the run actually used.
    pub backend: String,
    /// Validation accuracy after the last epoch (`null` without validation images).
    pub final_validation_accuracy: Option<f64>,
    /// The best epoch's validation accuracy, and which epoch (`null` without validation).
    pub best_validation_accuracy: Option<f64>,
    pub best_validation_epoch: Option<usize>,
    /// Which weights `model.bpk` holds: `last` or `best`.
    #[serde(default)]
    pub kept: Keep,
    /// The epoch whose weights `model.bpk` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_epoch: Option<usize>,
    pub parameters: usize,
    pub layers: Vec<usize>,
    pub train_images: usize,
    pub validation_images: usize,
    pub test_images: usize,
    pub seed: u64,
    /// The names of the network's outputs, when the data's classes are not the ten digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// Training images per class, when the config chose a few of each (`per_class`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_class: Option<usize>,
    /// The run whose network this one started from (`[init]`), and what it copied and froze.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_from: Option<StartedFrom>,
    /// Each time the run was resumed with a lower learning rate: at which step, from, to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_changes: Vec<crate::RateChange>,
}

impl Report {
    /// The report of the run in `dir`, `None` when it has none (a run can be used without
    /// one), an error when it has one that cannot be read.
    pub fn read(dir: &Path) -> Result<Option<Report>, RunError> {
        let path = dir.join(REPORT_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = read_text(&path)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| RunError::BadReport { path, source })
    }

    /// The report as `train` writes it: pretty JSON and a final newline.
    pub fn to_json(&self) -> Result<String, RunError> {
        serde_json::to_string_pretty(self)
            .map(|json| json + "\n")
            .map_err(|source| RunError::EncodeJson {
                file: REPORT_FILE,
                source,
            })
    }

    /// Each field as a name and a value as a person reads them (strings unquoted, lists as
    /// JSON), by name: the summary table of `infer --pictures`' page. An absent optional field
    /// is left out; a first run's `kept` shows as `last`, what it kept.
    pub fn fields(&self) -> Vec<(String, String)> {
        let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) else {
            return Vec::new();
        };
        map.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    v => v.to_string(),
                };
                (k, v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `report.json` as the first runs wrote it (2026-11-29).
    const FIRST: &str = r#"{
  "test_accuracy": 0.9512,
  "test_loss": 0.0412,
  "epochs": 30,
  "train_seconds": 61.2,
  "seconds_per_epoch": 1.9,
  "backend": "ndarray",
  "final_validation_accuracy": 0.953,
  "best_validation_accuracy": 0.957,
  "best_validation_epoch": 21,
  "parameters": 101770,
  "layers": [784, 128, 10],
  "train_images": 55000,
  "validation_images": 5000,
  "test_images": 10000,
  "seed": 1
}"#;

    #[test]
    fn the_first_runs_reports_still_read() {
        let report: Report = serde_json::from_str(FIRST).unwrap();
        assert_eq!(report.kept, Keep::Last);
        assert_eq!((report.test_correct, report.kept_epoch), (None, None));
        assert_eq!(report.best_validation_epoch, Some(21));
        assert_eq!(report.layers, [784, 128, 10]);
    }

    #[test]
    fn a_report_reads_back_as_written_and_keeps_its_field_names() {
        let mut report: Report = serde_json::from_str(FIRST).unwrap();
        report.test_correct = Some(9512);
        report.kept_epoch = Some(30);
        report.started_from = Some(StartedFrom {
            run: "/runs/digits04".into(),
            copied_layers: 1,
            frozen_layers: 1,
            reset_output: true,
        });
        let json = report.to_json().unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
        // The names users' scripts read.
        for key in [
            "\"test_accuracy\"",
            "\"test_correct\"",
            "\"kept\": \"last\"",
            "\"kept_epoch\"",
            "\"started_from\"",
        ] {
            assert!(json.contains(key), "{key} in {json}");
        }
        assert!(
            !json.contains("class_names"),
            "absent fields are not written: {json}"
        );
        let fields = report.fields();
        assert!(fields.contains(&("test_accuracy".to_string(), "0.9512".to_string())));
        assert!(fields.contains(&("backend".to_string(), "ndarray".to_string())));
    }

    #[test]
    fn a_missing_report_is_none_and_a_damaged_one_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(Report::read(tmp.path()).unwrap().is_none());
        std::fs::write(tmp.path().join(REPORT_FILE), "{\"test_accuracy\": ").unwrap();
        let err = Report::read(tmp.path()).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "report.json is not a run's report (restore the file `train` wrote, or run \
                 `train` again)"
            ),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn a_huge_report_is_refused_without_being_read_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(REPORT_FILE);
        let file = std::fs::File::create(&path).unwrap();
        // 4 GB on paper, a few blocks on disk: a reader that read it whole would not return.
        file.set_len(4 << 30).unwrap();
        let err = Report::read(tmp.path()).unwrap_err();
        assert!(
            matches!(err, RunError::TooLarge { .. }) && err.to_string().contains("over 1048576"),
            "{err}"
        );
    }
}
