//! The IDX format of the MNIST files, parsed from bytes already in memory.
//!
//! An IDX file is a big-endian header followed by raw `u8` data:
//!
//! | file   | magic | header fields after the magic      | data                         |
//! |--------|-------|------------------------------------|------------------------------|
//! | images | 2051  | item count, rows, columns (`u32`)  | count × rows × cols pixels   |
//! | labels | 2049  | item count (`u32`)                 | count labels, each 0–9       |
//!
//! The magic number's low byte is the number of dimensions (3 or 1) and its next byte the
//! element type (`0x08`, unsigned byte).

use std::path::Path;

use crate::{DataError, IMAGE_SIDE, NUM_CLASSES};

/// Magic number of an IDX file of unsigned-byte images: type 0x08, 3 dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels: type 0x08, 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

const IMAGES_HEADER_LEN: usize = 16;
const LABELS_HEADER_LEN: usize = 8;

/// The length in bytes that an IDX file's header declares for the whole file, header
/// included: `None` while `header` is too short to tell. Any IDX file, not only MNIST's: the
/// magic's third byte is the element type, its fourth the number of dimensions, and each
/// dimension follows as a big-endian u32.
pub fn declared_len(header: &[u8]) -> Option<u64> {
    let dims = usize::from(*header.get(3)?);
    let header_len = 4 + 4 * dims;
    if header.len() < header_len {
        return None;
    }
    let element: u64 = match header[2] {
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        _ => 1,
    };
    (0..dims)
        .try_fold(element, |n, d| {
            n.checked_mul(u64::from(be_u32(header, 4 + 4 * d)))
        })
        .and_then(|body| body.checked_add(header_len as u64))
        // A length past u64 is a length no file can have: report it as the largest.
        .or(Some(u64::MAX))
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn check_header(
    bytes: &[u8],
    path: &Path,
    header_len: usize,
    magic: u32,
    what: &'static str,
) -> Result<(), DataError> {
    if bytes.len() < header_len {
        return Err(DataError::HeaderTooShort {
            path: path.to_path_buf(),
            len: bytes.len(),
            header_len,
        });
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: magic,
            found,
            what,
        });
    }
    Ok(())
}

fn check_length(
    path: &Path,
    count: u32,
    header_len: usize,
    item_len: usize,
    actual: usize,
) -> Result<(), DataError> {
    let expected = header_len + count as usize * item_len;
    if actual != expected {
        return Err(DataError::LengthMismatch {
            path: path.to_path_buf(),
            count,
            expected,
            actual,
            problem: if actual < expected {
                "truncated"
            } else {
                "trailing bytes after the last item"
            },
        });
    }
    Ok(())
}

/// Parses an IDX images file, returning the pixels of all images, row-major, 784 per image.
///
/// `path` only names the file in errors.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    check_header(bytes, path, IMAGES_HEADER_LEN, IMAGES_MAGIC, "images")?;
    let count = be_u32(bytes, 4);
    let (rows, cols) = (be_u32(bytes, 8), be_u32(bytes, 12));
    if rows as usize != IMAGE_SIDE || cols as usize != IMAGE_SIDE {
        return Err(DataError::BadImageSize {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    let image_len = IMAGE_SIDE * IMAGE_SIDE;
    check_length(path, count, IMAGES_HEADER_LEN, image_len, bytes.len())?;
    Ok(bytes[IMAGES_HEADER_LEN..].to_vec())
}

/// Parses an IDX labels file, checking that every label is a digit.
///
/// `path` only names the file in errors.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    check_header(bytes, path, LABELS_HEADER_LEN, LABELS_MAGIC, "labels")?;
    let count = be_u32(bytes, 4);
    check_length(path, count, LABELS_HEADER_LEN, 1, bytes.len())?;
    let labels = &bytes[LABELS_HEADER_LEN..];
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= NUM_CLASSES)
    {
        return Err(DataError::BadLabel {
            path: path.to_path_buf(),
            index,
            label,
        });
    }
    Ok(labels.to_vec())
}

