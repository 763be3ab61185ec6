//! Why a trained network read one example as it did, and what one step toward the right
//! answer would change: the numbers behind `serve`'s "show me why" (`POST /api/explain`).
//!
//! Everything shown is computed by Burn on the run's own network, the code training runs: the
//! forward pass layer by layer ([`model::Mlp`]'s layers and activation, the cost's output
//! activation), the cost ([`model::Cost::loss`]), its gradients (`loss.backward()`) and one
//! step of plain gradient descent w ← w − η ∂C/∂w (Burn's SGD without momentum) on a copy, so
//! nothing the run holds changes. The hand derivation of [`crate::trace::trace`] then
//! recomputes the gradients with BP1–BP4 and the two are compared: the explanation carries the
//! largest relative difference, which a test holds to the tolerance of the comparison.
//!
//! For one example, δ^l = ∂C/∂b^l (BP3), so each layer's δ is Burn's bias gradient; and the
//! first layer's gradient `∂C/∂W^1[k][j]` = x_k δ^1_j (BP4) is the input picture scaled by
//! unit j's δ, which the page draws for the units with the largest |δ|.

use burn::module::Module;
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::{DType, FloatDType};
use model::{Backend, Cost, Mlp};

use crate::autodiff::{cast_network, network_from_mlp, read as read_tensor, read_scalar};
use crate::compare::Comparison;
use crate::trace::{agreement, trace, AutodiffAgreement};
use crate::GradcheckError;

/// One weight layer's numbers for the example, hidden layers first, the output layer last.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainedLayer {
    /// z^l = a^(l−1)·W^l + b^l.
    pub z: Vec<f64>,
    /// a^l: the hidden activation of z, or at the output σ(z) (quadratic cost) or softmax(z)
    /// (cross-entropy).
    pub activation: Vec<f64>,
    /// δ^l = ∂C/∂z^l = ∂C/∂b^l; empty for a frozen layer, which backpropagation does not reach.
    pub delta: Vec<f64>,
    /// Whether the layer is frozen (a run's `[init] freeze`): no gradient, not stepped.
    pub frozen: bool,
}

/// One unit of the first weight layer: its error and its incoming weights' gradient, which is
/// the input scaled by the error (BP4), with the weights before and after the step. `serve`
/// answers it as it is (`first_layer_gradient` of `POST /api/explain`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnitGradient {
    /// The unit's index in the first hidden layer (or the output, for a network without one).
    pub unit: usize,
    /// δ^1_unit.
    pub delta: f64,
    /// a^1_unit, the unit's activation.
    pub activation: f64,
    /// `∂C/∂W^1[k][unit]` for the 784 inputs k = x_k · δ^1_unit, row by row.
    pub image: Vec<f64>,
    /// `W^1[k][unit]` before the step.
    pub weights_before: Vec<f64>,
    /// `W^1[k][unit]` after the step: `weights_before − η · image`.
    pub weights_after: Vec<f64>,
}

/// What [`explain`] computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The index of the output the example should have given.
    pub target: usize,
    /// The outputs a^L before the step.
    pub outputs: Vec<f64>,
    /// The one-hot target y.
    pub y: Vec<f64>,
    /// C(x) before the step, as Burn computed it.
    pub cost: f64,
    /// Every weight layer, hidden first.
    pub layers: Vec<ExplainedLayer>,
    /// The first layer's units with the largest |δ|, largest first.
    pub first_layer_gradient: Vec<UnitGradient>,
    /// The step's size η.
    pub eta: f64,
    /// The outputs after one step of size η on this example.
    pub outputs_after: Vec<f64>,
    /// C(x) after the step.
    pub cost_after: f64,
    /// Burn's gradients against the hand derivation's, on this example.
    pub agreement: AutodiffAgreement,
}

/// Explains `network`'s answer to the input `x` (one example, 0..1 pixels) against the class
/// `target`, for a run trained with `cost`, whose first `frozen` layers are frozen; shows the
/// `units` first-layer units with the largest |δ|. The network may live on any device of
/// `backend`; it is copied to that backend's autodiff device (in f64 where the backend computes
/// in f64, else f32) and left as it is.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    network: &Mlp,
    backend: Backend,
    cost: Cost,
    x: &[f32],
    target: usize,
    eta: f64,
    frozen: usize,
    units: usize,
) -> Result<Explanation, GradcheckError> {
    let (inputs, outputs) = check_example(network, x, target, frozen)?;
    let count = network.layers.len();
    let device = backend.device()?.autodiff();
    let (dtype, comparison) = match crate::suite::f64_support(&device, backend) {
        Ok(()) => (FloatDType::F64, Comparison::ManualVsAutodiffF64),
        Err(_) => (FloatDType::F32, Comparison::ManualVsAutodiffF32),
    };
    let mut burn = cast_network(network.clone().to_device(&device), dtype);
    burn.layers = burn
        .layers
        .into_iter()
        .enumerate()
        .map(|(l, layer)| if l < frozen { layer.no_grad() } else { layer })
        .collect();

    let example = |device: &Device| {
        Tensor::<2>::from_data(
            TensorData::new(x.iter().map(|&v| f64::from(v)).collect(), [1, inputs]),
            (device, DType::from(dtype)),
        )
    };
    let mut y = vec![0.0; outputs];
    y[target] = 1.0;
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![target as i64], [1]), &device);
    let targets = Tensor::<2>::from_data(
        TensorData::new(y.clone(), [1, outputs]),
        (&device, DType::from(dtype)),
    );

    // The forward pass, layer by layer, keeping every z and a; the cost; its gradients.
    let (zs, activations) = forward(&burn, cost, example(&device));
    let loss = cost.loss(zs[count - 1].clone(), labels.clone(), targets.clone());
    let cost_before = read_scalar(loss.clone())?;
    let grads = loss.backward();
    let gradients = gradients_of(&burn, &grads, frozen)?;

    // One step of plain gradient descent, on the copy, and the forward pass again.
    let params = GradientsParams::from_grads(grads, &burn);
    let before_w1 = read_tensor(burn.layers[0].weight.val())?.0;
    let stepped = SgdConfig::new().init().step(eta, burn.clone(), params);
    let after_w1 = read_tensor(stepped.layers[0].weight.val())?.0;
    let (after_zs, after_activations) = forward(&stepped, cost, example(&device));
    let cost_after = read_scalar(cost.loss(after_zs[count - 1].clone(), labels, targets))?;

    let mut layers = Vec::with_capacity(count);
    for l in 0..count {
        layers.push(ExplainedLayer {
            z: read_tensor(zs[l].clone())?.0,
            activation: read_tensor(activations[l].clone())?.0,
            delta: gradients.biases[l].clone(),
            frozen: l < frozen,
        });
    }
    let outputs_before = layers[count - 1].activation.clone();
    let outputs_after = read_tensor(after_activations[count - 1].clone())?.0;

    // The hand derivation, on the same weights and example, for the cross-check.
    let hand_network = network_from_mlp(network)?;
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let hand = trace(&hand_network, cost, &x64, &y, eta, true, frozen)?;
    let agreement = agreement(comparison, &hand.gradients, &gradients, frozen);

    let first_layer_gradient = if frozen > 0 {
        Vec::new()
    } else {
        largest_units(
            &layers[0],
            &gradients.weights[0],
            [&before_w1, &after_w1],
            units,
        )
    };
    Ok(Explanation {
        target,
        outputs: outputs_before,
        y,
        cost: cost_before,
        layers,
        first_layer_gradient,
        eta,
        outputs_after,
        cost_after,
        agreement,
    })
}

