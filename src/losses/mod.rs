//! losses
mod reduction;
pub use reduction::{compute_weighted_loss, Reduction, Weights};
