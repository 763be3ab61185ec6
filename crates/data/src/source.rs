//! Finding, reading and verifying the four MNIST files in a directory.
//!
//! Each file may be stored raw (`train-images-idx3-ubyte`) or gzipped (`…-ubyte.gz`); gzip is
//! recognised by its magic bytes, not its name. When the directory holds a checksum file
//! (`SHA256SUMS`, and/or `SHA256SUMS.raw` for decompressed files, in the `sha256sum` format),
//! every file read must be listed there and match, or it is reported and not used. A directory
//! without checksum files (another dataset in the same IDX layout) is validated by structure alone.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use crate::DataError;

/// The checksum files looked for in a data directory.
pub const CHECKSUM_FILES: [&str; 2] = ["SHA256SUMS", "SHA256SUMS.raw"];

/// One of MNIST's two parts: 60,000 training images or 10,000 test images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// The standard name of this split's images file, without `.gz`.
    pub fn images_file(self) -> &'static str {
        match self {
            Split::Train => "train-images-idx3-ubyte",
            Split::Test => "t10k-images-idx3-ubyte",
        }
    }

    /// The standard name of this split's labels file, without `.gz`.
    pub fn labels_file(self) -> &'static str {
        match self {
            Split::Train => "train-labels-idx1-ubyte",
            Split::Test => "t10k-labels-idx1-ubyte",
        }
    }
}

/// The expected SHA-256 of files in a directory, from its checksum files.
#[derive(Debug, Default)]
pub struct Checksums {
    /// File name → (hex digest, checksum file it came from).
    entries: HashMap<String, (String, PathBuf)>,
    /// The first checksum file found, named when a file is not listed.
    first: Option<PathBuf>,
}

impl Checksums {
    /// Reads the checksum files of `dir`; empty when it has none.
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        let mut sums = Checksums::default();
        for name in CHECKSUM_FILES {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|source| DataError::Io {
                path: path.clone(),
                source,
            })?;
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let bad = || DataError::BadChecksumLine {
                    path: path.clone(),
                    line: i + 1,
                    text: line.to_string(),
                };
                let (hex, file) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
                // `sha256sum` marks binary mode with a `*` before the name.
                let file = file.trim_start().trim_start_matches('*');
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || file.is_empty()
                {
                    return Err(bad());
                }
                sums.entries
                    .insert(file.to_string(), (hex.to_ascii_lowercase(), path.clone()));
            }
            sums.first.get_or_insert(path);
        }
        Ok(sums)
    }

    /// Whether the directory had any checksum file.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Checks `bytes`, read from `path`, against the listed digest of its file name.
    pub fn verify(&self, path: &Path, bytes: &[u8]) -> Result<(), DataError> {
        let Some(first) = &self.first else {
            return Ok(());
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((expected, sums)) = self.entries.get(&name) else {
            return Err(DataError::NotInChecksums {
                path: path.to_path_buf(),
                sums: first.clone(),
            });
        };
        let actual = sha256_hex(bytes);
        if &actual != expected {
            return Err(DataError::ChecksumMismatch {
                path: path.to_path_buf(),
                sums: sums.clone(),
                expected: expected.clone(),
                actual,
            });
        }
        Ok(())
    }
}

/// The SHA-256 digest of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Finds `name` or `name.gz` in `dir`, checks it against `sums`, and returns its path and its
/// (decompressed) contents.
pub fn read_idx_file(
    dir: &Path,
    name: &str,
    sums: &Checksums,
) -> Result<(PathBuf, Vec<u8>), DataError> {
    let path = [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| DataError::FileMissing {
            dir: dir.to_path_buf(),
            name: name.to_string(),
        })?;
    let bytes = fs::read(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    sums.verify(&path, &bytes)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        // MNIST decompresses to about 6x; reserve once instead of growing.
        let mut raw = Vec::with_capacity(bytes.len() * 6);
        GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut raw)
            .map_err(|source| DataError::Gzip {
                path: path.clone(),
                source,
            })?;
        Ok((path, raw))
    } else {
        Ok((path, bytes))
    }
}

/// Checks that `dir` exists, with a message saying where the data come from when it does not.
pub fn check_dir(dir: &Path) -> Result<(), DataError> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(DataError::DirNotFound {
            dir: dir.to_path_buf(),
        })
    }
}
