//! One step's batch computed in parts side by side (`batch_parts`), to keep more cores busy:
//! Burn's CPU backends run element-wise operations and small matrix products on one thread, so
//! two halves of a batch, each on its own thread, fill the time one batch leaves a core idle.
//!
//! Each part's forward and backward pass runs on a fork of the network (its own leaves, so its
//! own autodiff graph: two passes over one network's graph would share its tape), and the
//! parts' mean costs and gradients are combined as the whole batch's, each weighted by its share
//! of the images. That is the batch's gradient to rounding, but not bit for bit: the sums over
//! the batch are taken in another order. The bits depend on the number of parts, not on the
//! threads that run them: on one thread the parts run one after the other, with the same bits.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use data::ImageBatch;
use model::{Cost, Mlp};
use rayon::prelude::*;

/// A batch's mean cost and outputs z (both off the autodiff graph) and the gradient of its mean
/// cost, computed in `parts` parts on the current rayon pool.
pub(crate) fn in_parts(
    network: &Mlp,
    batch: &ImageBatch,
    cost: Cost,
    parts: usize,
    device: &Device,
) -> (Tensor<1>, Tensor<2>, GradientsParams) {
    let n = batch.images.dims()[0];
    let bounds: Vec<(usize, usize)> = (0..parts)
        .map(|p| (p * n / parts, (p + 1) * n / parts))
        .filter(|(start, end)| end > start)
        .collect();
    let results: Vec<(Tensor<1>, Tensor<2>, GradientsParams)> = bounds
        .par_iter()
        .map(|&(start, end)| {
            let part = network.clone().fork(device);
            let rows = |t: Tensor<2>| t.narrow(0, start, end - start);
            let z = part.forward(rows(batch.images.clone()));
            let labels = batch.labels.clone().narrow(0, start, end - start);
            // The part's mean cost weighted by its share of the images: its gradient is then
            // the part's share of the batch's, and the batch's is their sum.
            let share = (end - start) as f32 / n as f32;
            let c = cost
                .loss(z.clone(), labels, rows(batch.targets.clone()))
                .mul_scalar(share);
            let gradients = GradientsParams::from_grads(c.backward(), &part);
            (c.inner(), z.inner(), gradients)
        })
        .collect();
    let mut costs = Vec::with_capacity(results.len());
    let (mut outputs, mut gradients) = (Vec::new(), Vec::new());
    for (c, z, g) in results {
        costs.push(c);
        outputs.push(z);
        gradients.push(g);
    }
    // (A batch has at least one image, so at least one part.)
    (
        Tensor::cat(costs, 0).sum(),
        Tensor::cat(outputs, 0),
        combine(network, gradients),
    )
}

/// The sum of the parts' gradients (each already weighted by its share), for every parameter
/// that has a gradient in each (a frozen layer has none).
fn combine(network: &Mlp, parts: Vec<GradientsParams>) -> GradientsParams {
    fn one<const D: usize>(
        id: burn::module::ParamId,
        parts: &mut [GradientsParams],
        out: &mut GradientsParams,
    ) {
        let each: Option<Vec<Tensor<D>>> = parts.iter_mut().map(|g| g.remove::<D>(id)).collect();
        if let Some(total) = each.and_then(|s| s.into_iter().reduce(Tensor::add)) {
            out.register(id, total);
        }
    }
    let mut parts = parts;
    let mut out = GradientsParams::new();
    for layer in &network.layers {
        one::<2>(layer.weight.id, &mut parts, &mut out);
        if let Some(bias) = &layer.bias {
            one::<1>(bias.id, &mut parts, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use data::ImageBatcher;
    use model::{Activation, MlpConfig};

    /// `n` images of made-up pixels and labels.
    fn batch(n: usize, device: &Device) -> ImageBatch {
        let pixels: Vec<f32> = (0..n * 784)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i * 3 % 10) as u8).collect();
        ImageBatcher::new(10).batch_inputs(pixels, &labels, device)
    }

    fn whole(network: &Mlp, batch: &ImageBatch, cost: Cost) -> (Tensor<1>, GradientsParams) {
        let z = network.forward(batch.images.clone());
        let c = cost.loss(z, batch.labels.clone(), batch.targets.clone());
        let gradients = GradientsParams::from_grads(c.backward(), network);
        (c.inner(), gradients)
    }

    /// The largest |a − b| over every parameter's gradient, and the largest |a|.
    fn difference(network: &Mlp, a: &GradientsParams, b: &GradientsParams) -> (f32, f32) {
        let (mut diff, mut size) = (0f32, 0f32);
        let mut compare = |x: Option<Tensor<2>>, y: Option<Tensor<2>>| {
            let (x, y) = (x.expect("a gradient"), y.expect("a gradient"));
            diff = diff.max(x.clone().sub(y).abs().max().into_scalar());
            size = size.max(x.abs().max().into_scalar());
        };
        for layer in &network.layers {
            compare(a.get::<2>(layer.weight.id), b.get::<2>(layer.weight.id));
            let bias = layer.bias.as_ref().expect("a bias").id;
            compare(
                a.get::<1>(bias).map(|t| t.unsqueeze()),
                b.get::<1>(bias).map(|t| t.unsqueeze()),
            );
        }
        (diff, size)
    }

    #[test]
    fn the_parts_give_the_whole_batchs_cost_and_gradient_to_rounding() {
        let device = model::Backend::resolve(None)
            .unwrap()
            .device()
            .unwrap()
            .autodiff();
        // Even halves, and uneven parts (7 images in 3 parts: 2, 2 and 3), for both costs.
        for (n, parts, cost, activation) in [
            (16, 2, Cost::Quadratic, Activation::Sigmoid),
            (7, 3, Cost::CrossEntropy, Activation::Relu),
        ] {
            let network = MlpConfig::new(vec![20])
                .with_activation(activation)
                .init_seeded(3, &device);
            let batch = batch(n, &device);
            let (cost_whole, grads_whole) = whole(&network, &batch, cost);
            let (cost_parts, z, grads_parts) = in_parts(&network, &batch, cost, parts, &device);
            assert_eq!(z.dims(), [n, 10]);
            let (a, b): (f32, f32) = (cost_whole.into_scalar(), cost_parts.into_scalar());
            assert!(
                (a - b).abs() <= 1e-6 * a.abs().max(1.0),
                "cost {a} against {b}"
            );
            let (diff, size) = difference(&network, &grads_whole, &grads_parts);
            assert!(size > 1e-4, "the gradient is not zero ({size})");
            assert!(
                diff <= 1e-5 * size,
                "{n} images in {parts}: {diff} of {size}"
            );
        }
    }

    #[test]
    fn a_frozen_layer_gets_no_gradient_from_the_parts() {
        let device = model::Backend::resolve(None)
            .unwrap()
            .device()
            .unwrap()
            .autodiff();
        let network = MlpConfig::new(vec![20]).init_seeded(3, &device);
        let network = crate::transfer::freeze(network, 1);
        let (_, _, grads) = in_parts(&network, &batch(8, &device), Cost::Quadratic, 2, &device);
        assert!(grads.get::<2>(network.layers[0].weight.id).is_none());
        assert!(grads.get::<2>(network.layers[1].weight.id).is_some());
    }
}
