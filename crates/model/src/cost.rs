//! The cost functions, defined once: training minimises them and `gradcheck` differentiates
//! them by hand to check Burn's autodiff.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};
use serde::{Deserialize, Serialize};

/// What training minimises, and so what the output layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    /// Nielsen's quadratic cost on sigmoid outputs a = σ(z^L):
    ///
    /// C = 1/(2n) Σₓ ‖y(x) − a(x)‖²
    ///
    /// summed over the 10 outputs and averaged over the n images of the batch. (Burn's
    /// `MseLoss` with `Reduction::Mean` divides by n·10 instead of 2n, which makes gradients 5×
    /// smaller and changes what a learning rate means; η = 3.0 is Nielsen's value.)
    #[default]
    Quadratic,
    /// Softmax cross-entropy on the output weighted inputs (logits) z^L:
    ///
    /// C = −1/n Σₓ ln softmax(z^L(x))_y(x)
    ///
    /// where y(x) is the digit of image x.
    CrossEntropy,
}

impl Cost {
    /// The cost of a batch, as a one-element tensor that `backward()` can differentiate.
    ///
    /// `z` is the output layer's weighted inputs `[n, 10]`; `labels` the digits `[n]` (used by
    /// cross-entropy); `targets` their one-hot rows `[n, 10]` (used by the quadratic cost).
    pub fn loss(self, z: Tensor<2>, labels: Tensor<1, Int>, targets: Tensor<2>) -> Tensor<1> {
        match self {
            Cost::Quadratic => {
                let n = z.dims()[0] as f64;
                let error = sigmoid(z) - targets;
                // Multiplied by 1/(2n), not divided by 2n: Burn 0.22.1 differentiates
                // `div_scalar` with the reciprocal taken in f32, which gradcheck caught in f64.
                (error.clone() * error).sum().mul_scalar(1.0 / (2.0 * n))
            }
            Cost::CrossEntropy => CrossEntropyLossConfig::new()
                .init(&z.device())
                .forward(z, labels),
        }
    }

    /// The output layer's activations for weighted inputs `z`: σ(z) for the quadratic cost,
    /// softmax(z) (probabilities summing to 1) for cross-entropy. Both rise with z, so the
    /// predicted digit is the arg-max of either.
    pub fn output(self, z: Tensor<2>) -> Tensor<2> {
        match self {
            Cost::Quadratic => sigmoid(z),
            Cost::CrossEntropy => softmax(z, 1),
        }
    }

    /// The config name: `quadratic` or `cross_entropy`.
    pub fn name(self) -> &'static str {
        match self {
            Cost::Quadratic => "quadratic",
            Cost::CrossEntropy => "cross_entropy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        crate::tests::test_backend().device().unwrap()
    }

    fn batch(dev: &Device) -> (Tensor<2>, Tensor<1, Int>, Tensor<2>) {
        let z = Tensor::<2>::from_floats([[0.0, 2.0, -1.0], [1.0, 0.0, 0.5]], dev);
        let labels = Tensor::<1, Int>::from_ints([1, 0], dev);
        let targets = Tensor::<2>::from_floats([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dev);
        (z, labels, targets)
    }

    fn close(a: f32, b: f64) -> bool {
        (f64::from(a) - b).abs() < 1e-6
    }

    #[test]
    fn quadratic_is_the_textbook_cost() {
        let dev = device();
        let (z, labels, targets) = batch(&dev);
        let s = |x: f64| 1.0 / (1.0 + (-x).exp());
        // 1/(2n) Σ over images and outputs of (a − y)², n = 2.
        let rows = [[0.0, 2.0, -1.0], [1.0, 0.0, 0.5]];
        let ys = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]];
        let mut sum = 0.0;
        for (r, y) in rows.iter().zip(ys) {
            for (zi, yi) in r.iter().zip(y) {
                sum += (s(*zi) - yi).powi(2);
            }
        }
        let expected = sum / 4.0;
        let got = Cost::Quadratic
            .loss(z, labels, targets)
            .into_scalar::<f32>();
        assert!(close(got, expected), "{got} vs {expected}");
    }

    #[test]
    fn cross_entropy_is_mean_negative_log_softmax() {
        let dev = device();
        let (z, labels, targets) = batch(&dev);
        let lse = |r: [f64; 3]| r.iter().map(|v| v.exp()).sum::<f64>().ln();
        let expected = ((lse([0.0, 2.0, -1.0]) - 2.0) + (lse([1.0, 0.0, 0.5]) - 1.0)) / 2.0;
        let got = Cost::CrossEntropy
            .loss(z, labels, targets)
            .into_scalar::<f32>();
        assert!(close(got, expected), "{got} vs {expected}");
    }

    #[test]
    fn outputs_are_sigmoid_or_softmax() {
        let dev = device();
        let (z, _, _) = batch(&dev);
        let q: Vec<f32> = Cost::Quadratic
            .output(z.clone())
            .into_data()
            .try_to_vec()
            .unwrap();
        assert!(close(q[0], 0.5));
        let p: Vec<f32> = Cost::CrossEntropy
            .output(z)
            .into_data()
            .try_to_vec()
            .unwrap();
        assert!(close(p[0] + p[1] + p[2], 1.0) && p[1] > p[0]);
    }
}
