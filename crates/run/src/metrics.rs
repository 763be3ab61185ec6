//! `metrics.csv`: what each epoch did, one row per epoch.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::RunError;

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Mean cost over the epoch's training batches, as they were seen.
    pub train_loss: f64,
    /// Fraction of training images classified right, by the network at the time of each batch.
    pub train_accuracy: f64,
    /// `None` when the run holds no validation images.
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch's training steps (validation excluded).
    pub seconds: f64,
}

/// The header of `metrics.csv`: its columns, in order.
const HEADER: &str =
    "epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,learning_rate,seconds";

impl EpochMetrics {
    /// The epoch as one line of progress: `epoch   3/30  loss 0.0123  train  97.10% ...`.
    pub fn line(&self, epochs: usize) -> String {
        let validation = self
            .validation_accuracy
            .map_or_else(|| format!("{:>7}", "-"), |a| format!("{:6.2}%", 100.0 * a));
        format!(
            "epoch {:>3}/{epochs}  loss {:.4}  train {:6.2}%  validation {validation}  lr {:.4}  {:.2} s",
            self.epoch,
            self.train_loss,
            100.0 * self.train_accuracy,
            self.learning_rate,
            self.seconds
        )
    }

    /// `metrics.csv` for these epochs: a header, then a row per epoch; a run without
    /// validation images leaves its validation fields empty.
    pub fn to_csv(history: &[EpochMetrics]) -> String {
        let optional = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
        let mut csv = format!("{HEADER}\n");
        for m in history {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{}",
                m.epoch,
                m.train_loss,
                m.train_accuracy,
                optional(m.validation_loss),
                optional(m.validation_accuracy),
                m.learning_rate,
                m.seconds
            );
        }
        csv
    }

    /// Reads `metrics.csv` as [`EpochMetrics::to_csv`] writes it (`path` names the file in
    /// errors). The numbers read back to the same bits.
    pub fn from_csv(text: &str, path: &Path) -> Result<Vec<EpochMetrics>, RunError> {
        let bad = |line: usize, problem: &'static str| RunError::BadMetrics {
            path: path.to_path_buf(),
            line,
            problem,
        };
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad(1, "the header is not the one `train` writes"));
        }
        lines
            .enumerate()
            .map(|(i, row)| {
                let line = i + 2;
                let fields: Vec<&str> = row.split(',').collect();
                // epoch, train loss and accuracy, validation loss and accuracy, rate, seconds
                let [epoch, loss, accuracy, v_loss, v_accuracy, rate, seconds] = fields[..] else {
                    return Err(bad(line, "a row needs seven fields"));
                };
                let number =
                    |s: &str| (s.parse::<f64>()).map_err(|_| bad(line, "a field is not a number"));
                let optional = |s: &str| match s {
                    "" => Ok(None),
                    s => number(s).map(Some),
                };
                Ok(EpochMetrics {
                    epoch: epoch
                        .parse()
                        .map_err(|_| bad(line, "the epoch is not a whole number"))?,
                    train_loss: number(loss)?,
                    train_accuracy: number(accuracy)?,
                    validation_loss: optional(v_loss)?,
                    validation_accuracy: optional(v_accuracy)?,
                    learning_rate: number(rate)?,
                    seconds: number(seconds)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_read_back_to_the_same_bits() {
        let history = vec![
            EpochMetrics {
                epoch: 1,
                train_loss: 0.1 + 0.2,
                train_accuracy: 0.912_345_678_901_234_5,
                validation_loss: Some(1e-300),
                validation_accuracy: Some(0.95),
                learning_rate: 3.0,
                seconds: 0.057_473_033,
            },
            EpochMetrics {
                epoch: 2,
                validation_loss: None,
                validation_accuracy: None,
                ..EpochMetrics {
                    epoch: 0,
                    train_loss: f64::MIN_POSITIVE,
                    train_accuracy: 1.0,
                    validation_loss: None,
                    validation_accuracy: None,
                    learning_rate: 0.001,
                    seconds: 12.5,
                }
            },
        ];
        let csv = EpochMetrics::to_csv(&history);
        assert!(csv.lines().nth(2).unwrap().contains(",,"), "{csv}");
        let read = EpochMetrics::from_csv(&csv, Path::new("metrics.csv")).unwrap();
        assert_eq!(read, history);
    }

    #[test]
    fn a_damaged_file_names_its_line() {
        let csv = format!("{HEADER}\n1,0.5,0.9,,,3,1\n2,0.4,zero,,,3,1\n");
        let err = EpochMetrics::from_csv(&csv, Path::new("run/metrics.csv")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "run/metrics.csv is not a run's metrics (line 3: a field is not a number); restore \
             the file `train` wrote"
        );
        assert!(EpochMetrics::from_csv("epoch,loss\n", Path::new("m.csv")).is_err());
        assert!(EpochMetrics::from_csv(&format!("{HEADER}\n1,2\n"), Path::new("m.csv")).is_err());
    }
}
