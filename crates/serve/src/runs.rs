//! The runs `serve` can answer with: the one it was started with, and the runs under
//! `artifacts/`, listed from their files and loaded on first use.
//!
//! A run is chosen by name (`?run=NAME`), and a name is only ever looked up in the listing:
//! the names are those of directories found by reading `artifacts/`, so no name sent by a
//! client becomes a path (`../../etc` is simply not among them).

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::http::StatusCode;
use data::IMAGE_PIXELS;
use model::{Backend, Cost};
use run::{Report, RunSpec, SavedRun, Trust, WEIGHTS_FILE};
use serde::Serialize;

use crate::{ApiError, ServeError};

/// How many runs besides the default are kept loaded; the one used longest ago goes first.
pub const CACHED_RUNS: usize = 4;

/// The digits.
const CLASSES: usize = 10;

/// What the ten outputs are, which the cost decides: σ(z) for the quadratic cost (each in
/// 0..1 on its own), softmax probabilities for cross-entropy (summing to 1).
pub fn outputs_kind(cost: Cost) -> &'static str {
    match cost {
        Cost::Quadratic => "sigmoid",
        Cost::CrossEntropy => "softmax",
    }
}

/// A run as `GET /api/runs` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The name to choose it by (`?run=NAME`): its directory's name.
    pub name: String,
    /// Layer sizes, `784-128-10`.
    pub shape: String,
    /// The hidden layers' activation: `sigmoid` or `relu`.
    pub activation: &'static str,
    /// `quadratic` or `cross_entropy`.
    pub cost: &'static str,
    /// `sigmoid` or `softmax`: what the outputs are.
    pub outputs_kind: &'static str,
    /// The names of the outputs, in order: `"0"` to `"9"` for a digit network.
    pub classes: Vec<String>,
    /// Test accuracy in 0..1, from `report.json` (absent when the run has none).
    pub test_accuracy: Option<f64>,
    /// Epochs trained, from `report.json`.
    pub epochs: Option<usize>,
    /// Whether this is the run answering when none is named.
    pub default: bool,
}

impl RunInfo {
    /// The listing of the run in `dir` under `name`, or `None` when `dir` is not a run of a
    /// digit network (no weights, no readable config, another shape of input or output).
    fn read(name: String, dir: &Path, default: bool) -> Option<RunInfo> {
        if !dir.join(WEIGHTS_FILE).is_file() {
            return None;
        }
        let spec = RunSpec::read(dir).ok()?;
        if spec.model.inputs != IMAGE_PIXELS || spec.model.outputs != CLASSES {
            return None;
        }
        // A run is worth listing without its report (or with a damaged one).
        let report = Report::read(dir).ok().flatten();
        Some(RunInfo {
            name,
            shape: spec.model.shape(),
            activation: spec.model.activation.name(),
            cost: spec.cost.name(),
            outputs_kind: outputs_kind(spec.cost),
            classes: spec.class_names(),
            test_accuracy: report.as_ref().map(|r| r.test_accuracy),
            epochs: report.as_ref().map(|r| r.epochs),
            default,
        })
    }
}

/// A loaded run, shared by the requests that use it.
#[derive(Debug)]
pub struct Loaded {
    /// The name it is listed under.
    pub name: String,
    pub run: SavedRun,
}

/// A run loaded from `path`, whose weights were last modified at `modified`: a run retrained
/// since is loaded again.
struct Cached {
    path: PathBuf,
    modified: Option<SystemTime>,
    loaded: Arc<Loaded>,
}

/// The runs: the default one, loaded at start, and the others under `artifacts`, loaded when
/// first asked for and kept ([`CACHED_RUNS`] at most).
pub struct Runs {
    artifacts: PathBuf,
    backend: Backend,
    trust: Trust,
    default: Arc<Loaded>,
    cache: Mutex<VecDeque<Cached>>,
}

impl std::fmt::Debug for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runs")
            .field("artifacts", &self.artifacts)
            .field("default", &self.default.name)
            .finish_non_exhaustive()
    }
}

/// The name a run directory is listed under: its last component.
fn dir_name(dir: &Path) -> String {
    fs::canonicalize(dir)
        .ok()
        .as_deref()
        .unwrap_or(dir)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".to_string())
}

impl Runs {
    /// Loads the default run from `model` (the errors `infer` gives for a missing or damaged
    /// run) on `backend`; other runs are looked for in `artifacts`.
    pub fn open(model: &Path, artifacts: &Path, backend: Backend) -> Result<Runs, ServeError> {
        Runs::open_with(model, artifacts, backend, Trust::Sealed)
    }

    /// [`Runs::open`], loading runs without a seal when `trust` allows it (`--allow-unsealed`).
    pub fn open_with(
        model: &Path,
        artifacts: &Path,
        backend: Backend,
        trust: Trust,
    ) -> Result<Runs, ServeError> {
        let run = SavedRun::load_with(model, &backend.device()?, trust)?;
        check_digit_network(&run)?;
        Ok(Runs {
            artifacts: artifacts.to_path_buf(),
            backend,
            trust,
            default: Arc::new(Loaded {
                name: dir_name(model),
                run,
            }),
            cache: Mutex::new(VecDeque::new()),
        })
    }

