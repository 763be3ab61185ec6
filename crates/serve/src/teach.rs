//! Teach mode: digits drawn on the page and labelled by the person who drew them, saved into
//! an image folder (`data/mine` by default) that `train` reads like any other
//! (`configs/mine.toml` fine-tunes `artifacts/mlp` on it).
//!
//! ```text
//! DIR/train/<digit>/NNNN.png      the prepared 28×28 picture (what the network was shown)
//! DIR/test/<digit>/NNNN.png       every fifth drawing of a digit goes here instead
//! DIR/originals/<digit>/NNNN.png  the picture as it was sent (.png or .jpg), which the
//!                                 folder loader does not read
//! ```
//!
//! The server writes only under `DIR`, and chooses every name itself: the digit is parsed into
//! 0..9 before it names a folder, and a file is `NNNN` (the class's next free number). A file
//! is written whole under a hidden temporary name (the loader skips names starting with `.`)
//! and then linked to its name, which fails rather than replace a file that exists: two
//! requests at once, or two servers on the same folder, never overwrite each other's drawings.
//! Each save and removal holds `DIR/.teach.lock` (an exclusive file lock), so that the counts,
//! the numbering and the caps ([`MAX_PER_DIGIT`] drawings of a digit, [`MAX_FOLDER_BYTES`] in
//! all) stay true across servers sharing the folder. An original is kept as what is needed
//! to see it, re-encoded in grey and at most [`ORIGINAL_SIDE`] pixels a side: whatever else an
//! upload carried (a megabyte of text in a PNG chunk) is not kept.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::http::StatusCode;
use data::IMAGE_SIDE;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// The teach folder when `--teach-dir` is not given (relative to the current directory, as
/// `--model` and `--artifacts` are).
pub const DEFAULT_DIR: &str = "data/mine";
/// Every `TEST_EVERY`-th drawing of a digit goes to `test/`, the others to `train/`: the
/// folder loader needs a `test/` part, and your own test pictures measure how well a run reads
/// you.
pub const TEST_EVERY: usize = 5;
/// The most drawings of one digit the folder takes (a bound on what a page left open, or a
/// client in a loop, can write).
pub const MAX_PER_DIGIT: usize = 1000;
/// Where the pictures as sent are kept.
pub const ORIGINALS: &str = "originals";
/// The most bytes the folder holds, drawings and originals together (a bound on the disk a
/// page left open, or a client in a loop, can fill).
pub const MAX_FOLDER_BYTES: u64 = 256 << 20;
/// An original is kept at most this many pixels a side (scaled down, in grey): enough to see
/// what was sent, and a bound on its size whatever the upload carried.
pub const ORIGINAL_SIDE: u32 = 1024;
/// The lock file that makes one process at a time write to the folder (hidden, so the folder
/// loader skips it).
pub const LOCK_FILE: &str = ".teach.lock";

/// Drawings of one digit in the folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigitCount {
    pub digit: u8,
    /// In `train/<digit>/`.
    pub train: usize,
    /// In `test/<digit>/`.
    pub test: usize,
    /// Both: the drawings of this digit so far.
    pub drawn: usize,
}

/// What the folder holds: `GET /api/teach`, and part of every `POST /api/teach` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    /// The folder, as `--teach-dir` gave it.
    pub folder: String,
    /// Digits 0 to 9.
    pub counts: Vec<DigitCount>,
    /// Every digit has a training picture and there is a test picture: `train` can fine-tune
    /// `artifacts/mlp` on the folder (`configs/mine.toml`).
    pub ready: bool,
    /// What the folder still needs before it is ready, or the command to run.
    pub next: String,
    /// How drawings are split: every `test_every`-th of a digit goes to `test/`.
    pub test_every: usize,
}

/// `POST /api/teach`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taught {
    /// The digit it was taught as.
    pub digit: u8,
    /// `train` or `test`.
    pub split: String,
    /// The prepared picture, relative to the folder: `train/7/0003.png`.
    pub file: String,
    /// The picture as sent, relative to the folder: `originals/7/0003.png`.
    pub original: String,
    #[serde(flatten)]
    pub folder: Folder,
}

