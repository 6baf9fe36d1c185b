//! TF's default initializers, drawn from rgan's [`Rng`].

use burn::module::Param;
use burn::prelude::*;

use crate::rng::Rng;

/// A parameter drawn from TF's `glorot_uniform` (Xavier): uniform in `[-l, l]` with
/// `l = sqrt(6 / (fan_in + fan_out))`.
///
/// ```
/// use burn::prelude::*;
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let w = rgan::model::glorot_uniform(&mut rng, [3, 5], 3, 5, &Device::default());
/// let limit = (6.0f32 / 8.0).sqrt();
/// assert!(w.val().abs().max().into_scalar::<f32>() <= limit);
/// ```
pub fn glorot_uniform<const D: usize>(
    rng: &mut Rng,
    shape: [usize; D],
    fan_in: usize,
    fan_out: usize,
    device: &Device,
) -> Param<Tensor<D>> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    Param::from_tensor(rng.uniform(shape, -limit, limit, device))
}

/// A parameter of zeros (TF's default bias initializer).
///
/// ```
/// use burn::prelude::*;
/// let b = rgan::model::zeros([4], &Device::default());
/// assert_eq!(b.val().sum().into_scalar::<f32>(), 0.0);
/// ```
pub fn zeros<const D: usize>(shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::zeros(shape, device))
}
