//! TF-GAN's (TensorFlow's) defaults where burn's differ.
//!
//! TF-GAN's examples build their optimizers and layers with TensorFlow's defaults; burn's defaults
//! follow PyTorch. Each constant below documents both values, and the constructors return burn
//! configs set to TensorFlow's.
//!
//! | setting | TensorFlow | burn default |
//! |---|---|---|
//! | Adam epsilon | 1e-8 (`tf.compat.v1.train.AdamOptimizer`) | 1e-5 |
//! | batch-norm momentum | decay 0.999 = burn momentum 0.001 | 0.1 |
//! | batch-norm epsilon | 1e-3 | 1e-5 |
//! | instance/group-norm epsilon | 1e-6 | 1e-5 |
//! | RMSProp decay (burn `alpha`) | 0.9 | 0.99 |
//! | RMSProp momentum | 0 | 0.9 |
//! | RMSProp epsilon | 1e-10 (`tf.compat.v1.train.RMSPropOptimizer`) | 1e-5 |

use burn::nn::BatchNormConfig;
use burn::optim::{AdamConfig, RmsPropConfig};

/// Adam's epsilon in TensorFlow's `AdamOptimizer`: `1e-8` (burn's `AdamConfig` default: `1e-5`).
///
/// ```
/// assert_eq!(rgan::config::ADAM_EPSILON, 1e-8);
/// ```
pub const ADAM_EPSILON: f32 = 1e-8;
/// Adam's `beta1` in TensorFlow: `0.9` (burn: `0.9`; the GAN examples use `0.5`).
///
/// ```
/// assert_eq!(rgan::config::ADAM_BETA_1, 0.9);
/// ```
pub const ADAM_BETA_1: f32 = 0.9;
/// Adam's `beta2` in TensorFlow: `0.999` (burn: `0.999`).
///
/// ```
/// assert_eq!(rgan::config::ADAM_BETA_2, 0.999);
/// ```
pub const ADAM_BETA_2: f32 = 0.999;

/// Batch-norm momentum in burn's convention (`new = (1 - m)·old + m·batch`) equal to TensorFlow's
/// moving-average decay 0.999: `0.001` (burn's `BatchNormConfig` default: `0.1`).
///
/// ```
/// use rgan::config::{BATCH_NORM_MOMENTUM, TF_BATCH_NORM_DECAY};
/// assert_eq!(BATCH_NORM_MOMENTUM, 0.001);
/// assert!((1.0 - TF_BATCH_NORM_DECAY - BATCH_NORM_MOMENTUM).abs() < 1e-12);
/// ```
pub const BATCH_NORM_MOMENTUM: f64 = 0.001;
/// TensorFlow's batch-norm decay (`momentum` in Keras, `decay` in `tf.contrib`): `0.999`.
///
/// ```
/// assert_eq!(rgan::config::TF_BATCH_NORM_DECAY, 0.999);
/// ```
pub const TF_BATCH_NORM_DECAY: f64 = 0.999;
/// TensorFlow's batch-norm epsilon: `1e-3` (burn's `BatchNormConfig` default: `1e-5`).
///
/// ```
/// assert_eq!(rgan::config::BATCH_NORM_EPSILON, 1e-3);
/// ```
pub const BATCH_NORM_EPSILON: f64 = 1e-3;
/// TensorFlow's instance-norm epsilon: `1e-6` (burn's `InstanceNormConfig` default: `1e-5`).
///
/// ```
/// assert_eq!(rgan::config::INSTANCE_NORM_EPSILON, 1e-6);
/// ```
pub const INSTANCE_NORM_EPSILON: f64 = crate::features::normalization::INSTANCE_NORM_EPSILON;
/// TensorFlow's group-norm epsilon: `1e-6` (burn's `GroupNormConfig` default: `1e-5`).
///
/// ```
/// assert_eq!(rgan::config::GROUP_NORM_EPSILON, 1e-6);
/// ```
pub const GROUP_NORM_EPSILON: f64 = crate::features::normalization::GROUP_NORM_EPSILON;
/// TensorFlow's RMSProp decay (`decay` in `tf.compat.v1.train.RMSPropOptimizer`, `alpha` in
/// burn): `0.9` (burn's `RmsPropConfig` default: `0.99`).
///
/// ```
/// assert_eq!(rgan::config::RMSPROP_DECAY, 0.9);
/// ```
pub const RMSPROP_DECAY: f32 = 0.9;
/// TensorFlow's RMSProp momentum: `0` (burn's `RmsPropConfig` default: `0.9`).
///
/// ```
/// assert_eq!(rgan::config::RMSPROP_MOMENTUM, 0.0);
/// ```
pub const RMSPROP_MOMENTUM: f32 = 0.0;
/// TensorFlow's RMSProp epsilon: `1e-10` (burn's `RmsPropConfig` default: `1e-5`).
///
/// ```
/// assert_eq!(rgan::config::RMSPROP_EPSILON, 1e-10);
/// ```
pub const RMSPROP_EPSILON: f32 = 1e-10;

