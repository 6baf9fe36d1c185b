//! TF-GAN's MNIST networks (`examples/mnist/networks.py`): its unconditional, conditional and
//! InfoGAN generators and discriminators, and an ACGAN discriminator built on them.

use burn::nn::conv::{Conv2d, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, LeakyRelu, LeakyReluConfig, Linear};
use burn::prelude::*;

use crate::error::{Result, RganError};
use crate::features::{ConditionTensorFromOnehot, SpectralNormConv2d, SpectralNormLinear};
use crate::losses::{Distribution, StructuredInput};
use crate::model::{
    BatchNormMode, DiscriminatorOutput, GanDiscriminator, GanGenerator, GeneratorInputs, glorot_conv2d, glorot_linear,
    glorot_uniform, one_hot, zeros,
};
use crate::ops::{Activation, batch_norm_layer, conv_transpose2d_layer, conv2d_layer, leaky_relu, linear_layer};
use crate::penalties::{CriticLayer, Flatten, GradientPenaltyOptions, SequentialCritic, wasserstein_gradient_penalty};
use crate::recipes::layers::{batch_norm_act, onehot_conditioning};
use crate::rng::Rng;

fn new_batch_norm(features: usize, momentum: f64, epsilon: f64, device: &Device) -> BatchNorm {
    BatchNormConfig::new(features).with_momentum(momentum).with_epsilon(epsilon).init(device)
}

/// A transposed convolution with TF's `padding='same'` for kernel 4, stride 2 (output = 2 × input;
/// TF pads 1 on each side, burn's `padding = 1`).
fn deconv(rng: &mut Rng, channels: [usize; 2], device: &Device) -> ConvTranspose2d {
    let mut layer = ConvTranspose2dConfig::new(channels, [4, 4])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .with_initializer(Initializer::Zeros)
        .init(device);
    let [i, o] = channels;
    layer.weight = glorot_uniform(rng, [i, o, 4, 4], o * 16, i * 16, device);
    layer.bias = Some(zeros([o], device));
    layer
}

fn l2_loss<const D: usize>(w: Tensor<D>) -> Tensor<1> {
    crate::ops::sum(w.square()).mul_scalar(0.5)
}

/// Configuration of [`MnistGenerator`], with TF-GAN's defaults (its unconditional generator).
///
/// Set `num_classes` for TF-GAN's conditional generator (one-hot labels conditioned in after
/// the first layer) and `categorical_dim` / `continuous_dim` for its InfoGAN generator (the codes
/// are concatenated to the noise).
///
/// ```
/// let config = rgan::recipes::mnist::MnistGeneratorConfig::new();
/// assert_eq!((config.noise_dims, config.weight_decay), (64, 2.5e-5));
/// assert_eq!((config.batch_norm_momentum, config.batch_norm_epsilon), (0.001, 1e-3));
/// assert_eq!((config.num_classes, config.categorical_dim, config.continuous_dim), (0, 0, 0));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct MnistGeneratorConfig {
    /// The size of the unstructured noise vector (TF-GAN's `noise_dims`; its InfoGAN uses
    /// `noise_dims - continuous_dim` = 62). Default 64.
    #[config(default = 64)]
    pub noise_dims: usize,
    /// Classes of the one-hot labels the generator is conditioned on (0: unconditional).
    /// Default 0.
    #[config(default = 0)]
    pub num_classes: usize,
    /// Width of the label embedding (`condition_tensor_from_onehot`'s `embedding_size`).
    /// Default 256.
    #[config(default = 256)]
    pub embedding_size: usize,
    /// InfoGAN's categorical code: its number of categories (0: none). Default 0.
    #[config(default = 0)]
    pub categorical_dim: usize,
    /// InfoGAN's continuous code: its number of dimensions (0: none). Default 0.
    #[config(default = 0)]
    pub continuous_dim: usize,
    /// The L2 weight decay on kernels (TF-GAN's `weight_decay`, as `tf.nn.l2_loss`, i.e.
    /// `weight_decay × Σw²/2`); see [`MnistGenerator::regularization_loss`]. Default 2.5e-5.
    #[config(default = 2.5e-5)]
    pub weight_decay: f64,
    /// Batch-norm momentum in burn's convention (TF's momentum 0.999 is burn's 0.001).
    /// Default 0.001.
    #[config(default = 0.001)]
    pub batch_norm_momentum: f64,
    /// Batch-norm epsilon (TF's default 1e-3). Default 1e-3.
    #[config(default = 1e-3)]
    pub batch_norm_epsilon: f64,
}

