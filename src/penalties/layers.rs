//! [`CriticLayer`] for burn's layers, and rgan's own critic layers (layer norm over all
//! non-batch axes, flatten/unflatten, minibatch standard deviation).

use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::pool::AvgPool2d;
use burn::nn::{BatchNorm, LeakyRelu, Linear, PaddingConfig2d, Relu, Sigmoid, Tanh};
use burn::prelude::*;
use burn::tensor::activation;
use burn::tensor::module::conv_transpose2d;
use burn::tensor::ops::ConvTransposeOptions;

use super::layer::CriticLayer;
use super::tape::{Activation, Tape};
use crate::error::{Result, RganError};
use crate::ops::{conv2d, conv2d_input_gradient, leaky_relu, linear_layer, matmul, scale_nonpositive};

/// `[1, C, 1, …]`: a per-channel vector broadcast against `[batch, C, …]`.
pub(crate) fn per_channel<const D: usize>(v: Tensor<1>) -> Tensor<D> {
    let mut shape = [1usize; D];
    shape[1] = v.dims()[0];
    v.reshape(shape)
}

/// Normalizes `x` over `dims`: returns `(x_hat, inv_std)` with biased variance, no stop-gradient.
pub(crate) fn normalize<const D: usize>(x: Tensor<D>, dims: &[usize], epsilon: f64) -> (Tensor<D>, Tensor<D>) {
    let centered = x.clone() - x.mean_dims(dims);
    let inv_std = centered.clone().square().mean_dims(dims).add_scalar(epsilon).sqrt().recip();
    (centered * inv_std.clone(), inv_std)
}

/// Input gradient of `x_hat = normalize(x)` given `d(x_hat)`:
/// `inv_std * (g - mean(g) - x_hat * mean(g * x_hat))` over `dims`.
pub(crate) fn normalize_input_gradient<const D: usize>(
    grad_x_hat: Tensor<D>,
    x_hat: Tensor<D>,
    inv_std: Tensor<D>,
    dims: &[usize],
) -> Tensor<D> {
    let mean_g = grad_x_hat.clone().mean_dims(dims);
    let mean_gx = (grad_x_hat.clone() * x_hat.clone()).mean_dims(dims);
    inv_std * (grad_x_hat - mean_g - x_hat * mean_gx)
}

/// `[(before, after); 2]` padding of a 2-D convolution or pooling over an `height x width` input,
/// TF's SAME rule for [`PaddingConfig2d::Same`] (the extra row/column at the bottom/right).
pub(crate) fn resolve_padding(
    padding: &PaddingConfig2d,
    [height, width]: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> [(usize, usize); 2] {
    let same = |k: usize, s: usize, n: usize| {
        let out = n.div_ceil(s);
        let total = ((out.max(1) - 1) * s + k).saturating_sub(n);
        (total / 2, total - total / 2)
    };
    match padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Same => [same(kernel[0], stride[0], height), same(kernel[1], stride[1], width)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(*top, *bottom), (*left, *right)],
    }
}

impl CriticLayer for Linear {
    fn forward_taped(&self, input: Activation, _tape: &mut Tape) -> Result<Activation> {
        let x = input.features("Linear")?;
        let [_, d_in] = x.dims();
        let [w_in, _] = self.weight.dims();
        if d_in != w_in {
            return Err(RganError::shape("Linear input", &x.dims(), format!("but the weight is [{w_in}, _]")));
        }
        Ok(Activation::Features(linear_layer(self, x)))
    }

    fn input_gradient(&self, output_gradient: Activation, _tape: &mut Tape) -> Result<Activation> {
        let g = output_gradient.features("Linear")?;
        Ok(Activation::Features(matmul(g, self.weight.val().transpose())))
    }
}

/// The settings of a 2-D convolution that its input gradient needs.
pub(crate) struct ConvSettings<'a> {
    pub stride: [usize; 2],
    pub kernel_size: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
    pub padding: &'a PaddingConfig2d,
}

impl<'a> From<&'a Conv2d> for ConvSettings<'a> {
    fn from(conv: &'a Conv2d) -> Self {
        Self {
            stride: conv.stride,
            kernel_size: conv.kernel_size,
            dilation: conv.dilation,
            groups: conv.groups,
            padding: &conv.padding,
        }
    }
}

