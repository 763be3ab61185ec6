//! The images a run trains, validates and tests on, as its config chooses them.

use data::{ImageDataset, Labelled};

use crate::{TrainConfig, TrainError};

/// The images a run uses: training, validation (held out of training) and test.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: ImageDataset,
    pub validation: ImageDataset,
    pub test: ImageDataset,
}

/// The config's training, validation and test images, and the names of their classes.
///
/// The validation images are the data's own (an image folder's `validation/`), else held
/// out of the training images (`validation` of them); a few-shot run (`per_class`) then
/// chooses its training images from those that remain. Validation and test sets keep every
/// image of the run's classes.
pub fn load_splits(config: &TrainConfig) -> Result<(Splits, Vec<String>), TrainError> {
    let data = Labelled::load(&config.data_dir, config.classes.as_deref())?;
    // The data's names, or those the config gives classes that MNIST's files only number.
    let names = config.class_names.clone().unwrap_or(data.names);
    let (train, validation) = match data.validation {
        Some(validation) => (data.train, validation),
        None if config.validation == 0 => (data.train.clone(), data.train.head(0)),
        None => data
            .train
            .split_validation(config.validation, config.seed)?,
    };
    let train = match config.per_class {
        Some(n) => train.per_class(n, &names, config.seed)?,
        None => train,
    };
    if data.test.is_empty() {
        return Err(TrainError::EmptyDataset("test set"));
    }
    Ok((
        Splits {
            train,
            validation,
            test: data.test,
        },
        names,
    ))
}
