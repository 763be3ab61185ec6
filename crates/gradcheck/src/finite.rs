//! The third opinion: gradients estimated from the cost alone, by finite differences, with no
//! calculus at all.
//!
//! For a parameter θ, the central difference D(h) = (C(θ + h) − C(θ − h)) / 2h estimates ∂C/∂θ.
//! By Taylor's theorem the even-order terms cancel: D(h) = C' + h²·C⁽³⁾/6 + O(h⁴). Two errors
//! compete. Truncation shrinks with h; rounding grows as h shrinks, about ε·|C|/h with
//! ε = 2.2e-16, because C(θ + h) and C(θ − h) agree in most of their digits. For the costs here
//! (C ≈ 1 to 3) a plain central difference is at best accurate to about ε^(2/3) ≈ 1e-11 absolute
//! (near h = 1e-5), and to about 1e-9 at h = 1e-6: too coarse to test gradients of 1e-4 to 1e-6
//! to a relative 1e-6.
//!
//! So the estimate here is Richardson's extrapolation of two central differences, at h and 2h:
//! (4·D(h) − D(2h)) / 3 cancels the h² term and leaves an error of O(h⁴). That allows a larger
//! step, [`STEP`] = 1e-3, whose rounding error is about ε·|C|/h ≈ 1e-12, with a truncation
//! error (h⁴ ≈ 1e-12 times a fifth derivative of order one) of the same size. Measured against
//! the hand-written gradients on many random networks and MNIST batches, the absolute error
//! stayed below about 2e-12; [`crate::Tolerance::FINITE_DIFFERENCE`] is set from that.
//!
//! The costs come from the hand-written forward pass ([`Network::cost`]), never from its
//! backward pass, so this checks the derivation in [`crate::manual`] independently of Burn.

use model::Cost;

use crate::manual::{Gradients, Network};
use crate::{Batch, PerLayer};
use data::SplitMix64;

/// The step h of the central differences (the second one is 2h).
pub const STEP: f64 = 1e-3;

/// Which parameters to probe: flat indices into each layer's weights and biases (as in the
/// [`Network`]'s parameters), sorted.
pub type Sample = PerLayer<Vec<usize>>;

impl Sample {
    /// Every parameter of `network`.
    pub fn all(network: &Network) -> Sample {
        network.params.map(|p| (0..p.len()).collect())
    }

    /// At most `per_tensor` parameters of each weight matrix and bias vector, drawn without
    /// repetition from `seed`; a tensor that small or smaller is taken whole.
    pub fn at_most(network: &Network, per_tensor: usize, seed: u64) -> Sample {
        let mut rng = SplitMix64::new(seed ^ 0x6664_0000_0000_0000);
        // Every layer's weights are drawn before the biases (the order of `PerLayer::map`).
        network.params.map(|p| {
            let len = p.len();
            if len <= per_tensor {
                return (0..len).collect();
            }
            // A partial Fisher–Yates shuffle: the first `per_tensor` of a random permutation.
            let mut indices: Vec<usize> = (0..len).collect();
            for i in 0..per_tensor {
                let j = i + rng.below(len - i);
                indices.swap(i, j);
            }
            indices.truncate(per_tensor);
            indices.sort_unstable();
            indices
        })
    }
}

/// Finite-difference estimates of ∂C/∂θ for the parameters in `sample`: central differences
/// at `step` and twice `step`, combined by Richardson's extrapolation.
///
/// The result is shaped like the network's parameters; only the sampled entries are computed,
/// the others are left at zero (compare them with [`crate::compare()`] and the same `sample`).
pub fn finite_differences(
    network: &Network,
    cost: Cost,
    batch: &Batch,
    sample: &Sample,
    step: f64,
) -> Gradients {
    let mut probe = network.clone();
    let mut gradients = network.params.map(|p| vec![0.0; p.len()]);
    for (layer, param, indices) in sample.iter() {
        for &i in indices {
            gradients.get_mut(layer, param)[i] = central(&mut probe, cost, batch, step, |p| {
                &mut p.params.get_mut(layer, param)[i]
            });
        }
    }
    gradients
}

/// (4·D(h) − D(2h)) / 3 for the parameter that `param` selects (restored afterwards), where
/// D(h) = (C(θ + h) − C(θ − h)) / 2h.
fn central(
    probe: &mut Network,
    cost: Cost,
    batch: &Batch,
    step: f64,
    param: impl Fn(&mut Network) -> &mut f64,
) -> f64 {
    let theta = *param(probe);
    let mut cost_at = |value: f64| {
        *param(probe) = value;
        probe.cost(cost, batch)
    };
    let d = |h: f64, c_plus: f64, c_minus: f64| (c_plus - c_minus) / (2.0 * h);
    let (c1p, c1m) = (cost_at(theta + step), cost_at(theta - step));
    let (c2p, c2m) = (cost_at(theta + 2.0 * step), cost_at(theta - 2.0 * step));
    *param(probe) = theta;
    (4.0 * d(step, c1p, c1m) - d(2.0 * step, c2p, c2m)) / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(sizes: Vec<usize>, w: Vec<Vec<f64>>, b: Vec<Vec<f64>>) -> Network {
        let params = PerLayer {
            weights: w,
            biases: b,
        };
        Network::new(sizes, params).unwrap()
    }

    #[test]
    fn samples_are_seeded_distinct_and_whole_when_small() {
        let net = network(
            vec![20, 3, 2],
            vec![vec![0.0; 60], vec![0.0; 6]],
            vec![vec![0.0; 3], vec![0.0; 2]],
        );
        let s = Sample::at_most(&net, 10, 1);
        assert_eq!(s, Sample::at_most(&net, 10, 1));
        assert_ne!(s, Sample::at_most(&net, 10, 2));
        assert_eq!(s.weights[0].len(), 10);
        assert!(s.weights[0].windows(2).all(|w| w[0] < w[1]));
        assert!(s.weights[0].iter().all(|&i| i < 60));
        assert_eq!(s.weights[1], (0..6).collect::<Vec<_>>());
        assert_eq!(s.biases[0], vec![0, 1, 2]);
        assert_eq!(s.len(), 10 + 6 + 3 + 2);
        assert_eq!(Sample::all(&net).len(), 60 + 6 + 3 + 2);
    }

    #[test]
    fn finite_differences_match_the_derivative_of_one_unit() {
        // One sigmoid unit: the estimate matches the derivative to rounding.
        let net = network(vec![1, 1], vec![vec![0.3]], vec![vec![0.1]]);
        let batch = Batch::new(vec![1.5], vec![0], 1).unwrap();
        let fd = finite_differences(&net, Cost::Quadratic, &batch, &Sample::all(&net), STEP);
        let exact = net.backward(Cost::Quadratic, &batch);
        assert!((fd.weights[0][0] - exact.weights[0][0]).abs() < 1e-11);
        assert!((fd.biases[0][0] - exact.biases[0][0]).abs() < 1e-11);
    }
}
