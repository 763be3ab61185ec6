//! The examples a check runs on: MNIST test images or seeded random inputs.
//!
//! Every input value is a number that f32 represents exactly, so the f32 run of Burn, the f64
//! run and the hand-written pass all see the same inputs: only their arithmetic differs.

use data::ImageDataset;
use serde::Serialize;

use crate::GradcheckError;

/// Where a batch's inputs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// The first images of the MNIST test set.
    Mnist,
    /// Uniform random inputs in [0, 1) and random labels, drawn from the seed.
    Random,
}

impl DataKind {
    /// The name used in reports: `mnist` or `random`.
    pub fn name(self) -> &'static str {
        match self {
            DataKind::Mnist => "mnist",
            DataKind::Random => "random",
        }
    }
}

/// A batch of n examples: inputs `[n, width]` row-major and one class label each.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub inputs: Vec<f64>,
    pub labels: Vec<usize>,
    pub width: usize,
}

impl Batch {
    /// A batch from its parts, checking that there is one label per row of inputs.
    pub fn new(
        inputs: Vec<f64>,
        labels: Vec<usize>,
        width: usize,
    ) -> Result<Batch, GradcheckError> {
        if labels.is_empty() || width == 0 || inputs.len() != labels.len() * width {
            return Err(GradcheckError::BatchShape {
                values: inputs.len(),
                rows: labels.len(),
                width,
            });
        }
        Ok(Batch {
            inputs,
            labels,
            width,
        })
    }

    /// `n` examples of `width` inputs uniform in [0, 1) (like pixel intensities) with labels
    /// uniform in 0..classes, all determined by `seed`.
    pub fn random(
        n: usize,
        width: usize,
        classes: usize,
        seed: u64,
    ) -> Result<Batch, GradcheckError> {
        if classes == 0 {
            return Err(GradcheckError::InvalidBatch {
                reason: "labels need at least one class",
            });
        }
        let mut rng = data::SplitMix64::new(seed ^ 0x6261_7463_6800_0000);
        // Multiples of 2⁻²⁴, which f32 holds exactly, so Burn's f32 run gets these very values.
        let inputs = (0..n * width)
            .map(|_| (rng.next_u64() >> 40) as f64 / (1u64 << 24) as f64)
            .collect();
        let labels = (0..n).map(|_| rng.below(classes)).collect();
        Batch::new(inputs, labels, width)
    }

    /// The first `n` images of `dataset`, scaled to 0..1 exactly as training scales them (the
    /// pixel divided by 255 in f32), with their digits as labels.
    pub fn mnist(dataset: &ImageDataset, n: usize) -> Result<Batch, GradcheckError> {
        if n > dataset.len() {
            return Err(GradcheckError::TooFewImages {
                wanted: n,
                images: dataset.len(),
            });
        }
        let mut inputs = Vec::with_capacity(n * data::IMAGE_PIXELS);
        for i in 0..n {
            inputs.extend(
                dataset
                    .image(i)
                    .iter()
                    .map(|&p| f64::from(data::scale_pixel(p))),
            );
        }
        let labels = (0..n).map(|i| usize::from(dataset.label(i))).collect();
        Batch::new(inputs, labels, data::IMAGE_PIXELS)
    }

    /// The images of `dataset` at `indices`, in that order, scaled as [`Batch::mnist`] scales
    /// them.
    pub fn mnist_indices(
        dataset: &ImageDataset,
        indices: &[usize],
    ) -> Result<Batch, GradcheckError> {
        if let Some(&i) = indices.iter().find(|&&i| i >= dataset.len()) {
            return Err(GradcheckError::NoSuchImage {
                index: i,
                images: dataset.len(),
            });
        }
        let inputs = indices
            .iter()
            .flat_map(|&i| dataset.image(i).iter())
            .map(|&p| f64::from(data::scale_pixel(p)))
            .collect();
        let labels = indices
            .iter()
            .map(|&i| usize::from(dataset.label(i)))
            .collect();
        Batch::new(inputs, labels, data::IMAGE_PIXELS)
    }

    /// The examples one by one: each one's inputs x (`width` of them) and label.
    pub fn examples(&self) -> impl Iterator<Item = (&[f64], usize)> + '_ {
        self.inputs
            .chunks_exact(self.width)
            .zip(self.labels.iter().copied())
    }

    /// The number of examples, n.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch holds no example (never true for a batch built by [`Batch::new`]).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The one-hot targets y(x), `[n, classes]` row-major.
    pub fn one_hot(&self, classes: usize) -> Vec<f64> {
        let mut y = vec![0.0; self.len() * classes];
        for (row, &label) in self.labels.iter().enumerate() {
            y[row * classes + label] = 1.0;
        }
        y
    }

    /// Checks that the batch fits a network of these sizes: as many inputs as the input layer,
    /// every label an output unit.
    pub fn check_fits(&self, sizes: &[usize]) -> Result<(), GradcheckError> {
        let (inputs, outputs) = match sizes {
            [first, .., last] => (*first, *last),
            _ => {
                return Err(GradcheckError::InvalidBatch {
                    reason: "no network to fit",
                })
            }
        };
        if self.width != inputs {
            return Err(GradcheckError::InputWidth {
                width: self.width,
                inputs,
            });
        }
        if let Some(&label) = self.labels.iter().find(|&&l| l >= outputs) {
            return Err(GradcheckError::LabelWithoutOutput { label, outputs });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_batches_are_seeded_and_f32_exact() {
        let a = Batch::random(4, 3, 5, 9).unwrap();
        assert_eq!(a, Batch::random(4, 3, 5, 9).unwrap());
        assert_ne!(a, Batch::random(4, 3, 5, 10).unwrap());
        assert!(a.inputs.iter().all(|&v| (0.0..1.0).contains(&v)));
        assert!(a.inputs.iter().all(|&v| f64::from(v as f32) == v));
        assert!(a.labels.iter().all(|&l| l < 5));
        assert!(a.check_fits(&[3, 4, 5]).is_ok());
        assert!(a.check_fits(&[4, 5]).is_err());
    }

    #[test]
    fn one_hot_rows() {
        let b = Batch::new(vec![0.0; 4], vec![2, 0], 2).unwrap();
        assert_eq!(b.one_hot(3), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        let err = b.check_fits(&[2, 2]).unwrap_err().to_string();
        assert!(err.contains("label 2 has no output unit"), "{err}");
        assert!(Batch::new(vec![0.0; 3], vec![1, 1], 2).is_err());
    }
}
