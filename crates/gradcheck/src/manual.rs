//! Backpropagation by hand: the network's forward and backward passes in f64, in plain Rust
//! loops (no Burn, no autodiff), with the derivation.
//!
//! # Notation
//!
//! Layers are numbered l = 1, …, L: layer l takes the activations a^(l−1) of the layer below
//! (a^0 = x, the input) and computes, for each of its neurons j,
//!
//! ```text
//! z^l_j = Σ_k w^l_jk · a^(l−1)_k + b^l_j        (weighted input)
//! a^l_j = f(z^l_j)                              (activation)
//! ```
//!
//! where f, the hidden layers' activation function ([`Activation`]), is the classic network's
//! sigmoid σ(z) = 1 / (1 + e^(−z)) or the rectifier ReLU(z) = max(0, z). The output layer's
//! activation belongs to the cost (see below).
//!
//! The textbook's w^l_jk is the weight *to* neuron j of layer l *from* neuron k of layer l−1, so
//! w^l is an `[outputs × inputs]` matrix acting on a column vector: z^l = w^l a^(l−1) + b^l.
//! Here l counts layers as this project does, from the first hidden layer (l = 1); Nielsen
//! numbers the input layer 1, so this w^l_jk is his w^(l+1)_jk (the table in `docs/learn.md`).
//! Burn's `Linear` stores the same numbers the other way round: W^l is `[inputs, outputs]` and a
//! batch is one row per example, z^l = a^(l−1) · W^l + b^l. **The stored W^l is the transpose of
//! the textbook's w^l**: `W^l[k][j]` = w^l_jk. This module keeps the weights exactly as Burn
//! stores them, flattened row-major, so `W^l[k][j]` is `params.weights[l − 1][k · outputs + j]`,
//! and its gradients come out in that same layout, ready to compare with Burn's.
//!
//! # The four equations of backpropagation
//!
//! The cost of a batch of n examples is the mean of per-example costs, C = (1/n) Σₓ Cₓ. Define
//! the *error* of neuron j in layer l as δ^l_j = ∂Cₓ/∂z^l_j. Then, for one example:
//!
//! ```text
//! (BP1)  δ^L   = ∇ₐCₓ ⊙ σ'(z^L)                      the output layer
//! (BP2)  δ^l   = ((w^(l+1))ᵀ δ^(l+1)) ⊙ f'(z^l)       each layer from the one above
//! (BP3)  ∂Cₓ/∂b^l_j  = δ^l_j
//! (BP4)  ∂Cₓ/∂w^l_jk = a^(l−1)_k · δ^l_j
//! ```
//!
//! and the batch gradients are the means of these over the n examples. Each is the chain rule:
//!
//! - BP1: Cₓ depends on z^L_j only through a^L_j = σ(z^L_j), so δ^L_j = ∂Cₓ/∂a^L_j · σ'(z^L_j).
//! - BP2: z^l_k reaches the cost only through the next layer's weighted inputs
//!   z^(l+1)_j = Σ_k w^(l+1)_jk f(z^l_k) + b^(l+1)_j, so
//!   δ^l_k = Σ_j δ^(l+1)_j w^(l+1)_jk f'(z^l_k).
//! - BP3, BP4: z^l_j = Σ_k w^l_jk a^(l−1)_k + b^l_j, so ∂z^l_j/∂b^l_j = 1 and
//!   ∂z^l_j/∂w^l_jk = a^(l−1)_k.
//!
//! In Burn's layout BP2 reads δ^l_k = (Σ_j `W^(l+1)[k][j]` δ^(l+1)_j) f'(z^l_k), row k of
//! W^(l+1) times δ^(l+1), and BP4 reads ∂Cₓ/∂W^l = (a^(l−1))ᵀ δ^l: an outer product with W^l's
//! own `[inputs, outputs]` shape.
//!
//! # The derivatives of the activations
//!
//! - σ'(z) = σ(z)(1 − σ(z)).
//! - ReLU'(z) = 1 for z > 0 and 0 for z < 0: a step. At z = 0 ReLU has a kink and no
//!   derivative (every slope from 0 to 1 fits under it). This module takes 0 there, as Burn
//!   0.22.1 does (its `relu_backward` zeroes the gradient wherever the output is ≤ 0), so the two
//!   agree even on an exact zero. Finite differences cannot look across a kink: see
//!   [`crate::finite`].
//!
//! # The output layer, for each cost
//!
//! The output layer's activation comes with the cost, whatever the hidden layers use:
//!
//! - **Quadratic** (Nielsen's, [`Cost::Quadratic`]): a^L = σ(z^L) and
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
//!
//! # The code
//!
//! [`Network::backprop`] is Nielsen's `backprop` for one example, with its names: a
//! forward pass that keeps every weighted input (`zs`) and activation (`activations`), BP1 for
//! the output error `delta`, then, from the top layer down, BP3 and BP4 for the layer's
//! gradients (`nabla_b`, `nabla_w`) and BP2 for the error of the layer below.
//! [`Network::backward`] averages it over a batch.

