//! The whole check: build the real network, run the hand-written pass, Burn's autodiff in f64
//! and in f32, and finite differences on the same weights and batch, and compare.

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{DType, FloatDType};
use data::{IMAGE_PIXELS, NUM_CLASSES};
use model::{Activation, Backend, Cost, Mlp, MlpConfig};

use crate::autodiff::{autodiff_gradients, cast_network, network_from_mlp, verify_f64};
use crate::compare::{compare, Case, Comparison};
use crate::fault::Fault;
use crate::finite::{finite_differences, Sample, STEP};
use crate::manual::Network;
use crate::report::{Losses, Report};
use crate::{Batch, DataKind, GradcheckError};

/// Where the batch comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// The first images of the MNIST test set in this directory.
    Mnist(PathBuf),
    /// Seeded random inputs and labels.
    Random,
}

/// What to check.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Layer sizes, input to output (`[784, 30, 10]`).
    pub sizes: Vec<usize>,
    /// The activation function of the hidden layers.
    pub activation: Activation,
    /// Examples in the batch.
    pub batch: usize,
    /// Seed of the initial weights (and of random inputs and the finite-difference sample).
    pub seed: u64,
    /// The costs to differentiate.
    pub costs: Vec<Cost>,
    /// The backend Burn's autodiff runs on.
    pub backend: Backend,
    pub data: DataSource,
    /// At most this many parameters of each weight matrix and bias vector are probed by finite
    /// differences; smaller tensors are probed whole.
    pub fd_samples: usize,
    /// A deliberate mistake in the hand-written backward pass (to test the check itself).
    pub fault: Option<Fault>,
}

impl Options {
    /// The defaults of `cargo run -p gradcheck`: a 784-30-10 sigmoid network, 16 MNIST test
    /// images from `data_dir`, seed 7, both costs, the build's default backend.
    pub fn new(data: DataSource) -> Result<Options, GradcheckError> {
        Ok(Options {
            sizes: vec![IMAGE_PIXELS, 30, NUM_CLASSES],
            activation: Activation::Sigmoid,
            batch: 16,
            seed: 7,
            costs: vec![Cost::Quadratic, Cost::CrossEntropy],
            backend: Backend::resolve(None)?,
            data,
            fd_samples: 100,
            fault: None,
        })
    }

    /// The network's config in the `model` crate: these sizes and activation, the default
    /// initialisation.
    pub fn model_config(&self) -> Result<MlpConfig, GradcheckError> {
        let invalid = |reason: &str| GradcheckError::InvalidNetwork {
            sizes: self.sizes.clone(),
            reason: reason.to_string(),
        };
        let (inputs, rest) = self
            .sizes
            .split_first()
            .ok_or_else(|| invalid("no layers"))?;
        let (outputs, hidden) = rest
            .split_last()
            .ok_or_else(|| invalid("give at least an input and an output size"))?;
        let config = MlpConfig {
            inputs: *inputs,
            hidden: hidden.to_vec(),
            outputs: *outputs,
            ..MlpConfig::default()
        }
        .with_activation(self.activation);
        config.validate()?;
        Ok(config)
    }
}

/// Loads the batch `options` asks for and runs every check on it.
pub fn run(options: &Options) -> Result<Report, GradcheckError> {
    // The network first: its errors say more than those of a batch shaped after it.
    options.model_config()?;
    if options.batch == 0 {
        return Err(GradcheckError::InvalidBatch {
            reason: "the batch needs at least one example",
        });
    }
    let (batch, kind) = match &options.data {
        DataSource::Mnist(dir) => {
            let test = data::ImageDataset::load(dir, data::Split::Test)
                .map_err(|source| GradcheckError::Data { source })?;
            (Batch::mnist(&test, options.batch)?, DataKind::Mnist)
        }
        DataSource::Random => {
            let (inputs, outputs) = match options.sizes.as_slice() {
                [first, .., last] => (*first, *last),
                _ => (0, 0),
            };
            let batch = Batch::random(options.batch, inputs, outputs, options.seed)?;
            (batch, DataKind::Random)
        }
    };
    run_on_batch(options, &batch, kind)
}

