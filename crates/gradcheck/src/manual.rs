//! Backpropagation by hand: the sigmoid network's forward and backward passes in f64, in plain
//! Rust loops (no Burn, no autodiff), with the derivation.
//!
//! # Notation
//!
//! Layers are numbered l = 1, …, L: layer l takes the activations a^(l−1) of the layer below
//! (a^0 = x, the input) and computes, for each of its neurons j,
//!
//! ```text
//! z^l_j = Σ_k w^l_jk · a^(l−1)_k + b^l_j        (weighted input)
//! a^l_j = σ(z^l_j),   σ(z) = 1 / (1 + e^(−z))   (activation)
//! ```
//!
//! The textbook's w^l_jk is the weight *to* neuron j of layer l *from* neuron k of layer l−1, so
//! w^l is an `[outputs × inputs]` matrix acting on a column vector: z^l = w^l a^(l−1) + b^l.
//! Burn's `Linear` stores the same numbers the other way round: W^l is `[inputs, outputs]` and a
//! batch is one row per example, z^l = a^(l−1) · W^l + b^l. **The stored W^l is the transpose of
//! the textbook's w^l**: W^l\[k\]\[j\] = w^l_jk. This module keeps the weights exactly as Burn
//! stores them, flattened row-major, so W^l\[k\]\[j\] is `weights[l − 1][k · outputs + j]`, and
//! its gradients come out in that same layout, ready to compare with Burn's.
//!
//! # The four equations of backpropagation
//!
//! The cost of a batch of n examples is the mean of per-example costs, C = (1/n) Σₓ Cₓ. Define
//! the *error* of neuron j in layer l as δ^l_j = ∂Cₓ/∂z^l_j. Then, for one example:
//!
//! ```text
//! (BP1)  δ^L   = ∇ₐCₓ ⊙ σ'(z^L)                      the output layer
//! (BP2)  δ^l   = ((w^(l+1))ᵀ δ^(l+1)) ⊙ σ'(z^l)       each layer from the one above
//! (BP3)  ∂Cₓ/∂b^l_j  = δ^l_j
//! (BP4)  ∂Cₓ/∂w^l_jk = a^(l−1)_k · δ^l_j
//! ```
//!
//! and the batch gradients are the means of these over the n examples. Each is the chain rule:
//!
//! - BP1: Cₓ depends on z^L_j only through a^L_j = σ(z^L_j), so δ^L_j = ∂Cₓ/∂a^L_j · σ'(z^L_j).
//! - BP2: z^l_k reaches the cost only through the next layer's weighted inputs
//!   z^(l+1)_j = Σ_k w^(l+1)_jk σ(z^l_k) + b^(l+1)_j, so δ^l_k = Σ_j δ^(l+1)_j w^(l+1)_jk σ'(z^l_k).
//! - BP3, BP4: z^l_j = Σ_k w^l_jk a^(l−1)_k + b^l_j, so ∂z^l_j/∂b^l_j = 1 and
//!   ∂z^l_j/∂w^l_jk = a^(l−1)_k.
//!
//! In Burn's layout BP2 reads δ^l_k = (Σ_j W^(l+1)\[k\]\[j\] δ^(l+1)_j) σ'(z^l_k), a row times
//! W^(l+1)ᵀ, and BP4 reads ∂C/∂W^l = (1/n) Σₓ (a^(l−1))ᵀ δ^l: an outer product with W^l's own
//! `[inputs, outputs]` shape. The derivative of the sigmoid is σ'(z) = σ(z)(1 − σ(z)).
//!
//! # The output layer, for each cost
//!
//! - **Quadratic** (the classic text's, [`Cost::Quadratic`]): a^L = σ(z^L) and
//!   Cₓ = ½‖y − a^L‖² with y the one-hot label, so ∇ₐCₓ = a^L − y and BP1 gives
//!   δ^L = (a^L − y) ⊙ σ'(z^L).
//! - **Cross-entropy on a softmax** ([`Cost::CrossEntropy`]): a^L = softmax(z^L),
//!   a^L_i = e^(z_i) / Σ_m e^(z_m), and Cₓ = −ln a^L_y. The softmax couples all outputs, so BP1
//!   takes its general form δ^L_j = Σ_i ∂Cₓ/∂a^L_i · ∂a^L_i/∂z^L_j. With ∂Cₓ/∂a^L_i = −y_i/a^L_i and
//!   ∂a^L_i/∂z^L_j = a^L_i(1[i = j] − a^L_j), this is δ^L = a^L − y: no σ' factor, so a confidently
//!   wrong output still learns fast.
//!
//! Both costs are the ones training minimises ([`model::Cost::loss`]); the comparison with Burn
//! checks that this module and that definition agree.

