//! MNIST in memory, as a Burn [`Dataset`] of 28×28 images with their digit labels.

use std::io::Write;
use std::path::Path;

use burn::data::dataset::{Dataset, DatasetError};
use flate2::write::GzEncoder;

use crate::idx::{encode_images, encode_labels, parse_images, parse_labels};
use crate::rng::SplitMix64;
use crate::source::{check_dir, read_idx_file, Checksums, Split};
use crate::{DataError, IMAGE_PIXELS};

/// One MNIST example: 784 pixels (row-major, 0 = background, 255 = ink) and its digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageItem {
    pub image: [u8; IMAGE_PIXELS],
    pub label: u8,
}

/// A set of MNIST images and labels, held as raw bytes (70,000 images take 55 MB).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageDataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

/// Both parts of MNIST, as read from one directory.
#[derive(Debug, Clone)]
pub struct Mnist {
    pub train: ImageDataset,
    pub test: ImageDataset,
}

impl Mnist {
    /// Reads and validates the training and test sets from `dir` (see [`ImageDataset::load`]).
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        check_dir(dir)?;
        let sums = Checksums::load(dir)?;
        // Decompressing is most of the time: do the two parts on two threads.
        let (train, test) = std::thread::scope(|s| {
            let train = s.spawn(|| ImageDataset::load_with(dir, Split::Train, &sums));
            let test = ImageDataset::load_with(dir, Split::Test, &sums);
            (train.join(), test)
        });
        let train = train.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(Mnist { train, test: test? })
    }
}

impl ImageDataset {
    /// Builds a dataset from pixels (784 per image) and labels (0–9), checking that they agree.
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self, DataError> {
        Self::with_classes(pixels, labels, crate::NUM_CLASSES)
    }

