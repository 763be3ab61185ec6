//! The command line: what to measure, and the hidden `child` subcommand through which the bench
//! runs each measurement in a process of its own.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand};
use model::Backend;

use crate::network::Network;

/// Measure how fast the digits network trains and predicts on each backend compiled in, beside
/// the reference numpy and PyTorch networks when --peers is given.
///
/// Every measurement runs in a fresh process. The networks are read from configs/NETWORK.toml;
/// the bench sets their batch size, epochs, threads, backend and data directory, and trains on
/// all 60,000 training images (no validation split). The tables go to stdout and to --out;
/// progress goes to stderr.
#[derive(Debug, Parser)]
#[command(name = "bench", version, args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub bench: BenchArgs,
}

/// What to measure and where to write it.
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// Networks to measure, comma-separated [default: all].
    #[arg(long, value_name = "NAME", value_enum, value_delimiter = ',')]
    pub network: Vec<Network>,

    /// Backends to measure, comma-separated: flex, ndarray, wgpu, cuda [default: every one
    /// compiled in]. The first is the one compared with the peers.
    #[arg(long, value_name = "NAME", alias = "device", value_delimiter = ',')]
    pub backend: Vec<Backend>,

    /// Batch sizes for mlp and relu, comma-separated (nielsen runs at its config's).
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        default_value = "32,64,128",
        value_parser = at_least_one()
    )]
    pub batch: Vec<usize>,

    /// Epochs per training run; the run's median epoch counts.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = at_least_one())]
    pub epochs: usize,

    /// Runs of each measurement; the best counts.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = at_least_one())]
    pub repeat: usize,

    /// CPU threads for our training steps [default: one per core, as `train` runs].
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    pub threads: Option<usize>,

    /// Compute each of our batches in N parts side by side (the configs' `batch_parts`)
    /// [default: the config's].
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    pub batch_parts: Option<usize>,

    /// Directory of the networks' configs (NETWORK.toml).
    #[arg(long, value_name = "DIR", default_value = "configs")]
    pub configs: PathBuf,

    /// MNIST directory, for us and the peers (the configs' data_dir is not used).
    #[arg(long, value_name = "DIR", default_value = "data/mnist")]
    pub data_dir: PathBuf,

    /// Directory of the reference networks (numpy_mlp.py, torch_mlp.py) to run beside ours
    /// [default: none].
    #[arg(long, value_name = "DIR")]
    pub peers: Option<PathBuf>,

    /// The Python with numpy (and torch) that runs the peers.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: PathBuf,

    /// Where to write the markdown tables.
    #[arg(long, value_name = "FILE", default_value = "artifacts/bench.md")]
    pub out: PathBuf,
}

fn at_least_one() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Trains one config as `train --config FILE` would, scoring the test images after every
    /// epoch: the curve of test accuracy against epochs, the first epoch at each --target and
    /// the epoch from which the run holds it. The test images only watch (the run keeps its last epoch). Progress goes to
    /// stderr, the summary to stdout, the curve to --out as CSV.
    Curve(CurveArgs),
    /// Runs one measurement in this process and prints its figures as one JSON line: how the
    /// bench runs each of its measurements.
    #[command(hide = true)]
    Child {
        #[command(subcommand)]
        measurement: Measurement,
    },
}