use std::fmt;
use std::str::FromStr;

use model::Cost;

use crate::{Batch, GradcheckError};

/// The logistic sigmoid σ(z) = 1 / (1 + e^(−z)).
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Its derivative σ'(z) = σ(z)(1 − σ(z)).
pub fn sigmoid_prime(z: f64) -> f64 {
    let s = sigmoid(z);
    s * (1.0 - s)
}

/// softmax(z)_i = e^(z_i − m) / Σ_j e^(z_j − m), with m = max z (which cancels, and keeps
/// every exponent ≤ 0 so nothing overflows).
pub fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// ln Σ_j e^(z_j), computed as m + ln Σ_j e^(z_j − m).
fn log_sum_exp(z: &[f64]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// A sigmoid network's parameters in f64, in Burn's layout (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    sizes: Vec<usize>,
    /// `weights[l − 1]` is W^l, `[sizes[l − 1], sizes[l]]` row-major: W^l\[k\]\[j\] is at
    /// `k · sizes[l] + j`.
    pub weights: Vec<Vec<f64>>,
    /// `biases[l − 1]` is b^l, `sizes[l]` long.
    pub biases: Vec<Vec<f64>>,
}

/// The quantities of a forward pass over a batch, kept for the backward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// `activations[l]` is a^l for l = 0 (the inputs) to L − 1 (the last hidden layer),
    /// `[n, sizes[l]]` row-major. The output activation depends on the cost: see
    /// [`Forward::output`].
    pub activations: Vec<Vec<f64>>,
    /// `zs[l − 1]` is z^l for l = 1 to L, `[n, sizes[l]]` row-major.
    pub zs: Vec<Vec<f64>>,
}

impl Forward {
    /// The output layer's weighted inputs z^L, `[n, outputs]`.
    pub fn z_out(&self) -> &[f64] {
        self.zs.last().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The output activations a^L, `[n, outputs]`: σ(z^L) for the quadratic cost, softmax(z^L)
    /// (row by row) for cross-entropy.
    pub fn output(&self, cost: Cost, outputs: usize) -> Vec<f64> {
        match cost {
            Cost::Quadratic => self.z_out().iter().map(|&z| sigmoid(z)).collect(),
            Cost::CrossEntropy => self
                .z_out()
                .chunks_exact(outputs)
                .flat_map(softmax)
                .collect(),
        }
    }
}

/// ∂C/∂W^l and ∂C/∂b^l for every layer, in the same layout as [`Network`]'s parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients {
    /// `weights[l − 1]` is ∂C/∂W^l, `[sizes[l − 1], sizes[l]]` row-major.
    pub weights: Vec<Vec<f64>>,
    /// `biases[l − 1]` is ∂C/∂b^l.
    pub biases: Vec<Vec<f64>>,
}

impl Gradients {
    /// All-zero gradients shaped like `network`'s parameters.
    pub fn zeros_like(network: &Network) -> Gradients {
        Gradients {
            weights: network.weights.iter().map(|w| vec![0.0; w.len()]).collect(),
            biases: network.biases.iter().map(|b| vec![0.0; b.len()]).collect(),
        }
    }
}

