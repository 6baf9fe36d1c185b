//! TF-GAN's fourth step, the train loop (`gan_train`): rgan's one training loop.
//!
//! A [`Trainer`] holds a [`TrainStep`] (the GAN, CycleGAN, StarGAN or a classifier), the
//! [`BatchSource`] it is fed from and the run's log folder. [`Trainer::start_or_resume`] starts
//! a run or resumes the newest checkpoint of its log folder (checking it is the same model);
//! [`Trainer::run`] feeds the step its batches until the last step, with hooks, scalars (CSV and
//! TensorBoard), sample grids and atomic checkpoints on their cadence, and stops early (after a
//! checkpoint) when a hook or the stop flag asks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::checkpoint::{
    Checkpoint, CheckpointMeta, CheckpointWriter, existing_checkpoint, remove_partial_checkpoints, write_checkpoint,
};
use super::{StepSummary, TrainConfig, TrainStep};
use crate::data::BatchSource;
use crate::error::{Result, RganError};
use crate::files::FolderLock;
use crate::rng::Rng;
use crate::summary::RunLog;

/// The random streams of a run, drawn from its seed in a fixed order so that a run is
/// reproducible from the seed alone: one stream for each network's initialization, the seed of
/// the data order, and the rest for the step (sample grid, noise, penalties, replay pool).
///
/// ```
/// let a = rgan::train::Seeds::new(5);
/// let b = rgan::train::Seeds::new(5);
/// assert_eq!(a.data, b.data);
/// ```
#[derive(Clone, Debug)]
pub struct Seeds {
    /// The generator's initialization (also any further generator of the model).
    pub generator: Rng,
    /// The discriminator's initialization.
    pub discriminator: Rng,
    /// The seed of the data order and augmentation.
    pub data: u64,
    /// The step's own stream.
    pub step: Rng,
}

impl Seeds {
    /// The streams of `seed`.
    pub fn new(seed: u64) -> Self {
        let mut master = Rng::seed_from_u64(seed);
        let generator = master.fork();
        let discriminator = master.fork();
        let data = master.below(usize::MAX) as u64;
        Self { generator, discriminator, data, step: master }
    }
}

/// When a run logs, draws and saves, and where it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSchedule {
    /// The step to train to (absolute).
    pub steps: usize,
    /// Sample grids every this many steps (0: only at the end).
    pub sample_every: usize,
    /// A checkpoint every this many steps (0: only on time and at the end).
    pub checkpoint_every: usize,
    /// Also a checkpoint when this many seconds passed since the last one (0: never).
    pub checkpoint_secs: u64,
    /// Scalars every this many steps.
    pub log_every: usize,
    /// How many checkpoints to keep (0: all).
    pub keep_checkpoints: usize,
}

/// A run's configuration as the loop needs it: its schedule, its seed, and what a resumed run
/// may change.
pub trait RunConfig: Serialize + DeserializeOwned + Clone {
    /// The schedule.
    fn schedule(&self) -> RunSchedule;
    /// The seed of every random draw.
    fn seed(&self) -> u64;
    /// The examples per batch (the data source is set to it).
    fn batch_size(&self) -> usize;
    /// The settings a resumed run may take from the command that resumes it, as paths into the
    /// configuration's JSON (`generator_optimizer.learning_rate`): the steps to train to, the
    /// cadence of outputs, learning rates. Every other setting is the saved run's, and asking
    /// for another value is an error.
    fn changeable_on_resume() -> &'static [&'static str];
    /// The seed that starts the data order and augmentation of a new run: by default the one
    /// [`Seeds::new`] draws from [`seed`](Self::seed); a run that must match a run without a
    /// log folder ([`Trainer::without_logdir`], which starts its data from the seed itself)
    /// returns the seed.
    fn data_seed(&self, seeds: &Seeds) -> u64 {
        seeds.data
    }
}

