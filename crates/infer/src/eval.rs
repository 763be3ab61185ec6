//! How a trained network does on a labelled set: accuracy, the confusion matrix, and per-digit
//! precision and recall, from the one prediction path ([`model::Predictor`]).

use std::fmt;

use data::{ImageBatcher, ImageDataset};
use model::Predictor;
use serde::Serialize;

use crate::InferError;

/// Precision and recall of one class (a digit, for MNIST).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    /// The class's output index (the digit itself for MNIST's ten classes); `digit` in the
    /// JSON, as before classes had names.
    #[serde(rename = "digit")]
    pub class: u8,
    /// The class's name (`"7"`, `"sneaker"`).
    pub name: String,
    /// Of the images predicted as this digit, the fraction that are (NaN if none was).
    pub precision: f64,
    /// Of the images of this digit, the fraction predicted as it.
    pub recall: f64,
    /// Images of this digit.
    pub support: u32,
}

/// Accuracy, the confusion matrix and per-digit precision and recall of predictions against
/// labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfusionReport {
    pub images: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// `confusion[true][predicted]`: counts of images of class `true` predicted as `predicted`
    /// (k × k for k classes).
    pub confusion: Vec<Vec<u32>>,
    /// Each class's scores, in output order; `per_digit` in the JSON, the name it had before
    /// classes other than digits (scripts read it).
    #[serde(rename = "per_digit")]
    pub per_class: Vec<ClassScore>,
}

/// Runs `predictor` over every image of `dataset` and scores its answers; `names` names the
/// network's outputs.
pub fn evaluate(
    predictor: &Predictor,
    dataset: &ImageDataset,
    names: &[String],
) -> Result<ConfusionReport, InferError> {
    let mut predicted = Vec::with_capacity(dataset.len());
    let batcher = ImageBatcher::new(names.len());
    for batch in batcher.in_order(dataset, predictor.batch_size(), predictor.device()) {
        predicted.extend(predictor.classes(batch.images)?);
    }
    Ok(ConfusionReport::score(dataset.labels(), &predicted, names))
}

/// Pixels of a dataset's images scaled to 0..1, one 784-value row per image.
pub fn dataset_pixels(dataset: &ImageDataset, indices: impl Iterator<Item = usize>) -> Vec<f32> {
    indices
        .flat_map(|i| dataset.image(i).iter().map(|&p| data::scale_pixel(p)))
        .collect()
}

impl ConfusionReport {
    /// Scores predicted classes against labels, for the classes `names` names (labels and
    /// predictions outside them are not counted).
    pub fn score(labels: &[u8], predictions: &[usize], names: &[String]) -> ConfusionReport {
        let k = names.len();
        let mut confusion = vec![vec![0u32; k]; k];
        for (&l, &p) in labels.iter().zip(predictions) {
            if let Some(cell) = confusion.get_mut(usize::from(l)).and_then(|r| r.get_mut(p)) {
                *cell += 1;
            }
        }
        let correct: usize = (0..k).map(|d| confusion[d][d] as usize).sum();
        let per_class = (0..k)
            .map(|d| {
                let predicted: u32 = (0..k).map(|t| confusion[t][d]).sum();
                let actual: u32 = confusion[d].iter().sum();
                let hit = f64::from(confusion[d][d]);
                ClassScore {
                    class: d as u8,
                    name: names[d].clone(),
                    precision: hit / f64::from(predicted),
                    recall: hit / f64::from(actual),
                    support: actual,
                }
            })
            .collect();
        ConfusionReport {
            images: labels.len(),
            correct,
            accuracy: correct as f64 / labels.len().max(1) as f64,
            confusion,
            per_class,
        }
    }
}

/// The row labels' width, so that `precision` fits and the columns line up.
const LABEL: usize = 9;
/// Each column's width.
const COLUMN: usize = 7;

