//! Reading MNIST directories: the shipped copy, and every kind of damage a directory can have.

use std::fs;
use std::io::Write;
use std::path::Path;

use data::source::sha256_hex;
use data::{DataError, ImageDataset, Mnist, Split, IMAGE_PIXELS};

/// A directory holding a small dataset (20 training and 10 test images) in the standard layout.
fn small_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let make = |n: usize, offset: usize| {
        let pixels = (0..n * IMAGE_PIXELS)
            .map(|i| ((i + offset) % 251) as u8)
            .collect();
        let labels = (0..n).map(|i| ((i + offset) % 10) as u8).collect();
        ImageDataset::new(pixels, labels).unwrap()
    };
    make(20, 0).save(dir.path(), Split::Train).unwrap();
    make(10, 3).save(dir.path(), Split::Test).unwrap();
    dir
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn load_err(dir: &Path) -> (DataError, String) {
    let err = Mnist::load(dir).unwrap_err();
    let msg = err.to_string();
    (err, msg)
}

#[test]
fn shipped_mnist_loads_and_verifies() {
    let mnist = Mnist::load(&testkit::shipped_data()).expect("the shipped data/mnist should load");
    assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    // The first training image is the famous 5, the first test image a 7.
    assert_eq!((mnist.train.label(0), mnist.test.label(0)), (5, 7));
    let (train, valid) = mnist.train.split_validation(5_000, 1).unwrap();
    assert_eq!((train.len(), valid.len()), (55_000, 5_000));
}

#[test]
fn small_directory_round_trips_without_checksums() {
    let dir = small_dir();
    let mnist = Mnist::load(dir.path()).unwrap();
    assert_eq!((mnist.train.len(), mnist.test.len()), (20, 10));
    assert_eq!(mnist.test.label(0), 3);
    assert_eq!(mnist.train.image(1)[0], (IMAGE_PIXELS % 251) as u8);
}

#[test]
fn raw_files_are_read_too() {
    let dir = small_dir();
    for name in [Split::Test.images_file(), Split::Test.labels_file()] {
        let gz_path = dir.path().join(format!("{name}.gz"));
        let mut raw = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(fs::File::open(&gz_path).unwrap()),
            &mut raw,
        )
        .unwrap();
        fs::remove_file(&gz_path).unwrap();
        fs::write(dir.path().join(name), raw).unwrap();
    }
    assert_eq!(
        ImageDataset::load(dir.path(), Split::Test).unwrap().len(),
        10
    );
}

#[test]
fn missing_directory_says_where_to_get_the_data() {
    let (err, msg) = load_err(Path::new("/nonexistent/mnist"));
    assert!(matches!(err, DataError::DirNotFound { .. }), "{msg}");
    assert!(msg.contains("/nonexistent/mnist does not exist"), "{msg}");
    assert!(
        msg.contains("data/mnist") && msg.contains("download"),
        "{msg}"
    );
    // Fashion-MNIST is not shipped: its directory's error says how to install it.
    let (err, msg) = load_err(Path::new("/nonexistent/fashion-mnist"));
    assert!(matches!(err, DataError::FashionNotFound { .. }), "{msg}");
    assert!(
        msg.contains("apt install dataset-fashion-mnist") && !msg.contains("data/mnist"),
        "{msg}"
    );
}

#[test]
fn missing_file_is_named() {
    let dir = small_dir();
    fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(matches!(err, DataError::FileMissing { .. }), "{msg}");
    assert!(
        msg.contains("t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) is missing"),
        "{msg}"
    );
}

#[test]
fn corrupt_gzip_is_reported() {
    let dir = small_dir();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    fs::write(&path, bytes).unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(matches!(err, DataError::Gzip { .. }), "{msg}");
    assert!(
        msg.contains("train-images-idx3-ubyte.gz is not a valid gzip file"),
        "{msg}"
    );
}

#[test]
fn truncated_gzip_is_reported() {
    let dir = small_dir();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let (err, msg) = load_err(dir.path());
    // Either the decoder notices the missing end, or the IDX length check does.
    assert!(
        matches!(
            err,
            DataError::Gzip { .. } | DataError::LengthMismatch { .. }
        ),
        "{msg}"
    );
    assert!(msg.contains("train-images-idx3-ubyte.gz"), "{msg}");
}

#[test]
fn truncated_idx_inside_valid_gzip_is_reported() {
    let dir = small_dir();
    let images = data::idx::encode_images(&vec![0; 20 * IMAGE_PIXELS]);
    fs::write(
        dir.path().join("train-images-idx3-ubyte.gz"),
        gz(&images[..images.len() - 100]),
    )
    .unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(
        matches!(err, DataError::LengthMismatch { count: 20, .. }),
        "{msg}"
    );
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn image_and_label_counts_must_agree() {
    let dir = small_dir();
    fs::write(
        dir.path().join("train-labels-idx1-ubyte.gz"),
        gz(&data::idx::encode_labels(&[1; 19])),
    )
    .unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 20,
                labels: 19,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("holds 20 images but") && msg.contains("holds 19 labels"),
        "{msg}"
    );
}

