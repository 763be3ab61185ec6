//! Running a trained network over images: predictions, accuracy, confusion matrix, and
//! per-digit precision and recall.

use burn::prelude::*;
use data::{MnistDataset, IMAGE_PIXELS, NUM_CLASSES};
use model::{Backend, Cost, Mlp};
use serde::Serialize;

use crate::InferError;

/// What the network says about one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The digit with the highest output activation.
    pub digit: u8,
    /// The ten output activations: σ(z) for a quadratic-cost network, softmax
    /// probabilities for a cross-entropy one.
    pub activations: [f32; NUM_CLASSES],
}

/// Runs `network` on `backend` on images given as pixel rows in 0..1 (784 each).
pub fn predict(
    network: &Mlp,
    cost: Cost,
    pixels: &[f32],
    backend: Backend,
) -> Result<Vec<Prediction>, InferError> {
    let device = &backend.device()?;
    let parts = backend.eval_parts();
    let n = pixels.len() / IMAGE_PIXELS;
    let mut out = Vec::with_capacity(n);
    for chunk in pixels.chunks(Mlp::EVAL_BATCH * IMAGE_PIXELS) {
        let rows = chunk.len() / IMAGE_PIXELS;
        let x = Tensor::<2>::from_data(
            TensorData::new(chunk.to_vec(), [rows, IMAGE_PIXELS]),
            device,
        );
        let a: Vec<f32> = cost
            .output(network.forward_parts(x, parts))
            .into_data()
            .try_to_vec()
            .map_err(|e| InferError::Tensor(format!("{e:?}")))?;
        for row in a.chunks_exact(NUM_CLASSES) {
            let mut activations = [0f32; NUM_CLASSES];
            activations.copy_from_slice(row);
            out.push(Prediction {
                digit: argmax(&activations),
                activations,
            });
        }
    }
    Ok(out)
}

/// The index of the largest value (the first, on ties).
pub fn argmax(values: &[f32; NUM_CLASSES]) -> u8 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as u8
}

/// Pixels of a dataset scaled to 0..1, as the batcher scales them for training.
pub fn dataset_pixels(dataset: &MnistDataset, indices: impl Iterator<Item = usize>) -> Vec<f32> {
    indices
        .flat_map(|i| dataset.image(i).iter().map(|&p| data::scale_pixel(p)))
        .collect()
}

/// Precision and recall of one digit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigitScore {
    pub digit: u8,
    /// Of the images predicted as this digit, the fraction that are (NaN if none was).
    pub precision: f64,
    /// Of the images of this digit, the fraction predicted as it.
    pub recall: f64,
    /// Images of this digit.
    pub support: u32,
}

/// How a network did on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub images: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// `confusion[true][predicted]`: counts of images of digit `true` predicted as `predicted`.
    pub confusion: [[u32; NUM_CLASSES]; NUM_CLASSES],
    pub per_digit: Vec<DigitScore>,
}

impl Evaluation {
    /// Scores predictions against labels.
    pub fn score(labels: &[u8], predictions: &[u8]) -> Evaluation {
        let mut confusion = [[0u32; NUM_CLASSES]; NUM_CLASSES];
        for (&l, &p) in labels.iter().zip(predictions) {
            confusion[l as usize][p as usize] += 1;
        }
        let correct: usize = (0..NUM_CLASSES).map(|d| confusion[d][d] as usize).sum();
        let per_digit = (0..NUM_CLASSES)
            .map(|d| {
                let predicted: u32 = (0..NUM_CLASSES).map(|t| confusion[t][d]).sum();
                let actual: u32 = confusion[d].iter().sum();
                let hit = f64::from(confusion[d][d]);
                DigitScore {
                    digit: d as u8,
                    precision: hit / f64::from(predicted),
                    recall: hit / f64::from(actual),
                    support: actual,
                }
            })
            .collect();
        Evaluation {
            images: labels.len(),
            correct,
            accuracy: correct as f64 / labels.len().max(1) as f64,
            confusion,
            per_digit,
        }
    }

    /// The evaluation as a text table: accuracy, confusion matrix, precision and recall.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "accuracy {:.2}% ({} of {} test images)\n\nconfusion matrix (rows: true digit, columns: predicted)\n",
            100.0 * self.accuracy,
            self.correct,
            self.images
        );
        s.push_str("      ");
        for d in 0..NUM_CLASSES {
            s.push_str(&format!("{d:>6}"));
        }
        s.push_str("    recall\n");
        for (t, row) in self.confusion.iter().enumerate() {
            s.push_str(&format!("{t:>6}"));
            for c in row {
                s.push_str(&format!("{c:>6}"));
            }
            s.push_str(&format!("   {:>6.2}%\n", 100.0 * self.per_digit[t].recall));
        }
        s.push_str("precision");
        for (i, d) in self.per_digit.iter().enumerate() {
            let width = if i == 0 { 3 } else { 6 };
            if d.precision.is_nan() {
                s.push_str(&format!("{:>width$}", "-"));
            } else {
                s.push_str(&format!("{:>width$.1}", 100.0 * d.precision));
            }
        }
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_count_right_and_wrong() {
        let labels = [0, 0, 1, 1, 1, 2];
        let preds = [0, 1, 1, 1, 2, 2];
        let e = Evaluation::score(&labels, &preds);
        assert_eq!((e.images, e.correct), (6, 4));
        assert!((e.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(e.confusion[0][1], 1);
        assert_eq!(e.confusion[1][2], 1);
        assert_eq!(e.confusion[1][1], 2);
        let one = &e.per_digit[1];
        assert!(
            (one.precision - 2.0 / 3.0).abs() < 1e-12 && (one.recall - 2.0 / 3.0).abs() < 1e-12
        );
        assert_eq!(e.per_digit[2].support, 1);
        assert!((e.per_digit[2].precision - 0.5).abs() < 1e-12);
        assert!(e.per_digit[5].precision.is_nan(), "never predicted");
        let text = e.to_text();
        assert!(text.contains("accuracy 66.67% (4 of 6"), "{text}");
    }

    #[test]
    fn argmax_takes_the_first_highest() {
        let mut v = [0.0; 10];
        v[3] = 0.9;
        v[7] = 0.9;
        assert_eq!(argmax(&v), 3);
    }
}
