//! Spectral normalization (Miyato et al. 2018), as TF-GAN's
//! `features/spectral_normalization.py`.
//!
//! A weight is viewed as the matrix `W = reshape(w, [-1, out_channels])` (TF's layout: a dense
//! kernel `[in, out]`, a conv kernel `[kh, kw, in, out]`). A persistent vector `u` of shape
//! `[rows, 1]` (random-normal initialised) holds the current estimate of the leading left singular
//! vector. Each power-iteration round computes `v = l2n(Wᵀu)`, `u = l2n(W v)` with
//! `l2n(x) = x / sqrt(max(Σx², 1e-12))`; then `σ = uᵀ W v` and the normalized weight is `w / σ`
//! (or `w / max(1, σ)` when not equality constrained). `u` and `v` are constants for the
//! gradient (TF's `stop_gradient`), `W` is not.
//!
//! burn keeps conv weights as `[out, in, kh, kw]`: [`conv2d_weight_matrix`] permutes them to TF's
//! `[kh, kw, in, out]` before flattening, so that `u` and every number match TF-GAN's.

use burn::module::{Flag, Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::{Initializer, Linear, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::ops::ConvOptions;

use crate::error::{Result, RganError};
use crate::ops::{conv2d, linear, matmul, spectral_matmul};

/// The `epsilon` of TF-GAN's l2 normalization inside the power iteration (`1e-12`).
pub const L2_NORMALIZE_EPSILON: f64 = 1e-12;

/// Options of [`spectral_normalize`], with TF-GAN's defaults: one power-iteration round,
/// equality constrained, training.
///
/// ```
/// use rgan::features::SpectralNormOptions;
/// let opts = SpectralNormOptions::default();
/// assert_eq!(opts.power_iteration_rounds, 1);
/// assert!(opts.equality_constrained && opts.training);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpectralNormOptions {
    /// Number of power-iteration rounds per call (TF-GAN default 1, must be at least 1).
    pub power_iteration_rounds: usize,
    /// `true`: divide by `σ` (the spectral norm becomes exactly 1); `false`: divide by
    /// `max(1, σ)` (only shrink weights whose norm exceeds 1). TF-GAN default `true`.
    pub equality_constrained: bool,
    /// `true`: the returned `u` is the iterated vector (to be stored back, as TF-GAN assigns it to
    /// its variable); `false`: the returned `u` is the given one. TF-GAN default `true`.
    pub training: bool,
}

impl Default for SpectralNormOptions {
    fn default() -> Self {
        Self { power_iteration_rounds: 1, equality_constrained: true, training: true }
    }
}

/// The result of [`compute_spectral_norm`].
#[derive(Clone, Debug)]
pub struct SpectralNorm {
    /// The spectral-norm estimate `σ = uᵀ W v`, shape `[1]`; differentiable with respect to the
    /// weight.
    pub sigma: Tensor<1>,
    /// The left vector after the power iteration, `[rows, 1]`, detached.
    pub u: Tensor<2>,
    /// The right vector after the power iteration, `[out_channels, 1]`, detached.
    pub v: Tensor<2>,
}

/// The result of [`spectral_normalize`].
#[derive(Clone, Debug)]
pub struct SpectralNormalized<const D: usize> {
    /// The normalized weight, same shape and layout as the input weight.
    pub weight: Tensor<D>,
    /// The `u` to keep: the iterated one when `training`, else the given one.
    pub u: Tensor<2>,
    /// The spectral-norm estimate `σ`, shape `[1]`.
    pub sigma: Tensor<1>,
}

/// TF's matrix view of a weight in TF layout: `reshape(w, [-1, w.shape[-1]])` (a dense kernel
/// `[in, out]` stays as it is, a conv kernel `[kh, kw, in, out]` becomes `[kh*kw*in, out]`).
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::weight_matrix;
/// let w = Tensor::<4>::zeros([3, 3, 2, 4], &Device::default());
/// assert_eq!(weight_matrix(w).unwrap().dims(), [18, 4]);
/// ```
pub fn weight_matrix<const D: usize>(w: Tensor<D>) -> Result<Tensor<2>> {
    let dims = w.dims();
    if D < 2 {
        return Err(RganError::shape("w", &dims, "but spectral normalization needs a weight of rank at least 2"));
    }
    let out = dims[D - 1];
    let rows: usize = dims[..D - 1].iter().product();
    if out == 0 || rows == 0 {
        return Err(RganError::shape("w", &dims, "but spectral normalization needs a non-empty weight"));
    }
    Ok(w.reshape([rows, out]))
}

/// TF's matrix view of a burn conv weight `[out, in, kh, kw]`: permuted to TF's
/// `[kh, kw, in, out]` and flattened to `[kh*kw*in, out]`, so that row `r` is the same kernel entry
/// as in TF-GAN and a `u` taken from TF applies unchanged.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::conv2d_weight_matrix;
/// let w = Tensor::<4>::zeros([4, 2, 3, 3], &Device::default());
/// assert_eq!(conv2d_weight_matrix(w).dims(), [18, 4]);
/// ```
pub fn conv2d_weight_matrix(w: Tensor<4>) -> Tensor<2> {
    let [out, input, kh, kw] = w.dims();
    w.permute([2, 3, 1, 0]).reshape([kh * kw * input, out])
}

fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(0).clamp_min(L2_NORMALIZE_EPSILON).sqrt();
    x.div(norm)
}

/// The power iteration without argument checks: `matrix` [rows, out], `u` [rows, 1], rounds ≥ 1.
pub(crate) fn power_iteration(matrix: Tensor<2>, u: Tensor<2>, rounds: usize) -> SpectralNorm {
    let (u, v, _) = power_vectors(&matrix, u, rounds);
    let (u_used, v_used) = constants_for(&matrix, &u, &v);
    let sigma = matmul(matmul(u_used.transpose(), matrix), v_used).reshape([1]);
    SpectralNorm { sigma, u, v }
}

