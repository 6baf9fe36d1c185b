//! What rgan's own evaluation classifiers ([`super::mnist_classifier`] and
//! [`super::cifar_classifier`]) share: training by the one loop with a test after each epoch,
//! accuracy on a labelled data set, and weights as burnpack bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use crate::data::{Augmentation, ImageBatches, ImageDataset};
use crate::error::{Result, RganError};
use crate::model::ImageClassifier;
use crate::train::{
    ClassifierReport, ClassifierStep, HookAction, OptimizerConfig, RunConfig, RunSchedule, Seeds, TrainHook, Trainer,
};

/// One epoch of a classifier's training.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The learning rate used in this epoch's last step.
    pub learning_rate: f64,
    /// The mean cross entropy over the epoch's batches (a run resumed within the epoch: over
    /// those after the resume).
    pub train_loss: f64,
    /// The accuracy on the test set after the epoch.
    pub test_accuracy: f64,
    /// Seconds of training so far (a resumed run counts on from the last finished epoch's
    /// figure, so the interrupted part of an epoch is not counted).
    pub seconds: f64,
}

/// What a classifier's training did: one [`EpochReport`] per epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// The epochs, in order (with a log folder, those of earlier segments too).
    pub epochs: Vec<EpochReport>,
    /// Whether a stop signal ended the training before its last epoch (after a checkpoint).
    pub interrupted: bool,
}

impl TrainReport {
    /// The test accuracy after the last epoch.
    pub fn test_accuracy(&self) -> f64 {
        self.epochs.last().map_or(0.0, |e| e.test_accuracy)
    }
}

/// Where a classifier's training keeps what survives an interruption. The default keeps
/// nothing: the training runs in memory, as the built-in classifiers were trained.
///
/// With a `logdir`, the training is a run of the one loop like a GAN's: a checkpoint after every
/// epoch, every 10 minutes and when `stop` is set (Ctrl-C), and `epochs.csv` with the epochs'
/// reports. Given a folder that holds a checkpoint of the same training, it resumes there and
/// ends with the same weights, bit for bit, as a training that was never interrupted.
#[derive(Clone, Debug, Default)]
pub struct TrainingFolder {
    /// The log folder (`None`: nothing written).
    pub logdir: Option<PathBuf>,
    /// Set by a signal handler to stop after the current step, with a checkpoint.
    pub stop: Option<Arc<AtomicBool>>,
    /// Start afresh even when `logdir` holds checkpoints (they are replaced as the run goes).
    pub restart: bool,
}

/// How [`train_classifier`] trains: epochs of shuffled batches (the last incomplete one dropped),
/// each example augmented, the optimizer's schedule counted in steps. `settings` (the public
/// training configuration) and `architecture` are what a resumed run must share with the saved
/// one.
pub(crate) struct ClassifierTraining {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerConfig,
    pub augmentation: Augmentation,
    pub classes: usize,
    pub seed: u64,
    pub settings: serde_json::Value,
    pub architecture: serde_json::Value,
}

/// The steps of one epoch over `examples` in batches of `batch_size` (at least 1).
pub(crate) fn steps_per_epoch(examples: usize, batch_size: usize) -> usize {
    (examples / batch_size.max(1)).max(1)
}

/// Checks the learning rate and that both data sets hold examples of `shape`.
pub(crate) fn check_training<D: ImageDataset + ?Sized>(
    epochs: usize,
    learning_rate: f64,
    [train, test]: [&D; 2],
    shape: [usize; 3],
    what: &str,
) -> Result<()> {
    if epochs == 0 {
        return Err(RganError::invalid("epochs", "must be at least 1"));
    }
    if !(learning_rate > 0.0 && learning_rate.is_finite()) {
        return Err(RganError::invalid("learning_rate", format!("is {learning_rate}; it must be > 0")));
    }
    for (name, data) in [("train", train), ("test", test)] {
        check_data(name, data, shape, what)?;
    }
    Ok(())
}

fn check_data<D: ImageDataset + ?Sized>(name: &str, data: &D, shape: [usize; 3], what: &str) -> Result<()> {
    let found = data.image_shape();
    if found != shape {
        return Err(RganError::shape(name, &found, format!("expected images of shape {shape:?} ({what})")));
    }
    if data.is_empty() {
        return Err(RganError::invalid(name, "holds no examples"));
    }
    Ok(())
}

/// A classifier's training as a run of the loop in a log folder: what a resume compares.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ClassifierRunConfig {
    /// The public training configuration (architecture, schedule, seed, …).
    settings: serde_json::Value,
    /// The number of training examples (a resume on a training set of another size is refused).
    examples: usize,
    steps: usize,
    batch_size: usize,
    seed: u64,
    checkpoint_every: usize,
}

/// A checkpoint at least this often (seconds), besides one per epoch.
const CHECKPOINT_SECS: u64 = 600;

