//! One example through the network, every number of backpropagation printed: a lesson, not a
//! check.
//!
//! [`trace`] runs the forward pass of one input x with target y, the backward pass of
//! [`crate::manual`] (BP1–BP4), and one step of gradient descent,
//!
//! ```text
//! w ← w − η ∂C/∂w        b ← b − η ∂C/∂b
//! ```
//!
//! and keeps, for every layer l, the weighted inputs z^l, the activations a^l, f'(z^l) and the
//! errors δ^l; at the output also a^L − y; then the gradients, the stepped network, its new cost
//! and outputs. [`Trace::text`] writes it for people: layer by layer, then *why the output
//! moved*, with the hidden units whose contribution a^(L−1)_k · `W^L[k][j]` to an output's
//! weighted input z^L_j changed the most.
//!
//! Two examples come ready:
//!
//! - [`mazur`]: the 2-2-2 sigmoid network of Matt Mazur's "A Step by Step Backpropagation
//!   Example" (2015), with its weights w1…w8 named as in the post, so that every printed
//!   number can be found there (total error 0.298371109, ∂E/∂w5 = 0.082167041, w5 after one
//!   step 0.35891648). His error E = Σ ½(target − out)² is the quadratic cost of one example.
//! - [`mnist`]: one MNIST test image through a seeded network drawn as `gradcheck` draws it;
//!   long vectors are summarised (the ten outputs in full, for hidden layers the units with the
//!   largest |δ|).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use model::{Activation, Backend, Cost, Mlp};
use run::{RunSpec, SavedRun, Trust};

use crate::autodiff::{autodiff_gradients, cast_network, device_of, network_from_mlp};
use crate::compare::Comparison;
use crate::manual::{
    bp2_weighted_error, bp4_weight_gradient, hadamard, output_activations, sigmoid_prime,
    Gradients, Network,
};
use crate::suite::f64_support;
use crate::suite::{DataSource, Options};
use crate::Batch;
use crate::{GradcheckError, PerLayer};
use burn::tensor::FloatDType;

/// How many hidden units, weights or contributions a summary lists.
const TOP: usize = 5;

/// How the trace names neurons and weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Mazur's names: inputs i1, i2; hidden h1, h2; outputs o1, o2; weights w1…w8.
    Mazur,
    /// Unit j of layer l, weight `W^l[k][j]`; long layers summarised.
    Layers,
}

/// One layer's numbers from the forward and backward pass of the traced example.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTrace {
    /// z^l = a^(l−1)·W^l + b^l.
    pub z: Vec<f64>,
    /// a^l = f(z^l) (at the output: σ(z^L), or softmax(z^L) for cross-entropy).
    pub a: Vec<f64>,
    /// f'(z^l) (at the output σ'(z^L)); `None` at a softmax output, whose δ^L = a^L − y needs
    /// no derivative of its own.
    pub f_prime: Option<Vec<f64>>,
    /// δ^l = ∂C/∂z^l, which is also ∂C/∂b^l (BP3). Empty in a frozen layer, which BP2
    /// does not reach.
    pub delta: Vec<f64>,
    /// In a hidden layer, the first half of BP2: Σ_j `W^(l+1)[k][j]` δ^(l+1)_j = ∂C/∂a^l_k
    /// for each unit k, before the product with f'(z^l). `None` at the output and in a frozen
    /// layer.
    pub weighted_error: Option<Vec<f64>>,
}

/// Everything [`trace`] computed for one example: before, gradient, after.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The network before the step.
    pub network: Network,
    /// The cost, which also decides the output activation (σ, or softmax for cross-entropy).
    pub cost: Cost,
    /// The input x = a^0.
    pub x: Vec<f64>,
    /// The target y (one-hot for a digit; Mazur's 0.01, 0.99).
    pub y: Vec<f64>,
    /// Layers l = 1, …, L at index l − 1.
    pub layers: Vec<LayerTrace>,
    /// C(x) before the step.
    pub cost_before: f64,
    /// ∂C/∂W^l and ∂C/∂b^l (BP3, BP4); empty for a frozen layer.
    pub gradients: Gradients,
    /// How many layers, from the input, are frozen (a run's `[init] freeze`): BP2 stops above
    /// them and the step leaves them as they are.
    pub frozen: usize,
    /// The learning rate η.
    pub eta: f64,
    /// Whether the step moved the biases too (Mazur's post leaves them alone).
    pub steps_biases: bool,
    /// The network after one step w ← w − η ∂C/∂w (and b ← b − η ∂C/∂b).
    pub stepped: Network,
    /// The stepped network's forward pass of x.
    pub layers_after: Vec<LayerTrace>,
    /// C(x) after the step.
    pub cost_after: f64,
    /// Mazur's names, or layer and unit numbers.
    pub naming: Naming,
    /// The example's digit and where it came from, for the heading.
    pub title: String,
    /// The names of the outputs (a run's classes), when they are not Mazur's o1, o2.
    pub output_names: Option<Vec<String>>,
    /// Burn's autodiff on the same example, against the gradients above (a trained run's
    /// trace).
    pub autodiff: Option<AutodiffAgreement>,
}

