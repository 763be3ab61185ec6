//! Prediction: what a trained network says about images. The one path that training's
//! validation and test scores, `infer`'s evaluations and pictures, and the bench all take.
//!
//! The network's answer for an image is the class whose output is largest: the arg-max of the
//! output layer's weighted inputs z^L, which is also the arg-max of its activations, since σ and
//! softmax both rise with z. [`classes`] computes it on the device, [`count_correct`] compares
//! it with labels there, and a [`Predictor`] reads answers or scores back to the host.

use burn::prelude::*;
use serde::Serialize;

use crate::{Backend, Cost, Mlp, ModelError};

/// The class each row of `z` (`[n, classes]`) predicts: its arg-max, `[n]`.
pub fn classes(z: Tensor<2>) -> Tensor<1, Int> {
    z.argmax(1).squeeze_dim::<1>(1)
}

/// How many rows of `z` (`[n, classes]`) predict their label (`labels`, `[n]`), as a
/// one-element device tensor: counting needs no trip to the host.
pub fn count_correct(z: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1, Int> {
    classes(z).equal(labels).int().sum()
}

/// The network's answer for one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The class with the largest output (for MNIST, the digit).
    pub class: usize,
    /// The output layer's activations: σ(z) for a quadratic-cost network, softmax
    /// probabilities for a cross-entropy one (see [`Cost::output`]).
    pub outputs: Vec<f32>,
}

/// The network's answer for one image with what led to it: every hidden layer's activations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Traced {
    /// The class and the output layer's activations, as [`Predictor::predict`] gives them.
    pub prediction: Prediction,
    /// Each hidden layer's activations, first to last (none for a network without hidden
    /// layers).
    pub hidden: Vec<Vec<f32>>,
}

/// Mean loss and accuracy of a network over a set of labelled images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    /// The mean cost per image.
    pub loss: f64,
    /// The fraction of images predicted right, in 0..1.
    pub accuracy: f64,
    /// Images predicted right.
    pub correct: usize,
    /// Images scored.
    pub images: usize,
}

/// A labelled batch, as the cost needs it: images `[n, inputs]`, class labels `[n]` and their
/// one-hot rows `[n, classes]`.
pub type LabelledBatch = (Tensor<2>, Tensor<1, Int>, Tensor<2>);

/// A trained network ready to answer: the network, the cost that fixes its output layer, and
/// the backend it runs on.
#[derive(Debug)]
pub struct Predictor<'a> {
    network: &'a Mlp,
    cost: Cost,
    device: Device,
    parts: usize,
}

impl<'a> Predictor<'a> {
    /// A predictor for `network` (on `backend`'s plain device) trained with `cost`.
    pub fn new(network: &'a Mlp, cost: Cost, backend: Backend) -> Result<Self, ModelError> {
        Ok(Predictor {
            network,
            cost,
            device: backend.device()?,
            // On a CPU, a large batch evaluated as one block per core keeps every core busy.
            parts: backend.eval_parts(),
        })
    }

    /// Images per evaluation pass (bounded by the memory a pass takes: [`Mlp::eval_batch`]).
    pub fn batch_size(&self) -> usize {
        self.network.eval_batch()
    }

    /// The network's outputs: one per class.
    pub fn outputs(&self) -> usize {
        self.network.sizes().last().copied().unwrap_or(0)
    }

    /// The device the network runs on, where inputs go.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The output layer's weighted inputs z^L for a batch of images `[n, inputs]`.
    pub fn logits(&self, images: Tensor<2>) -> Tensor<2> {
        self.network.forward_parts(images, self.parts)
    }

    /// The predicted class of each image of a batch, read back to the host.
    pub fn classes(&self, images: Tensor<2>) -> Result<Vec<usize>, ModelError> {
        let classes: Vec<i64> = classes(self.logits(images))
            .into_data()
            .convert::<i64>()
            .try_into_vec()
            .map_err(ModelError::Readback)?;
        Ok(classes.into_iter().map(|c| c as usize).collect())
    }

    /// The answer for each image of a batch: its class and the output activations.
    pub fn predict(&self, images: Tensor<2>) -> Result<Vec<Prediction>, ModelError> {
        let z = self.logits(images);
        let width = z.dims()[1];
        // The class rides along as one more column (exact in f32 below 2²⁴), so that the host
        // waits for one read, not two.
        let class = classes(z.clone()).float().unsqueeze_dim::<2>(1);
        let rows: Vec<f32> = Tensor::cat(vec![self.cost.output(z), class], 1)
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .map_err(ModelError::Readback)?;
        Ok(rows
            .chunks_exact(width + 1)
            .map(|row| Prediction {
                class: row[width] as usize,
                outputs: row[..width].to_vec(),
            })
            .collect())
    }

    /// The answer for each image of a batch with every hidden layer's activations, from one
    /// forward pass and one read back to the host. The answers are [`Predictor::predict`]'s.
    pub fn trace(&self, images: Tensor<2>) -> Result<Vec<Traced>, ModelError> {
        let (hidden, z) = self.network.forward_with_hidden(images);
        let widths: Vec<usize> = hidden.iter().map(|a| a.dims()[1]).collect();
        let outputs = z.dims()[1];
        let class = classes(z.clone()).float().unsqueeze_dim::<2>(1);
        let mut columns = hidden;
        columns.push(self.cost.output(z));
        columns.push(class);
        let row_len = widths.iter().sum::<usize>() + outputs + 1;
        let rows: Vec<f32> = Tensor::cat(columns, 1)
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .map_err(ModelError::Readback)?;
        Ok(rows
            .chunks_exact(row_len)
            .map(|row| {
                let mut rest = row;
                let hidden = widths
                    .iter()
                    .map(|&w| {
                        let (layer, tail) = rest.split_at(w);
                        rest = tail;
                        layer.to_vec()
                    })
                    .collect();
                Traced {
                    prediction: Prediction {
                        class: rest[outputs] as usize,
                        outputs: rest[..outputs].to_vec(),
                    },
                    hidden,
                }
            })
            .collect())
    }

