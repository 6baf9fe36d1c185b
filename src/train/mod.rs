//! GAN training: TF-GAN's `gan_model` / `gan_loss` / `gan_train_ops` / `gan_train`, with sample
//! grids, scalars (CSV and TensorBoard), a loss-curve picture and atomic, resumable checkpoints.
//!
//! A run's log folder holds `scalars.csv`, TensorBoard event files, `samples/step_NNNNNN.png`
//! (a grid of images from fixed inputs), `loss_curves.png` and `checkpoints/step-NNNNNN/` (both
//! networks, both optimizers, the generator's moving average, the replay pool, the random state,
//! the data position and the configuration) with `checkpoints/latest` naming the newest.

mod checkpoint;
mod config;
mod fused_adam;
mod gan_loss;
mod images;
mod summaries;
mod trainer;

pub use checkpoint::{
    TrainingState, load_dcgan_generator, load_generator, load_zoo_generator, read_training_state, resolve_checkpoint,
    write_atomically,
};
pub(crate) use checkpoint::{file_error, load_module, module_bytes};
pub use config::{
    ClassifierGuidanceConfig, GanKind, GanLossKind, LearningRateSchedule, OptimizerConfig, OptimizerKind, TrainConfig,
    TrainSchedule,
};
pub use fused_adam::FusedAdam;
pub use gan_loss::{GanLoss, GanLossConfig, discriminator_adversarial_loss, gan_loss, generator_adversarial_loss};
pub use images::{image_grid, save_image_grid};
pub(crate) use summaries::{ChartLine, draw_chart};
pub use summaries::{RunLog, plot_loss_curves};
pub use trainer::{EvaluationBatch, HookAction, StepReport, TrainHook, TrainSummary, Trainer};