/// How Burn's autodiff agrees with the hand derivation on the traced example: its gradients
/// of every stepped layer's weights and biases (`loss.backward()` on the run's network, the
/// code training runs), compared with BP1–BP4's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutodiffAgreement {
    /// Which comparison: Burn in f64 where the backend computes in f64, else in f32.
    pub comparison: Comparison,
    /// The largest relative difference, |a − b| / max(|a|, |b|, floor).
    pub max_rel_error: f64,
    /// Within the comparison's tolerance.
    pub passed: bool,
}

/// Burn's gradients of `cost` on the example (x, `target`) for `network` (on an autodiff
/// device), compared with `hand`'s for the layers from `frozen` + 1 up.
fn autodiff_agreement(
    network: &Mlp,
    backend: Backend,
    cost: Cost,
    x: &[f64],
    target: usize,
    hand: &Gradients,
    frozen: usize,
) -> Result<AutodiffAgreement, GradcheckError> {
    let device = device_of(network)?;
    let (dtype, comparison) = match f64_support(&device, backend) {
        Ok(()) => (FloatDType::F64, Comparison::ManualVsAutodiffF64),
        Err(_) => (FloatDType::F32, Comparison::ManualVsAutodiffF32),
    };
    let network = cast_network(network.clone(), dtype);
    let batch = Batch::new(x.to_vec(), vec![target], x.len())?;
    let burn = autodiff_gradients(&network, cost, &batch, dtype)?.gradients;
    Ok(agreement(comparison, hand, &burn, frozen))
}

/// The hand derivation's gradients against Burn's, for the layers from `frozen` + 1 up: the
/// largest relative difference, and whether it is within `comparison`'s tolerance.
pub(crate) fn agreement(
    comparison: Comparison,
    hand: &Gradients,
    burn: &Gradients,
    frozen: usize,
) -> AutodiffAgreement {
    let tolerance = comparison.tolerance();
    let mut max_rel_error: f64 = 0.0;
    for l in frozen..hand.weights.len() {
        let pairs = hand.weights[l]
            .iter()
            .zip(&burn.weights[l])
            .chain(hand.biases[l].iter().zip(&burn.biases[l]));
        for (a, b) in pairs {
            max_rel_error = max_rel_error.max(tolerance.relative_error(*a, *b));
        }
    }
    AutodiffAgreement {
        comparison,
        max_rel_error,
        passed: max_rel_error <= tolerance.relative,
    }
}

/// The cost of one example with any target vector y: ½‖a^L − y‖² for the quadratic cost,
/// −Σ_j y_j ln a^L_j for cross-entropy (−ln a^L_label when y is one-hot).
pub fn cost_for_target(cost: Cost, a_out: &[f64], y: &[f64]) -> f64 {
    match cost {
        Cost::Quadratic => {
            0.5 * a_out
                .iter()
                .zip(y)
                .map(|(a, y)| (a - y).powi(2))
                .sum::<f64>()
        }
        Cost::CrossEntropy => -a_out
            .iter()
            .zip(y)
            .filter(|(_, &y)| y != 0.0)
            .map(|(a, y)| y * a.ln())
            .sum::<f64>(),
    }
}

/// The forward pass of x, every layer's z, a and f'(z), and the output error (BP1) against y;
/// the hidden layers' errors are filled in by [`trace`].
fn forward_layers(network: &Network, cost: Cost, x: &[f64]) -> Vec<LayerTrace> {
    let forward = network.forward(x);
    let layers = network.layers();
    (1..=layers)
        .map(|l| {
            let z = forward.zs[l - 1].clone();
            if l < layers {
                LayerTrace {
                    a: forward.activations[l].clone(),
                    f_prime: Some(network.f_prime(&z)),
                    delta: Vec::new(),
                    weighted_error: None,
                    z,
                }
            } else {
                LayerTrace {
                    a: output_activations(cost, &z),
                    f_prime: match cost {
                        Cost::Quadratic => Some(z.iter().map(|&z| sigmoid_prime(z)).collect()),
                        Cost::CrossEntropy => None,
                    },
                    delta: Vec::new(),
                    weighted_error: None,
                    z,
                }
            }
        })
        .collect()
}

/// a^L − y, for any target y.
fn a_minus_target(a: &[f64], y: &[f64]) -> Vec<f64> {
    a.iter().zip(y).map(|(a, y)| a - y).collect()
}