/// `DELETE /api/teach`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgotten {
    /// The drawing removed, relative to the folder: `train/7/0003.png`.
    pub file: String,
    /// Its originals removed, relative to the folder: `originals/7/0003.png`.
    pub originals: Vec<String>,
    #[serde(flatten)]
    pub folder: Folder,
}

/// The teach folder, shared by the requests that write to it.
#[derive(Debug)]
pub struct TeachDir {
    dir: PathBuf,
    /// Writes of this process one at a time, so that counts and the train/test split follow
    /// the order of the drawings; [`LOCK_FILE`] does the same across processes.
    lock: Mutex<()>,
    /// The most bytes the folder holds ([`MAX_FOLDER_BYTES`] unless set).
    max_bytes: u64,
}

/// A digit as a request gives it: exactly one of `0`..`9`, else a 422 saying so.
pub fn parse_digit(label: Option<&str>) -> Result<u8, ApiError> {
    let Some(label) = label else {
        return Err(ApiError::unreadable(
            "say which digit the picture is: POST /api/teach?label=D, with D from 0 to 9",
        ));
    };
    match label.as_bytes() {
        [d @ b'0'..=b'9'] => Ok(d - b'0'),
        _ => Err(ApiError::unreadable(format!(
            "the label must be one digit from 0 to 9, not {:?}",
            label.chars().take(40).collect::<String>()
        ))),
    }
}

/// A unique part of a temporary file's name within this process.
fn temp_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        ".teach-{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Visible files in `dir` (none when it does not exist).
fn files_in(dir: &Path) -> std::io::Result<Vec<String>> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') && entry.file_type()?.is_file() {
                    names.push(name);
                }
            }
            Ok(names)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The stem of a file name: `0003` of `0003.png`.
fn stem(name: &str) -> &str {
    name.split_once('.').map_or(name, |(s, _)| s)
}

