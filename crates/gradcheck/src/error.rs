//! What can stop a gradient check before it reaches a verdict.
//!
//! A check that runs and finds gradients that disagree is not an error: it is a failed
//! [`Check`](crate::Check) in the [`Report`](crate::Report).

use burn::tensor::{DType, ExecutionError};
use model::{Backend, ModelError};

/// An error that prevents the gradient check from running; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum GradcheckError {
    #[error(transparent)]
    Model(#[from] ModelError),

    #[error(
        "--fd-samples 0 would compare nothing with finite differences, and a check that \
         compares nothing proves nothing; give at least 1"
    )]
    NothingToCompare,

    #[error(
        "cannot load the MNIST batch: {source}. (Or pass --random to check on random inputs.)"
    )]
    Data {
        #[source]
        source: data::DataError,
    },

    #[error("cannot load the MNIST test image to trace: {source}. (Or trace --mazur.)")]
    TraceData {
        #[source]
        source: data::DataError,
    },

    #[error("invalid network {sizes:?}: {reason}")]
    InvalidNetwork { sizes: Vec<usize>, reason: String },

    #[error("invalid training: {0}")]
    InvalidTraining(String),

    #[error("invalid batch: {0}")]
    InvalidBatch(String),

    #[error(
        "backend `{backend}` cannot compute in f64 (Burn's Device::supports_dtype(F64) is false \
         for it), so the f64 comparison cannot run there; use --backend flex"
    )]
    NoF64 { backend: Backend },

    #[error(
        "backend `{backend}` does not really compute in f64: Burn's {op} on F64 tensors is off \
         by a relative {error:.1e}, the precision of f32 (the result is stored as F64 but was \
         computed in f32), so the f64 comparison cannot pass there; use --backend flex"
    )]
    NotF64 {
        backend: Backend,
        op: &'static str,
        error: f64,
    },

    #[error(
        "Burn computed {what} in {got:?} where {expected:?} was asked for, so this would not \
         be a {expected:?} check"
    )]
    WrongDType {
        what: String,
        expected: DType,
        got: DType,
    },

    #[error("Burn's autodiff returned no gradient for layer {layer}'s {param}")]
    NoGradient { layer: usize, param: &'static str },

    #[error("cannot read a tensor back from the device: {source}")]
    Readback {
        #[source]
        source: ExecutionError,
    },

    #[error("cannot read a tensor back from the device: {source}")]
    ReadbackValues {
        #[source]
        source: burn::tensor::DataError,
    },

    #[error(
        "cannot parse the fault `{0}`: expected `drop-sigmoid-prime:<layer>` or \
         `swap-layers:<layer>,<layer>` (layers are numbered from 1, the first hidden layer)"
    )]
    FaultSyntax(String),

    #[error("the fault {fault} does not fit this network: {reason}")]
    InvalidFault { fault: String, reason: String },
}
