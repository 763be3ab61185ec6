//! `train --augmentation-picture`: what the config's `[augment]` distortions do to an image.

use std::path::{Path, PathBuf};

use data::IMAGE_PIXELS;

use crate::splits::load_splits;
use crate::{TrainConfig, TrainError};

/// Distorted copies per digit in `--augmentation-picture`.
const PICTURE_COPIES: usize = 8;

/// `--augmentation-picture FILE`: draws the config's distortions of the first training image of
/// each class (each digit), as epochs 1 to 8 would, into FILE (written aside, then moved into
/// place).
/// `path` is the config's file, named in errors.
pub(crate) fn augmentation_picture(
    config: &TrainConfig,
    path: &Path,
    file: &Path,
) -> Result<PathBuf, TrainError> {
    let path = path.to_path_buf();
    let augment = config.augment.ok_or_else(|| TrainError::ConfigValue {
        path: path.clone(),
        key: "augment".to_string(),
        message: "is absent, so there are no distortions to draw; add an [augment] table \
                  (configs/best.toml has one)"
            .to_string(),
    })?;
    let (splits, names) = load_splits(config)?;
    let train = &splits.train;
    let distorter = data::augment::Distorter::new(augment.distortion(), config.seed);
    let mut scratch = data::augment::Scratch::default();
    let mut rows = Vec::new();
    // The first training image of each class (each digit, for MNIST).
    for class in 0..names.len().min(usize::from(u8::MAX)) as u8 {
        let Some(index) = (0..train.len()).find(|&i| train.label(i) == class) else {
            continue;
        };
        let image = train.image(index);
        let mut row = vec![image
            .iter()
            .map(|&p| data::scale_pixel(p))
            .collect::<Vec<f32>>()];
        for epoch in 1..=PICTURE_COPIES {
            let mut out = vec![0f32; IMAGE_PIXELS];
            distorter.distort(image, epoch, index, &mut out, &mut scratch);
            row.push(out);
        }
        rows.push(row);
    }
    let png = pictures::augmentation_png(&rows).map_err(|source| TrainError::DrawPicture {
        path: file.to_path_buf(),
        source,
    })?;
    run::write_file(file, &png).map_err(|source| TrainError::WritePicture {
        path: file.to_path_buf(),
        source,
    })?;
    Ok(file.to_path_buf())
}