/// A 2-D convolution's forward pass with `weight` (the one its input gradient will use),
/// recording the input size; unsupported settings (dilation, groups) are errors.
pub(crate) fn conv2d_forward_taped(
    layer: &str,
    conv: ConvSettings<'_>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    input: Activation,
    tape: &mut Tape,
) -> Result<Activation> {
    if conv.dilation != [1, 1] {
        return Err(RganError::unsupported(layer, format!("dilation {:?} (only [1, 1])", conv.dilation)));
    }
    if conv.groups != 1 {
        return Err(RganError::unsupported(layer, format!("groups = {} (only 1)", conv.groups)));
    }
    let x = input.maps(layer)?;
    let [_, c_in, h, w] = x.dims();
    let [_, w_in, _, _] = weight.dims();
    if c_in != w_in {
        return Err(RganError::shape(
            format!("{layer} input"),
            &x.dims(),
            format!("but the weight {:?} takes {w_in} input channels", weight.dims()),
        ));
    }
    let padding = resolve_padding(conv.padding, [h, w], conv.kernel_size, conv.stride);
    let out =
        conv2d(x, weight, bias, burn::tensor::ops::ConvOptions::new_with_padding(conv.stride, padding, [1, 1], 1));
    tape.push_shape(&[h, w]);
    Ok(Activation::Maps(out))
}

/// The input gradient matching [`conv2d_forward_taped`].
pub(crate) fn conv2d_input_gradient_taped(
    layer: &str,
    conv: ConvSettings<'_>,
    weight: Tensor<4>,
    output_gradient: Activation,
    tape: &mut Tape,
) -> Result<Activation> {
    let (h, w) = match tape.pop_shape(layer)?[..] {
        [h, w] => (h, w),
        ref other => return Err(RganError::shape(format!("{layer} tape"), other, "but an [H, W] shape was recorded")),
    };
    let padding = resolve_padding(conv.padding, [h, w], conv.kernel_size, conv.stride);
    let g = output_gradient.maps(layer)?;
    Ok(Activation::Maps(conv2d_input_gradient(g, weight, conv.stride, padding, [h, w])))
}

impl CriticLayer for Conv2d {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let bias = self.bias.as_ref().map(|b| b.val());
        conv2d_forward_taped("Conv2d", self.into(), self.weight.val(), bias, input, tape)
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        conv2d_input_gradient_taped("Conv2d", self.into(), self.weight.val(), output_gradient, tape)
    }
}

/// Leaky ReLU's input gradient: `g` where the input was positive, `slope * g` elsewhere; the mask
/// comes from the detached input (it is piecewise constant).
fn leaky_input_gradient(layer: &str, slope: f64, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
    let x = tape.pop(layer)?;
    Ok(match (x, output_gradient) {
        (Activation::Features(x), Activation::Features(g)) => Activation::Features(scale_nonpositive(g, x, slope)),
        (Activation::Maps(x), Activation::Maps(g)) => Activation::Maps(scale_nonpositive(g, x, slope)),
        (_, g) => {
            return Err(RganError::shape(
                format!("{layer} output gradient"),
                &g.dims(),
                "but the input had another rank",
            ));
        }
    })
}

impl CriticLayer for LeakyRelu {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        tape.push(input.clone().map(|t| t.detach(), |t| t.detach()));
        let slope = self.negative_slope;
        Ok(input.map(|t| leaky_relu(t, slope), |t| leaky_relu(t, slope)))
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        leaky_input_gradient("LeakyRelu", self.negative_slope, output_gradient, tape)
    }
}

impl CriticLayer for Relu {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        tape.push(input.clone().map(|t| t.detach(), |t| t.detach()));
        Ok(input.map(activation::relu, activation::relu))
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        leaky_input_gradient("Relu", 0.0, output_gradient, tape)
    }
}