    /// The first hidden layer's activations for each image of a batch (empty rows for a
    /// network without hidden layers), read back to the host.
    pub fn first_hidden(&self, images: Tensor<2>) -> Result<Vec<Vec<f32>>, ModelError> {
        let n = images.dims()[0];
        let Some(a) = self.network.first_hidden(images) else {
            return Ok(vec![Vec::new(); n]);
        };
        let width = a.dims()[1];
        let values: Vec<f32> = a
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .map_err(ModelError::Readback)?;
        Ok(values
            .chunks_exact(width.max(1))
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Mean loss and accuracy over labelled batches. Sums stay on the device until the end, so
    /// the host waits once.
    pub fn score(
        &self,
        batches: impl IntoIterator<Item = LabelledBatch>,
    ) -> Result<Score, ModelError> {
        let mut loss = Tensor::<1>::zeros([1], &self.device);
        let mut correct = Tensor::<1, Int>::zeros([1], &self.device);
        let mut images = 0;
        for (x, labels, targets) in batches {
            let n = x.dims()[0];
            let z = self.logits(x);
            correct = correct + count_correct(z.clone(), labels.clone());
            loss = loss + self.cost.loss(z, labels, targets).mul_scalar(n as f64);
            images += n;
        }
        if images == 0 {
            return Err(ModelError::NothingToScore);
        }
        let loss: f32 = loss.into_scalar();
        let correct = correct.into_scalar::<i64>() as usize;
        Ok(Score {
            loss: f64::from(loss) / images as f64,
            accuracy: correct as f64 / images as f64,
            correct,
            images,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::test_backend;
    use crate::MlpConfig;

    #[test]
    fn classes_are_the_arg_max_and_count_against_labels() {
        let dev = test_backend().device().unwrap();
        let z =
            Tensor::<2>::from_floats([[0.1, 0.9, 0.0], [2.0, -1.0, 1.0], [0.0, 0.0, 3.0]], &dev);
        let c: Vec<i64> = classes(z.clone())
            .into_data()
            .convert::<i64>()
            .try_into_vec()
            .unwrap();
        assert_eq!(c, vec![1, 0, 2]);
        let labels = Tensor::<1, Int>::from_ints([1, 2, 2], &dev);
        assert_eq!(count_correct(z, labels).into_scalar::<i64>(), 2);
    }

    #[test]
    fn predictions_scores_and_classes_agree() {
        let backend = test_backend();
        let dev = backend.device().unwrap();
        let net = MlpConfig::new([8]).init_seeded(2, &dev);
        // Inputs made here, not drawn: Burn's generator is shared with the other tests.
        let x: Vec<f32> = (0..300 * 784)
            .map(|i: usize| (i * 7919 % 1000) as f32 / 1000.0)
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [300, 784]), &dev);
        let p = Predictor::new(&net, Cost::CrossEntropy, backend).unwrap();
        let predictions = p.predict(x.clone()).unwrap();
        let classes = p.classes(x.clone()).unwrap();
        assert_eq!(predictions.len(), 300);
        for (pred, &class) in predictions.iter().zip(&classes) {
            assert_eq!(pred.class, class);
            assert_eq!(pred.outputs.len(), 10);
            // The class has the largest output.
            assert!(pred.outputs.iter().all(|&o| o <= pred.outputs[class]));
            assert!((pred.outputs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        let traced = p.trace(x.clone().slice(0..5)).unwrap();
        let five = p.predict(x.clone().slice(0..5)).unwrap();
        assert_eq!(traced.len(), 5);
        for (t, pred) in traced.iter().zip(&five) {
            assert_eq!(&t.prediction, pred);
            assert_eq!(t.hidden.len(), 1);
            assert_eq!(t.hidden[0].len(), 8);
        }
        let first = p.first_hidden(x.clone().slice(0..5)).unwrap();
        let traced_first: Vec<Vec<f32>> = traced.into_iter().map(|t| t.hidden[0].clone()).collect();
        assert_eq!(traced_first, first);
        // Label every image with its predicted class, except the first 30.
        let labels: Vec<i64> = classes
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if i < 30 {
                    (c as i64 + 1) % 10
                } else {
                    c as i64
                }
            })
            .collect();
        let mut targets = vec![0f32; 3000];
        for (i, &l) in labels.iter().enumerate() {
            targets[i * 10 + l as usize] = 1.0;
        }
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [300]), &dev);
        let targets = Tensor::<2>::from_data(TensorData::new(targets, [300, 10]), &dev);
        // In two batches, the second smaller.
        let batches = vec![
            (
                x.clone().slice(0..200),
                labels.clone().slice(0..200),
                targets.clone().slice(0..200),
            ),
            (
                x.slice(200..300),
                labels.slice(200..300),
                targets.slice(200..300),
            ),
        ];
        let score = p.score(batches).unwrap();
        assert_eq!((score.correct, score.images), (270, 300));
        assert!((score.accuracy - 0.9).abs() < 1e-12);
        assert!(score.loss > 0.0 && score.loss.is_finite());
        assert!(matches!(
            p.score(Vec::new()),
            Err(ModelError::NothingToScore)
        ));
    }
}