use model::{Activation, Cost};

use crate::{Batch, GradcheckError, PerLayer};

/// ∂C/∂W^l and ∂C/∂b^l for every layer, in the layout of the [`Network`]'s parameters.
pub type Gradients = PerLayer<Vec<f64>>;

/// The logistic sigmoid σ(z) = 1 / (1 + e^(−z)).
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Its derivative σ'(z) = σ(z)(1 − σ(z)).
pub fn sigmoid_prime(z: f64) -> f64 {
    let s = sigmoid(z);
    s * (1.0 - s)
}

/// The rectifier ReLU(z) = max(0, z) (a NaN stays NaN, as in Burn).
pub fn relu(z: f64) -> f64 {
    if z > 0.0 || z.is_nan() {
        z
    } else {
        0.0
    }
}

/// Its derivative, the step ReLU'(z) = 1 for z > 0, else 0 (0 at the kink z = 0, as in Burn).
pub fn relu_prime(z: f64) -> f64 {
    if z > 0.0 {
        1.0
    } else {
        0.0
    }
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

/// A network's parameters in f64, in Burn's layout (see the [module docs](self)), and the
/// activation function of its hidden layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    sizes: Vec<usize>,
    activation: Activation,
    /// `params.weights[l − 1]` is W^l, `[sizes[l − 1], sizes[l]]` row-major (`W^l[k][j]` is
    /// at `k · sizes[l] + j`); `params.biases[l − 1]` is b^l, `sizes[l]` long.
    pub params: PerLayer<Vec<f64>>,
}

/// What the forward pass of one example keeps for its backward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// `activations[l]` is a^l for l = 0 (the input x) to L − 1 (the last hidden layer). The
    /// output activation depends on the cost: see [`output_activations`].
    pub activations: Vec<Vec<f64>>,
    /// `zs[l − 1]` is z^l for l = 1 to L.
    pub zs: Vec<Vec<f64>>,
}

impl Forward {
    /// The output layer's weighted inputs z^L.
    pub fn z_out(&self) -> &[f64] {
        self.zs.last().map(Vec::as_slice).unwrap_or(&[])
    }
}

