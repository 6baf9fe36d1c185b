//! Checkpoints: a folder per saved step holding every network, every optimizer's state and the
//! run's state, written atomically, with a checksum of every file.
//!
//! Layout: `<logdir>/checkpoints/step-000200/` holds the step's files (burn's burnpack records:
//! `generator.bpk`, `discriminator.bpk`, `generator_optimizer.bpk`, …; which ones depends on the
//! [`TrainStep`](super::TrainStep)) and `state.json` ([`CheckpointState`]); the file
//! `<logdir>/checkpoints/latest` names the newest folder.
//!
//! The checkpoint does not know what it holds: the recipe that built the networks writes an
//! opaque description (`recipe`), the step its own state (`step_state`), the batch source its
//! position (`data`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Result, RganError};
use crate::files::write_atomically;

/// The checkpoint layout this rgan writes and reads.
pub const CHECKPOINT_FORMAT: u32 = 2;

/// The name of the state file in a checkpoint folder.
const STATE_FILE: &str = "state.json";

/// The non-tensor part of a checkpoint (`state.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointState {
    /// The checkpoint layout ([`CHECKPOINT_FORMAT`]).
    pub format: u32,
    /// The number of steps done.
    pub step: usize,
    /// What the recipe that built the networks says of them (opaque here).
    pub recipe: serde_json::Value,
    /// The run's configuration (a [`TrainConfig`](super::TrainConfig) for GAN runs).
    pub config: serde_json::Value,
    /// The step's own state (random streams, replay pool, …).
    pub step_state: serde_json::Map<String, serde_json::Value>,
    /// The batch source's position.
    pub data: serde_json::Value,
    /// Every other file of the folder with its CRC-32C checksum.
    pub files: BTreeMap<String, u32>,
}

/// What a [`TrainStep`](super::TrainStep) hands to a checkpoint: files of tensors and entries of
/// its state.
#[derive(Default)]
pub struct CheckpointWriter {
    files: Vec<(String, Vec<u8>)>,
    state: serde_json::Map<String, serde_json::Value>,
}

fn record_error(path: &Path, e: impl std::fmt::Display) -> RganError {
    RganError::file(path, format!("checkpoint record error: {e}"))
}

/// A module's record as bytes (its `valid()` copy: buffers synced, no autodiff).
pub(crate) fn module_bytes<M: Module>(module: &M, path: &Path) -> Result<Vec<u8>> {
    Ok(module.valid().into_record().into_bytes().map_err(|e| record_error(path, e))?.to_vec())
}

impl CheckpointWriter {
    /// A writer with nothing in it yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name` (e.g. `generator.bpk`) holding `module`'s record.
    ///
    /// Errors ([`RganError::NotFinite`]) when a weight is NaN or infinite: such a checkpoint is
    /// never written.
    pub fn module<M: Module>(&mut self, name: &str, module: &M) -> Result<()> {
        if !crate::model::parameters_finite(module) {
            return Err(RganError::NotFinite { what: format!("the weights of {name}"), step: 0, kept: String::new() });
        }
        let bytes = module_bytes(module, Path::new(name))?;
        self.files.push((name.to_string(), bytes));
        Ok(())
    }

    /// Adds `name` holding an optimizer's state.
    pub fn optimizer(&mut self, name: &str, optimizer: &ModuleOptimizer) -> Result<()> {
        let bytes =
            optimizer.into_bytes().map_err(|e| RganError::file(name, format!("optimizer record error: {e}")))?;
        self.files.push((name.to_string(), bytes.to_vec()));
        Ok(())
    }

    /// Adds the entry `key` of the step's state.
    pub fn state<T: Serialize>(&mut self, key: &str, value: &T) -> Result<()> {
        let value = serde_json::to_value(value)
            .map_err(|e| RganError::invalid(key, format!("cannot be saved in a checkpoint: {e}")))?;
        self.state.insert(key.to_string(), value);
        Ok(())
    }
}

/// A checkpoint folder, read: its state, and its files read on demand (each checked against its
/// checksum).
#[derive(Clone, Debug)]
pub struct Checkpoint {
    dir: PathBuf,
    state: CheckpointState,
}

