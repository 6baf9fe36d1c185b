//! Checkpoints: both networks, both optimizers' state, the random generator and the data
//! position, written atomically.
//!
//! Layout: `<logdir>/checkpoints/step-000200/{generator,discriminator}.bpk` (burn's burnpack
//! records), `{generator,discriminator}_optimizer.bpk`, `state.json` ([`TrainingState`]); the
//! file `<logdir>/checkpoints/latest` names the newest one.

use std::path::{Path, PathBuf};

use burn::prelude::*;

use super::TrainConfig;
use crate::data::BatcherState;
use crate::error::{Result, RganError};
use crate::features::TensorPool;
use crate::model::{DcganGenerator, MnistGenerator};
use crate::rng::Rng;
use crate::zoo::ZooGenerator;

/// The non-tensor part of a checkpoint (`state.json`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainingState {
    /// The number of GAN steps done.
    pub step: usize,
    /// The run's configuration.
    pub config: TrainConfig,
    /// The noise generator's state.
    pub rng: Rng,
    /// The data position.
    pub batcher: BatcherState,
    /// The fixed noise of the sample grids, row-major `[grid_size², noise_dims]`.
    pub fixed_noise: Vec<f32>,
    /// The fixed continuous codes of an InfoGAN's sample grids, row-major.
    #[serde(default)]
    pub fixed_codes: Vec<f32>,
    /// The replay pool, when the run uses one.
    #[serde(default)]
    pub replay_pool: Option<TensorPool>,
    /// Whether the checkpoint holds `generator_ema.bpk`.
    #[serde(default)]
    pub has_generator_ema: bool,
}

pub(crate) fn file_error(path: &Path, reason: impl Into<String>) -> RganError {
    RganError::File { path: path.to_path_buf(), reason: reason.into() }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename. Creates the
/// parent folder if needed.
///
/// ```
/// let path = std::env::temp_dir().join(format!("rgan-doc-atomic-{}", std::process::id()));
/// rgan::train::write_atomically(&path, b"hello").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| file_error(parent, format!("cannot create the folder: {e}")))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| file_error(&tmp, format!("cannot be written: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, format!("cannot be replaced: {e}")))
}

