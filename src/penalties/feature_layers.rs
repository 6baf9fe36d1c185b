//! [`CriticLayer`] for rgan's feature layers: spectral-normalized linear and conv, instance and
//! group norm.

use burn::prelude::*;

use super::layer::CriticLayer;
use super::layers::{
    ConvSettings, conv2d_forward_taped, conv2d_input_gradient_taped, normalize, normalize_input_gradient, per_channel,
};
use super::tape::{Activation, Tape};
use crate::error::{Result, RganError};
use crate::features::{GroupNorm, InstanceNorm, SpectralNormConv2d, SpectralNormLinear};
use crate::ops::matmul;

/// Spectral-normalized linear: the forward pass computes `x W / sigma(W)` exactly as
/// [`SpectralNormLinear::forward`] does (in training mode one power iteration advances `u`, as
/// TF-GAN does every time the weight is read; `(x W) / σ` when `x` has fewer rows than `W`, else
/// `x (W / σ)`); the input gradient reuses the same weight and divisor, whose dependence on `W`
/// autodiff differentiates (`u`, `v` are constants).
impl CriticLayer for SpectralNormLinear {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let x = input.features("SpectralNormLinear")?;
        let [_, d_in] = x.dims();
        let [w_in, _] = self.weight.dims();
        if d_in != w_in {
            return Err(RganError::shape(
                "SpectralNormLinear input",
                &x.dims(),
                format!("but the weight is [{w_in}, _]"),
            ));
        }
        let training = self.is_training(&x.device());
        let (weight, divisor) = self.product_factors(x.dims()[0], training);
        let out = self.forward_with_factors(x, weight.clone(), divisor.clone());
        let divisor = match divisor {
            Some(divisor) => divisor.reshape([1, 1]),
            None => Tensor::<2>::ones([1, 1], &weight.device()).cast(weight.dtype()),
        };
        tape.push(weight);
        tape.push(divisor);
        Ok(Activation::Features(out))
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        // `g (W / σ)ᵀ = (g / σ) Wᵀ`; the divisor is 1 where the forward used `W / σ` itself.
        let divisor = tape.pop_features("SpectralNormLinear")?;
        let weight = tape.pop_features("SpectralNormLinear")?;
        let g = output_gradient.features("SpectralNormLinear")?;
        Ok(Activation::Features(matmul(g.div(divisor), weight.transpose())))
    }
}

/// Spectral-normalized conv2d, as [`SpectralNormLinear`]'s impl: the normalized weight of the
/// forward pass is reused by the (transposed-convolution) input gradient.
impl CriticLayer for SpectralNormConv2d {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let device = match &input {
            Activation::Features(t) => t.device(),
            Activation::Maps(t) => t.device(),
        };
        let weight = if self.is_training(&device) { self.update_normalized_weight() } else { self.normalized_weight() };
        let bias = self.bias.as_ref().map(|b| b.val());
        let out = conv2d_forward_taped("SpectralNormConv2d", self.settings(), weight.clone(), bias, input, tape)?;
        tape.push(weight);
        Ok(out)
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let weight = tape.pop_maps("SpectralNormConv2d")?;
        conv2d_input_gradient_taped("SpectralNormConv2d", self.settings(), weight, output_gradient, tape)
    }
}

trait Settings {
    fn settings(&self) -> ConvSettings<'_>;
}

impl Settings for SpectralNormConv2d {
    fn settings(&self) -> ConvSettings<'_> {
        ConvSettings {
            stride: self.stride,
            kernel_size: self.kernel_size,
            dilation: self.dilation,
            groups: self.groups,
            padding: &self.padding,
        }
    }
}

/// Optional per-channel affine of a normalization: `x_hat * gamma + beta`.
fn affine(x_hat: Tensor<4>, gamma: Option<Tensor<1>>, beta: Option<Tensor<1>>) -> Tensor<4> {
    let scaled = match gamma {
        Some(g) => x_hat * per_channel::<4>(g),
        None => x_hat,
    };
    match beta {
        Some(b) => scaled + per_channel::<4>(b),
        None => scaled,
    }
}