/// TF-GAN's MNIST generator: inputs → dense 1024 → BN → ReLU → (conditional: label embedding
/// added) → dense 7·7·128 → BN → ReLU → reshape [128, 7, 7] → deconv 64 (k4, s2) → BN → ReLU →
/// deconv 32 (k4, s2) → BN → ReLU → conv 1 (k4, s1, same) → tanh: images `[N, 1, 28, 28]` in
/// `[-1, 1]`. The inputs are the noise, then (InfoGAN) the one-hot categorical code and the
/// continuous code.
///
/// Dense layers have no bias; convolutions do. The reshape is channel-major (burn's NCHW) where
/// TF's is channel-last; from scratch the two are the same network up to a permutation.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanGenerator, GeneratorInputs};
/// use rgan::recipes::mnist::MnistGeneratorConfig;
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let generator = MnistGeneratorConfig::new().init(&mut rng, &device).unwrap();
/// let images = generator.forward(rng.normal([2, 64], 0.0, 1.0, &device)).unwrap();
/// assert_eq!(images.dims(), [2, 1, 28, 28]);
/// let conditional = MnistGeneratorConfig::new().with_num_classes(10).init(&mut rng, &device).unwrap();
/// let inputs = GeneratorInputs::noise(rng.normal([2, 64], 0.0, 1.0, &device))
///     .with_labels(Tensor::<2>::eye(10, &device).narrow(0, 0, 2));
/// assert_eq!(conditional.generate(&inputs).unwrap().dims(), [2, 1, 28, 28]);
/// ```
#[derive(Module, Debug)]
pub struct MnistGenerator {
    fc1: Linear,
    bn1: BatchNorm,
    condition: Option<ConditionTensorFromOnehot>,
    fc2: Linear,
    bn2: BatchNorm,
    deconv1: ConvTranspose2d,
    bn3: BatchNorm,
    deconv2: ConvTranspose2d,
    bn4: BatchNorm,
    conv: Conv2d,
    noise_dims: usize,
    num_classes: usize,
    categorical_dim: usize,
    continuous_dim: usize,
    weight_decay: f64,
}

fn check_weight_decay(weight_decay: f64) -> Result<()> {
    if weight_decay.is_nan() || weight_decay < 0.0 {
        return Err(RganError::invalid("weight_decay", format!("is {weight_decay}; it must be ≥ 0")));
    }
    Ok(())
}

impl MnistGeneratorConfig {
    /// Builds the generator, drawing its kernels from `rng` (Glorot-uniform; biases 0).
    ///
    /// Errors if `noise_dims` is 0 or `weight_decay` is negative.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// assert!(rgan::recipes::mnist::MnistGeneratorConfig::new().with_noise_dims(0).init(&mut rng, &Device::default()).is_err());
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<MnistGenerator> {
        if self.noise_dims == 0 {
            return Err(RganError::invalid("noise_dims", "must be at least 1"));
        }
        check_weight_decay(self.weight_decay)?;
        let (m, e) = (self.batch_norm_momentum, self.batch_norm_epsilon);
        let inputs = self.noise_dims + self.categorical_dim + self.continuous_dim;
        let fc1 = glorot_linear(rng, inputs, 1024, false, device);
        let condition = (self.num_classes > 0)
            .then(|| onehot_conditioning(rng, self.num_classes, 1024, self.embedding_size, device));
        Ok(MnistGenerator {
            fc1,
            bn1: new_batch_norm(1024, m, e, device),
            condition,
            fc2: glorot_linear(rng, 1024, 7 * 7 * 128, false, device),
            bn2: new_batch_norm(7 * 7 * 128, m, e, device),
            deconv1: deconv(rng, [128, 64], device),
            bn3: new_batch_norm(64, m, e, device),
            deconv2: deconv(rng, [64, 32], device),
            bn4: new_batch_norm(32, m, e, device),
            conv: glorot_conv2d(rng, [32, 1], 4, 1, device),
            noise_dims: self.noise_dims,
            num_classes: self.num_classes,
            categorical_dim: self.categorical_dim,
            continuous_dim: self.continuous_dim,
            weight_decay: self.weight_decay,
        })
    }
}