/// Writes `bytes` as `dir/NAME` for the first `NAME` of `names` that is free (none of the
/// `taken` stems, and no file of that name), never replacing a file: written under a
/// temporary name, synced, then hard-linked to its name (which fails if the name exists) and
/// the temporary name removed. Returns the name used.
fn write_new(
    dir: &Path,
    bytes: &[u8],
    names: impl Iterator<Item = String>,
    taken: &[String],
) -> std::io::Result<String> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(temp_name());
    let written = fs::File::create_new(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let result = (|| {
        for name in names {
            if taken.iter().any(|t| stem(t) == stem(&name)) {
                continue;
            }
            let path = dir.join(&name);
            match fs::hard_link(&tmp, &path) {
                Ok(()) => return Ok(name),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                // A file system without hard links: claim the name with an empty file, then
                // move the written file onto it (the name is ours, so nothing is replaced).
                Err(_) => match fs::File::create_new(&path) {
                    Ok(_) => {
                        if let Err(e) = fs::rename(&tmp, &path) {
                            let _ = fs::remove_file(&path);
                            return Err(e);
                        }
                        return Ok(name);
                    }
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                },
            }
        }
        Err(std::io::Error::other("no free file name"))
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// `digits` as a list a person reads: `3, 5 and 8`.
fn list(digits: &[u8]) -> String {
    let words: Vec<String> = digits.iter().map(u8::to_string).collect();
    match words.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl TeachDir {
    pub fn new(dir: impl Into<PathBuf>) -> TeachDir {
        TeachDir {
            dir: dir.into(),
            lock: Mutex::new(()),
            max_bytes: MAX_FOLDER_BYTES,
        }
    }

    /// The folder holding at most `bytes` bytes instead of [`MAX_FOLDER_BYTES`].
    pub fn with_max_bytes(self, bytes: u64) -> TeachDir {
        TeachDir {
            max_bytes: bytes,
            ..self
        }
    }

    /// Holds the folder for one write: this process's lock, then the folder's lock file
    /// (created with the folder). Both are released when the guard is dropped.
    fn hold(&self) -> Result<(std::sync::MutexGuard<'_, ()>, fs::File), ApiError> {
        let order = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        fs::create_dir_all(&self.dir).map_err(|e| self.failed("create", &self.dir, &e))?;
        let path = self.dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.failed("lock", &path, &e))?;
        // Another server holds the folder for a moment per drawing; one that holds it longer
        // (hung, or a lock of someone else's) gets a 503, not a worker held forever.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok((order, file)),
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(ApiError::busy(
                        format!(
                            "the teach folder {} is held by another process (its {LOCK_FILE}); \
                             try again in a moment",
                            self.dir.display()
                        ),
                        2,
                    ))
                }
                Err(fs::TryLockError::Error(e)) => return Err(self.failed("lock", &path, &e)),
            }
        }
    }

    /// The bytes of every file teach mode keeps (under `train/`, `test/` and `originals/`).
    fn bytes(&self) -> Result<u64, ApiError> {
        let mut total = 0;
        let mut dirs: Vec<PathBuf> = ["train", "test", ORIGINALS]
            .iter()
            .map(|part| self.dir.join(part))
            .collect();
        while let Some(dir) = dirs.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(self.failed("read", &dir, &e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.failed("read", &dir, &e))?;
                let kind = entry
                    .file_type()
                    .map_err(|e| self.failed("read", &dir, &e))?;
                if kind.is_dir() {
                    dirs.push(entry.path());
                } else if kind.is_file() {
                    total += entry.metadata().map_or(0, |m| m.len());
                }
            }
        }
        Ok(total)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The error for a folder that cannot be read or written: a 500 naming it.
    fn failed(&self, doing: &str, path: &Path, e: &std::io::Error) -> ApiError {
        const FIX: &str = "start serve with --teach-dir naming a folder it can write, or \
                           --no-teach";
        if self.dir.exists() && !self.dir.is_dir() {
            return ApiError::internal(format!(
                "the teach folder {} is a file, not a folder: {FIX}",
                self.dir.display()
            ));
        }
        ApiError::internal(format!(
            "cannot {doing} the teach folder {}: {}: {e}; {FIX}",
            self.dir.display(),
            path.display()
        ))
    }

    /// What the folder holds now.
    pub fn folder(&self) -> Result<Folder, ApiError> {
        if self.dir.exists() && !self.dir.is_dir() {
            let e = std::io::Error::from(ErrorKind::NotADirectory);
            return Err(self.failed("read", &self.dir, &e));
        }
        let mut counts = Vec::with_capacity(10);
        for digit in 0..10u8 {
            let mut count = DigitCount {
                digit,
                ..DigitCount::default()
            };
            for (split, n) in [("train", &mut count.train), ("test", &mut count.test)] {
                let dir = self.dir.join(split).join(digit.to_string());
                *n = files_in(&dir)
                    .map_err(|e| self.failed("read", &dir, &e))?
                    .len();
            }
            count.drawn = count.train + count.test;
            counts.push(count);
        }
        let missing: Vec<u8> = counts
            .iter()
            .filter(|c| c.train == 0)
            .map(|c| c.digit)
            .collect();
        let tests: usize = counts.iter().map(|c| c.test).sum();
        let ready = missing.is_empty() && tests > 0;
        let next = if ready {
            "ready: cargo run -p train -- --config configs/mine.toml fine-tunes artifacts/mlp \
             on these drawings (writes artifacts/mine)"
                .to_string()
        } else if !missing.is_empty() {
            format!(
                "draw each digit at least once before fine-tuning; still missing: {}",
                list(&missing)
            )
        } else {
            format!(
                "draw one digit {TEST_EVERY} times: every {TEST_EVERY}th drawing of a digit \
                 is kept for testing, and fine-tuning needs a test picture"
            )
        };
        Ok(Folder {
            folder: self.dir.display().to_string(),
            counts,
            ready,
            next,
            test_every: TEST_EVERY,
        })
    }

    /// Saves a drawing of `digit`: `prepared` (the 28×28 picture, bright ink on black, as
    /// `data::preprocess` made it) as a PNG in `train/<digit>/` or, for every
    /// [`TEST_EVERY`]-th drawing of the digit, `test/<digit>/`; `original` (the PNG or JPEG
    /// as sent) under `originals/<digit>/` with the same number. Blocking.
    pub fn save(
        &self,
        digit: u8,
        prepared: &[u8; data::IMAGE_PIXELS],
        original: &[u8],
    ) -> Result<Taught, ApiError> {
        let png = prepared_png(prepared)?;
        let (original, extension) = kept_original(original)?;
        let original = &original[..];
        let _held = self.hold()?;
        let held = self.bytes()?;
        let adding = (png.len() + original.len()) as u64;
        if held + adding > self.max_bytes {
            return Err(ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                format!(
                    "the teach folder {} holds {held} bytes, and this drawing would take it over \
                     the most it takes ({} bytes); fine-tune on what it holds, or start a new \
                     folder with --teach-dir",
                    self.dir.display(),
                    self.max_bytes
                ),
            ));
        }
        let class = digit.to_string();
        let dirs = |split: &str| self.dir.join(split).join(&class);
        let read = |dir: &Path| files_in(dir).map_err(|e| self.failed("read", dir, &e));
        let (train, test, originals) = (
            read(&dirs("train"))?,
            read(&dirs("test"))?,
            read(&dirs(ORIGINALS))?,
        );
        let drawn = train.len() + test.len();
        if drawn >= MAX_PER_DIGIT {
            return Err(ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                format!(
                    "the teach folder {} holds {drawn} drawings of {digit}, the most it takes \
                     ({MAX_PER_DIGIT}); fine-tune on them, or start a new folder with --teach-dir",
                    self.dir.display()
                ),
            ));
        }
        let split = if (drawn + 1) % TEST_EVERY == 0 {
            "test"
        } else {
            "train"
        };
        // Numbers go on from the class's count; one already used in either part, or among
        // the originals, is skipped, so a drawing and its original share a number.
        let mut taken = train;
        taken.extend(test);
        taken.extend(originals);
        let dir = dirs(split);
        let numbers = move |ext: &'static str| {
            (drawn + 1..drawn + 1 + 100 * MAX_PER_DIGIT).map(move |n| format!("{n:04}.{ext}"))
        };
        let name = write_new(&dir, &png, numbers("png"), &taken)
            .map_err(|e| self.failed("write to", &dir, &e))?;
        let number = stem(&name).to_string();
        let originals_dir = dirs(ORIGINALS);
        let original_names = std::iter::once(format!("{number}.{extension}"))
            .chain((2..100).map(|k| format!("{number}-{k}.{extension}")));
        let original_name = match write_new(&originals_dir, original, original_names, &[]) {
            Ok(n) => n,
            Err(e) => {
                // Keep the folder whole: no training picture without its original.
                let _ = fs::remove_file(dir.join(&name));
                return Err(self.failed("write to", &originals_dir, &e));
            }
        };
        Ok(Taught {
            digit,
            split: split.to_string(),
            file: format!("{split}/{class}/{name}"),
            original: format!("{ORIGINALS}/{class}/{original_name}"),
            folder: self.folder()?,
        })
    }
}