impl RunConfig for TrainConfig {
    fn schedule(&self) -> RunSchedule {
        RunSchedule {
            steps: self.steps,
            sample_every: self.sample_every,
            checkpoint_every: self.checkpoint_every,
            checkpoint_secs: self.checkpoint_secs,
            log_every: self.log_every,
            keep_checkpoints: self.keep_checkpoints,
        }
    }

    fn seed(&self) -> u64 {
        self.seed
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn changeable_on_resume() -> &'static [&'static str] {
        &[
            "steps",
            "sample_every",
            "checkpoint_every",
            "checkpoint_secs",
            "log_every",
            "keep_checkpoints",
            "generator_optimizer.learning_rate",
            "discriminator_optimizer.learning_rate",
        ]
    }
}

/// Which settings of a requested configuration were chosen on purpose, for a resume to compare
/// with the saved run's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Explicit {
    /// Every setting (a program that builds its configuration in code).
    #[default]
    All,
    /// Only these paths into the configuration's JSON (a command line's flags given); the
    /// others are the saved run's, whatever the requested configuration says.
    Only(Vec<String>),
}

impl Explicit {
    /// Whether the setting at `path` (or a setting above it) was chosen on purpose.
    pub fn covers(&self, path: &str) -> bool {
        match self {
            Explicit::All => true,
            Explicit::Only(paths) => paths
                .iter()
                .any(|p| path == p || path.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('.'))),
        }
    }
}

/// How [`Trainer::start_or_resume`] treats a log folder that holds checkpoints. A `bool` is
/// `restart`.
///
/// ```
/// use rgan::train::{Explicit, Resume};
/// let resume: Resume = false.into();
/// assert_eq!(resume, Resume { restart: false, explicit: Explicit::All });
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    /// Start afresh, replacing the folder's checkpoints as the run goes.
    pub restart: bool,
    /// Which settings of the requested configuration the resumed run compares and takes.
    pub explicit: Explicit,
}

impl From<bool> for Resume {
    fn from(restart: bool) -> Self {
        Self { restart, explicit: Explicit::All }
    }
}

/// One setting that differs between two configurations.
struct Difference {
    path: String,
    saved: serde_json::Value,
    requested: serde_json::Value,
}

/// Every leaf of `a` and `b` that differs, with its path.
fn leaf_differences(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<Difference>) {
    use serde_json::Value;
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let (u, v) = (x.get(key).unwrap_or(&Value::Null), y.get(key).unwrap_or(&Value::Null));
                let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                leaf_differences(u, v, &inner, out);
            }
        }
        _ => out.push(Difference { path: path.to_string(), saved: a.clone(), requested: b.clone() }),
    }
}