impl MnistGenerator {
    /// Generates images `[N, 1, 28, 28]` from noise `[N, noise_dims]` (an unconditional
    /// generator), with the batch-norm layers' own behaviour ([`BatchNormMode::Layer`]).
    pub fn forward(&self, noise: Tensor<2>) -> Result<Tensor<4>> {
        self.forward_with(noise, BatchNormMode::Layer)
    }

    /// Generates images from noise with the given batch-norm behaviour (an unconditional
    /// generator; see [`MnistGenerator::forward_inputs`] for the others).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::BatchNormMode;
    /// use rgan::recipes::mnist::MnistGeneratorConfig;
    /// let device = Device::default();
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let g = MnistGeneratorConfig::new().init(&mut rng, &device).unwrap();
    /// let noise = rng.normal([4, 64], 0.0, 1.0, &device);
    /// let x = g.forward_with(noise, BatchNormMode::BatchStatistics).unwrap();
    /// assert!(x.abs().max().into_scalar::<f32>() <= 1.0);
    /// let err = g.forward(Tensor::zeros([4, 10], &device)).unwrap_err();
    /// assert!(err.to_string().contains("[4, 10]"));
    /// ```
    pub fn forward_with(&self, noise: Tensor<2>, mode: BatchNormMode) -> Result<Tensor<4>> {
        self.forward_inputs(&GeneratorInputs::noise(noise), mode)
    }

    /// Generates images from all the inputs (noise, labels for a conditional generator, codes
    /// for an InfoGAN generator) with the given batch-norm behaviour.
    pub fn forward_inputs(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        let x = self.input_vector(inputs)?;
        let n = x.dims()[0];
        let mut x = batch_norm_act(&self.bn1, linear_layer(&self.fc1, x), mode, Activation::Relu);
        if let Some(condition) = &self.condition {
            x = condition.forward(x, inputs.labels("the conditional MNIST generator")?)?;
        }
        let x = batch_norm_act(&self.bn2, linear_layer(&self.fc2, x), mode, Activation::Relu);
        let x = x.reshape([n, 128, 7, 7]);
        let x = batch_norm_act(&self.bn3, conv_transpose2d_layer(&self.deconv1, x), mode, Activation::Relu);
        let x = batch_norm_act(&self.bn4, conv_transpose2d_layer(&self.deconv2, x), mode, Activation::Relu);
        Ok(conv2d_layer(&self.conv, x).tanh())
    }

