//! A dataset as a folder of images, one folder per class:
//!
//! ```text
//! DIR/train/<class>/*.png|jpg      the training images (required)
//! DIR/test/<class>/*.png|jpg       the test images (required; a class may be missing here)
//! DIR/validation/<class>/*.png|jpg validation images (optional)
//! DIR/.digits-cache                the prepared images, written after the first load
//! ```
//!
//! The classes are the folder names under `train/`, in byte order (labels 0..k−1). Each
//! image is prepared as `infer` prepares an image file ([`crate::preprocess`]): any picture of a
//! digit on a plain background becomes MNIST's 28×28 form. Decoding and preparing is the slow
//! part, so the prepared images are kept in `.digits-cache`, keyed by every file's name, size
//! and modification time: a second load reads that one file, and any change to the folder
//! prepares them all again. Files and folders whose names start with `.` are ignored.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::preprocess::load_digit_bytes;
use crate::{DataError, ImageDataset, IMAGE_PIXELS};

/// The cache of prepared images, in the dataset's folder.
pub const CACHE_FILE: &str = ".digits-cache";
/// The parts of an image folder, in the order they are read and cached.
const SPLITS: [&str; 3] = ["train", "test", "validation"];
/// The first bytes of a cache file (its format's version is the last digit).
const MAGIC: &[u8; 8] = b"DIGITSC1";
/// The most classes a dataset may have: labels are bytes.
pub(crate) const MAX_CLASSES: usize = 256;

/// Whether `dir` is an image folder (it has a `train/` folder) rather than MNIST's files.
pub fn is_image_folder(dir: &Path) -> bool {
    dir.join("train").is_dir()
}

/// An image folder's parts, prepared, and its class names.
#[derive(Debug, Clone)]
pub struct ImageFolder {
    pub train: ImageDataset,
    pub test: ImageDataset,
    /// The `validation/` folder's images, if it has one.
    pub validation: Option<ImageDataset>,
    pub names: Vec<String>,
}

/// The files of one part of the folder: (class label, path), in order.
type Listing = Vec<(u8, PathBuf)>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The entries of `dir` whose names do not start with `.`, sorted by name.
fn visible_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            entries.push((name, entry.path()));
        }
    }
    entries.sort();
    Ok(entries)
}

/// The class folders of `part` (`train/`, `test/`, `validation/`), sorted by name: each one is
/// used or refused by its name, never skipped or merged with another. Hidden files (`.DS_Store`)
/// are skipped; a hidden folder, a name that is not UTF-8 (two such names would read alike)
/// or that breaks [`check_class_name`] is refused, naming it; a file is stray.
fn class_folders(part: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    let mut folders = Vec::new();
    for entry in fs::read_dir(part).map_err(io(part))? {
        let entry = entry.map_err(io(part))?;
        let path = entry.path();
        let is_dir = path.is_dir();
        let refuse = |why: String| DataError::FolderClassName {
            path: path.clone(),
            why,
        };
        let Ok(name) = entry.file_name().into_string() else {
            return Err(refuse("is not UTF-8 text".to_string()));
        };
        if name.starts_with('.') {
            if is_dir {
                return Err(refuse(format!(
                    "{name:?} starts with a dot, which hides a folder"
                )));
            }
            continue;
        }
        if !is_dir {
            return Err(DataError::FolderStrayFile { path });
        }
        crate::check_class_name(&name).map_err(refuse)?;
        folders.push((name, path));
    }
    folders.sort();
    Ok(folders)
}

/// The class names of the image folder `dir`: the folders under `train/`, in byte order.
pub fn folder_class_names(dir: &Path) -> Result<Vec<String>, DataError> {
    let train = dir.join("train");
    let mut names = Vec::new();
    for (name, _) in class_folders(&train)? {
        names.push(name);
    }
    if names.is_empty() {
        return Err(DataError::FolderNoClasses { dir: train });
    }
    if names.len() > MAX_CLASSES {
        return Err(DataError::FolderTooManyClasses {
            dir: train,
            classes: names.len(),
        });
    }
    Ok(names)
}

/// The image files of `part` (`train`, `test`, `validation`) of `dir`, labelled by `names`.
fn list(dir: &Path, part: &str, names: &[String]) -> Result<Listing, DataError> {
    let root = dir.join(part);
    let mut files = Vec::new();
    for (class, path) in class_folders(&root)? {
        let Some(label) = names.iter().position(|n| *n == class) else {
            return Err(DataError::FolderUnknownClass {
                class,
                dir: path,
                train: dir.join("train"),
            });
        };
        let images = visible_entries(&path)?;
        if images.is_empty() {
            return Err(DataError::FolderEmptyClass { dir: path });
        }
        for (_, file) in images {
            if !file.is_file() {
                return Err(DataError::FolderStrayFile { path: file });
            }
            // `names` has at most MAX_CLASSES entries, so a label fits a byte.
            files.push((label as u8, file));
        }
    }
    Ok(files)
}

