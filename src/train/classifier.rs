//! A classifier's training step (softmax cross-entropy on labelled images), fed by the same loop
//! as the GANs: rgan's evaluation classifiers are trained this way.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::checkpoint::{Checkpoint, CheckpointWriter};
use super::step::{check_finite, scalar};
use super::{OptimizerConfig, StepSummary, TrainStep};
use crate::data::Batch;
use crate::error::{Result, RganError};
use crate::model::{ImageClassifier, class_ids, one_hot};

/// What one classifier step did.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassifierReport {
    /// The number of steps done, this one included.
    pub step: usize,
    /// The batch's mean cross-entropy, before the update.
    pub loss: f64,
    /// The learning rate of this step.
    pub learning_rate: f64,
    /// Steps per second since the run started.
    pub steps_per_sec: f64,
}

impl StepSummary for ClassifierReport {
    fn step(&self) -> usize {
        self.step
    }

    fn scalars(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("loss/classifier", self.loss),
            ("learning_rate/classifier", self.learning_rate),
            ("steps_per_sec", self.steps_per_sec),
        ]
    }

    fn set_steps_per_sec(&mut self, steps_per_sec: f64) {
        self.steps_per_sec = steps_per_sec;
    }

    fn describe(&self) -> String {
        format!("loss {:.4} {:.2} steps/s", self.loss, self.steps_per_sec)
    }
}

/// One batch per step: the classifier's softmax cross-entropy against the batch's labels
/// (`-mean Σ one_hot · log_softmax(logits)`), then one optimizer update.
pub struct ClassifierStep<C> {
    network: C,
    optimizer: ModuleOptimizer,
    optimizer_config: OptimizerConfig,
    classes: usize,
    device: Device,
    step: usize,
}

impl<C: ImageClassifier> ClassifierStep<C> {
    /// A step training `network` (on the autodiff `device`) over `classes` classes.
    pub fn new(network: C, optimizer: OptimizerConfig, classes: usize, device: &Device) -> Result<Self> {
        optimizer.check("optimizer")?;
        if classes == 0 {
            return Err(RganError::invalid("classes", "must be at least 1"));
        }
        Ok(Self {
            network,
            optimizer: optimizer.init(),
            optimizer_config: optimizer,
            classes,
            device: device.clone().autodiff(),
            step: 0,
        })
    }

    /// The network.
    pub fn network(&self) -> &C {
        &self.network
    }

    /// The network, taken out of the step.
    pub fn into_network(self) -> C {
        self.network
    }
}

impl<C: ImageClassifier> TrainStep for ClassifierStep<C> {
    type Batch = Batch;
    type Report = ClassifierReport;

    fn batches_per_step(&self) -> usize {
        1
    }

    fn step(&mut self, batches: Vec<Batch>) -> Result<ClassifierReport> {
        let [batch] = <[Batch; 1]>::try_from(batches).map_err(|b| {
            RganError::invalid("batches", format!("hold {} batches; a classifier step takes 1", b.len()))
        })?;
        class_ids(batch.labels.clone(), self.classes, "labels")?;
        let logits = self.network.logits(batch.images)?;
        let targets = one_hot(batch.labels, self.classes);
        let loss = (log_softmax(logits, 1) * targets).sum_dim(1).mean().neg();
        let value = scalar(&loss);
        check_finite("classifier_loss", value, self.step + 1)?;
        let learning_rate = self.optimizer_config.learning_rate(self.step);
        let grads = GradientsParams::from_grads(loss.backward(), &self.network);
        self.network = self.optimizer.step(learning_rate, self.network.clone(), grads);
        self.step += 1;
        Ok(ClassifierReport { step: self.step, loss: value, learning_rate, steps_per_sec: 0.0 })
    }

    fn global_step(&self) -> usize {
        self.step
    }

    fn device(&self) -> Device {
        self.device.clone()
    }

    fn save(&self, checkpoint: &mut CheckpointWriter) -> Result<()> {
        checkpoint.module("classifier.bpk", &self.network)?;
        checkpoint.optimizer("classifier_optimizer.bpk", &self.optimizer)?;
        checkpoint.state("step", &self.step)
    }

    fn load(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        self.step = checkpoint.step_state("step")?;
        self.network = checkpoint.module("classifier.bpk", self.network.clone())?;
        self.optimizer = checkpoint.optimizer("classifier_optimizer.bpk", self.optimizer_config.init())?;
        Ok(())
    }
}