impl Network {
    /// A network from its layer sizes (input to output), the activation of its hidden layers
    /// and its parameters in Burn's layout, checking that every tensor has the length the
    /// sizes imply.
    pub fn new(
        sizes: Vec<usize>,
        activation: Activation,
        params: PerLayer<Vec<f64>>,
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
        if params.weights.len() != layers || params.biases.len() != layers {
            return Err(invalid(format!(
                "{layers} layers need {layers} weight and bias tensors, got {} and {}",
                params.weights.len(),
                params.biases.len()
            )));
        }
        for l in 1..=layers {
            let (fan_in, fan_out) = (sizes[l - 1], sizes[l]);
            let (w, b) = (&params.weights[l - 1], &params.biases[l - 1]);
            if w.len() != fan_in * fan_out || b.len() != fan_out {
                return Err(invalid(format!(
                    "layer {l} should have {fan_in}×{fan_out} weights and {fan_out} biases, \
                     but has {} and {}",
                    w.len(),
                    b.len()
                )));
            }
        }
        Ok(Network {
            sizes,
            activation,
            params,
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

    /// The activation function of the hidden layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// f(z) entry by entry: the hidden layers' activation function, σ or ReLU.
    pub fn f(&self, z: &[f64]) -> Vec<f64> {
        let f = match self.activation {
            Activation::Sigmoid => sigmoid,
            Activation::Relu => relu,
        };
        z.iter().map(|&z| f(z)).collect()
    }

    /// f'(z) entry by entry: σ'(z), or ReLU's step.
    pub fn f_prime(&self, z: &[f64]) -> Vec<f64> {
        let f_prime = match self.activation {
            Activation::Sigmoid => sigmoid_prime,
            Activation::Relu => relu_prime,
        };
        z.iter().map(|&z| f_prime(z)).collect()
    }

    /// The forward pass of one example x: z^l = a^(l−1)·W^l + b^l for every layer, and
    /// a^l = f(z^l) for the hidden ones.
    pub fn forward(&self, x: &[f64]) -> Forward {
        let layers = self.layers();
        let mut activations = vec![x.to_vec()];
        let mut zs = Vec::with_capacity(layers);
        for l in 1..=layers {
            let z = weighted_input(
                &activations[l - 1],
                &self.params.weights[l - 1],
                &self.params.biases[l - 1],
            );
            if l < layers {
                activations.push(self.f(&z));
            }
            zs.push(z);
        }
        Forward { activations, zs }
    }

    /// The batch cost C = (1/n) Σₓ Cₓ (see [`example_cost`]).
    pub fn cost(&self, cost: Cost, batch: &Batch) -> f64 {
        let total: f64 = batch
            .examples()
            .map(|(x, label)| example_cost(cost, self.forward(x).z_out(), label))
            .sum();
        total / batch.len() as f64
    }

    /// ∂Cₓ/∂W^l and ∂Cₓ/∂b^l for one example x with this label, by backpropagation (BP1–BP4 in
    /// the [module docs](self)).
    pub fn backprop(&self, cost: Cost, x: &[f64], label: usize) -> Gradients {
        let layers = self.layers();
        let Forward { activations, zs } = self.forward(x);
        let mut nabla_b = vec![Vec::new(); layers];
        let mut nabla_w = vec![Vec::new(); layers];

        // BP1: the output error δ^L.
        let mut delta = bp1_output_error(cost, &zs[layers - 1], label);
        for l in (1..=layers).rev() {
            if l < layers {
                // BP2: δ^l = ((w^(l+1))ᵀ δ^(l+1)) ⊙ f'(z^l).
                let sp = self.f_prime(&zs[l - 1]);
                delta = bp2_backpropagate_error(&self.params.weights[l], &delta, &sp);
            }
            // BP3 and BP4: layer l's gradients, from its error δ^l and its input a^(l−1).
            nabla_b[l - 1] = delta.clone();
            nabla_w[l - 1] = bp4_weight_gradient(&activations[l - 1], &delta);
        }
        PerLayer {
            weights: nabla_w,
            biases: nabla_b,
        }
    }

    /// The gradients of the batch cost: [`Network::backprop`] averaged over the examples.
    pub fn backward(&self, cost: Cost, batch: &Batch) -> Gradients {
        mean_over(self, batch, |x, label| self.backprop(cost, x, label))
    }

    /// One step of gradient descent, Nielsen's `update_mini_batch`:
    /// θ → θ − η ∂C/∂θ for every weight and bias, with `gradients` those of the batch cost
    /// (already the mean over the batch, so this is w → w − (η/m) Σₓ ∂Cₓ/∂w).
    pub fn step(&mut self, gradients: &Gradients, eta: f64) {
        let params = self
            .params
            .weights
            .iter_mut()
            .chain(&mut self.params.biases);
        let nablas = gradients.weights.iter().chain(&gradients.biases);
        for (theta, nabla) in params.zip(nablas) {
            for (t, g) in theta.iter_mut().zip(nabla) {
                *t -= eta * g;
            }
        }
    }

    /// The examples of `batch` whose largest output is their label's. (The output activation,
    /// σ or softmax, keeps the order of z^L, so the largest z^L decides.)
    pub fn count_correct(&self, batch: &Batch) -> usize {
        batch
            .examples()
            .filter(|(x, label)| {
                let forward = self.forward(x);
                let z = forward.z_out();
                let best = (0..z.len()).fold(0, |best, j| if z[j] > z[best] { j } else { best });
                best == *label
            })
            .count()
    }
}

/// z = a·W + b for one example, W `[a.len(), b.len()]` row-major: z_j = b_j + Σ_k a_k `W[k][j]`.
fn weighted_input(a: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let mut z = b.to_vec();
    // Accumulated one input k (one row of W) at a time.
    for (&a_k, w_k) in a.iter().zip(w.chunks_exact(b.len())) {
        // Most MNIST pixels are background (0), and so is every ReLU unit below its kink: adding
        // 0·w changes nothing, so skipping those terms is exact, and makes finite differences
        // several times faster.
        if a_k == 0.0 {
            continue;
        }
        for (z_j, w_kj) in z.iter_mut().zip(w_k) {
            *z_j += a_k * w_kj;
        }
    }
    z
}

/// The output activations a^L for weighted inputs z^L: σ(z^L) for the quadratic cost,
/// softmax(z^L) for cross-entropy.
pub fn output_activations(cost: Cost, z: &[f64]) -> Vec<f64> {
    match cost {
        Cost::Quadratic => z.iter().map(|&z_j| sigmoid(z_j)).collect(),
        Cost::CrossEntropy => softmax(z),
    }
}

/// One example's cost Cₓ from its output weighted inputs z^L: ½‖y − σ(z^L)‖² for the quadratic
/// cost, −ln softmax(z^L)_label = ln Σ_j e^(z^L_j) − z^L_label for cross-entropy.
pub fn example_cost(cost: Cost, z: &[f64], label: usize) -> f64 {
    match cost {
        Cost::Quadratic => {
            let squares: f64 = z
                .iter()
                .enumerate()
                .map(|(j, &z_j)| (sigmoid(z_j) - one_hot(j, label)).powi(2))
                .sum();
            0.5 * squares
        }
        Cost::CrossEntropy => log_sum_exp(z) - z[label],
    }
}

/// BP1, the output error δ^L of one example, for each cost (see the [module docs](self)).
pub fn bp1_output_error(cost: Cost, z: &[f64], label: usize) -> Vec<f64> {
    let a = output_activations(cost, z);
    match cost {
        // δ^L = ∇ₐCₓ ⊙ σ'(z^L) = (a^L − y) ⊙ σ'(z^L)
        Cost::Quadratic => {
            let sp: Vec<f64> = z.iter().map(|&z_j| sigmoid_prime(z_j)).collect();
            hadamard(&a_minus_y(&a, label), &sp)
        }
        // δ^L = a^L − y: the softmax's derivative cancels the cost's.
        Cost::CrossEntropy => a_minus_y(&a, label),
    }
}

/// BP2 for one example: δ^l = ((w^(l+1))ᵀ δ^(l+1)) ⊙ f'(z^l), from `w_next` = W^(l+1) (Burn's
/// layout), `delta_next` = δ^(l+1) and `sp` = f'(z^l).
///
/// Since `W^(l+1)[k][j]` = w^(l+1)_jk, entry k of (w^(l+1))ᵀ δ^(l+1) is
/// Σ_j `W^(l+1)[k][j]` δ^(l+1)_j: row k of the stored matrix dotted with δ^(l+1). The error
/// flows back along the weights that carried the activations forward.
pub fn bp2_backpropagate_error(w_next: &[f64], delta_next: &[f64], sp: &[f64]) -> Vec<f64> {
    hadamard(&bp2_weighted_error(w_next, delta_next), sp)
}

/// The first half of BP2: for each unit k of layer l, Σ_j `W^(l+1)[k][j]` δ^(l+1)_j, the
/// output errors weighted by the unit's outgoing weights. It is ∂C/∂a^l_k, how much the cost
/// changes with the unit's activation (Mazur's ∂E_total/∂out_h1); BP2 multiplies it by
/// f'(z^l_k) to get δ^l_k = ∂C/∂z^l_k.
pub fn bp2_weighted_error(w_next: &[f64], delta_next: &[f64]) -> Vec<f64> {
    w_next
        .chunks_exact(delta_next.len())
        .map(|w_k| {
            w_k.iter()
                .zip(delta_next)
                .map(|(w_kj, d_j)| w_kj * d_j)
                .sum()
        })
        .collect()
}

/// BP4 for one example: `∂Cₓ/∂W^l[k][j]` = a^(l−1)_k δ^l_j, the outer product (a^(l−1))ᵀ δ^l,
/// `[a_prev.len(), delta.len()]` row-major: W^l's own layout (the textbook's δ^l (a^(l−1))ᵀ,
/// transposed).
pub fn bp4_weight_gradient(a_prev: &[f64], delta: &[f64]) -> Vec<f64> {
    a_prev
        .iter()
        .flat_map(|&a_k| delta.iter().map(move |&d_j| a_k * d_j))
        .collect()
}

/// a^L − y, y the one-hot target of `label`: ∇ₐCₓ of the quadratic cost, and δ^L itself for
/// softmax with cross-entropy.
pub fn a_minus_y(a: &[f64], label: usize) -> Vec<f64> {
    a.iter()
        .enumerate()
        .map(|(j, &a_j)| a_j - one_hot(j, label))
        .collect()
}

/// u ⊙ v, the entry-by-entry (Hadamard) product.
pub fn hadamard(u: &[f64], v: &[f64]) -> Vec<f64> {
    u.iter().zip(v).map(|(u_i, v_i)| u_i * v_i).collect()
}

/// The mean over the batch of `per_example` gradients (one example's inputs and label in,
/// ∂Cₓ/∂θ out): since C = (1/n) Σₓ Cₓ, ∂C/∂θ = (1/n) Σₓ ∂Cₓ/∂θ.
pub fn mean_over(
    network: &Network,
    batch: &Batch,
    per_example: impl Fn(&[f64], usize) -> Gradients,
) -> Gradients {
    let mut nabla = network.params.map(|p| vec![0.0; p.len()]);
    for (x, label) in batch.examples() {
        let delta_nabla = per_example(x, label);
        let sums = nabla.weights.iter_mut().chain(nabla.biases.iter_mut());
        let terms = delta_nabla.weights.iter().chain(&delta_nabla.biases);
        for (sum, term) in sums.zip(terms) {
            for (s, t) in sum.iter_mut().zip(term) {
                *s += t;
            }
        }
    }
    let n = batch.len() as f64;
    for g in nabla.weights.iter_mut().chain(nabla.biases.iter_mut()) {
        for g_i in g {
            *g_i /= n;
        }
    }
    nabla
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

    fn params(weights: Vec<Vec<f64>>, biases: Vec<Vec<f64>>) -> PerLayer<Vec<f64>> {
        PerLayer { weights, biases }
    }

    /// A 2-2-1 network small enough to check by hand.
    fn tiny(activation: Activation) -> Network {
        Network::new(
            vec![2, 2, 1],
            activation,
            // W^1 = [[0.1, 0.2], [0.3, 0.4]] ([inputs, outputs]), W^2 = [[0.5], [-0.6]].
            params(
                vec![vec![0.1, 0.2, 0.3, 0.4], vec![0.5, -0.6]],
                vec![vec![0.01, -0.62], vec![0.03]],
            ),
        )
        .unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-15
    }

    #[test]
    fn forward_is_x_times_w_plus_b_in_burns_layout() {
        let f = tiny(Activation::Sigmoid).forward(&[1.0, 2.0]);
        // z^1_j = Σ_k x_k W[k][j] + b_j: W[0] = [0.1, 0.2] is input 0's row.
        let z1 = [1.0 * 0.1 + 2.0 * 0.3 + 0.01, 1.0 * 0.2 + 2.0 * 0.4 - 0.62];
        assert!(close(f.zs[0][0], z1[0]) && close(f.zs[0][1], z1[1]));
        let a1 = [1.0 / (1.0 + (-z1[0]).exp()), 1.0 / (1.0 + (-z1[1]).exp())];
        assert!(close(f.activations[1][0], a1[0]) && close(f.activations[1][1], a1[1]));
        let z2 = a1[0] * 0.5 - a1[1] * 0.6 + 0.03;
        assert!(close(f.zs[1][0], z2));
    }

    #[test]
    fn relu_layers_pass_positive_inputs_and_stop_the_others() {
        // For x = (1, 1), `tiny`'s second hidden unit is below the kink: z^1_2 = −0.02.
        let net = tiny(Activation::Relu);
        let f = net.forward(&[1.0, 1.0]);
        let z1 = [0.1 + 0.3 + 0.01, 0.2 + 0.4 - 0.62];
        assert!(close(f.zs[0][0], z1[0]) && close(f.zs[0][1], z1[1]));
        assert_eq!(f.activations[1], vec![f.zs[0][0], 0.0]);

        // Quadratic cost, label 0: δ² = (σ(z²) − 1) σ'(z²); BP2 gives δ¹ = W²[·][0] δ² ⊙ (1, 0).
        let batch = Batch::new(vec![1.0, 1.0], vec![0], 2).unwrap();
        let g = net.backward(Cost::Quadratic, &batch);
        let z2 = 0.5 * z1[0] + 0.03;
        let s = 1.0 / (1.0 + (-z2).exp());
        let delta2 = (s - 1.0) * s * (1.0 - s);
        assert!(close(g.biases[1][0], delta2));
        assert!(close(g.biases[0][0], 0.5 * delta2));
        assert_eq!(g.biases[0][1], 0.0);
        // BP4: ∂C/∂W¹[k][j] = x_k δ¹_j; the stopped unit's column is zero.
        assert_eq!(g.weights[0][1], 0.0);
        assert!(close(g.weights[0][2], 1.0 * 0.5 * delta2));
        assert!(close(g.weights[1][0], z1[0] * delta2));
    }

    #[test]
    fn relu_derivative_is_a_step_that_is_zero_at_the_kink() {
        assert_eq!(relu_prime(0.5), 1.0);
        assert_eq!(relu_prime(-0.5), 0.0);
        // Burn's relu_backward keeps the gradient only where the output is > 0.
        assert_eq!(relu_prime(0.0), 0.0);
        assert_eq!(relu(-2.0), 0.0);
        assert!(relu(f64::NAN).is_nan());
    }

    #[test]
    fn output_error_of_the_quadratic_cost_is_bp1() {
        // One layer, one example: ∂C/∂b = δ = (σ(z) − y)σ'(z), ∂C/∂w = x δ.
        let net = Network::new(
            vec![1, 1],
            Activation::Sigmoid,
            params(vec![vec![0.7]], vec![vec![-0.2]]),
        )
        .unwrap();
        let batch = Batch::new(vec![2.0], vec![0], 1).unwrap();
        let z: f64 = 0.7 * 2.0 - 0.2;
        let s = 1.0 / (1.0 + (-z).exp());
        let delta = (s - 1.0) * s * (1.0 - s);
        let g = net.backward(Cost::Quadratic, &batch);
        assert!(close(g.biases[0][0], delta));
        assert!(close(g.weights[0][0], 2.0 * delta));
    }

    #[test]
    fn softmax_output_error_is_a_minus_y() {
        let net = Network::new(
            vec![1, 3],
            Activation::Sigmoid,
            params(vec![vec![1.0, 2.0, 3.0]], vec![vec![0.0; 3]]),
        )
        .unwrap();
        let batch = Batch::new(vec![0.5], vec![2], 1).unwrap();
        let g = net.backward(Cost::CrossEntropy, &batch);
        let e = [0.5f64.exp(), 1.0f64.exp(), 1.5f64.exp()];
        let a: Vec<f64> = e.iter().map(|e_i| e_i / e.iter().sum::<f64>()).collect();
        assert!(close(g.biases[0][0], a[0]));
        assert!(close(g.biases[0][2], a[2] - 1.0));
        // The cost is −ln a_label.
        let c = net.cost(Cost::CrossEntropy, &batch);
        assert!(close(c, -a[2].ln()));
    }

    #[test]
    fn the_batch_gradient_is_the_mean_of_the_examples() {
        let net = tiny(Activation::Relu);
        let batch = Batch::new(vec![1.0, 1.0, 1.0, 2.0], vec![0, 0], 2).unwrap();
        let g = net.backward(Cost::Quadratic, &batch);
        let one = net.backprop(Cost::Quadratic, &[1.0, 1.0], 0);
        let two = net.backprop(Cost::Quadratic, &[1.0, 2.0], 0);
        for l in 0..2 {
            for (i, g_i) in g.weights[l].iter().enumerate() {
                assert!(close(*g_i, (one.weights[l][i] + two.weights[l][i]) / 2.0));
            }
        }
        // The second example has both hidden units above the kink, the first only one.
        assert_ne!(two.biases[0][1], 0.0);
        assert_eq!(one.biases[0][1], 0.0);
    }

    #[test]
    fn network_shapes_are_checked() {
        let sigmoid = Activation::Sigmoid;
        let wrong = params(vec![vec![0.0; 3]], vec![vec![0.0; 2]]);
        assert!(Network::new(vec![2, 2], sigmoid, wrong).is_err());
        assert!(Network::new(vec![2], sigmoid, params(vec![], vec![])).is_err());
        let empty = params(vec![vec![]], vec![vec![]]);
        assert!(Network::new(vec![2, 0], sigmoid, empty).is_err());
    }
}
