//! Using a trained digits network: evaluation on the MNIST test set (accuracy, confusion
//! matrix, per-digit precision and recall), a look at single test images, and reading digits
//! from image files after MNIST-style preprocessing, and pictures of the network (`--pictures`).
//!
//! `infer` uses `data` and `model`, never `train`: a run directory (weights plus resolved
//! config) is all it needs from training.

#![forbid(unsafe_code)]

pub mod cli;
mod draw;
mod error;
mod eval;

pub use draw::{
    draw, draw_seen, first_layer, mistakes, pictures_dir, Drawn, HIDDEN_CAP, MISTAKES_CAP,
};
pub use error::InferError;
pub use eval::{dataset_pixels, evaluate, ClassScore, ConfusionReport};