/// The power iteration's new `u` and `v`, and `σ = uᵀ W v` (`[1, 1]`) from its last product
/// `W v` (all detached, off autodiff).
fn power_vectors(matrix: &Tensor<2>, u: Tensor<2>, rounds: usize) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    let w = matrix.clone().detach().inner();
    let u = u.inner().detach().to_device(&w.device()).cast(w.dtype());
    rounds_from(&w, matmul(w.clone().transpose(), u), rounds)
}

/// [`power_vectors`] on the plain matrix `w`, from the first round's `Wᵀ u` on.
fn rounds_from(w: &Tensor<2>, first_wtu: Tensor<2>, rounds: usize) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    let mut v = l2_normalize(first_wtu);
    let mut wv = matmul(w.clone(), v.clone());
    let mut u = l2_normalize(wv.clone());
    for _ in 1..rounds {
        v = l2_normalize(matmul(w.clone().transpose(), u.clone()));
        wv = matmul(w.clone(), v.clone());
        u = l2_normalize(wv.clone());
    }
    let sigma = u.clone().mul(wv).sum().reshape([1, 1]);
    (u, v, sigma)
}

/// `(x W) / σ` after `rounds` power-iteration rounds, reading the weight once for both `x W` and
/// the first round's `Wᵀ u`: they are the rows of `[x; uᵀ] W`. The same numbers as
/// [`power_vectors`] followed by [`spectral_matmul`], one pass over the weight fewer. Returns the
/// product and the new `u`, or `None` where rgan's CPU kernels do not run.
fn fused_rounds(x: Tensor<2>, w: Tensor<2>, u: Tensor<2>, rounds: usize) -> Option<(Tensor<2>, Tensor<2>)> {
    if !crate::ops::on_cpu_kernels(&x) || !crate::ops::on_cpu_kernels(&w) {
        return None;
    }
    let rows = x.dims()[0];
    let plain = w.clone().detach().inner();
    let u = u.inner().detach().to_device(&plain.device()).cast(plain.dtype());
    let both = matmul(Tensor::cat(vec![x.clone().detach().inner(), u.transpose()], 0), plain.clone());
    let cols = both.dims()[1];
    let xw = both.clone().slice([0..rows, 0..cols]);
    let (u, v, sigma) = rounds_from(&plain, both.slice([rows..rows + 1, 0..cols]).reshape([cols, 1]), rounds);
    let (u_used, v_used) = constants_for(&w, &u, &v);
    let (sigma, xw) = if w.is_autodiff() { (sigma.autodiff(), xw.autodiff()) } else { (sigma, xw) };
    let out = crate::ops::spectral_matmul_product(x, w, u_used, v_used, sigma, xw)?;
    Some((out, u))
}

/// `u` and `v` as constants on `matrix`'s device (autodiff when it is).
fn constants_for(matrix: &Tensor<2>, u: &Tensor<2>, v: &Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    if matrix.is_autodiff() { (u.clone().autodiff(), v.clone().autodiff()) } else { (u.clone(), v.clone()) }
}

fn check_u(matrix_dims: [usize; 2], u: &Tensor<2>, w_dims: &[usize]) -> Result<()> {
    let expected = [matrix_dims[0], 1];
    if u.dims() != expected {
        return Err(RganError::shape(
            "u",
            &u.dims(),
            format!("but `w` has shape {w_dims:?} (matrix {:?}), so `u` must have shape {expected:?}", matrix_dims),
        ));
    }
    Ok(())
}

fn check_rounds(rounds: usize) -> Result<()> {
    if rounds == 0 {
        return Err(RganError::invalid("power_iteration_rounds", "must be at least 1 (TF-GAN's default is 1)"));
    }
    Ok(())
}

/// TF-GAN's `compute_spectral_norm`: the spectral-norm estimate of a weight in TF layout after
/// `power_iteration_rounds` rounds of power iteration started from `u` (`[rows, 1]`, rows = the
/// product of all but the last dimension of `w`).
///
/// Returns `σ` (differentiable in `w`) and the iterated `u` and `v` (constants). The caller keeps
/// the new `u` for the next call, as TF-GAN's `spectral_norm_u` variable does.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::compute_spectral_norm;
/// let device = Device::default();
/// let w = Tensor::<2>::from_floats([[3.0, 0.0], [0.0, 1.0]], &device);
/// let u = Tensor::<2>::from_floats([[1.0], [0.5]], &device);
/// let sn = compute_spectral_norm(w, u, 20).unwrap();
/// assert!((sn.sigma.into_scalar::<f32>() - 3.0).abs() < 1e-4);
/// ```
pub fn compute_spectral_norm<const D: usize>(
    w: Tensor<D>,
    u: Tensor<2>,
    power_iteration_rounds: usize,
) -> Result<SpectralNorm> {
    check_rounds(power_iteration_rounds)?;
    let w_dims = w.dims();
    let matrix = weight_matrix(w)?;
    check_u(matrix.dims(), &u, &w_dims)?;
    Ok(power_iteration(matrix, u, power_iteration_rounds))
}

fn divide<const D: usize>(w: Tensor<D>, sigma: Tensor<1>, equality_constrained: bool) -> Tensor<D> {
    let divisor = if equality_constrained { sigma } else { sigma.clamp_min(1.0) };
    w.div(divisor.reshape([1; D]))
}

pub(crate) fn normalize_matrix_unchecked<const D: usize>(
    w: Tensor<D>,
    matrix: Tensor<2>,
    u: Tensor<2>,
    options: &SpectralNormOptions,
) -> SpectralNormalized<D> {
    let given_u = u.clone();
    let sn = power_iteration(matrix, u, options.power_iteration_rounds);
    let weight = divide(w, sn.sigma.clone(), options.equality_constrained);
    let u = if options.training { sn.u } else { given_u };
    SpectralNormalized { weight, u, sigma: sn.sigma }
}

