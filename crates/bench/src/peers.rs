//! The reference networks (`../shared/peers`): run as their README says, with `--json`, and
//! read from the last line of their output.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::child::Measured;
use crate::network::Network;

/// A reference implementation of the same networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Numpy,
    Torch,
}

impl Peer {
    /// Every peer, in the order of the table's columns.
    pub(crate) const ALL: [Peer; 2] = [Peer::Numpy, Peer::Torch];

    /// The column's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::Numpy => "numpy",
            Peer::Torch => "torch",
        }
    }

    /// The script in the peers' directory that trains `network`, and the network's name on
    /// its command line; `None` where this peer has no such network. PyTorch trains `best`
    /// through `elastic_torch.py`: the same 784-800-10 ReLU network, Adam, cosine schedule and
    /// distortions, each batch distorted afresh (it takes no network name).
    pub(crate) fn script(self, network: Network) -> Option<(&'static str, Option<&'static str>)> {
        match (self, network) {
            (Peer::Torch, Network::Best) => Some(("elastic_torch.py", None)),
            (_, Network::Best | Network::BestUndistorted) => None,
            (Peer::Numpy, n) => n.peer_name().map(|name| ("numpy_mlp.py", Some(name))),
            (Peer::Torch, n) => n.peer_name().map(|name| ("torch_mlp.py", Some(name))),
        }
    }

    /// The command that trains `network` at `batch` for `epochs`, on the MNIST files in
    /// `data_dir`, and ends its output with the result as JSON (saving no result file).
    pub(crate) fn command(
        self,
        python: &Path,
        dir: &Path,
        network: Network,
        batch: usize,
        epochs: usize,
        data_dir: &Path,
    ) -> Result<Command> {
        let (script, name) = self
            .script(network)
            .with_context(|| format!("{} trains no `{}`", self.name(), network.name()))?;
        let mut command = Command::new(python);
        command.arg(dir.join(script));
        if let Some(name) = name {
            // The classic peers' scripts train several networks, and save a result file
            // unless told not to.
            command.arg(name).arg("--no-save");
        }
        command
            .args(["--batch", &batch.to_string()])
            .args(["--epochs", &epochs.to_string()])
            .arg("--json")
            .env("MNIST_DIR", std::path::absolute(data_dir)?);
        Ok(command)
    }
}

/// What the bench reads of a peer's `--json` result (it has more).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct PeerResult {
    /// The median training epoch, seconds (`seconds_per_epoch` in elastic_torch.py's result).
    #[serde(alias = "seconds_per_epoch")]
    pub median_epoch_s: f64,
    /// Test accuracy after the last epoch, in 0..1 (`test_accuracy` in elastic_torch.py's).
    #[serde(alias = "test_accuracy")]
    pub final_test_acc: f64,
    /// The process's peak resident memory, MiB.
    pub peak_rss_mib: f64,
    /// `mlp` only: the forward pass over the 10,000 test images in one batch, median, seconds.
    #[serde(default)]
    pub infer_b10000_s: Option<f64>,
    /// `mlp` only: one image's forward pass, median, microseconds.
    #[serde(default)]
    pub infer_b1_median_us: Option<f64>,
}

impl PeerResult {
    /// Reads the result from a peer's output: its last non-blank line.
    pub(crate) fn parse(stdout: &str) -> Result<PeerResult> {
        let last = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .context("no output")?;
        serde_json::from_str(last).with_context(|| format!("not a JSON result: {last}"))
    }
}

