//! Using a trained digits network: the `infer` command. It evaluates a run on its test images
//! ([`evaluate`]: accuracy, the confusion matrix, each class's precision and recall), shows
//! single test images, reads digits from image files (prepared by `data::preprocess`, as every
//! picture in the project is), draws pictures of the network ([`draw`], `--pictures`), and
//! writes it as an ONNX model for other runtimes (`--onnx`, [`Exported`]).
//!
//! Start at [`cli::run()`], which returns an [`cli::Output`] that the binary prints as text or
//! JSON. `infer` uses `data`, `model` and `run`, never `train`: a run directory, read through
//! [`run::SavedRun`], is all it needs from training.

#![forbid(unsafe_code)]

pub mod cli;
mod draw;
mod error;
mod eval;
mod export;

pub use draw::{
    draw, draw_seen, first_layer, mistakes, moved, pictures_dir, start_of, Drawn, Start,
    HIDDEN_CAP, MISTAKES_CAP, STILL_BELOW,
};
pub use error::InferError;
pub use eval::{dataset_pixels, evaluate, ClassScore, ConfusionReport};
pub use export::Exported;