/// A deliberate mistake in the backward pass, to prove that the check catches one and names the
/// layer. Layers are numbered from 1 (the first hidden layer) to L (the output layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forget the σ'(z^l) factor of BP1/BP2 in layer `layer`: δ^l is computed without it. (Only
    /// sigmoid layers have one: every hidden layer, and the output layer of the quadratic cost.)
    DropSigmoidPrime { layer: usize },
    /// Report layer `first`'s gradients as layer `second`'s and the other way round (the two
    /// layers must have the same shape).
    SwapLayers { first: usize, second: usize },
}

impl Fault {
    /// Checks that the fault refers to layers of a network of these `sizes` under `cost`.
    pub fn validate(self, sizes: &[usize], cost: Cost) -> Result<(), GradcheckError> {
        let layers = sizes.len().saturating_sub(1);
        let invalid = |reason: String| GradcheckError::InvalidFault {
            fault: self.to_string(),
            reason,
        };
        let in_range = |layer: usize| {
            if (1..=layers).contains(&layer) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "layer {layer} does not exist: the layers are 1 to {layers}"
                )))
            }
        };
        match self {
            Fault::DropSigmoidPrime { layer } => {
                in_range(layer)?;
                if layer == layers && cost == Cost::CrossEntropy {
                    return Err(invalid(
                        "the softmax output layer of the cross-entropy cost has no σ' factor \
                         to drop"
                            .to_string(),
                    ));
                }
            }
            Fault::SwapLayers { first, second } => {
                in_range(first)?;
                in_range(second)?;
                let shape = |l: usize| (sizes[l - 1], sizes[l]);
                if first == second || shape(first) != shape(second) {
                    return Err(invalid(format!(
                        "swapping needs two different layers of one shape, but layer {first} \
                         is {:?} and layer {second} is {:?}",
                        shape(first),
                        shape(second)
                    )));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::DropSigmoidPrime { layer } => write!(f, "drop-sigmoid-prime:{layer}"),
            Fault::SwapLayers { first, second } => write!(f, "swap-layers:{first},{second}"),
        }
    }
}

impl FromStr for Fault {
    type Err = GradcheckError;

    /// Parses `drop-sigmoid-prime:<layer>` or `swap-layers:<layer>,<layer>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || GradcheckError::FaultSyntax(s.to_string());
        let (kind, args) = s.split_once(':').ok_or_else(syntax)?;
        let layer = |a: &str| a.trim().parse::<usize>().map_err(|_| syntax());
        match kind.trim() {
            "drop-sigmoid-prime" => Ok(Fault::DropSigmoidPrime {
                layer: layer(args)?,
            }),
            "swap-layers" => {
                let (a, b) = args.split_once(',').ok_or_else(syntax)?;
                Ok(Fault::SwapLayers {
                    first: layer(a)?,
                    second: layer(b)?,
                })
            }
            _ => Err(syntax()),
        }
    }
}