/// The configuration a run resumed from `saved` goes on with when `requested` asks for it, and
/// the changes it took: each setting `explicit` covers that differs is taken from `requested`
/// if [`RunConfig::changeable_on_resume`] lists it, else refused with both values named; the
/// settings `explicit` does not cover are `saved`'s.
///
/// ```
/// use rgan::train::{Explicit, TrainConfig, resume_config};
/// let saved = TrainConfig::new().with_steps(100).with_batch_size(64);
/// let (config, changes) = resume_config(saved.clone(), &saved.clone().with_steps(500), &Explicit::All).unwrap();
/// assert_eq!((config.steps, changes.len()), (500, 1));
/// let err = resume_config(saved.clone(), &saved.clone().with_batch_size(32), &Explicit::All).unwrap_err();
/// assert!(err.to_string().contains("`batch_size`: the saved run has 64, this run asks for 32"));
/// // A command line that did not give --batch-size keeps the saved one.
/// let only_steps = Explicit::Only(vec!["steps".into()]);
/// let (config, _) = resume_config(saved, &TrainConfig::new().with_steps(500), &only_steps).unwrap();
/// assert_eq!((config.steps, config.batch_size), (500, 64));
/// ```
pub fn resume_config<C: RunConfig>(saved: C, requested: &C, explicit: &Explicit) -> Result<(C, Vec<String>)> {
    let mut json = to_json(&saved)?;
    let mut differences = Vec::new();
    leaf_differences(&json, &to_json(requested)?, "", &mut differences);
    let changeable = C::changeable_on_resume();
    let (mut changes, mut refused) = (Vec::new(), Vec::new());
    for d in differences.into_iter().filter(|d| explicit.covers(&d.path)) {
        if changeable.contains(&d.path.as_str()) {
            if let Some(slot) = json.pointer_mut(&format!("/{}", d.path.replace('.', "/"))) {
                *slot = d.requested.clone();
            }
            changes.push(format!("`{}`: {} (the saved run had {})", d.path, d.requested, d.saved));
        } else {
            refused.push(format!("`{}`: the saved run has {}, this run asks for {}", d.path, d.saved, d.requested));
        }
    }
    if !refused.is_empty() {
        let may_change = if changeable.is_empty() {
            "a resumed run of this kind may change none of its settings".to_string()
        } else {
            format!("settings a resumed run may change: {}", changeable.join(", "))
        };
        return Err(RganError::invalid(
            "config",
            format!(
                "a resumed run keeps its settings, but {}; drop these options, or pass another log folder, or \
                 restart the run ({may_change})",
                refused.join("; "),
            ),
        ));
    }
    let config = serde_json::from_value(json)
        .map_err(|e| RganError::invalid("config", format!("the resumed configuration is invalid: {e}")))?;
    Ok((config, changes))
}

/// What a hook asks the loop to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookAction {
    /// Keep training.
    Continue,
    /// Stop now: the loop writes a checkpoint and returns (TF's `request_stop`).
    Stop,
}

/// A user hook run after every step (TF's `SessionRunHook.after_run`): it sees the step's report
/// and the step itself (its networks), and may stop the run. A closure over the report is a hook.
///
/// ```
/// use rgan::train::{HookAction, StepReport, TrainHook, TrainStep};
/// struct StopWhenClose;
/// impl<S: TrainStep<Report = StepReport>> TrainHook<S> for StopWhenClose {
///     fn after_step(&mut self, report: &StepReport, _: &S) -> rgan::Result<HookAction> {
///         Ok(if report.d_loss.abs() < 1e-3 { HookAction::Stop } else { HookAction::Continue })
///     }
/// }
/// ```
pub trait TrainHook<S: TrainStep> {
    /// Called after each step.
    fn after_step(&mut self, report: &S::Report, step: &S) -> Result<HookAction>;
}

impl<S: TrainStep, F: FnMut(&S::Report)> TrainHook<S> for F {
    fn after_step(&mut self, report: &S::Report, _: &S) -> Result<HookAction> {
        self(report);
        Ok(HookAction::Continue)
    }
}

/// One evaluation batch of [`GanStep::evaluate`](super::GanStep::evaluate).
#[derive(Clone, Debug)]
pub struct EvaluationBatch {
    /// The discriminator loss on the batch.
    pub discriminator_loss: f64,
    /// The generator loss on the batch.
    pub generator_loss: f64,
    /// The batch's real images.
    pub real: Tensor<4>,
    /// The generated images the losses were computed on.
    pub generated: Tensor<4>,
}

/// What [`Trainer::run`] produced.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// The final step.
    pub step: usize,
    /// The last sample grid written (none without a log folder or samples).
    pub samples: Option<PathBuf>,
    /// The last checkpoint written or resumed from (none without a log folder).
    pub checkpoint: Option<PathBuf>,
    /// The loss-curve picture (none without a log folder).
    pub loss_curves: Option<PathBuf>,
    /// Wall time of the run.
    pub wall: Duration,
    /// Whether the run stopped early (a hook or the stop flag, e.g. Ctrl-C).
    pub interrupted: bool,
}

