//! TF's default initializers, drawn from rgan's [`Rng`].

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
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

/// TF's dense layer: a Glorot-uniform kernel `[inputs, outputs]` drawn from `rng`, and a zero bias
/// when `bias`.
///
/// ```
/// use burn::prelude::*;
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let layer = rgan::model::glorot_linear(&mut rng, 3, 2, false, &Device::default());
/// assert_eq!((layer.weight.dims(), layer.bias.is_none()), ([3, 2], true));
/// ```
pub fn glorot_linear(rng: &mut Rng, inputs: usize, outputs: usize, bias: bool, device: &Device) -> Linear {
    let mut layer =
        LinearConfig::new(inputs, outputs).with_bias(bias).with_initializer(Initializer::Zeros).init(device);
    layer.weight = glorot_uniform(rng, [inputs, outputs], inputs, outputs, device);
    layer
}

/// TF's `Conv2D(padding='same')`: a Glorot-uniform kernel `[out, in, k, k]` drawn from `rng`
/// and a zero bias.
///
/// ```
/// use burn::prelude::*;
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let conv = rgan::model::glorot_conv2d(&mut rng, [1, 8], 4, 2, &Device::default());
/// assert_eq!(conv.weight.dims(), [8, 1, 4, 4]);
/// ```
pub fn glorot_conv2d(rng: &mut Rng, channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let mut layer = Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Same)
        .with_initializer(Initializer::Zeros)
        .init(device);
    let [i, o] = channels;
    layer.weight = glorot_uniform(rng, [o, i, kernel, kernel], i * kernel * kernel, o * kernel * kernel, device);
    layer.bias = Some(zeros([o], device));
    layer
}
