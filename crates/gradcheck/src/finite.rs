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
//! The costs come from the hand-written forward pass ([`Network::forward`] and
//! [`example_cost`]), never from its backward pass, so this checks the derivation in
//! [`crate::manual`] independently of Burn.
//!
//! # Kinks
//!
//! ReLU(z) = max(0, z) has no derivative at z = 0. A central difference whose steps move some
//! hidden unit's z across 0, in any example, measures a slope that is partly one side's and
//! partly the other's: neither derivative, and Richardson's extrapolation, which assumes a
//! smooth cost, does not repair it. So in a ReLU network every probe checks that each hidden
//! unit of each example stays on the side of 0 it is on at θ at all four points θ ± h, θ ± 2h.
//! A probe where one crosses is left out of the comparison and counted
//! ([`Estimates::at_kinks`]; the report says how many). With a step of 1e-3 only units within
//! a few thousandths of their kink are crossed, which happens to a few probes in a hundred. The
//! hand-written and autodiff gradients are still compared on every parameter: they agree on
//! the value taken at the kink (see [`crate::manual`]).

use model::{Activation, Cost};

use crate::manual::{example_cost, Gradients, Network};
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

/// What [`finite_differences`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    /// The estimates of ∂C/∂θ at the parameters in `estimated`; zero elsewhere.
    pub gradients: Gradients,
    /// The probes whose steps stayed clear of every kink: the ones to compare.
    pub estimated: Sample,
    /// The probes left out because a step moved a ReLU unit across its kink (see the
    /// [module docs](self)); none in a sigmoid network.
    pub at_kinks: Sample,
}

/// Finite-difference estimates of ∂C/∂θ for the parameters in `sample`: central differences
/// at `step` and twice `step`, combined by Richardson's extrapolation.
///
/// Compare them with [`crate::compare()`] at [`Estimates::estimated`].
pub fn finite_differences(
    network: &Network,
    cost: Cost,
    batch: &Batch,
    sample: &Sample,
    step: f64,
) -> Estimates {
    let (_, sides) = cost_and_sides(network, cost, batch);
    let mut probe = network.clone();
    let mut estimates = Estimates {
        gradients: network.params.map(|p| vec![0.0; p.len()]),
        estimated: sample.map(|_| Vec::new()),
        at_kinks: sample.map(|_| Vec::new()),
    };
    for (layer, param, indices) in sample.iter() {
        for &i in indices {
            let estimate = central(&mut probe, cost, batch, step, &sides, |p| {
                &mut p.params.get_mut(layer, param)[i]
            });
            match estimate {
                Some(d) => {
                    estimates.gradients.get_mut(layer, param)[i] = d;
                    estimates.estimated.get_mut(layer, param).push(i);
                }
                None => estimates.at_kinks.get_mut(layer, param).push(i),
            }
        }
    }
    estimates
}

/// The batch cost C = (1/n) Σₓ Cₓ, and, in a ReLU network, which side of its kink each hidden
/// unit is on in each example (z > 0 or not; empty for a sigmoid network).
fn cost_and_sides(network: &Network, cost: Cost, batch: &Batch) -> (f64, Vec<bool>) {
    let hidden = network.layers() - 1;
    let mut total = 0.0;
    let mut sides = Vec::new();
    for (x, label) in batch.examples() {
        let forward = network.forward(x);
        total += example_cost(cost, forward.z_out(), label);
        if network.activation() == Activation::Relu {
            sides.extend(forward.zs[..hidden].iter().flatten().map(|&z| z > 0.0));
        }
    }
    (total / batch.len() as f64, sides)
}

