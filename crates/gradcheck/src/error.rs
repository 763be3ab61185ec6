//! What can stop a gradient check before it reaches a verdict.
//!
//! A check that runs and finds gradients that disagree is not an error: it is a failed
//! [`Check`](crate::Check) in the [`Report`](crate::Report).

use burn::tensor::{DType, ExecutionError};
use model::{Backend, ModelError};

/// An error that prevents the gradient check from running; each message says what to do.
///
/// A variant that wraps a cause keeps it as its `#[source]` and leaves it out of its own
/// message: whoever prints the error prints the chain (the binary, with anyhow's `{:#}`).
#[derive(Debug, thiserror::Error)]
pub enum GradcheckError {
    #[error(transparent)]
    Model(#[from] ModelError),

    #[error(
        "--fd-samples 0 would compare nothing with finite differences, and a check that \
         compares nothing proves nothing; give at least 1"
    )]
    NothingToCompare,

    #[error("cannot load the MNIST batch (or pass --random to check on random inputs)")]
    Data {
        #[source]
        source: data::DataError,
    },

    #[error("cannot load the MNIST test image to trace (or trace --mazur, which needs no data)")]
    TraceData {
        #[source]
        source: data::DataError,
    },

    #[error("cannot load the run {dir} to trace")]
    Run {
        dir: std::path::PathBuf,
        #[source]
        source: Box<run::RunError>,
    },

    #[error("cannot prepare the picture to trace")]
    Picture {
        #[source]
        source: data::preprocess::ImageFileError,
    },

    #[error(
        "a picture has no label of its own: say which class it should be with --label (a digit, \
         or one of the run's class names)"
    )]
    LabelNeeded,

    #[error(
        "--label {label}: the run {dir} has no output for it; its outputs are {}: give one of them",
        .names.join(", ")
    )]
    NoSuchClass {
        label: String,
        dir: std::path::PathBuf,
        names: Vec<String>,
    },

    #[error("the run {dir} names no learning rate in its config.toml: give the step's with --eta")]
    NoLearningRate { dir: std::path::PathBuf },

    #[error("cannot load the MNIST images to train on")]
    TrainData {
        #[source]
        source: data::DataError,
    },

    #[error("invalid network {sizes:?}: {reason}")]
    InvalidNetwork { sizes: Vec<usize>, reason: String },

    #[error(
        "the network {sizes:?} has {parameters} parameters: about {needed_gb:.1} GB for the \
         hand derivation and Burn's copies, more than the {available_gb:.1} GB this machine has \
         available; give smaller --layers"
    )]
    TooLarge {
        sizes: Vec<usize>,
        parameters: u64,
        needed_gb: f64,
        available_gb: f64,
    },

    #[error("invalid training: {flag} must be {requirement}")]
    InvalidTraining {
        /// The command-line flag of the setting that is out of range.
        flag: &'static str,
        /// What its value must be.
        requirement: &'static str,
    },

    #[error("invalid batch: {reason}")]
    InvalidBatch { reason: &'static str },

    #[error("invalid batch: {values} inputs cannot be {rows} rows of {width}")]
    BatchShape {
        /// Input values given, for all examples together.
        values: usize,
        /// Examples (labels) given.
        rows: usize,
        /// Inputs per example.
        width: usize,
    },

    #[error("invalid batch: a batch of {wanted} images, but the dataset has only {images}")]
    TooFewImages { wanted: usize, images: usize },

    #[error("invalid batch: image {index} asked for, but the dataset has only {images}")]
    NoSuchImage { index: usize, images: usize },

    #[error(
        "invalid batch: --index {index}, but the test set has {images} images (0 to {})",
        .images.saturating_sub(1)
    )]
    NoSuchTestImage { index: usize, images: usize },

    #[error(
        "invalid batch: examples have {width} inputs but the network's input layer has {inputs}"
    )]
    InputWidth { width: usize, inputs: usize },

    #[error("invalid batch: label {label} has no output unit: the network has {outputs} outputs")]
    LabelWithoutOutput { label: usize, outputs: usize },

    #[error(
        "invalid batch: the network takes {inputs} inputs and has {outputs} outputs, but the \
         example has {example_inputs} inputs and {example_targets} targets"
    )]
    ExampleShape {
        /// The network's input size.
        inputs: usize,
        /// The network's output size.
        outputs: usize,
        /// The example's input values.
        example_inputs: usize,
        /// The example's target values.
        example_targets: usize,
    },

    #[error(
        "backend `{backend}` cannot compute in f64 (Burn's Device::supports_dtype(F64) is false \
         for it), so the f64 comparison cannot run there; use --backend flex"
    )]
    NoF64 { backend: Backend },

    #[error(
        "backend `{backend}` does not really compute in f64: Burn's {op} on F64 tensors is off \
         by a relative {error:.1e}, the precision of f32 (the result is stored as F64 but was \
         computed in f32), so the f64 comparison cannot pass there; use --backend flex"
    )]
    NotF64 {
        backend: Backend,
        op: &'static str,
        error: f64,
    },

    #[error(
        "Burn computed {what} in {got:?} where {expected:?} was asked for, so this would not \
         be a {expected:?} check"
    )]
    WrongDType {
        what: String,
        expected: DType,
        got: DType,
    },

    #[error("Burn's autodiff returned no gradient for layer {layer}'s {param}")]
    NoGradient { layer: usize, param: &'static str },

    #[error("cannot read a tensor back from the device")]
    Readback {
        #[source]
        source: ExecutionError,
    },

    #[error("cannot read a tensor's values back from the device")]
    ReadbackValues {
        #[source]
        source: burn::tensor::DataError,
    },

    #[error(
        "cannot parse the fault `{fault}`: expected `drop-sigmoid-prime:<layer>` or \
         `swap-layers:<layer>,<layer>` (layers are numbered from 1, the first hidden layer)"
    )]
    FaultSyntax {
        /// The text given for `--inject-fault`.
        fault: String,
    },

    #[error("the fault {fault} does not fit this network: {reason}")]
    InvalidFault { fault: String, reason: String },
}