/// Traces one example (x, y) through `network` and one gradient step of rate `eta`; the step
/// moves the weights, and the biases only if `step_biases`. The first `frozen` layers are
/// frozen, as a run's `[init] freeze` keeps them: BP2 stops above them, and the step leaves
/// them as they are.
///
/// The backward pass is [`Network::backprop`]'s, written out for a target vector y rather
/// than a label (Mazur's targets are 0.01 and 0.99): BP1 δ^L = (a^L − y) ⊙ σ'(z^L) for the
/// quadratic cost, δ^L = a^L − y for softmax with cross-entropy; BP2
/// δ^l = ((w^(l+1))ᵀ δ^(l+1)) ⊙ f'(z^l); BP3 ∂C/∂b^l = δ^l; BP4 ∂C/∂W^l = (a^(l−1))ᵀ δ^l.
pub fn trace(
    network: &Network,
    cost: Cost,
    x: &[f64],
    y: &[f64],
    eta: f64,
    step_biases: bool,
    frozen: usize,
) -> Result<Trace, GradcheckError> {
    let sizes = network.sizes();
    let (inputs, outputs) = (sizes[0], sizes[sizes.len() - 1]);
    if x.len() != inputs || y.len() != outputs {
        return Err(GradcheckError::ExampleShape {
            inputs,
            outputs,
            example_inputs: x.len(),
            example_targets: y.len(),
        });
    }
    let count = network.layers();
    if frozen >= count {
        return Err(GradcheckError::InvalidNetwork {
            sizes: sizes.to_vec(),
            reason: format!(
                "{frozen} frozen layers leave none of its {count} layers to step; at most {}",
                count - 1
            ),
        });
    }
    let mut layers = forward_layers(network, cost, x);

    // BP1: the output error.
    let out = &layers[count - 1];
    let a_minus_y = a_minus_target(&out.a, y);
    let mut delta = match &out.f_prime {
        Some(sp) => hadamard(&a_minus_y, sp),
        None => a_minus_y,
    };
    let mut nabla_w = vec![Vec::new(); count];
    let mut nabla_b = vec![Vec::new(); count];
    for l in (frozen + 1..=count).rev() {
        if l < count {
            // BP2, with the weights W^(l+1) as they were before any step: the weighted sum,
            // then the product with f'(z^l).
            let sp = layers[l - 1].f_prime.clone().unwrap_or_default();
            let weighted = bp2_weighted_error(&network.params.weights[l], &delta);
            delta = hadamard(&weighted, &sp);
            layers[l - 1].weighted_error = Some(weighted);
        }
        // BP3 and BP4.
        let a_prev = if l == 1 { x } else { &layers[l - 2].a };
        nabla_w[l - 1] = bp4_weight_gradient(a_prev, &delta);
        nabla_b[l - 1] = delta.clone();
        layers[l - 1].delta = delta.clone();
    }
    let gradients = PerLayer {
        weights: nabla_w,
        biases: nabla_b,
    };

    // A frozen layer has no gradient (an empty one): it stays as it is.
    let step = |params: &[Vec<f64>], nabla: &[Vec<f64>]| -> Vec<Vec<f64>> {
        params
            .iter()
            .zip(nabla)
            .map(|(p, g)| {
                if g.is_empty() {
                    p.clone()
                } else {
                    p.iter().zip(g).map(|(p, g)| p - eta * g).collect()
                }
            })
            .collect()
    };
    let params = PerLayer {
        weights: step(&network.params.weights, &gradients.weights),
        biases: if step_biases {
            step(&network.params.biases, &gradients.biases)
        } else {
            network.params.biases.clone()
        },
    };
    let stepped = Network::new(sizes.to_vec(), network.activation(), params)?;
    let layers_after = forward_layers(&stepped, cost, x);
    let cost_before = cost_for_target(cost, &layers[count - 1].a, y);
    let cost_after = cost_for_target(cost, &layers_after[count - 1].a, y);
    Ok(Trace {
        network: network.clone(),
        cost,
        x: x.to_vec(),
        y: y.to_vec(),
        layers,
        cost_before,
        gradients,
        frozen,
        eta,
        steps_biases: step_biases,
        stepped,
        layers_after,
        cost_after,
        naming: Naming::Layers,
        title: String::new(),
        output_names: None,
        autodiff: None,
    })
}

/// Mazur's network in this crate's layout, with his input and targets.
///
/// He writes h1 = σ(w1·i1 + w2·i2 + b1), h2 = σ(w3·i1 + w4·i2 + b1),
/// o1 = σ(w5·h1 + w6·h2 + b2), o2 = σ(w7·h1 + w8·h2 + b2). Burn's `W^l[k][j]` is the weight
/// from input k to neuron j, stored at `k · outputs + j`, so `W^1 = [[w1, w3], [w2, w4]]` is
/// stored as `[w1, w3, w2, w4]`, and W^2 as `[w5, w7, w6, w8]`. His bias is shared by a layer:
/// each neuron gets its own copy of it.
pub fn mazur_network() -> Result<(Network, Vec<f64>, Vec<f64>), GradcheckError> {
    let (w1, w2, w3, w4) = (0.15, 0.20, 0.25, 0.30);
    let (w5, w6, w7, w8) = (0.40, 0.45, 0.50, 0.55);
    let (b1, b2) = (0.35, 0.60);
    let network = Network::new(
        vec![2, 2, 2],
        Activation::Sigmoid,
        PerLayer {
            weights: vec![vec![w1, w3, w2, w4], vec![w5, w7, w6, w8]],
            biases: vec![vec![b1, b1], vec![b2, b2]],
        },
    )?;
    Ok((network, vec![0.05, 0.10], vec![0.01, 0.99]))
}

