//! The multilayer perceptron: layers of weighted sums, each followed by an activation.
//!
//! Layer l computes the weighted input z^l = a^(l−1)·W^l + b^l and the activation
//! a^l = σ(z^l), from the previous layer's activation a^(l−1) (a^0 is the input image).
//! Burn's [`Linear`] stores W as `[inputs, outputs]`, so a batch is one row per image.
//! [`Mlp::forward`] returns the last layer's z: what the output layer does with it belongs to
//! the cost (a sigmoid for the quadratic cost, a softmax for cross-entropy; see [`crate::Cost`]).

use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::Distribution;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The nonlinearity of the hidden layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// σ(z) = 1 / (1 + e^(−z)): the classic network's smooth step.
    #[default]
    Sigmoid,
    /// max(0, z): trains deeper networks faster.
    Relu,
}

impl Activation {
    /// The config name: `sigmoid` or `relu`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
        }
    }

    /// Applies the activation to a tensor of weighted inputs.
    pub fn apply<const D: usize>(self, z: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Sigmoid => sigmoid(z),
            Activation::Relu => relu(z),
        }
    }
}

/// How the initial weights and biases are drawn (from the run's seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// W ~ N(0, 1/n_in), b ~ N(0, 1): Nielsen's improved initialisation; keeps a unit's
    /// weighted input near 1 in size whatever its fan-in, so sigmoid units start out of
    /// saturation.
    #[default]
    ScaledNormal,
    /// W, b ~ N(0, 1): Nielsen's first network. A unit's weighted input grows with its fan-in
    /// (the width of the layer below): about 60% of the first hidden layer's sigmoid units
    /// start saturated (784 inputs, whatever the layer's width), and the outputs the more, the
    /// wider the hidden layer (27% at 30 hidden units, 60% at 100: `docs/learn.md`, exercise 1).
    Normal,
    /// W, b ~ U(−1/√n_in, 1/√n_in): PyTorch's default for linear layers.
    Uniform,
}

impl Init {
    /// Every initialisation, in the order the docs list them.
    pub const ALL: [Init; 3] = [Init::ScaledNormal, Init::Normal, Init::Uniform];

    /// Its name in a config: `scaled_normal`, `normal` or `uniform`.
    pub fn name(self) -> &'static str {
        match self {
            Init::ScaledNormal => "scaled_normal",
            Init::Normal => "normal",
            Init::Uniform => "uniform",
        }
    }

    /// The distribution of the weights of a layer with `fan_in` inputs.
    fn weight(self, fan_in: usize) -> Distribution {
        let scale = 1.0 / (fan_in as f64).sqrt();
        match self {
            Init::ScaledNormal => Distribution::Normal(0.0, scale),
            Init::Normal => Distribution::Normal(0.0, 1.0),
            Init::Uniform => Distribution::Uniform(-scale, scale),
        }
    }

    /// The distribution of the biases of a layer with `fan_in` inputs.
    fn bias(self, fan_in: usize) -> Distribution {
        match self {
            Init::ScaledNormal | Init::Normal => Distribution::Normal(0.0, 1.0),
            Init::Uniform => self.weight(fan_in),
        }
    }
}

/// Inputs of the default network: one per pixel of a 28×28 MNIST image. (`model` knows no
/// data files; `data::IMAGE_PIXELS` is the same number, seen from the data's side.)
pub(crate) const DEFAULT_INPUTS: usize = 28 * 28;
/// Outputs of the default network: one per digit (`data::NUM_CLASSES`).
pub(crate) const DEFAULT_OUTPUTS: usize = 10;

fn default_inputs() -> usize {
    DEFAULT_INPUTS
}

fn default_outputs() -> usize {
    DEFAULT_OUTPUTS
}

fn default_hidden() -> Vec<usize> {
    vec![30]
}