impl From<PeerResult> for Measured {
    fn from(r: PeerResult) -> Measured {
        Measured {
            epoch_seconds: Some(r.median_epoch_s),
            test_accuracy: Some(r.final_test_acc),
            infer_batch_seconds: r.infer_b10000_s,
            infer_one_seconds: r.infer_b1_median_us.map(|us| us / 1e6),
            peak_rss_mib: Some(r.peak_rss_mib),
            ..Measured::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as numpy_mlp.py prints it for `mlp --epochs 1 --json` (abridged lists).
    const MLP: &str = r#"{"peer": "numpy", "config": "mlp", "tag": "", "dtype": "float32", "seed": 1, "sizes": [784, 128, 10], "lr": 3.0, "batch": 64, "epochs": 1, "init": "W ~ N(0,1/n_in), b ~ N(0,1) (network2.py)", "epoch_times": [0.3123], "test_acc": [0.9412], "final_test_acc": 0.9412, "median_epoch_s": 0.3123, "samples_per_s": 192123.4, "versions": {"numpy": "2.4.6", "python": "3.11.7"}, "infer_b10000_s": 0.01325, "infer_b10000_img_per_s": 754716.9, "infer_b1_median_us": 13.4, "infer_b1_img_per_s": 70000.0, "peak_rss_mib": 431.2}"#;

    #[test]
    fn the_last_line_is_the_result() {
        let stdout = format!(
            "epoch 1: 0.312s  test acc 0.9412\ninference: batch 10000 13.25 ms; batch 1 median 13.4 us\n\
             median epoch 0.312s (192123 samples/s), final test acc 0.9412, peak RSS 431 MiB\n{MLP}\n"
        );
        let r = PeerResult::parse(&stdout).unwrap();
        assert_eq!(
            r,
            PeerResult {
                median_epoch_s: 0.3123,
                final_test_acc: 0.9412,
                peak_rss_mib: 431.2,
                infer_b10000_s: Some(0.01325),
                infer_b1_median_us: Some(13.4),
            }
        );
        let m = Measured::from(r);
        assert_eq!(m.epoch_seconds, Some(0.3123));
        assert!((m.infer_one_seconds.unwrap() - 13.4e-6).abs() < 1e-15);
        assert_eq!(m.load_seconds, None);
    }

    #[test]
    fn other_networks_have_no_inference_figures() {
        let line = r#"{"peer": "torch", "config": "relu", "final_test_acc": 0.97, "median_epoch_s": 0.87, "peak_rss_mib": 938.0}"#;
        let r = PeerResult::parse(line).unwrap();
        assert_eq!((r.infer_b10000_s, r.infer_b1_median_us), (None, None));
    }

    #[test]
    fn the_elastic_peer_is_read_and_called_for_best_only() {
        // elastic_torch.py's last line for `--epochs 2 --json`.
        let line = r#"{"impl": "torch-elastic", "hidden": "800", "batch": 128, "epochs": 2, "seconds_per_epoch": 4.81, "test_accuracy": 0.9812, "best_accuracy": 0.9812, "seconds": 11.2, "peak_rss_mib": 612.5}"#;
        let r = PeerResult::parse(line).unwrap();
        assert_eq!((r.median_epoch_s, r.final_test_acc), (4.81, 0.9812));
        let python = Path::new("python3");
        let dir = Path::new("peers");
        let args = |peer: Peer, network| {
            let c = peer.command(python, dir, network, 128, 2, dir).unwrap();
            c.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            args(Peer::Torch, Network::Best),
            [
                "peers/elastic_torch.py",
                "--batch",
                "128",
                "--epochs",
                "2",
                "--json"
            ]
        );
        assert_eq!(
            args(Peer::Numpy, Network::Mlp),
            [
                "peers/numpy_mlp.py",
                "mlp",
                "--no-save",
                "--batch",
                "128",
                "--epochs",
                "2",
                "--json"
            ]
        );
        // numpy has no distorted network, and nobody trains best without its distortions.
        for (peer, network) in [
            (Peer::Numpy, Network::Best),
            (Peer::Torch, Network::BestUndistorted),
        ] {
            let e = peer.command(python, dir, network, 128, 2, dir).unwrap_err();
            assert!(e.to_string().contains("trains no"), "{e}");
        }
    }

    #[test]
    fn text_without_a_result_is_refused() {
        let e = PeerResult::parse("median epoch 0.312s (192123 samples/s)\n").unwrap_err();
        assert!(format!("{e:#}").contains("not a JSON result"), "{e:#}");
        assert!(PeerResult::parse("\n \n").is_err());
        // A result missing a figure the table needs.
        assert!(PeerResult::parse(r#"{"median_epoch_s": 0.3}"#).is_err());
    }
}
