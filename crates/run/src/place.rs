//! Where a run lives while it is made: one private directory beside its destination, and the
//! atomic move that puts a finished run in place.
//!
//! ```text
//! artifacts/
//!   mlp/                 the last complete run (what `infer` reads)
//!   .mlp.run/            this module's, while `train` writes `mlp`:
//!     owner              the lock file: which process is writing, since when
//!     staging/           the new run, until it is complete
//!     checkpoints/       what an interrupted run resumes from
//! ```
//!
//! Nothing outside `.NAME.run/` is ever created or deleted, except the destination itself,
//! which is swapped for the finished run in one step (`renameat2` with `RENAME_EXCHANGE` on
//! Linux, `renameatx_np` with `RENAME_SWAP` on macOS; elsewhere two renames, made safe by
//! [`RunPlace::lock`]): at every instant the destination holds a complete run, the old or the
//! new.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::io;
use crate::RunError;

/// Longest file name most file systems take.
const NAME_MAX: usize = 255;
/// The file inside a run's private directory that says it is ours.
const OWNER_FILE: &str = "owner";
/// The private directory's suffix: `.NAME.run`.
const PLACE_SUFFIX: &str = ".run";

/// Writes `bytes` to `file` whole or not at all: into a hidden file beside it (making the
/// folder if need be), then renamed into place, so that a reader never sees half a file and an
/// earlier one stays whole until the new one is complete. For the single files the commands
/// write outside a run (pictures, curves); a run as a whole is placed by [`RunPlace`].
pub fn write_file(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = file
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut aside_name = std::ffi::OsString::from(".");
    aside_name.push(name);
    aside_name.push(format!(".{}.partial", std::process::id()));
    let aside = file.with_file_name(aside_name);
    let written = File::create(&aside).and_then(|mut out| {
        out.write_all(bytes)?;
        // On the disk before it replaces anything: a crash after the rename leaves the whole
        // file, not an empty one.
        out.sync_all()
    });
    written
        .and_then(|()| fs::rename(&aside, file))
        .inspect_err(|_| {
            let _ = fs::remove_file(&aside);
        })
}

/// The destination of a run and its private directory beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlace {
    dest: PathBuf,
    private: PathBuf,
}

impl RunPlace {
    /// The place of the run `dest`. A symbolic link is followed: the run goes where it points
    /// (the link itself is never replaced). A destination without a final name (`..`, `/`) is
    /// refused.
    pub fn new(dest: &Path) -> Result<RunPlace, RunError> {
        let dest = if dest.is_symlink() {
            fs::canonicalize(dest).map_err(|source| RunError::DanglingOutputLink {
                path: dest.to_path_buf(),
                source,
            })?
        } else {
            dest.to_path_buf()
        };
        let name = dest
            .file_name()
            .ok_or_else(|| RunError::BadOutputPath { path: dest.clone() })?
            .to_string_lossy()
            .into_owned();
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut private = format!(".{name}{PLACE_SUFFIX}");
        if private.len() > NAME_MAX {
            // A name near the limit: the private directory is named by a hash of it instead.
            private = format!(".{:016x}{PLACE_SUFFIX}", fnv1a(name.as_bytes()));
        }
        Ok(RunPlace {
            private: parent.join(private),
            dest,
        })
    }

    /// The directory the finished run occupies.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The run's private directory, `.NAME.run` beside the destination.
    pub fn private_dir(&self) -> &Path {
        &self.private
    }

    /// Where the run is written until it is complete.
    pub fn staging_dir(&self) -> PathBuf {
        self.private.join("staging")
    }