/// The shape of the network and how it starts: the `[model]` table of a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Input units: one per pixel (784 for 28×28 images).
    #[serde(default = "default_inputs")]
    pub inputs: usize,
    /// Units in each hidden layer, first to last (`[30]`: one layer of 30).
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    /// Output units: one per digit (10).
    #[serde(default = "default_outputs")]
    pub outputs: usize,
    /// Nonlinearity of the hidden layers.
    #[serde(default)]
    pub activation: Activation,
    /// Distribution of the initial weights and biases.
    #[serde(default)]
    pub init: Init,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            inputs: default_inputs(),
            hidden: default_hidden(),
            outputs: default_outputs(),
            activation: Activation::default(),
            init: Init::default(),
        }
    }
}

impl MlpConfig {
    /// A config with these hidden layers and the defaults otherwise.
    pub fn new(hidden: impl Into<Vec<usize>>) -> Self {
        MlpConfig {
            hidden: hidden.into(),
            ..MlpConfig::default()
        }
    }

    /// The same config with another hidden activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// The same config with another initialisation.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Every layer's size, input to output: `[784, 30, 10]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.inputs];
        sizes.extend(&self.hidden);
        sizes.push(self.outputs);
        sizes
    }

    /// The sizes written as people name a network: `784-128-10`.
    pub fn shape(&self) -> String {
        self.sizes()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Checks that every layer has at least one unit.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.sizes().contains(&0) {
            return Err(ModelError::EmptyLayer {
                sizes: self.sizes(),
            });
        }
        Ok(())
    }

    /// The network drawn from `seed`: the same seed gives the same weights on the same
    /// backend, whatever other threads draw meanwhile.
    ///
    /// Burn keeps one random generator per backend for the whole process, so seeding it and
    /// drawing from it are done under one lock: two networks initialised at once on two threads
    /// (tests, a server) would otherwise each draw some of the other's numbers.
    pub fn init_seeded(&self, seed: u64, device: &Device) -> Mlp {
        let _drawing = DRAWING.lock().unwrap_or_else(|e| e.into_inner());
        device.seed(seed);
        self.draw(device)
    }

    /// The network, its parameters drawn on `device` from Burn's generator as it stands (see
    /// [`MlpConfig::init_seeded`] for a reproducible draw).
    pub fn init(&self, device: &Device) -> Mlp {
        let _drawing = DRAWING.lock().unwrap_or_else(|e| e.into_inner());
        self.draw(device)
    }

    /// Draws the parameters; the caller holds [`DRAWING`].
    fn draw(&self, device: &Device) -> Mlp {
        // Drawn eagerly, layer by layer, weights before biases, so a seed fixes every value.
        // Parameter ids are fixed too (Burn draws them at random, and saves them with the
        // weights): the same seed then writes the same `model.bpk`, byte for byte.
        let layers = self
            .sizes()
            .windows(2)
            .enumerate()
            .map(|(l, w)| {
                let (fan_in, fan_out) = (w[0], w[1]);
                let weight = Tensor::random([fan_in, fan_out], self.init.weight(fan_in), device);
                let bias = Tensor::random([fan_out], self.init.bias(fan_in), device);
                Linear {
                    weight: with_id(Param::from_tensor(weight), 2 * l),
                    bias: Some(with_id(Param::from_tensor(bias), 2 * l + 1)),
                }
            })
            .collect();
        Mlp {
            layers,
            activation: self.activation,
        }
    }
}

/// Held while a network's parameters are drawn from Burn's one generator per process.
static DRAWING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Most memory one evaluation pass's activations may take.
const EVAL_BYTES: usize = 256 << 20;

/// Images per evaluation pass for a network of these layer sizes: its widest layer's f32
/// activations, about three copies of them alive at once (weighted inputs, activations, the
/// next layer's product), must fit in 256 MiB.
pub(crate) fn eval_batch_for(sizes: &[usize]) -> usize {
    let widest = sizes.iter().copied().max().unwrap_or(1).max(1);
    (EVAL_BYTES / (4 * 3 * widest)).clamp(1, Mlp::EVAL_BATCH)
}

