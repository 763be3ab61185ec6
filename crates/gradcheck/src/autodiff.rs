//! The Burn side: the real [`model::Mlp`], in f64 or f32, its cost from [`model::Cost::loss`]
//! and its gradients from Burn's autodiff.
//!
//! Burn 0.22 runs a network in f64 without any change to its definition: a tensor's dtype is a
//! run-time property (`Tensor::dtype()`), `Tensor::cast(FloatDType::F64)` converts one, and
//! operations keep the dtype of their inputs. [`cast_network`] casts every parameter of the
//! network (a [`ModuleMapper`], so it needs to know nothing of `Mlp`'s fields), and
//! [`autodiff_gradients`] creates the batch in the same dtype and refuses to go on if Burn
//! computed the output in any other.
//!
//! A dtype that says F64 is not yet proof of f64 arithmetic: Burn 0.22.1's default `sigmoid`
//! (in burn-backend, used by backends that do not override it, such as NdArray) casts its input
//! to f32, computes, and casts the result back. [`verify_f64`] therefore computes the
//! operations the network uses on f64 values and compares them with Rust's f64 results before
//! any gradient is compared.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, relu, sigmoid};
use burn::tensor::{DType, FloatDType};
use model::{Backend, Cost, Mlp};

use crate::manual::{self, Gradients, Network};
use crate::{Batch, GradcheckError, PerLayer};

/// Casts every float parameter to one dtype, as a leaf that collects gradients (a network
/// loaded on a plain device, as `serve` holds one, gets autodiff here).
struct CastParams(FloatDType);

impl ModuleMapper for CastParams {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        // The cast is itself an operation on the autodiff graph: detach it so that the cast
        // tensor is a parameter of its own, whose gradient `grad` returns.
        param.map(|t| t.cast(dtype).detach().autodiff().require_grad())
    }
}

/// The same network with every parameter converted to `dtype` (f32 → f64 is exact).
pub fn cast_network(network: Mlp, dtype: FloatDType) -> Mlp {
    network.map(&mut CastParams(dtype))
}

/// Checks that `device` computes in f64 the operations the network and its costs use
/// (matrix product, sigmoid, ReLU, exp, log-softmax): each must match Rust's f64 result to
/// within a relative 1e-13, where f32 arithmetic would be off by about 1e-8.
pub fn verify_f64(device: &Device, backend: Backend) -> Result<(), GradcheckError> {
    // Values with no exact f32 form, so f32 arithmetic shows.
    let values = vec![-3.7, -0.3, 0.1, 0.7, 1.3, 2.9];
    let x = Tensor::<2>::from_data(
        TensorData::new(values.clone(), [2, 3]),
        (device, DType::F64),
    );
    let rows: Vec<&[f64]> = values.chunks(3).collect();
    let product: Vec<f64> = rows
        .iter()
        .flat_map(|a| {
            rows.iter()
                .map(move |b| a.iter().zip(*b).map(|(p, q)| p * q).sum::<f64>())
        })
        .collect();
    let log_softmax_rows: Vec<f64> = rows
        .iter()
        .flat_map(|r| manual::softmax(r).into_iter().map(f64::ln))
        .collect();
    let ops: [(&'static str, Tensor<2>, Vec<f64>); 5] = [
        ("matmul", x.clone().matmul(x.clone().transpose()), product),
        (
            "sigmoid",
            sigmoid(x.clone()),
            values.iter().map(|&v| manual::sigmoid(v)).collect(),
        ),
        (
            "relu",
            relu(x.clone()),
            values.iter().map(|&v| manual::relu(v)).collect(),
        ),
        (
            "exp",
            x.clone().exp(),
            values.iter().map(|v| v.exp()).collect(),
        ),
        ("log_softmax", log_softmax(x, 1), log_softmax_rows),
    ];
    for (op, tensor, exact) in ops {
        let (got, _) = read(tensor)?;
        let error = got
            .iter()
            .zip(&exact)
            .map(|(g, e)| (g - e).abs() / e.abs().max(1e-300))
            .fold(0.0, f64::max);
        if error.is_nan() || error > 1e-13 {
            return Err(GradcheckError::NotF64 { backend, op, error });
        }
    }
    Ok(())
}

/// Reads a tensor back as f64 values, with the dtype it was stored in.
pub(crate) fn read<const D: usize>(tensor: Tensor<D>) -> Result<(Vec<f64>, DType), GradcheckError> {
    let data = tensor
        .try_into_data()
        .map_err(|source| GradcheckError::Readback { source })?;
    let dtype = data.dtype();
    let values = data
        .try_into_vec_as::<f64>()
        .map_err(|source| GradcheckError::ReadbackValues { source })?;
    Ok((values, dtype))
}

/// The network's weights and biases, read out of Burn into the hand-written [`Network`]
/// (Burn's `[inputs, outputs]` layout is kept), with its hidden layers' activation.
pub fn network_from_mlp(network: &Mlp) -> Result<Network, GradcheckError> {
    let mut weights = Vec::with_capacity(network.layers.len());
    let mut biases = Vec::with_capacity(network.layers.len());
    for (l, layer) in network.layers.iter().enumerate() {
        weights.push(read(layer.weight.val())?.0);
        let bias = layer.bias.as_ref().ok_or(GradcheckError::InvalidNetwork {
            sizes: network.sizes(),
            reason: format!("layer {} has no bias", l + 1),
        })?;
        biases.push(read(bias.val())?.0);
    }
    Network::new(
        network.sizes(),
        network.activation,
        PerLayer { weights, biases },
    )
}

/// The device a network's parameters are on.
pub fn device_of(network: &Mlp) -> Result<Device, GradcheckError> {
    network
        .devices()
        .into_iter()
        .next()
        .ok_or_else(|| GradcheckError::InvalidNetwork {
            sizes: network.sizes(),
            reason: "it has no parameters".to_string(),
        })
}

/// A batch as Burn's tensors on `device`: the inputs `[n, width]` and one-hot targets
/// `[n, outputs]` in `dtype`, and the labels.
pub fn batch_tensors(
    batch: &Batch,
    outputs: usize,
    device: &Device,
    dtype: FloatDType,
) -> (Tensor<2>, Tensor<1, Int>, Tensor<2>) {
    let n = batch.len();
    // TensorData keeps the f64 values; the creation options convert them to `dtype` (exactly,
    // for f32: every input is a number f32 holds).
    let x = Tensor::<2>::from_data(
        TensorData::new(batch.inputs.clone(), [n, batch.width]),
        (device, DType::from(dtype)),
    );
    let labels: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device);
    let targets = Tensor::<2>::from_data(
        TensorData::new(batch.one_hot(outputs), [n, outputs]),
        (device, DType::from(dtype)),
    );
    (x, labels, targets)
}

