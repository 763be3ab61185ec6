//! Using a trained digits network: evaluation on the MNIST test set (accuracy, confusion
//! matrix, per-digit precision and recall), a look at single test images, and reading digits
//! from image files after MNIST-style preprocessing.
//!
//! `infer` uses `data` and `model`, never `train`: a run directory (weights plus resolved
//! config) is all it needs from training.

pub mod cli;
pub mod eval;
pub mod preprocess;

use std::path::PathBuf;

/// An error from `infer`, naming the thing concerned and the fix.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Model(#[from] model::ModelError),

    #[error(transparent)]
    Data(#[from] data::DataError),

    #[error("cannot read image {path}: {message}")]
    Image { path: PathBuf, message: String },

    #[error("{path} does not look like a picture of a digit: {reason}")]
    NotADigit { path: PathBuf, reason: String },

    #[error("there is no test image {index}: the test set has {len} images (0..{len})")]
    IndexOutOfRange { index: usize, len: usize },

    #[error("cannot read the network's output: {0}")]
    Tensor(String),

    #[error("cannot encode the output: {0}")]
    Encode(String),
}
