//! GAN training: TF-GAN's `gan_model` / `gan_loss` / `gan_train_ops` / `gan_train` for the
//! MNIST networks, with sample grids, a scalars CSV and atomic, resumable checkpoints.
//!
//! A run's log folder holds `scalars.csv` (`step,d_loss,g_loss,steps_per_sec`),
//! `samples/step_NNNNNN.png` (a grid of images from fixed noise) and
//! `checkpoints/step-NNNNNN/` (both networks, both optimizers, the random state and the data
//! position) with `checkpoints/latest` naming the newest.

mod checkpoint;
mod config;
mod images;
mod summaries;
mod trainer;

pub use checkpoint::{TrainingState, load_generator, read_training_state, resolve_checkpoint, write_atomically};
pub use config::{GanLossKind, TrainConfig, TrainSchedule};
pub use images::{image_grid, save_image_grid};
pub use summaries::{RunLog, plot_loss_curves};
pub use trainer::{GanModel, StepReport, TrainSummary, Trainer};