fn check_channels(layer: &str, dims: &[usize], channels: usize) -> Result<()> {
    if dims[1] != channels {
        return Err(RganError::shape(format!("{layer} input"), dims, format!("but the layer has {channels} channels")));
    }
    Ok(())
}

/// Instance norm over each example's and channel's `H, W`, with its optional affine.
impl CriticLayer for InstanceNorm {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let x = input.maps("InstanceNorm")?;
        check_channels("InstanceNorm", &x.dims(), self.num_channels)?;
        let (x_hat, inv_std) = normalize(x, &[2, 3], self.epsilon);
        tape.push(x_hat.clone());
        tape.push(inv_std);
        Ok(Activation::Maps(affine(x_hat, self.gamma.as_ref().map(|p| p.val()), self.beta.as_ref().map(|p| p.val()))))
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let inv_std = tape.pop_maps("InstanceNorm")?;
        let x_hat = tape.pop_maps("InstanceNorm")?;
        let g = output_gradient.maps("InstanceNorm")?;
        let g = match &self.gamma {
            Some(gamma) => g * per_channel::<4>(gamma.val()),
            None => g,
        };
        Ok(Activation::Maps(normalize_input_gradient(g, x_hat, inv_std, &[2, 3])))
    }
}

/// Group norm over each example's channel groups and `H, W`, with its optional affine.
impl CriticLayer for GroupNorm {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let x = input.maps("GroupNorm")?;
        let [b, c, h, w] = x.dims();
        check_channels("GroupNorm", &[b, c, h, w], self.num_channels)?;
        let groups = self.num_groups;
        if groups == 0 || c % groups != 0 {
            return Err(RganError::invalid("groups", format!("{groups} groups do not divide {c} channels")));
        }
        let grouped: Tensor<5> = x.reshape([b, groups, c / groups, h, w]);
        let (x_hat, inv_std) = normalize(grouped, &[2, 3, 4], self.epsilon);
        let x_hat: Tensor<4> = x_hat.reshape([b, c, h, w]);
        tape.push(x_hat.clone());
        tape.push(inv_std.reshape([b, groups, 1, 1]));
        Ok(Activation::Maps(affine(x_hat, self.gamma.as_ref().map(|p| p.val()), self.beta.as_ref().map(|p| p.val()))))
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let inv_std = tape.pop_maps("GroupNorm")?;
        let x_hat = tape.pop_maps("GroupNorm")?;
        let g = output_gradient.maps("GroupNorm")?;
        let [b, c, h, w] = g.dims();
        let groups = self.num_groups;
        let g = match &self.gamma {
            Some(gamma) => g * per_channel::<4>(gamma.val()),
            None => g,
        };
        let shape = [b, groups, c / groups, h, w];
        let inv_std: Tensor<5> = inv_std.reshape([b, groups, 1, 1, 1]);
        let dx = normalize_input_gradient(g.reshape(shape), x_hat.reshape(shape), inv_std, &[2, 3, 4]);
        Ok(Activation::Maps(dx.reshape([b, c, h, w])))
    }
}

/// TF-GAN's embedding conditioning as a critic layer: adds the projected embedding of the
/// tape's one-hot labels (see [`Tape::with_conditioning`]) to its input. The labels are
/// constants, so the input gradient passes through unchanged.
impl CriticLayer for crate::features::ConditionTensorFromOnehot {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let labels = tape.conditioning().cloned().ok_or_else(|| {
            RganError::invalid(
                "conditioning",
                "ConditionTensorFromOnehot needs one-hot labels; pass them to the penalty (Some(labels))",
            )
        })?;
        let labels = labels.detach();
        Ok(match input {
            Activation::Features(x) => Activation::Features(self.forward(x, labels)?),
            Activation::Maps(x) => Activation::Maps(self.forward(x, labels)?),
        })
    }

    fn input_gradient(&self, output_gradient: Activation, _tape: &mut Tape) -> Result<Activation> {
        Ok(output_gradient)
    }
}
