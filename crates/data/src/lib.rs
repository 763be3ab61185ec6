//! MNIST for the digits project: the four IDX files in a directory, read, verified and turned
//! into a Burn [`Dataset`](burn::data::dataset::Dataset) and mini-batches of tensors.
//!
//! This crate owns the data and knows nothing of networks. It reads the files (raw or gzipped),
//! checks them against the directory's `SHA256SUMS` when there is one, validates their
//! structure (see [`idx`]), splits a validation set off the training images, and batches items
//! into pixel tensors scaled to 0..1 with class-index and one-hot targets.
//!
//! ```no_run
//! let mnist = data::Mnist::load(std::path::Path::new("data/mnist"))?;
//! let (train, valid) = mnist.train.split_validation(5_000, 1)?;
//! assert_eq!((train.len(), valid.len(), mnist.test.len()), (55_000, 5_000, 10_000));
//! # Ok::<(), data::DataError>(())
//! ```

// `unsafe` is allowed only item by item, in `augment` (ARCHITECTURE.md, Invariants).
#![deny(unsafe_code)]

pub mod augment;
mod batcher;
mod dataset;
mod error;
mod folder;
pub mod idx;
mod labelled;
mod paper;
pub mod preprocess;
mod rng;
pub mod source;

pub use batcher::{ImageBatch, ImageBatcher};
pub use dataset::{ImageDataset, ImageItem, Mnist};
pub use error::DataError;
pub use folder::{folder_class_names, is_image_folder, ImageFolder, CACHE_FILE};
pub use labelled::{
    check_class_list, check_class_name, check_classes, class_names, digit_names, Labelled,
};
pub use rng::SplitMix64;
pub use source::Split;

/// Height and width of an MNIST image.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image: the network's 784 inputs.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// The ten digits: the network's 10 outputs.
pub const NUM_CLASSES: usize = 10;

/// A stored pixel (0 = background, 255 = full ink) as the network's input, in 0..1.
///
/// The one place where pixel bytes become inputs: the batcher, `infer`'s images and the
/// gradient check all scale through it.
#[inline]
pub fn scale_pixel(byte: u8) -> f32 {
    f32::from(byte) / 255.0
}
