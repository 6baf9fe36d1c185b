//! Gradient penalties computed exactly by double backprop: WGAN-GP, R1, R2 and DRAGAN.

use burn::prelude::*;

use super::layer::CriticLayer;
use super::tape::{Activation, Tape};
use crate::error::{Result, RganError};
use crate::losses::{Reduction, Weights, compute_weighted_loss};
use crate::rng::Rng;

/// Optional arguments of [`wasserstein_gradient_penalty`], with TF-GAN's defaults
/// (`epsilon = 1e-10` inside the square root, `target = 1`, two-sided, weights 1,
/// `SUM_BY_NONZERO_WEIGHTS`).
///
/// ```
/// use rgan::penalties::GradientPenaltyOptions;
/// let opts = GradientPenaltyOptions { one_sided: true, ..Default::default() };
/// assert_eq!((opts.epsilon, opts.target), (1e-10, 1.0));
/// ```
#[derive(Clone, Debug)]
pub struct GradientPenaltyOptions {
    /// Added to the squared gradient norm inside the square root (keeps it differentiable at 0).
    pub epsilon: f64,
    /// The gradient norm the penalty pulls towards.
    pub target: f64,
    /// Penalize only norms above the target (`max(0, norm / target - 1)`).
    pub one_sided: bool,
    /// Per-example weights (scalar or `[batch]`).
    pub weights: Weights<1>,
    /// How the per-example penalties are reduced.
    pub reduction: Reduction,
}

impl Default for GradientPenaltyOptions {
    fn default() -> Self {
        Self {
            epsilon: 1e-10,
            target: 1.0,
            one_sided: false,
            weights: Weights::default(),
            reduction: Reduction::default(),
        }
    }
}

/// What [`wasserstein_gradient_penalty`] computed.
#[derive(Clone, Debug)]
pub struct GradientPenalty<const D: usize> {
    /// The reduced penalty (`[1]`; `[batch]` for [`Reduction::None`]); differentiable with
    /// respect to the critic's parameters.
    pub penalty: Tensor<1>,
    /// The points the gradient was taken at, `real + alpha * (generated - real)`.
    pub interpolates: Tensor<D>,
    /// Per-example gradient norms `sqrt(sum(grad^2) + epsilon)`, `[batch]`.
    pub slopes: Tensor<1>,
}

/// What [`r1_penalty`] and [`r2_penalty`] computed.
#[derive(Clone, Debug)]
pub struct R1Penalty {
    /// `gamma / 2 * mean_b ||dD(x_b)/dx_b||^2`, shape `[1]`, differentiable w.r.t. the critic.
    pub penalty: Tensor<1>,
    /// `||dD(x_b)/dx_b||^2` per example, `[batch]`.
    pub per_example_grad_sq_norm: Tensor<1>,
}

fn to_activation<const D: usize>(x: Tensor<D>, argument: &str) -> Result<Activation> {
    let dims = x.dims();
    match D {
        2 => Ok(Activation::Features(x.reshape([dims[0], dims[1]]))),
        4 => Ok(Activation::Maps(x.reshape([dims[0], dims[1], dims[2], dims[3]]))),
        _ => Err(RganError::shape(argument, &dims, "but critics take [batch, features] or [batch, C, H, W] inputs")),
    }
}

fn from_activation<const D: usize>(a: Activation, argument: &str) -> Result<Tensor<D>> {
    let dims = a.dims();
    let shape: [usize; D] =
        dims.clone().try_into().map_err(|_| RganError::shape(argument, &dims, format!("but rank {D} was expected")))?;
    Ok(match a {
        Activation::Features(t) => t.reshape(shape),
        Activation::Maps(t) => t.reshape(shape),
    })
}

/// `d sum(critic(x)) / dx`, built from differentiable ops so that it can itself be differentiated
/// with respect to the critic's parameters (double backprop).
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::penalties::critic_input_gradient;
/// let device = Device::default();
/// let critic = LinearConfig::new(3, 1).init(&device);
/// let grad = critic_input_gradient(&critic, Tensor::<2>::zeros([2, 3], &device), None).unwrap();
/// assert_eq!(grad.dims(), [2, 3]);
/// ```
pub fn critic_input_gradient<C: CriticLayer + ?Sized, const D: usize>(
    critic: &C,
    x: Tensor<D>,
    conditioning: Option<Tensor<2>>,
) -> Result<Tensor<D>> {
    let mut tape = match conditioning {
        Some(labels) => Tape::with_conditioning(labels),
        None => Tape::new(),
    };
    let out = critic.forward_taped(to_activation(x, "critic input")?, &mut tape)?;
    let grad = critic.input_gradient(out.ones_like(), &mut tape)?;
    if !tape.is_empty() {
        return Err(RganError::invalid(
            "critic",
            format!("{} values left on the tape: its forward_taped and input_gradient do not match", tape.len()),
        ));
    }
    from_activation(grad, "critic input gradient")
}