/// Runs every check of `options` on `batch` (its `data` field is ignored).
///
/// For each cost: the hand-written gradients, compared with Burn's autodiff in f64 on every
/// parameter, with finite differences on a sample of them (less the probes that cross a ReLU
/// kink: see [`crate::finite`]), and with Burn's autodiff in f32 on every parameter. The f64
/// comparison is skipped, with the reason in [`Report::f64_skipped`], on a backend that
/// does not [`supports_f64`](Backend::supports_f64); on any other, a device that does not
/// compute in f64 is an error.
pub fn run_on_batch(
    options: &Options,
    batch: &Batch,
    kind: DataKind,
) -> Result<Report, GradcheckError> {
    let config = options.model_config()?;
    let sizes = config.sizes();
    batch.check_fits(&sizes)?;
    if let Some(fault) = options.fault {
        for &cost in &options.costs {
            fault.validate(&sizes, cost)?;
        }
    }

    let device = options.backend.device()?.autodiff();
    let f64_skipped = match f64_support(&device, options.backend) {
        Ok(()) => None,
        // A known limit of this backend in Burn 0.22.1 (see `Backend::supports_f64`): check
        // what can be checked, and say why the rest was not.
        Err(e) if !options.backend.supports_f64() => Some(model::error_chain(&e)),
        // Anywhere else, f64 that is not f64 is a fault to report, not to work around.
        Err(e) => return Err(e),
    };

    // The real network, drawn as training draws it (in the device's default f32). The
    // hand-written pass reads its values, widened to f64 (exactly), and Burn's f64 run casts
    // them to f64 (exactly): all three start from the same numbers.
    let net_f32: Mlp = config.init_seeded(options.seed, &device);
    let manual: Network = network_from_mlp(&net_f32)?;
    let net_f64 = match f64_skipped {
        None => Some(cast_network(net_f32.clone(), FloatDType::F64)),
        Some(_) => None,
    };

    let everything = Sample::all(&manual);
    let fd_sample = Sample::at_most(&manual, options.fd_samples, options.seed);
    let mut checks = Vec::new();
    let mut losses = Vec::new();
    let mut fd_skipped_at_kinks = 0;
    for &cost in &options.costs {
        let case = Case { cost, data: kind };
        let mine = match options.fault {
            Some(fault) => fault.backward(&manual, cost, batch)?,
            None => manual.backward(cost, batch),
        };

        let f64_run = match &net_f64 {
            Some(net) => {
                let run = autodiff_gradients(net, cost, batch, FloatDType::F64)?;
                checks.extend(compare(
                    Comparison::ManualVsAutodiffF64,
                    case,
                    &sizes,
                    &mine,
                    &run.gradients,
                    &everything,
                ));
                Some(run)
            }
            None => None,
        };

        let fd = finite_differences(&manual, cost, batch, &fd_sample, STEP);
        fd_skipped_at_kinks += fd.at_kinks.len();
        checks.extend(compare(
            Comparison::ManualVsFiniteDifference,
            case,
            &sizes,
            &mine,
            &fd.gradients,
            &fd.estimated,
        ));

        let f32_run = autodiff_gradients(&net_f32, cost, batch, FloatDType::F32)?;
        checks.extend(compare(
            Comparison::ManualVsAutodiffF32,
            case,
            &sizes,
            &mine,
            &f32_run.gradients,
            &everything,
        ));

        losses.push(Losses {
            cost,
            manual: manual.cost(cost, batch),
            autodiff_f64: f64_run.as_ref().map(|r| r.loss),
            autodiff_f32: f32_run.loss,
            f64_gradient_dtype: f64_run.map(|r| format!("{:?}", r.gradient_dtype)),
            f32_gradient_dtype: format!("{:?}", f32_run.gradient_dtype),
        });
    }

    Ok(Report {
        passed: checks.iter().all(|c| c.passed),
        network: sizes,
        activation: options.activation,
        parameters: net_f32.num_params(),
        batch: batch.len(),
        data: kind,
        seed: options.seed,
        backend: options.backend.name().to_string(),
        fd_step: STEP,
        fd_skipped_at_kinks,
        fault: options.fault.map(|f| f.to_string()),
        f64_skipped,
        losses,
        checks,
    })
}

/// Whether `device` stores and really computes in f64 (see [`verify_f64`]).
pub(crate) fn f64_support(
    device: &burn::prelude::Device,
    backend: Backend,
) -> Result<(), GradcheckError> {
    if !device.supports_dtype(DType::F64) {
        return Err(GradcheckError::NoF64 { backend });
    }
    verify_f64(device, backend)
}