/// (4·D(h) − D(2h)) / 3 for the parameter that `param` selects (restored afterwards), where
/// D(h) = (C(θ + h) − C(θ − h)) / 2h; `None` if a step moves a ReLU unit off its side of the
/// kink, `sides` (the sides at θ).
fn central(
    probe: &mut Network,
    cost: Cost,
    batch: &Batch,
    step: f64,
    sides: &[bool],
    param: impl Fn(&mut Network) -> &mut f64,
) -> Option<f64> {
    let theta = *param(probe);
    let mut smooth = true;
    let mut cost_at = |value: f64| {
        *param(probe) = value;
        let (c, sides_here) = cost_and_sides(probe, cost, batch);
        smooth &= sides_here == sides;
        c
    };
    let d = |h: f64, c_plus: f64, c_minus: f64| (c_plus - c_minus) / (2.0 * h);
    let (c1p, c1m) = (cost_at(theta + step), cost_at(theta - step));
    let (c2p, c2m) = (cost_at(theta + 2.0 * step), cost_at(theta - 2.0 * step));
    *param(probe) = theta;
    smooth.then(|| (4.0 * d(step, c1p, c1m) - d(2.0 * step, c2p, c2m)) / 3.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(
        sizes: Vec<usize>,
        activation: Activation,
        w: Vec<Vec<f64>>,
        b: Vec<Vec<f64>>,
    ) -> Network {
        let params = PerLayer {
            weights: w,
            biases: b,
        };
        Network::new(sizes, activation, params).unwrap()
    }

    #[test]
    fn samples_are_seeded_distinct_and_whole_when_small() {
        let net = network(
            vec![20, 3, 2],
            Activation::Sigmoid,
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
        let net = network(
            vec![1, 1],
            Activation::Sigmoid,
            vec![vec![0.3]],
            vec![vec![0.1]],
        );
        let batch = Batch::new(vec![1.5], vec![0], 1).unwrap();
        let fd = finite_differences(&net, Cost::Quadratic, &batch, &Sample::all(&net), STEP);
        let exact = net.backward(Cost::Quadratic, &batch);
        assert!(fd.at_kinks.is_empty());
        assert!((fd.gradients.weights[0][0] - exact.weights[0][0]).abs() < 1e-11);
        assert!((fd.gradients.biases[0][0] - exact.biases[0][0]).abs() < 1e-11);
    }

    /// A 1-1-1 ReLU network on x = 1 whose hidden unit has z^1 = 0.5 + `b1`.
    fn relu_unit(b1: f64) -> Network {
        network(
            vec![1, 1, 1],
            Activation::Relu,
            vec![vec![0.5], vec![2.0]],
            vec![vec![b1], vec![-0.3]],
        )
    }

    #[test]
    fn probes_that_cross_a_relu_kink_are_left_out() {
        let batch = Batch::new(vec![1.0], vec![0], 1).unwrap();
        let all = Sample::all(&relu_unit(0.0));

        // Well above the kink (z^1 = 0.6): every probe is estimated, and right.
        let net = relu_unit(0.1);
        let fd = finite_differences(&net, Cost::Quadratic, &batch, &all, STEP);
        assert_eq!(fd.estimated, all);
        assert!(fd.at_kinks.is_empty());
        let exact = net.backward(Cost::Quadratic, &batch);
        for (layer, param, g) in exact.iter() {
            let estimate = fd.gradients.get(layer, param)[0];
            assert!((estimate - g[0]).abs() < 1e-11, "{layer} {param}");
        }

        // z^1 = 1e-4: a step of h in W^1 or b^1 moves it across 0; one in layer 2 does not.
        let net = relu_unit(-0.4999);
        let fd = finite_differences(&net, Cost::Quadratic, &batch, &all, STEP);
        let layer_1 = PerLayer {
            weights: vec![vec![0], vec![]],
            biases: vec![vec![0], vec![]],
        };
        let layer_2 = PerLayer {
            weights: vec![vec![], vec![0]],
            biases: vec![vec![], vec![0]],
        };
        assert_eq!(fd.at_kinks, layer_1);
        assert_eq!(fd.estimated, layer_2);
        let exact = net.backward(Cost::Quadratic, &batch);
        assert!((fd.gradients.weights[1][0] - exact.weights[1][0]).abs() < 1e-11);
        assert!((fd.gradients.biases[1][0] - exact.biases[1][0]).abs() < 1e-11);
    }
}
