//! Virtual batch normalization (Salimans et al. 2016), as TF-GAN's `features/virtual_batchnorm.py`.
//!
//! Every example is normalized as if it were appended to a fixed reference batch: with
//! `w = 1 / (N_ref + 1)`, its statistics are `mean = w·mean_x + (1-w)·mean_ref` and
//! `meansq = w·meansq_x + (1-w)·meansq_ref` (per feature, the example's own statistics taken over
//! every axis except the feature and batch axes), `var = meansq - mean²`, and
//! `out = (x - mean) / sqrt(var + eps) · gamma + beta`. The reference batch itself is normalized
//! with its own statistics only.
//!
//! In a network the reference batch is the previous layer's output on the reference inputs, so
//! its statistics are recomputed at every step: call
//! [`VirtualBatchNorm::reference_statistics`] on it, then [`VirtualBatchNorm::forward`] for the
//! other batches and [`VirtualBatchNorm::reference_batch_normalization`] for the reference path.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;

use super::{broadcast_shape, normalize_axis};
use crate::error::{Result, RganError};

/// TF-GAN's default `epsilon` of `VBN` (`1e-3`).
pub const VIRTUAL_BATCH_NORM_EPSILON: f64 = 1e-3;

/// Configuration of a [`VirtualBatchNorm`] layer.
///
/// Defaults: feature `axis` 1 (rgan's channels-first layout; TF-GAN's default is `-1`, the same
/// axis for `[batch, features]` inputs), `batch_axis` 0, `epsilon` 1e-3, `center` and `scale` on
/// with `beta` zeros and `gamma` ones (TF-GAN's).
///
/// ```
/// use rgan::features::VirtualBatchNormConfig;
/// let config = VirtualBatchNormConfig::new(16);
/// assert_eq!((config.axis, config.batch_axis, config.epsilon), (1, 0, 1e-3));
/// ```
#[derive(Config, Debug)]
pub struct VirtualBatchNormConfig {
    /// Size of the feature axis.
    pub num_features: usize,
    /// The feature (channel) axis; negative counts from the end.
    #[config(default = 1)]
    pub axis: isize,
    /// The batch axis.
    #[config(default = 0)]
    pub batch_axis: isize,
    /// Added to the variance.
    #[config(default = 1e-3)]
    pub epsilon: f64,
    /// Learn a per-feature offset `beta`.
    #[config(default = true)]
    pub center: bool,
    /// Learn a per-feature scale `gamma`.
    #[config(default = true)]
    pub scale: bool,
}

impl VirtualBatchNormConfig {
    /// Builds the layer.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::VirtualBatchNormConfig;
    /// let layer = VirtualBatchNormConfig::new(4).with_scale(false).init(&Device::default());
    /// assert!(layer.gamma.is_none() && layer.beta.is_some());
    /// ```
    pub fn init(&self, device: &Device) -> VirtualBatchNorm {
        VirtualBatchNorm {
            gamma: self.scale.then(|| Initializer::Ones.init([self.num_features], device)),
            beta: self.center.then(|| Initializer::Zeros.init([self.num_features], device)),
            num_features: self.num_features,
            axis: self.axis,
            batch_axis: self.batch_axis,
            epsilon: self.epsilon,
        }
    }
}

/// TF-GAN's `VBN` layer: learned `gamma`/`beta` shared by every call; see the
/// [module documentation](self).
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::VirtualBatchNormConfig;
/// let device = Device::default();
/// let vbn = VirtualBatchNormConfig::new(2).init(&device);
/// let reference = Tensor::<2>::from_floats([[0.0, 1.0], [2.0, 3.0]], &device);
/// let stats = vbn.reference_statistics(reference).unwrap();
/// let y = vbn.forward(&stats, Tensor::<2>::from_floats([[1.0, 2.0]], &device)).unwrap();
/// // The example sits at the mean of the virtual batch: normalized to 0.
/// assert!(y.abs().max().into_scalar::<f32>() < 1e-6);
/// ```
#[derive(Module, Debug)]
pub struct VirtualBatchNorm {
    /// Per-feature scale `[num_features]` (absent without `scale`).
    pub gamma: Option<Param<Tensor<1>>>,
    /// Per-feature offset `[num_features]` (absent without `center`).
    pub beta: Option<Param<Tensor<1>>>,
    /// Size of the feature axis.
    pub num_features: usize,
    /// The feature axis.
    pub axis: isize,
    /// The batch axis.
    pub batch_axis: isize,
    /// Added to the variance.
    pub epsilon: f64,
}

