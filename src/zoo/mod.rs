//! Classic GANs as complete, self-contained recipes: networks, training loop and the files a
//! run leaves behind, each matching the well-known script users compare against.
//!
//! - [`vanilla`]: the original GAN (Goodfellow et al. 2014) on MNIST with fully connected
//!   networks, per-epoch sample grids, an animated GIF, loss plots and a checkpoint.

pub mod vanilla;

pub use vanilla::{
    VanillaCheckpoint, VanillaDiscriminator, VanillaGanConfig, VanillaGenerator, VanillaStep, VanillaSummary,
    train_vanilla, train_vanilla_on,
};