/// `param` with the fixed id `id` (see [`MlpConfig::init`]).
fn with_id<const D: usize>(mut param: Param<Tensor<D>>, id: usize) -> Param<Tensor<D>> {
    param.id = ParamId::from(id as u64);
    param
}

/// A multilayer perceptron: `layers[l]` maps layer l's activations to layer l+1's weighted
/// inputs.
#[derive(Module, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    /// The output layer's weighted inputs z^L (`[B, outputs]`) for a batch of inputs
    /// (`[B, inputs]`): hidden layers apply the activation, the output layer does not.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let (last, hidden) = self
            .layers
            .split_last()
            .expect("a network has at least its output layer");
        let a = hidden
            .iter()
            .fold(x, |a, layer| self.hidden_layer(layer, a));
        last.forward(a)
    }

    /// A hidden layer's activations σ(a·W + b) from the previous layer's `a`.
    fn hidden_layer(&self, layer: &Linear, a: Tensor<2>) -> Tensor<2> {
        self.activation.apply(layer.forward(a))
    }

    /// The first hidden layer's activations (`[B, units]`) for a batch of inputs, or `None`
    /// for a network without hidden layers. What `infer --pictures` shows of an input.
    pub fn first_hidden(&self, x: Tensor<2>) -> Option<Tensor<2>> {
        match self.layers.as_slice() {
            [first, _, ..] => Some(self.hidden_layer(first, x)),
            _ => None,
        }
    }

    /// Every hidden layer's activations, first to last (none for a network without hidden
    /// layers), and the output layer's weighted inputs z^L, from one forward pass over a batch
    /// of inputs: what a picture of the network at work shows (`serve`'s page).
    pub fn forward_with_hidden(&self, x: Tensor<2>) -> (Vec<Tensor<2>>, Tensor<2>) {
        let (last, layers) = self
            .layers
            .split_last()
            .expect("a network has at least its output layer");
        let mut hidden: Vec<Tensor<2>> = Vec::with_capacity(layers.len());
        for layer in layers {
            let a = hidden.last().cloned().unwrap_or_else(|| x.clone());
            hidden.push(self.hidden_layer(layer, a));
        }
        let z = last.forward(hidden.last().cloned().unwrap_or(x));
        (hidden, z)
    }

    /// Images per forward pass when evaluating without gradients (`train`'s validation and
    /// test, `infer`, through [`crate::Predictor`]): the whole test set at once, which
    /// [`Mlp::forward_parts`] then spreads over the cores.
    pub const EVAL_BATCH: usize = 10_000;

    /// Images per evaluation pass for this network: [`Mlp::EVAL_BATCH`], or fewer for a network
    /// so wide that a pass over that many images would take more memory than it is worth.
    pub fn eval_batch(&self) -> usize {
        eval_batch_for(&self.sizes())
    }

    /// [`Mlp::forward`] over `parts` blocks of rows at once, one rayon task each, joined back in
    /// order. For CPU backends: Burn runs some operations (the sigmoid among them) on one thread,
    /// so evaluating a large batch as one block leaves the other cores idle (what splitting
    /// gains is measured in BENCHMARKS.md). Blocks smaller than 256 rows are not worth a task,
    /// so small batches run as one.
    pub fn forward_parts(&self, x: Tensor<2>, parts: usize) -> Tensor<2> {
        let rows = x.dims()[0];
        let parts = parts.min(rows / 256).max(1);
        if parts == 1 {
            return self.forward(x);
        }
        let blocks: Vec<Tensor<2>> = x.chunk(parts, 0);
        let outputs: Vec<Tensor<2>> = blocks
            .into_par_iter()
            .map(|block| self.forward(block))
            .collect();
        Tensor::cat(outputs, 0)
    }

    /// Every layer's size, input to output.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes: Vec<usize> = self.layers.iter().map(|l| l.weight.dims()[0]).collect();
        if let Some(last) = self.layers.last() {
            sizes.push(last.weight.dims()[1]);
        }
        sizes
    }
}

