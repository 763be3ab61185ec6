//! Transfer learning: a run that starts from another run's trained network (the `[init]`
//! table), keeps its first layers' weights fixed (`freeze`), and may start its output layer
//! afresh (`reset_output`), for new classes or new data.
//!
//! Freezing is Burn's own: a frozen layer's parameters stop requiring gradients
//! ([`burn::module::Module::no_grad`]), so autodiff computes none for them and the optimizer,
//! which only moves parameters that have a gradient, leaves them as they are: no step, no
//! momentum, no weight decay. They come out of training byte for byte as they went in.

use std::path::Path;

use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::prelude::*;
use model::{Mlp, MlpConfig};
use run::{RunError, SavedRun, StartedFrom};

use crate::config::InitConfig;
use crate::{TrainConfig, TrainError};

/// A layer's shape as `784→128`.
fn shape(layer: &Linear) -> String {
    let [inputs, outputs] = layer.weight.dims();
    format!("{inputs}→{outputs}")
}

/// Loads the source run of `init` onto `device`, naming `init.from` when it cannot.
pub(crate) fn load_source(
    init: &InitConfig,
    device: &Device,
    trust: run::Trust,
) -> Result<SavedRun, TrainError> {
    SavedRun::load_with(&init.from, device, trust).map_err(|source| match source {
        RunError::RunNotFound { .. }
        | RunError::RunIsAFile { .. }
        | RunError::RunFileMissing { .. } => TrainError::InitNotARun {
            dir: init.from.clone(),
        },
        source => TrainError::InitFrom {
            dir: init.from.clone(),
            source: Box::new(source),
        },
    })
}

/// What a run with this `[init]` table and `[model]` copies and freezes, as its report
/// records it.
pub(crate) fn started_from(init: &InitConfig, model: &MlpConfig) -> StartedFrom {
    let layers = model.sizes().len() - 1;
    StartedFrom {
        run: init.from.clone(),
        copied_layers: layers - usize::from(init.reset_output),
        frozen_layers: init.freeze,
        reset_output: init.reset_output,
    }
}

/// Checks that the source run's network can start the network `model` describes, and says
/// what will be copied.
pub(crate) fn plan(
    init: &InitConfig,
    config: &TrainConfig,
    source: &SavedRun,
) -> Result<StartedFrom, TrainError> {
    let model = &config.model;
    let from = &init.from;
    if source.spec.model.activation != model.activation {
        return Err(TrainError::InitActivation {
            from: from.clone(),
            theirs: source.spec.model.activation.name(),
            ours: model.activation.name(),
        });
    }
    let ours = model.sizes();
    let theirs = source.network.sizes();
    let layers = ours.len() - 1;
    let started = started_from(init, model);
    let copied = started.copied_layers;
    if theirs.len() - 1 < copied {
        return Err(TrainError::InitLayers {
            from: from.clone(),
            theirs: source.spec.model.shape(),
            ours: model.shape(),
            copied,
        });
    }
    for (l, layer) in source.network.layers.iter().take(copied).enumerate() {
        let want = [ours[l], ours[l + 1]];
        if layer.weight.dims() != want {
            let output = l + 1 == layers;
            if output && theirs.len() == ours.len() && want[0] == theirs[l] {
                return Err(TrainError::InitClasses {
                    from: from.clone(),
                    theirs: layer.weight.dims()[1],
                    ours: want[1],
                });
            }
            return Err(TrainError::InitShape {
                from: from.clone(),
                layer: l + 1,
                theirs: shape(layer),
                ours: format!("{}→{}", want[0], want[1]),
            });
        }
    }
    // A copied output layer answers with the source's classes, in the source's order.
    let (theirs, ours) = (source.spec.class_names(), config.names());
    if !init.reset_output && theirs != ours {
        return Err(TrainError::InitClassNames {
            from: from.clone(),
            theirs,
            ours,
        });
    }
    Ok(started)
}

/// The network a run starts from: `fresh` (drawn from the seed) with the source's layers copied
/// into it as [`plan`] allows, then the first `init.freeze` layers frozen.
pub(crate) fn start(
    init: &InitConfig,
    config: &TrainConfig,
    fresh: Mlp,
    source: &SavedRun,
) -> Result<Mlp, TrainError> {
    let plan = plan(init, config, source)?;
    let mut network = fresh;
    for (l, (ours, theirs)) in network
        .layers
        .iter_mut()
        .zip(&source.network.layers)
        .take(plan.copied_layers)
        .enumerate()
    {
        // The fixed ids of a fresh network (see `MlpConfig::init`): the same config then writes
        // the same weights file whatever run it started from.
        ours.weight = copy(&theirs.weight, 2 * l);
        if let (Some(ours), Some(theirs)) = (ours.bias.as_mut(), theirs.bias.as_ref()) {
            *ours = copy(theirs, 2 * l + 1);
        }
    }
    Ok(freeze(network, init.freeze))
}

/// A trainable parameter holding `from`'s values, with id `id`.
fn copy<const D: usize>(from: &Param<Tensor<D>>, id: usize) -> Param<Tensor<D>> {
    let mut param = Param::from_tensor(from.val().detach());
    param.id = ParamId::from(id as u64);
    param
}

/// `network` with its first `layers` layers frozen (Burn's [`Module::no_grad`]).
pub(crate) fn freeze(mut network: Mlp, layers: usize) -> Mlp {
    network.layers = network
        .layers
        .into_iter()
        .enumerate()
        .map(|(l, layer)| if l < layers { layer.no_grad() } else { layer })
        .collect();
    network
}

/// Resolves a relative `from` against the directory of the config file at `path`.
pub(crate) fn resolve_from(init: &mut InitConfig, path: &Path) {
    if init.from.is_relative() {
        let base = path.parent().unwrap_or(Path::new("."));
        init.from = base.join(&init.from);
    }
}