/// The reference batch and its statistics (mean and mean of squares over every axis except the
/// feature axis, kept as size-1 axes), from [`VirtualBatchNorm::reference_statistics`].
#[derive(Clone, Debug)]
pub struct ReferenceStatistics<const D: usize> {
    /// The reference batch.
    pub reference_batch: Tensor<D>,
    /// Its per-feature mean, `[1, .., C, .., 1]`.
    pub mean: Tensor<D>,
    /// Its per-feature mean of squares, `[1, .., C, .., 1]`.
    pub mean_sq: Tensor<D>,
    /// Its number of examples `N_ref`.
    pub batch_size: usize,
}

fn mean_over<const D: usize>(mut x: Tensor<D>, axes: &[usize]) -> Tensor<D> {
    for a in axes {
        x = x.mean_dim(*a);
    }
    x
}

impl VirtualBatchNorm {
    fn axes<const D: usize>(&self) -> Result<(usize, usize)> {
        let axis = normalize_axis(self.axis, D, "axis")?;
        let batch_axis = normalize_axis(self.batch_axis, D, "batch_axis")?;
        if axis == batch_axis {
            return Err(RganError::invalid(
                "axis",
                format!("the feature axis {axis} is also the batch axis (`batch_axis` = {})", self.batch_axis),
            ));
        }
        Ok((axis, batch_axis))
    }

    /// Computes the reference batch's statistics (differentiable in the reference batch, as in
    /// TF-GAN). Errors when its feature axis is not `num_features` long or it is empty.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::VirtualBatchNormConfig;
    /// let device = Device::default();
    /// let vbn = VirtualBatchNormConfig::new(3).init(&device);
    /// let stats = vbn.reference_statistics(Tensor::<4>::ones([8, 3, 4, 4], &device)).unwrap();
    /// assert_eq!(stats.mean.dims(), [1, 3, 1, 1]);
    /// assert_eq!(stats.batch_size, 8);
    /// ```
    pub fn reference_statistics<const D: usize>(&self, reference_batch: Tensor<D>) -> Result<ReferenceStatistics<D>> {
        let (axis, batch_axis) = self.axes::<D>()?;
        let dims = reference_batch.dims();
        if dims[axis] != self.num_features {
            return Err(RganError::shape(
                "reference_batch",
                &dims,
                format!("but the layer has {} features on axis {axis}", self.num_features),
            ));
        }
        if dims.contains(&0) {
            return Err(RganError::shape("reference_batch", &dims, "but it must not be empty"));
        }
        let reduce: Vec<usize> = (0..D).filter(|a| *a != axis).collect();
        let mean = mean_over(reference_batch.clone(), &reduce);
        let mean_sq = mean_over(reference_batch.clone().square(), &reduce);
        Ok(ReferenceStatistics { reference_batch, mean, mean_sq, batch_size: dims[batch_axis] })
    }

    fn normalize<const D: usize>(&self, x: Tensor<D>, mean: Tensor<D>, mean_sq: Tensor<D>, axis: usize) -> Tensor<D> {
        let var = mean_sq - mean.clone().square();
        let mut inv = var.add_scalar(self.epsilon).sqrt().recip();
        let shape = broadcast_shape::<D>(axis, self.num_features);
        if let Some(gamma) = &self.gamma {
            inv = inv * gamma.val().reshape(shape);
        }
        let offset = match &self.beta {
            Some(beta) => beta.val().reshape(shape) - mean * inv.clone(),
            None => mean.neg() * inv.clone(),
        };
        x * inv + offset
    }