impl fmt::Display for ConfusionReport {
    /// Accuracy, then the confusion matrix with recall on the right and precision below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "accuracy {:.2}% ({} of {} test images)\n\nconfusion matrix (rows: true {}, columns: predicted)",
            100.0 * self.accuracy,
            self.correct,
            self.images,
            // The digits, or some of them: still digits.
            if self.per_class.iter().all(|d| d.name.parse::<u8>().is_ok_and(|n| n < 10)) {
                "digit"
            } else {
                "class"
            }
        )?;
        // Names wider than a column are cut to fit (the JSON has them whole).
        let cut = |name: &str, width: usize| name.chars().take(width - 1).collect::<String>();
        write!(f, "{:LABEL$}", "")?;
        for d in &self.per_class {
            write!(f, "{:>COLUMN$}", cut(&d.name, COLUMN))?;
        }
        writeln!(f, "    recall")?;
        for (t, row) in self.confusion.iter().enumerate() {
            write!(f, "{:>LABEL$}", cut(&self.per_class[t].name, LABEL))?;
            for c in row {
                write!(f, "{c:>COLUMN$}")?;
            }
            writeln!(f, "   {:>6.2}%", 100.0 * self.per_class[t].recall)?;
        }
        write!(f, "{:<LABEL$}", "precision")?;
        for d in &self.per_class {
            if d.precision.is_nan() {
                write!(f, "{:>COLUMN$}", "-")?;
            } else {
                write!(f, "{:>COLUMN$.1}", 100.0 * d.precision)?;
            }
        }
        writeln!(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits() -> Vec<String> {
        data::digit_names()
    }

    #[test]
    fn scores_count_right_and_wrong() {
        let labels = [0, 0, 1, 1, 1, 2];
        let preds = [0, 1, 1, 1, 2, 2];
        let e = ConfusionReport::score(&labels, &preds, &digits());
        assert_eq!((e.images, e.correct), (6, 4));
        assert!((e.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(e.confusion[0][1], 1);
        assert_eq!(e.confusion[1][2], 1);
        assert_eq!(e.confusion[1][1], 2);
        let one = &e.per_class[1];
        assert!(
            (one.precision - 2.0 / 3.0).abs() < 1e-12 && (one.recall - 2.0 / 3.0).abs() < 1e-12
        );
        assert_eq!(e.per_class[2].support, 1);
        assert!((e.per_class[2].precision - 0.5).abs() < 1e-12);
        assert!(e.per_class[5].precision.is_nan(), "never predicted");
        let text = e.to_string();
        assert!(text.contains("accuracy 66.67% (4 of 6"), "{text}");
    }

    #[test]
    fn every_row_of_the_table_lines_up() {
        // 100% precision is the widest figure a column holds.
        let labels: Vec<u8> = (0..10).collect();
        let preds: Vec<usize> = (0..10).collect();
        let text = ConfusionReport::score(&labels, &preds, &digits()).to_string();
        let table: Vec<&str> = text.lines().skip(3).collect();
        let precision = table.last().unwrap();
        assert!(precision.starts_with("precision  100.0"), "{text}");
        // Every number of the precision row ends where its column's digit does.
        let header = table[0];
        let ends = |line: &str| -> Vec<usize> {
            let b = line.as_bytes();
            (1..b.len())
                .filter(|&i| b[i - 1] != b' ' && b[i] == b' ')
                .chain([b.len()])
                .collect()
        };
        let precision_ends = ends(precision);
        assert_eq!(&ends(header)[..10], &precision_ends[1..11], "{text}");
    }

    #[test]
    fn k_classes_are_scored_and_named() {
        let names: Vec<String> = ["five", "six", "seven"].map(String::from).to_vec();
        let e = ConfusionReport::score(&[0, 1, 2, 2], &[0, 1, 2, 0], &names);
        assert_eq!(
            e.confusion,
            vec![vec![1, 0, 0], vec![0, 1, 0], vec![1, 0, 1]]
        );
        assert_eq!((e.correct, e.per_class.len()), (3, 3));
        let text = e.to_string();
        assert!(text.contains("rows: true class"), "{text}");
        assert!(
            text.contains("   seven") && text.contains("  six"),
            "{text}"
        );
    }
}