/// The example's shape against the network's, and the frozen layers against its layers: the
/// network's inputs and outputs.
fn check_example(
    network: &Mlp,
    x: &[f32],
    target: usize,
    frozen: usize,
) -> Result<(usize, usize), GradcheckError> {
    let sizes = network.sizes();
    let (inputs, outputs) = (sizes[0], sizes[sizes.len() - 1]);
    if x.len() != inputs {
        return Err(GradcheckError::InputWidth {
            width: x.len(),
            inputs,
        });
    }
    if target >= outputs {
        return Err(GradcheckError::ExampleShape {
            inputs,
            outputs,
            example_inputs: x.len(),
            example_targets: target + 1,
        });
    }
    let count = network.layers.len();
    if frozen >= count {
        return Err(GradcheckError::InvalidNetwork {
            sizes,
            reason: format!("{frozen} frozen layers leave none of its {count} layers to step"),
        });
    }
    Ok((inputs, outputs))
}

/// Burn's ∂C/∂W and ∂C/∂b of every layer from `grads`, empty for the first `frozen` layers
/// (which have none).
fn gradients_of(
    network: &Mlp,
    grads: &burn::tensor::Gradients,
    frozen: usize,
) -> Result<crate::manual::Gradients, GradcheckError> {
    let count = network.layers.len();
    let mut gradients = crate::PerLayer {
        weights: Vec::with_capacity(count),
        biases: Vec::with_capacity(count),
    };
    for (l, layer) in network.layers.iter().enumerate() {
        if l < frozen {
            gradients.weights.push(Vec::new());
            gradients.biases.push(Vec::new());
            continue;
        }
        let missing = |param| GradcheckError::NoGradient {
            layer: l + 1,
            param,
        };
        let w = layer.weight.grad(grads).ok_or_else(|| missing("weight"))?;
        let bias = layer.bias.as_ref().ok_or_else(|| missing("bias"))?;
        let b = bias.grad(grads).ok_or_else(|| missing("bias"))?;
        gradients.weights.push(read_tensor(w)?.0);
        gradients.biases.push(read_tensor(b)?.0);
    }
    Ok(gradients)
}

/// The `units` units of the first layer with the largest |δ|, largest first, each with its
/// column of the first layer's gradient `nabla_w1` and of its weights `[before, after]` the
/// step (all `[inputs, width]` row-major).
fn largest_units(
    first: &ExplainedLayer,
    nabla_w1: &[f64],
    [before, after]: [&[f64]; 2],
    units: usize,
) -> Vec<UnitGradient> {
    let width = first.delta.len();
    let inputs = nabla_w1.len() / width.max(1);
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by(|&p, &q| first.delta[q].abs().total_cmp(&first.delta[p].abs()));
    order.truncate(units);
    order
        .into_iter()
        .map(|j| {
            let column = |w: &[f64]| (0..inputs).map(|k| w[k * width + j]).collect();
            UnitGradient {
                unit: j,
                delta: first.delta[j],
                activation: first.activation[j],
                image: column(nabla_w1),
                weights_before: column(before),
                weights_after: column(after),
            }
        })
        .collect()
}

/// Every layer's z and a for the batch `x`.
fn forward(network: &Mlp, cost: Cost, x: Tensor<2>) -> (Vec<Tensor<2>>, Vec<Tensor<2>>) {
    let count = network.layers.len();
    let mut zs = Vec::with_capacity(count);
    let mut activations = Vec::with_capacity(count);
    let mut a = x;
    for (l, layer) in network.layers.iter().enumerate() {
        let z = layer.forward(a);
        a = if l + 1 < count {
            network.activation.apply(z.clone())
        } else {
            cost.output(z.clone())
        };
        zs.push(z);
        activations.push(a.clone());
    }
    (zs, activations)
}
