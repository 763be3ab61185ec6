//! The `gradcheck` command as a library: its arguments, and what each command returns for the
//! binary to print (as text, or as JSON with `--json`). Nothing here prints.

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use model::{Activation, BackendArg, Cost};
use run::Trust;

use crate::fault::Fault;
use crate::suite::{run as run_suite, DataSource, Options};
use crate::trace::{self, MnistTrace, RunTrace, Trace};
use crate::training::{self, EpochRecord, TrainOptions, Training};
use crate::{GradcheckError, Report};

/// `--data-dir DIR`: where the MNIST files are, for each of the subcommands.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct DataDirArg {
    /// Directory of the MNIST files (relative to the current directory).
    #[arg(long, value_name = "DIR", default_value = "data/mnist")]
    pub data_dir: PathBuf,
}

/// The whole command line: the check (its flags at the top level, as before there were
/// subcommands, or after `check`), or `trace`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "gradcheck",
    version,
    args_conflicts_with_subcommands = true,
    about = "Check the hand-written backpropagation against Burn's autodiff and finite \
             differences (the default), trace one example through it (`gradcheck trace`), or \
             train with it (`gradcheck train`)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The check's flags, when no subcommand is given.
    #[command(flatten)]
    pub check: Args,
}

/// What `gradcheck` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// The gradient check (what `gradcheck` alone runs).
    Check(Args),
    /// One example through the network: z, a, a − y, σ'(z), δ per layer, the gradients, one
    /// gradient step, and why the output moved.
    Trace(TraceArgs),
    /// Train the network with the hand-written backward pass (Nielsen's first network
    /// by default), optionally with Burn's autodiff stepping beside it.
    Train(TrainArgs),
}

impl Cli {
    /// The command these arguments ask for: the check when no subcommand is given.
    pub fn command(self) -> Command {
        self.command.unwrap_or(Command::Check(self.check))
    }
}

/// The learning rate of a trace's one step on a network drawn from the seed.
const DEFAULT_TRACE_ETA: f64 = 0.5;

/// The network a trace or a hand-written training run uses, when it is not Mazur's.
#[derive(Debug, Clone, clap::Args)]
pub struct NetworkArgs {
    /// Layer sizes, input to output, comma-separated.
    #[arg(
        long,
        value_name = "SIZES",
        value_delimiter = ',',
        default_value = "784,30,10"
    )]
    pub layers: Vec<usize>,

    /// Activation function of the hidden layers: sigmoid or relu.
    #[arg(long, value_name = "NAME", default_value = "sigmoid", value_parser = parse_activation)]
    pub activation: Activation,

    /// The cost: quadratic or cross_entropy.
    #[arg(long, value_name = "COST", default_value = "quadratic", value_parser = parse_cost)]
    pub cost: Cost,
}

/// Trace one example through a network: the forward pass, backpropagation (BP1–BP4) and one
/// step of gradient descent, every number printed.
#[derive(Debug, Clone, clap::Args)]
pub struct TraceArgs {
    /// Matt Mazur's 2-2-2 network from "A Step by Step Backpropagation Example", with his
    /// weights w1…w8, inputs, targets and η = 0.5.
    #[arg(
        long,
        conflicts_with_all = ["index", "layers", "seed", "activation", "cost", "eta", "init", "model"]
    )]
    pub mazur: bool,

    /// A trained run (a directory written by `train`) to trace instead of a network drawn from
    /// the seed: its own weights, activation, cost, learning rate and frozen layers.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with_all = ["layers", "seed", "activation", "cost", "init"]
    )]
    pub model: Option<PathBuf>,

    /// A picture of a digit (PNG or JPEG) to trace through the --model run, prepared exactly
    /// as `infer` and `serve` prepare it; say what it should be with --label.
    #[arg(
        value_name = "PICTURE",
        requires = "model",
        requires = "label",
        conflicts_with = "index"
    )]
    pub picture: Option<PathBuf>,

    /// The class the example should be (the target y): a digit, or one of the run's class
    /// names [default with --index: the test image's own digit].
    #[arg(long, value_name = "CLASS", requires = "model")]
    pub label: Option<String>,

    /// Load a --model run that has no seal (nothing then shows its weights are `train`'s).
    #[arg(long, requires = "model")]
    pub allow_unsealed: bool,

    /// The MNIST test image to trace (0 to 9999).
    #[arg(
        long,
        value_name = "N",
        required_unless_present_any = ["mazur", "picture"]
    )]
    pub index: Option<usize>,

    /// The network: layer sizes, activation, cost.
    #[command(flatten)]
    pub network: NetworkArgs,

    /// Seed of the initial weights (the check's --seed draws the same network).
    #[arg(long, value_name = "S", default_value_t = 7)]
    pub seed: u64,

    /// Learning rate η of the one gradient step [default: 0.5, or the --model run's own].
    #[arg(long, value_name = "ETA", value_parser = parse_eta)]
    pub eta: Option<f64>,

    /// Initial weights: scaled_normal (W ~ N(0, 1/n_in), the check's), normal (N(0, 1),
    /// Nielsen's first, which saturates wide layers) or uniform.
    #[arg(long, value_name = "NAME", default_value = "scaled_normal", value_parser = parse_init)]
    pub init: model::Init,

    #[command(flatten)]
    pub backend: BackendArg,

    #[command(flatten)]
    pub data: DataDirArg,

    /// Print one JSON object (`layers` with `z`, `a`, `f_prime`, `delta`, `dc_dw`;
    /// `cost_before`, `cost_after`, ...) instead of the text.
    #[arg(long)]
    pub json: bool,
}