/// The network's parameters in Burn's burnpack format.
pub fn network_to_bytes(network: &Mlp) -> Result<Vec<u8>, ModelError> {
    let bytes = network
        .clone()
        .into_record()
        .into_bytes()
        .map_err(ModelError::Encode)?;
    Ok(bytes.to_vec())
}

/// Builds the network `config` describes on `device` and loads burnpack `bytes` into it.
pub fn network_from_bytes(
    config: &MlpConfig,
    bytes: Vec<u8>,
    device: &Device,
) -> Result<Mlp, burn::store::RecordError> {
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))?;
    config.init(device).try_load_record(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        crate::tests::test_backend().device().unwrap()
    }

    #[test]
    fn the_first_hidden_layer_is_sigma_of_a_w_plus_b() {
        let dev = device();
        let net = MlpConfig::new([3]).init(&dev);
        let x: Vec<f32> = (0..2 * 784).map(|k| (k % 7) as f32 / 7.0).collect();
        let a = net
            .first_hidden(Tensor::<2>::from_data(
                TensorData::new(x.clone(), [2, 784]),
                &dev,
            ))
            .unwrap();
        let a: Vec<f32> = a.into_data().convert::<f32>().try_into_vec().unwrap();
        let w: Vec<f32> = net.layers[0]
            .weight
            .val()
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        let b: Vec<f32> = net.layers[0]
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        for n in 0..2 {
            for j in 0..3 {
                let z: f32 = (0..784).map(|i| x[n * 784 + i] * w[i * 3 + j]).sum::<f32>() + b[j];
                let expected = 1.0 / (1.0 + (-z).exp());
                assert!((a[n * 3 + j] - expected).abs() < 1e-4, "{n} {j}");
            }
        }
        let no_hidden = Mlp {
            layers: vec![net.layers[1].clone()],
            activation: net.activation,
        };
        assert!(no_hidden
            .first_hidden(Tensor::<2>::zeros([1, 3], &dev))
            .is_none());
    }

    #[test]
    fn forward_with_hidden_keeps_every_layer_and_ends_where_forward_does() {
        let dev = device();
        let net = MlpConfig::new([6, 4]).init_seeded(5, &dev);
        let x: Vec<f32> = (0..3 * 784).map(|k| (k % 11) as f32 / 11.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [3, 784]), &dev);
        let (hidden, z) = net.forward_with_hidden(x.clone());
        let dims: Vec<[usize; 2]> = hidden.iter().map(|a| a.dims()).collect();
        assert_eq!(dims, vec![[3, 6], [3, 4]]);
        let z: Vec<f32> = z.into_data().try_to_vec().unwrap();
        let forward: Vec<f32> = net.forward(x.clone()).into_data().try_to_vec().unwrap();
        assert_eq!(z, forward);
        let first: Vec<f32> = net
            .first_hidden(x)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let kept: Vec<f32> = hidden[0].clone().into_data().try_to_vec().unwrap();
        assert_eq!(kept, first);

        let linear = MlpConfig::new([]).init_seeded(5, &dev);
        let (hidden, z) = linear.forward_with_hidden(Tensor::zeros([2, 784], &dev));
        assert!(hidden.is_empty());
        assert_eq!(z.dims(), [2, 10]);
    }

    #[test]
    fn shapes_follow_the_config() {
        let net = MlpConfig::new([16, 8]).init(&device());
        assert_eq!(net.sizes(), vec![784, 16, 8, 10]);
        assert_eq!(net.layers[1].weight.dims(), [16, 8]);
        assert_eq!(net.num_params(), 784 * 16 + 16 + 16 * 8 + 8 + 8 * 10 + 10);
        let z = net.forward(Tensor::zeros([3, 784], &device()));
        assert_eq!(z.dims(), [3, 10]);
    }

    #[test]
    fn forward_in_parts_is_forward() {
        let dev = device();
        let net = MlpConfig::new([8]).init_seeded(4, &dev);
        // Inputs made here, not drawn: Burn's generator is shared with the other tests.
        let x: Vec<f32> = (0..1000 * 784)
            .map(|i: usize| (i * 7919 % 1000) as f32 / 1000.0)
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [1000, 784]), &dev);
        let whole: Vec<f32> = net.forward(x.clone()).into_data().try_to_vec().unwrap();
        for parts in [1, 2, 3, 8] {
            let split: Vec<f32> = net
                .forward_parts(x.clone(), parts)
                .into_data()
                .try_to_vec()
                .unwrap();
            assert_eq!(split, whole, "{parts} parts");
        }
    }

    #[test]
    fn evaluation_batches_shrink_for_wide_networks() {
        assert_eq!(eval_batch_for(&[784, 128, 10]), Mlp::EVAL_BATCH);
        let wide = eval_batch_for(&[784, 100_000, 10]);
        assert!(wide < 300 && wide > 0, "{wide}");
        // The bound holds: three copies of the widest layer's activations in 256 MiB.
        assert!(wide * 100_000 * 4 * 3 <= 256 << 20);
    }

    #[test]
    fn no_hidden_layer_is_a_linear_model() {
        let net = MlpConfig::new([]).init(&device());
        assert_eq!(net.sizes(), vec![784, 10]);
    }

    #[test]
    fn zero_sized_layer_is_rejected() {
        let err = MlpConfig::new([30, 0]).validate().unwrap_err().to_string();
        assert!(
            err.contains("at least one unit") && err.contains("[784, 30, 0, 10]"),
            "{err}"
        );
    }

    #[test]
    fn scaled_normal_init_has_the_textbook_spread() {
        let dev = device();
        let net = MlpConfig::new([200]).init_seeded(3, &dev);
        let w: Vec<f32> = net.layers[0].weight.val().into_data().try_to_vec().unwrap();
        let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
        let expected = 1.0 / 784f32.sqrt();
        assert!(
            (std - expected).abs() < 0.05 * expected,
            "std {std}, expected {expected}"
        );
        let b: Vec<f32> = net.layers[0]
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_to_vec()
            .unwrap();
        let bstd = (b.iter().map(|v| v * v).sum::<f32>() / b.len() as f32).sqrt();
        assert!((0.8..1.2).contains(&bstd), "bias std {bstd}");
    }

    #[test]
    fn same_seed_same_weights() {
        let dev = device();
        let draw = |seed| {
            let net = MlpConfig::new([5]).init_seeded(seed, &dev);
            net.layers[0]
                .weight
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9), draw(10));
    }

    #[test]
    fn networks_drawn_at_once_on_many_threads_keep_their_seeds() {
        let dev = device();
        let draw = |seed| {
            MlpConfig::new([50]).init_seeded(seed, &dev).layers[0]
                .weight
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let alone = draw(1);
        let drawn: Vec<Vec<f32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| s.spawn(move || draw(if i % 2 == 0 { 1 } else { 2 })))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, w) in drawn.iter().enumerate() {
            if i % 2 == 0 {
                assert_eq!(w, &alone, "thread {i}");
            }
        }
    }

    #[test]
    fn relu_and_sigmoid_differ_on_negative_inputs() {
        let dev = device();
        let z = Tensor::<1>::from_floats([-2.0, 0.0, 2.0], &dev);
        let s: Vec<f32> = Activation::Sigmoid
            .apply(z.clone())
            .into_data()
            .try_to_vec()
            .unwrap();
        let r: Vec<f32> = Activation::Relu.apply(z).into_data().try_to_vec().unwrap();
        assert!((s[0] - 0.119_203).abs() < 1e-5 && s[1] == 0.5);
        assert_eq!(r, vec![0.0, 0.0, 2.0]);
    }
}