/// Multiplies `g` by `f(y)` where `y` is the (tracked) output saved on the tape.
fn output_based_gradient(
    layer: &str,
    output_gradient: Activation,
    tape: &mut Tape,
    f2: impl FnOnce(Tensor<2>) -> Tensor<2>,
    f4: impl FnOnce(Tensor<4>) -> Tensor<4>,
) -> Result<Activation> {
    let y = tape.pop(layer)?;
    Ok(match (y, output_gradient) {
        (Activation::Features(y), Activation::Features(g)) => Activation::Features(g * f2(y)),
        (Activation::Maps(y), Activation::Maps(g)) => Activation::Maps(g * f4(y)),
        (_, g) => {
            return Err(RganError::shape(
                format!("{layer} output gradient"),
                &g.dims(),
                "but the output had another rank",
            ));
        }
    })
}

impl CriticLayer for Tanh {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let y = input.map(activation::tanh, activation::tanh);
        tape.push(y.clone());
        Ok(y)
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        // tanh' = 1 - y^2, with y tracked: its weight dependence is part of the exact gradient.
        output_based_gradient(
            "Tanh",
            output_gradient,
            tape,
            |y| y.square().neg().add_scalar(1.0),
            |y| y.square().neg().add_scalar(1.0),
        )
    }
}

impl CriticLayer for Sigmoid {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let y = input.map(activation::sigmoid, activation::sigmoid);
        tape.push(y.clone());
        Ok(y)
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        output_based_gradient(
            "Sigmoid",
            output_gradient,
            tape,
            |y| y.clone() * y.neg().add_scalar(1.0),
            |y| y.clone() * y.neg().add_scalar(1.0),
        )
    }
}

/// Whether a batch norm uses batch statistics: burn's rule (an autodiff input and the training
/// flag on).
fn batch_norm_trains(bn: &BatchNorm, input: &Activation) -> bool {
    let device = match input {
        Activation::Features(t) => t.device(),
        Activation::Maps(t) => t.device(),
    };
    device.is_autodiff() && bn.training.is_enabled()
}

/// Batch norm as a critic layer. In training mode (burn's rule: autodiff input and the training
/// flag on) it normalizes with the batch's statistics and its input gradient includes their
/// dependence on the input; the running statistics are not updated by this pass (the ordinary
/// `forward` of the discriminator loss does that). In inference mode it uses the running
/// statistics.
impl CriticLayer for BatchNorm {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let [channels] = self.gamma.dims();
        let dims = input.dims();
        if dims.len() < 2 || dims[1] != channels {
            return Err(RganError::shape("BatchNorm input", &dims, format!("but gamma has {channels} channels")));
        }
        let training = batch_norm_trains(self, &input);
        let (gamma, beta, eps) = (self.gamma.val(), self.beta.val(), self.epsilon);
        if training {
            Ok(match input {
                Activation::Features(x) => {
                    let (x_hat, inv_std) = normalize(x, &[0], eps);
                    tape.push(x_hat.clone());
                    tape.push(inv_std);
                    Activation::Features(x_hat * per_channel::<2>(gamma) + per_channel::<2>(beta))
                }
                Activation::Maps(x) => {
                    let (x_hat, inv_std) = normalize(x, &[0, 2, 3], eps);
                    tape.push(x_hat.clone());
                    tape.push(inv_std);
                    Activation::Maps(x_hat * per_channel::<4>(gamma) + per_channel::<4>(beta))
                }
            })
        } else {
            let device = match &input {
                Activation::Features(t) => t.device(),
                Activation::Maps(t) => t.device(),
            };
            let dtype = gamma.dtype();
            let mean = self.running_mean.value().to_device(&device).cast(dtype);
            let inv_std = self.running_var.value().to_device(&device).cast(dtype).add_scalar(eps).sqrt().recip();
            let scale = gamma * inv_std;
            let shift = beta - mean * scale.clone();
            Ok(input.map(
                |x| x * per_channel::<2>(scale.clone()) + per_channel::<2>(shift.clone()),
                |x| x * per_channel::<4>(scale.clone()) + per_channel::<4>(shift.clone()),
            ))
        }
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let gamma = self.gamma.val();
        if batch_norm_trains(self, &output_gradient) {
            let inv_std = tape.pop("BatchNorm")?;
            let x_hat = tape.pop("BatchNorm")?;
            Ok(match (output_gradient, x_hat, inv_std) {
                (Activation::Features(g), Activation::Features(x_hat), Activation::Features(inv_std)) => {
                    Activation::Features(normalize_input_gradient(g * per_channel::<2>(gamma), x_hat, inv_std, &[0]))
                }
                (Activation::Maps(g), Activation::Maps(x_hat), Activation::Maps(inv_std)) => {
                    Activation::Maps(normalize_input_gradient(g * per_channel::<4>(gamma), x_hat, inv_std, &[0, 2, 3]))
                }
                (g, _, _) => {
                    return Err(RganError::shape(
                        "BatchNorm output gradient",
                        &g.dims(),
                        "but the input had another rank",
                    ));
                }
            })
        } else {
            let device = match &output_gradient {
                Activation::Features(t) => t.device(),
                Activation::Maps(t) => t.device(),
            };
            let inv_std =
                self.running_var.value().to_device(&device).cast(gamma.dtype()).add_scalar(self.epsilon).sqrt().recip();
            let scale = gamma * inv_std;
            Ok(output_gradient.map(|g| g * per_channel::<2>(scale.clone()), |g| g * per_channel::<4>(scale.clone())))
        }
    }
}

