//! Using a trained digits network: evaluation on the MNIST test set (accuracy, confusion
//! matrix, per-digit precision and recall), a look at single test images, and reading digits
//! from image files after MNIST-style preprocessing, and pictures of the network (`--pictures`).
//!
//! `infer` uses `data` and `model`, never `train`: a run directory (weights plus resolved
//! config) is all it needs from training.

#![forbid(unsafe_code)]

pub mod cli;
pub mod draw;
mod error;
pub mod eval;
/// The preprocessing of image files, which lives in `data` (image-folder datasets prepare
/// their images the same way).
pub use data::preprocess;

pub use error::InferError;
