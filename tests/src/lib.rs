//! What every crate's tests share (the one home of each helper), and, in `tests/`, the
//! end-to-end tests: train a small network on a slice of MNIST, then use it with `infer`.
//!
//! The helpers need only `data`, so that any crate of the workspace can take this one as a
//! dev-dependency.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use data::{Mnist, Split};

/// The variable that names the backend the tests run on (CI runs the suite once per backend).
pub const BACKEND_VAR: &str = "DIGITS_TEST_BACKEND";

/// The shipped MNIST directory, `data/mnist` at the workspace root.
pub fn shipped_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist")
}

/// Writes the first `train` training images and the first `test` test images of the shipped
/// MNIST into `dir`, in the standard layout.
pub fn mnist_slice(dir: &Path, train: usize, test: usize) {
    let mnist = Mnist::load(&shipped_data()).expect("the shipped MNIST loads");
    mnist
        .train
        .head(train)
        .save(dir, Split::Train)
        .expect("write training slice");
    mnist
        .test
        .head(test)
        .save(dir, Split::Test)
        .expect("write test slice");
}

/// Writes an image folder into `dir` from the shipped MNIST: for each `(name, digit)`, the
/// first `train` training images of that digit as `train/<name>/<i>.png` and the first `test`
/// test images as `test/<name>/<i>.png`, each drawn 3× larger, dark on white, as a person's
/// picture of a digit would be.
pub fn image_folder(dir: &Path, classes: &[(&str, u8)], train: usize, test: usize) {
    let mnist = Mnist::load(&shipped_data()).expect("the shipped MNIST loads");
    for (part, set, count) in [("train", &mnist.train, train), ("test", &mnist.test, test)] {
        for &(name, digit) in classes {
            let folder = dir.join(part).join(name);
            std::fs::create_dir_all(&folder).expect("create a class folder");
            let of_digit = (0..set.len()).filter(|&i| set.label(i) == digit);
            for (k, i) in of_digit.take(count).enumerate() {
                digit_picture(set.image(i))
                    .save(folder.join(format!("{k}.png")))
                    .expect("write a PNG");
            }
        }
    }
}

/// An MNIST image (784 pixels, ink bright) drawn 3× larger with a margin, dark on white.
pub fn digit_picture(pixels: &[u8]) -> image::GrayImage {
    image::GrayImage::from_fn(96, 96, |x, y| {
        let (px, py) = (x as i64 / 3 - 2, y as i64 / 3 - 2);
        let v = if (0..28).contains(&px) && (0..28).contains(&py) {
            pixels[(py * 28 + px) as usize]
        } else {
            0
        };
        image::Luma([255 - v])
    })
}

/// The smallest complete training config: the required keys and defaults for the rest, a
/// 784-30-10 sigmoid network trained by SGD at η = 3.0, batches of 10.
pub fn minimal_config(data_dir: &str, epochs: usize) -> String {
    format!(
        r#"
data_dir = "{data_dir}"
epochs = {epochs}
batch_size = 10
cost = "quadratic"

[model]
hidden = [30]

[optimizer]
kind = "sgd"
learning_rate = 3.0
"#
    )
}

/// A small config for training end to end: a 784-24-10 sigmoid network, trained for `epochs`
/// epochs on `data_dir` with 200 images held out.
pub fn small_config(data_dir: &Path, epochs: usize) -> String {
    format!(
        r#"data_dir = "{}"
seed = 5
epochs = {epochs}
batch_size = 20
validation = 200
cost = "quadratic"

[model]
hidden = [24]

[optimizer]
kind = "sgd"
learning_rate = 3.0
"#,
        data_dir.display()
    )
}

/// The backend named by [`BACKEND_VAR`], if any.
pub fn backend_name() -> Option<String> {
    std::env::var(BACKEND_VAR)
        .ok()
        .filter(|name| !name.is_empty())
}

/// `--backend NAME` when [`BACKEND_VAR`] names a backend; nothing otherwise (the build's
/// default backend).
pub fn backend_args() -> Vec<String> {
    backend_name().map_or_else(Vec::new, |name| vec!["--backend".into(), name])
}

/// Whether the backend under test promises bit-identical runs. The CPU backends do; a GPU
/// backend sums in parallel in whatever order its workgroups finish, so two runs agree only
/// to rounding (seen on wgpu/lavapipe: 0.181789255 against 0.181789259).
pub fn bit_reproducible() -> bool {
    !matches!(backend_name().as_deref(), Some("wgpu") | Some("cuda"))
}

/// How many cases each property test tries: 64 in the normal suite (well under a minute in
/// all), or `DIGITS_PROPTEST_CASES` for a deep run (`DIGITS_PROPTEST_CASES=5000 cargo test
/// props`).
pub fn proptest_cases() -> u32 {
    std::env::var("DIGITS_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

/// The variable that names the Python the ONNX checks run (.ci/run points it at a venv with
/// `numpy`, `onnx` and `onnxruntime`); `python3` where it is unset.
pub const PYTHON_VAR: &str = "DIGITS_ONNX_PYTHON";

/// The Python of [`PYTHON_VAR`] if it can import every one of `modules`, or why not.
pub fn python_with(modules: &[&str]) -> Result<PathBuf, String> {
    let python = std::env::var_os(PYTHON_VAR).map_or("python3".into(), PathBuf::from);
    let probe = std::process::Command::new(&python)
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .output();
    match probe {
        Ok(out) if out.status.success() => Ok(python),
        Ok(out) => Err(format!(
            "{} cannot import {}: {}",
            python.display(),
            modules.join(", "),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
        Err(e) => Err(format!("no {}: {e}", python.display())),
    }
}
