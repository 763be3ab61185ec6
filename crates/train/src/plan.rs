//! What a run is about to do, shown before its first epoch.

use std::fmt;
use std::path::PathBuf;

use model::Backend;
use run::StartedFrom;
use serde::Serialize;

/// What a run is about to do, known once its config is resolved and its data loaded: what
/// observers show before the first epoch.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The network's shape, `784-128-10`.
    pub shape: String,
    pub activation: &'static str,
    pub cost: &'static str,
    /// The optimizer in short: `sgd η=3`.
    pub optimizer: String,
    pub batch_size: usize,
    /// Parts each batch is computed in (`batch_parts`; 1: whole).
    pub batch_parts: usize,
    pub epochs: usize,
    pub seed: u64,
    pub train_images: usize,
    pub validation_images: usize,
    pub test_images: usize,
    pub data_dir: PathBuf,
    pub load_seconds: f64,
    pub backend: Backend,
    /// The step a resumed run continues from.
    pub resumed_at: Option<usize>,
    /// Newer checkpoints a resumed run passed over (damaged), each with why.
    pub passed_over: Vec<(PathBuf, String)>,
    /// Every time the run was resumed with a lower learning rate, this time included.
    pub rate_changes: Vec<run::RateChange>,
    /// The network's weights and biases.
    pub parameters: usize,
    /// Copies of the parameters the optimizer keeps (Adam's two moments, SGD's velocity).
    pub optimizer_copies: usize,
    /// The distortions of the training images, described (`None` without `[augment]`).
    pub augment: Option<String>,
    /// The classes' names, when they are not the ten digits.
    pub class_names: Option<Vec<String>>,
    /// Training images per class, when the config chose a few of each.
    pub per_class: Option<usize>,
    /// The run this one starts from (`[init]`).
    pub started_from: Option<StartedFrom>,
}

/// Parameters of a network with these layer sizes.
pub(crate) fn parameters(sizes: &[usize]) -> usize {
    sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
}

/// Networks above this many parameters get a word on what they will cost.
const LARGE_NETWORK: usize = 10_000_000;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "train: {} network, {} hidden units, {} cost, {}, batch {}{}, {}, seed {}",
            self.shape,
            self.activation,
            self.cost,
            self.optimizer,
            self.batch_size,
            match self.batch_parts {
                1 => String::new(),
                parts => format!(" in {parts} parts"),
            },
            epochs(self.epochs),
            self.seed
        )?;
        writeln!(
            f,
            "data: {} training, {} validation, {} test images from {} (loaded in {:.2} s)",
            self.train_images,
            self.validation_images,
            self.test_images,
            self.data_dir.display(),
            self.load_seconds
        )?;
        if let Some(augment) = &self.augment {
            writeln!(
                f,
                "augment: {augment}, drawn afresh for each training image every epoch"
            )?;
        }
        if let Some(names) = &self.class_names {
            writeln!(f, "classes: {}", names.join(", "))?;
        }
        if let Some(n) = self.per_class {
            writeln!(
                f,
                "few-shot: {n} training images per class, chosen from the seed"
            )?;
        }
        if let Some(from) = &self.started_from {
            writeln!(f, "{from}")?;
        }
        write!(f, "backend: {}", self.backend)?;
        for (path, why) in &self.passed_over {
            write!(f, "\npassed over checkpoint {}: {why}", path.display())?;
        }
        if let Some(step) = self.resumed_at {
            write!(f, "\nresuming from its checkpoint after step {step}")?;
        }
        for change in &self.rate_changes {
            write!(
                f,
                "\nlearning rate lowered from {} to {} after step {}",
                crate::number::compact(change.from),
                crate::number::compact(change.to),
                change.step
            )?;
        }
        if self.parameters > LARGE_NETWORK {
            // Weights, their gradients, and the optimizer's copies, in f32.
            let bytes = (4 * self.parameters * (2 + self.optimizer_copies)) as f64;
            write!(
                f,
                "\nnote: {:.1} million parameters: about {:.1} GB for the weights, their \
                 gradients and the optimizer's state, and every step multiplies them all; on a \
                 CPU an epoch will take minutes or more",
                self.parameters as f64 / 1e6,
                bytes / 1e9
            )?;
        }
        Ok(())
    }
}

/// `1 epoch`, `30 epochs`.
pub(crate) fn epochs(n: usize) -> String {
    format!("{n} epoch{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn plan(parameters: usize, optimizer_copies: usize) -> Plan {
        Plan {
            shape: "784-100000-10".into(),
            activation: "sigmoid",
            cost: "quadratic",
            optimizer: "adam η=0.001".into(),
            batch_size: 32,
            batch_parts: 1,
            epochs: 1,
            seed: 1,
            train_images: 55_000,
            validation_images: 5_000,
            test_images: 10_000,
            data_dir: PathBuf::from("data/mnist"),
            load_seconds: 0.2,
            backend: Backend::Flex,
            resumed_at: None,
            passed_over: Vec::new(),
            rate_changes: Vec::new(),
            parameters,
            optimizer_copies,
            augment: None,
            class_names: None,
            per_class: None,
            started_from: None,
        }
    }

    #[test]
    fn a_large_network_is_told_what_it_will_cost() {
        let sizes = [784, 100_000, 10];
        let text = plan(parameters(&sizes), 2).to_string();
        assert!(
            text.contains("note: 79.5 million parameters: about 1.3 GB"),
            "{text}"
        );
        let small = plan(parameters(&[784, 128, 10]), 0).to_string();
        assert!(!small.contains("note:"), "{small}");
        assert_eq!(parameters(&[784, 128, 10]), 784 * 128 + 128 + 128 * 10 + 10);
    }
}
