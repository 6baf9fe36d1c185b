//! # rgan
//!
//! Generative Adversarial Networks in Rust, on [burn]: TF-GAN's losses, gradient penalties,
//! normalizations, conditioning and training utilities, matching TF-GAN number for number.
//!
//! The crate follows TF-GAN's split into parts that stand on their own, each usable without the
//! others:
//!
//! - [`losses`]: every TF-GAN loss (`modified_generator_loss`, `wasserstein_discriminator_loss`,
//!   …) with its argument names, defaults, per-element weights and reductions.
//! - [`penalties`]: exact gradient penalties (WGAN-GP, R1, R2, DRAGAN) by double backprop through
//!   critics built from layers that know their input gradient.
//! - [`features`]: spectral normalization, virtual batch norm, instance and group norm,
//!   conditioning, weight clipping, the replay pool and generator EMA.
//! - [`model`]: the GAN model over any generator inputs (`GanGenerator` / `GanDiscriminator`,
//!   `GanModel`, `cyclegan_model`, `stargan_model`).
//! - [`train`]: the loss assembly (`gan_loss`, `cyclegan_loss`, `stargan_loss`), the training
//!   steps, the one training loop (`Trainer`) and checkpoints.
//! - [`recipes`]: rgan's example models (TF-GAN's MNIST networks, DCGAN, the classic zoo, the
//!   vanilla GAN, pix2pix, CycleGAN, StarGAN), each saying how to build, train and load its
//!   networks.
//! - [`data`]: MNIST-style IDX files and folders of images.
//! - [`summary`]: TensorBoard event files, run logs, charts and image grids.
//! - [`device`]: CPU, CUDA and wgpu devices by name.
//! - [`config`]: TF-GAN's defaults where burn's differ (Adam epsilon, batch-norm momentum, …).
//! - [`eval`]: TF-GAN's evaluation metrics (classifier score, Fréchet and kernel distances,
//!   sliced Wasserstein, precision/recall/density/coverage) and image grids.
//! - [`ops`]: rgan's own CPU kernels for the hot paths (matrix products), with their backward
//!   passes.
//! - [`rng`]: rgan's own seeded, saveable random number generator.
//! - [`files`]: files written atomically.

pub mod bench;
pub mod config;
pub mod data;
pub mod device;
pub mod error;
pub mod estimator;
pub mod eval;
pub mod features;
pub mod files;
pub mod losses;
pub mod model;
pub mod ops;
pub mod penalties;
pub mod recipes;
pub mod rng;
pub mod summary;
pub mod train;

pub use error::{Result, RganError};

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