/// TF-GAN's `spectral_normalize` for a weight in TF layout (dense `[in, out]`, conv
/// `[kh, kw, in, out]`): `w / σ`, or `w / max(1, σ)` when `equality_constrained` is false.
///
/// `u` is the persistent power-iteration vector `[rows, 1]`; the returned `u` is the iterated one
/// when `options.training`, else the given one (TF-GAN then leaves its variable alone; the
/// returned weight is computed with the iterated vector either way, as in TF-GAN).
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::{spectral_normalize, SpectralNormOptions};
/// let device = Device::default();
/// let w = Tensor::<2>::from_floats([[2.0, 0.0], [0.0, 1.0]], &device);
/// let u = Tensor::<2>::from_floats([[1.0], [0.0]], &device);
/// let out = spectral_normalize(w, u, &SpectralNormOptions::default()).unwrap();
/// assert_eq!(out.weight.into_data().try_to_vec::<f32>().unwrap(), vec![1.0, 0.0, 0.0, 0.5]);
/// ```
pub fn spectral_normalize<const D: usize>(
    w: Tensor<D>,
    u: Tensor<2>,
    options: &SpectralNormOptions,
) -> Result<SpectralNormalized<D>> {
    check_rounds(options.power_iteration_rounds)?;
    let w_dims = w.dims();
    let matrix = weight_matrix(w.clone())?;
    check_u(matrix.dims(), &u, &w_dims)?;
    Ok(normalize_matrix_unchecked(w, matrix, u, options))
}

/// [`spectral_normalize`] for a burn conv weight `[out, in, kh, kw]`: `σ` is computed on TF's
/// matrix view ([`conv2d_weight_matrix`], `u` is `[kh*kw*in, 1]`), and the returned weight stays
/// in burn's layout.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::{spectral_normalize_conv2d, SpectralNormOptions};
/// let device = Device::default();
/// let w = Tensor::<4>::ones([2, 1, 2, 2], &device);
/// let u = Tensor::<2>::ones([4, 1], &device);
/// let out = spectral_normalize_conv2d(w, u, &SpectralNormOptions::default()).unwrap();
/// // All-ones [4, 2] matrix: σ = sqrt(8).
/// assert!((out.sigma.into_scalar::<f32>() - 8f32.sqrt()).abs() < 1e-5);
/// assert_eq!(out.weight.dims(), [2, 1, 2, 2]);
/// ```
pub fn spectral_normalize_conv2d(
    weight: Tensor<4>,
    u: Tensor<2>,
    options: &SpectralNormOptions,
) -> Result<SpectralNormalized<4>> {
    check_rounds(options.power_iteration_rounds)?;
    let dims = weight.dims();
    if dims.contains(&0) {
        return Err(RganError::shape("weight", &dims, "but spectral normalization needs a non-empty weight"));
    }
    let matrix = conv2d_weight_matrix(weight.clone());
    check_u(matrix.dims(), &u, &dims)?;
    Ok(normalize_matrix_unchecked(weight, matrix, u, options))
}

/// A random-normal `u` of shape `[rows, 1]` in the dtype of the device's default float.
fn random_u(rows: usize, device: &Device) -> Tensor<2> {
    Tensor::random([rows, 1], Distribution::Normal(0.0, 1.0), device)
}

/// Whether a forward on `device` runs in training mode: an autodiff device and an enabled
/// training flag, as burn's `BatchNorm` decides.
fn training_on(flag: &Param<Flag>, device: &Device) -> bool {
    device.is_autodiff() && flag.is_enabled()
}

/// Configuration of a [`SpectralNormLinear`].
///
/// Defaults: bias on, `power_iteration_rounds = 1`, `equality_constrained = true` (TF-GAN's), and
/// TF's dense initialisation: Glorot-uniform kernel (`Initializer::XavierUniform { gain: 1.0 }`;
/// burn's `Linear` uses Kaiming-uniform) and zero bias. `u` is drawn from N(0, 1), as TF-GAN's.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::SpectralNormLinearConfig;
/// let config = SpectralNormLinearConfig::new(4, 3);
/// assert_eq!(config.power_iteration_rounds, 1);
/// let layer = config.init(&Device::default());
/// assert_eq!(layer.u.value().dims(), [4, 1]);
/// ```
#[derive(Config, Debug)]
pub struct SpectralNormLinearConfig {
    /// Input features.
    pub d_input: usize,
    /// Output features.
    pub d_output: usize,
    /// Whether the layer has a bias.
    #[config(default = true)]
    pub bias: bool,
    /// Power-iteration rounds per forward (0 is treated as 1).
    #[config(default = 1)]
    pub power_iteration_rounds: usize,
    /// Divide by `σ` (true) or by `max(1, σ)` (false).
    #[config(default = true)]
    pub equality_constrained: bool,
    /// Initializer of the weight.
    #[config(default = "Initializer::XavierUniform { gain: 1.0 }")]
    pub initializer: Initializer,
}

impl SpectralNormLinearConfig {
    /// Builds the layer on `device`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinearConfig;
    /// let layer = SpectralNormLinearConfig::new(2, 5).init(&Device::default());
    /// assert_eq!(layer.weight.dims(), [2, 5]);
    /// ```
    pub fn init(&self, device: &Device) -> SpectralNormLinear {
        let weight =
            self.initializer.init_with([self.d_input, self.d_output], Some(self.d_input), Some(self.d_output), device);
        let bias = self.bias.then(|| Initializer::Zeros.init([self.d_output], device));
        SpectralNormLinear {
            weight,
            bias,
            u: RunningState::new(random_u(self.d_input, device)),
            training: Param::from_bool(true),
            power_iteration_rounds: self.power_iteration_rounds.max(1),
            equality_constrained: self.equality_constrained,
        }
    }
}

