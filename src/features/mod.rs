//! TF-GAN's `tfgan.features`: layers and helpers that make GAN training work better.
//!
//! - [`spectral_norm`]: spectral normalization of a weight by power iteration
//!   ([`spectral_normalize`], [`compute_spectral_norm`]) and the layers
//!   [`SpectralNormLinear`] and [`SpectralNormConv2d`] that use it.
//! - [`virtual_batch_norm`]: virtual batch normalization against a reference batch
//!   ([`VirtualBatchNorm`]).
//! - [`normalization`]: [`instance_norm`] and [`group_norm`] as functions, and the
//!   [`InstanceNorm`] and [`GroupNorm`] layers.
//! - [`conditioning`]: [`condition_tensor`] and [`condition_tensor_from_onehot`] (projection by
//!   addition) and the layers [`ConditionTensor`] and [`ConditionTensorFromOnehot`].
//! - [`clip`]: WGAN weight clipping of every parameter of a module ([`clip_variables`]).
//! - [`tensor_pool`]: the historical replay buffer of generated batches ([`TensorPool`]).
//! - [`ema`]: an exponential moving average of the generator's parameters ([`GeneratorEma`]).
//!
//! rgan's tensors are NCHW (channels first) like burn's; where TF-GAN takes a `data_format` or a
//! channel axis, rgan takes one too, defaulting to channels first.

pub mod clip;
pub mod conditioning;
pub mod ema;
pub mod normalization;
pub mod spectral_norm;
pub mod tensor_pool;
pub mod virtual_batch_norm;

pub use clip::{WeightClipper, clip_discriminator_weights, clip_variables};
pub use conditioning::{
    ConditionTensor, ConditionTensorConfig, ConditionTensorFromOnehot, ConditionTensorFromOnehotConfig,
    condition_tensor, condition_tensor_from_onehot,
};
pub use ema::{GeneratorEma, GeneratorEmaConfig};
pub use normalization::{
    DataFormat, GroupNorm, GroupNormConfig, GroupNormOptions, InstanceNorm, InstanceNormConfig, InstanceNormOptions,
    group_norm, instance_norm,
};
pub use spectral_norm::{
    SpectralNorm, SpectralNormConv2d, SpectralNormConv2dConfig, SpectralNormLinear, SpectralNormLinearConfig,
    SpectralNormOptions, SpectralNormalized, compute_spectral_norm, conv2d_weight_matrix, spectral_normalize,
    spectral_normalize_conv2d, weight_matrix,
};
pub use tensor_pool::TensorPool;
pub use virtual_batch_norm::{ReferenceStatistics, VirtualBatchNorm, VirtualBatchNormConfig};

use burn::prelude::*;

use crate::error::{Result, RganError};

/// Turns a possibly negative axis into an index in `0..rank`, naming `argument` when it is out of
/// range.
pub(crate) fn normalize_axis(axis: isize, rank: usize, argument: &str) -> Result<usize> {
    let resolved = if axis < 0 { axis + rank as isize } else { axis };
    if resolved < 0 || resolved >= rank as isize {
        return Err(RganError::invalid(
            argument,
            format!("axis {axis} is out of range for a tensor of rank {rank} (valid: -{rank}..{rank})"),
        ));
    }
    Ok(resolved as usize)
}

/// Replaces a parameter's value by `f(value)` computed outside the autodiff graph, keeping the
/// parameter's autodiff state: a tracked parameter stays a fresh leaf that requires gradients
/// (with its checkpointing strategy), an untracked one stays untracked.
pub(crate) fn replace_value<const D: usize>(old: Tensor<D>, f: impl FnOnce(Tensor<D>) -> Tensor<D>) -> Tensor<D> {
    if !old.is_autodiff() {
        return f(old);
    }
    let require_grad = old.is_require_grad();
    let strategy = old.gradient_checkpointing_strategy();
    let mut new = Tensor::from_inner(f(old.inner()));
    if let Some(strategy) = strategy {
        new = new.with_gradient_checkpointing_strategy(strategy);
    }
    if require_grad {
        new = new.require_grad();
    }
    new
}

/// The shape `[1, .., n, .., 1]` of rank `D` with `n` at `axis`, for broadcasting per-channel
/// parameters.
pub(crate) fn broadcast_shape<const D: usize>(axis: usize, n: usize) -> [usize; D] {
    let mut shape = [1; D];
    shape[axis] = n;
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_axes_count_from_the_end() {
        assert_eq!(normalize_axis(-1, 4, "axis").unwrap(), 3);
        assert_eq!(normalize_axis(1, 4, "axis").unwrap(), 1);
        let err = normalize_axis(4, 4, "channels_axis").unwrap_err().to_string();
        assert!(err.contains("channels_axis") && err.contains("rank 4"), "{err}");
        assert!(normalize_axis(-5, 4, "axis").is_err());
    }

    #[test]
    fn replaced_parameters_stay_trainable_leaves() {
        let device = Device::default().autodiff();
        let p = Tensor::<1>::from_floats([1.0, -3.0], &device).require_grad();
        let q = replace_value(p, |t| t.clamp(-2.0, 2.0));
        assert!(q.is_require_grad());
        let grads = q.clone().sum().backward();
        assert!(q.grad(&grads).is_some());
        assert_eq!(q.into_data().try_to_vec::<f32>().unwrap(), vec![1.0, -2.0]);
    }
}