/// What the cache is keyed by: every file's part, class, name (within `dir`, so that the same
/// folder reached by another path keeps its cache), size and modification time.
fn cache_key(dir: &Path, listings: &[(usize, &Listing)]) -> Result<[u8; 32], DataError> {
    let mut hash = Sha256::new();
    for (part, files) in listings {
        hash.update([*part as u8]);
        for (label, path) in *files {
            let meta = fs::metadata(path).map_err(io(path))?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            hash.update([*label]);
            let name = path.strip_prefix(dir).unwrap_or(path);
            hash.update(name.as_os_str().as_encoded_bytes());
            hash.update([0]);
            hash.update(meta.len().to_le_bytes());
            hash.update(mtime.to_le_bytes());
        }
    }
    Ok(hash.finalize().into())
}

/// The prepared images of a listing.
fn prepare(files: &Listing) -> Result<ImageDataset, DataError> {
    let mut pixels = Vec::with_capacity(files.len() * IMAGE_PIXELS);
    let mut labels = Vec::with_capacity(files.len());
    for (label, path) in files {
        pixels.extend_from_slice(&load_digit_bytes(path)?);
        labels.push(*label);
    }
    ImageDataset::with_classes(pixels, labels, MAX_CLASSES)
}

/// The cache's bytes: the magic, the key, then each part present as its count (u32, little
/// endian), its labels and its pixels.
fn encode_cache(key: &[u8; 32], parts: &[&ImageDataset]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(key);
    for part in parts {
        bytes.extend_from_slice(&(part.len() as u32).to_le_bytes());
        bytes.extend_from_slice(part.labels());
        for i in 0..part.len() {
            bytes.extend_from_slice(part.image(i));
        }
    }
    bytes
}

/// The parts in a cache file, if it is one for `key` with `count` parts (anything else, a
/// stale or damaged cache included, is `None`: the images are prepared again).
fn decode_cache(bytes: &[u8], key: &[u8; 32], count: usize) -> Option<Vec<ImageDataset>> {
    let rest = bytes.strip_prefix(MAGIC)?.strip_prefix(key.as_slice())?;
    let mut rest = rest;
    let mut parts = Vec::with_capacity(count);
    for _ in 0..count {
        let (n, tail) = rest.split_first_chunk::<4>()?;
        let n = u32::from_le_bytes(*n) as usize;
        let labels = tail.get(..n)?.to_vec();
        let pixels = tail.get(n..n + n * IMAGE_PIXELS)?.to_vec();
        rest = &tail[n + n * IMAGE_PIXELS..];
        parts.push(ImageDataset::with_classes(pixels, labels, MAX_CLASSES).ok()?);
    }
    rest.is_empty().then_some(parts)
}