    /// Normalizes `inputs` example by example against the reference statistics. `inputs` must
    /// have the reference batch's shape except on the batch axis.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::VirtualBatchNormConfig;
    /// let device = Device::default();
    /// let vbn = VirtualBatchNormConfig::new(2).init(&device);
    /// let stats = vbn.reference_statistics(Tensor::<2>::ones([4, 2], &device)).unwrap();
    /// let err = vbn.forward(&stats, Tensor::<2>::ones([3, 5], &device)).unwrap_err().to_string();
    /// assert!(err.contains("`inputs`") && err.contains("reference_batch"));
    /// ```
    pub fn forward<const D: usize>(&self, reference: &ReferenceStatistics<D>, inputs: Tensor<D>) -> Result<Tensor<D>> {
        let (axis, batch_axis) = self.axes::<D>()?;
        let dims = inputs.dims();
        let ref_dims = reference.reference_batch.dims();
        let compatible = (0..D).all(|a| a == batch_axis || dims[a] == ref_dims[a]);
        if !compatible || ref_dims[axis] != self.num_features {
            return Err(RganError::shape(
                "inputs",
                &dims,
                format!(
                    "but `reference_batch` has shape {ref_dims:?}; they must agree on every axis except the batch axis {batch_axis}"
                ),
            ));
        }
        let reduce: Vec<usize> = (0..D).filter(|a| *a != axis && *a != batch_axis).collect();
        let mean_x = mean_over(inputs.clone(), &reduce);
        let mean_sq_x = mean_over(inputs.clone().square(), &reduce);
        let w = 1.0 / (reference.batch_size as f64 + 1.0);
        let mean = mean_x.mul_scalar(w) + reference.mean.clone().mul_scalar(1.0 - w);
        let mean_sq = mean_sq_x.mul_scalar(w) + reference.mean_sq.clone().mul_scalar(1.0 - w);
        Ok(self.normalize(inputs, mean, mean_sq, axis))
    }

    /// TF-GAN's `reference_batch_normalization()`: the reference batch normalized with its own
    /// statistics.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::VirtualBatchNormConfig;
    /// let device = Device::default();
    /// let vbn = VirtualBatchNormConfig::new(1).with_epsilon(0.0).init(&device);
    /// let stats = vbn.reference_statistics(Tensor::<2>::from_floats([[1.0], [3.0]], &device)).unwrap();
    /// let y = vbn.reference_batch_normalization(&stats).unwrap();
    /// assert_eq!(y.into_data().try_to_vec::<f32>().unwrap(), vec![-1.0, 1.0]);
    /// ```
    pub fn reference_batch_normalization<const D: usize>(
        &self,
        reference: &ReferenceStatistics<D>,
    ) -> Result<Tensor<D>> {
        let (axis, _) = self.axes::<D>()?;
        Ok(self.normalize(reference.reference_batch.clone(), reference.mean.clone(), reference.mean_sq.clone(), axis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn matches_the_closed_form_per_example() {
        let device = Device::default();
        let vbn = VirtualBatchNormConfig::new(3).with_center(false).with_scale(false).init(&device);
        let reference = Tensor::<2>::random([6, 3], Distribution::Default, &device);
        let stats = vbn.reference_statistics(reference.clone()).unwrap();
        // For [batch, features] inputs an example's own statistics are the example itself.
        let out = vbn.forward(&stats, reference.clone()).unwrap();
        let w = 1.0 / 7.0;
        let mean = reference.clone().mul_scalar(w) + stats.mean.clone().mul_scalar(1.0 - w);
        let mean_sq = reference.clone().square().mul_scalar(w) + stats.mean_sq.clone().mul_scalar(1.0 - w);
        let expected = (reference - mean.clone()) / (mean_sq - mean.square()).add_scalar(1e-3).sqrt();
        out.into_data().assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
    }

    #[test]
    fn rejects_same_axis_and_bad_features() {
        let device = Device::default();
        let vbn = VirtualBatchNormConfig::new(3).with_axis(0).init(&device);
        let err = vbn.reference_statistics(Tensor::<2>::ones([3, 3], &device)).unwrap_err().to_string();
        assert!(err.contains("batch_axis"), "{err}");
        let vbn = VirtualBatchNormConfig::new(4).init(&device);
        let err = vbn.reference_statistics(Tensor::<2>::ones([3, 3], &device)).unwrap_err().to_string();
        assert!(err.contains("reference_batch") && err.contains("[3, 3]"), "{err}");
    }

    #[test]
    fn gradients_reach_gamma_beta_and_the_reference_batch() {
        let device = Device::default().autodiff();
        let vbn = VirtualBatchNormConfig::new(2).init(&device);
        let reference = Tensor::<2>::random([4, 2], Distribution::Default, &device).require_grad();
        let x = Tensor::<2>::random([3, 2], Distribution::Default, &device);
        let stats = vbn.reference_statistics(reference.clone()).unwrap();
        let y = vbn.forward(&stats, x.clone()).unwrap();
        let grads = (y * x).sum().backward();
        assert!(reference.grad(&grads).is_some());
        assert!(vbn.gamma.as_ref().unwrap().val().grad(&grads).is_some());
    }
}
