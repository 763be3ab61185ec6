//! Turning MNIST items into tensors: pixels scaled to 0..1 and the targets both cost functions
//! need.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;

use crate::{ImageDataset, ImageItem, IMAGE_PIXELS, NUM_CLASSES};

/// A mini-batch of `B` images on a device.
#[derive(Debug, Clone)]
pub struct ImageBatch {
    /// `[B, 784]` pixel intensities in 0..1 (ink is 1).
    pub images: Tensor<2>,
    /// `[B]` class indices (the digits, for MNIST), used by the cross-entropy cost and by
    /// accuracy.
    pub labels: Tensor<1, Int>,
    /// `[B, classes]` one-hot rows: the desired output y(x) of the quadratic cost.
    pub targets: Tensor<2>,
}

/// Builds [`ImageBatch`]es from [`ImageItem`]s, with one-hot targets as wide as the number of
/// classes (10 by default: the digits).
#[derive(Debug, Clone, Copy)]
pub struct ImageBatcher {
    classes: usize,
}

impl Default for ImageBatcher {
    fn default() -> Self {
        ImageBatcher {
            classes: NUM_CLASSES,
        }
    }
}

impl ImageBatcher {
    /// A batcher for labels 0..classes (`classes` is at least 1).
    pub fn new(classes: usize) -> Self {
        ImageBatcher {
            classes: classes.max(1),
        }
    }

    /// Batches images given as raw pixel slices (784 each) with their labels. Panics when a
    /// label is not below the batcher's class count, like slice indexing.
    pub fn batch_pixels<'a>(
        &self,
        images: impl ExactSizeIterator<Item = (&'a [u8], u8)>,
        device: &Device,
    ) -> ImageBatch {
        let n = images.len();
        let mut pixels = vec![0f32; n * IMAGE_PIXELS];
        let mut labels = Vec::with_capacity(n);
        for ((image, label), out) in images.zip(pixels.chunks_exact_mut(IMAGE_PIXELS)) {
            // Equal lengths, known to the compiler: this loop compiles to SIMD conversions.
            for (o, &p) in out.iter_mut().zip(&image[..IMAGE_PIXELS]) {
                *o = crate::scale_pixel(p);
            }
            labels.push(label);
        }
        self.batch_inputs(pixels, &labels, device)
    }

    /// Batches inputs already in 0..1 (`[n, 784]` row-major, such as distorted copies: see
    /// [`crate::augment`]) with their labels. Panics unless there are 784 inputs per label, or
    /// when a label is not below the batcher's class count.
    pub fn batch_inputs(&self, pixels: Vec<f32>, labels: &[u8], device: &Device) -> ImageBatch {
        let n = labels.len();
        assert_eq!(pixels.len(), n * IMAGE_PIXELS, "784 inputs per label");
        let classes = self.classes;
        let mut targets = vec![0f32; n * classes];
        for (row, &label) in labels.iter().enumerate() {
            targets[row * classes + label as usize] = 1.0;
        }
        let labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
        ImageBatch {
            images: Tensor::from_data(TensorData::new(pixels, [n, IMAGE_PIXELS]), device),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n, classes]), device),
        }
    }
}

impl ImageBatcher {
    /// Batches the images of `dataset` at `indices` straight from its storage (the same batch
    /// as [`Batcher::batch`] on the items, without copying each item first: the training loop's
    /// path). Panics when an index is out of range, like slice indexing.
    pub fn batch_indices(
        &self,
        dataset: &ImageDataset,
        indices: &[usize],
        device: &Device,
    ) -> ImageBatch {
        self.batch_pixels(
            indices
                .iter()
                .map(|&i| (dataset.image(i), dataset.label(i))),
            device,
        )
    }

    /// The whole of `dataset`, in order, as batches of at most `size` images (the last may be
    /// smaller): how a network is evaluated on a set.
    pub fn in_order<'a>(
        self,
        dataset: &'a ImageDataset,
        size: usize,
        device: &'a Device,
    ) -> impl Iterator<Item = ImageBatch> + 'a {
        let size = size.max(1);
        (0..dataset.len()).step_by(size).map(move |start| {
            let end = (start + size).min(dataset.len());
            self.batch_pixels(
                (start..end).map(|i| (dataset.image(i), dataset.label(i))),
                device,
            )
        })
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        self.batch_pixels(items.iter().map(|it| (&it.image[..], it.label)), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_scales_pixels_and_encodes_targets() {
        let device = Device::flex();
        let mut first = [0u8; IMAGE_PIXELS];
        first[0] = 255;
        first[1] = 51;
        let items = vec![
            ImageItem {
                image: first,
                label: 3,
            },
            ImageItem {
                image: [0; IMAGE_PIXELS],
                label: 9,
            },
        ];
        let batch = ImageBatcher::default().batch(items, &device);
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

    #[test]
    fn targets_are_as_wide_as_the_classes() {
        let device = Device::flex();
        let images = [([0u8; IMAGE_PIXELS], 2u8), ([0u8; IMAGE_PIXELS], 0u8)];
        let batch =
            ImageBatcher::new(3).batch_pixels(images.iter().map(|(i, l)| (&i[..], *l)), &device);
        assert_eq!(batch.targets.dims(), [2, 3]);
        let t: Vec<f32> = batch.targets.into_data().try_to_vec().unwrap();
        assert_eq!(t, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn batching_by_index_matches_batching_items() {
        use burn::data::dataset::Dataset;
        let device = Device::flex();
        let pixels: Vec<u8> = (0..3 * IMAGE_PIXELS).map(|i| (i % 256) as u8).collect();
        let ds = ImageDataset::new(pixels, vec![4, 1, 7]).unwrap();
        let by_index = ImageBatcher::default().batch_indices(&ds, &[2, 0], &device);
        let items = vec![ds.get(2).unwrap(), ds.get(0).unwrap()];
        let by_items = ImageBatcher::default().batch(items, &device);
        let v = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(v(by_index.images), v(by_items.images));
        assert_eq!(v(by_index.targets), v(by_items.targets));
    }

    #[test]
    fn in_order_covers_the_dataset_once() {
        let device = Device::flex();
        let pixels: Vec<u8> = (0..5 * IMAGE_PIXELS)
            .map(|i| (i / IMAGE_PIXELS) as u8)
            .collect();
        let ds = ImageDataset::new(pixels, vec![0, 1, 2, 3, 4]).unwrap();
        let batches: Vec<ImageBatch> = ImageBatcher::default().in_order(&ds, 2, &device).collect();
        let sizes: Vec<usize> = batches.iter().map(|b| b.images.dims()[0]).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        let labels: Vec<i64> = batches
            .into_iter()
            .flat_map(|b| {
                b.labels
                    .into_data()
                    .convert::<i64>()
                    .try_into_vec::<i64>()
                    .unwrap()
            })
            .collect();
        assert_eq!(labels, vec![0, 1, 2, 3, 4]);
    }
}
