//! The [`CriticLayer`] trait: a layer that knows its input gradient in differentiable burn ops.

use crate::error::Result;

use super::tape::{Activation, Tape};

/// A critic layer whose input gradient (vector-Jacobian product) is written in ordinary
/// differentiable burn operations, so that autodiff differentiates it with respect to the
/// layer's weights exactly: double backprop, which gradient penalties need and burn's
/// first-order autodiff cannot give by itself.
///
/// `forward_taped` computes the layer's output and pushes onto the tape what the input gradient
/// needs; `input_gradient` takes `d(out)` and returns `d(input)`, popping those values in reverse
/// order. A configuration whose input gradient is not implemented (dilation, groups, …) returns an
/// error, never a wrong number.
///
/// rgan implements it for burn's `Linear`, `Conv2d`, `LeakyRelu`, `Relu`, `Tanh`, `Sigmoid`,
/// `BatchNorm`, `AvgPool2d` and for rgan's [`LayerNorm`](super::LayerNorm),
/// [`Flatten`](super::Flatten), [`Unflatten`](super::Unflatten),
/// [`MinibatchStddev`](super::MinibatchStddev), [`ConcatConditioning`](super::ConcatConditioning),
/// [`Residual`](super::Residual), [`Concat`](super::Concat), and rgan's feature layers
/// [`SpectralNormLinear`](crate::features::SpectralNormLinear),
/// [`SpectralNormConv2d`](crate::features::SpectralNormConv2d),
/// [`InstanceNorm`](crate::features::InstanceNorm) and [`GroupNorm`](crate::features::GroupNorm). A
/// critic made of such layers implements [`SequentialCritic`] and gets this trait for free.
///
/// ```
/// use burn::nn::{LeakyRelu, LeakyReluConfig, Linear, LinearConfig};
/// use burn::prelude::*;
/// use rgan::penalties::{Activation, CriticLayer, Tape};
/// let device = Device::default();
/// let linear = LinearConfig::new(3, 1).init(&device);
/// let mut tape = Tape::new();
/// let x = Activation::from(Tensor::<2>::ones([2, 3], &device));
/// let out = linear.forward_taped(x, &mut tape).unwrap();
/// let dx = linear.input_gradient(out.ones_like(), &mut tape).unwrap();
/// assert_eq!(dx.dims(), vec![2, 3]); // each row is the weight column
/// ```
pub trait CriticLayer {
    /// The forward pass, recording on `tape` what [`CriticLayer::input_gradient`] needs.
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation>;

    /// `d(input)` given `d(output)`, built from differentiable ops (pops what
    /// [`CriticLayer::forward_taped`] recorded).
    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation>;
}

/// A critic that is a chain of [`CriticLayer`]s: list them in order and the critic implements
/// [`CriticLayer`] (forward in order, input gradient in reverse).
///
/// A critic with several heads (ACGAN's class logits, InfoGAN's recognizer) lists its trunk and
/// its source (real/fake) head: gradient penalties use the source output.
///
/// ```
/// use burn::nn::{LeakyRelu, LeakyReluConfig, Linear, LinearConfig};
/// use burn::prelude::*;
/// use rgan::penalties::{CriticLayer, SequentialCritic};
///
/// #[derive(Module, Debug)]
/// struct Critic {
///     hidden: Linear,
///     act: LeakyRelu,
///     out: Linear,
/// }
///
/// impl SequentialCritic for Critic {
///     fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
///         vec![&self.hidden, &self.act, &self.out]
///     }
/// }
///
/// let device = Device::default();
/// let critic = Critic {
///     hidden: LinearConfig::new(4, 8).init(&device),
///     act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
///     out: LinearConfig::new(8, 1).init(&device),
/// };
/// let real = Tensor::<2>::ones([3, 4], &device);
/// let r1 = rgan::penalties::r1_penalty(&critic, real, None, 10.0).unwrap();
/// assert_eq!(r1.per_example_grad_sq_norm.dims(), [3]);
/// ```
pub trait SequentialCritic {
    /// The layers, in forward order.
    fn critic_layers(&self) -> Vec<&dyn CriticLayer>;
}

impl<T: SequentialCritic> CriticLayer for T {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        chain_forward(&self.critic_layers(), input, tape)
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        chain_input_gradient(&self.critic_layers(), output_gradient, tape)
    }
}

/// Runs `layers` in order on `input`, recording on `tape`.
///
/// ```
/// use burn::nn::{Relu, LinearConfig};
/// use burn::prelude::*;
/// use rgan::penalties::{chain_forward, chain_input_gradient, Activation, CriticLayer, Tape};
/// let device = Device::default();
/// let (linear, relu) = (LinearConfig::new(2, 2).init(&device), Relu);
/// let layers: [&dyn CriticLayer; 2] = [&linear, &relu];
/// let mut tape = Tape::new();
/// let out = chain_forward(&layers, Activation::from(Tensor::<2>::ones([1, 2], &device)), &mut tape).unwrap();
/// let dx = chain_input_gradient(&layers, out.ones_like(), &mut tape).unwrap();
/// assert!(tape.is_empty());
/// assert_eq!(dx.dims(), vec![1, 2]);
/// ```
pub fn chain_forward(layers: &[&dyn CriticLayer], input: Activation, tape: &mut Tape) -> Result<Activation> {
    layers.iter().try_fold(input, |x, layer| layer.forward_taped(x, tape))
}

/// The input gradient of a chain: `layers` in reverse order.
///
/// ```
/// use burn::nn::Tanh;
/// use burn::prelude::*;
/// use rgan::penalties::{chain_forward, chain_input_gradient, Activation, CriticLayer, Tape};
/// let device = Device::default();
/// let layers: [&dyn CriticLayer; 2] = [&Tanh, &Tanh];
/// let mut tape = Tape::new();
/// let out = chain_forward(&layers, Activation::from(Tensor::<2>::zeros([1, 1], &device)), &mut tape).unwrap();
/// let dx = chain_input_gradient(&layers, out.ones_like(), &mut tape).unwrap();
/// assert_eq!(dx.features("dx").unwrap().into_scalar::<f32>(), 1.0); // tanh'(0)^2
/// ```
pub fn chain_input_gradient(
    layers: &[&dyn CriticLayer],
    output_gradient: Activation,
    tape: &mut Tape,
) -> Result<Activation> {
    layers.iter().rev().try_fold(output_gradient, |g, layer| layer.input_gradient(g, tape))
}