impl CriticLayer for AvgPool2d {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let padded = !matches!(self.padding, PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0));
        if padded {
            return Err(RganError::unsupported("AvgPool2d", format!("padding {:?} (only none)", self.padding)));
        }
        if self.ceil_mode {
            return Err(RganError::unsupported("AvgPool2d", "ceil_mode = true"));
        }
        let x = input.maps("AvgPool2d")?;
        tape.push_shape(&x.dims());
        Ok(Activation::Maps(self.forward(x)))
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let (channels, h, w) = match tape.pop_shape("AvgPool2d")?[..] {
            [_, c, h, w] => (c, h, w),
            ref other => {
                return Err(RganError::shape("AvgPool2d tape", other, "but a [batch, C, H, W] shape was recorded"));
            }
        };
        let [kh, kw] = self.kernel_size;
        let g = output_gradient.maps("AvgPool2d")?;
        // Spread each output gradient evenly over its window: a depthwise transposed convolution
        // with a constant 1/(kh*kw) kernel.
        let kernel = Tensor::<4>::ones([channels, 1, kh, kw], &g.device()).cast(g.dtype()).div_scalar((kh * kw) as f64);
        let stride = self.stride;
        let padding_out = [(h - kh) % stride[0], (w - kw) % stride[1]];
        Ok(Activation::Maps(conv_transpose2d(
            g,
            kernel,
            None,
            ConvTransposeOptions::new(stride, [0, 0], padding_out, [1, 1], channels),
        )))
    }
}

/// Layer normalization over all non-batch axes of each example (TF's `layer_norm` as WGAN-GP
/// critics use it), with a per-feature (vectors) or per-channel (maps) scale and offset.
///
/// Unlike burn's `LayerNorm` (last axis only, private epsilon), it normalizes feature maps over
/// `C, H, W`, and its input gradient is exact.
///
/// ```
/// use burn::prelude::*;
/// use rgan::penalties::LayerNormConfig;
/// let device = Device::default();
/// let norm = LayerNormConfig::new(3).init(&device);
/// let y = norm.forward(Tensor::<4>::ones([2, 3, 4, 4], &device).cumsum(3));
/// assert_eq!(y.dims(), [2, 3, 4, 4]);
/// ```
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// Scale, one per feature or channel.
    pub gamma: Param<Tensor<1>>,
    /// Offset, one per feature or channel.
    pub beta: Param<Tensor<1>>,
    /// Added to the variance.
    pub epsilon: f64,
}

/// Configuration of [`LayerNorm`].
#[derive(Config, Debug)]
pub struct LayerNormConfig {
    /// Number of features (vectors) or channels (maps).
    pub num_features: usize,
    /// Added to the variance. Default 1e-5 (burn's and PyTorch's; TF's `layer_norm` uses 1e-12).
    #[config(default = 1e-5)]
    pub epsilon: f64,
}

impl LayerNormConfig {
    /// A layer norm with scale 1 and offset 0.
    pub fn init(&self, device: &Device) -> LayerNorm {
        LayerNorm {
            gamma: Param::from_tensor(Tensor::ones([self.num_features], device)),
            beta: Param::from_tensor(Tensor::zeros([self.num_features], device)),
            epsilon: self.epsilon,
        }
    }
}

