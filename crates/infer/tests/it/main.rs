//! Integration tests of `infer` (one test binary: each extra one would link Burn again).

mod cli;
mod onnx;
mod pictures;
mod preprocess;
mod props;

use data::{ImageDataset, Split};

/// Test image 0 (a 7), 3× larger, dark on white.
fn seven() -> image::GrayImage {
    let test = ImageDataset::load(&testkit::shipped_data(), Split::Test).unwrap();
    image::GrayImage::from_fn(100, 100, |x, y| {
        let (px, py) = (x as i64 / 3 - 2, y as i64 / 3 - 2);
        let v = if (0..28).contains(&px) && (0..28).contains(&py) {
            test.image(0)[(py * 28 + px) as usize]
        } else {
            0
        };
        image::Luma([255 - v])
    })
}

/// A run with random weights in `dir`: enough to answer for images.
fn random_run(dir: &std::path::Path) {
    random_run_of(dir, model::MlpConfig::new([8]), "hidden = [8]");
}

/// A run of the network `config` (whose `[model]` table is `model_toml`), random weights.
fn random_run_of(dir: &std::path::Path, config: model::MlpConfig, model_toml: &str) {
    let backend = model::Backend::resolve(None).unwrap();
    let network = config.init(&backend.device().unwrap());
    write_run(
        dir,
        &network,
        &format!(
            "data_dir = {:?}\ncost = \"quadratic\"\n[model]\n{model_toml}\n",
            testkit::shipped_data()
        ),
    );
}

/// A sealed run in `dir` of `network`, trained (so to speak) with the quadratic cost, its
/// config `config_toml`.
fn write_run(dir: &std::path::Path, network: &model::Mlp, config_toml: &str) {
    let writer = run::RunWriter::create(dir).unwrap();
    writer
        .write_network(network, model::Cost::Quadratic)
        .unwrap();
    writer.write("config.toml", config_toml).unwrap();
    writer.commit().unwrap();
}