fn sum_non_batch<const D: usize>(x: Tensor<D>) -> Tensor<1> {
    let batch = x.dims()[0];
    x.reshape([batch as i64, -1]).sum_dim(1).reshape([batch])
}

/// WGAN-GP's gradient penalty with the interpolation weights given (`alpha`, shape
/// `[batch, 1, …]`): TF-GAN's `wasserstein_gradient_penalty` with its random draw replaced.
///
/// `penalty = reduce(weights * (slopes / target - 1)^2)` with
/// `slopes = sqrt(sum(grad^2) + epsilon)` and `grad = d sum(D(interpolates)) / d interpolates`
/// computed by double backprop: `penalty.backward()` gives the exact parameter gradients.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::penalties::{wasserstein_gradient_penalty_with_alpha, GradientPenaltyOptions};
/// let device = Device::default();
/// let critic = LinearConfig::new(2, 1).with_bias(false).init(&device);
/// let real = Tensor::<2>::zeros([4, 2], &device);
/// let fake = Tensor::<2>::ones([4, 2], &device);
/// let alpha = Tensor::<2>::full([4, 1], 0.5, &device);
/// let gp = wasserstein_gradient_penalty_with_alpha(&critic, real, fake, alpha, None, &GradientPenaltyOptions::default()).unwrap();
/// // A linear critic's gradient is its weight everywhere: penalty = (|w| - 1)^2.
/// let w = critic.weight.val().square().sum().sqrt().into_scalar::<f32>();
/// assert!((gp.penalty.into_scalar::<f32>() - (w - 1.0).powi(2)).abs() < 1e-5);
/// ```
pub fn wasserstein_gradient_penalty_with_alpha<C: CriticLayer + ?Sized, const D: usize>(
    critic: &C,
    real_data: Tensor<D>,
    generated_data: Tensor<D>,
    alpha: Tensor<D>,
    conditioning: Option<Tensor<2>>,
    options: &GradientPenaltyOptions,
) -> Result<GradientPenalty<D>> {
    let (real_shape, gen_shape) = (real_data.dims(), generated_data.dims());
    if real_shape != gen_shape {
        return Err(RganError::shape(
            "generated_data",
            &gen_shape,
            format!("but `real_data` has shape {real_shape:?}; they must be equal"),
        ));
    }
    let alpha_shape = alpha.dims();
    if alpha_shape[0] != real_shape[0] || alpha_shape[1..].iter().any(|&d| d != 1) {
        return Err(RganError::shape(
            "alpha",
            &alpha_shape,
            format!("but it must be [batch, 1, ...] for `real_data` of shape {real_shape:?}"),
        ));
    }
    if options.target <= 0.0 {
        return Err(RganError::invalid("target", format!("must be positive, got {}", options.target)));
    }
    let alpha = alpha.cast(real_data.dtype());
    let interpolates = real_data.clone() + (generated_data - real_data) * alpha;
    let grad = critic_input_gradient(critic, interpolates.clone(), conditioning)?;
    let slopes = sum_non_batch(grad.square()).add_scalar(options.epsilon).sqrt();
    let mut penalties = slopes.clone().div_scalar(options.target).sub_scalar(1.0);
    if options.one_sided {
        penalties = penalties.clamp_min(0.0);
    }
    let penalty = compute_weighted_loss(penalties.square(), &options.weights, options.reduction, "weights")?;
    Ok(GradientPenalty { penalty, interpolates, slopes })
}

/// WGAN-GP's gradient penalty (Gulrajani et al. 2017), TF-GAN's `wasserstein_gradient_penalty`:
/// `alpha ~ U[0, 1)` per example from `rng`, then
/// [`wasserstein_gradient_penalty_with_alpha`].
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::penalties::{wasserstein_gradient_penalty, GradientPenaltyOptions};
/// use rgan::rng::Rng;
/// let device = Device::default().autodiff();
/// let critic = LinearConfig::new(2, 1).init(&device);
/// let (real, fake) = (Tensor::<2>::zeros([4, 2], &device), Tensor::<2>::ones([4, 2], &device));
/// let mut rng = Rng::seed_from_u64(0);
/// let gp = wasserstein_gradient_penalty(&critic, real, fake, None, &mut rng, &GradientPenaltyOptions::default()).unwrap();
/// let grads = gp.penalty.backward();
/// assert!(critic.weight.val().grad(&grads).is_some());
/// ```
pub fn wasserstein_gradient_penalty<C: CriticLayer + ?Sized, const D: usize>(
    critic: &C,
    real_data: Tensor<D>,
    generated_data: Tensor<D>,
    conditioning: Option<Tensor<2>>,
    rng: &mut Rng,
    options: &GradientPenaltyOptions,
) -> Result<GradientPenalty<D>> {
    let mut shape = [1usize; D];
    shape[0] = real_data.dims()[0];
    let alpha = rng.uniform_dtype(shape, 0.0, 1.0, real_data.dtype(), &real_data.device());
    wasserstein_gradient_penalty_with_alpha(critic, real_data, generated_data, alpha, conditioning, options)
}