/// Mazur's name of `W^l[k][j]` in his 2-2-2 network: w1…w4 in the hidden layer, w5…w8 in
/// the output layer, numbered by the neuron j they feed, then the input k.
pub fn mazur_weight_name(l: usize, k: usize, j: usize) -> String {
    format!("w{}", 4 * (l - 1) + 2 * j + k + 1)
}

/// Mazur's example, traced with his η = 0.5; as in his post, the biases stay where they are.
pub fn mazur() -> Result<Trace, GradcheckError> {
    let (network, x, y) = mazur_network()?;
    let mut t = trace(&network, Cost::Quadratic, &x, &y, 0.5, false, 0)?;
    t.naming = Naming::Mazur;
    t.title = "Matt Mazur's \"A Step by Step Backpropagation Example\": i1 = 0.05, i2 = 0.10, \
               targets 0.01, 0.99"
        .to_string();
    Ok(t)
}

/// What [`mnist`] traces.
#[derive(Debug, Clone, PartialEq)]
pub struct MnistTrace {
    /// The index of the image in the MNIST test set.
    pub index: usize,
    /// Layer sizes, input to output (784 inputs).
    pub sizes: Vec<usize>,
    pub activation: Activation,
    pub cost: Cost,
    /// The seed of the network's initial weights, as `gradcheck --seed`.
    pub seed: u64,
    /// The learning rate η of the one step.
    pub eta: f64,
    /// The directory of the MNIST files.
    pub data_dir: std::path::PathBuf,
    /// The backend that draws the initial weights (as the check's does).
    pub backend: Backend,
    /// How the initial weights are drawn (the check's default: `scaled_normal`).
    pub init: model::Init,
}

/// One MNIST test image through a network drawn from `model::MlpConfig` with the seed, as the
/// check draws it (the same weights as `gradcheck --layers … --seed …`), and one step.
pub fn mnist(options: &MnistTrace) -> Result<Trace, GradcheckError> {
    let check = Options {
        sizes: options.sizes.clone(),
        activation: options.activation,
        seed: options.seed,
        costs: vec![options.cost],
        backend: options.backend,
        data: DataSource::Mnist(options.data_dir.clone()),
        batch: 1,
        fd_samples: 1,
        fault: None,
    };
    let config = check.model_config()?.with_init(options.init);
    if config.inputs != data::IMAGE_PIXELS || config.outputs != data::NUM_CLASSES {
        return Err(GradcheckError::InvalidNetwork {
            sizes: options.sizes.clone(),
            reason: format!(
                "an MNIST trace needs {} inputs and {} outputs",
                data::IMAGE_PIXELS,
                data::NUM_CLASSES
            ),
        });
    }
    let (x, label) = mnist_image(&options.data_dir, options.index)?;
    let device = options.backend.device()?.autodiff();
    let mlp: Mlp = config.init_seeded(options.seed, &device);
    let network = network_from_mlp(&mlp)?;
    let mut y = vec![0.0; data::NUM_CLASSES];
    y[label] = 1.0;
    let mut t = trace(&network, options.cost, &x, &y, options.eta, true, 0)?;
    t.output_names = Some((0..data::NUM_CLASSES).map(|d| d.to_string()).collect());
    t.title = format!(
        "MNIST test image {} (a {label}) through the {} {} network drawn with seed {}",
        options.index,
        join_sizes(&options.sizes),
        options.activation.name(),
        options.seed
    );
    Ok(t)
}

/// The example [`from_run`] traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Example {
    /// A picture of a digit (PNG or JPEG), prepared exactly as `infer` and `serve` prepare it.
    Picture(PathBuf),
    /// An image of the MNIST test set.
    TestImage(usize),
}

/// What [`from_run`] traces: a run written by `train`, and one example.
#[derive(Debug, Clone, PartialEq)]
pub struct RunTrace {
    /// The run directory.
    pub dir: PathBuf,
    /// Whether a run without its seal may be loaded.
    pub trust: Trust,
    pub example: Example,
    /// The class the example should be, by the run's name for it (a digit for MNIST runs);
    /// `None` takes a test image's own digit.
    pub label: Option<String>,
    /// The learning rate of the one step; `None` takes the run's.
    pub eta: Option<f64>,
    /// The directory of the MNIST files, for a test image.
    pub data_dir: PathBuf,
    /// The backend the run is loaded on.
    pub backend: Backend,
}