    fn input_vector(&self, inputs: &GeneratorInputs) -> Result<Tensor<2>> {
        let [n, d] = inputs.noise.dims();
        if d != self.noise_dims || n == 0 {
            return Err(RganError::shape(
                "noise",
                &[n, d],
                format!("but the generator takes [batch ≥ 1, noise_dims = {}]", self.noise_dims),
            ));
        }
        let wanted = usize::from(self.categorical_dim > 0) + usize::from(self.continuous_dim > 0);
        if inputs.structured.len() != wanted {
            return Err(RganError::invalid(
                "structured_generator_inputs",
                format!(
                    "has {} codes but this generator takes {wanted} (categorical {}, continuous {})",
                    inputs.structured.len(),
                    self.categorical_dim,
                    self.continuous_dim
                ),
            ));
        }
        let mut parts = vec![inputs.noise.clone()];
        let mut codes = inputs.structured.iter();
        if self.categorical_dim > 0 {
            parts.push(match codes.next() {
                Some(StructuredInput::ClassIds(ids)) => one_hot(ids.clone(), self.categorical_dim),
                Some(StructuredInput::Values(v)) if v.dims() == [n, self.categorical_dim] => v.clone(),
                Some(StructuredInput::Values(v)) => {
                    return Err(RganError::shape(
                        "structured_generator_inputs[0]",
                        &v.dims(),
                        format!(
                            "but the categorical code is [{n}] class ids or [{n}, {}] one-hot",
                            self.categorical_dim
                        ),
                    ));
                }
                None => unreachable!("counted above"),
            });
        }
        if self.continuous_dim > 0 {
            match codes.next() {
                Some(StructuredInput::Values(v)) if v.dims() == [n, self.continuous_dim] => parts.push(v.clone()),
                _ => {
                    return Err(RganError::invalid(
                        "structured_generator_inputs",
                        format!("the continuous code must be [{n}, {}] values", self.continuous_dim),
                    ));
                }
            }
        }
        if self.num_classes > 0 {
            let labels = inputs.labels("the conditional MNIST generator")?;
            if labels.dims() != [n, self.num_classes] {
                return Err(RganError::shape(
                    "one_hot_labels",
                    &labels.dims(),
                    format!("but the generator takes [{n}, num_classes = {}]", self.num_classes),
                ));
            }
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Tensor::cat(parts, 1) })
    }

    /// The size of the noise vector.
    pub fn noise_dims(&self) -> usize {
        self.noise_dims
    }

    /// The number of classes it is conditioned on (0: unconditional).
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// TF's kernel regularization loss, `weight_decay × Σ_kernels Σw²/2` (biases and batch-norm
    /// parameters are not decayed), shape `[1]`. TF-GAN's `gan_loss` adds it to the generator
    /// loss.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let g = rgan::recipes::mnist::MnistGeneratorConfig::new().init(&mut rng, &Device::default()).unwrap();
    /// assert!(g.regularization_loss().into_scalar::<f32>() > 0.0);
    /// ```
    pub fn regularization_loss(&self) -> Tensor<1> {
        let total = l2_loss(self.fc1.weight.val())
            + l2_loss(self.fc2.weight.val())
            + l2_loss(self.deconv1.weight.val())
            + l2_loss(self.deconv2.weight.val())
            + l2_loss(self.conv.weight.val());
        total.mul_scalar(self.weight_decay)
    }
}

impl GanGenerator for MnistGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward_inputs(inputs, BatchNormMode::Layer)
    }

    fn sample(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward_inputs(inputs, BatchNormMode::BatchStatistics)
    }

    fn generate_with(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        self.forward_inputs(inputs, mode)
    }

    fn regularization_loss(&self) -> Option<Tensor<1>> {
        (self.weight_decay != 0.0).then(|| MnistGenerator::regularization_loss(self))
    }
}

/// Configuration of [`MnistDiscriminator`], with TF-GAN's defaults (its unconditional
/// discriminator).
///
/// `num_classes` makes TF-GAN's conditional discriminator (labels conditioned in after the
/// convolutions), `aux_classes` adds an ACGAN class head, `categorical_dim` / `continuous_dim`
/// add TF-GAN's InfoGAN recognizer heads (a Categorical and a Normal with σ = 1).
///
/// ```
/// let config = rgan::recipes::mnist::MnistDiscriminatorConfig::new();
/// assert_eq!((config.leaky_relu_slope, config.weight_decay), (0.01, 2.5e-5));
/// assert_eq!((config.num_classes, config.aux_classes), (0, 0));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct MnistDiscriminatorConfig {
    /// The L2 weight decay on kernels; see [`MnistDiscriminator::regularization_loss`].
    /// Default 2.5e-5.
    #[config(default = 2.5e-5)]
    pub weight_decay: f64,
    /// The negative slope of the leaky ReLUs. Default 0.01.
    #[config(default = 0.01)]
    pub leaky_relu_slope: f64,
    /// Batch-norm momentum in burn's convention (TF 0.999). Default 0.001.
    #[config(default = 0.001)]
    pub batch_norm_momentum: f64,
    /// Batch-norm epsilon. Default 1e-3.
    #[config(default = 1e-3)]
    pub batch_norm_epsilon: f64,
    /// Whether the dense 1024 layer is followed by batch norm, as in TF-GAN's example. Turn it
    /// off for a WGAN-GP critic: a per-sample gradient penalty is not defined through batch
    /// statistics (Gulrajani et al., 2017, §4). Default true.
    #[config(default = true)]
    pub batch_norm: bool,
    /// Classes of the one-hot labels it is conditioned on (0: unconditional). Default 0.
    #[config(default = 0)]
    pub num_classes: usize,
    /// Width of the label embedding. Default 256.
    #[config(default = 256)]
    pub embedding_size: usize,
    /// ACGAN: classes of the auxiliary classification head (0: none). Default 0.
    #[config(default = 0)]
    pub aux_classes: usize,
    /// InfoGAN: categories of the recognizer's categorical head (0: none). Default 0.
    #[config(default = 0)]
    pub categorical_dim: usize,
    /// InfoGAN: dimensions of the recognizer's continuous head (0: none). Default 0.
    #[config(default = 0)]
    pub continuous_dim: usize,
}

