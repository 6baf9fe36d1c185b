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
    pub fn module<M: Module>(&mut self, name: &str, module: &M) -> Result<()> {
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
                        "was written by an earlier rgan (checkpoint format 1); this rgan reads format \
                         {CHECKPOINT_FORMAT}: train the model again"
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
    if tmp.exists() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let written = write_folder(&tmp, meta, writer).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| RganError::file(&dir, format!("cannot replace it: {e}")))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| RganError::file(&dir, format!("cannot be moved into place: {e}")))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    write_atomically(root.join("latest"), name.as_bytes())?;
    if keep > 0 {
        let mut all: Vec<PathBuf> = std::fs::read_dir(&root)
            .map_err(|e| RganError::file(&root, format!("cannot list: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("step-")))
            .collect();
        all.sort();
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
        std::fs::write(&path, bytes).map_err(|e| RganError::file(&path, format!("cannot be written: {e}")))?;
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
    let path = tmp.join(STATE_FILE);
    std::fs::write(&path, json).map_err(|e| RganError::file(&path, format!("cannot be written: {e}")))
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