impl RunConfig for ClassifierRunConfig {
    fn schedule(&self) -> RunSchedule {
        RunSchedule {
            steps: self.steps,
            sample_every: 0,
            checkpoint_every: self.checkpoint_every,
            checkpoint_secs: CHECKPOINT_SECS,
            log_every: 0,
            keep_checkpoints: 2,
        }
    }
    fn seed(&self) -> u64 {
        self.seed
    }
    fn batch_size(&self) -> usize {
        self.batch_size
    }
    fn changeable_on_resume() -> &'static [&'static str] {
        &[]
    }
    /// The data start from the seed itself, as a training without a log folder.
    fn data_seed(&self, _: &Seeds) -> u64 {
        self.seed
    }
}

/// Trains `model` (on an autodiff device) on `train` by [`Trainer`], measuring the plain copy's
/// accuracy on `test` after every epoch and calling `on_epoch` with each [`EpochReport`] (also
/// those of earlier segments, on a resume). Returns the trained network on the plain device.
pub(crate) fn train_classifier<C: ImageClassifier, D: ImageDataset + ?Sized>(
    model: C,
    setup: ClassifierTraining,
    [train, test]: [&D; 2],
    device: &Device,
    folder: &TrainingFolder,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<(C, TrainReport)> {
    let steps_per_epoch = steps_per_epoch(train.len(), setup.batch_size);
    let steps = setup.epochs * steps_per_epoch;
    let step = ClassifierStep::new(model, setup.optimizer, setup.classes, device)?;
    let batches = ImageBatches::with_augmentation(train, setup.batch_size, setup.augmentation)?;
    let (mut trainer, earlier) = match &folder.logdir {
        None => {
            let run = RunSchedule {
                steps,
                sample_every: 0,
                checkpoint_every: 0,
                checkpoint_secs: 0,
                log_every: 0,
                keep_checkpoints: 0,
            };
            (Trainer::without_logdir(step, batches, run, setup.seed)?, Vec::new())
        }
        Some(logdir) => {
            let config = ClassifierRunConfig {
                settings: setup.settings,
                examples: train.len(),
                steps,
                batch_size: setup.batch_size,
                seed: setup.seed,
                checkpoint_every: steps_per_epoch,
            };
            let trainer =
                Trainer::start_or_resume(logdir, setup.architecture, config, folder.restart, batches, |_, _| Ok(step))?;
            let done = trainer.global_step() / steps_per_epoch;
            (trainer, EpochLog::read(logdir, done)?)
        }
    };
    if let Some(stop) = &folder.stop {
        trainer.set_stop_flag(stop.clone());
    }
    for report in &earlier {
        on_epoch(report);
    }
    let log = folder.logdir.as_deref().map(EpochLog::new);
    if let Some(log) = &log {
        log.rewrite(&earlier)?;
    }
    let mut epochs = EpochEnds {
        test,
        steps_per_epoch,
        started: Instant::now(),
        seconds_before: earlier.last().map_or(0.0, |e| e.seconds),
        loss_sum: 0.0,
        batches: 0,
        report: TrainReport { epochs: earlier, interrupted: false },
        log,
        on_epoch,
    };
    let summary = trainer.run_with_hooks(&mut [&mut epochs])?;
    let mut report = epochs.report;
    report.interrupted = summary.interrupted;
    Ok((trainer.step().network().valid(), report))
}

/// `epochs.csv` in a classifier's log folder: a row per finished epoch, rewritten on a resume
/// to the epochs its checkpoint holds.
struct EpochLog {
    path: PathBuf,
}

const EPOCH_LOG_HEADER: &str = "epoch,learning_rate,train_loss,test_accuracy,seconds";

impl EpochLog {
    fn new(logdir: &Path) -> Self {
        Self { path: logdir.join("epochs.csv") }
    }

    /// The reports of epochs `1..=done` from `logdir`'s `epochs.csv` (none when it is missing).
    fn read(logdir: &Path, done: usize) -> Result<Vec<EpochReport>> {
        let path = Self::new(logdir).path;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RganError::file(&path, format!("cannot be read: {e}"))),
        };
        let mut reports = Vec::new();
        for (number, line) in text.lines().enumerate().skip(1) {
            let values: Vec<f64> =
                line.split(',').map(|v| v.parse::<f64>()).collect::<std::result::Result<_, _>>().map_err(|e| {
                    RganError::file(&path, format!("line {}: {e} (expected {EPOCH_LOG_HEADER})", number + 1))
                })?;
            let [epoch, learning_rate, train_loss, test_accuracy, seconds] = values[..] else {
                return Err(RganError::file(&path, format!("line {}: expected {EPOCH_LOG_HEADER}", number + 1)));
            };
            if (epoch as usize) <= done {
                reports.push(EpochReport { epoch: epoch as usize, learning_rate, train_loss, test_accuracy, seconds });
            }
        }
        Ok(reports)
    }

    /// Writes the header and `reports` (atomically: a new file renamed over the old).
    fn rewrite(&self, reports: &[EpochReport]) -> Result<()> {
        let mut text = format!("{EPOCH_LOG_HEADER}\n");
        for r in reports {
            text.push_str(&Self::row(r));
        }
        let partial = self.path.with_extension("csv.partial");
        std::fs::write(&partial, text).map_err(|e| RganError::file(&partial, format!("cannot be written: {e}")))?;
        std::fs::rename(&partial, &self.path)
            .map_err(|e| RganError::file(&self.path, format!("cannot be written: {e}")))
    }

    fn append(&self, report: &EpochReport) -> Result<()> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| RganError::file(&self.path, format!("cannot be opened: {e}")))?;
        file.write_all(Self::row(report).as_bytes())
            .map_err(|e| RganError::file(&self.path, format!("cannot be written: {e}")))
    }

    fn row(r: &EpochReport) -> String {
        format!("{},{:e},{:e},{:e},{:.1}\n", r.epoch, r.learning_rate, r.train_loss, r.test_accuracy, r.seconds)
    }
}

