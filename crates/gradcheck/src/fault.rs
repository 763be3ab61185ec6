//! Deliberate mistakes in the hand-written backward pass. A check that can never fail proves
//! nothing: with one of these injected, the check must fail and name the layer.
//!
//! The clean pass, [`Network::backward`], knows nothing of them. [`Fault::backward`] computes
//! the faulty gradients beside it:
//!
//! - `drop-sigmoid-prime:<l>` repeats [`Network::backprop`] step by step, with the same named
//!   steps of [`crate::manual`], but leaves the activation's derivative out of layer l's error:
//!   BP2 without f'(z^l) (σ'(z^l) in a sigmoid layer, ReLU's step in a ReLU layer), or BP1
//!   without σ'(z^L) in the quadratic cost's output layer. The name is kept from the sigmoid
//!   network, the first one checked.
//! - `swap-layers:<a>,<b>` runs the clean pass and reports layer a's gradients as layer b's,
//!   and the other way round.

use std::fmt;
use std::str::FromStr;

use model::Cost;

use crate::manual::{
    a_minus_y, bp1_output_error, bp2_backpropagate_error, bp4_weight_gradient, mean_over,
    output_activations, Forward, Gradients, Network,
};
use crate::{Batch, GradcheckError, PerLayer};

/// A deliberate mistake in the backward pass, to prove that the check catches one and names the
/// layer. Layers are numbered from 1 (the first hidden layer) to L (the output layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forget the activation's derivative in layer `layer`'s error δ^l: f'(z^l) in BP2, or
    /// σ'(z^L) in BP1. (Every hidden layer has one; the output layer only under the quadratic
    /// cost, whose outputs are sigmoids.)
    DropSigmoidPrime { layer: usize },
    /// Report layer `first`'s gradients as layer `second`'s and the other way round (the two
    /// layers must have the same shape).
    SwapLayers { first: usize, second: usize },
}

