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

use flate2::read::MultiGzDecoder;
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
    let io = |source| DataError::Io {
        path: path.clone(),
        source,
    };
    let size = fs::metadata(&path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(DataError::TooLarge {
            path: path.clone(),
            bytes: size,
            limit: MAX_FILE_BYTES,
        });
    }
    let bytes = fs::read(&path).map_err(io)?;
    sums.verify(&path, &bytes)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let raw = inflate(&bytes, &path)?;
        Ok((path, raw))
    } else {
        Ok((path, bytes))
    }
}

/// The largest data file read, compressed or not: MNIST's largest is 47 MB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Decompresses a gzipped IDX file, every gzip member of it (`pigz`, `bgzip` and `cat a.gz
/// b.gz` write several), but never more than its header declares plus one byte, which is
/// enough for the parser to see trailing data: a small file that inflates to gigabytes (a gzip
/// bomb) costs no more than an honest one.
pub fn inflate(compressed: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    let gzip = |source| DataError::Gzip {
        path: path.to_path_buf(),
        source,
    };
    let mut decoder = MultiGzDecoder::new(compressed);
    let mut raw = Vec::new();
    // The magic (its last byte the number of dimensions), then 4 bytes per dimension.
    (&mut decoder).take(4).read_to_end(&mut raw).map_err(gzip)?;
    if let Some(&dims) = raw.get(3) {
        (&mut decoder)
            .take(4 * u64::from(dims))
            .read_to_end(&mut raw)
            .map_err(gzip)?;
    }
    let rest = match crate::idx::declared_len(&raw) {
        Some(total) if total > MAX_FILE_BYTES => {
            return Err(DataError::TooLarge {
                path: path.to_path_buf(),
                bytes: total,
                limit: MAX_FILE_BYTES,
            })
        }
        Some(total) => total + 1 - raw.len() as u64,
        // Not even a whole header: one more byte shows the parser what is wrong.
        None => 1,
    };
    raw.reserve(usize::try_from(rest).unwrap_or(0));
    (&mut decoder)
        .take(rest)
        .read_to_end(&mut raw)
        .map_err(gzip)?;
    Ok(raw)
}

/// Checks that `dir` exists, with a message saying where the data come from when it does not
/// (MNIST's, or Fashion-MNIST's for a directory named so, as configs/fashion.toml's is).
pub fn check_dir(dir: &Path) -> Result<(), DataError> {
    let dir = dir.to_path_buf();
    let fashion = dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().contains("fashion"));
    match (dir.is_dir(), fashion) {
        (true, _) => Ok(()),
        (false, true) => Err(DataError::FashionNotFound { dir }),
        (false, false) => Err(DataError::DirNotFound { dir }),
    }
}
