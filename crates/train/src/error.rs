//! What can stop a training run, each with the thing concerned and the fix.

use std::path::PathBuf;

use data::DataError;
use model::ModelError;

/// An error from `train`.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cannot read config {path}: {source}")]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("config {path} is not valid: {source}")]
    ConfigSyntax {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },

    #[error("config {path}: `{key}` {message}")]
    ConfigValue {
        path: PathBuf,
        key: String,
        message: String,
    },

    #[error(transparent)]
    Data(#[from] DataError),

    #[error(transparent)]
    Model(#[from] ModelError),

    #[error("the {0} is empty: there is nothing to train on or measure")]
    EmptyDataset(&'static str),

    #[error("cannot read the epoch's costs back from the device: {0}")]
    Readback(#[source] burn::tensor::DataError),

    #[error(
        "training diverged in epoch {epoch}: the cost became infinite or NaN at learning rate \
         {rate}; lower `optimizer.learning_rate`"
    )]
    Diverged { epoch: usize, rate: f64 },

    #[error("cannot start the training threads: {0}")]
    Threads(#[source] rayon::ThreadPoolBuildError),

    #[error("cannot encode the run's files: {0}")]
    EncodeConfig(#[source] toml::ser::Error),

    #[error("cannot encode the run's files: {0}")]
    EncodeReport(#[source] serde_json::Error),
}