/// A run's log folder and what its checkpoints record besides the step.
struct Outputs {
    log: RunLog,
    recipe: serde_json::Value,
    config: serde_json::Value,
}

/// A training run: a step, the data it is fed, and its log folder (see the [module
/// docs](self)).
///
/// ```no_run
/// use burn::prelude::*;
/// use rgan::data::{Mnist, Split};
/// use rgan::recipes::mnist::MnistRecipe;
/// use rgan::train::TrainConfig;
/// let mnist = Mnist::load("../shared/datasets/mnist", Split::Train).unwrap();
/// let recipe = MnistRecipe::default();
/// let config = TrainConfig::new().with_steps(100);
/// let device = Device::default().autodiff();
/// let mut trainer = recipe.trainer(config, &mnist, "logs/mnist", false, &device).unwrap();
/// let summary = trainer.run(|report: &rgan::train::StepReport| println!("{report:?}")).unwrap();
/// println!("samples in {:?}", summary.samples);
/// ```
pub struct Trainer<S: TrainStep, B> {
    step: S,
    data: B,
    schedule: RunSchedule,
    outputs: Option<Outputs>,
    stop: Option<Arc<AtomicBool>>,
    resumed_from: Option<usize>,
    last_checkpoint: Option<PathBuf>,
    last_checkpoint_time: Instant,
    last_samples: Option<PathBuf>,
    /// The log folder's lock, held as long as the trainer lives.
    _lock: Option<FolderLock>,
    notices: Vec<String>,
}

/// The differences between two JSON values, as `path: a vs b` lines (at most `limit`).
fn differences(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<String>, limit: usize) {
    use serde_json::Value;
    if out.len() >= limit || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let (u, v) = (x.get(key).unwrap_or(&Value::Null), y.get(key).unwrap_or(&Value::Null));
                let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                differences(u, v, &inner, out, limit);
            }
        }
        _ => out.push(format!("`{path}`: the checkpoint has {a}, this run {b}")),
    }
}

impl<S: TrainStep, B: BatchSource<Batch = S::Batch>> Trainer<S, B> {
    /// Starts a run in `logdir`, or resumes its newest checkpoint: TF-GAN's `gan_train` with
    /// `MonitoredTrainingSession`'s automatic resume, made absolute (the run trains to
    /// `config`'s step count, whether it starts or resumes).
    ///
    /// The run holds the folder's lock ([`FolderLock`]) until it is dropped: a second run on the
    /// folder is refused, naming the one that holds it. Partial checkpoints an interrupted write
    /// left are removed first ([`notices`](Self::notices) says so).
    ///
    /// `recipe` describes the networks (what a checkpoint needs to rebuild them; saved as is,
    /// and a checkpoint of another description is refused, naming what differs); `build` makes
    /// the step from the configuration and the run's [`Seeds`]. On a resume, the configuration
    /// is the saved one with the changes `config` asks for where [`resume_config`] allows them
    /// (`resume` says which settings were asked for on purpose, and whether to restart
    /// instead; a `bool` is `restart`); the step is built the same way, then takes the
    /// checkpoint's networks, optimizers and random state, and the data source its position, so
    /// the run goes on as if it had not stopped.
    pub fn start_or_resume<C: RunConfig>(
        logdir: impl AsRef<Path>,
        recipe: serde_json::Value,
        config: C,
        resume: impl Into<Resume>,
        mut data: B,
        build: impl FnOnce(&C, Seeds) -> Result<S>,
    ) -> Result<Self> {
        let (logdir, resume) = (logdir.as_ref(), resume.into());
        let lock = FolderLock::acquire(logdir)?;
        let mut notices = Vec::new();
        if let Some(owner) = lock.taken_over() {
            notices.push(format!(
                "{} was held by a run that ended without releasing it ({owner}); this run takes it over",
                logdir.display()
            ));
        }
        notices.extend(remove_partial_checkpoints(logdir)?);
        let existing = if resume.restart { None } else { existing_checkpoint(logdir)? };
        let Some((existing, note)) = existing else {
            if config.schedule().steps == 0 {
                return Err(RganError::invalid("steps", "is 0: a new run must train at least 1 step"));
            }
            let seeds = Seeds::new(config.seed());
            data.set_batch_size(config.batch_size())?;
            data.start(config.data_seed(&seeds))?;
            let step = build(&config, seeds)?;
            let log = RunLog::open(logdir, None)?;
            let outputs = Outputs { log, recipe, config: to_json(&config)? };
            return Self::with_outputs(step, data, &config, outputs, None, (lock, notices));
        };
        notices.extend(note);
        let checkpoint = Checkpoint::open(&existing)?;
        if checkpoint.recipe() != &recipe {
            let mut lines = Vec::new();
            differences(checkpoint.recipe(), &recipe, "recipe", &mut lines, 4);
            return Err(RganError::file(
                logdir,
                format!(
                    "holds a run of another model ({}): pass another log folder, or restart to replace it",
                    lines.join("; ")
                ),
            ));
        }
        let (config, changes) = resume_config(checkpoint.config()?, &config, &resume.explicit)
            .map_err(|e| RganError::file(logdir, format!("cannot be resumed as asked: {e}")))?;
        notices.extend(changes.into_iter().map(|c| format!("the resumed run changes {c}")));
        let step = Self::load_step(&checkpoint, &config, build)?;
        data.set_batch_size(config.batch_size())?;
        data.restore(&checkpoint.state().data)?;
        let log = RunLog::open(logdir, Some(checkpoint.step()))?;
        let outputs = Outputs { log, recipe, config: to_json(&config)? };
        Self::with_outputs(step, data, &config, outputs, Some(checkpoint.dir().to_path_buf()), (lock, notices))
    }

