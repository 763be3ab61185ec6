//! Property tests: whatever bytes a data file holds, reading it gives a dataset or a clear
//! error, never a panic, and never inflates past what its header declares.

use std::io::Write;
use std::path::Path;

use data::idx::{parse_images, parse_labels};
use data::source::inflate;
use proptest::prelude::*;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A small real IDX file: the first images of the shipped test set, or its labels.
fn real_file(images: bool) -> Vec<u8> {
    let test = data::ImageDataset::load(&testkit::shipped_data(), data::Split::Test).unwrap();
    let head = test.head(3);
    let tmp = tempfile::tempdir().unwrap();
    head.save(tmp.path(), data::Split::Test).unwrap();
    let name = if images {
        data::Split::Test.images_file()
    } else {
        data::Split::Test.labels_file()
    };
    let bytes = std::fs::read(tmp.path().join(format!("{name}.gz"))).unwrap();
    inflate(&bytes, Path::new("real")).unwrap()
}

/// `bytes` with some bytes changed, cut short or lengthened.
fn mutated(bytes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = bytes.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..8),
        0..=len + 16,
    )
        .prop_map(move |(edits, cut)| {
            let mut b = bytes.clone();
            for (at, v) in edits {
                b[at] = v;
            }
            b.resize(cut, 0xAB);
            b
        })
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(testkit::proptest_cases())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_images(&bytes, Path::new("x"));
        let _ = parse_labels(&bytes, Path::new("x"));
        // As a gzip file too: a stream that is not gzip is an error, never a panic.
        if let Ok(raw) = inflate(&bytes, Path::new("x.gz")) {
            match data::idx::declared_len(&raw) {
                Some(declared) => prop_assert!(raw.len() as u64 <= declared + 1),
                None => prop_assert!(raw.len() <= 4 + 4 * 255 + 1),
            }
        }
    }

    #[test]
    fn mutated_real_files_parse_or_fail_cleanly(
        images in mutated(real_file(true)),
        labels in mutated(real_file(false)),
    ) {
        if let Ok(pixels) = parse_images(&images, Path::new("images")) {
            prop_assert_eq!(pixels.len() % data::IMAGE_PIXELS, 0);
        }
        if let Ok(labels) = parse_labels(&labels, Path::new("labels")) {
            prop_assert!(labels.iter().all(|&l| (l as usize) < data::NUM_CLASSES));
        }
        // Gzipped, then inflated: never more than the header declares, plus one byte (or
        // refused at once when the header declares more than a data file may hold).
        match inflate(&gz(&images), Path::new("images.gz")) {
            Ok(raw) => {
                if let Some(declared) = data::idx::declared_len(&raw) {
                    prop_assert!(raw.len() as u64 <= declared + 1);
                }
            }
            Err(e) => prop_assert!(matches!(e, data::DataError::TooLarge { .. }), "{e}"),
        }
    }
}
