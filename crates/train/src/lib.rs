//! Config-driven training of the digits network.
//!
//! `cargo run -p train -- --config configs/mlp.toml` reads a TOML [`TrainConfig`], loads MNIST
//! (`data`), builds the network (`model`), fits it by mini-batch gradient descent with Burn's
//! autodiff doing backpropagation ([`trainer`]), and writes the run: weights, resolved config,
//! per-epoch metrics and a report ([`cli`]).

#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod curve;
mod error;
pub mod trainer;
pub mod transfer;

pub use config::{Keep, OptimizerConfig, Schedule, TrainConfig};
pub use error::TrainError;
pub use trainer::{evaluate, fit, fit_from, EpochMetrics, Fitted, Observer, Silent, Splits};