/// A one-element tensor's value, as f64.
pub fn read_scalar(tensor: Tensor<1>) -> Result<f64, GradcheckError> {
    Ok(read(tensor)?.0.first().copied().unwrap_or(f64::NAN))
}

/// What one autodiff run gave.
#[derive(Debug, Clone, PartialEq)]
pub struct AutodiffRun {
    /// ∂C/∂W^l and ∂C/∂b^l from `loss.backward()`, converted to f64.
    pub gradients: Gradients,
    /// The cost C of the batch, as Burn computed it.
    pub loss: f64,
    /// The dtype Burn stored the gradients in: evidence of the precision it computed in.
    pub gradient_dtype: DType,
}

/// Burn's gradients of `cost` for `network` (on an autodiff device) on `batch`, with the
/// batch created in `dtype` (the network's parameters must already be in it: see
/// [`cast_network`]).
///
/// The forward pass is [`Mlp::forward`] and the cost [`Cost::loss`]: the very code training
/// runs. Fails with [`GradcheckError::WrongDType`] if Burn computed in another dtype.
pub fn autodiff_gradients(
    network: &Mlp,
    cost: Cost,
    batch: &Batch,
    dtype: FloatDType,
) -> Result<AutodiffRun, GradcheckError> {
    let sizes = network.sizes();
    batch.check_fits(&sizes)?;
    let outputs = sizes[sizes.len() - 1];
    let device = device_of(network)?;
    let expected = DType::from(dtype);
    let (x, labels, targets) = batch_tensors(batch, outputs, &device, dtype);

    let z = network.forward(x);
    if z.dtype() != expected {
        return Err(GradcheckError::WrongDType {
            what: "the output layer's weighted inputs".to_string(),
            expected,
            got: z.dtype(),
        });
    }
    let loss = cost.loss(z, labels, targets);
    let loss_value = read_scalar(loss.clone())?;
    let grads = loss.backward();

    let mut gradients = PerLayer {
        weights: Vec::with_capacity(network.layers.len()),
        biases: Vec::with_capacity(network.layers.len()),
    };
    let mut gradient_dtype = expected;
    for (l, layer) in network.layers.iter().enumerate() {
        let missing = |param| GradcheckError::NoGradient {
            layer: l + 1,
            param,
        };
        let (w, w_dtype) = read(layer.weight.grad(&grads).ok_or_else(|| missing("weight"))?)?;
        let bias = layer.bias.as_ref().ok_or_else(|| missing("bias"))?;
        let (b, b_dtype) = read(bias.grad(&grads).ok_or_else(|| missing("bias"))?)?;
        for got in [w_dtype, b_dtype] {
            if got != expected {
                return Err(GradcheckError::WrongDType {
                    what: format!("layer {}'s gradients", l + 1),
                    expected,
                    got,
                });
            }
        }
        gradient_dtype = w_dtype;
        gradients.weights.push(w);
        gradients.biases.push(b);
    }
    Ok(AutodiffRun {
        gradients,
        loss: loss_value,
        gradient_dtype,
    })
}