/// The per-epoch test of [`train_classifier`], as a hook of the loop.
struct EpochEnds<'a, D: ?Sized> {
    test: &'a D,
    steps_per_epoch: usize,
    started: Instant,
    /// The seconds earlier segments reported (a resumed run counts on from there).
    seconds_before: f64,
    /// The loss summed over this epoch's batches, and their number (a run resumed within an
    /// epoch has only that epoch's later batches).
    loss_sum: f64,
    batches: usize,
    report: TrainReport,
    log: Option<EpochLog>,
    on_epoch: &'a mut dyn FnMut(&EpochReport),
}

impl<C: ImageClassifier, D: ImageDataset + ?Sized> TrainHook<ClassifierStep<C>> for EpochEnds<'_, D> {
    fn after_step(&mut self, report: &ClassifierReport, step: &ClassifierStep<C>) -> Result<HookAction> {
        self.loss_sum += report.loss;
        self.batches += 1;
        if !report.step.is_multiple_of(self.steps_per_epoch) {
            return Ok(HookAction::Continue);
        }
        let network = step.network().valid();
        let device = network.devices().into_iter().next().unwrap_or_default();
        let epoch_report = EpochReport {
            epoch: report.step / self.steps_per_epoch,
            learning_rate: report.learning_rate,
            train_loss: self.loss_sum / self.batches as f64,
            test_accuracy: classification_accuracy(&network, self.test, &device)?,
            seconds: self.seconds_before + self.started.elapsed().as_secs_f64(),
        };
        (self.loss_sum, self.batches) = (0.0, 0);
        if let Some(log) = &self.log {
            log.append(&epoch_report)?;
        }
        (self.on_epoch)(&epoch_report);
        self.report.epochs.push(epoch_report);
        Ok(HookAction::Continue)
    }
}

/// The size of the batches [`classification_accuracy`] evaluates.
const EVAL_BATCH: usize = 500;

/// The fraction of `data`'s examples whose label is the class of `classifier`'s largest logit,
/// evaluated in batches of 500 on `device`. Errors if `data` is empty.
pub fn classification_accuracy<C: ImageClassifier, D: ImageDataset + ?Sized>(
    classifier: &C,
    data: &D,
    device: &Device,
) -> Result<f64> {
    if data.is_empty() {
        return Err(RganError::invalid("data", "holds no examples"));
    }
    let [c, h, w] = data.image_shape();
    let mut correct = 0usize;
    let mut start = 0;
    while start < data.len() {
        let end = (start + EVAL_BATCH).min(data.len());
        let mut pixels = Vec::with_capacity((end - start) * c * h * w);
        for i in start..end {
            data.extend_image(i, &mut pixels);
        }
        let images = Tensor::<4>::from_data(TensorData::new(pixels, [end - start, c, h, w]), device);
        let logits = classifier.logits(images)?;
        let n = logits.dims()[0];
        let predicted = logits
            .argmax(1)
            .reshape([n])
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .map_err(|e| RganError::invalid("classifier", format!("predictions could not be read back: {e:?}")))?;
        correct += predicted.iter().zip(start..end).filter(|&(&p, i)| p == data.label(i)).count();
        start = end;
    }
    Ok(correct as f64 / data.len() as f64)
}

/// The weights of `module` as burnpack bytes.
pub(crate) fn record_bytes<M: Module>(module: &M, what: &str) -> Result<Vec<u8>> {
    Ok(module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| RganError::invalid(what, format!("cannot be recorded: {e}")))?
        .to_vec())
}

/// `model` with the weights of the burnpack `bytes` (from `source`, named in errors).
pub(crate) fn load_record<M: Module>(model: M, bytes: Vec<u8>, source: &Path, what: &str) -> Result<M> {
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| RganError::file(source, format!("is not a burnpack record of {what}: {e}")))?;
    model
        .try_load_record(record)
        .map_err(|e| RganError::file(source, format!("does not hold the weights of {what}: {e}")))
}
