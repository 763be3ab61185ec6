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

/// The teach folder, shared by the requests that write to it.
#[derive(Debug)]
pub struct TeachDir {
    dir: PathBuf,
    /// Writes of this process one at a time, so that counts and the train/test split follow
    /// the order of the drawings (names are unique across processes without it).
    lock: Mutex<()>,
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
        }
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
        let extension = match image::guess_format(original) {
            Ok(image::ImageFormat::Jpeg) => "jpg",
            _ => "png",
        };
        let _order = self.lock.lock().unwrap_or_else(|p| p.into_inner());
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