/// TF-GAN's MNIST discriminator: image `[N, 1, 28, 28]` → conv 64 (k4, s2, same) → leaky ReLU →
/// conv 128 (k4, s2, same) → leaky ReLU → flatten (6272) → (conditional: label embedding added)
/// → dense 1024 (no bias) → BN → leaky ReLU → dense 1 (with bias): logits `[N, 1]`; optional
/// ACGAN and InfoGAN heads on the same 1024 features.
///
/// As in TF-GAN's example, the body (the two convolutions and the dense 1024) is spectrally
/// normalized (one power iteration per training forward), and its batch norm uses batch
/// statistics in training (on an autodiff device). It implements
/// [`CriticLayer`](crate::penalties::CriticLayer) so that gradient penalties are exact.
///
/// ```
/// use burn::prelude::*;
/// use rgan::recipes::mnist::MnistDiscriminatorConfig;
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let d = MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
/// let logits = d.forward(rng.uniform([3, 1, 28, 28], -1.0, 1.0, &device)).unwrap();
/// assert_eq!(logits.dims(), [3, 1]);
/// ```
#[derive(Module, Debug)]
pub struct MnistDiscriminator {
    conv1: SpectralNormConv2d,
    act: LeakyRelu,
    conv2: SpectralNormConv2d,
    condition: Option<ConditionTensorFromOnehot>,
    fc1: SpectralNormLinear,
    bn: BatchNorm,
    fc2: Linear,
    class_head: Option<Linear>,
    categorical_head: Option<Linear>,
    continuous_head: Option<Linear>,
    weight_decay: f64,
    batch_norm: bool,
}

