//! What can go wrong when reading MNIST, each case with the file it concerns and a fix.

use std::path::PathBuf;

/// An error reading or validating the MNIST files.
///
/// Every variant names the file (or directory) concerned, and its message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "MNIST data directory {dir} does not exist. It should hold the four files \
         train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and \
         t10k-labels-idx1-ubyte (each may be gzipped, ending in .gz). The project ships them in \
         data/mnist: point `data_dir` at that folder, or download them from \
         https://storage.googleapis.com/cvdf-datasets/mnist/ into {dir}"
    )]
    DirNotFound { dir: PathBuf },

    #[error(
        "Fashion-MNIST directory {dir} does not exist. Debian ships the dataset: `apt install \
         dataset-fashion-mnist` puts its four files in /usr/share/datasets/fashion-mnist (or \
         download them from https://github.com/zalandoresearch/fashion-mnist into {dir})"
    )]
    FashionNotFound { dir: PathBuf },

    #[error(
        "MNIST file {name} (or {name}.gz) is missing from {dir}. Restore it from a fresh clone \
         (data/mnist) or download it from https://storage.googleapis.com/cvdf-datasets/mnist/{name}.gz"
    )]
    FileMissing { dir: PathBuf, name: String },

    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is not a valid gzip file (it is damaged: replace it with a fresh copy)")]
    Gzip {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{path} is too short to be an IDX file: {len} bytes, but the header alone takes \
         {header_len}; the file is truncated: replace it with a fresh copy"
    )]
    HeaderTooShort {
        path: PathBuf,
        len: usize,
        header_len: usize,
    },

    #[error(
        "{path} has magic number {found}, expected {expected} ({what}); \
         it is not an MNIST {what} file, or it is damaged"
    )]
    BadMagic {
        path: PathBuf,
        expected: u32,
        found: u32,
        what: &'static str,
    },

    #[error("{path} holds {rows}x{cols} images; MNIST images are 28x28")]
    BadImageSize { path: PathBuf, rows: u32, cols: u32 },

    #[error(
        "{path}: its header announces {count} items, which take {expected} bytes, but the file \
         holds {actual} bytes ({problem}); replace it with a fresh copy"
    )]
    LengthMismatch {
        path: PathBuf,
        count: u32,
        expected: usize,
        actual: usize,
        problem: &'static str,
    },

    #[error(
        "{images_path} holds {images} images but {labels_path} holds {labels} labels; \
         the two files must come from the same set"
    )]
    CountMismatch {
        images_path: PathBuf,
        images: usize,
        labels_path: PathBuf,
        labels: usize,
    },

    #[error("{path}: label {index} is {label}; labels must be digits 0-9 (the file is damaged)")]
    BadLabel {
        path: PathBuf,
        index: usize,
        label: u8,
    },

    #[error(
        "{path} does not match its checksum in {sums}: expected sha256 {expected}, found {actual}. \
         The file is damaged or is not the original MNIST file: replace it with a fresh copy \
         (it was not used)"
    )]
    ChecksumMismatch {
        path: PathBuf,
        sums: PathBuf,
        expected: String,
        actual: String,
    },

    #[error(
        "{path} is not listed in {sums}, so it cannot be verified. Add its sha256 to that file, \
         or remove the checksum file to validate the data by structure alone"
    )]
    NotInChecksums { path: PathBuf, sums: PathBuf },

    #[error("{path}, line {line}: expected `<sha256 hex>  <file name>`, found {text:?}")]
    BadChecksumLine {
        path: PathBuf,
        line: usize,
        text: String,
    },

    #[error(
        "cannot hold out {requested} validation images from a training set of {available}: \
         choose a validation size below {available}"
    )]
    ValidationTooLarge { requested: usize, available: usize },

    #[error("the training set is empty: there are no images to train on or hold out")]
    EmptyTrainingSet,

    #[error(
        "{path} holds (or its header declares) {bytes} bytes, over the {limit}-byte limit for a \
         data file: it is not an MNIST-style file; replace it"
    )]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },

    #[error(
        "class {class} has only {available} training images, fewer than `per_class` = \
         {requested}: lower `per_class`, or leave it out to train on every image"
    )]
    TooFewPerClass {
        class: String,
        available: usize,
        requested: usize,
    },

    #[error("`classes` is empty: list the classes to keep, e.g. [5, 6, 7, 8, 9], or leave it out for all")]
    NoClasses,

    #[error(
        "`classes` lists class {class}, but the data's classes are 0 to {}: remove it",
        .available - 1
    )]
    ClassOutOfRange { class: u8, available: usize },

    #[error("`classes` lists class {class} twice: list each class once")]
    ClassTwice { class: u8 },

    #[error(
        "`per_class` is 0: a class needs at least one training image; leave the key out for all"
    )]
    PerClassZero,

    #[error(transparent)]
    Picture(#[from] crate::preprocess::ImageFileError),

    #[error(
        "{dir} holds no class folders: an image folder has one folder per class under train/ \
         (train/cat/*.png, train/dog/*.png, ...)"
    )]
    FolderNoClasses { dir: PathBuf },

    #[error("{dir} holds {classes} class folders; at most 256 classes are supported")]
    FolderTooManyClasses { dir: PathBuf, classes: usize },

    #[error(
        "{path} is not where it belongs: an image folder holds class folders under train/, \
         test/ and validation/, and image files inside them; move or remove it"
    )]
    FolderStrayFile { path: PathBuf },

    #[error("class folder {dir} is empty: add its images, or remove the folder")]
    FolderEmptyClass { dir: PathBuf },

    #[error(
        "{path} cannot be a class folder: its name {why}; rename it (a class's name is \
         printable text, as a config's `class_names` are), or move it out of the image folder"
    )]
    FolderClassName { path: PathBuf, why: String },

    #[error(
        "{dir} is class `{class}`, which {train} does not have: a network can only be tested \
         on classes it was trained on; add train/{class}/ or remove {dir}"
    )]
    FolderUnknownClass {
        class: String,
        dir: PathBuf,
        train: PathBuf,
    },

    #[error(
        "{dir} is missing: an image folder needs test images too, one folder per class \
         (test/<class>/*.png)"
    )]
    FolderNoTest { dir: PathBuf },

    #[error("image index {index} is out of range: the dataset has {len} images (0..{len})")]
    IndexOutOfRange { index: usize, len: usize },
}