    /// The step of `checkpoint`: built by `build` from `config` and the run's seeds, then given
    /// the checkpoint's networks, optimizers and random state (the estimator evaluates this way).
    pub fn load_step<C: RunConfig>(
        checkpoint: &Checkpoint,
        config: &C,
        build: impl FnOnce(&C, Seeds) -> Result<S>,
    ) -> Result<S> {
        let mut step = build(config, Seeds::new(config.seed()))?;
        step.load(checkpoint)?;
        Ok(step)
    }

    /// A run without a log folder: no scalars, samples or checkpoints (a classifier's training,
    /// a benchmark), the data started from `seed`.
    pub fn without_logdir(step: S, mut data: B, schedule: RunSchedule, seed: u64) -> Result<Self> {
        data.start(seed)?;
        Ok(Self {
            step,
            data,
            schedule,
            outputs: None,
            stop: None,
            resumed_from: None,
            last_checkpoint: None,
            last_checkpoint_time: Instant::now(),
            last_samples: None,
            _lock: None,
            notices: Vec::new(),
        })
    }

    fn with_outputs<C: RunConfig>(
        step: S,
        data: B,
        config: &C,
        outputs: Outputs,
        checkpoint: Option<PathBuf>,
        (lock, notices): (FolderLock, Vec<String>),
    ) -> Result<Self> {
        let resumed_from = checkpoint.as_ref().map(|_| step.global_step());
        Ok(Self {
            step,
            data,
            schedule: config.schedule(),
            outputs: Some(outputs),
            stop: None,
            resumed_from,
            last_checkpoint: checkpoint,
            last_checkpoint_time: Instant::now(),
            last_samples: None,
            _lock: Some(lock),
            notices,
        })
    }