/// A dense layer whose weight is spectrally normalized (TF-GAN's `spectral_normalize` applied to
/// the kernel, as its custom getter does).
///
/// The weight is `[d_input, d_output]`, burn's and TF's dense layout alike, so it is normalized as
/// it is. In training mode (an autodiff device and the `training` flag enabled, as for burn's
/// `BatchNorm`; [`Module::valid`] turns it off) every forward runs the power iteration and stores
/// the new `u`, as TF-GAN does with `training=True` each time the weight is read; otherwise `u`
/// is left alone.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::SpectralNormLinearConfig;
/// let device = Device::default().autodiff();
/// let layer = SpectralNormLinearConfig::new(3, 2).init(&device);
/// let u_before = layer.u.value().into_data();
/// let y = layer.forward(Tensor::<2>::ones([4, 3], &device));
/// assert_eq!(y.dims(), [4, 2]);
/// assert_ne!(layer.u.value_sync().into_data(), u_before); // updated by the training forward
/// ```
#[derive(Module, Debug)]
pub struct SpectralNormLinear {
    /// The raw (unnormalized) weight `[d_input, d_output]`.
    pub weight: Param<Tensor<2>>,
    /// The bias `[d_output]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// The persistent power-iteration vector `[d_input, 1]` (TF-GAN's `spectral_norm_u`).
    pub u: RunningState<Tensor<2>>,
    /// Training flag: with an autodiff device, forwards update `u`.
    pub training: Param<Flag>,
    /// Power-iteration rounds per forward.
    pub power_iteration_rounds: usize,
    /// Divide by `σ` (true) or by `max(1, σ)` (false).
    pub equality_constrained: bool,
}

impl SpectralNormLinear {
    /// Wraps a burn [`Linear`] (row layout `[d_input, d_output]`), with `u` given (`[d_input, 1]`)
    /// or drawn from N(0, 1).
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinear;
    /// let device = Device::default();
    /// let linear = LinearConfig::new(4, 2).init(&device);
    /// let layer = SpectralNormLinear::from_linear(linear, None, 1, true).unwrap();
    /// assert_eq!(layer.u.value().dims(), [4, 1]);
    /// ```
    pub fn from_linear(
        linear: Linear,
        u: Option<Tensor<2>>,
        power_iteration_rounds: usize,
        equality_constrained: bool,
    ) -> Result<Self> {
        check_rounds(power_iteration_rounds)?;
        let w_dims = linear.weight.dims();
        let device = linear.weight.device();
        let u = match u {
            Some(u) => {
                check_u(w_dims, &u, &w_dims)?;
                u
            }
            None => random_u(w_dims[0], &device).cast(linear.weight.val().dtype()),
        };
        Ok(Self {
            weight: linear.weight,
            bias: linear.bias,
            u: RunningState::new(u),
            training: Param::from_bool(true),
            power_iteration_rounds,
            equality_constrained,
        })
    }

    /// The options this layer normalizes with (`training` as for a call that stores `u`).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinearConfig;
    /// let layer = SpectralNormLinearConfig::new(2, 2).with_power_iteration_rounds(3).init(&Device::default());
    /// assert_eq!(layer.options().power_iteration_rounds, 3);
    /// ```
    pub fn options(&self) -> SpectralNormOptions {
        SpectralNormOptions {
            power_iteration_rounds: self.power_iteration_rounds.max(1),
            equality_constrained: self.equality_constrained,
            training: true,
        }
    }

    fn normalize(&self) -> SpectralNormalized<2> {
        let w = self.weight.val();
        normalize_matrix_unchecked(w.clone(), w, self.u.value_sync(), &self.options())
    }

    /// The normalized weight a forward would use now, computed from the stored `u` without
    /// changing it (TF-GAN's `spectral_normalize(..., training=False)`). Differentiable in the
    /// raw weight.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinearConfig;
    /// let layer = SpectralNormLinearConfig::new(3, 3).init(&Device::default());
    /// let before = layer.u.value().into_data();
    /// let w = layer.normalized_weight();
    /// assert_eq!(w.dims(), [3, 3]);
    /// assert_eq!(layer.u.value().into_data(), before);
    /// ```
    pub fn normalized_weight(&self) -> Tensor<2> {
        self.normalize().weight
    }

    /// Runs the power iteration, stores the new `u` and returns the normalized weight (the same
    /// value [`normalized_weight`](Self::normalized_weight) gave just before the call). This is
    /// what a training-mode forward does.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinearConfig;
    /// let layer = SpectralNormLinearConfig::new(3, 2).init(&Device::default());
    /// let expected = layer.normalized_weight().into_data();
    /// let used = layer.update_normalized_weight();
    /// assert_eq!(used.into_data(), expected);
    /// ```
    pub fn update_normalized_weight(&self) -> Tensor<2> {
        let out = self.normalize();
        self.u.update(out.u);
        out.weight
    }

    /// The current spectral-norm estimate `σ` (shape `[1]`) from the stored `u`, without
    /// changing it.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinearConfig;
    /// let layer = SpectralNormLinearConfig::new(3, 2).init(&Device::default());
    /// assert!(layer.spectral_norm_estimate().into_scalar::<f32>() > 0.0);
    /// ```
    pub fn spectral_norm_estimate(&self) -> Tensor<1> {
        self.normalize().sigma
    }

    /// Whether a forward with inputs on `device` updates `u` (autodiff device and training flag).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinearConfig;
    /// let device = Device::default();
    /// let layer = SpectralNormLinearConfig::new(3, 2).init(&device);
    /// assert!(!layer.is_training(&device));
    /// assert!(layer.is_training(&device.autodiff()));
    /// ```
    pub fn is_training(&self, device: &Device) -> bool {
        training_on(&self.training, device)
    }

