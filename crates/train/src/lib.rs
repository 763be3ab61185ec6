//! Config-driven training of the digits network.
//!
//! `cargo run -p train -- --config configs/mlp.toml` reads a TOML [`TrainConfig`], loads MNIST
//! (`data`), builds the network (`model`), fits it by mini-batch gradient descent with Burn's
//! autodiff doing backpropagation ([`trainer`]), and writes the run: weights, resolved config,
//! per-epoch metrics and a report ([`cli`]).

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod curve;
mod error;
mod picture;
mod plan;
mod splits;
mod trained;
pub mod trainer;
pub mod transfer;

pub use config::{Keep, OptimizerConfig, Schedule, TrainConfig};
pub use error::TrainError;
pub use plan::Plan;
pub use run::EpochMetrics;
pub use splits::{load_splits, Splits};
pub use trained::{curves_svg, Trained};
pub use trainer::{evaluate, fit, fit_from, Fitted, Observer, Silent};
