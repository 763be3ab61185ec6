//! One thing per layer's weights and one per layer's biases: the shape shared by a network's
//! parameters, their gradients and the parameters a finite-difference check probes.

use std::fmt;

use serde::Serialize;

/// Which parameters of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    Weight,
    Bias,
}

impl ParamKind {
    /// `weight` or `bias`.
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Weight => "weight",
            ParamKind::Bias => "bias",
        }
    }
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `T` for the weights and one for the biases of every layer with parameters.
///
/// Layers are numbered from l = 1 (the first hidden layer) to L (the output layer), as in the
/// equations; the vectors are indexed from 0, so `weights[l − 1]` belongs to W^l and
/// `biases[l − 1]` to b^l. A network's parameters and their gradients are
/// `PerLayer<Vec<f64>>` ([`crate::manual::Gradients`]), the parameters to probe
/// `PerLayer<Vec<usize>>` ([`crate::finite::Sample`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerLayer<T> {
    /// `weights[l − 1]`: W^l's.
    pub weights: Vec<T>,
    /// `biases[l − 1]`: b^l's.
    pub biases: Vec<T>,
}

impl<T> PerLayer<T> {
    /// The number of layers with parameters, L.
    pub fn layers(&self) -> usize {
        self.weights.len()
    }

    /// Layer `layer`'s (numbered from 1) weights' or biases' `T`.
    pub fn get(&self, layer: usize, param: ParamKind) -> &T {
        match param {
            ParamKind::Weight => &self.weights[layer - 1],
            ParamKind::Bias => &self.biases[layer - 1],
        }
    }

    /// Layer `layer`'s (numbered from 1) weights' or biases' `T`, to change.
    pub fn get_mut(&mut self, layer: usize, param: ParamKind) -> &mut T {
        match param {
            ParamKind::Weight => &mut self.weights[layer - 1],
            ParamKind::Bias => &mut self.biases[layer - 1],
        }
    }

    /// Every tensor's `T` with its layer (numbered from 1) and kind, in the order of the
    /// report: layer 1's weights, layer 1's biases, layer 2's weights, ...
    pub fn iter(&self) -> impl Iterator<Item = (usize, ParamKind, &T)> {
        self.weights
            .iter()
            .zip(&self.biases)
            .zip(1..)
            .flat_map(|((w, b), layer)| {
                [(layer, ParamKind::Weight, w), (layer, ParamKind::Bias, b)]
            })
    }

    /// The same shape with `f` applied to every tensor's `T`.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> PerLayer<U> {
        PerLayer {
            weights: self.weights.iter().map(&mut f).collect(),
            biases: self.biases.iter().map(&mut f).collect(),
        }
    }
}

impl<T> PerLayer<Vec<T>> {
    /// How many entries all the tensors hold together.
    pub fn len(&self) -> usize {
        self.iter().map(|(_, _, t)| t.len()).sum()
    }

    /// Whether no tensor holds any entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_come_layer_by_layer_weights_first() {
        let p = PerLayer {
            weights: vec![vec![1, 2], vec![3]],
            biases: vec![vec![4], vec![]],
        };
        let order: Vec<(usize, ParamKind, usize)> =
            p.iter().map(|(l, kind, t)| (l, kind, t.len())).collect();
        assert_eq!(
            order,
            vec![
                (1, ParamKind::Weight, 2),
                (1, ParamKind::Bias, 1),
                (2, ParamKind::Weight, 1),
                (2, ParamKind::Bias, 0),
            ]
        );
        assert_eq!(p.len(), 4);
        assert_eq!(p.get(2, ParamKind::Weight), &vec![3]);
        assert_eq!(p.map(Vec::len).biases, vec![1, 0]);
    }
}