/// Adam with TensorFlow's epsilon `1e-8` and the given betas (TF-GAN's examples use
/// `beta_1 = 0.5`, `beta_2 = 0.999`). burn takes the learning rate at each `optim.step(lr, ..)`,
/// not in the config.
///
/// TensorFlow's Adam folds the bias correction into the step size
/// (`lr·sqrt(1-β2ᵗ)/(1-β1ᵗ)·m/(sqrt(v)+ε)`) while burn corrects `m` and `v`
/// (`lr·m̂/(sqrt(v̂)+ε)`); the two agree except for where `ε` sits.
///
/// ```
/// let config = rgan::config::adam(0.5, 0.999);
/// let json = serde_json::to_value(&config).unwrap();
/// assert_eq!(json["epsilon"].as_f64().unwrap() as f32, 1e-8);
/// assert_eq!(json["beta_1"].as_f64().unwrap(), 0.5);
/// assert_eq!(json["beta_2"].as_f64().unwrap() as f32, 0.999);
/// ```
pub fn adam(beta_1: f32, beta_2: f32) -> AdamConfig {
    AdamConfig::new().with_beta_1(beta_1).with_beta_2(beta_2).with_epsilon(ADAM_EPSILON)
}

/// Batch norm with TensorFlow's defaults: momentum 0.001 in burn's convention (TF decay 0.999)
/// and epsilon 1e-3.
///
/// ```
/// let config = rgan::config::batch_norm(64);
/// assert_eq!(config.momentum, 0.001);
/// assert_eq!(config.epsilon, 1e-3);
/// assert_eq!(config.num_features, 64);
/// ```
pub fn batch_norm(num_features: usize) -> BatchNormConfig {
    BatchNormConfig::new(num_features).with_momentum(BATCH_NORM_MOMENTUM).with_epsilon(BATCH_NORM_EPSILON)
}

/// RMSProp as `tf.compat.v1.train.RMSPropOptimizer`'s defaults (WGAN's optimizer): decay
/// (`alpha`) 0.9, no momentum, epsilon 1e-10, not centered.
///
/// Two differences remain that a config cannot change: TensorFlow starts the mean square at 1
/// and divides by `sqrt(ms + ε)`, burn starts it at 0 and divides by `sqrt(ms) + ε`.
///
/// ```
/// let config = rgan::config::rmsprop();
/// let json = serde_json::to_value(&config).unwrap();
/// assert_eq!(json["alpha"].as_f64().unwrap() as f32, 0.9);
/// assert_eq!(json["momentum"].as_f64().unwrap(), 0.0);
/// assert_eq!(json["epsilon"].as_f64().unwrap() as f32, 1e-10);
/// assert_eq!(json["centered"].as_bool().unwrap(), false);
/// ```
pub fn rmsprop() -> RmsPropConfig {
    RmsPropConfig::new()
        .with_alpha(RMSPROP_DECAY)
        .with_momentum(RMSPROP_MOMENTUM)
        .with_epsilon(RMSPROP_EPSILON)
        .with_centered(false)
}

/// Instance norm with TensorFlow's epsilon 1e-6 (rgan's own layer, see
/// [`crate::features::InstanceNorm`]).
///
/// ```
/// let config = rgan::config::instance_norm(8);
/// assert_eq!(config.epsilon, 1e-6);
/// ```
pub fn instance_norm(num_channels: usize) -> crate::features::InstanceNormConfig {
    crate::features::InstanceNormConfig::new(num_channels).with_epsilon(INSTANCE_NORM_EPSILON)
}
