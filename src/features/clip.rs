//! WGAN weight clipping, as TF-GAN's `clip_variables` / `clip_discriminator_weights`.
//!
//! TF-GAN wraps the optimizer so that after each update every variable it trains is projected
//! with `clip_by_norm` over no axes, i.e. clamped elementwise to `[-c, c]`. In burn the optimizer
//! step and the clipping are two calls: `optim.step(..)` then [`clip_variables`].

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;

use super::replace_value;
use crate::error::{Result, RganError};

/// A [`ModuleMapper`] that clamps float parameters into `[-weight_clip, weight_clip]`.
///
/// Which tensors are clipped: TF-GAN clips the trainable variables (the discriminator's), not
/// buffers such as batch-norm moving statistics. burn shows both trainable parameters and
/// `RunningState` buffers (batch-norm statistics, spectral-norm `u`) to a mapper, and tells them
/// apart only on an autodiff device, where buffers do not require gradients. So on an autodiff
/// device (the usual case, right after an optimizer step) only tensors that require gradients are
/// clipped; on a plain device every float tensor is.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::features::WeightClipper;
/// let linear = LinearConfig::new(4, 4).init(&Device::default());
/// let clipped = linear.map(&mut WeightClipper::new(0.01).unwrap());
/// assert!(clipped.weight.val().abs().max().into_scalar::<f32>() <= 0.01);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightClipper {
    weight_clip: f64,
}

impl WeightClipper {
    /// A clipper into `[-weight_clip, weight_clip]`; errors when `weight_clip` is negative or not
    /// finite (TF-GAN raises on a negative clip).
    ///
    /// ```
    /// use rgan::features::WeightClipper;
    /// assert!(WeightClipper::new(0.01).is_ok());
    /// assert!(WeightClipper::new(-1.0).unwrap_err().to_string().contains("weight_clip"));
    /// ```
    pub fn new(weight_clip: f64) -> Result<Self> {
        if !weight_clip.is_finite() || weight_clip < 0.0 {
            return Err(RganError::invalid(
                "weight_clip",
                format!("{weight_clip} is not a valid clip value; it must be finite and ≥ 0"),
            ));
        }
        Ok(Self { weight_clip })
    }

    /// The clip value `c`.
    ///
    /// ```
    /// use rgan::features::WeightClipper;
    /// assert_eq!(WeightClipper::new(0.5).unwrap().weight_clip(), 0.5);
    /// ```
    pub fn weight_clip(&self) -> f64 {
        self.weight_clip
    }
}

impl ModuleMapper for WeightClipper {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let value = param.val();
        if value.is_autodiff() && !value.is_require_grad() {
            return param; // a buffer (RunningState) or a frozen parameter
        }
        let c = self.weight_clip;
        param.map(|t| replace_value(t, |t| t.clamp(-c, c)))
    }
}

/// Clamps every trainable float parameter of `module` into `[-weight_clip, weight_clip]` (the
/// projection TF-GAN's `clip_variables` applies after each optimizer step) and returns the new
/// module. See [`WeightClipper`] for which tensors count as trainable.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::features::clip_variables;
/// let device = Device::default().autodiff();
/// let critic = LinearConfig::new(8, 1).init(&device);
/// let critic = clip_variables(critic, 0.01).unwrap();
/// assert!(critic.weight.val().abs().max().into_scalar::<f32>() <= 0.01);
/// assert!(critic.weight.val().is_require_grad());
/// ```
pub fn clip_variables<M: Module>(module: M, weight_clip: f64) -> Result<M> {
    let mut clipper = WeightClipper::new(weight_clip)?;
    Ok(module.map(&mut clipper))
}

/// TF-GAN's `clip_discriminator_weights`: [`clip_variables`] on the discriminator.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::features::clip_discriminator_weights;
/// let critic = LinearConfig::new(2, 1).init(&Device::default());
/// let critic = clip_discriminator_weights(critic, 0.0).unwrap();
/// assert_eq!(critic.weight.val().abs().max().into_scalar::<f32>(), 0.0);
/// ```
pub fn clip_discriminator_weights<M: Module>(discriminator: M, weight_clip: f64) -> Result<M> {
    clip_variables(discriminator, weight_clip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{BatchNormConfig, LinearConfig};
    use burn::tensor::Distribution;

    #[derive(Module, Debug)]
    struct Critic {
        linear: burn::nn::Linear,
        norm: burn::nn::BatchNorm,
    }

    #[test]
    fn running_statistics_are_not_clipped_on_an_autodiff_device() {
        let device = Device::default().autodiff();
        let critic = Critic {
            linear: LinearConfig::new(3, 3).init(&device),
            norm: BatchNormConfig::new(3).with_momentum(1.0).init(&device),
        };
        // Fill the running statistics with large values by a training forward.
        let x = Tensor::<2>::random([8, 3], Distribution::Uniform(5.0, 9.0), &device);
        let _ = critic.norm.forward(x);
        let mean_before = critic.norm.running_mean.value_sync().into_data();
        let critic = clip_variables(critic, 0.01).unwrap();
        assert_eq!(critic.norm.running_mean.value().into_data(), mean_before);
        assert!(critic.linear.weight.val().abs().max().into_scalar::<f32>() <= 0.01);
        assert!(critic.norm.gamma.val().max().into_scalar::<f32>() <= 0.01);
        assert!(critic.linear.weight.val().is_require_grad());
    }

    #[test]
    fn rejects_negative_and_nan_clips() {
        let linear = LinearConfig::new(2, 2).init(&Device::default());
        assert!(clip_variables(linear.clone(), -0.1).is_err());
        assert!(clip_variables(linear, f64::NAN).is_err());
    }
}