/// What `bench curve` trains and where it writes the curve.
#[derive(Debug, Clone, Args)]
pub(crate) struct CurveArgs {
    /// The training config, e.g. configs/best.toml.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Epochs [default: the config's]; a cosine schedule stretches over them.
    #[arg(long, value_parser = at_least_one())]
    pub epochs: Option<usize>,
    /// Seed [default: the config's].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Backend [default: the config's, else the first compiled in].
    #[arg(long, value_name = "NAME", alias = "device")]
    pub backend: Option<Backend>,
    /// Data directory [default: the config's].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Test accuracies, in percent, to report the first epoch at and the epoch held from
    /// (comma-separated).
    #[arg(
        long,
        value_name = "PERCENT",
        value_delimiter = ',',
        default_value = "99,99.3,99.4"
    )]
    pub target: Vec<f64>,
    /// Where to write the curve as CSV (epoch, test_accuracy, train_loss, learning_rate,
    /// seconds); it grows in FILE.partial while the run goes on [default: not written].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// One measurement, made by one child process.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub(crate) enum Measurement {
    /// Train a network over full epochs; score it on the test images.
    Train(TrainSpec),
    /// Predict the 10,000 test images in one batch, then one image at a time (mlp's network).
    Infer {
        #[arg(long)]
        backend: Backend,
        #[arg(long)]
        configs: PathBuf,
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Time one element-wise add, plain and on the autodiff device.
    Ops {
        #[arg(long)]
        backend: Backend,
    },
    /// Read and check the four MNIST files.
    Load {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Distort the 60,000 training images once, as configs/best.toml's `[augment]` says, on one
    /// thread (`train` makes them on its pool's other threads, between the halves they take).
    Distort {
        #[arg(long)]
        configs: PathBuf,
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// A training run as the bench makes it: the network's config with these settings.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct TrainSpec {
    #[arg(long)]
    pub network: Network,
    #[arg(long)]
    pub backend: Backend,
    #[arg(long)]
    pub batch: usize,
    #[arg(long)]
    pub epochs: usize,
    /// Absent: `train`'s default.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Absent: the config's.
    #[arg(long)]
    pub batch_parts: Option<usize>,
    #[arg(long)]
    pub configs: PathBuf,
    #[arg(long)]
    pub data_dir: PathBuf,
}

impl Measurement {
    /// The arguments after `bench child` that make a child run this measurement: the inverse of
    /// parsing them.
    pub(crate) fn to_args(&self) -> Vec<OsString> {
        fn flag(args: &mut Vec<OsString>, name: &str, value: impl Into<OsString>) {
            args.push(format!("--{name}").into());
            args.push(value.into());
        }
        let mut args: Vec<OsString> = Vec::new();
        match self {
            Measurement::Train(spec) => {
                args.push("train".into());
                flag(&mut args, "network", spec.network.name());
                flag(&mut args, "backend", spec.backend.name());
                flag(&mut args, "batch", spec.batch.to_string());
                flag(&mut args, "epochs", spec.epochs.to_string());
                if let Some(threads) = spec.threads {
                    flag(&mut args, "threads", threads.to_string());
                }
                if let Some(parts) = spec.batch_parts {
                    flag(&mut args, "batch-parts", parts.to_string());
                }
                flag(&mut args, "configs", &spec.configs);
                flag(&mut args, "data-dir", &spec.data_dir);
            }
            Measurement::Infer {
                backend,
                configs,
                data_dir,
            } => {
                args.push("infer".into());
                flag(&mut args, "backend", backend.name());
                flag(&mut args, "configs", configs);
                flag(&mut args, "data-dir", data_dir);
            }
            Measurement::Ops { backend } => {
                args.push("ops".into());
                flag(&mut args, "backend", backend.name());
            }
            Measurement::Load { data_dir } => {
                args.push("load".into());
                flag(&mut args, "data-dir", data_dir);
            }
            Measurement::Distort { configs, data_dir } => {
                args.push("distort".into());
                flag(&mut args, "configs", configs);
                flag(&mut args, "data-dir", data_dir);
            }
        }
        args
    }

    /// A short name for progress lines: `train flex mlp b32`.
    pub(crate) fn label(&self) -> String {
        match self {
            Measurement::Train(s) => {
                format!("train {} {} b{}", s.backend, s.network.name(), s.batch)
            }
            Measurement::Infer { backend, .. } => format!("infer {backend}"),
            Measurement::Ops { backend } => format!("ops {backend}"),
            Measurement::Load { .. } => "load".to_string(),
            Measurement::Distort { .. } => "distort".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn every_measurement_survives_the_trip_to_a_child() {
        let measurements = [
            Measurement::Train(TrainSpec {
                network: Network::Nielsen,
                backend: Backend::Flex,
                batch: 10,
                epochs: 3,
                threads: Some(2),
                batch_parts: Some(2),
                configs: "my configs".into(),
                data_dir: "data/mnist".into(),
            }),
            Measurement::Train(TrainSpec {
                network: Network::Relu,
                backend: Backend::Ndarray,
                batch: 128,
                epochs: 1,
                threads: None,
                batch_parts: None,
                configs: "configs".into(),
                data_dir: "/abs/mnist".into(),
            }),
            Measurement::Infer {
                backend: Backend::Wgpu,
                configs: "configs".into(),
                data_dir: "d".into(),
            },
            Measurement::Ops {
                backend: Backend::Cuda,
            },
            Measurement::Load {
                data_dir: "d".into(),
            },
            Measurement::Distort {
                configs: "configs".into(),
                data_dir: "d".into(),
            },
            Measurement::Train(TrainSpec {
                network: Network::BestUndistorted,
                backend: Backend::Flex,
                batch: 128,
                epochs: 1,
                threads: None,
                batch_parts: None,
                configs: "configs".into(),
                data_dir: "d".into(),
            }),
        ];
        for m in measurements {
            let mut args: Vec<OsString> = vec!["bench".into(), "child".into()];
            args.extend(m.to_args());
            let cli = Cli::try_parse_from(&args).unwrap();
            match cli.command {
                Some(Command::Child { measurement }) => assert_eq!(measurement, m),
                other => panic!("{args:?} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn options_parse_and_check() {
        let cli = parse(&["--network", "mlp,relu", "--batch", "128", "--epochs", "1"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.bench.network, [Network::Mlp, Network::Relu]);
        assert_eq!(cli.bench.batch, [128]);
        assert_eq!((cli.bench.epochs, cli.bench.repeat), (1, 2));
        assert_eq!(parse(&[]).unwrap().bench.batch, [32, 64, 128]);

        let e = parse(&["--network", "seed"]).unwrap_err().to_string();
        assert!(e.contains("nielsen") && e.contains("relu"), "{e}");
        assert!(parse(&["--epochs", "0"]).is_err());
        assert!(parse(&["--batch", "32,0"]).is_err());
        let e = parse(&["--backend", "tpu"]).unwrap_err().to_string();
        assert!(e.contains("unknown backend `tpu`"), "{e}");
    }
}
