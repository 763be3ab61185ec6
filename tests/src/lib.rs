//! Helpers for the end-to-end tests in `tests/`: a slice of the shipped MNIST in a temporary
//! directory, a small training config, and the backend the tests run on.

use std::path::{Path, PathBuf};

use data::{Mnist, Split};

/// The shipped MNIST directory.
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

/// A small config: a 784-24-10 sigmoid network, trained for `epochs` epochs on `data_dir`.
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

/// `--backend NAME` when `DIGITS_TEST_BACKEND` names a backend, so that CI can run the same tests
/// on each backend compiled in; nothing otherwise (the build's default backend).
pub fn backend_args() -> Vec<String> {
    match std::env::var("DIGITS_TEST_BACKEND") {
        Ok(name) if !name.is_empty() => vec!["--backend".into(), name],
        _ => vec![],
    }
}

/// Whether the backend under test promises bit-identical runs. The CPU backends do; a GPU
/// backend sums in parallel in whatever order its workgroups finish, so two runs agree only
/// to rounding (seen on wgpu/lavapipe: 0.181789255 against 0.181789259).
pub fn bit_reproducible() -> bool {
    !matches!(
        std::env::var("DIGITS_TEST_BACKEND").as_deref(),
        Ok("wgpu") | Ok("cuda")
    )
}