    /// Where an unfinished run keeps what it needs to resume.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.private.join("checkpoints")
    }

    /// Takes the place for this process: creates the private directory if needed and locks it,
    /// or says which process holds it. The lock is released when the [`PlaceLock`] is dropped,
    /// or when the process ends, however it ends.
    pub fn lock(&self) -> Result<PlaceLock, RunError> {
        // A run that finishes removes the directory with its lock file; one that opened the file
        // just before may hold a lock on a file no longer there. It then tries again.
        let mut tries = 0;
        loop {
            match self.try_lock() {
                Err(RunError::Io { .. }) | Ok(None) if tries < 3 => tries += 1,
                Ok(None) => {
                    return Err(RunError::Busy {
                        dest: self.dest.clone(),
                        holder: "a run that was finishing".into(),
                    })
                }
                Ok(Some(lock)) => return Ok(lock),
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt at [`RunPlace::lock`]; `None` when the lock file was removed under it.
    fn try_lock(&self) -> Result<Option<PlaceLock>, RunError> {
        if let Some(parent) = self.private.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        match fs::create_dir(&self.private) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !looks_ours(&self.private) {
                    return Err(RunError::NotOurs {
                        path: self.private.clone(),
                    });
                }
            }
            Err(e) => return Err(io(&self.private)(e)),
        }
        let path = self.private.join(OWNER_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(RunError::Busy {
                    dest: self.dest.clone(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        if !same_file(&file, &path) {
            return Ok(None);
        }
        file.set_len(0).map_err(io(&path))?;
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        writeln!(
            file,
            "process {} (`{}`), writing since {since} s after the Unix epoch",
            std::process::id(),
            // Short, so that the line stays well under what `looks_ours` reads.
            std::env::args()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(512)
                .collect::<String>()
        )
        .map_err(io(&path))?;
        // A run that was killed while swapping with the two-rename fallback left the previous
        // run aside: put it back before anything else.
        let aside = self.private.join("previous");
        if aside.is_dir() && !self.dest.exists() {
            fs::rename(&aside, &self.dest).map_err(io(&self.dest))?;
        }
        Ok(Some(PlaceLock {
            place: self.clone(),
            _file: file,
        }))
    }
}

/// Whether `private` is a directory `train` made (and may remove when the run is done): its
/// `owner` file is empty or says which process wrote it, as `train` writes it, and nothing in
/// it is foreign (only `owner`, `staging`, `checkpoints`, `previous` and hidden temporary
/// files). A folder of the user's that happens to hold a file named `owner` is not ours.
fn looks_ours(private: &Path) -> bool {
    let owner = private.join(OWNER_FILE);
    let said = match fs::symlink_metadata(&owner) {
        Ok(m) if m.is_file() && m.len() < 4096 => fs::read_to_string(&owner).unwrap_or_default(),
        _ => return false,
    };
    if !(said.is_empty() || said.starts_with("process ")) {
        return false;
    }
    fs::read_dir(private).is_ok_and(|entries| {
        entries.flatten().all(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            matches!(
                name.as_ref(),
                OWNER_FILE | "staging" | "checkpoints" | "previous"
            ) || name.starts_with('.')
        })
    })
}

/// Whether the open `file` is still the one at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// A run's place, held by this process: only the holder writes the staging directory and the
/// checkpoints, and moves a run into place.
#[derive(Debug)]
pub struct PlaceLock {
    place: RunPlace,
    _file: File,
}

impl PlaceLock {
    /// The place this lock holds.
    pub fn place(&self) -> &RunPlace {
        &self.place
    }

    /// An empty staging directory, clearing what a killed run left there.
    pub fn fresh_staging(&self) -> Result<PathBuf, RunError> {
        let staging = self.place.staging_dir();
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        fs::create_dir(&staging).map_err(io(&staging))?;
        Ok(staging)
    }

    /// Puts the complete run in `staging` at the destination in one step, then removes the run
    /// it replaced: see [`RunPlace`].
    pub fn swap_in(&self, staging: &Path) -> Result<(), RunError> {
        let dest = &self.place.dest;
        if !dest.exists() {
            return fs::rename(staging, dest).map_err(io(dest));
        }
        match exchange(staging, dest) {
            Ok(()) => {}
            Err(e) if exchange_unsupported(&e) => {
                // Two renames: a crash between them leaves the previous run in `previous`,
                // which the next `lock` puts back.
                let aside = self.place.private.join("previous");
                if aside.exists() {
                    fs::remove_dir_all(&aside).map_err(io(&aside))?;
                }
                fs::rename(dest, &aside).map_err(io(dest))?;
                if let Err(e) = fs::rename(staging, dest) {
                    let _ = fs::rename(&aside, dest);
                    return Err(io(dest)(e));
                }
                return fs::remove_dir_all(&aside).map_err(io(&aside));
            }
            Err(e) => return Err(io(dest)(e)),
        }
        // `staging` now holds the previous run.
        fs::remove_dir_all(staging).map_err(io(staging))
    }

    /// Gives the place up after a failed run: the private directory goes unless it holds
    /// checkpoints to resume from.
    pub fn abandon(self) {
        let checkpoints = self.place.checkpoints_dir();
        let resumable = fs::read_dir(&checkpoints).is_ok_and(|mut d| d.next().is_some());
        if !resumable {
            let _ = fs::remove_dir_all(&self.place.private);
        }
    }

    /// Removes the private directory: the run is complete and needs nothing beside it.
    pub fn finish(self) -> Result<(), RunError> {
        let private = self.place.private.clone();
        // The lock file goes last, with everything else; a process waiting on it finds the
        // directory gone and starts afresh.
        fs::remove_dir_all(&private).map_err(io(&private))
    }
}

/// Swaps two paths atomically: `renameat2(RENAME_EXCHANGE)` on Linux, `renameatx_np(RENAME_SWAP)`
/// on Apple's systems, through rustix's safe wrappers.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Whether `exchange` failed because the system or file system cannot swap, not because of the
/// paths.
fn exchange_unsupported(e: &std::io::Error) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        use rustix::io::Errno;
        let unsupported = [Errno::INVAL, Errno::NOSYS, Errno::NOTSUP];
        if unsupported
            .iter()
            .any(|n| e.raw_os_error() == Some(n.raw_os_error()))
        {
            return true;
        }
    }
    e.kind() == std::io::ErrorKind::Unsupported
}

/// FNV-1a: a short, stable name for a long one.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_the_users_with_a_file_named_owner_is_not_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let place = RunPlace::new(&tmp.path().join("mlp")).unwrap();
        // The user's own .mlp.run: an owner file of theirs, and their notes.
        put(place.private_dir(), OWNER_FILE, "me, 2026");
        put(place.private_dir(), "notes.txt", "mine");
        let e = place.lock().unwrap_err().to_string();
        assert!(e.contains("was not made by `train`"), "{e}");
        // With train's own owner line but a foreign file beside it: still not taken.
        put(
            place.private_dir(),
            OWNER_FILE,
            "process 1 (`train`), writing since 0 s",
        );
        assert!(place.lock().is_err());
        fs::remove_file(place.private_dir().join("notes.txt")).unwrap();
        assert!(place.lock().is_ok());
        assert!(fs::read_to_string(tmp.path().join(".mlp.run/owner")).is_ok());
    }

    #[test]
    fn a_file_is_written_whole_and_leaves_nothing_beside_it() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("new/dir/picture.png");
        write_file(&file, b"first").unwrap();
        write_file(&file, b"second, longer").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"second, longer");
        let names: Vec<_> = fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["picture.png"]);
        // A folder where the file should be: an error, and the folder untouched.
        let dir = tmp.path().join("taken");
        fs::create_dir_all(dir.join("inside")).unwrap();
        assert!(write_file(&dir, b"x").is_err());
        assert!(dir.join("inside").is_dir());
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            2,
            "no aside file left"
        );
    }

    fn put(dir: &Path, file: &str, text: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(file), text).unwrap();
    }

    fn read(dir: &Path, file: &str) -> String {
        fs::read_to_string(dir.join(file)).unwrap()
    }

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let tmp = tempfile::tempdir().unwrap();
        let place = RunPlace::new(&tmp.path().join("run")).unwrap();
        let held = place.lock().unwrap();
        let err = place.lock().unwrap_err().to_string();
        assert!(
            err.contains("is being written by another run")
                && err.contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        held.finish().unwrap();
        assert!(!tmp.path().join(".run.run").exists(), "nothing left beside");
        // Free again.
        place.lock().unwrap();
    }

    #[test]
    fn swapping_in_keeps_a_complete_run_at_every_step() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        put(&dest, "model.bpk", "old");
        let place = RunPlace::new(&dest).unwrap();
        let lock = place.lock().unwrap();
        let staging = lock.fresh_staging().unwrap();
        put(&staging, "model.bpk", "new");
        // Before the swap: the old run. The swap is one system call; after it, the new run.
        assert_eq!(read(&dest, "model.bpk"), "old");
        lock.swap_in(&staging).unwrap();
        assert_eq!(read(&dest, "model.bpk"), "new");
        assert!(!staging.exists(), "the previous run is removed");
    }

    #[test]
    fn the_two_rename_fallback_recovers_from_a_crash_between_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        let place = RunPlace::new(&dest).unwrap();
        // A crash after the first rename: the destination is gone, the old run set aside.
        put(&place.private_dir().join("previous"), "model.bpk", "old");
        put(place.private_dir(), OWNER_FILE, "");
        assert!(!dest.exists());
        // The next run to take the place puts it back first.
        let _lock = place.lock().unwrap();
        assert_eq!(read(&dest, "model.bpk"), "old");
    }

    #[test]
    fn a_symlinked_destination_is_followed_not_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        put(&real, "model.bpk", "old");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let place = RunPlace::new(&link).unwrap();
        assert_eq!(place.dest(), fs::canonicalize(&real).unwrap());
        let lock = place.lock().unwrap();
        let staging = lock.fresh_staging().unwrap();
        put(&staging, "model.bpk", "new");
        lock.swap_in(&staging).unwrap();
        assert!(link.is_symlink(), "the link is still a link");
        assert_eq!(read(&link, "model.bpk"), "new");
    }

    #[test]
    fn names_at_the_limit_get_a_short_private_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let long = "r".repeat(250);
        let place = RunPlace::new(&tmp.path().join(&long)).unwrap();
        let private = place.private_dir().file_name().unwrap().len();
        assert!(private <= NAME_MAX, "{private}");
        let lock = place.lock().unwrap();
        let staging = lock.fresh_staging().unwrap();
        put(&staging, "model.bpk", "new");
        lock.swap_in(&staging).unwrap();
        assert_eq!(read(&tmp.path().join(&long), "model.bpk"), "new");
    }

    #[test]
    fn a_users_own_directory_of_that_name_is_never_touched() {
        let tmp = tempfile::tempdir().unwrap();
        let mine = tmp.path().join(".run.run");
        put(&mine, "notes.txt", "mine");
        let place = RunPlace::new(&tmp.path().join("run")).unwrap();
        let err = place.lock().unwrap_err().to_string();
        assert!(
            err.contains(".run.run") && err.contains("not made by"),
            "{err}"
        );
        assert_eq!(read(&mine, "notes.txt"), "mine");
    }
}