/// The parts of a checkpoint to write.
pub(crate) struct CheckpointParts {
    pub generator: Vec<u8>,
    pub discriminator: Vec<u8>,
    pub generator_optimizer: Vec<u8>,
    pub discriminator_optimizer: Vec<u8>,
    pub generator_ema: Option<Vec<u8>>,
    /// Further files (name, bytes), e.g. a guiding classifier and its optimizer.
    pub extra: Vec<(&'static str, Vec<u8>)>,
    pub state: TrainingState,
}

fn record_error(path: &Path, e: impl std::fmt::Display) -> RganError {
    file_error(path, format!("checkpoint record error: {e}"))
}

pub(crate) fn module_bytes<M: Module>(module: M, path: &Path) -> Result<Vec<u8>> {
    Ok(module.into_record().into_bytes().map_err(|e| record_error(path, e))?.to_vec())
}

/// Writes a checkpoint folder under `<logdir>/checkpoints` (into a temporary folder renamed
/// into place), points `latest` at it, and removes all but the newest `keep` checkpoints.
pub(crate) fn write_checkpoint(logdir: &Path, parts: CheckpointParts, keep: usize) -> Result<PathBuf> {
    let root = logdir.join("checkpoints");
    let name = format!("step-{:06}", parts.state.step);
    let dir = root.join(&name);
    let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    std::fs::create_dir_all(&tmp).map_err(|e| file_error(&tmp, format!("cannot create the folder: {e}")))?;
    let json = serde_json::to_vec_pretty(&parts.state).map_err(|e| file_error(&tmp, format!("state: {e}")))?;
    for (file, bytes) in [
        ("generator.bpk", &parts.generator),
        ("discriminator.bpk", &parts.discriminator),
        ("generator_optimizer.bpk", &parts.generator_optimizer),
        ("discriminator_optimizer.bpk", &parts.discriminator_optimizer),
        ("state.json", &json),
    ]
    .into_iter()
    .chain(parts.generator_ema.as_ref().map(|bytes| ("generator_ema.bpk", bytes)))
    .chain(parts.extra.iter().map(|(file, bytes)| (*file, bytes)))
    {
        let path = tmp.join(file);
        std::fs::write(&path, bytes).map_err(|e| file_error(&path, format!("cannot be written: {e}")))?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| file_error(&dir, format!("cannot replace it: {e}")))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| file_error(&dir, format!("cannot be moved into place: {e}")))?;
    write_atomically(root.join("latest"), name.as_bytes())?;
    if keep > 0 {
        let mut all: Vec<PathBuf> = std::fs::read_dir(&root)
            .map_err(|e| file_error(&root, format!("cannot list: {e}")))?
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

/// Finds a checkpoint folder from a path that is the checkpoint folder itself, a `checkpoints`
/// folder with a `latest` file, or a log folder holding `checkpoints/latest`.
///
/// ```
/// let err = rgan::train::resolve_checkpoint("/nonexistent/logs").unwrap_err();
/// assert!(err.to_string().contains("/nonexistent/logs"));
/// ```
pub fn resolve_checkpoint(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    if path.join("generator.bpk").is_file() && path.join("state.json").is_file() {
        return Ok(path.to_path_buf());
    }
    for root in [path.to_path_buf(), path.join("checkpoints")] {
        let latest = root.join("latest");
        if latest.is_file() {
            let name =
                std::fs::read_to_string(&latest).map_err(|e| file_error(&latest, format!("cannot read: {e}")))?;
            let dir = root.join(name.trim());
            if dir.join("generator.bpk").is_file() {
                return Ok(dir);
            }
            return Err(file_error(&latest, format!("names {}, which holds no generator.bpk", dir.display())));
        }
    }
    Err(file_error(
        path,
        "is not a checkpoint: expected a folder with generator.bpk and state.json, or a log folder with \
         checkpoints/latest",
    ))
}

/// Reads the [`TrainingState`] of a checkpoint (any path [`resolve_checkpoint`] accepts).
pub fn read_training_state(path: impl AsRef<Path>) -> Result<TrainingState> {
    let dir = resolve_checkpoint(path)?;
    let file = dir.join("state.json");
    let text = std::fs::read_to_string(&file).map_err(|e| file_error(&file, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| file_error(&file, format!("is not a valid training state: {e}")))
}

pub(crate) fn load_module<M: Module>(module: M, file: &Path) -> Result<M> {
    let bytes = std::fs::read(file).map_err(|e| file_error(file, format!("cannot read: {e}")))?;
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| record_error(file, e))?;
    module.try_load_record(record).map_err(|e| record_error(file, e))
}

/// Loads the generator of a checkpoint (any path [`resolve_checkpoint`] accepts) onto `device`,
/// with its training configuration: its moving average (`generator_ema.bpk`) with `ema`, which
/// errors when the run kept none.
///
/// ```
/// use burn::prelude::*;
/// assert!(rgan::train::load_generator("/nonexistent/logs", false, &Device::default()).is_err());
/// ```
pub fn load_generator(path: impl AsRef<Path>, ema: bool, device: &Device) -> Result<(MnistGenerator, TrainConfig)> {
    let dir = resolve_checkpoint(path)?;
    let state = read_training_state(&dir)?;
    if state.config.dcgan.is_some() {
        return Err(file_error(&dir, "holds a DCGAN generator: load it with `load_dcgan_generator`"));
    }
    if let Some(model) = state.config.zoo {
        return Err(file_error(&dir, format!("holds the zoo's {model} generator: load it with `load_zoo_generator`")));
    }
    let generator = state.config.generator.init(&mut Rng::seed_from_u64(0), device)?;
    let generator = load_module(generator, &generator_file(&dir, &state, ema)?)?;
    Ok((generator, state.config))
}

/// `generator.bpk`, or `generator_ema.bpk` with `ema` (an error when the run kept none).
fn generator_file(dir: &Path, state: &TrainingState, ema: bool) -> Result<PathBuf> {
    if !ema {
        return Ok(dir.join("generator.bpk"));
    }
    if !state.has_generator_ema {
        return Err(file_error(
            dir,
            "holds no generator moving average: train with --ema-decay (TrainConfig::generator_ema_decay) to keep one",
        ));
    }
    Ok(dir.join("generator_ema.bpk"))
}

/// Loads the DCGAN generator of a checkpoint (any path [`resolve_checkpoint`] accepts) onto
/// `device`, rebuilt from the configuration's `dcgan` section, with the training configuration:
/// its moving average with `ema`. Errors when the run did not train DCGAN networks.
///
/// ```
/// use burn::prelude::*;
/// assert!(rgan::train::load_dcgan_generator("/nonexistent/logs", false, &Device::default()).is_err());
/// ```
pub fn load_dcgan_generator(
    path: impl AsRef<Path>,
    ema: bool,
    device: &Device,
) -> Result<(DcganGenerator, TrainConfig)> {
    let dir = resolve_checkpoint(path)?;
    let state = read_training_state(&dir)?;
    let Some(networks) = &state.config.dcgan else {
        return Err(file_error(&dir, "holds no DCGAN networks (its configuration has no `dcgan` section)"));
    };
    let generator = networks.generator.init(&mut Rng::seed_from_u64(0), device)?;
    let generator = load_module(generator, &generator_file(&dir, &state, ema)?)?;
    Ok((generator, state.config))
}

/// Loads the generator of a classic-zoo checkpoint (`rgan train zoo`; any path
/// [`resolve_checkpoint`] accepts) onto `device`, rebuilt by
/// [`ZooModel::init_generator`](crate::zoo::ZooModel::init_generator), with the training
/// configuration: its moving average with `ema`. Errors when the run did not train a zoo model.
///
/// ```
/// use burn::prelude::*;
/// assert!(rgan::train::load_zoo_generator("/nonexistent/logs", false, &Device::default()).is_err());
/// ```
pub fn load_zoo_generator(path: impl AsRef<Path>, ema: bool, device: &Device) -> Result<(ZooGenerator, TrainConfig)> {
    let dir = resolve_checkpoint(path)?;
    let state = read_training_state(&dir)?;
    let Some(model) = state.config.zoo else {
        return Err(file_error(&dir, "holds no zoo model (its configuration has no `zoo` entry)"));
    };
    let generator = model.init_generator(&state.config, &mut Rng::seed_from_u64(0), device)?;
    let generator = load_module(generator, &generator_file(&dir, &state, ema)?)?;
    Ok((generator, state.config))
}