/// One example through a trained run, with the run's own weights, activation, cost, learning
/// rate and frozen layers, and one step (which is not saved: the run is only read).
pub fn from_run(options: &RunTrace) -> Result<Trace, GradcheckError> {
    let device = options.backend.device()?.autodiff();
    let saved = SavedRun::load_with(&options.dir, &device, options.trust).map_err(|source| {
        GradcheckError::Run {
            dir: options.dir.clone(),
            source: Box::new(source),
        }
    })?;
    let spec = &saved.spec;
    let network = network_from_mlp(&saved.network)?;
    let names = output_names(spec);
    let (x, own_digit, what) = match &options.example {
        Example::Picture(path) => {
            let pixels = data::preprocess::load_digit(path)
                .map_err(|source| GradcheckError::Picture { source })?;
            let x: Vec<f64> = pixels.iter().map(|&p| f64::from(p)).collect();
            (x, None, path.display().to_string())
        }
        Example::TestImage(index) => {
            let (x, digit) = mnist_image(&options.data_dir, *index)?;
            (
                x,
                Some(digit),
                format!("MNIST test image {index} (a {digit})"),
            )
        }
    };
    let label = match (&options.label, own_digit) {
        (Some(label), _) => label.clone(),
        (None, Some(digit)) => digit.to_string(),
        (None, None) => return Err(GradcheckError::LabelNeeded),
    };
    let target = names
        .iter()
        .position(|name| *name == label)
        .ok_or_else(|| GradcheckError::NoSuchClass {
            label: label.clone(),
            dir: options.dir.clone(),
            names: names.clone(),
        })?;
    let eta = match options.eta.or(spec.learning_rate()) {
        Some(eta) => eta,
        None => {
            return Err(GradcheckError::NoLearningRate {
                dir: options.dir.clone(),
            })
        }
    };
    let sizes = network.sizes().to_vec();
    if x.len() != sizes[0] {
        return Err(GradcheckError::InputWidth {
            width: x.len(),
            inputs: sizes[0],
        });
    }
    let mut y = vec![0.0; names.len()];
    y[target] = 1.0;
    let mut t = trace(&network, spec.cost, &x, &y, eta, true, spec.frozen_layers())?;
    t.autodiff = Some(autodiff_agreement(
        &saved.network,
        options.backend,
        spec.cost,
        &x,
        target,
        &t.gradients,
        t.frozen,
    )?);
    let outputs = &t.layers[t.layers.len() - 1].a;
    let read = largest(outputs, 1).first().copied().unwrap_or(target);
    t.title = format!(
        "{what}, which should be {label}, through the run {} ({} {}, {} cost): it reads {} \
         ({:.3})",
        options.dir.display(),
        join_sizes(&sizes),
        network.activation().name(),
        spec.cost.name(),
        names[read],
        outputs[read]
    );
    t.output_names = Some(names);
    Ok(t)
}

/// The names of a run's outputs: its class names, else its classes (digits), else the digits.
fn output_names(spec: &RunSpec) -> Vec<String> {
    match (&spec.class_names, &spec.classes) {
        (None, Some(classes)) if classes.len() == spec.model.outputs => {
            classes.iter().map(ToString::to_string).collect()
        }
        _ => spec.class_names(),
    }
}

/// Test image `index`, scaled as training scales it, and its digit.
fn mnist_image(dir: &Path, index: usize) -> Result<(Vec<f64>, usize), GradcheckError> {
    let test = data::ImageDataset::load(dir, data::Split::Test)
        .map_err(|source| GradcheckError::TraceData { source })?;
    if index >= test.len() {
        return Err(GradcheckError::NoSuchTestImage {
            index,
            images: test.len(),
        });
    }
    let x = test
        .image(index)
        .iter()
        .map(|&p| f64::from(data::scale_pixel(p)))
        .collect();
    Ok((x, usize::from(test.label(index))))
}

fn join_sizes(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

/// A number as the trace prints it: nine decimals (Mazur's precision), or three significant
/// digits in scientific notation when that would show only zeros.
fn num(v: f64) -> String {
    if v == 0.0 || v.abs() >= 1e-3 {
        format!("{v:+.9}")
    } else {
        format!("{v:+.3e}")
    }
}

/// Indices of the `n` largest entries by |value|, largest first.
fn largest(values: &[f64], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&p, &q| values[q].abs().total_cmp(&values[p].abs()));
    order.truncate(n);
    order
}

impl Trace {
    /// The output layer L.
    fn output_layer(&self) -> usize {
        self.layers.len()
    }

    /// The name of neuron j of layer l (l = 0: the input).
    fn neuron(&self, l: usize, j: usize) -> String {
        match self.naming {
            Naming::Mazur if l == 0 => format!("i{}", j + 1),
            Naming::Mazur if l == self.output_layer() => format!("o{}", j + 1),
            Naming::Mazur => format!("h{}", j + 1),
            Naming::Layers if l == 0 => format!("input {j}"),
            Naming::Layers if l == self.output_layer() => match &self.output_names {
                Some(names) => format!("output {}", names[j]),
                None => format!("unit {j}"),
            },
            Naming::Layers => format!("unit {j}"),
        }
    }

    /// The name of `W^l[k][j]`.
    fn weight(&self, l: usize, k: usize, j: usize) -> String {
        let burn = format!("W{l}[{k}][{j}]");
        match self.naming {
            Naming::Mazur => format!("{} = {burn}", mazur_weight_name(l, k, j)),
            Naming::Layers => burn,
        }
    }