    /// What the start or resume did that a user should hear of: a lock taken over from a killed
    /// run, partial checkpoints removed, settings a resume changed.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// A flag that, once set (e.g. by a Ctrl-C handler), makes [`run`](Self::run) write a
    /// checkpoint and return after the current step.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
    }

    /// The step (its networks, its configuration).
    pub fn step(&self) -> &S {
        &self.step
    }

    /// The step, to change.
    pub fn step_mut(&mut self) -> &mut S {
        &mut self.step
    }

    /// The data source.
    pub fn data(&self) -> &B {
        &self.data
    }

    /// The number of global steps done.
    pub fn global_step(&self) -> usize {
        self.step.global_step()
    }

    /// The step a resumed run started from (`None` for a fresh run).
    pub fn resumed_from(&self) -> Option<usize> {
        self.resumed_from
    }

    /// The schedule: the step to train to and the cadence of outputs.
    pub fn schedule(&self) -> RunSchedule {
        self.schedule
    }

    /// The log folder (`None` for a run without one).
    pub fn logdir(&self) -> Option<&Path> {
        self.outputs.as_ref().map(|o| o.log.logdir())
    }

    fn outputs(&mut self) -> Result<&mut Outputs> {
        self.outputs
            .as_mut()
            .ok_or_else(|| RganError::invalid("logdir", "this run has no log folder to write outputs into"))
    }

    /// Trains one step on the next batches; a divergence error names the checkpoint kept.
    pub fn train_step(&mut self) -> Result<S::Report> {
        let device = self.step.device();
        let batches =
            (0..self.step.batches_per_step()).map(|_| self.data.next_batch(&device)).collect::<Result<Vec<_>>>()?;
        self.step.step(batches).map_err(|e| self.with_kept_checkpoint(e))
    }

    /// `error`, when it is a divergence, naming the checkpoint kept (and the step, if unset).
    fn with_kept_checkpoint(&self, error: RganError) -> RganError {
        let kept = || match &self.last_checkpoint {
            Some(dir) => format!("the last good checkpoint, {}, is kept", dir.display()),
            None => "no checkpoint had been written yet".to_string(),
        };
        match error {
            RganError::Diverged { loss, value, step, .. } => RganError::Diverged { loss, value, step, kept: kept() },
            RganError::NotFinite { what, .. } => {
                RganError::NotFinite { what, step: self.step.global_step(), kept: kept() }
            }
            other => other,
        }
    }

    /// Logs `values` at the current step (CSV and TensorBoard) and flushes them.
    pub fn log_values(&mut self, values: &[(&str, f64)]) -> Result<()> {
        let step = self.global_step();
        let outputs = self.outputs()?;
        outputs.log.scalars(step, values)?;
        outputs.log.flush()
    }

    /// Writes the step's sample grids of the current step to `logdir/samples/` and to
    /// TensorBoard, and returns the first PNG's path.
    pub fn write_samples(&mut self) -> Result<Option<PathBuf>> {
        let step = self.global_step();
        let grids = self.step.samples()?;
        let outputs = self.outputs()?;
        let mut first = None;
        for grid in grids {
            let path = outputs.log.image_grid(step, grid.tag, grid.images, grid.columns)?;
            first.get_or_insert(path);
        }
        if first.is_some() {
            self.last_samples.clone_from(&first);
        }
        Ok(first)
    }

    /// Writes a checkpoint of the current step (see [`resolve_checkpoint`](super::resolve_checkpoint) for the layout) and
    /// returns its folder.
    ///
    /// Only a good step is saved: when a weight, or an image of the step's sample grids, is NaN
    /// or infinite, nothing is written and the error ([`RganError::NotFinite`]) names the last
    /// good checkpoint, which is kept.
    pub fn save_checkpoint(&mut self) -> Result<PathBuf> {
        for grid in self.step.samples()? {
            if !crate::model::all_finite(&grid.images) {
                let what = format!("the generated images of the sample grid `{}`", grid.tag);
                return Err(self.with_kept_checkpoint(RganError::NotFinite { what, step: 0, kept: String::new() }));
            }
        }
        let mut writer = CheckpointWriter::new();
        self.step.save(&mut writer).map_err(|e| self.with_kept_checkpoint(e))?;
        let data = self.data.state()?;
        let (step, keep) = (self.global_step(), self.schedule.keep_checkpoints);
        let outputs = self.outputs()?;
        outputs.log.flush()?;
        let meta = CheckpointMeta { step, recipe: outputs.recipe.clone(), config: outputs.config.clone(), data };
        let dir = write_checkpoint(outputs.log.logdir(), meta, writer, keep)?;
        self.last_checkpoint = Some(dir.clone());
        self.last_checkpoint_time = Instant::now();
        Ok(dir)
    }

    /// Trains until the schedule's last step, calling `hook` after every step (a closure
    /// `|report: &StepReport| ...` is a hook); writes samples, scalars and checkpoints on their
    /// schedules, and a checkpoint and the loss-curve picture at the end. Returns early, after a
    /// checkpoint, when the hook asks to stop or the stop flag is set.
    pub fn run(&mut self, mut hook: impl TrainHook<S>) -> Result<TrainSummary> {
        self.run_with_hooks(&mut [&mut hook])
    }

    /// [`run`](Self::run) with several hooks.
    pub fn run_with_hooks(&mut self, hooks: &mut [&mut dyn TrainHook<S>]) -> Result<TrainSummary> {
        let every = |n: usize, step: usize| n > 0 && step.is_multiple_of(n);
        let started = Instant::now();
        let start_step = self.global_step();
        self.last_checkpoint_time = Instant::now();
        let schedule = self.schedule;
        let logging = self.outputs.is_some();
        let mut interrupted = false;
        while self.global_step() < schedule.steps {
            let mut report = self.train_step()?;
            let elapsed = started.elapsed().as_secs_f64();
            let done = (self.global_step() - start_step) as f64;
            report.set_steps_per_sec(if elapsed > 0.0 { done / elapsed } else { 0.0 });
            for hook in hooks.iter_mut() {
                if hook.after_step(&report, &self.step)? == HookAction::Stop {
                    interrupted = true;
                }
            }
            if self.stop.as_ref().is_some_and(|flag| flag.load(Ordering::SeqCst)) {
                interrupted = true;
            }
            if !logging {
                if interrupted {
                    break;
                }
                continue;
            }
            // The last step of the run (also when stopped early) is always logged, drawn and saved.
            let step = report.step();
            let last = step == schedule.steps || interrupted;
            if every(schedule.log_every, step) || last {
                let scalars = report.scalars();
                self.outputs()?.log.scalars(step, &scalars)?;
            }
            if every(schedule.sample_every, step) || last {
                self.write_samples()?;
            }
            let timed = schedule.checkpoint_secs > 0
                && self.last_checkpoint_time.elapsed() >= Duration::from_secs(schedule.checkpoint_secs);
            if every(schedule.checkpoint_every, step) || last || timed {
                self.save_checkpoint()?;
            }
            if interrupted {
                break;
            }
        }
        let mut summary = TrainSummary {
            step: self.global_step(),
            samples: None,
            checkpoint: None,
            loss_curves: None,
            wall: started.elapsed(),
            interrupted,
        };
        if !logging {
            return Ok(summary);
        }
        summary.samples = match &self.last_samples {
            Some(path) => Some(path.clone()),
            None => self.write_samples()?,
        };
        let current = format!("step-{:06}", self.global_step());
        summary.checkpoint = Some(match &self.last_checkpoint {
            Some(dir) if dir.ends_with(&current) => dir.clone(),
            _ => self.save_checkpoint()?,
        });
        let outputs = self.outputs()?;
        outputs.log.flush()?;
        summary.loss_curves = Some(outputs.log.plot_loss_curves()?);
        summary.wall = started.elapsed();
        Ok(summary)
    }
}

fn to_json<C: Serialize>(config: &C) -> Result<serde_json::Value> {
    serde_json::to_value(config).map_err(|e| RganError::invalid("config", format!("cannot be saved: {e}")))
}