impl Network {
    /// A network from its layer sizes (input to output) and parameters in Burn's layout,
    /// checking that every tensor has the length the sizes imply.
    pub fn new(
        sizes: Vec<usize>,
        weights: Vec<Vec<f64>>,
        biases: Vec<Vec<f64>>,
    ) -> Result<Network, GradcheckError> {
        let invalid = |reason: String| GradcheckError::InvalidNetwork {
            sizes: sizes.clone(),
            reason,
        };
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(invalid(
                "a network needs an input and an output layer, each of at least one unit"
                    .to_string(),
            ));
        }
        let layers = sizes.len() - 1;
        if weights.len() != layers || biases.len() != layers {
            return Err(invalid(format!(
                "{layers} layers need {layers} weight and bias tensors, got {} and {}",
                weights.len(),
                biases.len()
            )));
        }
        for l in 1..=layers {
            let (fan_in, fan_out) = (sizes[l - 1], sizes[l]);
            if weights[l - 1].len() != fan_in * fan_out || biases[l - 1].len() != fan_out {
                return Err(invalid(format!(
                    "layer {l} should have {fan_in}×{fan_out} weights and {fan_out} biases, \
                     but has {} and {}",
                    weights[l - 1].len(),
                    biases[l - 1].len()
                )));
            }
        }
        Ok(Network {
            sizes,
            weights,
            biases,
        })
    }

    /// Every layer's size, input to output.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The number of layers with parameters, L.
    pub fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// The forward pass over a batch of inputs (`[n, sizes[0]]` row-major):
    /// z^l = a^(l−1)·W^l + b^l for every layer, a^l = σ(z^l) for the hidden ones.
    pub fn forward(&self, inputs: &[f64]) -> Forward {
        let layers = self.layers();
        let mut activations = vec![inputs.to_vec()];
        let mut zs = Vec::with_capacity(layers);
        for l in 1..=layers {
            let (fan_in, fan_out) = (self.sizes[l - 1], self.sizes[l]);
            let (w, b) = (&self.weights[l - 1], &self.biases[l - 1]);
            let a = activations.last().map(Vec::as_slice).unwrap_or(&[]);
            let mut z = Vec::with_capacity(a.len() / fan_in * fan_out);
            for a_row in a.chunks_exact(fan_in) {
                // z_j = b_j + Σ_k a_k W[k][j], accumulated one input k (one row of W) at a time.
                let mut z_row = b.clone();
                for (&a_k, w_k) in a_row.iter().zip(w.chunks_exact(fan_out)) {
                    // Most MNIST pixels are background (0), and adding 0·w changes nothing: skipping
                    // those terms is exact, and makes finite differences several times faster.
                    if a_k == 0.0 {
                        continue;
                    }
                    for (z_j, w_kj) in z_row.iter_mut().zip(w_k) {
                        *z_j += a_k * w_kj;
                    }
                }
                z.extend(z_row);
            }
            if l < layers {
                activations.push(z.iter().map(|&v| sigmoid(v)).collect());
            }
            zs.push(z);
        }
        Forward { activations, zs }
    }

    /// The batch cost C = (1/n) Σₓ Cₓ: Cₓ = ½‖y − σ(z^L)‖² for the quadratic cost,
    /// Cₓ = −ln softmax(z^L)_label = ln Σ_j e^(z^L_j) − z^L_label for cross-entropy.
    pub fn cost(&self, cost: Cost, batch: &Batch) -> f64 {
        let outputs = self.sizes[self.layers()];
        let forward = self.forward(&batch.inputs);
        let total: f64 = forward
            .z_out()
            .chunks_exact(outputs)
            .zip(&batch.labels)
            .map(|(z, &label)| match cost {
                Cost::Quadratic => {
                    let squares: f64 = z
                        .iter()
                        .enumerate()
                        .map(|(j, &z_j)| (sigmoid(z_j) - one_hot(j, label)).powi(2))
                        .sum();
                    0.5 * squares
                }
                Cost::CrossEntropy => log_sum_exp(z) - z[label],
            })
            .sum();
        total / batch.len() as f64
    }

    /// The gradients of the batch cost by backpropagation (BP1–BP4 in the [module docs](self)).
    pub fn backward(&self, cost: Cost, batch: &Batch) -> Gradients {
        self.backward_inner(cost, batch, None)
    }

    /// [`Network::backward`] with a deliberate mistake, to test the check itself.
    pub fn backward_with_fault(
        &self,
        cost: Cost,
        batch: &Batch,
        fault: Fault,
    ) -> Result<Gradients, GradcheckError> {
        fault.validate(&self.sizes, cost)?;
        Ok(self.backward_inner(cost, batch, Some(fault)))
    }

    fn backward_inner(&self, cost: Cost, batch: &Batch, fault: Option<Fault>) -> Gradients {
        let layers = self.layers();
        let n = batch.len() as f64;
        // σ'(z^l) is a factor of δ^l, unless the fault drops it in layer l.
        let sigma_prime = |layer: usize, z: f64| match fault {
            Some(Fault::DropSigmoidPrime { layer: faulty }) if faulty == layer => 1.0,
            _ => sigmoid_prime(z),
        };
        let forward = self.forward(&batch.inputs);

        // BP1: the output error δ^L, one row per example.
        let outputs = self.sizes[layers];
        let mut delta: Vec<f64> = Vec::with_capacity(batch.len() * outputs);
        for (z, &label) in forward.z_out().chunks_exact(outputs).zip(&batch.labels) {
            match cost {
                // δ^L = (a^L − y) ⊙ σ'(z^L), a^L = σ(z^L)
                Cost::Quadratic => delta.extend(z.iter().enumerate().map(|(j, &z_j)| {
                    (sigmoid(z_j) - one_hot(j, label)) * sigma_prime(layers, z_j)
                })),
                // δ^L = softmax(z^L) − y
                Cost::CrossEntropy => delta.extend(
                    softmax(z)
                        .into_iter()
                        .enumerate()
                        .map(|(j, a_j)| a_j - one_hot(j, label)),
                ),
            }
        }

        let mut grads = Gradients::zeros_like(self);
        for l in (1..=layers).rev() {
            let (fan_in, fan_out) = (self.sizes[l - 1], self.sizes[l]);
            let a_prev = &forward.activations[l - 1];
            let (gw, gb) = (&mut grads.weights[l - 1], &mut grads.biases[l - 1]);
            // BP3 and BP4, summed over the batch: ∂C/∂b^l_j += δ^l_j and
            // ∂C/∂W^l[k][j] += a^(l−1)_k δ^l_j (an outer product per example) ...
            for (a_row, d_row) in a_prev.chunks_exact(fan_in).zip(delta.chunks_exact(fan_out)) {
                for (gb_j, d_j) in gb.iter_mut().zip(d_row) {
                    *gb_j += d_j;
                }
                for (a_k, gw_k) in a_row.iter().zip(gw.chunks_exact_mut(fan_out)) {
                    for (gw_kj, d_j) in gw_k.iter_mut().zip(d_row) {
                        *gw_kj += a_k * d_j;
                    }
                }
            }
            // ... then averaged, since C is the mean of the per-example costs.
            for g in gw.iter_mut().chain(gb.iter_mut()) {
                *g /= n;
            }

            // BP2: δ^(l−1)_k = (Σ_j W^l[k][j] δ^l_j) σ'(z^(l−1)_k), for every layer below.
            if l > 1 {
                let w = &self.weights[l - 1];
                let z_prev = &forward.zs[l - 2];
                let mut below = Vec::with_capacity(delta.len() / fan_out * fan_in);
                for (d_row, z_row) in delta.chunks_exact(fan_out).zip(z_prev.chunks_exact(fan_in)) {
                    for (w_k, &z_k) in w.chunks_exact(fan_out).zip(z_row) {
                        let back: f64 = w_k.iter().zip(d_row).map(|(w_kj, d_j)| w_kj * d_j).sum();
                        below.push(back * sigma_prime(l - 1, z_k));
                    }
                }
                delta = below;
            }
        }

        if let Some(Fault::SwapLayers { first, second }) = fault {
            grads.weights.swap(first - 1, second - 1);
            grads.biases.swap(first - 1, second - 1);
        }
        grads
    }
}