    /// `input @ W_sn + b` with `input` `[.., d_input]`. In training mode `u` is updated first (see
    /// the type's documentation). When the input has fewer rows than the weight, the product
    /// `input @ W` is divided by `σ` instead of the weight (cheaper; equal up to rounding).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinearConfig;
    /// let device = Device::default();
    /// let layer = SpectralNormLinearConfig::new(3, 2).init(&device);
    /// assert_eq!(layer.forward(Tensor::<3>::ones([2, 5, 3], &device)).dims(), [2, 5, 2]);
    /// ```
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let [d_input, d_output] = self.weight.dims();
        let rows = input.shape().num_elements() / d_input.max(1);
        let training = self.is_training(&input.device());
        if rows < d_input && self.equality_constrained {
            // `(x W) / σ` as one operation whose weight gradient folds in the term through σ.
            let w = self.weight.val();
            let rounds = self.options().power_iteration_rounds;
            let mut dims = input.dims();
            let x = input.reshape([rows, d_input]);
            let (out, u) = match fused_rounds(x.clone(), w.clone(), self.u.value_sync(), rounds) {
                Some(done) => done,
                None => {
                    let (u, v, sigma) = power_vectors(&w, self.u.value_sync(), rounds);
                    let sigma = if w.is_autodiff() { sigma.autodiff() } else { sigma };
                    let (u_used, v_used) = constants_for(&w, &u, &v);
                    (spectral_matmul(x, w, u_used, v_used, sigma), u)
                }
            };
            if training {
                self.u.update(u);
            }
            dims[D - 1] = d_output;
            return self.with_bias(out).reshape(dims);
        }
        let (weight, divisor) = self.product_factors(rows, training);
        self.forward_with_factors(input, weight, divisor)
    }

    /// The factors of `input @ W_sn` for an input of `rows` rows, after the power iteration (which
    /// stores the new `u` when `training`): `(W / σ, None)` when `rows` is at least the weight's
    /// row count, else `(W, Some(σ))` (`max(1, σ)` when not equality constrained), to be used as
    /// `(input @ W) / σ`.
    ///
    /// With fewer input rows than weight rows (a discriminator's 32 × 6272 @ 6272 × 1024 layer),
    /// dividing the small product instead of the large weight saves a pass over the weight
    /// forward and several in the backward (the gradients of `W / σ` in `W` and in `σ`). The two
    /// differ only by rounding.
    pub(crate) fn product_factors(&self, rows: usize, training: bool) -> (Tensor<2>, Option<Tensor<1>>) {
        let [d_input, _] = self.weight.dims();
        if rows >= d_input {
            let weight = if training { self.update_normalized_weight() } else { self.normalized_weight() };
            return (weight, None);
        }
        let w = self.weight.val();
        let options = self.options();
        let sn = power_iteration(w.clone(), self.u.value_sync(), options.power_iteration_rounds);
        if training {
            self.u.update(sn.u);
        }
        let divisor = if options.equality_constrained { sn.sigma } else { sn.sigma.clamp_min(1.0) };
        (w, Some(divisor))
    }

    /// `input @ weight + b`, or `(input @ weight) / divisor + b` with a divisor: the two forms of
    /// [`product_factors`](Self::product_factors).
    pub(crate) fn forward_with_factors<const D: usize>(
        &self,
        input: Tensor<D>,
        weight: Tensor<2>,
        divisor: Option<Tensor<1>>,
    ) -> Tensor<D> {
        let Some(divisor) = divisor else { return self.forward_with_weight(input, weight) };
        self.with_bias(linear(input, weight, None).div(divisor.reshape([1; D])))
    }

    /// `out + b` when the layer has a bias.
    fn with_bias<const D: usize>(&self, out: Tensor<D>) -> Tensor<D> {
        match &self.bias {
            Some(bias) => out.add(bias.val().unsqueeze()),
            None => out,
        }
    }

    /// `input @ weight + b` with a given (already normalized) weight `[d_input, d_output]`, for
    /// callers that need the weight itself, such as exact input gradients.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormLinearConfig;
    /// let device = Device::default();
    /// let layer = SpectralNormLinearConfig::new(3, 2).init(&device);
    /// let x = Tensor::<2>::ones([1, 3], &device);
    /// let a = layer.forward_with_weight(x.clone(), layer.normalized_weight());
    /// // `forward` divides `x W` by `σ` here (one row, three weight rows): equal up to rounding.
    /// a.into_data().assert_approx_eq::<f32>(&layer.forward(x).into_data(), burn::tensor::Tolerance::default());
    /// ```
    pub fn forward_with_weight<const D: usize>(&self, input: Tensor<D>, weight: Tensor<2>) -> Tensor<D> {
        linear(input, weight, self.bias.as_ref().map(|b| b.val()))
    }
}

/// Configuration of a [`SpectralNormConv2d`], mirroring burn's `Conv2dConfig`.
///
/// Defaults: stride 1, dilation 1, groups 1, `Valid` padding, bias on (burn's), one power-iteration
/// round and equality constrained (TF-GAN's), and TF's conv initialisation: Glorot-uniform kernel
/// (`XavierUniform { gain: 1.0 }` with fans `in·kh·kw` and `out·kh·kw`; burn's `Conv2d` uses
/// Kaiming-uniform) and zero bias.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::SpectralNormConv2dConfig;
/// let config = SpectralNormConv2dConfig::new([2, 4], [3, 3]);
/// assert!(config.equality_constrained);
/// let layer = config.init(&Device::default());
/// assert_eq!(layer.u.value().dims(), [18, 1]);
/// ```
#[derive(Config, Debug)]
pub struct SpectralNormConv2dConfig {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Kernel height and width.
    pub kernel_size: [usize; 2],
    /// Stride.
    #[config(default = "[1, 1]")]
    pub stride: [usize; 2],
    /// Dilation.
    #[config(default = "[1, 1]")]
    pub dilation: [usize; 2],
    /// Groups.
    #[config(default = 1)]
    pub groups: usize,
    /// Padding (`Same` is TF's SAME, extra padding at the bottom/right).
    #[config(default = "PaddingConfig2d::Valid")]
    pub padding: PaddingConfig2d,
    /// Whether the layer has a bias.
    #[config(default = true)]
    pub bias: bool,
    /// Power-iteration rounds per forward (0 is treated as 1).
    #[config(default = 1)]
    pub power_iteration_rounds: usize,
    /// Divide by `σ` (true) or by `max(1, σ)` (false).
    #[config(default = true)]
    pub equality_constrained: bool,
    /// Initializer of the weight.
    #[config(default = "Initializer::XavierUniform { gain: 1.0 }")]
    pub initializer: Initializer,
}