impl TeachDir {
    /// Removes the drawing `file` (`train/7/0003.png`, as [`Taught::file`] named it) and its
    /// originals (`originals/7/0003.*`). A name that is not a drawing's is a 422, a drawing
    /// that is not there a 404; nothing else in the folder is touched. Blocking.
    pub fn forget(&self, file: &str) -> Result<Forgotten, ApiError> {
        let not_a_drawing = || {
            ApiError::unreadable(format!(
                "{:?} is not a drawing of the teach folder: name it as saving it did, \
                 train/<digit>/NNNN.png or test/<digit>/NNNN.png",
                file.chars().take(80).collect::<String>()
            ))
        };
        let [split, class, name] = file.split('/').collect::<Vec<_>>()[..] else {
            return Err(not_a_drawing());
        };
        let number = name.strip_suffix(".png").ok_or_else(not_a_drawing)?;
        if !matches!(split, "train" | "test")
            || number.len() < 4
            || !number.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(not_a_drawing());
        }
        let digit = parse_digit(Some(class)).map_err(|_| not_a_drawing())?;
        let class = digit.to_string();
        let path = self.dir.join(split).join(&class).join(name);
        // Nothing is created to remove nothing (the lock file comes with the folder).
        let _held = if self.dir.is_dir() {
            Some(self.hold()?)
        } else {
            None
        };
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(not_a_drawing()),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!(
                        "there is no drawing {split}/{class}/{name} in the teach folder {} \
                         (removed already?)",
                        self.dir.display()
                    ),
                ))
            }
            Err(e) => return Err(self.failed("read", &path, &e)),
        }
        // Its originals first, then the drawing: a failure part way leaves the drawing, which
        // can be removed again, never a drawing whose removal was reported and did not happen.
        // The originals are the same number, or the number and a suffix (`0003-2.png`) when
        // that name was taken as it was saved.
        let originals_dir = self.dir.join(ORIGINALS).join(&class);
        let mut originals = Vec::new();
        let names =
            files_in(&originals_dir).map_err(|e| self.failed("read", &originals_dir, &e))?;
        for original in names {
            let s = stem(&original);
            let ours = s == number
                || s.strip_prefix(number)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
            if ours {
                let at = originals_dir.join(&original);
                fs::remove_file(&at).map_err(|e| self.failed("remove from", &at, &e))?;
                originals.push(format!("{ORIGINALS}/{class}/{original}"));
            }
        }
        originals.sort();
        fs::remove_file(&path).map_err(|e| self.failed("remove from", &path, &e))?;
        Ok(Forgotten {
            file: format!("{split}/{class}/{name}"),
            originals,
            folder: self.folder()?,
        })
    }
}

