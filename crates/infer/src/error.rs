//! What can stop `infer`, each with the thing concerned and the fix.

use std::path::PathBuf;

use crate::preprocess::NotADigit;

/// An error from `infer`.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Model(#[from] model::ModelError),

    #[error(transparent)]
    Data(#[from] data::DataError),

    #[error("cannot read image {path}: {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },

    #[error("{path} does not look like a picture of a digit: {reason}")]
    NotADigit {
        path: PathBuf,
        #[source]
        reason: NotADigit,
    },

    #[error("there is no test image {index}: the test set has {len} images (0..{len})")]
    IndexOutOfRange { index: usize, len: usize },

    #[error("cannot encode the output: {0}")]
    Encode(#[source] serde_json::Error),
}
