//! Config-driven training of the digits network: the `train` and `curve` commands.
//!
//! `cargo run -p train -- --config configs/mlp.toml` reads a TOML [`TrainConfig`], loads its
//! images ([`load_splits`]: MNIST's files or an image folder, through `data`), builds the network
//! (`model`), fits it by mini-batch gradient descent with Burn's autodiff doing
//! backpropagation ([`fit`]), and writes the run directory through `run`: weights, resolved
//! config, per-epoch metrics and a report.
//!
//! Where to start reading:
//! - the training loop, `src/trainer.rs`: [`fit_from`] is one loop over the epochs, and each
//!   step is four lines (the network's outputs, the cost, `backward()`, the optimizer's step);
//! - the command, [`cli`]: [`cli::prepare`] resolves the config and claims the destination,
//!   [`cli::Prepared::train`] fits, tests and writes;
//! - the config, [`TrainConfig`]: every key, parsed strictly and validated table by table;
//! - transfer learning ([`InitConfig`]) and the `curve` command ([`curve`]).
//!
//! Nothing here prints: progress goes to an [`Observer`] the binary passes in, and results come
//! back as values ([`Plan`], [`Trained`]).

#![forbid(unsafe_code)]

mod awake;
pub mod cli;
mod config;
pub mod curve;
mod error;
mod learned;
mod number;
mod parts;
mod picture;
mod plan;
mod splits;
mod trained;
mod trainer;
mod transfer;

pub use config::{Augment, InitConfig, Keep, OptimizerConfig, Overrides, Schedule, TrainConfig};
pub use error::TrainError;
pub use plan::Plan;
pub use run::EpochMetrics;
pub use splits::{load_splits, Splits};
pub use trained::{curves_svg, Trained};
pub use trainer::{evaluate, fit, fit_from, Fitted, Observer, Silent};
