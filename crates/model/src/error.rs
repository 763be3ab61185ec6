//! What can go wrong choosing a backend, building a network or reading its outputs.

use crate::Backend;

fn names(backends: &[Backend]) -> String {
    if backends.is_empty() {
        return "none".to_string();
    }
    backends
        .iter()
        .map(|b| b.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error from the `model` crate; each message names the thing and the fix, and says only its
/// own level (a cause is its `source`, which the binaries print after it).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown backend `{name}`: choose one of flex, ndarray, wgpu, cuda")]
    UnknownBackend { name: String },

    #[error(
        "backend `{backend}` is not compiled into this build (compiled in: {}); rebuild with \
         `--features {backend}`", names(.compiled)
    )]
    BackendNotCompiled {
        backend: Backend,
        compiled: Vec<Backend>,
    },

    #[error(
        "no backend is compiled into this build: enable one of the features flex, ndarray, \
         wgpu, cuda (`flex` is the default)"
    )]
    NoBackend,

    #[error("every layer needs at least one unit, but the sizes are {sizes:?}")]
    EmptyLayer { sizes: Vec<usize> },

    #[error("cannot encode the weights")]
    Encode(#[source] burn::store::RecordError),

    #[error("cannot read the network's outputs back from the device")]
    Readback(#[source] burn::tensor::DataError),

    #[error("there are no images to score")]
    NothingToScore,

    #[error(
        "{names} class names were given for a network of {outputs} outputs: each output \
         needs its class's name, in order"
    )]
    ClassNamesDoNotFit { names: usize, outputs: usize },
}

/// An error and each of its causes, outermost first, joined with ": " (as `anyhow`'s `{:#}`
/// prints them). Every error of the project says only its own level, so this is the whole
/// story, for the libraries that put an error into their output rather than print it
/// (`infer --json`, `serve`'s replies, `gradcheck`'s report).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut said = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        said.push_str(": ");
        said.push_str(&e.to_string());
        cause = e.source();
    }
    said
}
