//! Writing a run: into a staging directory, then into place in one step.

use std::fs;
use std::path::{Path, PathBuf};

use model::{Cost, Mlp};

use crate::error::io;
use crate::layout::{RUN_FILES, SEAL_FILE, WEIGHTS_FILE};
use crate::place::{PlaceLock, RunPlace};
use crate::seal::Seal;
use crate::RunError;

/// Writes a run into a staging directory, then moves it into place in one step. While it
/// exists it holds the destination's lock (see [`RunPlace`](crate::RunPlace)): a second
/// writer is refused.
#[derive(Debug)]
pub struct RunWriter {
    /// Held until the run is committed (or the writer dropped).
    lock: Option<PlaceLock>,
    staging: PathBuf,
    committed: bool,
}

impl RunWriter {
    /// Prepares to write the run `dest`. Refuses a `dest` that exists and holds anything other
    /// than a previous run's files, so that `--out` can never replace an unrelated directory,
    /// and a `dest` another run is writing.
    pub fn create(dest: &Path) -> Result<RunWriter, RunError> {
        // A destination under a file cannot be made (it would be "File exists").
        if let Some(file) = dest.ancestors().skip(1).find(|a| a.is_file()) {
            return Err(RunError::DestUnderFile {
                dest: dest.to_path_buf(),
                file: file.to_path_buf(),
            });
        }
        let place = RunPlace::new(dest)?;
        let dest = place.dest();
        if dest.exists() {
            let foreign = fs::read_dir(dest)
                .map_err(io(dest))?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|name| !RUN_FILES.contains(&name.as_str()));
            if let Some(file) = foreign {
                return Err(RunError::NotARunDir {
                    dir: dest.to_path_buf(),
                    file,
                });
            }
        }
        let lock = place.lock()?;
        let staging = lock.fresh_staging()?;
        Ok(RunWriter {
            lock: Some(lock),
            staging,
            committed: false,
        })
    }

    /// Where the run is being written until [`RunWriter::commit`].
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// The destination and its private directory (where checkpoints go).
    pub fn place(&self) -> &RunPlace {
        self.held().place()
    }

    /// The directory the run will occupy.
    pub fn dest(&self) -> &Path {
        self.place().dest()
    }

    fn held(&self) -> &PlaceLock {
        self.lock
            .as_ref()
            .expect("a writer holds its lock until it is consumed by commit")
    }

    /// Writes (or replaces) one file of the run.
    pub fn write(&self, file: &str, bytes: impl AsRef<[u8]>) -> Result<(), RunError> {
        let path = self.staging.join(file);
        fs::write(&path, bytes).map_err(io(&path))
    }

    /// Writes the network's weights, and the seal (`seal.toml`) that `SavedRun::load` checks
    /// them and the config against: `cost` is the cost it was trained with.
    pub fn write_network(&self, network: &Mlp, cost: Cost) -> Result<(), RunError> {
        let bytes = model::network_to_bytes(network)?;
        let seal = toml::to_string(&Seal::of(network, cost, &bytes)).map_err(|source| {
            RunError::EncodeToml {
                file: SEAL_FILE,
                source,
            }
        })?;
        self.write(WEIGHTS_FILE, &bytes)?;
        self.write(
            SEAL_FILE,
            format!(
                "# What this run's network was when `train` wrote it. `infer` refuses the run if\n\
                 # model.bpk or the network config.toml describes no longer match.\n\n{seal}"
            ),
        )
    }

    /// Moves the finished run into place, replacing a previous run in the destination in one
    /// step, and removes what the run kept beside it (its checkpoints and lock).
    pub fn commit(mut self) -> Result<PathBuf, RunError> {
        crash_point("before-swap");
        self.held().swap_in(&self.staging)?;
        self.committed = true;
        crash_point("after-swap");
        let dest = self.dest().to_path_buf();
        if let Some(lock) = self.lock.take() {
            lock.finish()?;
        }
        Ok(dest)
    }
}

/// A fail point for the crash tests: with the `fail-points` feature, the process dies here, as
/// if killed, when `DIGITS_TEST_CRASH_AT` names this point (`before-swap`, `after-swap`), to
/// show that the destination holds a complete run whatever moment a run dies at. Without the
/// feature (every build but `train`'s tests) it is nothing.
#[cfg(feature = "fail-points")]
fn crash_point(name: &str) {
    if std::env::var("DIGITS_TEST_CRASH_AT").is_ok_and(|at| at == name) {
        std::process::abort();
    }
}

#[cfg(not(feature = "fail-points"))]
fn crash_point(_name: &str) {}

impl Drop for RunWriter {
    fn drop(&mut self) {
        if !self.committed {
            // A run that failed leaves nothing half-written behind; its checkpoints stay, to
            // resume from, and with none the private directory goes too.
            let _ = fs::remove_dir_all(&self.staging);
            if let Some(lock) = self.lock.take() {
                lock.abandon();
            }
        }
    }
}