impl Checkpoint {
    /// Opens the checkpoint of `path` (any path [`resolve_checkpoint`] accepts). Errors name the
    /// folder or file: no checkpoint there, an unreadable or invalid `state.json`, a checkpoint
    /// of another format.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let dir = resolve_checkpoint(path)?;
        let file = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| RganError::file(&file, format!("cannot read: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| RganError::file(&file, format!("is not a valid checkpoint state (corrupt?): {e}")))?;
        match value.get("format").and_then(serde_json::Value::as_u64) {
            Some(format) if format == CHECKPOINT_FORMAT as u64 => {}
            Some(format) => {
                return Err(RganError::file(
                    &file,
                    format!("is a checkpoint of format {format}; this rgan reads format {CHECKPOINT_FORMAT}"),
                ));
            }
            None => {
                return Err(RganError::file(
                    &file,
                    format!(
                        "was written by an earlier rgan (checkpoint format 1, before the core's redesign \
                         after commit 759f809); this rgan reads format {CHECKPOINT_FORMAT}: sample or resume it \
                         with that rgan, or train the model again"
                    ),
                ));
            }
        }
        let state = serde_json::from_value(value)
            .map_err(|e| RganError::file(&file, format!("is not a valid checkpoint state: {e}")))?;
        Ok(Self { dir, state })
    }

    /// The checkpoint folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The number of steps done.
    pub fn step(&self) -> usize {
        self.state.step
    }

    /// The whole `state.json`.
    pub fn state(&self) -> &CheckpointState {
        &self.state
    }

    /// The recipe's description of the networks.
    pub fn recipe(&self) -> &serde_json::Value {
        &self.state.recipe
    }

    /// The run's configuration, read as `T`.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.state.config.clone()).map_err(|e| {
            RganError::file(self.dir.join(STATE_FILE), format!("holds a configuration this rgan cannot read: {e}"))
        })
    }

    /// Whether the checkpoint holds the file `name`.
    pub fn has(&self, name: &str) -> bool {
        self.state.files.contains_key(name)
    }

    /// The entry `key` of the step's state.
    pub fn step_state<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let file = self.dir.join(STATE_FILE);
        let value = self.state.step_state.get(key).ok_or_else(|| {
            RganError::file(&file, format!("has no `{key}` entry: not a checkpoint of this kind of run"))
        })?;
        serde_json::from_value(value.clone())
            .map_err(|e| RganError::file(&file, format!("holds an invalid `{key}` entry: {e}")))
    }

    /// The bytes of file `name`, checked against its checksum.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.dir.join(name);
        let expected = *self.state.files.get(name).ok_or_else(|| {
            RganError::file(&self.dir, format!("holds no {name}: not a checkpoint of this kind of run"))
        })?;
        let bytes = std::fs::read(&path).map_err(|e| RganError::file(&path, format!("cannot read: {e}")))?;
        let found = crc32c::crc32c(&bytes);
        if found != expected {
            return Err(RganError::file(
                &path,
                format!(
                    "is corrupt: its checksum is {found:08x} but the checkpoint recorded {expected:08x}; resume \
                     from an older checkpoint or train again"
                ),
            ));
        }
        Ok(bytes)
    }

    /// `template` with the weights of file `name` (a module of the same structure).
    pub fn module<M: Module>(&self, name: &str, template: M) -> Result<M> {
        let path = self.dir.join(name);
        let bytes = self.read(name)?;
        let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(|e| record_error(&path, e))?;
        template.try_load_record(record).map_err(|e| record_error(&path, e))
    }

    /// `template` (a fresh optimizer of the same kind) with the state of file `name`.
    pub fn optimizer(&self, name: &str, template: ModuleOptimizer) -> Result<ModuleOptimizer> {
        let path = self.dir.join(name);
        template
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(self.read(name)?))
            .map_err(|e| RganError::file(&path, format!("optimizer record error: {e}")))
    }
}

/// What [`write_checkpoint`] writes besides the step's own files.
pub(crate) struct CheckpointMeta {
    pub step: usize,
    pub recipe: serde_json::Value,
    pub config: serde_json::Value,
    pub data: serde_json::Value,
}

