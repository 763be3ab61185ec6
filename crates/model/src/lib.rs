//! The digits network: what every user of a trained network shares.
//!
//! - [`Mlp`] and [`MlpConfig`]: the multilayer perceptron (784 inputs, any hidden layers, 10
//!   outputs; sigmoid or ReLU) as a Burn module built from its config.
//! - [`Cost`]: the quadratic and cross-entropy costs, defined once for training and for the
//!   gradient check, and the output layer each implies.
//! - [`predict`]: the one prediction path: classes, correct counts, outputs and scores.
//! - [`Backend`]: the one place where Cargo features become Burn devices.
//! - [`network_to_bytes`] and [`network_from_bytes`]: the weights in Burn's burnpack format.
//!
//! This crate knows no data files, no training loop and no run directory: `data` reads MNIST,
//! `train` fits the network, `run` keeps it on disk, `infer` and `serve` use it.

#![forbid(unsafe_code)]

mod backend;
mod cost;
mod error;
mod fused_adam;
mod network;
pub mod onnx;
pub mod predict;

pub use backend::{Backend, BackendArg};
pub use cost::Cost;
pub use error::{error_chain, ModelError};
pub use fused_adam::FusedAdam;
pub use network::{network_from_bytes, network_to_bytes, Activation, Init, Mlp, MlpConfig};
pub use predict::{Prediction, Predictor, Score, Traced};

#[cfg(test)]
mod tests {
    /// The backend the unit tests run on: `DIGITS_TEST_BACKEND` if set (CI runs the suite once
    /// per backend), else the build's default.
    pub(crate) fn test_backend() -> crate::Backend {
        match std::env::var("DIGITS_TEST_BACKEND") {
            Ok(name) if !name.is_empty() => {
                name.parse().expect("DIGITS_TEST_BACKEND names a backend")
            }
            _ => crate::Backend::default_compiled().expect("a backend is compiled in"),
        }
    }
}