    /// The backend the networks run on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The run answering when none is named.
    pub fn default_run(&self) -> &Arc<Loaded> {
        &self.default
    }

    /// Every run that can be chosen, the default first, then those under `artifacts` by name.
    /// Directories that are not runs (and hidden ones, such as a run being written) are left
    /// out; a run whose name is the default's is the default.
    pub fn list(&self) -> Vec<RunInfo> {
        self.entries()
            .into_iter()
            .filter_map(|(name, dir)| {
                let default = name == self.default.name;
                RunInfo::read(name, &dir, default)
            })
            .collect()
    }

    /// The candidate runs, name and directory: the default, then the directories under
    /// `artifacts` in name order.
    fn entries(&self) -> Vec<(String, PathBuf)> {
        let mut entries = vec![(self.default.name.clone(), self.default.run.dir.clone())];
        let mut found: Vec<(String, PathBuf)> = fs::read_dir(&self.artifacts)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                (!name.starts_with('.') && name != self.default.name).then(|| (name, entry.path()))
            })
            .collect();
        found.sort();
        entries.extend(found);
        entries
    }

    /// Why the directory `name` under `artifacts`, which is not listed, cannot be chosen: it
    /// holds no trained network, its config cannot be read, or its network is not a digit
    /// network. `None` when there is no such directory. The name is only compared with the
    /// directory's entries, never joined to a path.
    fn unusable(&self, name: &str) -> Option<String> {
        if name.starts_with('.') {
            return None;
        }
        let dir = fs::read_dir(&self.artifacts)
            .ok()?
            .flatten()
            .find(|entry| entry.file_name().to_str() == Some(name))?
            .path();
        if !dir.is_dir() {
            return None;
        }
        if !dir.join(WEIGHTS_FILE).is_file() {
            return Some(format!("it holds no trained network (no {WEIGHTS_FILE})"));
        }
        let spec = match RunSpec::read(&dir) {
            Ok(spec) => spec,
            Err(e) => return Some(model::error_chain(&e)),
        };
        let model = &spec.model;
        (model.inputs != IMAGE_PIXELS || model.outputs != CLASSES).then(|| {
            format!(
                "its network takes {} inputs and answers {} classes ({}), but this page and \
                 API read a 28×28 picture ({IMAGE_PIXELS} pixels) as one of the {CLASSES} \
                 digits (use `infer --model` for it)",
                model.inputs,
                model.outputs,
                spec.class_names().join(", ")
            )
        })
    }

    /// The run listed as `name`, loading it if it is not loaded yet (blocking: call it off the
    /// async executor). An unknown name is a 404 that lists the known ones.
    pub fn get(&self, name: &str) -> Result<Arc<Loaded>, ApiError> {
        if name == self.default.name {
            return Ok(self.default.clone());
        }
        let listed = self.list();
        let Some(info) = listed.iter().find(|info| info.name == name) else {
            let names: Vec<&str> = listed.iter().map(|info| info.name.as_str()).collect();
            if let Some(why) = self.unusable(name) {
                return Err(ApiError::unreadable(format!(
                    "the run {name:?} cannot answer here: {why}; the runs that can are: {} \
                     (GET /api/runs lists them)",
                    names.join(", ")
                )));
            }
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "there is no run named {name:?}; the runs are: {} (GET /api/runs lists them)",
                    names.join(", ")
                ),
            ));
        };
        let dir = self.artifacts.join(&info.name);
        let modified = fs::metadata(dir.join(WEIGHTS_FILE))
            .and_then(|m| m.modified())
            .ok();
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(k) = cache.iter().position(|c| c.path == dir) {
            if let Some(hit) = cache.remove(k) {
                if hit.modified == modified {
                    let loaded = hit.loaded.clone();
                    cache.push_front(hit);
                    return Ok(loaded);
                }
            }
        }
        // Loaded under the lock: a second request for the same run waits for this load
        // rather than loading it again.
        let cannot = |e: &dyn std::error::Error| {
            ApiError::internal(format!(
                "the run {name:?} cannot be loaded: {}",
                model::error_chain(e)
            ))
        };
        let device = self.backend.device().map_err(|e| cannot(&e))?;
        let run = SavedRun::load_with(&dir, &device, self.trust).map_err(|e| cannot(&e))?;
        check_digit_network(&run).map_err(|e| ApiError::internal(model::error_chain(&e)))?;
        let loaded = Arc::new(Loaded {
            name: name.to_string(),
            run,
        });
        cache.push_front(Cached {
            path: dir,
            modified,
            loaded: loaded.clone(),
        });
        cache.truncate(CACHED_RUNS);
        Ok(loaded)
    }
}

/// A run's network must read 28×28 pictures and answer with ten digits.
fn check_digit_network(run: &SavedRun) -> Result<(), ServeError> {
    let model = &run.spec.model;
    if model.inputs != IMAGE_PIXELS || model.outputs != CLASSES {
        return Err(ServeError::NotADigitNetwork {
            dir: run.dir.clone(),
            inputs: model.inputs,
            outputs: model.outputs,
        });
    }
    Ok(())
}