impl TraceArgs {
    /// The trace these arguments ask for.
    pub fn trace(&self) -> Result<Trace, GradcheckError> {
        if let Some(dir) = &self.model {
            let example = match (&self.picture, self.index) {
                (Some(picture), _) => trace::Example::Picture(picture.clone()),
                (None, Some(index)) => trace::Example::TestImage(index),
                (None, None) => return Err(GradcheckError::LabelNeeded),
            };
            return trace::from_run(&RunTrace {
                dir: dir.clone(),
                trust: Trust::allowing_unsealed(self.allow_unsealed),
                example,
                label: self.label.clone(),
                eta: self.eta,
                data_dir: self.data.data_dir.clone(),
                backend: self.backend.resolve()?,
            });
        }
        match self.index {
            Some(index) if !self.mazur => trace::mnist(&MnistTrace {
                index,
                sizes: self.network.layers.clone(),
                activation: self.network.activation,
                cost: self.network.cost,
                seed: self.seed,
                eta: self.eta.unwrap_or(DEFAULT_TRACE_ETA),
                data_dir: self.data.data_dir.clone(),
                backend: self.backend.resolve()?,
                init: self.init,
            }),
            _ => trace::mazur(),
        }
    }
}

/// Runs the trace: its [`Trace::text`], or its [`Trace::to_json`] with `--json`, is the
/// output.
pub fn run_trace(args: &TraceArgs) -> Result<Trace, GradcheckError> {
    if !args.mazur && args.model.is_none() {
        crate::size::check(&args.network.layers)?;
    }
    args.trace()
}

/// Train with the hand-written backward pass: stochastic gradient descent, every gradient from
/// BP1–BP4 in plain f64 loops, the test accuracy after every epoch. The defaults are the classic
/// text's first network and training: 784-30-10, sigmoid, quadratic cost, N(0, 1) weights and
/// biases, batches of 10, η = 3, 30 epochs on the first 50,000 training images.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Passes over the training images.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub epochs: usize,

    /// Examples per gradient step.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub batch: usize,

    /// Learning rate η.
    #[arg(long, value_name = "ETA", default_value_t = 3.0, value_parser = parse_eta)]
    pub eta: f64,

    /// The network: layer sizes (784 inputs, 10 outputs), activation, cost.
    #[command(flatten)]
    pub network: NetworkArgs,

    /// Initial weights: normal (N(0, 1), the text's first), scaled_normal or uniform.
    #[arg(long, value_name = "NAME", default_value = "normal", value_parser = parse_init)]
    pub init: model::Init,

    /// Seed of the initial weights and of the batch order.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,

    /// How many training images to train on (the first ones; the text keeps the last 10,000
    /// to validate with).
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub train_images: usize,

    /// How many test images to score on after every epoch (the first ones).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub test_images: usize,

    /// Step a copy of the network with Burn's autodiff (in f64) and Burn's SGD beside the
    /// hand-written one, on the same batches, and report how far apart they are after every
    /// step: the trajectory check.
    #[arg(long)]
    pub against_autodiff: bool,

    /// Stop after this many steps in all.
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,

    #[command(flatten)]
    pub backend: BackendArg,

    #[command(flatten)]
    pub data: DataDirArg,

    /// Print one JSON object (`epochs`, `autodiff`, ...) at the end instead of the text.
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    /// The training these arguments ask for.
    pub fn options(&self) -> Result<TrainOptions, GradcheckError> {
        Ok(TrainOptions {
            sizes: self.network.layers.clone(),
            activation: self.network.activation,
            cost: self.network.cost,
            init: self.init,
            seed: self.seed,
            epochs: self.epochs,
            batch: self.batch,
            eta: self.eta,
            train_images: self.train_images,
            test_images: self.test_images,
            data_dir: self.data.data_dir.clone(),
            backend: self.backend.resolve()?,
            against_autodiff: self.against_autodiff,
            max_steps: self.steps,
        })
    }
}