impl SpectralNormConv2dConfig {
    /// Builds the layer on `device`. Panics, like burn's `Conv2dConfig::init`, when `groups` does
    /// not divide both channel counts.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let layer = SpectralNormConv2dConfig::new([3, 8], [4, 4]).init(&Device::default());
    /// assert_eq!(layer.weight.dims(), [8, 3, 4, 4]);
    /// ```
    pub fn init(&self, device: &Device) -> SpectralNormConv2d {
        let [c_in, c_out] = self.channels;
        assert!(
            self.groups > 0 && c_in.is_multiple_of(self.groups) && c_out.is_multiple_of(self.groups),
            "groups ({}) must divide both channel counts {:?}",
            self.groups,
            self.channels
        );
        let [kh, kw] = self.kernel_size;
        let k = kh * kw;
        let shape = [c_out, c_in / self.groups, kh, kw];
        let weight =
            self.initializer.init_with(shape, Some(c_in / self.groups * k), Some(c_out / self.groups * k), device);
        let bias = self.bias.then(|| Initializer::Zeros.init([c_out], device));
        SpectralNormConv2d {
            weight,
            bias,
            stride: self.stride,
            kernel_size: self.kernel_size,
            dilation: self.dilation,
            groups: self.groups,
            padding: self.padding.clone(),
            u: RunningState::new(random_u(k * (c_in / self.groups), device)),
            training: Param::from_bool(true),
            power_iteration_rounds: self.power_iteration_rounds.max(1),
            equality_constrained: self.equality_constrained,
        }
    }
}

/// A 2-D convolution (NCHW) whose weight is spectrally normalized as TF-GAN does for a conv
/// kernel: `σ` is computed on TF's `[kh·kw·in, out]` matrix view of the weight
/// ([`conv2d_weight_matrix`]), so `u` is `[kh·kw·in/groups, 1]`.
///
/// Training mode and `u` updates work as for [`SpectralNormLinear`].
///
/// ```
/// use burn::nn::PaddingConfig2d;
/// use burn::prelude::*;
/// use rgan::features::SpectralNormConv2dConfig;
/// let device = Device::default();
/// let layer = SpectralNormConv2dConfig::new([1, 4], [3, 3])
///     .with_stride([2, 2])
///     .with_padding(PaddingConfig2d::Same)
///     .init(&device);
/// let y = layer.forward(Tensor::<4>::ones([2, 1, 7, 7], &device));
/// assert_eq!(y.dims(), [2, 4, 4, 4]);
/// ```
#[derive(Module, Debug)]
pub struct SpectralNormConv2d {
    /// The raw (unnormalized) weight `[out, in/groups, kh, kw]`.
    pub weight: Param<Tensor<4>>,
    /// The bias `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// Stride.
    pub stride: [usize; 2],
    /// Kernel height and width.
    pub kernel_size: [usize; 2],
    /// Dilation.
    pub dilation: [usize; 2],
    /// Groups.
    pub groups: usize,
    /// Padding.
    #[module(skip)]
    pub padding: PaddingConfig2d,
    /// The persistent power-iteration vector `[kh·kw·in/groups, 1]`.
    pub u: RunningState<Tensor<2>>,
    /// Training flag: with an autodiff device, forwards update `u`.
    pub training: Param<Flag>,
    /// Power-iteration rounds per forward.
    pub power_iteration_rounds: usize,
    /// Divide by `σ` (true) or by `max(1, σ)` (false).
    pub equality_constrained: bool,
}

/// TF's SAME padding `(before, after)` of one spatial axis, with the dilated kernel extent.
fn same_padding(size: usize, kernel: usize, stride: usize, dilation: usize) -> (usize, usize) {
    let extent = (kernel - 1) * dilation + 1;
    let out = size.div_ceil(stride);
    let total = if out > 0 { ((out - 1) * stride + extent).saturating_sub(size) } else { 0 };
    (total / 2, total - total / 2)
}

impl SpectralNormConv2d {
    /// Wraps a burn [`Conv2d`], with `u` given (`[kh·kw·in/groups, 1]`, TF's row order) or drawn
    /// from N(0, 1).
    ///
    /// ```
    /// use burn::nn::conv::Conv2dConfig;
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2d;
    /// let device = Device::default();
    /// let conv = Conv2dConfig::new([2, 3], [3, 3]).init(&device);
    /// let layer = SpectralNormConv2d::from_conv2d(conv, None, 1, true).unwrap();
    /// assert_eq!(layer.u.value().dims(), [18, 1]);
    /// ```
    pub fn from_conv2d(
        conv: Conv2d,
        u: Option<Tensor<2>>,
        power_iteration_rounds: usize,
        equality_constrained: bool,
    ) -> Result<Self> {
        check_rounds(power_iteration_rounds)?;
        let dims = conv.weight.dims();
        let rows = dims[1] * dims[2] * dims[3];
        let u = match u {
            Some(u) => {
                check_u([rows, dims[0]], &u, &dims)?;
                u
            }
            None => random_u(rows, &conv.weight.device()).cast(conv.weight.val().dtype()),
        };
        Ok(Self {
            weight: conv.weight,
            bias: conv.bias,
            stride: conv.stride,
            kernel_size: conv.kernel_size,
            dilation: conv.dilation,
            groups: conv.groups,
            padding: conv.padding,
            u: RunningState::new(u),
            training: Param::from_bool(true),
            power_iteration_rounds,
            equality_constrained,
        })
    }

    /// The options this layer normalizes with.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let layer = SpectralNormConv2dConfig::new([1, 1], [1, 1]).with_equality_constrained(false).init(&Device::default());
    /// assert!(!layer.options().equality_constrained);
    /// ```
    pub fn options(&self) -> SpectralNormOptions {
        SpectralNormOptions {
            power_iteration_rounds: self.power_iteration_rounds.max(1),
            equality_constrained: self.equality_constrained,
            training: true,
        }
    }

    fn normalize(&self) -> SpectralNormalized<4> {
        let w = self.weight.val();
        normalize_matrix_unchecked(w.clone(), conv2d_weight_matrix(w), self.u.value_sync(), &self.options())
    }

    /// The normalized weight `[out, in/groups, kh, kw]` a forward would use now, from the stored
    /// `u`, without changing it.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let layer = SpectralNormConv2dConfig::new([2, 3], [3, 3]).init(&Device::default());
    /// assert_eq!(layer.normalized_weight().dims(), [3, 2, 3, 3]);
    /// ```
    pub fn normalized_weight(&self) -> Tensor<4> {
        self.normalize().weight
    }