    /// Builds a dataset of `classes` classes from pixels (784 per image) and labels
    /// (0..classes), checking that they agree.
    pub fn with_classes(
        pixels: Vec<u8>,
        labels: Vec<u8>,
        classes: usize,
    ) -> Result<Self, DataError> {
        let images = pixels.len() / IMAGE_PIXELS;
        if !pixels.len().is_multiple_of(IMAGE_PIXELS) || images != labels.len() {
            return Err(DataError::CountMismatch {
                images_path: "<pixels>".into(),
                images,
                labels_path: "<labels>".into(),
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= classes)
        {
            return Err(DataError::BadLabel {
                path: "<labels>".into(),
                index,
                label,
            });
        }
        Ok(ImageDataset { pixels, labels })
    }

    /// Reads one split from `dir`: the images and labels files, raw or gzipped, verified against
    /// the directory's checksum files if it has any, then validated (magic numbers, 28×28
    /// images, lengths that agree with the headers, as many labels as images, labels 0–9).
    pub fn load(dir: &Path, split: Split) -> Result<Self, DataError> {
        check_dir(dir)?;
        Self::load_with(dir, split, &Checksums::load(dir)?)
    }

    fn load_with(dir: &Path, split: Split, sums: &Checksums) -> Result<Self, DataError> {
        let (labels_path, bytes) = read_idx_file(dir, split.labels_file(), sums)?;
        let labels = parse_labels(&bytes, &labels_path)?;
        let (images_path, bytes) = read_idx_file(dir, split.images_file(), sums)?;
        let pixels = parse_images(&bytes, &images_path)?;
        let images = pixels.len() / IMAGE_PIXELS;
        if images != labels.len() {
            return Err(DataError::CountMismatch {
                images_path,
                images,
                labels_path,
                labels: labels.len(),
            });
        }
        Ok(ImageDataset { pixels, labels })
    }

    /// Writes this dataset into `dir` as the files of `split`, gzipped, in the standard layout
    /// that [`ImageDataset::load`] reads (no checksum file). Handy for slices of MNIST.
    pub fn save(&self, dir: &Path, split: Split) -> Result<(), DataError> {
        std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        for (name, bytes) in [
            (split.images_file(), encode_images(&self.pixels)),
            (split.labels_file(), encode_labels(&self.labels)),
        ] {
            let path = dir.join(format!("{name}.gz"));
            let io = |source| DataError::Io {
                path: path.clone(),
                source,
            };
            let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&bytes).map_err(io)?;
            std::fs::write(&path, gz.finish().map_err(io)?).map_err(io)?;
        }
        Ok(())
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset holds no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 pixels of image `index` (panics when out of range, like slice indexing).
    pub fn image(&self, index: usize) -> &[u8] {
        &self.pixels[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }

    /// The digit shown by image `index` (panics when out of range).
    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The dataset made of the images at `indices`, in that order (panics when one is out of
    /// range).
    pub fn select(&self, indices: &[usize]) -> ImageDataset {
        let mut pixels = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        ImageDataset { pixels, labels }
    }

    /// The first `n` images (all of them when `n` is larger).
    pub fn head(&self, n: usize) -> ImageDataset {
        let n = n.min(self.len());
        ImageDataset {
            pixels: self.pixels[..n * IMAGE_PIXELS].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// The images of `classes` only, relabelled by their place in it: with `[5, 6, 7, 8, 9]`,
    /// fives become 0 and nines 4. Images of other classes are dropped; the order is kept.
    pub fn keep_classes(&self, classes: &[u8]) -> ImageDataset {
        let relabel = |label: u8| classes.iter().position(|&c| c == label);
        let indices: Vec<usize> = (0..self.len())
            .filter(|&i| relabel(self.labels[i]).is_some())
            .collect();
        let mut kept = self.select(&indices);
        for label in &mut kept.labels {
            // Every kept label is in `classes`, and a class list has at most 256 entries.
            *label = relabel(*label).unwrap_or_default() as u8;
        }
        kept
    }

    /// `n` images of each class, chosen at random from `seed` (a few-shot training set), in
    /// their original order. `names` names the classes (labels 0..names.len()) in errors.
    pub fn per_class(
        &self,
        n: usize,
        names: &[String],
        seed: u64,
    ) -> Result<ImageDataset, DataError> {
        if n == 0 {
            return Err(DataError::PerClassZero);
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        SplitMix64::new(seed ^ 0xFE75_4075).shuffle(&mut order);
        let mut taken = vec![0usize; names.len()];
        let mut chosen = Vec::with_capacity(n * names.len());
        for i in order {
            if let Some(count) = taken.get_mut(usize::from(self.labels[i])) {
                if *count < n {
                    *count += 1;
                    chosen.push(i);
                }
            }
        }
        if let Some((class, &available)) = taken.iter().enumerate().find(|(_, &c)| c < n) {
            return Err(DataError::TooFewPerClass {
                class: names[class].clone(),
                available,
                requested: n,
            });
        }
        chosen.sort_unstable();
        Ok(self.select(&chosen))
    }

    /// Splits off `validation` images chosen at random from `seed`, returning
    /// `(train, validation)`. The same seed always gives the same split; each part keeps the
    /// original order of its images.
    pub fn split_validation(
        &self,
        validation: usize,
        seed: u64,
    ) -> Result<(ImageDataset, ImageDataset), DataError> {
        if self.is_empty() {
            return Err(DataError::EmptyTrainingSet);
        }
        if validation >= self.len() {
            return Err(DataError::ValidationTooLarge {
                requested: validation,
                available: self.len(),
            });
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        SplitMix64::new(seed).shuffle(&mut order);
        let (valid, train) = order.split_at_mut(validation);
        valid.sort_unstable();
        train.sort_unstable();
        Ok((self.select(train), self.select(valid)))
    }
}

impl Dataset<ImageItem> for ImageDataset {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        if index >= self.len() {
            return Err(DatasetError::new(DataError::IndexOutOfRange {
                index,
                len: self.len(),
            }));
        }
        let mut image = [0; IMAGE_PIXELS];
        image.copy_from_slice(self.image(index));
        Ok(ImageItem {
            image,
            label: self.labels[index],
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NUM_CLASSES;

    /// `n` images whose pixels all equal their index, labelled `index % 10`.
    pub(crate) fn numbered(n: usize) -> ImageDataset {
        let pixels = (0..n).flat_map(|i| [i as u8; IMAGE_PIXELS]).collect();
        let labels = (0..n).map(|i| (i % NUM_CLASSES) as u8).collect();
        ImageDataset::new(pixels, labels).unwrap()
    }

    #[test]
    fn get_returns_the_item_and_rejects_out_of_range() {
        let ds = numbered(5);
        let item = ds.get(3).unwrap();
        assert_eq!(item.label, 3);
        assert!(item.image.iter().all(|&p| p == 3));
        let err = ds.get(5).unwrap_err().to_string();
        assert!(
            err.contains("index 5 is out of range") && err.contains("5 images"),
            "{err}"
        );
    }

    #[test]
    fn new_rejects_disagreeing_counts_and_bad_labels() {
        assert!(matches!(
            ImageDataset::new(vec![0; 2 * IMAGE_PIXELS], vec![1]),
            Err(DataError::CountMismatch {
                images: 2,
                labels: 1,
                ..
            })
        ));
        assert!(matches!(
            ImageDataset::new(vec![0; IMAGE_PIXELS], vec![11]),
            Err(DataError::BadLabel { label: 11, .. })
        ));
    }

    #[test]
    fn validation_split_is_seeded_disjoint_and_complete() {
        let ds = numbered(100);
        let (train, valid) = ds.split_validation(20, 7).unwrap();
        assert_eq!((train.len(), valid.len()), (80, 20));
        let id = |d: &ImageDataset, i| d.image(i)[0];
        let mut all: Vec<u8> = (0..80).map(|i| id(&train, i)).collect();
        all.extend((0..20).map(|i| id(&valid, i)));
        all.sort_unstable();
        assert_eq!(all, (0..100).map(|i| i as u8).collect::<Vec<_>>());
        // Labels travel with their images.
        assert!((0..80).all(|i| train.label(i) == (id(&train, i) as usize % NUM_CLASSES) as u8));

        let (_, again) = ds.split_validation(20, 7).unwrap();
        assert_eq!(again, valid, "same seed, same split");
        let (_, other) = ds.split_validation(20, 8).unwrap();
        assert_ne!(other, valid, "another seed, another split");
    }

    #[test]
    fn validation_split_must_leave_training_images() {
        let err = numbered(0).split_validation(5, 1).unwrap_err().to_string();
        assert!(
            err.contains("training set is empty") && !err.contains("below 0"),
            "{err}"
        );
        let err = numbered(10).split_validation(10, 1).unwrap_err();
        assert!(err
            .to_string()
            .contains("cannot hold out 10 validation images from a training set of 10"));
    }

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|c| format!("class {c}")).collect()
    }

    #[test]
    fn keep_classes_relabels_in_the_order_given() {
        let ds = numbered(30);
        let kept = ds.keep_classes(&[7, 2]);
        assert_eq!(kept.len(), 6);
        // Image i shows digit i % 10: 2, 7, 12, 17, 22, 27 in order.
        let ids: Vec<u8> = (0..6).map(|i| kept.image(i)[0]).collect();
        assert_eq!(ids, vec![2, 7, 12, 17, 22, 27]);
        assert_eq!(kept.labels(), &[1, 0, 1, 0, 1, 0]);
    }

    #[test]
    fn per_class_takes_the_same_number_of_each_seeded() {
        let ds = numbered(200).keep_classes(&[0, 1, 2]);
        let few = ds.per_class(5, &names(3), 4).unwrap();
        assert_eq!(few.len(), 15);
        for class in 0..3 {
            assert_eq!(few.labels().iter().filter(|&&l| l == class).count(), 5);
        }
        assert_eq!(few, ds.per_class(5, &names(3), 4).unwrap(), "same seed");
        assert_ne!(few, ds.per_class(5, &names(3), 5).unwrap(), "another seed");
        // The original order is kept.
        let ids: Vec<u8> = (0..15).map(|i| few.image(i)[0]).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }

    #[test]
    fn per_class_refuses_zero_and_more_than_there_are() {
        let ds = numbered(40).keep_classes(&[0, 1]);
        let err = ds.per_class(5, &names(2), 1).unwrap_err().to_string();
        assert!(
            err.contains("class 0") && err.contains("4 training images") && err.contains("5"),
            "{err}"
        );
        let err = ds.per_class(0, &names(2), 1).unwrap_err().to_string();
        assert!(err.contains("per_class"), "{err}");
    }

    #[test]
    fn select_and_head_pick_images() {
        let ds = numbered(10);
        let picked = ds.select(&[7, 2]);
        assert_eq!((picked.image(0)[0], picked.label(1)), (7, 2));
        assert_eq!(ds.head(3).len(), 3);
        assert_eq!(ds.head(30).len(), 10);
    }
}