/// Writes a checkpoint folder under `<logdir>/checkpoints` (into a temporary folder renamed into
/// place, removed again if the write fails), points `latest` at it, and removes all but the
/// newest `keep` checkpoints.
pub(crate) fn write_checkpoint(
    logdir: &Path,
    meta: CheckpointMeta,
    writer: CheckpointWriter,
    keep: usize,
) -> Result<PathBuf> {
    let root = logdir.join("checkpoints");
    let name = format!("step-{:06}", meta.step);
    let dir = root.join(&name);
    let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = root.join(format!(".{name}.old-{}", std::process::id()));
    for leftover in [&tmp, &old] {
        if leftover.exists() {
            let _ = std::fs::remove_dir_all(leftover);
        }
    }
    let written = write_folder(&tmp, meta, writer).and_then(|()| {
        // A folder of the same step (a run resumed and saved at once) is moved aside, not
        // deleted, until the new one is in place; a crash in between leaves `latest` naming a
        // missing folder, which `existing_checkpoint` steps past to the newest complete one.
        if dir.exists() {
            std::fs::rename(&dir, &old).map_err(|e| RganError::file(&dir, format!("cannot replace it: {e}")))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| RganError::file(&dir, format!("cannot be moved into place: {e}")))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        if old.exists() && !dir.exists() {
            let _ = std::fs::rename(&old, &dir);
        }
        return Err(e);
    }
    if old.exists() {
        let _ = std::fs::remove_dir_all(&old);
    }
    write_atomically(root.join("latest"), name.as_bytes())?;
    if keep > 0 {
        let mut all: Vec<PathBuf> = std::fs::read_dir(&root)
            .map_err(|e| RganError::file(&root, format!("cannot list: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| is_step_folder(&n.to_string_lossy())))
            .collect();
        all.sort_by_key(|p| step_of_folder(p));
        let excess = all.len().saturating_sub(keep);
        for old in &all[..excess] {
            let _ = std::fs::remove_dir_all(old);
        }
    }
    Ok(dir)
}

fn write_folder(tmp: &Path, meta: CheckpointMeta, writer: CheckpointWriter) -> Result<()> {
    std::fs::create_dir_all(tmp).map_err(|e| RganError::file(tmp, format!("cannot create the folder: {e}")))?;
    let mut files = BTreeMap::new();
    for (file, bytes) in &writer.files {
        let path = tmp.join(file);
        write_durably(&path, bytes)?;
        files.insert(file.clone(), crc32c::crc32c(bytes));
    }
    let state = CheckpointState {
        format: CHECKPOINT_FORMAT,
        step: meta.step,
        recipe: meta.recipe,
        config: meta.config,
        step_state: writer.state,
        data: meta.data,
        files,
    };
    let json = serde_json::to_vec_pretty(&state).map_err(|e| RganError::file(tmp, format!("state: {e}")))?;
    write_durably(&tmp.join(STATE_FILE), &json)
}

/// Writes `bytes` to `path` and flushes them to the disk (`fsync`) before the folder is renamed
/// into place, so that a power cut cannot leave a renamed folder of empty files.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(|e| RganError::file(path, format!("cannot be created: {e}")))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| RganError::file(path, format!("cannot be written: {e}")))
}

/// Whether `name` is a checkpoint folder's name (`step-000200`).
fn is_step_folder(name: &str) -> bool {
    name.strip_prefix("step-").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The step a `step-N` folder holds (by number: `step-1000000` comes after `step-999999`).
fn step_of_folder(path: &Path) -> u64 {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.strip_prefix("step-").and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The checkpoint a run in `logdir` resumes from: the one `checkpoints/latest` names, or, when
/// that file is missing or names a folder that is not there (a crash between two renames), the
/// newest complete `step-*` folder, with a note saying so. `None` when the folder holds no
/// checkpoint at all. A `latest` that cannot be read, and a folder whose step folders are all
/// incomplete, are errors: a run never starts afresh over checkpoints it could not read.
pub(crate) fn existing_checkpoint(logdir: &Path) -> Result<Option<(PathBuf, Option<String>)>> {
    let root = logdir.join("checkpoints");
    let latest = root.join("latest");
    let named = if latest.is_file() {
        let name =
            std::fs::read_to_string(&latest).map_err(|e| RganError::file(&latest, format!("cannot read: {e}")))?;
        let dir = root.join(name.trim());
        if dir.join(STATE_FILE).is_file() {
            return Ok(Some((dir, None)));
        }
        Some(dir)
    } else {
        None
    };
    let mut steps: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| is_step_folder(&n.to_string_lossy())))
            .collect(),
        Err(_) if named.is_none() => return Ok(None),
        Err(e) => return Err(RganError::file(&root, format!("cannot list: {e}"))),
    };
    if steps.is_empty() && named.is_none() {
        return Ok(None);
    }
    steps.sort_by_key(|p| step_of_folder(p));
    let Some(newest) = steps.into_iter().rev().find(|d| d.join(STATE_FILE).is_file()) else {
        return Err(RganError::file(
            &root,
            "holds no complete checkpoint (no step folder has its state.json): restart the run to replace them",
        ));
    };
    let note = match named {
        Some(dir) => format!(
            "{} names {}, which is not a complete checkpoint; resuming from {}",
            latest.display(),
            dir.display(),
            newest.display()
        ),
        None => format!("{} is missing; resuming from the newest checkpoint, {}", latest.display(), newest.display()),
    };
    Ok(Some((newest, Some(note))))
}

/// Removes the partial checkpoint folders (`.step-N.tmp-PID`, `.step-N.old-PID`) and temporary
/// files an interrupted write left in `logdir/checkpoints`, and says what it removed. Only safe
/// while the folder is locked ([`FolderLock`](crate::files::FolderLock)): another run could be
/// writing them.
pub(crate) fn remove_partial_checkpoints(logdir: &Path) -> Result<Option<String>> {
    let root = logdir.join("checkpoints");
    let Ok(entries) = std::fs::read_dir(&root) else { return Ok(None) };
    let (mut removed, mut bytes) = (Vec::new(), 0u64);
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !(name.starts_with('.') && (name.contains(".tmp-") || name.contains(".old-"))) {
            continue;
        }
        bytes += folder_size(&path);
        let gone = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        gone.map_err(|e| RganError::file(&path, format!("is a partial checkpoint that cannot be removed: {e}")))?;
        removed.push(name);
    }
    if removed.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "removed {} partial checkpoint file(s) an interrupted write left in {} ({:.1} MB): {}",
        removed.len(),
        root.display(),
        bytes as f64 / 1e6,
        removed.join(", ")
    )))
}

