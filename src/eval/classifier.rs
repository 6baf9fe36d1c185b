//! What rgan's own evaluation classifiers ([`super::mnist_classifier`] and
//! [`super::cifar_classifier`]) share: training by the one loop with a test after each epoch,
//! accuracy on a labelled data set, and weights as burnpack bytes.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::data::{Augmentation, ImageBatches, ImageDataset};
use crate::error::{Result, RganError};
use crate::model::ImageClassifier;
use crate::train::{ClassifierReport, ClassifierStep, HookAction, OptimizerConfig, RunSchedule, TrainHook, Trainer};

/// One epoch of a classifier's training.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The learning rate used in this epoch's last step.
    pub learning_rate: f64,
    /// The mean cross entropy over the epoch's batches.
    pub train_loss: f64,
    /// The accuracy on the test set after the epoch.
    pub test_accuracy: f64,
    /// Seconds since training started.
    pub seconds: f64,
}

/// What a classifier's training did: one [`EpochReport`] per epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// The epochs, in order.
    pub epochs: Vec<EpochReport>,
}

impl TrainReport {
    /// The test accuracy after the last epoch.
    pub fn test_accuracy(&self) -> f64 {
        self.epochs.last().map_or(0.0, |e| e.test_accuracy)
    }
}

/// How [`train_classifier`] trains: epochs of shuffled batches (the last incomplete one dropped),
/// each example augmented, the optimizer's schedule counted in steps.
pub(crate) struct ClassifierTraining {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerConfig,
    pub augmentation: Augmentation,
    pub classes: usize,
    pub seed: u64,
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

/// Trains `model` (on an autodiff device) on `train` by [`Trainer`], measuring the plain copy's
/// accuracy on `test` after every epoch and calling `on_epoch` with each [`EpochReport`].
/// Returns the trained network on the plain device.
pub(crate) fn train_classifier<C: ImageClassifier, D: ImageDataset + ?Sized>(
    model: C,
    setup: ClassifierTraining,
    [train, test]: [&D; 2],
    device: &Device,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<(C, TrainReport)> {
    let steps_per_epoch = steps_per_epoch(train.len(), setup.batch_size);
    let step = ClassifierStep::new(model, setup.optimizer, setup.classes, device)?;
    let run = RunSchedule {
        steps: setup.epochs * steps_per_epoch,
        sample_every: 0,
        checkpoint_every: 0,
        checkpoint_secs: 0,
        log_every: 0,
        keep_checkpoints: 0,
    };
    let batches = ImageBatches::with_augmentation(train, setup.batch_size, setup.augmentation)?;
    let mut trainer = Trainer::without_logdir(step, batches, run, setup.seed)?;
    let mut epochs = EpochEnds {
        test,
        steps_per_epoch,
        started: Instant::now(),
        loss_sum: 0.0,
        report: TrainReport { epochs: Vec::with_capacity(setup.epochs) },
        on_epoch,
    };
    trainer.run_with_hooks(&mut [&mut epochs])?;
    let report = epochs.report;
    Ok((trainer.step().network().valid(), report))
}

/// The per-epoch test of [`train_classifier`], as a hook of the loop.
struct EpochEnds<'a, D: ?Sized> {
    test: &'a D,
    steps_per_epoch: usize,
    started: Instant,
    loss_sum: f64,
    report: TrainReport,
    on_epoch: &'a mut dyn FnMut(&EpochReport),
}

impl<C: ImageClassifier, D: ImageDataset + ?Sized> TrainHook<ClassifierStep<C>> for EpochEnds<'_, D> {
    fn after_step(&mut self, report: &ClassifierReport, step: &ClassifierStep<C>) -> Result<HookAction> {
        self.loss_sum += report.loss;
        if !report.step.is_multiple_of(self.steps_per_epoch) {
            return Ok(HookAction::Continue);
        }
        let network = step.network().valid();
        let device = network.devices().into_iter().next().unwrap_or_default();
        let epoch_report = EpochReport {
            epoch: report.step / self.steps_per_epoch,
            learning_rate: report.learning_rate,
            train_loss: self.loss_sum / self.steps_per_epoch as f64,
            test_accuracy: classification_accuracy(&network, self.test, &device)?,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        self.loss_sum = 0.0;
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