impl LayerNorm {
    /// Normalizes each example over all its non-batch axes, then scales and shifts per channel.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dims: Vec<usize> = (1..D).collect();
        let (x_hat, _) = normalize(x, &dims, self.epsilon);
        x_hat * per_channel::<D>(self.gamma.val()) + per_channel::<D>(self.beta.val())
    }
}

impl CriticLayer for LayerNorm {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let [features] = self.gamma.dims();
        let dims = input.dims();
        if dims[1] != features {
            return Err(RganError::shape("LayerNorm input", &dims, format!("but gamma has {features} entries")));
        }
        let eps = self.epsilon;
        Ok(match input {
            Activation::Features(x) => {
                let (x_hat, inv_std) = normalize(x, &[1], eps);
                tape.push(x_hat.clone());
                tape.push(inv_std);
                Activation::Features(x_hat * per_channel::<2>(self.gamma.val()) + per_channel::<2>(self.beta.val()))
            }
            Activation::Maps(x) => {
                let (x_hat, inv_std) = normalize(x, &[1, 2, 3], eps);
                tape.push(x_hat.clone());
                tape.push(inv_std);
                Activation::Maps(x_hat * per_channel::<4>(self.gamma.val()) + per_channel::<4>(self.beta.val()))
            }
        })
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let inv_std = tape.pop("LayerNorm")?;
        let x_hat = tape.pop("LayerNorm")?;
        let gamma = self.gamma.val();
        Ok(match (output_gradient, x_hat, inv_std) {
            (Activation::Features(g), Activation::Features(x_hat), Activation::Features(inv_std)) => {
                Activation::Features(normalize_input_gradient(g * per_channel::<2>(gamma), x_hat, inv_std, &[1]))
            }
            (Activation::Maps(g), Activation::Maps(x_hat), Activation::Maps(inv_std)) => {
                Activation::Maps(normalize_input_gradient(g * per_channel::<4>(gamma), x_hat, inv_std, &[1, 2, 3]))
            }
            (g, _, _) => {
                return Err(RganError::shape("LayerNorm output gradient", &g.dims(), "but the input had another rank"));
            }
        })
    }
}

/// Flattens feature maps `[batch, C, H, W]` into vectors `[batch, C*H*W]` (NCHW order).
///
/// ```
/// use burn::prelude::*;
/// use rgan::penalties::{Activation, CriticLayer, Flatten, Tape};
/// let x = Activation::from(Tensor::<4>::zeros([2, 3, 4, 4], &Device::default()));
/// let y = Flatten.forward_taped(x, &mut Tape::new()).unwrap();
/// assert_eq!(y.dims(), vec![2, 48]);
/// ```
#[derive(Module, Debug, Default)]
pub struct Flatten;

impl CriticLayer for Flatten {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let x = input.maps("Flatten")?;
        let [b, c, h, w] = x.dims();
        tape.push_shape(&[b, c, h, w]);
        Ok(Activation::Features(x.reshape([b, c * h * w])))
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let shape = tape.pop_shape("Flatten")?;
        let g = output_gradient.features("Flatten")?;
        let [b, c, h, w]: [usize; 4] = shape.try_into().map_err(|s: Vec<usize>| {
            RganError::shape("Flatten tape", &s, "but a [batch, C, H, W] shape was recorded")
        })?;
        Ok(Activation::Maps(g.reshape([b, c, h, w])))
    }
}

/// Reshapes vectors `[batch, C*H*W]` into feature maps `[batch, C, H, W]`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::penalties::{Activation, CriticLayer, Tape, Unflatten};
/// let x = Activation::from(Tensor::<2>::zeros([2, 12], &Device::default()));
/// let y = Unflatten { channels: 3, height: 2, width: 2 }.forward_taped(x, &mut Tape::new()).unwrap();
/// assert_eq!(y.dims(), vec![2, 3, 2, 2]);
/// ```
#[derive(Module, Debug)]
pub struct Unflatten {
    /// Channels of the output maps.
    pub channels: usize,
    /// Height of the output maps.
    pub height: usize,
    /// Width of the output maps.
    pub width: usize,
}