    /// Runs the power iteration, stores the new `u` and returns the normalized weight (what a
    /// training-mode forward uses).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let layer = SpectralNormConv2dConfig::new([2, 3], [3, 3]).init(&Device::default());
    /// let expected = layer.normalized_weight().into_data();
    /// assert_eq!(layer.update_normalized_weight().into_data(), expected);
    /// ```
    pub fn update_normalized_weight(&self) -> Tensor<4> {
        let out = self.normalize();
        self.u.update(out.u);
        out.weight
    }

    /// The current spectral-norm estimate `σ` (shape `[1]`), without changing `u`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let layer = SpectralNormConv2dConfig::new([2, 3], [3, 3]).init(&Device::default());
    /// assert!(layer.spectral_norm_estimate().into_scalar::<f32>() > 0.0);
    /// ```
    pub fn spectral_norm_estimate(&self) -> Tensor<1> {
        self.normalize().sigma
    }

    /// Whether a forward with inputs on `device` updates `u`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let device = Device::default();
    /// let layer = SpectralNormConv2dConfig::new([1, 1], [1, 1]).init(&device);
    /// assert!(layer.is_training(&device.clone().autodiff()));
    /// assert!(!layer.valid().is_training(&device.clone().autodiff()));
    /// ```
    pub fn is_training(&self, device: &Device) -> bool {
        training_on(&self.training, device)
    }

    /// The `[(top, bottom), (left, right)]` padding for an input of the given height and width
    /// (`Same` is TF's SAME with the dilated kernel extent, extra padding at the end).
    ///
    /// ```
    /// use burn::nn::PaddingConfig2d;
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let layer = SpectralNormConv2dConfig::new([1, 1], [4, 4])
    ///     .with_stride([2, 2])
    ///     .with_padding(PaddingConfig2d::Same)
    ///     .init(&Device::default());
    /// assert_eq!(layer.padding_pairs(3, 3), [(1, 2), (1, 2)]);
    /// ```
    pub fn padding_pairs(&self, height: usize, width: usize) -> [(usize, usize); 2] {
        match self.padding {
            PaddingConfig2d::Valid => [(0, 0), (0, 0)],
            PaddingConfig2d::Same => [
                same_padding(height, self.kernel_size[0], self.stride[0], self.dilation[0]),
                same_padding(width, self.kernel_size[1], self.stride[1], self.dilation[1]),
            ],
            PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        }
    }

