//! The networks the bench measures: each is a training config in `configs/`, read as `train`
//! reads it, so that the bench times the network the project trains.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::ValueEnum;
use model::{Activation, Cost};
use train::{OptimizerConfig, TrainConfig};

/// A network to measure, named after its config file (`configs/<name>.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum Network {
    /// configs/nielsen.toml: Nielsen's first network, at its own batch size (the
    /// peers call it `seed`).
    Nielsen,
    /// configs/mlp.toml: the project's classic network; also the one inference is timed on.
    Mlp,
    /// configs/relu.toml: the modern variant.
    Relu,
    /// configs/best.toml: the best plain MLP, its training images distorted every epoch (at
    /// its own batch size; measured only when named).
    Best,
    /// configs/best.toml without its `[augment]` table: what the distortions cost.
    BestUndistorted,
}

impl Network {
    /// The networks measured when none is named, in the order of the table's rows. (`best`
    /// and `best-undistorted` train a 784-800-10 network: minutes more, so only when named.)
    pub(crate) const ALL: [Network; 3] = [Network::Nielsen, Network::Mlp, Network::Relu];

    /// The name on the command line, in the table and of the config file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Network::Nielsen => "nielsen",
            Network::Mlp => "mlp",
            Network::Relu => "relu",
            Network::Best => "best",
            Network::BestUndistorted => "best-undistorted",
        }
    }

    /// The same network's name for the peer scripts (`numpy_mlp.py NAME`), if they have it.
    pub(crate) fn peer_name(self) -> Option<&'static str> {
        match self {
            Network::Nielsen => Some("seed"),
            Network::Mlp => Some("mlp"),
            Network::Relu => Some("relu"),
            Network::Best | Network::BestUndistorted => None,
        }
    }

    /// Whether the network runs only at its config's batch size, as the text ran it, rather
    /// than at each of `--batch`.
    pub(crate) fn keeps_its_batch(self) -> bool {
        matches!(
            self,
            Network::Nielsen | Network::Best | Network::BestUndistorted
        )
    }

    /// The network's config file in `configs`.
    pub(crate) fn config_path(self, configs: &Path) -> PathBuf {
        let file = match self {
            Network::BestUndistorted => "best",
            other => other.name(),
        };
        configs.join(format!("{file}.toml"))
    }

    /// The network's training config, read and checked as `train --config` reads it (for
    /// `best-undistorted`, without its `[augment]` table).
    pub(crate) fn config(self, configs: &Path) -> Result<TrainConfig> {
        let mut config = TrainConfig::load(&self.config_path(configs))?;
        if self == Network::BestUndistorted {
            config.augment = None;
        }
        Ok(config)
    }
}

/// A config's network in the table's words: `784-128-10 sigmoid, quadratic, SGD`.
pub(crate) fn describe(config: &TrainConfig) -> String {
    let activation = match config.model.activation {
        Activation::Sigmoid => "sigmoid",
        Activation::Relu => "ReLU",
    };
    let cost = match config.cost {
        Cost::Quadratic => "quadratic",
        Cost::CrossEntropy => "cross-entropy",
    };
    let optimizer = match config.optimizer {
        OptimizerConfig::Sgd { .. } => "SGD",
        OptimizerConfig::Adam { .. } => "Adam",
    };
    format!("{} {activation}, {cost}, {optimizer}", config.model.shape())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's `configs/`, wherever the tests run from.
    fn configs() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
    }

    #[test]
    fn every_network_has_a_config_described_as_the_table_has_it() {
        let described: Vec<String> = Network::ALL
            .iter()
            .map(|n| describe(&n.config(&configs()).unwrap()))
            .collect();
        assert_eq!(
            described,
            [
                "784-30-10 sigmoid, quadratic, SGD",
                "784-128-10 sigmoid, quadratic, SGD",
                "784-256-256-10 ReLU, cross-entropy, Adam",
            ]
        );
    }

    #[test]
    fn nielsen_is_the_peers_seed_network() {
        // What ../shared/peers' `seed` runs: batch 10, SGD η = 3, W, b ~ N(0, 1), no schedule.
        let c = Network::Nielsen.config(&configs()).unwrap();
        assert_eq!(c.batch_size, 10);
        assert_eq!(c.model.init, model::Init::Normal);
        assert_eq!(c.optimizer.learning_rate(), 3.0);
        assert!(matches!(c.optimizer, OptimizerConfig::Sgd { momentum, .. } if momentum == 0.0));
        assert_eq!(c.schedule, None);
    }

    #[test]
    fn names_are_the_command_line_values() {
        for n in Network::ALL {
            assert_eq!(Network::from_str(n.name(), false), Ok(n));
        }
    }
}