/// The cache file's bytes, read only when it can be the cache of these files: a plain file of
/// the size their parts take (`counts` images each), whose header holds `key`. A stale cache,
/// however large, or anything else under its name, is not read.
fn read_cache(path: &Path, key: &[u8; 32], counts: &[usize]) -> Option<Vec<u8>> {
    let expected = (MAGIC.len() + key.len()) as u64
        + counts
            .iter()
            .map(|&n| 4 + n as u64 * (1 + IMAGE_PIXELS as u64))
            .sum::<u64>();
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() != expected {
        return None;
    }
    let mut file = fs::File::open(path).ok()?;
    let mut bytes = vec![0u8; MAGIC.len() + key.len()];
    file.read_exact(&mut bytes).ok()?;
    if !bytes.starts_with(MAGIC) || bytes[MAGIC.len()..] != key[..] {
        return None;
    }
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Writes the cache beside the images, atomically (a temporary file renamed into place). A
/// folder that cannot be written to only loses the cache: the next load prepares again.
fn write_cache(dir: &Path, bytes: &[u8]) {
    let tmp = dir.join(format!("{CACHE_FILE}.{}.tmp", std::process::id()));
    let written = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, dir.join(CACHE_FILE)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
}

impl ImageFolder {
    /// Reads the image folder `dir`, from its cache when the files have not changed.
    pub fn load(dir: &Path) -> Result<ImageFolder, DataError> {
        crate::source::check_dir(dir)?;
        let names = folder_class_names(dir)?;
        let test_dir = dir.join("test");
        if !test_dir.is_dir() {
            return Err(DataError::FolderNoTest { dir: test_dir });
        }
        let mut listings = Vec::new();
        for (part, name) in SPLITS.iter().enumerate() {
            if dir.join(name).is_dir() {
                listings.push((part, list(dir, name, &names)?));
            }
        }
        let refs: Vec<(usize, &Listing)> = listings.iter().map(|(p, l)| (*p, l)).collect();
        let key = cache_key(dir, &refs)?;
        let cache = dir.join(CACHE_FILE);
        let counts: Vec<usize> = listings.iter().map(|(_, l)| l.len()).collect();
        let cached = read_cache(&cache, &key, &counts)
            .and_then(|bytes| decode_cache(&bytes, &key, listings.len()));
        let parts = match cached {
            Some(parts) => parts,
            None => {
                let parts = listings
                    .iter()
                    .map(|(_, files)| prepare(files))
                    .collect::<Result<Vec<_>, _>>()?;
                write_cache(dir, &encode_cache(&key, &parts.iter().collect::<Vec<_>>()));
                parts
            }
        };
        let mut by_part: [Option<ImageDataset>; 3] = Default::default();
        for ((part, _), data) in listings.iter().zip(parts) {
            by_part[*part] = Some(data);
        }
        // `train/` and `test/` were checked to exist, so both were listed.
        let [train, test, validation] = by_part;
        Ok(ImageFolder {
            train: train.unwrap_or_default(),
            test: test.unwrap_or_default(),
            validation,
            names,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of two classes ("one": 4 training, 2 test images; "seven": 3 and 2).
    fn folder() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        ::testkit::image_folder(tmp.path(), &[("one", 1), ("seven", 7)], 4, 2);
        // "seven" has a training image fewer.
        fs::remove_file(tmp.path().join("train/seven/3.png")).unwrap();
        tmp
    }

    fn err(dir: &Path) -> String {
        ImageFolder::load(dir).unwrap_err().to_string()
    }

    #[test]
    fn a_folder_loads_prepared_like_infer_and_named_by_its_folders() {
        let tmp = folder();
        let f = ImageFolder::load(tmp.path()).unwrap();
        assert_eq!(f.names, vec!["one", "seven"]);
        assert_eq!(f.train.labels(), &[0, 0, 0, 0, 1, 1, 1]);
        assert_eq!(f.test.labels(), &[0, 0, 1, 1]);
        assert!(f.validation.is_none());
        // Each image is what infer reads from the same file.
        let path = tmp.path().join("train/seven/0.png");
        let read = crate::preprocess::load_digit(&path).unwrap();
        let stored: Vec<f32> = f
            .train
            .image(4)
            .iter()
            .map(|&p| crate::scale_pixel(p))
            .collect();
        assert_eq!(stored, read.to_vec());
    }

    #[test]
    fn a_second_load_reads_the_cache_and_a_change_prepares_again() {
        let tmp = folder();
        let first = ImageFolder::load(tmp.path()).unwrap();
        assert!(tmp.path().join(CACHE_FILE).is_file());
        // Garbage of the same size and time in place of an image: only the cache can load it.
        let path = tmp.path().join("train/one/0.png");
        let meta = fs::metadata(&path).unwrap();
        fs::write(&path, vec![0u8; meta.len() as usize]).unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(meta.modified().unwrap()).unwrap();
        drop(file);
        let second = ImageFolder::load(tmp.path()).unwrap();
        assert_eq!(second.train, first.train, "read from the cache");
        // A file added changes the key: everything is prepared again, and the garbage is found.
        fs::copy(
            tmp.path().join("train/one/1.png"),
            tmp.path().join("train/one/9.png"),
        )
        .unwrap();
        let e = err(tmp.path());
        assert!(e.contains("train/one/0.png"), "{e}");
        // No temporary file is left beside the cache.
        let names: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn every_class_folder_is_used_or_refused_by_name() {
        use std::os::unix::ffi::OsStrExt;
        let cases: Vec<(std::ffi::OsString, &str)> = vec![
            // Two names that differ only in bytes that are not UTF-8 once read as one class.
            (
                std::ffi::OsStr::from_bytes(b"cat\xff").to_os_string(),
                "is not UTF-8",
            ),
            ("..dots".into(), "starts with a dot"),
            (".hidden".into(), "starts with a dot"),
            ("two\nlines".into(), "control character"),
            ("tab\there".into(), "control character"),
            ("   ".into(), "empty or only spaces"),
        ];
        for (name, says) in cases {
            let tmp = folder();
            let bad = tmp.path().join("train").join(&name);
            fs::create_dir_all(&bad).unwrap();
            fs::copy(tmp.path().join("train/one/0.png"), bad.join("0.png")).unwrap();
            let e = err(tmp.path());
            assert!(
                e.contains(says) && e.contains("cannot be a class folder"),
                "{name:?}: {e}"
            );
            // The same rule in test/.
            fs::remove_dir_all(&bad).unwrap();
            let bad = tmp.path().join("test").join(&name);
            fs::create_dir_all(&bad).unwrap();
            fs::copy(tmp.path().join("train/one/0.png"), bad.join("0.png")).unwrap();
            let e = err(tmp.path());
            assert!(e.contains(says), "test/{name:?}: {e}");
        }
        // A hidden file is skipped, as the loader's own temporary files are.
        let tmp = folder();
        fs::write(tmp.path().join("train/.DS_Store"), b"x").unwrap();
        assert_eq!(
            ImageFolder::load(tmp.path()).unwrap().names,
            ["one", "seven"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_cache_is_not_read() {
        // A cache of another size, or not a file at all (a FIFO, which reading would wait on
        // forever), is passed over by its size and kind, unread.
        let tmp = folder();
        let cache = tmp.path().join(CACHE_FILE);
        let made = std::process::Command::new("mkfifo").arg(&cache).status();
        if !made.is_ok_and(|s| s.success()) {
            return;
        }
        let dir = tmp.path().to_path_buf();
        let (sent, got) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sent.send(ImageFolder::load(&dir).map(|f| f.names));
        });
        let names = got
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the load waited on the cache")
            .unwrap();
        assert_eq!(names, ["one", "seven"]);
        assert!(
            fs::symlink_metadata(&cache).unwrap().is_file(),
            "a real cache replaced it"
        );
        // A sparse 4 GB file under the cache's name: not the size these files take, unread.
        let big = fs::File::create(&cache).unwrap();
        big.set_len(4 << 30).unwrap();
        drop(big);
        assert_eq!(
            ImageFolder::load(tmp.path()).unwrap().names,
            ["one", "seven"]
        );
        assert!(fs::metadata(&cache).unwrap().len() < 1 << 20, "rewritten");
    }

    #[test]
    fn a_validation_folder_is_read() {
        let tmp = folder();
        let v = tmp.path().join("validation/seven");
        fs::create_dir_all(&v).unwrap();
        fs::copy(tmp.path().join("test/seven/0.png"), v.join("a.png")).unwrap();
        let f = ImageFolder::load(tmp.path()).unwrap();
        assert_eq!(f.validation.unwrap().labels(), &[1]);
    }

    #[test]
    fn every_bad_folder_is_named() {
        let tmp = folder();
        let root = tmp.path();
        // A class in test/ that train/ lacks.
        fs::create_dir_all(root.join("test/nine")).unwrap();
        fs::copy(root.join("test/one/0.png"), root.join("test/nine/0.png")).unwrap();
        let e = err(root);
        assert!(e.contains("test/nine") && e.contains("`nine`"), "{e}");
        fs::remove_dir_all(root.join("test/nine")).unwrap();
        // An empty class.
        fs::create_dir_all(root.join("train/two")).unwrap();
        let e = err(root);
        assert!(e.contains("train/two") && e.contains("empty"), "{e}");
        fs::remove_dir_all(root.join("train/two")).unwrap();
        // A file that is not an image.
        fs::write(root.join("train/one/notes.txt"), "not a picture").unwrap();
        let e = err(root);
        assert!(e.contains("train/one/notes.txt"), "{e}");
        fs::remove_file(root.join("train/one/notes.txt")).unwrap();
        // A picture that is not a digit (blank).
        image::GrayImage::from_pixel(40, 40, image::Luma([255]))
            .save(root.join("train/one/blank.png"))
            .unwrap();
        let e = err(root);
        assert!(
            e.contains("train/one/blank.png") && e.contains("blank"),
            "{e}"
        );
        fs::remove_file(root.join("train/one/blank.png")).unwrap();
        // A file outside the class folders.
        fs::write(root.join("train/stray.png"), "").unwrap();
        let e = err(root);
        assert!(
            e.contains("train/stray.png") && e.contains("class folders"),
            "{e}"
        );
        fs::remove_file(root.join("train/stray.png")).unwrap();
        // No test/.
        fs::rename(root.join("test"), root.join("tests")).unwrap();
        let e = err(root);
        assert!(e.contains("test") && e.contains("missing"), "{e}");
        fs::rename(root.join("tests"), root.join("test")).unwrap();
        assert!(ImageFolder::load(root).is_ok(), "whole again");
        // No class at all.
        let empty = tempfile::tempdir().unwrap();
        fs::create_dir(empty.path().join("train")).unwrap();
        let e = err(empty.path());
        assert!(e.contains("no class folders"), "{e}");
    }
}