/// The bytes of the files under `path`.
fn folder_size(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| folder_size(&e.path())).sum())
            .unwrap_or(0)
    } else {
        path.metadata().map(|m| m.len()).unwrap_or(0)
    }
}

/// Finds a checkpoint folder from a path that is the checkpoint folder itself, a `checkpoints`
/// folder with a `latest` file, or a log folder holding `checkpoints/latest`.
///
/// ```
/// let err = rgan::train::resolve_checkpoint("/nonexistent/logs").unwrap_err();
/// assert!(err.to_string().contains("/nonexistent/logs"));
/// ```
pub fn resolve_checkpoint(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    if path.join(STATE_FILE).is_file() {
        return Ok(path.to_path_buf());
    }
    for root in [path.to_path_buf(), path.join("checkpoints")] {
        let latest = root.join("latest");
        if latest.is_file() {
            let name =
                std::fs::read_to_string(&latest).map_err(|e| RganError::file(&latest, format!("cannot read: {e}")))?;
            let dir = root.join(name.trim());
            if dir.join(STATE_FILE).is_file() {
                return Ok(dir);
            }
            return Err(RganError::file(&latest, format!("names {}, which holds no {STATE_FILE}", dir.display())));
        }
    }
    Err(RganError::file(
        path,
        "is not a checkpoint: expected a folder with state.json, or a log folder with checkpoints/latest",
    ))
}