    /// Convolution of an NCHW input with the normalized weight. In training mode `u` is updated
    /// first.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let device = Device::default();
    /// let layer = SpectralNormConv2dConfig::new([2, 3], [3, 3]).init(&device);
    /// assert_eq!(layer.forward(Tensor::<4>::ones([1, 2, 5, 5], &device)).dims(), [1, 3, 3, 3]);
    /// ```
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let weight =
            if self.is_training(&input.device()) { self.update_normalized_weight() } else { self.normalized_weight() };
        self.forward_with_weight(input, weight)
    }

    /// Convolution with a given (already normalized) weight in burn's layout, for callers that
    /// need the weight itself, such as exact input gradients.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::SpectralNormConv2dConfig;
    /// let device = Device::default();
    /// let layer = SpectralNormConv2dConfig::new([2, 3], [3, 3]).init(&device);
    /// let x = Tensor::<4>::ones([1, 2, 4, 4], &device);
    /// let y = layer.forward_with_weight(x.clone(), layer.normalized_weight());
    /// assert_eq!(y.into_data(), layer.forward(x).into_data());
    /// ```
    pub fn forward_with_weight(&self, input: Tensor<4>, weight: Tensor<4>) -> Tensor<4> {
        let [_, _, height, width] = input.dims();
        let options =
            ConvOptions::new_with_padding(self.stride, self.padding_pairs(height, width), self.dilation, self.groups);
        conv2d(input, weight, self.bias.as_ref().map(|b| b.val()), options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::TensorData;

    fn f64_tensor<const D: usize>(values: Vec<f64>, shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    #[test]
    fn linear_forward_dividing_the_product_matches_dividing_the_weight() {
        // Two input rows against eight weight rows: `forward` divides `x W` by `σ`. Values and
        // gradients (in the raw weight, through `σ` too, and in the input) must match
        // `x (W / σ)`, both with `σ` and with `max(1, σ)`.
        let ad = Device::default().autodiff();
        for equality_constrained in [true, false] {
            let mut layer =
                SpectralNormLinearConfig::new(8, 3).with_equality_constrained(equality_constrained).init(&ad);
            layer.weight = Param::from_tensor(layer.weight.val().mul_scalar(3.0).detach()); // σ > 1
            let x = Tensor::<2>::random([2, 8], Distribution::Default, &ad).require_grad();
            let probe = Tensor::<2>::random([2, 3], Distribution::Default, &ad);
            let expected = layer.forward_with_weight(x.clone(), layer.normalized_weight());
            let got = layer.forward(x.clone());
            let tolerance = burn::tensor::Tolerance::<f32>::rel_abs(1e-5, 1e-6);
            got.clone().into_data().assert_approx_eq::<f32>(&expected.clone().into_data(), tolerance);
            let expected_grads = expected.mul(probe.clone()).sum().backward();
            let got_grads = got.mul(probe).sum().backward();
            for (got, expected) in [
                (layer.weight.val().grad(&got_grads), layer.weight.val().grad(&expected_grads)),
                (x.grad(&got_grads), x.grad(&expected_grads)),
            ] {
                got.unwrap().into_data().assert_approx_eq::<f32>(&expected.unwrap().into_data(), tolerance);
            }
        }
    }

    #[test]
    #[cfg(feature = "flex")]
    fn the_fused_rounds_give_the_power_iteration_numbers() {
        // `[x; uᵀ] W` in one product: the same new `u` as `power_vectors`, and `(x W) / σ`.
        let device = Device::default();
        let w = Tensor::<2>::random([300, 40], Distribution::Default, &device);
        let u = l2_normalize(Tensor::<2>::random([300, 1], Distribution::Default, &device));
        let x = Tensor::<2>::random([5, 300], Distribution::Default, &device);
        for rounds in [1, 3] {
            let (out, new_u) = fused_rounds(x.clone(), w.clone(), u.clone(), rounds).expect("the CPU kernels run here");
            let (expected_u, v, sigma) = power_vectors(&w, u.clone(), rounds);
            let expected = spectral_matmul(x.clone(), w.clone(), expected_u.clone(), v, sigma);
            let tolerance = burn::tensor::Tolerance::<f32>::rel_abs(1e-5, 1e-6);
            new_u.into_data().assert_approx_eq::<f32>(&expected_u.into_data(), tolerance);
            out.into_data().assert_approx_eq::<f32>(&expected.into_data(), tolerance);
        }
    }

    #[test]
    fn rejects_bad_u_naming_both_shapes() {
        let device = Device::default();
        let w = Tensor::<2>::zeros([5, 3], &device);
        let u = Tensor::<2>::zeros([3, 1], &device);
        let err = spectral_normalize(w, u, &SpectralNormOptions::default()).unwrap_err().to_string();
        assert!(
            err.contains("`u`") && err.contains("[3, 1]") && err.contains("`w`") && err.contains("[5, 3]"),
            "{err}"
        );
    }

    #[test]
    fn rejects_zero_rounds_and_rank_one_weights() {
        let device = Device::default();
        let opts = SpectralNormOptions { power_iteration_rounds: 0, ..Default::default() };
        let err = spectral_normalize(Tensor::<2>::ones([2, 2], &device), Tensor::ones([2, 1], &device), &opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains("power_iteration_rounds"), "{err}");
        let err = weight_matrix(Tensor::<1>::ones([3], &device)).unwrap_err().to_string();
        assert!(err.contains("`w`") && err.contains("rank"), "{err}");
        let conv = Conv2dConfig::new([1, 2], [2, 2]).init(&device);
        assert!(SpectralNormConv2d::from_conv2d(conv, Some(Tensor::ones([3, 1], &device)), 1, true).is_err());
    }

    #[test]
    fn converges_to_the_largest_singular_value() {
        let device = Device::default();
        // [[3, 0], [0, 0], [0, 5]] has singular values 5 and 3.
        let w = f64_tensor(vec![3.0, 0.0, 0.0, 0.0, 0.0, 5.0], [3, 2], &device);
        let u = f64_tensor(vec![1.0, 1.0, 1.0], [3, 1], &device);
        let sn = compute_spectral_norm(w.clone(), u, 50).unwrap();
        assert!((sn.sigma.into_scalar::<f64>() - 5.0).abs() < 1e-9);
        let not_eq = SpectralNormOptions { power_iteration_rounds: 50, equality_constrained: false, training: true };
        let small = w.div_scalar(10.0);
        let out = spectral_normalize(small.clone(), f64_tensor(vec![1.0, 1.0, 1.0], [3, 1], &device), &not_eq).unwrap();
        assert_eq!(out.weight.into_data(), small.into_data()); // σ = 0.5 < 1: unchanged
    }

    #[test]
    fn u_is_a_constant_for_the_gradient() {
        // d σ / d W = u vᵀ when u and v are constants.
        let device = Device::default().autodiff();
        let w = Tensor::<2>::from_floats([[2.0, 1.0], [0.5, 1.5]], &device).require_grad();
        let u = Tensor::<2>::from_floats([[0.3], [0.8]], &device);
        let sn = compute_spectral_norm(w.clone(), u, 1).unwrap();
        let grads = sn.sigma.clone().sum().backward();
        let g = w.grad(&grads).unwrap();
        let expected = sn.u.clone().matmul(sn.v.clone().transpose());
        g.into_data().assert_approx_eq::<f32>(&expected.into_data(), burn::tensor::Tolerance::default());
    }

    #[test]
    fn linear_updates_u_only_in_training_mode() {
        let device = Device::default();
        let linear = LinearConfig::new(3, 2).init(&device);
        let layer = SpectralNormLinear::from_linear(linear, None, 1, true).unwrap();
        let before = layer.u.value().into_data();
        layer.forward(Tensor::<2>::ones([1, 3], &device)); // plain device: inference
        assert_eq!(layer.u.value_sync().into_data(), before);

        let ad = device.clone().autodiff();
        let layer = SpectralNormLinearConfig::new(3, 2).init(&ad);
        let frozen = layer.valid();
        let before = frozen.u.value().into_data();
        frozen.forward(Tensor::<2>::ones([1, 3], &device));
        assert_eq!(frozen.u.value_sync().into_data(), before);

        let before = layer.u.value().into_data();
        let x = Tensor::<2>::ones([1, 3], &ad).require_grad();
        let y = layer.forward(x.clone());
        assert_ne!(layer.u.value_sync().into_data(), before);
        // Gradients reach the raw weight through the normalization.
        let grads = y.sum().backward();
        assert!(layer.weight.val().grad(&grads).is_some());
        assert!(x.grad(&grads).is_some());
    }

    #[test]
    fn normalized_layers_have_unit_spectral_norm_after_many_rounds() {
        let device = Device::default();
        let layer = SpectralNormConv2dConfig::new([2, 3], [3, 3]).with_power_iteration_rounds(200).init(&device);
        let w = layer.normalized_weight();
        let sn = compute_spectral_norm(conv2d_weight_matrix(w), layer.u.value(), 200).unwrap();
        assert!((sn.sigma.into_scalar::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn conv_forward_matches_burn_conv_with_the_normalized_weight() {
        let device = Device::default();
        let conv =
            Conv2dConfig::new([2, 3], [4, 4]).with_stride([2, 2]).with_padding(PaddingConfig2d::Same).init(&device);
        let reference = conv.clone();
        let layer = SpectralNormConv2d::from_conv2d(conv, None, 1, true).unwrap();
        let x = Tensor::<4>::random([2, 2, 6, 6], Distribution::Default, &device);
        let w = layer.normalized_weight();
        let mut expected_conv = reference;
        expected_conv.weight = Param::from_tensor(w);
        let expected = expected_conv.forward(x.clone());
        layer.forward(x).into_data().assert_approx_eq::<f32>(&expected.into_data(), burn::tensor::Tolerance::default());
    }
}