impl CriticLayer for Unflatten {
    fn forward_taped(&self, input: Activation, _tape: &mut Tape) -> Result<Activation> {
        let x = input.features("Unflatten")?;
        let [b, f] = x.dims();
        let (c, h, w) = (self.channels, self.height, self.width);
        if f != c * h * w {
            return Err(RganError::shape(
                "Unflatten input",
                &[b, f],
                format!("but [{c}, {h}, {w}] needs {} features", c * h * w),
            ));
        }
        Ok(Activation::Maps(x.reshape([b, c, h, w])))
    }

    fn input_gradient(&self, output_gradient: Activation, _tape: &mut Tape) -> Result<Activation> {
        let g = output_gradient.maps("Unflatten")?;
        let [b, c, h, w] = g.dims();
        Ok(Activation::Features(g.reshape([b, c * h * w])))
    }
}

/// ProGAN's minibatch standard deviation: appends one channel (maps) or feature (vectors) holding
/// the mean over features of the batch standard deviation `sqrt(var_batch + epsilon)`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::penalties::{Activation, CriticLayer, MinibatchStddev, Tape};
/// let x = Activation::from(Tensor::<4>::ones([4, 3, 2, 2], &Device::default()));
/// let y = MinibatchStddev::default().forward_taped(x, &mut Tape::new()).unwrap();
/// assert_eq!(y.dims(), vec![4, 4, 2, 2]);
/// ```
#[derive(Module, Debug)]
pub struct MinibatchStddev {
    /// Added to the batch variance before the square root (default 1e-8, as ProGAN).
    pub epsilon: f64,
}

impl Default for MinibatchStddev {
    fn default() -> Self {
        Self { epsilon: 1e-8 }
    }
}

impl MinibatchStddev {
    fn stats<const D: usize>(&self, x: Tensor<D>) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
        let centered = x.clone() - x.mean_dim(0);
        let std = centered.clone().square().mean_dim(0).add_scalar(self.epsilon).sqrt();
        let dims: Vec<usize> = (0..D).collect();
        let stat = std.clone().mean_dims(&dims);
        (centered, std, stat)
    }
}

impl CriticLayer for MinibatchStddev {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        Ok(match input {
            Activation::Features(x) => {
                let [b, _] = x.dims();
                let (centered, std, stat) = self.stats(x.clone());
                tape.push(centered);
                tape.push(std);
                Activation::Features(Tensor::cat(vec![x, stat.expand([b, 1])], 1))
            }
            Activation::Maps(x) => {
                let [b, _, h, w] = x.dims();
                let (centered, std, stat) = self.stats(x.clone());
                tape.push(centered);
                tape.push(std);
                Activation::Maps(Tensor::cat(vec![x, stat.expand([b, 1, h, w])], 1))
            }
        })
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let std = tape.pop("MinibatchStddev")?;
        let centered = tape.pop("MinibatchStddev")?;
        // d stat / d x = centered / (N * std) / (number of features per example).
        Ok(match (output_gradient, centered, std) {
            (Activation::Features(g), Activation::Features(centered), Activation::Features(std)) => {
                let [b, f1] = g.dims();
                let f = f1 - 1;
                let g_x = g.clone().slice([0..b, 0..f]);
                let g_stat = g.slice([0..b, f..f1]).sum().reshape([1, 1]);
                let d_stat = (centered / std).div_scalar((b * f) as f64);
                Activation::Features(g_x + d_stat * g_stat)
            }
            (Activation::Maps(g), Activation::Maps(centered), Activation::Maps(std)) => {
                let [b, c1, h, w] = g.dims();
                let c = c1 - 1;
                let g_x = g.clone().slice([0..b, 0..c, 0..h, 0..w]);
                let g_stat = g.slice([0..b, c..c1, 0..h, 0..w]).sum().reshape([1, 1, 1, 1]);
                let d_stat = (centered / std).div_scalar((b * c * h * w) as f64);
                Activation::Maps(g_x + d_stat * g_stat)
            }
            (g, _, _) => {
                return Err(RganError::shape(
                    "MinibatchStddev output gradient",
                    &g.dims(),
                    "but the input had another rank",
                ));
            }
        })
    }
}