/// y_j for the one-hot target of `label`.
fn one_hot(j: usize, label: usize) -> f64 {
    if j == label {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-2-1 network small enough to check by hand.
    fn tiny() -> Network {
        Network::new(
            vec![2, 2, 1],
            // W^1 = [[0.1, 0.2], [0.3, 0.4]] ([inputs, outputs]), W^2 = [[0.5], [-0.6]].
            vec![vec![0.1, 0.2, 0.3, 0.4], vec![0.5, -0.6]],
            vec![vec![0.01, -0.02], vec![0.03]],
        )
        .unwrap()
    }

    #[test]
    fn forward_is_x_times_w_plus_b_in_burns_layout() {
        let net = tiny();
        let f = net.forward(&[1.0, 2.0]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
        // z^1_j = Σ_k x_k W[k][j] + b_j: W[0] = [0.1, 0.2] is input 0's row.
        let z1 = [1.0 * 0.1 + 2.0 * 0.3 + 0.01, 1.0 * 0.2 + 2.0 * 0.4 - 0.02];
        assert!(close(f.zs[0][0], z1[0]) && close(f.zs[0][1], z1[1]));
        let a1 = [sigmoid(f.zs[0][0]), sigmoid(f.zs[0][1])];
        assert_eq!(f.activations[1], a1.to_vec());
        let z2 = a1[0] * 0.5 - a1[1] * 0.6 + 0.03;
        assert!(close(f.zs[1][0], z2));
    }

    #[test]
    fn output_error_of_the_quadratic_cost_is_bp1() {
        // One layer, one example: ∂C/∂b = δ = (σ(z) − y)σ'(z), ∂C/∂w = x δ.
        let net = Network::new(vec![1, 1], vec![vec![0.7]], vec![vec![-0.2]]).unwrap();
        let batch = Batch::new(vec![2.0], vec![0], 1).unwrap();
        let z = 0.7 * 2.0 - 0.2;
        let delta = (sigmoid(z) - 1.0) * sigmoid_prime(z);
        let g = net.backward(Cost::Quadratic, &batch);
        assert!((g.biases[0][0] - delta).abs() < 1e-15);
        assert!((g.weights[0][0] - 2.0 * delta).abs() < 1e-15);
    }

    #[test]
    fn softmax_output_error_is_a_minus_y() {
        let net = Network::new(vec![1, 3], vec![vec![1.0, 2.0, 3.0]], vec![vec![0.0; 3]]).unwrap();
        let batch = Batch::new(vec![0.5], vec![2], 1).unwrap();
        let g = net.backward(Cost::CrossEntropy, &batch);
        let a = softmax(&[0.5, 1.0, 1.5]);
        assert!((g.biases[0][0] - a[0]).abs() < 1e-15);
        assert!((g.biases[0][2] - (a[2] - 1.0)).abs() < 1e-15);
        // The cost is ln Σ e^z − z_label.
        let c = net.cost(Cost::CrossEntropy, &batch);
        assert!((c - (-a[2].ln())).abs() < 1e-15);
    }

    #[test]
    fn faults_parse_display_and_validate() {
        let f: Fault = "drop-sigmoid-prime:2".parse().unwrap();
        assert_eq!(f, Fault::DropSigmoidPrime { layer: 2 });
        assert_eq!(f.to_string(), "drop-sigmoid-prime:2");
        let s: Fault = "swap-layers:1,2".parse().unwrap();
        assert_eq!(
            s,
            Fault::SwapLayers {
                first: 1,
                second: 2
            }
        );
        assert!("drop:1".parse::<Fault>().is_err());
        assert!("swap-layers:1".parse::<Fault>().is_err());

        let sizes = [4, 3, 3, 2];
        assert!(f.validate(&sizes, Cost::Quadratic).is_ok());
        let out = Fault::DropSigmoidPrime { layer: 3 };
        assert!(out.validate(&sizes, Cost::Quadratic).is_ok());
        let err = out.validate(&sizes, Cost::CrossEntropy).unwrap_err();
        assert!(err.to_string().contains("no σ' factor"), "{err}");
        let err = Fault::DropSigmoidPrime { layer: 4 }
            .validate(&sizes, Cost::Quadratic)
            .unwrap_err();
        assert!(err.to_string().contains("layers are 1 to 3"), "{err}");
        assert!(Fault::SwapLayers {
            first: 2,
            second: 1
        }
        .validate(&sizes, Cost::Quadratic)
        .is_err());
        assert!(Fault::SwapLayers {
            first: 2,
            second: 2
        }
        .validate(&sizes, Cost::Quadratic)
        .is_err());
        assert!(Fault::SwapLayers {
            first: 1,
            second: 2
        }
        .validate(&[3, 3, 3, 2], Cost::Quadratic)
        .is_ok());
    }

    #[test]
    fn network_shapes_are_checked() {
        assert!(Network::new(vec![2, 2], vec![vec![0.0; 3]], vec![vec![0.0; 2]]).is_err());
        assert!(Network::new(vec![2], vec![], vec![]).is_err());
        assert!(Network::new(vec![2, 0], vec![vec![]], vec![vec![]]).is_err());
    }
}