#[test]
fn swapped_files_are_caught_by_the_magic_number() {
    let dir = small_dir();
    let images = dir.path().join("t10k-images-idx3-ubyte.gz");
    let labels = dir.path().join("t10k-labels-idx1-ubyte.gz");
    let (a, b) = (fs::read(&images).unwrap(), fs::read(&labels).unwrap());
    fs::write(&images, b).unwrap();
    fs::write(&labels, a).unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(matches!(err, DataError::BadMagic { .. }), "{msg}");
}

/// Writes a SHA256SUMS for the small directory's four files, as the shipped copy has.
fn add_checksums(dir: &Path) {
    let mut text = String::new();
    for split in [Split::Train, Split::Test] {
        for name in [split.images_file(), split.labels_file()] {
            let file = format!("{name}.gz");
            let hex = sha256_hex(&fs::read(dir.join(&file)).unwrap());
            text.push_str(&format!("{hex}  {file}\n"));
        }
    }
    fs::write(dir.join("SHA256SUMS"), text).unwrap();
}

#[test]
fn checksums_are_verified_when_present() {
    let dir = small_dir();
    add_checksums(dir.path());
    assert!(Mnist::load(dir.path()).is_ok());

    // Replace a file by another valid IDX file: structure alone would accept it.
    fs::write(
        dir.path().join("t10k-labels-idx1-ubyte.gz"),
        gz(&data::idx::encode_labels(&[4; 10])),
    )
    .unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(matches!(err, DataError::ChecksumMismatch { .. }), "{msg}");
    assert!(
        msg.contains("t10k-labels-idx1-ubyte.gz does not match its checksum in"),
        "{msg}"
    );
    assert!(
        msg.contains("SHA256SUMS") && msg.contains("it was not used"),
        "{msg}"
    );
}

#[test]
fn unlisted_file_is_reported_when_checksums_exist() {
    let dir = small_dir();
    add_checksums(dir.path());
    let sums = dir.path().join("SHA256SUMS");
    let text = fs::read_to_string(&sums).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.contains("train-labels"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&sums, kept).unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(matches!(err, DataError::NotInChecksums { .. }), "{msg}");
    assert!(
        msg.contains("train-labels-idx1-ubyte.gz is not listed in"),
        "{msg}"
    );
}

#[test]
fn malformed_checksum_file_is_reported() {
    let dir = small_dir();
    fs::write(dir.path().join("SHA256SUMS"), "not a checksum\n").unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(
        matches!(err, DataError::BadChecksumLine { line: 1, .. }),
        "{msg}"
    );
}

#[test]
fn a_gzip_bomb_is_refused_before_it_inflates() {
    let dir = small_dir();
    // The real 10-image header, then 64 MiB of zeros: a small file that inflates far past what
    // its header declares (7,856 bytes).
    let name = format!("{}.gz", Split::Test.images_file());
    let honest =
        data::source::inflate(&fs::read(dir.path().join(&name)).unwrap(), Path::new("x")).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&honest).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 200_000, "{} bytes", bomb.len());
    // Inflated no further than the declared length and one byte more.
    let inflated = data::source::inflate(&bomb, Path::new("bomb.gz")).unwrap();
    assert_eq!(inflated.len(), honest.len() + 1);
    fs::write(dir.path().join(&name), &bomb).unwrap();
    let (_, msg) = load_err(dir.path());
    assert!(msg.contains("trailing bytes"), "{msg}");
}

#[test]
fn a_header_declaring_an_impossible_size_is_refused() {
    let dir = small_dir();
    let mut header = vec![0, 0, 8, 3];
    for d in [u32::MAX, 28, 28] {
        header.extend(d.to_be_bytes());
    }
    let name = format!("{}.gz", Split::Test.images_file());
    fs::write(dir.path().join(&name), gz(&header)).unwrap();
    let (err, msg) = load_err(dir.path());
    assert!(matches!(err, DataError::TooLarge { .. }), "{msg}");
    assert!(msg.contains(&name), "{msg}");
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let dir = small_dir();
    // What `pigz` or `cat a.gz b.gz` write: the file in two gzip members.
    let name = format!("{}.gz", Split::Test.images_file());
    let raw =
        data::source::inflate(&fs::read(dir.path().join(&name)).unwrap(), Path::new("x")).unwrap();
    let (first, second) = raw.split_at(1000);
    let mut two = gz(first);
    two.extend(gz(second));
    fs::write(dir.path().join(&name), two).unwrap();
    let mnist = Mnist::load(dir.path()).unwrap();
    assert_eq!(mnist.test.len(), 10);
    assert_eq!(mnist.test.label(0), 3);
}