/// Encodes images as an IDX file (the inverse of [`parse_images`]); used to write test data
/// and slices of MNIST.
pub fn encode_images(pixels: &[u8]) -> Vec<u8> {
    let image_len = IMAGE_SIDE * IMAGE_SIDE;
    assert_eq!(pixels.len() % image_len, 0, "pixels must hold whole images");
    let mut out = Vec::with_capacity(IMAGES_HEADER_LEN + pixels.len());
    for field in [
        IMAGES_MAGIC,
        (pixels.len() / image_len) as u32,
        IMAGE_SIDE as u32,
        IMAGE_SIDE as u32,
    ] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as an IDX file (the inverse of [`parse_labels`]).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABELS_HEADER_LEN + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IMAGE_PIXELS;

    fn path() -> &'static Path {
        Path::new("x-idx3-ubyte")
    }

    fn two_images() -> Vec<u8> {
        let pixels: Vec<u8> = (0..2 * IMAGE_PIXELS).map(|i| (i % 256) as u8).collect();
        encode_images(&pixels)
    }

    #[test]
    fn the_header_declares_the_length() {
        let images = encode_images(&[0; 2 * IMAGE_PIXELS]);
        assert_eq!(declared_len(&images[..16]), Some(images.len() as u64));
        let labels = encode_labels(&[1, 2, 3]);
        assert_eq!(declared_len(&labels[..8]), Some(11));
        assert_eq!(declared_len(&images[..10]), None, "too short to tell");
        let huge = [
            0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        ];
        assert_eq!(declared_len(&huge), Some(u64::MAX));
    }

    #[test]
    fn images_round_trip() {
        let pixels: Vec<u8> = (0..3 * IMAGE_PIXELS).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(
            parse_images(&encode_images(&pixels), path()).unwrap(),
            pixels
        );
    }

    #[test]
    fn labels_round_trip() {
        let labels = vec![0, 9, 3, 3, 7];
        assert_eq!(
            parse_labels(&encode_labels(&labels), path()).unwrap(),
            labels
        );
    }

    #[test]
    fn short_header_is_reported() {
        let err = parse_images(&two_images()[..10], path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, DataError::HeaderTooShort { len: 10, .. }),
            "{msg}"
        );
        assert!(
            msg.contains("x-idx3-ubyte") && msg.contains("truncated"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_magic_is_reported() {
        // A labels file given where images are expected.
        let err = parse_images(&encode_labels(&[1; 20]), path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    expected: 2051,
                    found: 2049,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains("magic number 2049, expected 2051"), "{msg}");
        let err = parse_labels(&two_images(), path()).unwrap_err();
        assert!(matches!(
            err,
            DataError::BadMagic {
                expected: 2049,
                found: 2051,
                ..
            }
        ));
    }

    #[test]
    fn wrong_image_size_is_reported() {
        let mut bytes = two_images();
        bytes[11] = 32; // rows = 32
        let err = parse_images(&bytes, path()).unwrap_err();
        assert!(
            err.to_string()
                .contains("32x28 images; MNIST images are 28x28"),
            "{err}"
        );
    }

    #[test]
    fn truncated_images_are_reported() {
        let bytes = two_images();
        let err = parse_images(&bytes[..bytes.len() - 1], path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, DataError::LengthMismatch { count: 2, .. }),
            "{msg}"
        );
        assert!(
            msg.contains("truncated") && msg.contains("1583 bytes"),
            "{msg}"
        );
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let mut bytes = encode_labels(&[1, 2, 3]);
        bytes.push(4);
        let err = parse_labels(&bytes, path()).unwrap_err();
        assert!(err.to_string().contains("trailing bytes"), "{err}");
    }

    #[test]
    fn count_disagreeing_with_length_is_reported() {
        let mut bytes = encode_labels(&[1, 2, 3]);
        bytes[7] = 4; // header says 4 labels, the file holds 3
        let err = parse_labels(&bytes, path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::LengthMismatch {
                    count: 4,
                    expected: 12,
                    actual: 11,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn label_out_of_range_is_reported() {
        let err = parse_labels(&encode_labels(&[1, 2, 10, 3]), path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                DataError::BadLabel {
                    index: 2,
                    label: 10,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains("label 2 is 10"), "{msg}");
    }
}
