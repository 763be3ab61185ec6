//! What can stop `infer`, each with the thing concerned and the fix.

use std::path::PathBuf;

/// An error from `infer`.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Model(#[from] model::ModelError),

    #[error(transparent)]
    Run(#[from] run::RunError),

    #[error(transparent)]
    Data(#[from] data::DataError),

    #[error(transparent)]
    Picture(#[from] data::preprocess::ImageFileError),

    #[error(
        "there are no MNIST test images in {dir}: it does not exist. Pass the MNIST directory \
         with --data-dir DIR (the project ships it in data/mnist)"
    )]
    NoTestData { dir: PathBuf },

    #[error(
        "the test images in {dir} are of the classes {data:?}, but the run answers with {run:?}: \
         it was trained on other data; pass its data with --data-dir"
    )]
    ClassesDiffer {
        dir: PathBuf,
        data: Vec<String>,
        run: Vec<String>,
    },

    #[error("the test set in {dir} is empty: there is nothing to evaluate; pass another with --data-dir")]
    EmptyTestSet { dir: PathBuf },

    #[error(
        "the network in {dir} takes {inputs} inputs, but MNIST images have 784 pixels; its \
         config.toml's `[model] inputs` was changed: train it again"
    )]
    InputsDoNotFit { dir: PathBuf, inputs: usize },

    #[error("there is no test image {index}: the test set has {len} images (0..{len})")]
    IndexOutOfRange { index: usize, len: usize },

    #[error("cannot draw the pictures")]
    Draw(#[source] pictures::DrawError),

    #[error("cannot write the picture {path}")]
    WritePicture {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "--pictures {dir} is the run {run} or inside it, where `train` could no longer replace \
         the run; use --pictures alone (it draws into the run's pictures/) or a directory \
         outside it"
    )]
    PicturesInRun { dir: PathBuf, run: PathBuf },

    #[error(
        "--pictures takes a directory, and {path} is {what}; to draw an image file, put it \
         before --pictures, or name the directory with --pictures=DIR"
    )]
    PicturesIsAFile { path: PathBuf, what: &'static str },

    #[error("--onnx {path} {problem}")]
    OnnxTarget {
        path: PathBuf,
        problem: &'static str,
    },

    #[error("cannot write the ONNX model {path}")]
    WriteOnnx {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot encode the output")]
    Encode(#[source] serde_json::Error),
}
