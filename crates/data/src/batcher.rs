//! Turning MNIST items into tensors: pixels scaled to 0..1 and the targets both cost functions
//! need.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;

use crate::{MnistItem, IMAGE_PIXELS, NUM_CLASSES};

/// A mini-batch of `B` images on a device.
#[derive(Debug, Clone)]
pub struct MnistBatch {
    /// `[B, 784]` pixel intensities in 0..1 (ink is 1).
    pub images: Tensor<2>,
    /// `[B]` digits, the class indices used by the cross-entropy cost and by accuracy.
    pub labels: Tensor<1, Int>,
    /// `[B, 10]` one-hot rows: the desired output y(x) of the quadratic cost.
    pub targets: Tensor<2>,
}

/// Builds [`MnistBatch`]es from [`MnistItem`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct MnistBatcher;

impl MnistBatcher {
    /// Batches images given as raw pixel slices (784 each) with their labels.
    pub fn batch_pixels<'a>(
        &self,
        images: impl ExactSizeIterator<Item = (&'a [u8], u8)>,
        device: &Device,
    ) -> MnistBatch {
        let n = images.len();
        let mut pixels = Vec::with_capacity(n * IMAGE_PIXELS);
        let mut labels = Vec::with_capacity(n);
        let mut targets = vec![0f32; n * NUM_CLASSES];
        for (row, (image, label)) in images.enumerate() {
            pixels.extend(image.iter().map(|&p| f32::from(p) / 255.0));
            labels.push(i64::from(label));
            targets[row * NUM_CLASSES + label as usize] = 1.0;
        }
        MnistBatch {
            images: Tensor::from_data(TensorData::new(pixels, [n, IMAGE_PIXELS]), device),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n, NUM_CLASSES]), device),
        }
    }
}

impl Batcher<MnistItem, MnistBatch> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &Device) -> MnistBatch {
        self.batch_pixels(items.iter().map(|it| (&it.image[..], it.label)), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_scales_pixels_and_encodes_targets() {
        let device = Device::default();
        let mut first = [0u8; IMAGE_PIXELS];
        first[0] = 255;
        first[1] = 51;
        let items = vec![
            MnistItem {
                image: first,
                label: 3,
            },
            MnistItem {
                image: [0; IMAGE_PIXELS],
                label: 9,
            },
        ];
        let batch = MnistBatcher.batch(items, &device);
        assert_eq!(batch.images.dims(), [2, IMAGE_PIXELS]);
        let px: Vec<f32> = batch.images.into_data().try_to_vec().unwrap();
        assert_eq!((px[0], px[1], px[2]), (1.0, 0.2, 0.0));
        assert_eq!(
            batch
                .labels
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            vec![3, 9]
        );
        let t: Vec<f32> = batch.targets.into_data().try_to_vec().unwrap();
        let hot: Vec<usize> = t
            .iter()
            .enumerate()
            .filter(|(_, &v)| v == 1.0)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(hot, vec![3, 10 + 9]);
        assert_eq!(t.iter().sum::<f32>(), 2.0);
    }
}
