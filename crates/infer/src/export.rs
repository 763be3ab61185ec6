//! `infer --onnx FILE`: the run's network as an ONNX model ([`model::onnx`]), for runtimes that
//! are not this project's. The file is written whole or not at all (a temporary file beside it,
//! then renamed), and never over a file that is not an earlier export.

use std::fmt;
use std::path::{Path, PathBuf};

use model::onnx::{outputs_meaning, to_onnx, OnnxInfo, INPUT, OUTPUT};
use model::Cost;
use run::SavedRun;
use serde::Serialize;

use crate::cli::lossy_path;
use crate::InferError;

/// What `infer --onnx` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    #[serde(serialize_with = "lossy_path")]
    pub file: PathBuf,
    #[serde(serialize_with = "lossy_path")]
    pub model: PathBuf,
    pub shape: String,
    pub cost: Cost,
    /// What the outputs are: σ(z) per class, or softmax probabilities.
    pub outputs: &'static str,
    pub class_names: Vec<String>,
    pub bytes: usize,
}

impl fmt::Display for Exported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let classes = self.class_names.len();
        writeln!(
            f,
            "wrote {} (ONNX, opset 18, {} bytes): the {} network of {}",
            self.file.display(),
            self.bytes,
            self.shape,
            self.model.display()
        )?;
        writeln!(
            f,
            "  input  `{INPUT}`: [N, 784] float32, the pixels row by row in 0..1"
        )?;
        writeln!(
            f,
            "  output `{OUTPUT}`: [N, {classes}] float32, {}",
            self.outputs
        )?;
        write!(
            f,
            "  classes, in output order: {}",
            self.class_names.join(", ")
        )
    }
}

/// Writes `run`'s network to `file` as ONNX.
pub(crate) fn export(file: &Path, run: &SavedRun) -> Result<Exported, InferError> {
    check_target(file)?;
    let class_names = run.spec.class_names();
    let name = run.dir.file_name().unwrap_or(run.dir.as_os_str());
    let description = format!(
        "{} network ({} hidden units, {} cost) trained by digits: the run {}",
        run.spec.model.shape(),
        run.network.activation.name(),
        run.spec.cost.name(),
        name.to_string_lossy()
    );
    let info = OnnxInfo {
        cost: run.spec.cost,
        class_names: &class_names,
        description,
    };
    let bytes = to_onnx(&run.network, &info)?;
    run::write_file(file, &bytes).map_err(|source| InferError::WriteOnnx {
        path: file.to_path_buf(),
        source,
    })?;
    Ok(Exported {
        file: file.to_path_buf(),
        model: run.dir.clone(),
        shape: run.spec.model.shape(),
        cost: run.spec.cost,
        outputs: outputs_meaning(run.spec.cost),
        class_names,
        bytes: bytes.len(),
    })
}

/// Refuses a directory, and an existing file that is not an `.onnx` one (a typo must not
/// replace a run's weights or anything else).
fn check_target(file: &Path) -> Result<(), InferError> {
    let problem = if file.is_dir() {
        "is a directory: name the file to write, e.g. DIR/digits.onnx"
    } else if file.exists() && file.extension().is_none_or(|e| e != "onnx") {
        "exists and is not an .onnx file: infer replaces only an earlier export; name a new \
         file, or one ending in .onnx"
    } else {
        return Ok(());
    };
    Err(InferError::OnnxTarget {
        path: file.to_path_buf(),
        problem,
    })
}