/// R1 (Mescheder et al. 2018): `gamma / 2 * mean_b ||dD(x_b)/dx_b||^2` at the real data, exact by
/// double backprop. TF-GAN has no R1; this follows the paper (no epsilon).
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::penalties::r1_penalty;
/// let device = Device::default();
/// let critic = LinearConfig::new(2, 1).init(&device);
/// let r1 = r1_penalty(&critic, Tensor::<2>::zeros([3, 2], &device), None, 10.0).unwrap();
/// let w2 = critic.weight.val().square().sum().into_scalar::<f32>();
/// assert!((r1.penalty.into_scalar::<f32>() - 5.0 * w2).abs() < 1e-5);
/// ```
pub fn r1_penalty<C: CriticLayer + ?Sized, const D: usize>(
    critic: &C,
    real_data: Tensor<D>,
    conditioning: Option<Tensor<2>>,
    gamma: f64,
) -> Result<R1Penalty> {
    let grad = critic_input_gradient(critic, real_data, conditioning)?;
    let per_example_grad_sq_norm = sum_non_batch(grad.square());
    let penalty = per_example_grad_sq_norm.clone().mean().mul_scalar(gamma / 2.0);
    Ok(R1Penalty { penalty, per_example_grad_sq_norm })
}

/// R2: the R1 penalty at generated data, `gamma / 2 * mean_b ||dD(G(z)_b)/dx||^2`.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::penalties::r2_penalty;
/// let device = Device::default();
/// let critic = LinearConfig::new(2, 1).init(&device);
/// let r2 = r2_penalty(&critic, Tensor::<2>::ones([3, 2], &device), None, 1.0).unwrap();
/// assert_eq!(r2.per_example_grad_sq_norm.dims(), [3]);
/// ```
pub fn r2_penalty<C: CriticLayer + ?Sized, const D: usize>(
    critic: &C,
    generated_data: Tensor<D>,
    conditioning: Option<Tensor<2>>,
    gamma: f64,
) -> Result<R1Penalty> {
    r1_penalty(critic, generated_data, conditioning, gamma)
}

/// DRAGAN (Kodali et al. 2017): the gradient penalty around the real data, at
/// `x + alpha * (x_p - x)` with perturbed points `x_p = x + scale * std(x) * U[0, 1)` (per element,
/// `std` over the whole batch, unbiased), `alpha ~ U[0, 1)` per example, all from `rng`; then the
/// same penalty as [`wasserstein_gradient_penalty_with_alpha`] (`options` apply). The common
/// choice is `perturbation_scale = 0.5`.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::penalties::{dragan_penalty, GradientPenaltyOptions};
/// use rgan::rng::Rng;
/// let device = Device::default();
/// let critic = LinearConfig::new(2, 1).init(&device);
/// let real = Tensor::<2>::from_floats([[0.0, 1.0], [2.0, 3.0]], &device);
/// let gp = dragan_penalty(&critic, real, None, 0.5, &mut Rng::seed_from_u64(1), &GradientPenaltyOptions::default()).unwrap();
/// assert_eq!(gp.slopes.dims(), [2]);
/// ```
pub fn dragan_penalty<C: CriticLayer + ?Sized, const D: usize>(
    critic: &C,
    real_data: Tensor<D>,
    conditioning: Option<Tensor<2>>,
    perturbation_scale: f64,
    rng: &mut Rng,
    options: &GradientPenaltyOptions,
) -> Result<GradientPenalty<D>> {
    let dims: [usize; D] = real_data.dims();
    let n = dims.iter().product::<usize>();
    if n < 2 {
        return Err(RganError::shape(
            "real_data",
            &dims,
            "but DRAGAN needs at least 2 elements for a standard deviation",
        ));
    }
    let real = real_data.clone().detach();
    let mean = real.clone().mean();
    let var = (real.clone() - mean.reshape([1usize; D])).square().sum().div_scalar((n - 1) as f64);
    let std = var.sqrt().reshape([1usize; D]);
    let noise = rng.uniform_dtype(dims, 0.0, 1.0, real.dtype(), &real.device());
    let perturbed = real_data.clone() + noise * std.mul_scalar(perturbation_scale);
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    let alpha = rng.uniform_dtype(shape, 0.0, 1.0, real.dtype(), &real.device());
    wasserstein_gradient_penalty_with_alpha(critic, real_data, perturbed, alpha, conditioning, options)
}
