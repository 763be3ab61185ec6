//! The data a config names: MNIST's four files or an image folder ([`crate::ImageFolder`]),
//! optionally narrowed to some of its classes, with the names of the classes that remain.

use std::path::Path;

use crate::source::Split;
use crate::{is_image_folder, DataError, ImageDataset, ImageFolder, Mnist, NUM_CLASSES};

/// A labelled dataset ready to train on: the training and test images, labelled 0..k−1, and
/// the name of each of the k classes (`"7"` for a digit).
#[derive(Debug, Clone)]
pub struct Labelled {
    pub train: ImageDataset,
    pub test: ImageDataset,
    /// Validation images of their own (an image folder's `validation/`), if the data has any.
    pub validation: Option<ImageDataset>,
    /// `names[label]`: what the class of that label is called.
    pub names: Vec<String>,
}

/// The names of MNIST's classes: the digits `"0"` to `"9"`.
pub fn digit_names() -> Vec<String> {
    (0..NUM_CLASSES).map(|d| d.to_string()).collect()
}

/// Checks a class list on its own: not empty, no class twice (what a config can check before
/// the data is read).
pub fn check_class_list(classes: &[u8]) -> Result<(), DataError> {
    if classes.is_empty() {
        return Err(DataError::NoClasses);
    }
    for (i, &c) in classes.iter().enumerate() {
        if classes[..i].contains(&c) {
            return Err(DataError::ClassTwice { class: c });
        }
    }
    Ok(())
}

/// The rule every class name follows, a config's `class_names` and an image folder's class
/// folders alike: printable text, not empty or only spaces, no control character (a newline
/// would break `infer`'s table). `Err` says what is wrong, to follow "its name".
pub fn check_class_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("is empty or only spaces".to_string());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!("{name:?} holds the control character {c:?}"));
    }
    Ok(())
}

/// Checks a class list against the data's classes (named by `names`): not empty, no class
/// twice, every class one of the data's.
pub fn check_classes(classes: &[u8], names: &[String]) -> Result<(), DataError> {
    check_class_list(classes)?;
    match classes.iter().find(|&&c| usize::from(c) >= names.len()) {
        Some(&class) => Err(DataError::ClassOutOfRange {
            class,
            available: names.len(),
        }),
        None => Ok(()),
    }
}

/// The names of the classes of the data in `dir`, in label order: an image folder's class
/// folders, else the ten digits. Reads no image.
pub fn class_names(dir: &Path) -> Result<Vec<String>, DataError> {
    if is_image_folder(dir) {
        crate::folder_class_names(dir)
    } else {
        Ok(digit_names())
    }
}

impl Labelled {
    /// Reads the data in `dir` (an image folder, else the four MNIST files), keeping only
    /// `classes` if given (relabelled 0..k−1 in the order given, their names kept).
    pub fn load(dir: &Path, classes: Option<&[u8]>) -> Result<Labelled, DataError> {
        let data = if is_image_folder(dir) {
            let folder = ImageFolder::load(dir)?;
            Labelled {
                train: folder.train,
                test: folder.test,
                validation: folder.validation,
                names: folder.names,
            }
        } else {
            let mnist = Mnist::load(dir)?;
            Labelled {
                train: mnist.train,
                test: mnist.test,
                validation: None,
                names: digit_names(),
            }
        };
        data.keep_classes(classes)
    }

    /// The test images of the data in `dir` and their class names, as [`Labelled::load`]
    /// gives them (for MNIST, without reading the training files).
    pub fn load_test(
        dir: &Path,
        classes: Option<&[u8]>,
    ) -> Result<(ImageDataset, Vec<String>), DataError> {
        let data = if is_image_folder(dir) {
            Labelled::load(dir, None)?
        } else {
            let test = ImageDataset::load(dir, Split::Test)?;
            Labelled {
                train: test.head(0),
                test,
                validation: None,
                names: digit_names(),
            }
        };
        let data = data.keep_classes(classes)?;
        Ok((data.test, data.names))
    }

    /// Only `classes` (all when `None`), relabelled 0..k−1 in the order given.
    pub fn keep_classes(self, classes: Option<&[u8]>) -> Result<Labelled, DataError> {
        let Some(classes) = classes else {
            return Ok(self);
        };
        check_classes(classes, &self.names)?;
        Ok(Labelled {
            train: self.train.keep_classes(classes),
            test: self.test.keep_classes(classes),
            validation: self.validation.map(|v| v.keep_classes(classes)),
            names: classes
                .iter()
                .map(|&c| self.names[usize::from(c)].clone())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_lists_are_checked() {
        let names = digit_names();
        assert!(check_classes(&[5, 6, 7], &names).is_ok());
        let e = check_classes(&[], &names).unwrap_err().to_string();
        assert!(e.contains("`classes`") && e.contains("empty"), "{e}");
        let e = check_classes(&[3, 10], &names).unwrap_err().to_string();
        assert!(e.contains("10") && e.contains("0 to 9"), "{e}");
        let e = check_classes(&[3, 4, 3], &names).unwrap_err().to_string();
        assert!(e.contains("3") && e.contains("twice"), "{e}");
    }

    #[test]
    fn keeping_classes_keeps_their_names() {
        let pixels = vec![0u8; 20 * crate::IMAGE_PIXELS];
        let labels: Vec<u8> = (0..20).map(|i| i % 10).collect();
        let ds = ImageDataset::new(pixels, labels).unwrap();
        let all = Labelled {
            train: ds.clone(),
            test: ds,
            validation: None,
            names: digit_names(),
        };
        let kept = all.keep_classes(Some(&[9, 2])).unwrap();
        assert_eq!(kept.names, vec!["9", "2"]);
        assert_eq!(kept.train.labels(), &[1, 0, 1, 0]);
        assert_eq!(kept.test.len(), 4);
    }
}