/// What `gradcheck train` tells as it goes, for the binary to show: the text output is
/// [`Training::header`] when it starts, [`EpochRecord::line`] as each epoch ends, and
/// [`Training::summary`] of what [`run_train`] returns.
pub trait TrainObserver {
    /// Training is about to start (before the data loads).
    fn started(&mut self, options: &TrainOptions);
    /// An epoch has ended; `epochs` is how many the run was asked for.
    fn epoch_done(&mut self, record: &EpochRecord, epochs: usize);
    /// Step `step` of the `of` in epoch `epoch` is done (for progress on long work).
    fn step_done(&mut self, _epoch: usize, _step: usize, _of: usize) {}
}

/// Trains, telling `observer` when it starts and as each epoch ends.
pub fn run_train(
    args: &TrainArgs,
    observer: &mut dyn TrainObserver,
) -> Result<Training, GradcheckError> {
    let options = args.options()?;
    crate::size::check(&options.sizes)?;
    observer.started(&options);
    let epochs = options.epochs;
    training::train(&options, &mut |progress| match progress {
        training::Progress::Step { epoch, step, of } => observer.step_done(epoch, step, of),
        training::Progress::Epoch(record) => observer.epoch_done(record, epochs),
    })
}

/// Check the hand-written backpropagation against Burn's autodiff (in f64 and in f32) and
/// against finite differences, on the project's network and costs.
///
/// Prints a table per cost: for each layer's weights and biases, the largest absolute and
/// relative differences and whether they are within tolerance. Exits with 0 when every check
/// passes, 1 when one fails, 2 when the check cannot run.
#[derive(Debug, Clone, Parser)]
#[command(name = "gradcheck", version)]
pub struct Args {
    /// Layer sizes, input to output, comma-separated (784 inputs for MNIST).
    #[arg(
        long,
        value_name = "SIZES",
        value_delimiter = ',',
        default_value = "784,30,10"
    )]
    pub layers: Vec<usize>,

    /// Activation function of the hidden layers: sigmoid or relu.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "sigmoid",
        value_parser = parse_activation
    )]
    pub activation: Activation,

    /// Examples in the batch: the first MNIST test images, or random ones with --random.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub batch: usize,

    /// Seed of the initial weights, of random inputs and of the finite-difference sample.
    #[arg(long, value_name = "S", default_value_t = 7)]
    pub seed: u64,

    /// The cost to differentiate: quadratic or cross_entropy [default: both].
    #[arg(long, value_name = "COST", value_parser = parse_cost)]
    pub cost: Option<Cost>,

    #[command(flatten)]
    pub backend: BackendArg,

    #[command(flatten)]
    pub data: DataDirArg,

    /// Use seeded random inputs and labels instead of MNIST (any input size).
    #[arg(long)]
    pub random: bool,

    /// How many parameters of each weight matrix and bias vector finite differences probe,
    /// chosen from the seed; smaller tensors are probed whole.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub fd_samples: usize,

    /// Print one JSON object (`passed`, `checks`, ...) instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Test the check itself: break the hand-written backward pass on purpose, with
    /// `drop-sigmoid-prime:<layer>` (leave out the activation's derivative, σ'(z) or ReLU's
    /// step, in that layer's error) or
    /// `swap-layers:<layer>,<layer>` (swap two same-shaped layers' gradients). Layers are
    /// numbered from 1. The check must then fail and name the layer.
    #[arg(long, value_name = "FAULT")]
    pub inject_fault: Option<Fault>,
}

fn parse_activation(s: &str) -> Result<Activation, String> {
    [Activation::Sigmoid, Activation::Relu]
        .into_iter()
        .find(|a| a.name() == s)
        .ok_or_else(|| format!("unknown activation `{s}`: choose sigmoid or relu"))
}

fn parse_init(s: &str) -> Result<model::Init, String> {
    model::Init::ALL
        .into_iter()
        .find(|i| i.name() == s)
        .ok_or_else(|| format!("unknown init `{s}`: choose normal, scaled_normal or uniform"))
}

fn parse_eta(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(eta) if eta.is_finite() && eta > 0.0 => Ok(eta),
        _ => Err(format!(
            "`{s}` is no learning rate: give a number > 0, such as 0.5"
        )),
    }
}

fn parse_cost(s: &str) -> Result<Cost, String> {
    [Cost::Quadratic, Cost::CrossEntropy]
        .into_iter()
        .find(|c| c.name() == s.replace('-', "_"))
        .ok_or_else(|| format!("unknown cost `{s}`: choose quadratic or cross_entropy"))
}