    /// The trace for people: forward pass, backward pass, the step and what it changed.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let cost_name = match self.cost {
            Cost::Quadratic => "C = ½ Σ_j (a^L_j − y_j)²",
            Cost::CrossEntropy => "C = −Σ_j y_j ln a^L_j, a^L = softmax(z^L)",
        };
        let _ = writeln!(s, "{}", self.title);
        let _ = writeln!(
            s,
            "network {}, hidden layers {}, cost {} ({cost_name})\n",
            join_sizes(self.network.sizes()),
            self.network.activation().name(),
            self.cost.name()
        );

        self.write_forward(&mut s);
        self.write_backward(&mut s);
        self.write_step(&mut s);
        s.push_str(&self.why_the_output_moved());
        s
    }

    /// FORWARD: every layer's z and a (long layers summarised), and the cost.
    fn write_forward(&self, s: &mut String) {
        let big = self.naming == Naming::Layers;
        let l_out = self.output_layer();
        let _ = writeln!(s, "FORWARD: z^l = a^(l−1)·W^l + b^l, a^l = f(z^l); a^0 = x");
        if big {
            let lit = self.x.iter().filter(|&&v| v != 0.0).count();
            let _ = writeln!(
                s,
                "  a^0 = x: {} pixels, {lit} of them not background",
                self.x.len()
            );
        } else {
            for (k, x_k) in self.x.iter().enumerate() {
                let _ = writeln!(s, "  {} = {}", self.neuron(0, k), num(*x_k));
            }
        }
        for l in 1..=l_out {
            let layer = &self.layers[l - 1];
            let _ = writeln!(s, "  layer {l} ({} units)", layer.z.len());
            if l < l_out && big {
                // A summary: how many units pass a signal on; the details are under BACKWARD.
                let state = match self.network.activation() {
                    Activation::Relu => {
                        let on = layer.z.iter().filter(|&&z| z > 0.0).count();
                        format!("{on} active (z > 0); the others pass on 0 and learn nothing from this image")
                    }
                    Activation::Sigmoid => {
                        let flat = layer
                            .f_prime
                            .iter()
                            .flatten()
                            .filter(|&&sp| sp < 0.01)
                            .count();
                        format!("{flat} saturated (σ'(z) < 0.01, so learning slowly)")
                    }
                };
                let _ = writeln!(
                    s,
                    "    {state}\n    (the {TOP} units with the largest |δ| are under BACKWARD)"
                );
                continue;
            }
            for j in 0..layer.z.len() {
                let _ = writeln!(
                    s,
                    "    {:<8} z = {}  a = {}",
                    self.neuron(l, j),
                    num(layer.z[j]),
                    num(layer.a[j])
                );
            }
            // A sigmoid output saturates too, and BP1 multiplies its error by σ'(z^L): how
            // many do is set by the fan-in (the width of the layer below), not by this layer.
            if l == l_out && big {
                if let Some(sp) = &layer.f_prime {
                    let flat = sp.iter().filter(|&&sp| sp < 0.01).count();
                    let _ = writeln!(
                        s,
                        "    {flat} of the {} outputs saturated (σ'(z) < 0.01)",
                        sp.len()
                    );
                }
            }
        }
        let _ = writeln!(s, "  cost C = {}\n", num(self.cost_before));
    }

    /// BACKWARD: BP1 at the output, BP2 down the hidden layers, BP4's largest gradients, and Burn's autodiff beside them.
    fn write_backward(&self, s: &mut String) {
        let big = self.naming == Naming::Layers;
        let l_out = self.output_layer();
        let _ = writeln!(s, "BACKWARD");
        let out = &self.layers[l_out - 1];
        let bp1 = match self.cost {
            Cost::Quadratic => "BP1 δ^L = (a^L − y) ⊙ σ'(z^L)",
            Cost::CrossEntropy => "BP1 δ^L = a^L − y (softmax and cross-entropy)",
        };
        let _ = writeln!(s, "  output layer {l_out}: {bp1}; BP3 ∂C/∂b = δ");
        for j in 0..out.z.len() {
            let sp = out
                .f_prime
                .as_ref()
                .map(|sp| format!("  σ'(z) = {}", num(sp[j])))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "    {:<8} y = {}  a − y = {}{sp}  δ = ∂C/∂b = {}",
                self.neuron(l_out, j),
                num(self.y[j]),
                num(out.a[j] - self.y[j]),
                num(out.delta[j])
            );
        }
        for l in (1..l_out).rev() {
            let layer = &self.layers[l - 1];
            if l <= self.frozen {
                let _ = writeln!(
                    s,
                    "  hidden layer {l}: frozen ([init] freeze = {}): BP2 stops above it, so it \
                     has no δ and no gradient, and the step leaves it as it is",
                    self.frozen
                );
                continue;
            }
            let _ = writeln!(
                s,
                "  hidden layer {l}: BP2 δ^{l}_k = (Σ_j W^{}[k][j] δ^{}_j) · f'(z^{l}_k), the \
                 errors above weighted by unit k's outgoing weights, times f'; BP3 ∂C/∂b = δ",
                l + 1,
                l + 1
            );
            let units: Vec<usize> = if big {
                largest(&layer.delta, TOP)
            } else {
                (0..layer.z.len()).collect()
            };
            let sums = layer.weighted_error.as_deref().unwrap_or_default();
            for j in units {
                let sp = layer.f_prime.as_ref().map_or(0.0, |sp| sp[j]);
                let sum_name = match self.naming {
                    Naming::Mazur => format!("∂E/∂out_{}", self.neuron(l, j)),
                    Naming::Layers => "∂C/∂a".to_string(),
                };
                let _ = writeln!(
                    s,
                    "    {:<8} z = {}  a = {}  Σ_j W·δ = {sum_name} = {}  f'(z) = {}  \
                     δ = ∂C/∂b = {}",
                    self.neuron(l, j),
                    num(layer.z[j]),
                    num(layer.a[j]),
                    num(sums.get(j).copied().unwrap_or(f64::NAN)),
                    num(sp),
                    num(layer.delta[j])
                );
            }
        }
        let _ = writeln!(s, "  BP4 ∂C/∂W^l[k][j] = a^(l−1)_k · δ^l_j");
        for l in 1..=l_out {
            let g = &self.gradients.weights[l - 1];
            if g.is_empty() {
                let _ = writeln!(s, "    layer {l}: frozen, no gradient");
                continue;
            }
            let n_out = self.layers[l - 1].z.len();
            let shown: Vec<usize> = if big {
                largest(g, 3)
            } else {
                (0..g.len()).collect()
            };
            if big {
                let _ = writeln!(s, "    layer {l}, the largest |∂C/∂w|:");
            }
            for i in shown {
                let (k, j) = (i / n_out, i % n_out);
                let _ = writeln!(
                    s,
                    "    ∂C/∂{} ({}→{}) = {}",
                    self.weight(l, k, j),
                    self.neuron(l - 1, k),
                    self.neuron(l, j),
                    num(g[i])
                );
            }
        }

        if let Some(agreement) = &self.autodiff {
            let _ =
                writeln!(
                s,
                "  Burn's autodiff (loss.backward() in {}) on this example: every gradient above \
                 within a relative {:.1e} of it{}",
                if agreement.comparison == Comparison::ManualVsAutodiffF64 { "f64" } else { "f32" },
                agreement.max_rel_error,
                if agreement.passed { "" } else { ": MORE than the check allows" }
            );
        }
    }

    /// ONE STEP: the weights (in full for a small network), the cost and the outputs after it.
    fn write_step(&self, s: &mut String) {
        let big = self.naming == Naming::Layers;
        let l_out = self.output_layer();
        let out = &self.layers[l_out - 1];
        let biases = if self.steps_biases {
            " and b ← b − η ∂C/∂b"
        } else {
            " (biases unchanged, as in Mazur's post)"
        };
        let _ = writeln!(s, "\nONE STEP: w ← w − η ∂C/∂w{biases}, η = {}", self.eta);
        if self.frozen > 0 {
            let _ = writeln!(
                s,
                "  layers 1 to {} are frozen and not stepped; layers {} to {l_out} are",
                self.frozen,
                self.frozen + 1
            );
        }
        if !big {
            for l in 1..=l_out {
                let n_out = self.layers[l - 1].z.len();
                for (i, (w, w_new)) in self.network.params.weights[l - 1]
                    .iter()
                    .zip(&self.stepped.params.weights[l - 1])
                    .enumerate()
                {
                    let _ = writeln!(
                        s,
                        "    {} = {} → {}",
                        self.weight(l, i / n_out, i % n_out),
                        num(*w),
                        num(*w_new)
                    );
                }
            }
        }
        let after = &self.layers_after[l_out - 1];
        let _ = writeln!(
            s,
            "  cost C = {} → {} ({})",
            num(self.cost_before),
            num(self.cost_after),
            num(self.cost_after - self.cost_before)
        );
        if self.naming == Naming::Mazur {
            let _ = writeln!(
                s,
                "    (Mazur's post prints 0.291027924 here; his own new weights, printed above \
                 and in the post, give 0.2910277737, so the post's figure is off from its seventh decimal)"
            );
        }
        for j in 0..after.a.len() {
            let _ = writeln!(
                s,
                "    {:<8} a = {} → {} (target {})",
                self.neuron(l_out, j),
                num(out.a[j]),
                num(after.a[j]),
                num(self.y[j])
            );
        }
    }

    /// The trace as one JSON object: `title`, `cost`, `eta`, `x`, `y`, `layers` (per layer
    /// l = 1…L: `frozen`, `z`, `a`, `f_prime`, `weighted_error` (BP2's Σ_j W·δ, in a hidden
    /// layer), `delta`, `dc_dw` (∂C/∂W^l in Burn's row-major layout; `delta` and `dc_dw` are
    /// null in a frozen layer)), `cost_before`, `cost_after`, `outputs_after`, `steps_biases`,
    /// `frozen_layers`, `output_names`.
    pub fn to_json(&self) -> serde_json::Value {
        let layers: Vec<serde_json::Value> = self
            .layers
            .iter()
            .zip(&self.gradients.weights)
            .enumerate()
            .map(|(i, (layer, dc_dw))| {
                let frozen = i < self.frozen;
                serde_json::json!({
                    "layer": i + 1,
                    "frozen": frozen,
                    "z": layer.z,
                    "a": layer.a,
                    "f_prime": layer.f_prime,
                    "weighted_error": layer.weighted_error,
                    "delta": if frozen { None } else { Some(&layer.delta) },
                    "dc_dw": if frozen { None } else { Some(dc_dw) },
                })
            })
            .collect();
        serde_json::json!({
            "title": self.title,
            "network": self.network.sizes(),
            "activation": self.network.activation().name(),
            "cost": self.cost.name(),
            "eta": self.eta,
            "x": self.x,
            "y": self.y,
            "layers": layers,
            "cost_before": self.cost_before,
            "cost_after": self.cost_after,
            "outputs_after": self.layers_after.last().map(|l| &l.a),
            "steps_biases": self.steps_biases,
            "frozen_layers": self.frozen,
            "output_names": self.output_names,
            "autodiff_max_rel_error": self.autodiff.map(|a| a.max_rel_error),
            "autodiff_comparison": self.autodiff.map(|a| a.comparison.name()),
        })
    }

    /// Why the output moved: z^L_j = Σ_k a^(L−1)_k `W^L[k][j]` + b^L_j, so its change is the
    /// change of the bias plus, for each unit k below, the change of its contribution
    /// a_k `W[k][j]`, in which both the unit's activation and its weight moved.
    fn why_the_output_moved(&self) -> String {
        let mut s = String::new();
        let l_out = self.output_layer();
        let (before, after) = (&self.layers[l_out - 1], &self.layers_after[l_out - 1]);
        let a_below = |layers: &[LayerTrace]| -> Vec<f64> {
            if l_out == 1 {
                self.x.clone()
            } else {
                layers[l_out - 2].a.clone()
            }
        };
        let (a_prev, a_prev_after) = (a_below(&self.layers), a_below(&self.layers_after));
        let n_out = before.z.len();
        let (w, w_after) = (
            &self.network.params.weights[l_out - 1],
            &self.stepped.params.weights[l_out - 1],
        );
        let _ = writeln!(
            s,
            "\nWHY THE OUTPUT MOVED: Δz^L_j = Δb_j + Σ_k Δ(a_k · W^L[k][j]), a_k from layer {}",
            l_out - 1
        );
        // Every output in Mazur's network; in a big one, the target's and the one that moved most.
        let mut outputs: Vec<usize> = if self.naming == Naming::Mazur {
            (0..n_out).collect()
        } else {
            let target = largest(&self.y, 1);
            let dz: Vec<f64> = after.z.iter().zip(&before.z).map(|(a, b)| a - b).collect();
            target.into_iter().chain(largest(&dz, 1)).collect()
        };
        outputs.dedup();
        for j in outputs {
            let db =
                self.stepped.params.biases[l_out - 1][j] - self.network.params.biases[l_out - 1][j];
            let _ = writeln!(
                s,
                "  {}: z {} → {} (Δz = {}, of which Δb = {})",
                self.neuron(l_out, j),
                num(before.z[j]),
                num(after.z[j]),
                num(after.z[j] - before.z[j]),
                num(db)
            );
            let push: Vec<f64> = (0..a_prev.len())
                .map(|k| a_prev_after[k] * w_after[k * n_out + j] - a_prev[k] * w[k * n_out + j])
                .collect();
            let shown = largest(&push, TOP.min(push.len()));
            for &k in &shown {
                let _ = writeln!(
                    s,
                    "    {:<8} a·w {} → {} (pushed z by {})",
                    self.neuron(l_out - 1, k),
                    num(a_prev[k] * w[k * n_out + j]),
                    num(a_prev_after[k] * w_after[k * n_out + j]),
                    num(push[k])
                );
            }
            let others = push.len() - shown.len();
            if others > 0 {
                let rest: f64 =
                    push.iter().sum::<f64>() - shown.iter().map(|&k| push[k]).sum::<f64>();
                let _ = writeln!(
                    s,
                    "    all other {others} units together pushed z by {}",
                    num(rest)
                );
            }
            let _ = writeln!(
                s,
                "    Δb ({}) plus every unit's push ({}) = {} = Δz",
                num(db),
                num(push.iter().sum::<f64>()),
                num(db + push.iter().sum::<f64>())
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mazur_weights_are_named_as_in_the_post() {
        assert_eq!(mazur_weight_name(1, 0, 0), "w1");
        assert_eq!(mazur_weight_name(1, 1, 0), "w2");
        assert_eq!(mazur_weight_name(1, 0, 1), "w3");
        assert_eq!(mazur_weight_name(2, 0, 0), "w5");
        assert_eq!(mazur_weight_name(2, 1, 0), "w6");
        assert_eq!(mazur_weight_name(2, 1, 1), "w8");
        // And stored where Burn's layout puts them.
        let (net, _, _) = mazur_network().unwrap();
        assert_eq!(net.params.weights[0][2], 0.20, "w2 = W1[1][0]");
        assert_eq!(net.params.weights[1][1], 0.50, "w7 = W2[0][1]");
    }

    #[test]
    fn the_trace_agrees_with_backprop() {
        let (net, x, _) = mazur_network().unwrap();
        // With a one-hot target the trace's gradients are Network::backprop's.
        for cost in [Cost::Quadratic, Cost::CrossEntropy] {
            let t = trace(&net, cost, &x, &[0.0, 1.0], 0.5, true, 0).unwrap();
            assert_eq!(t.gradients, net.backprop(cost, &x, 1));
        }
    }
}
