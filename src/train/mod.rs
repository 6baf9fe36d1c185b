//! GAN training: TF-GAN's `gan_loss` / `gan_train_ops` / `gan_train` over any generator inputs,
//! with sample grids, scalars (CSV and TensorBoard), a loss-curve picture and atomic, resumable
//! checkpoints.
//!
//! The pieces, each replaceable by a user's own:
//! - the loss assembly: [`gan_loss`], [`cyclegan_loss`], [`stargan_loss`];
//! - the step (TF-GAN's train ops and update order): [`TrainStep`], implemented by [`GanStep`],
//!   [`CycleGanStep`], [`StarGanStep`] and [`ClassifierStep`]; a step takes its batches and
//!   reports its losses, and never reaches into a data set;
//! - the loop: [`Trainer`], rgan's one training loop, which feeds a step from a
//!   [`BatchSource`](crate::data::BatchSource), starts or resumes its log folder, runs hooks and
//!   writes outputs and checkpoints.
//!
//! A run's log folder holds `scalars.csv`, TensorBoard event files, `samples/step_NNNNNN.png`,
//! `loss_curves.png` and `checkpoints/step-NNNNNN/` (the step's networks and optimizers, its
//! random state, the data position, the configuration and the recipe's description of the
//! networks, each file with a checksum) with `checkpoints/latest` naming the newest.

mod checkpoint;
mod classifier;
mod config;
mod cyclegan;
mod fused_adam;
mod gan_loss;
mod stargan;
mod step;
#[cfg(test)]
mod tests;
mod trainer;

pub use checkpoint::{CHECKPOINT_FORMAT, Checkpoint, CheckpointState, CheckpointWriter, resolve_checkpoint};
pub use classifier::{ClassifierReport, ClassifierStep};
pub use config::{
    ClassifierGuidanceConfig, GanLossKind, LearningRateSchedule, OptimizerConfig, OptimizerKind, TrainConfig,
    TrainSchedule,
};
pub use cyclegan::{CycleGanLoss, CycleGanLossConfig, CycleGanStep, cyclegan_loss};
pub use fused_adam::FusedAdam;
pub use gan_loss::{
    GanLoss, GanLossConfig, NonAdversarialLossConfig, PixelLoss, discriminator_adversarial_loss, gan_loss,
    generator_adversarial_loss,
};
pub use stargan::{StarGanLossConfig, StarGanStep, stargan_adversarial_loss, stargan_loss};
pub use step::{
    GanStep, InputFn, NoClassifier, PairedInputs, SampleGrid, SampleImages, StepReport, StepSummary, TrainStep,
};
pub use trainer::{
    EvaluationBatch, Explicit, HookAction, Resume, RunConfig, RunSchedule, Seeds, TrainHook, TrainSummary, Trainer,
    resume_config,
};