impl Args {
    /// The check these arguments ask for.
    pub fn options(&self) -> Result<Options, GradcheckError> {
        if !self.random && self.layers.first() != Some(&data::IMAGE_PIXELS) {
            return Err(GradcheckError::InvalidNetwork {
                sizes: self.layers.clone(),
                reason: format!(
                    "MNIST images have {} pixels, so --layers must start with {}; or pass \
                     --random to check on random inputs",
                    data::IMAGE_PIXELS,
                    data::IMAGE_PIXELS
                ),
            });
        }
        if self.fd_samples == 0 {
            return Err(GradcheckError::NothingToCompare);
        }
        Ok(Options {
            sizes: self.layers.clone(),
            activation: self.activation,
            batch: self.batch,
            seed: self.seed,
            costs: match self.cost {
                Some(cost) => vec![cost],
                None => vec![Cost::Quadratic, Cost::CrossEntropy],
            },
            backend: self.backend.resolve()?,
            data: if self.random {
                DataSource::Random
            } else {
                DataSource::Mnist(self.data.data_dir.clone())
            },
            fd_samples: self.fd_samples,
            fault: self.inject_fault,
        })
    }
}

/// A check that ran: its report (whether it passed, and the JSON of `--json`) and how long it
/// took. Displayed, the text output: the report's table, then the time.
#[derive(Debug, Clone)]
pub struct Checked {
    pub report: Report,
    /// Wall time of the whole check, the batch's loading included.
    pub seconds: f64,
}

impl fmt::Display for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:.2} s)", self.report.table(), self.seconds)
    }
}

/// Runs the check; the report says whether it passed.
pub fn run(args: Args) -> Result<Checked, GradcheckError> {
    let start = Instant::now();
    crate::size::check(&args.layers)?;
    let report = run_suite(&args.options()?)?;
    Ok(Checked {
        report,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let args = Args::parse_from(["gradcheck"]);
        assert_eq!(args.layers, vec![784, 30, 10]);
        assert_eq!(args.activation, Activation::Sigmoid);
        assert_eq!((args.batch, args.seed, args.cost), (16, 7, None));
        let options = args.options().unwrap();
        assert_eq!(options.costs.len(), 2);
        assert_eq!(options.data, DataSource::Mnist("data/mnist".into()));
    }

    #[test]
    fn arguments_parse() {
        let args = Args::parse_from([
            "gradcheck",
            "--layers",
            "5,4,3",
            "--random",
            "--cost",
            "cross_entropy",
            "--activation",
            "relu",
            "--inject-fault",
            "swap-layers:1,2",
        ]);
        assert_eq!(args.layers, vec![5, 4, 3]);
        assert_eq!(args.cost, Some(Cost::CrossEntropy));
        assert_eq!(args.options().unwrap().activation, Activation::Relu);
        assert_eq!(
            args.inject_fault,
            Some(Fault::SwapLayers {
                first: 1,
                second: 2
            })
        );
        assert!(Args::try_parse_from(["gradcheck", "--cost", "hinge"]).is_err());
        assert!(Args::try_parse_from(["gradcheck", "--activation", "tanh"]).is_err());
        assert!(Args::try_parse_from(["gradcheck", "--inject-fault", "oops"]).is_err());
    }

    #[test]
    fn the_check_is_the_default_and_trace_a_subcommand() {
        let old = Cli::parse_from(["gradcheck", "--layers", "5,4,3", "--random", "--json"]);
        let Command::Check(args) = old.command() else {
            panic!("flags alone run the check")
        };
        assert_eq!(
            (args.layers, args.random, args.json),
            (vec![5, 4, 3], true, true)
        );
        let named = Cli::parse_from(["gradcheck", "check", "--seed", "3"]);
        assert!(matches!(named.command(), Command::Check(a) if a.seed == 3));
        let trace = Cli::parse_from(["gradcheck", "trace", "--index", "4", "--seed", "2"]);
        let Command::Trace(t) = trace.command() else {
            panic!("trace is a subcommand")
        };
        assert_eq!((t.index, t.seed, t.mazur), (Some(4), 2, false));
        assert!(Cli::try_parse_from(["gradcheck", "trace"]).is_err());
        assert!(Cli::try_parse_from(["gradcheck", "trace", "--mazur", "--index", "1"]).is_err());
        assert!(Cli::try_parse_from(["gradcheck", "trace", "--mazur"]).is_ok());
        for eta in ["0", "-1", "nan", "fast"] {
            assert!(
                Cli::try_parse_from(["gradcheck", "trace", "--index", "0", "--eta", eta]).is_err()
            );
        }
    }

    #[test]
    fn mnist_needs_784_inputs() {
        let err = Args::parse_from(["gradcheck", "--layers", "5,4,3"])
            .options()
            .unwrap_err()
            .to_string();
        assert!(err.contains("--random") && err.contains("784"), "{err}");
    }
}