fn sn_conv(rng: &mut Rng, channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> SpectralNormConv2d {
    let layer = glorot_conv2d(rng, channels, kernel, stride, device);
    let u = rng.normal([channels[0] * kernel * kernel, 1], 0.0, 1.0, device);
    SpectralNormConv2d::from_conv2d(layer, Some(u), 1, true).expect("valid u shape and rounds")
}

fn sn_dense(rng: &mut Rng, inputs: usize, outputs: usize, device: &Device) -> SpectralNormLinear {
    let layer = glorot_linear(rng, inputs, outputs, false, device);
    let u = rng.normal([inputs, 1], 0.0, 1.0, device);
    SpectralNormLinear::from_linear(layer, Some(u), 1, true).expect("valid u shape and rounds")
}

fn head(rng: &mut Rng, outputs: usize, device: &Device) -> Option<Linear> {
    (outputs > 0).then(|| {
        let mut layer = glorot_linear(rng, 1024, outputs, true, device);
        layer.bias = Some(zeros([outputs], device));
        layer
    })
}

impl MnistDiscriminatorConfig {
    /// Builds the discriminator, drawing its kernels (and spectral-norm vectors) from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let config = rgan::recipes::mnist::MnistDiscriminatorConfig::new().with_weight_decay(-1.0);
    /// assert!(config.init(&mut rng, &Device::default()).is_err());
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<MnistDiscriminator> {
        check_weight_decay(self.weight_decay)?;
        let conv1 = sn_conv(rng, [1, 64], 4, 2, device);
        let conv2 = sn_conv(rng, [64, 128], 4, 2, device);
        let condition = (self.num_classes > 0)
            .then(|| onehot_conditioning(rng, self.num_classes, 7 * 7 * 128, self.embedding_size, device));
        let fc1 = sn_dense(rng, 7 * 7 * 128, 1024, device);
        let fc2 = head(rng, 1, device).expect("one output");
        Ok(MnistDiscriminator {
            conv1,
            act: LeakyReluConfig::new().with_negative_slope(self.leaky_relu_slope).init(),
            conv2,
            condition,
            fc1,
            bn: new_batch_norm(1024, self.batch_norm_momentum, self.batch_norm_epsilon, device),
            fc2,
            class_head: head(rng, self.aux_classes, device),
            categorical_head: head(rng, self.categorical_dim, device),
            continuous_head: head(rng, self.continuous_dim, device),
            weight_decay: self.weight_decay,
            batch_norm: self.batch_norm,
        })
    }
}

impl MnistDiscriminator {
    /// The real/fake logits `[N, 1]` of images `[N, 1, 28, 28]` (an unconditional
    /// discriminator; see [`GanDiscriminator::discriminate`] for the others).
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let device = Device::default();
    /// let d = rgan::recipes::mnist::MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
    /// let err = d.forward(Tensor::zeros([2, 3, 28, 28], &device)).unwrap_err();
    /// assert!(err.to_string().contains("[2, 3, 28, 28]"));
    /// ```
    pub fn forward(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        Ok(self.forward_all(images, None)?.logits)
    }

    fn check_images(images: &Tensor<4>) -> Result<()> {
        let [n, c, h, w] = images.dims();
        if c != 1 || h != 28 || w != 28 || n == 0 {
            return Err(RganError::shape(
                "images",
                &[n, c, h, w],
                "but the MNIST discriminator takes [batch ≥ 1, 1, 28, 28]",
            ));
        }
        Ok(())
    }

    fn forward_all(&self, images: Tensor<4>, labels: Option<Tensor<2>>) -> Result<DiscriminatorOutput> {
        Self::check_images(&images)?;
        let n = images.dims()[0];
        let slope = self.act.negative_slope;
        let x = leaky_relu(self.conv1.forward(images), slope);
        let x = leaky_relu(self.conv2.forward(x), slope);
        let mut x = x.reshape([n, 7 * 7 * 128]);
        if let Some(condition) = &self.condition {
            let labels = labels.ok_or_else(|| {
                RganError::invalid("generator_inputs", "the conditional MNIST discriminator needs one-hot labels")
            })?;
            x = condition.forward(x, labels)?;
        }
        let x = self.fc1.forward(x);
        let x = if self.batch_norm {
            batch_norm_layer(&self.bn, x, Activation::LeakyRelu(slope))
        } else {
            leaky_relu(x, slope)
        };
        let mut distributions = Vec::new();
        if let Some(h) = &self.categorical_head {
            distributions.push(Distribution::Categorical { logits: linear_layer(h, x.clone()) });
        }
        if let Some(h) = &self.continuous_head {
            let loc = linear_layer(h, x.clone());
            distributions.push(Distribution::Normal { scale: loc.ones_like(), loc });
        }
        Ok(DiscriminatorOutput {
            logits: linear_layer(&self.fc2, x.clone()),
            class_logits: self.class_head.as_ref().map(|h| linear_layer(h, x)),
            distributions,
        })
    }

    /// TF's kernel regularization loss, `weight_decay × Σ_kernels Σw²/2` (the raw kernels of
    /// the spectrally normalized layers and the heads), shape `[1]`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let d = rgan::recipes::mnist::MnistDiscriminatorConfig::new().with_weight_decay(0.0).init(&mut rng, &Device::default()).unwrap();
    /// assert_eq!(d.regularization_loss().into_scalar::<f32>(), 0.0);
    /// ```
    pub fn regularization_loss(&self) -> Tensor<1> {
        let mut total = l2_loss(self.conv1.weight.val())
            + l2_loss(self.conv2.weight.val())
            + l2_loss(self.fc1.weight.val())
            + l2_loss(self.fc2.weight.val());
        for h in [&self.class_head, &self.categorical_head, &self.continuous_head].into_iter().flatten() {
            total = total + l2_loss(h.weight.val());
        }
        total.mul_scalar(self.weight_decay)
    }
}

impl SequentialCritic for MnistDiscriminator {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        let mut layers: Vec<&dyn CriticLayer> = vec![&self.conv1, &self.act, &self.conv2, &self.act, &Flatten];
        if let Some(condition) = &self.condition {
            layers.push(condition);
        }
        layers.push(&self.fc1);
        if self.batch_norm {
            layers.push(&self.bn);
        }
        layers.extend([&self.act as &dyn CriticLayer, &self.fc2]);
        layers
    }
}