/// What is kept of a picture as sent, and its extension: decoded (within the bounds the
/// preparation held it to), in grey (with its transparency, if any), scaled down to at most
/// [`ORIGINAL_SIDE`] pixels a side, and encoded again: a JPEG as a JPEG (quality 90), anything
/// else as a PNG. Nothing else an upload carried is kept.
fn kept_original(sent: &[u8]) -> Result<(Vec<u8>, &'static str), ApiError> {
    let cannot =
        |e: &dyn std::fmt::Display| ApiError::internal(format!("cannot keep the original: {e}"));
    let format = image::guess_format(sent).map_err(|e| cannot(&e))?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(sent), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| cannot(&e))?;
    let picture = if picture.width().max(picture.height()) > ORIGINAL_SIDE {
        picture.thumbnail(ORIGINAL_SIDE, ORIGINAL_SIDE)
    } else {
        picture
    };
    let picture = if picture.color().has_alpha() {
        image::DynamicImage::ImageLumaA8(picture.to_luma_alpha8())
    } else {
        image::DynamicImage::ImageLuma8(picture.to_luma8())
    };
    let mut bytes = Vec::new();
    let extension = if format == image::ImageFormat::Jpeg {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
        picture
            .to_luma8()
            .write_with_encoder(encoder)
            .map_err(|e| cannot(&e))?;
        "jpg"
    } else {
        picture
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .map_err(|e| cannot(&e))?;
        "png"
    };
    Ok((bytes, extension))
}

/// The 28×28 prepared picture as a grey PNG.
fn prepared_png(pixels: &[u8; data::IMAGE_PIXELS]) -> Result<Vec<u8>, ApiError> {
    let side = IMAGE_SIDE as u32;
    let image = image::GrayImage::from_raw(side, side, pixels.to_vec())
        .ok_or_else(|| ApiError::internal("a prepared picture is not 28×28"))?;
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| ApiError::internal(format!("cannot encode the picture as PNG: {e}")))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_digit_is_a_label() {
        assert_eq!(parse_digit(Some("7")).unwrap(), 7);
        assert_eq!(parse_digit(Some("0")).unwrap(), 0);
        for bad in ["10", "x", "../", "", " 7", "7 ", "-1", "٣", "07"] {
            let e = parse_digit(Some(bad)).unwrap_err();
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        }
        assert!(parse_digit(None).unwrap_err().message.contains("label=D"));
    }

    #[test]
    fn a_taken_name_is_skipped_and_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("0001.png"), b"mine").unwrap();
        let names = (1..5).map(|n| format!("{n:04}.png"));
        let name = write_new(tmp.path(), b"new", names, &["0002.jpg".to_string()]).unwrap();
        assert_eq!(name, "0003.png");
        assert_eq!(fs::read(tmp.path().join("0001.png")).unwrap(), b"mine");
        assert_eq!(fs::read(tmp.path().join("0003.png")).unwrap(), b"new");
        // No temporary file is left.
        assert_eq!(files_in(tmp.path()).unwrap().len(), 2);
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 2);
    }

    #[test]
    fn lists_read_as_a_person_writes_them() {
        assert_eq!(list(&[3]), "3");
        assert_eq!(list(&[3, 5, 8]), "3, 5 and 8");
    }
}