impl Fault {
    /// Checks that the fault refers to layers of a network of these `sizes` under `cost`.
    pub fn validate(self, sizes: &[usize], cost: Cost) -> Result<(), GradcheckError> {
        let layers = sizes.len().saturating_sub(1);
        let invalid = |reason: String| GradcheckError::InvalidFault {
            fault: self.to_string(),
            reason,
        };
        let in_range = |layer: usize| {
            if (1..=layers).contains(&layer) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "layer {layer} does not exist: the layers are 1 to {layers}"
                )))
            }
        };
        match self {
            Fault::DropSigmoidPrime { layer } => {
                in_range(layer)?;
                if layer == layers && cost == Cost::CrossEntropy {
                    return Err(invalid(
                        "the softmax output layer of the cross-entropy cost has no σ' factor \
                         to drop"
                            .to_string(),
                    ));
                }
            }
            Fault::SwapLayers { first, second } => {
                in_range(first)?;
                in_range(second)?;
                let shape = |l: usize| (sizes[l - 1], sizes[l]);
                if first == second || shape(first) != shape(second) {
                    return Err(invalid(format!(
                        "swapping needs two different layers of one shape, but layer {first} \
                         is {:?} and layer {second} is {:?}",
                        shape(first),
                        shape(second)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The gradients of the batch cost as [`Network::backward`] would compute them with this
    /// mistake in it; an error if the fault does not fit the network and cost.
    pub fn backward(
        self,
        network: &Network,
        cost: Cost,
        batch: &Batch,
    ) -> Result<Gradients, GradcheckError> {
        self.validate(network.sizes(), cost)?;
        Ok(match self {
            Fault::DropSigmoidPrime { layer } => mean_over(network, batch, |x, label| {
                backprop_without_prime(network, cost, x, label, layer)
            }),
            Fault::SwapLayers { first, second } => {
                let mut nabla = network.backward(cost, batch);
                nabla.weights.swap(first - 1, second - 1);
                nabla.biases.swap(first - 1, second - 1);
                nabla
            }
        })
    }
}

/// [`Network::backprop`] with the activation's derivative left out of layer `faulty`'s error:
/// the same steps in the same order, the two marked lines apart.
fn backprop_without_prime(
    network: &Network,
    cost: Cost,
    x: &[f64],
    label: usize,
    faulty: usize,
) -> Gradients {
    let layers = network.layers();
    let Forward { activations, zs } = network.forward(x);
    let mut nabla_b = vec![Vec::new(); layers];
    let mut nabla_w = vec![Vec::new(); layers];

    let mut delta = if faulty == layers {
        // The fault: δ^L = a^L − y, without BP1's σ'(z^L).
        a_minus_y(&output_activations(cost, &zs[layers - 1]), label)
    } else {
        bp1_output_error(cost, &zs[layers - 1], label)
    };
    for l in (1..=layers).rev() {
        if l < layers {
            let sp = if l == faulty {
                // The fault: 1 where BP2 has f'(z^l).
                vec![1.0; zs[l - 1].len()]
            } else {
                network.f_prime(&zs[l - 1])
            };
            delta = bp2_backpropagate_error(&network.params.weights[l], &delta, &sp);
        }
        nabla_b[l - 1] = delta.clone();
        nabla_w[l - 1] = bp4_weight_gradient(&activations[l - 1], &delta);
    }
    PerLayer {
        weights: nabla_w,
        biases: nabla_b,
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::DropSigmoidPrime { layer } => write!(f, "drop-sigmoid-prime:{layer}"),
            Fault::SwapLayers { first, second } => write!(f, "swap-layers:{first},{second}"),
        }
    }
}

impl FromStr for Fault {
    type Err = GradcheckError;

    /// Parses `drop-sigmoid-prime:<layer>` or `swap-layers:<layer>,<layer>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || GradcheckError::FaultSyntax {
            fault: s.to_string(),
        };
        let (kind, args) = s.split_once(':').ok_or_else(syntax)?;
        let layer = |a: &str| a.trim().parse::<usize>().map_err(|_| syntax());
        match kind.trim() {
            "drop-sigmoid-prime" => Ok(Fault::DropSigmoidPrime {
                layer: layer(args)?,
            }),
            "swap-layers" => {
                let (a, b) = args.split_once(',').ok_or_else(syntax)?;
                Ok(Fault::SwapLayers {
                    first: layer(a)?,
                    second: layer(b)?,
                })
            }
            _ => Err(syntax()),
        }
    }
}

#[cfg(test)]
mod tests {
    use model::Activation;

    use super::*;

    #[test]
    fn faults_parse_display_and_validate() {
        let f: Fault = "drop-sigmoid-prime:2".parse().unwrap();
        assert_eq!(f, Fault::DropSigmoidPrime { layer: 2 });
        assert_eq!(f.to_string(), "drop-sigmoid-prime:2");
        let s: Fault = "swap-layers:1,2".parse().unwrap();
        assert_eq!(
            s,
            Fault::SwapLayers {
                first: 1,
                second: 2
            }
        );
        assert!("drop:1".parse::<Fault>().is_err());
        assert!("swap-layers:1".parse::<Fault>().is_err());

        let sizes = [4, 3, 3, 2];
        assert!(f.validate(&sizes, Cost::Quadratic).is_ok());
        let out = Fault::DropSigmoidPrime { layer: 3 };
        assert!(out.validate(&sizes, Cost::Quadratic).is_ok());
        let err = out.validate(&sizes, Cost::CrossEntropy).unwrap_err();
        assert!(err.to_string().contains("no σ' factor"), "{err}");
        let err = Fault::DropSigmoidPrime { layer: 4 }
            .validate(&sizes, Cost::Quadratic)
            .unwrap_err();
        assert!(err.to_string().contains("layers are 1 to 3"), "{err}");
        assert!(Fault::SwapLayers {
            first: 2,
            second: 1
        }
        .validate(&sizes, Cost::Quadratic)
        .is_err());
        assert!(Fault::SwapLayers {
            first: 2,
            second: 2
        }
        .validate(&sizes, Cost::Quadratic)
        .is_err());
        assert!(Fault::SwapLayers {
            first: 1,
            second: 2
        }
        .validate(&[3, 3, 3, 2], Cost::Quadratic)
        .is_ok());
    }

    /// A 2-2-2-2 ReLU network whose hidden units are all above the kink for positive inputs:
    /// the hidden layers' weights and biases are positive.
    fn all_active() -> Network {
        let params = PerLayer {
            weights: vec![
                vec![0.1, 0.2, 0.3, 0.4],
                vec![0.5, 0.6, 0.7, 0.8],
                vec![0.9, -1.0, 0.2, 0.3],
            ],
            biases: vec![vec![0.1, 0.2], vec![0.3, 0.4], vec![-0.5, 0.1]],
        };
        Network::new(vec![2, 2, 2, 2], Activation::Relu, params).unwrap()
    }

    /// The faulty pass is the clean one but for the dropped factor: where that factor is 1 (a
    /// ReLU unit above its kink), the two agree to the last bit.
    #[test]
    fn dropping_a_derivative_of_one_changes_nothing() {
        let net = all_active();
        let batch = Batch::new(vec![1.0, 2.0, 0.5, 0.25], vec![0, 1], 2).unwrap();
        for cost in [Cost::Quadratic, Cost::CrossEntropy] {
            let clean = net.backward(cost, &batch);
            for layer in [1, 2] {
                let faulty = Fault::DropSigmoidPrime { layer };
                assert_eq!(faulty.backward(&net, cost, &batch).unwrap(), clean);
            }
        }
    }

    /// Where the dropped factor is not 1, the gradients change in that layer and below it, and
    /// in no layer above.
    #[test]
    fn a_dropped_derivative_spoils_its_layer_and_those_below() {
        let mut net = all_active();
        // Stop layer 2's first unit (z^2_1 < 0 for these inputs), so that ReLU'(z^2_1) = 0.
        net.params.biases[1][0] = -5.0;
        let batch = Batch::new(vec![1.0, 2.0, 0.5, 0.25], vec![0, 1], 2).unwrap();
        let clean = net.backward(Cost::Quadratic, &batch);
        let faulty = Fault::DropSigmoidPrime { layer: 2 }
            .backward(&net, Cost::Quadratic, &batch)
            .unwrap();
        assert_eq!(faulty.weights[2], clean.weights[2]);
        assert_eq!(faulty.biases[2], clean.biases[2]);
        for l in [0, 1] {
            assert_ne!(faulty.weights[l], clean.weights[l], "layer {}", l + 1);
            assert_ne!(faulty.biases[l], clean.biases[l], "layer {}", l + 1);
        }

        // The quadratic cost's output layer: σ'(z^L) < 1 always, so every layer changes.
        let out = Fault::DropSigmoidPrime { layer: 3 }
            .backward(&net, Cost::Quadratic, &batch)
            .unwrap();
        assert_ne!(out.biases[2], clean.biases[2]);
        assert_ne!(out.weights[0], clean.weights[0]);
    }

    #[test]
    fn swapping_swaps_and_nothing_else() {
        let net = all_active();
        let batch = Batch::new(vec![1.0, 2.0], vec![0], 2).unwrap();
        let clean = net.backward(Cost::CrossEntropy, &batch);
        let swapped = Fault::SwapLayers {
            first: 1,
            second: 2,
        }
        .backward(&net, Cost::CrossEntropy, &batch)
        .unwrap();
        assert_eq!(swapped.weights[0], clean.weights[1]);
        assert_eq!(swapped.biases[1], clean.biases[0]);
        assert_eq!(swapped.weights[2], clean.weights[2]);
        assert_ne!(swapped, clean);
    }
}