impl GanDiscriminator for MnistDiscriminator {
    fn discriminate(&self, data: Tensor<4>, inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        self.forward_all(data, inputs.one_hot_labels.clone())
    }

    fn regularization_loss(&self) -> Option<Tensor<1>> {
        (self.weight_decay != 0.0).then(|| MnistDiscriminator::regularization_loss(self))
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        let conditioning = if self.condition.is_some() { inputs.one_hot_labels.clone() } else { None };
        Ok(wasserstein_gradient_penalty(self, real_data, generated_data, conditioning, rng, options)?.penalty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_weights() {
        let device = Device::default();
        let a = MnistGeneratorConfig::new().init(&mut Rng::seed_from_u64(5), &device).unwrap();
        let b = MnistGeneratorConfig::new().init(&mut Rng::seed_from_u64(5), &device).unwrap();
        assert_eq!(a.fc2.weight.val().to_data(), b.fc2.weight.val().to_data());
        assert_eq!(a.conv.weight.val().to_data(), b.conv.weight.val().to_data());
    }

    #[test]
    fn glorot_limit_of_conv_kernel() {
        let device = Device::default();
        let d = MnistDiscriminatorConfig::new().init(&mut Rng::seed_from_u64(1), &device).unwrap();
        let limit = (6.0f32 / (16.0 + 64.0 * 16.0)).sqrt();
        let max = d.conv1.weight.val().abs().max().into_scalar::<f32>();
        assert!(max <= limit && max > 0.9 * limit, "max {max} limit {limit}");
        assert_eq!(d.conv1.weight.dims(), [64, 1, 4, 4]);
    }

    #[test]
    fn parameter_counts() {
        let device = Device::default();
        let g = MnistGeneratorConfig::new().init(&mut Rng::seed_from_u64(1), &device).unwrap();
        // TF: 64·1024 + 1024·6272 + 128·64·16 + 64 + 64·32·16 + 32 + 32·16 + 1
        //     + BN gammas/betas 2·(1024 + 6272 + 64 + 32) (+ moving averages, counted by burn too)
        let trainable = 64 * 1024 + 1024 * 6272 + 128 * 64 * 16 + 64 + 64 * 32 * 16 + 32 + 32 * 16 + 1;
        let bn = 1024 + 6272 + 64 + 32;
        assert_eq!(g.num_params(), trainable + 4 * bn);
    }

    #[test]
    fn moving_average_mode_is_not_batch_mode() {
        let device = Device::default();
        let mut rng = Rng::seed_from_u64(2);
        let g = MnistGeneratorConfig::new().init(&mut rng, &device).unwrap();
        let noise = rng.normal([8, 64], 0.0, 1.0, &device);
        let a = g.forward_with(noise.clone(), BatchNormMode::MovingAverages).unwrap();
        let b = g.forward(noise.clone()).unwrap();
        let c = g.forward_with(noise, BatchNormMode::BatchStatistics).unwrap();
        assert_eq!(a.to_data(), b.to_data());
        assert!(a.sub(c).abs().max().into_scalar::<f32>() > 1e-4);
    }

    #[test]
    fn a_frozen_discriminator_passes_the_same_input_gradient() {
        let device = Device::default().autodiff();
        let mut rng = Rng::seed_from_u64(4);
        let d = MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
        let x = rng.uniform([4, 1, 28, 28], -1.0, 1.0, &device).require_grad();
        // Each training forward advances the spectral-norm power iteration (state shared by
        // clones); let it converge so that consecutive passes use the same normalized weights.
        for _ in 0..200 {
            d.forward(x.clone().detach()).unwrap();
        }
        let a = x.grad(&crate::model::frozen(&d).forward(x.clone()).unwrap().sum().backward()).unwrap();
        let b = x.grad(&d.forward(x.clone()).unwrap().sum().backward()).unwrap();
        let diff = a.clone().sub(b).abs().max().into_scalar::<f32>();
        let scale = a.abs().max().into_scalar::<f32>();
        assert!(scale > 0.0 && diff <= 1e-4 * scale.max(1.0), "diff {diff} scale {scale}");
    }
}
