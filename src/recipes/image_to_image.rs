//! Image-to-image networks and their recipes: a pix2pix U-Net with a conditional PatchGAN
//! (paired translation), CycleGAN's ResNet generator with a PatchGAN (unpaired translation), and
//! StarGAN's generator and discriminator (translation between several domains).
//!
//! - [`UNetGenerator`] (Isola et al. 2017): an encoder of stride-2 4 × 4 convolutions (leaky
//!   ReLU 0.2, batch norm but on the first and innermost) and a decoder of stride-2 4 × 4
//!   transposed convolutions (ReLU, batch norm), each decoder level concatenated with the
//!   encoder level of its size (skips); tanh out. pix2pix's dropout is left out, so that training
//!   draws no randomness besides the data.
//! - [`PatchDiscriminator`] (pix2pix's and CycleGAN's 70 × 70 PatchGAN for 3 layers): stride-2
//!   4 × 4 convolutions from `base_filters` doubling (up to 8×), a stride-1 one, then a stride-1
//!   convolution to one logit per patch; leaky ReLU 0.2, batch or instance norm but on the first.
//!   Conditional (pix2pix), it sees the input image concatenated to the judged one.
//! - [`ResnetGenerator`] (Zhu et al. 2017; TF-GAN's CycleGAN example): a 7 × 7 convolution, two
//!   stride-2 3 × 3 convolutions, residual blocks, two stride-2 transposed convolutions and a
//!   7 × 7 convolution to tanh; instance norm and ReLU (zero padding where the paper reflects).
//! - [`StarGanGenerator`] (Choi et al. 2018): the image with the target domain tiled over it as
//!   channels, then the ResNet generator's layout (4 × 4 down- and up-sampling, instance norm).
//! - [`StarGanDiscriminator`]: stride-2 4 × 4 convolutions with leaky ReLU 0.01, a source map
//!   (3 × 3 convolution to one channel) and a domain head (a convolution over the whole map);
//!   made of critic layers, so its gradient penalty is exact.
//!
//! Kernels are drawn from N(0, 0.02²) (the DCGAN, pix2pix and CycleGAN initialization), biases 0.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, LeakyRelu, LeakyReluConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::Recipe;
use super::layers::batch_norm_act;
use crate::data::{
    Augmentation, ImageBatches, ImageDataset, PairedBatch, PairedBatches, PairedDataset, UnpairedBatch,
    UnpairedBatches, fixed_batch,
};
use crate::error::{Result, RganError};
use crate::features::{InstanceNorm, InstanceNormConfig};
use crate::model::{
    BatchNormMode, CycleGanModel, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, ImagesAndLabels, zeros,
};
use crate::ops::{Activation, batch_norm_layer, conv_transpose2d_layer, conv2d_layer, leaky_relu};
use crate::penalties::{CriticLayer, GradientPenaltyOptions, SequentialCritic, wasserstein_gradient_penalty};
use crate::rng::Rng;
use crate::train::{
    CycleGanStep, GanLossConfig, GanLossKind, GanStep, NonAdversarialLossConfig, OptimizerConfig, PairedInputs, Resume,
    Seeds, StarGanLossConfig, StarGanStep, TrainConfig, TrainSchedule, Trainer, stargan_adversarial_loss,
};

/// The standard deviation of the N(0, σ²) kernels.
const INIT_STD: f64 = 0.02;

fn normal<const D: usize>(rng: &mut Rng, shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(rng.normal(shape, 0.0, INIT_STD, device))
}

/// A `k × k` convolution `[i → o]` with stride `s` and padding `p` (zeros), N(0, 0.02²) kernel.
fn conv(rng: &mut Rng, [i, o]: [usize; 2], k: usize, s: usize, p: usize, bias: bool, device: &Device) -> Conv2d {
    let mut layer = Conv2dConfig::new([i, o], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = normal(rng, [o, i, k, k], device);
    layer.bias = bias.then(|| zeros([o], device));
    layer
}

/// A `k × k` transposed convolution `[i → o]` with stride 2, padding `p` and output padding
/// `out_pad`, N(0, 0.02²) kernel: doubles the side for (k, p, out_pad) = (4, 1, 0) or (3, 1, 1).
fn up(
    rng: &mut Rng,
    [i, o]: [usize; 2],
    k: usize,
    p: usize,
    out_pad: usize,
    bias: bool,
    device: &Device,
) -> ConvTranspose2d {
    let mut layer = ConvTranspose2dConfig::new([i, o], [k, k])
        .with_stride([2, 2])
        .with_padding([p, p])
        .with_padding_out([out_pad, out_pad])
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = normal(rng, [i, o, k, k], device);
    layer.bias = bias.then(|| zeros([o], device));
    layer
}

fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels).init(device)
}

fn instance_norm(channels: usize, device: &Device) -> InstanceNorm {
    InstanceNormConfig::new(channels).with_epsilon(1e-5).init(device)
}

/// Errors unless `images` is `[batch ≥ 1, channels, H, W]` with `H` and `W` multiples of
/// `multiple` and at least `min` pixels.
fn check_images(what: &str, images: &Tensor<4>, channels: usize, multiple: usize, min: usize) -> Result<()> {
    let [n, c, h, w] = images.dims();
    if n == 0 || c != channels || h % multiple != 0 || w % multiple != 0 || h < min || w < min {
        return Err(RganError::shape(
            "images",
            &[n, c, h, w],
            format!(
                "but {what} takes [batch ≥ 1, {channels}, H, W] with H and W multiples of {multiple}, at least {min}"
            ),
        ));
    }
    Ok(())
}

/// Configuration of [`UNetGenerator`].
///
/// ```
/// let config = rgan::recipes::image_to_image::UNetGeneratorConfig::new(1, 3);
/// assert_eq!((config.base_filters, config.depth, config.max_filters), (64, 5, 512));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct UNetGeneratorConfig {
    /// Channels of the input images.
    pub in_channels: usize,
    /// Channels of the generated images.
    pub out_channels: usize,
    /// Filters of the first encoder level. Default 64.
    #[config(default = 64)]
    pub base_filters: usize,
    /// Encoder levels (each halves the side; the image side must be a multiple of `2^depth`):
    /// 8 for pix2pix's 256 × 256, 5 for 32 × 32. Default 5.
    #[config(default = 5)]
    pub depth: usize,
    /// The most filters of a level. Default 512.
    #[config(default = 512)]
    pub max_filters: usize,
}

/// pix2pix's U-Net generator (see the [module docs](self)): images in, images out.
#[derive(Module, Debug)]
pub struct UNetGenerator {
    encoders: Vec<Conv2d>,
    encoder_norms: Vec<BatchNorm>,
    decoders: Vec<ConvTranspose2d>,
    decoder_norms: Vec<BatchNorm>,
    in_channels: usize,
}

impl UNetGeneratorConfig {
    fn filters(&self, level: usize) -> usize {
        (self.base_filters << level).min(self.max_filters)
    }

    /// Builds the generator, its kernels drawn from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::GanGenerator;
    /// use rgan::recipes::image_to_image::UNetGeneratorConfig;
    /// let device = Device::default();
    /// let config = UNetGeneratorConfig::new(1, 3).with_base_filters(4).with_depth(3);
    /// let g = config.init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// assert_eq!(g.generate(&Tensor::zeros([2, 1, 16, 16], &device)).unwrap().dims(), [2, 3, 16, 16]);
    /// assert!(g.generate(&Tensor::zeros([2, 1, 12, 12], &device)).is_err());
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<UNetGenerator> {
        if self.depth < 2 || self.base_filters == 0 || self.in_channels == 0 || self.out_channels == 0 {
            return Err(RganError::invalid(
                "generator",
                "a U-Net needs depth ≥ 2 and at least one filter and channel in and out",
            ));
        }
        let d = self.depth;
        let f = |i: usize| self.filters(i);
        let mut encoders = vec![conv(rng, [self.in_channels, f(0)], 4, 2, 1, true, device)];
        encoders.extend((1..d).map(|i| conv(rng, [f(i - 1), f(i)], 4, 2, 1, i == d - 1, device)));
        let encoder_norms = (1..d - 1).map(|i| batch_norm(f(i), device)).collect();
        let mut decoders = vec![up(rng, [2 * f(0), self.out_channels], 4, 1, 0, true, device)];
        decoders.extend((1..d).map(|i| {
            let input = if i == d - 1 { f(i) } else { 2 * f(i) };
            up(rng, [input, f(i - 1)], 4, 1, 0, false, device)
        }));
        let decoder_norms = (1..d).map(|i| batch_norm(f(i - 1), device)).collect();
        Ok(UNetGenerator { encoders, encoder_norms, decoders, decoder_norms, in_channels: self.in_channels })
    }
}

impl UNetGenerator {
    /// Translates `images` `[N, in_channels, H, W]` (`H`, `W` multiples of `2^depth`) with the
    /// given batch-norm behaviour. pix2pix translates test images with each batch's own
    /// statistics ([`BatchNormMode::BatchStatistics`]: at its batch size 1, instance
    /// normalization), not the moving averages.
    pub fn forward_with(&self, images: &Tensor<4>, mode: BatchNormMode) -> Result<Tensor<4>> {
        let depth = self.encoders.len();
        check_images("the U-Net generator", images, self.in_channels, 1 << depth, 1 << depth)?;
        let mut skips = vec![conv2d_layer(&self.encoders[0], images.clone())];
        for i in 1..depth {
            let x = conv2d_layer(&self.encoders[i], leaky_relu(skips[i - 1].clone(), 0.2));
            skips.push(if i < depth - 1 {
                batch_norm_act(&self.encoder_norms[i - 1], x, mode, Activation::Identity)
            } else {
                x
            });
        }
        let mut x = skips.pop().ok_or_else(|| RganError::invalid("generator", "has no levels"))?;
        for i in (1..depth).rev() {
            let y = conv_transpose2d_layer(&self.decoders[i], relu(x));
            let y = batch_norm_act(&self.decoder_norms[i - 1], y, mode, Activation::Identity);
            let skip = skips.pop().ok_or_else(|| RganError::invalid("generator", "lost a skip"))?;
            x = Tensor::cat(vec![y, skip], 1);
        }
        Ok(conv_transpose2d_layer(&self.decoders[0], relu(x)).tanh())
    }

    /// Channels of the images it takes.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// The multiple of which image sides must be: `2^depth`.
    pub fn side_multiple(&self) -> usize {
        1 << self.encoders.len()
    }
}

impl GanGenerator<Tensor<4>> for UNetGenerator {
    fn generate(&self, images: &Tensor<4>) -> Result<Tensor<4>> {
        self.forward_with(images, BatchNormMode::Layer)
    }

    fn sample(&self, images: &Tensor<4>) -> Result<Tensor<4>> {
        self.forward_with(images, BatchNormMode::BatchStatistics)
    }

    fn generate_with(&self, images: &Tensor<4>, mode: BatchNormMode) -> Result<Tensor<4>> {
        self.forward_with(images, mode)
    }
}

/// Which normalization a [`PatchDiscriminator`] uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PatchNorm {
    /// Batch norm (pix2pix).
    #[default]
    Batch,
    /// Instance norm (CycleGAN).
    Instance,
}

/// Configuration of [`PatchDiscriminator`].
///
/// ```
/// let config = rgan::recipes::image_to_image::PatchDiscriminatorConfig::new(3);
/// assert_eq!((config.conditional_channels, config.base_filters, config.layers), (0, 64, 3));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct PatchDiscriminatorConfig {
    /// Channels of the judged images.
    pub channels: usize,
    /// Channels of the input images it is conditioned on (pix2pix: the generator's inputs,
    /// concatenated to the judged images); 0 for an unconditional one (CycleGAN). Default 0.
    #[config(default = 0)]
    pub conditional_channels: usize,
    /// Filters of the first layer. Default 64.
    #[config(default = 64)]
    pub base_filters: usize,
    /// Stride-2 layers (3: a 70 × 70 receptive field). Default 3.
    #[config(default = 3)]
    pub layers: usize,
    /// The normalization. Default batch norm.
    #[config(default = "PatchNorm::Batch")]
    pub norm: PatchNorm,
}

/// A normalization layer of either kind.
#[derive(Module, Debug)]
enum Norm {
    Batch(BatchNorm),
    Instance(InstanceNorm),
}

impl Norm {
    fn new(kind: PatchNorm, channels: usize, device: &Device) -> Self {
        match kind {
            PatchNorm::Batch => Self::Batch(batch_norm(channels, device)),
            PatchNorm::Instance => Self::Instance(instance_norm(channels, device)),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Result<Tensor<4>> {
        match self {
            Self::Batch(norm) => Ok(batch_norm_layer(norm, x, Activation::Identity)),
            Self::Instance(norm) => norm.forward(x),
        }
    }
}

/// The PatchGAN discriminator (see the [module docs](self)): one logit per patch, flattened to
/// `[batch, patches]`.
#[derive(Module, Debug)]
pub struct PatchDiscriminator {
    convs: Vec<Conv2d>,
    norms: Vec<Norm>,
    output: Conv2d,
    channels: usize,
    conditional_channels: usize,
}

impl PatchDiscriminatorConfig {
    /// Builds the discriminator, its kernels drawn from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::GanDiscriminator;
    /// use rgan::recipes::image_to_image::PatchDiscriminatorConfig;
    /// let device = Device::default();
    /// let d = PatchDiscriminatorConfig::new(3).with_conditional_channels(1).with_base_filters(4)
    ///     .init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// let out = d.discriminate(Tensor::zeros([2, 3, 32, 32], &device), &Tensor::zeros([2, 1, 32, 32], &device)).unwrap();
    /// assert_eq!(out.logits.dims(), [2, 4]); // a 2 × 2 map of patches
    /// // 3 layers need a side of at least 24: smaller images are an error, not a panic.
    /// assert!(d.discriminate(Tensor::zeros([2, 3, 16, 16], &device), &Tensor::zeros([2, 1, 16, 16], &device)).is_err());
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<PatchDiscriminator> {
        if self.layers == 0 || self.base_filters == 0 || self.channels == 0 {
            return Err(RganError::invalid("discriminator", "a PatchGAN needs at least one layer, filter and channel"));
        }
        let f = |i: usize| self.base_filters * (1 << i.min(3));
        let mut convs = vec![conv(rng, [self.channels + self.conditional_channels, f(0)], 4, 2, 1, true, device)];
        let mut norms = Vec::new();
        for i in 1..=self.layers {
            let stride = if i < self.layers { 2 } else { 1 };
            convs.push(conv(rng, [f(i - 1), f(i)], 4, stride, 1, false, device));
            norms.push(Norm::new(self.norm, f(i), device));
        }
        let output = conv(rng, [f(self.layers), 1], 4, 1, 1, true, device);
        Ok(PatchDiscriminator {
            convs,
            norms,
            output,
            channels: self.channels,
            conditional_channels: self.conditional_channels,
        })
    }
}

impl PatchDiscriminator {
    /// The map of patch logits `[batch, 1, h, w]` of `images` given the `condition` images.
    fn patches(&self, images: Tensor<4>, condition: Option<&Tensor<4>>) -> Result<Tensor<4>> {
        // Each of the `layers` stride-2 convolutions halves the side, then two 4 × 4 stride-1
        // convolutions take 1 each: the side must be at least 3 · 2^layers.
        check_images("the PatchGAN discriminator", &images, self.channels, 1, 3 << (self.convs.len() - 1))?;
        let mut x = match (self.conditional_channels, condition) {
            (0, _) => images,
            (c, Some(condition)) => {
                let [n, _, h, w] = images.dims();
                if condition.dims() != [n, c, h, w] {
                    return Err(RganError::shape(
                        "generator_inputs",
                        &condition.dims(),
                        format!("but the conditional PatchGAN takes [{n}, {c}, {h}, {w}] beside the judged images"),
                    ));
                }
                Tensor::cat(vec![condition.clone(), images], 1)
            }
            (_, None) => {
                return Err(RganError::invalid("discriminator", "is conditional but was given no input images"));
            }
        };
        x = leaky_relu(conv2d_layer(&self.convs[0], x), 0.2);
        for (conv, norm) in self.convs[1..].iter().zip(&self.norms) {
            x = leaky_relu(norm.forward(conv2d_layer(conv, x))?, 0.2);
        }
        Ok(conv2d_layer(&self.output, x))
    }
}

impl GanDiscriminator<Tensor<4>> for PatchDiscriminator {
    fn discriminate(&self, data: Tensor<4>, inputs: &Tensor<4>) -> Result<DiscriminatorOutput> {
        let map = self.patches(data, Some(inputs))?;
        let [n, _, h, w] = map.dims();
        Ok(DiscriminatorOutput::logits(map.reshape([n, h * w])))
    }
}

/// Configuration of [`ResnetGenerator`].
///
/// ```
/// let config = rgan::recipes::image_to_image::ResnetGeneratorConfig::new(3, 3);
/// assert_eq!((config.base_filters, config.residual_blocks), (64, 6));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct ResnetGeneratorConfig {
    /// Channels of the input images.
    pub in_channels: usize,
    /// Channels of the generated images.
    pub out_channels: usize,
    /// Filters of the first layer (then 2× and 4× after each down-sampling). Default 64.
    #[config(default = 64)]
    pub base_filters: usize,
    /// Residual blocks (TF-GAN's CycleGAN example: 6 at 128 × 128 and below). Default 6.
    #[config(default = 6)]
    pub residual_blocks: usize,
}

/// One residual block: `x + IN(conv(ReLU(IN(conv(x)))))`.
#[derive(Module, Debug)]
struct ResidualBlock {
    conv1: Conv2d,
    norm1: InstanceNorm,
    conv2: Conv2d,
    norm2: InstanceNorm,
}

impl ResidualBlock {
    fn new(rng: &mut Rng, channels: usize, device: &Device) -> Self {
        Self {
            conv1: conv(rng, [channels, channels], 3, 1, 1, false, device),
            norm1: instance_norm(channels, device),
            conv2: conv(rng, [channels, channels], 3, 1, 1, false, device),
            norm2: instance_norm(channels, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Result<Tensor<4>> {
        let y = relu(self.norm1.forward(conv2d_layer(&self.conv1, x.clone()))?);
        Ok(x + self.norm2.forward(conv2d_layer(&self.conv2, y))?)
    }
}

/// The encoder, residual blocks and decoder shared by the CycleGAN and StarGAN generators.
#[derive(Module, Debug)]
struct ResnetBody {
    stem: Conv2d,
    stem_norm: InstanceNorm,
    downs: Vec<Conv2d>,
    down_norms: Vec<InstanceNorm>,
    blocks: Vec<ResidualBlock>,
    ups: Vec<ConvTranspose2d>,
    up_norms: Vec<InstanceNorm>,
    output: Conv2d,
}

impl ResnetBody {
    /// `sampling`: the kernel of the down- and up-sampling layers (3: CycleGAN's, with output
    /// padding 1 up; 4: StarGAN's).
    fn new(rng: &mut Rng, [i, o]: [usize; 2], base: usize, blocks: usize, sampling: usize, device: &Device) -> Self {
        let f = [base, 2 * base, 4 * base];
        let out_pad = usize::from(sampling == 3);
        Self {
            stem: conv(rng, [i, f[0]], 7, 1, 3, false, device),
            stem_norm: instance_norm(f[0], device),
            downs: (0..2).map(|k| conv(rng, [f[k], f[k + 1]], sampling, 2, 1, false, device)).collect(),
            down_norms: (0..2).map(|k| instance_norm(f[k + 1], device)).collect(),
            blocks: (0..blocks).map(|_| ResidualBlock::new(rng, f[2], device)).collect(),
            ups: (0..2).map(|k| up(rng, [f[2 - k], f[1 - k]], sampling, 1, out_pad, false, device)).collect(),
            up_norms: (0..2).map(|k| instance_norm(f[1 - k], device)).collect(),
            output: conv(rng, [f[0], o], 7, 1, 3, true, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Result<Tensor<4>> {
        let mut x = relu(self.stem_norm.forward(conv2d_layer(&self.stem, x))?);
        for (conv, norm) in self.downs.iter().zip(&self.down_norms) {
            x = relu(norm.forward(conv2d_layer(conv, x))?);
        }
        for block in &self.blocks {
            x = block.forward(x)?;
        }
        for (up, norm) in self.ups.iter().zip(&self.up_norms) {
            x = relu(norm.forward(conv_transpose2d_layer(up, x))?);
        }
        Ok(conv2d_layer(&self.output, x).tanh())
    }
}

/// CycleGAN's ResNet generator (see the [module docs](self)).
#[derive(Module, Debug)]
pub struct ResnetGenerator {
    body: ResnetBody,
    in_channels: usize,
}

impl ResnetGeneratorConfig {
    /// Builds the generator, its kernels drawn from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::GanGenerator;
    /// use rgan::recipes::image_to_image::ResnetGeneratorConfig;
    /// let device = Device::default();
    /// let g = ResnetGeneratorConfig::new(3, 3).with_base_filters(4).with_residual_blocks(1)
    ///     .init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// assert_eq!(g.generate(&Tensor::zeros([1, 3, 16, 16], &device)).unwrap().dims(), [1, 3, 16, 16]);
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<ResnetGenerator> {
        if self.base_filters == 0 || self.in_channels == 0 || self.out_channels == 0 {
            return Err(RganError::invalid("generator", "needs at least one filter and channel in and out"));
        }
        let channels = [self.in_channels, self.out_channels];
        let body = ResnetBody::new(rng, channels, self.base_filters, self.residual_blocks, 3, device);
        Ok(ResnetGenerator { body, in_channels: self.in_channels })
    }
}

impl ResnetGenerator {
    /// Channels of the images it takes.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }
}

impl GanGenerator<Tensor<4>> for ResnetGenerator {
    fn generate(&self, images: &Tensor<4>) -> Result<Tensor<4>> {
        check_images("the ResNet generator", images, self.in_channels, 4, 8)?;
        self.body.forward(images.clone())
    }
}

/// Configuration of [`StarGanGenerator`].
///
/// ```
/// let config = rgan::recipes::image_to_image::StarGanGeneratorConfig::new(3, 5);
/// assert_eq!((config.base_filters, config.residual_blocks), (64, 6));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct StarGanGeneratorConfig {
    /// Channels of the images.
    pub channels: usize,
    /// The number of domains.
    pub domains: usize,
    /// Filters of the first layer. Default 64.
    #[config(default = 64)]
    pub base_filters: usize,
    /// Residual blocks. Default 6.
    #[config(default = 6)]
    pub residual_blocks: usize,
}

/// StarGAN's generator (see the [module docs](self)): images and one-hot target domains in.
#[derive(Module, Debug)]
pub struct StarGanGenerator {
    body: ResnetBody,
    channels: usize,
    domains: usize,
}

impl StarGanGeneratorConfig {
    /// Builds the generator, its kernels drawn from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::{GanGenerator, ImagesAndLabels};
    /// use rgan::recipes::image_to_image::StarGanGeneratorConfig;
    /// let device = Device::default();
    /// let g = StarGanGeneratorConfig::new(3, 2).with_base_filters(4).with_residual_blocks(1)
    ///     .init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// let inputs = ImagesAndLabels::new(Tensor::zeros([1, 3, 16, 16], &device), Tensor::ones([1, 2], &device)).unwrap();
    /// assert_eq!(g.generate(&inputs).unwrap().dims(), [1, 3, 16, 16]);
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<StarGanGenerator> {
        if self.base_filters == 0 || self.channels == 0 || self.domains < 2 {
            return Err(RganError::invalid("generator", "needs at least one filter and channel, and two domains"));
        }
        let channels = [self.channels + self.domains, self.channels];
        let body = ResnetBody::new(rng, channels, self.base_filters, self.residual_blocks, 4, device);
        Ok(StarGanGenerator { body, channels: self.channels, domains: self.domains })
    }
}

impl StarGanGenerator {
    /// Channels of the images.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The number of domains.
    pub fn domains(&self) -> usize {
        self.domains
    }
}

impl GanGenerator<ImagesAndLabels> for StarGanGenerator {
    fn generate(&self, inputs: &ImagesAndLabels) -> Result<Tensor<4>> {
        check_images("the StarGAN generator", &inputs.images, self.channels, 4, 8)?;
        let [n, _, h, w] = inputs.images.dims();
        if inputs.labels.dims() != [n, self.domains] {
            return Err(RganError::shape(
                "labels",
                &inputs.labels.dims(),
                format!("but the generator takes [{n}, {}] one-hot target domains", self.domains),
            ));
        }
        let tiled = inputs.labels.clone().reshape([n, self.domains, 1, 1]).expand([n, self.domains, h, w]);
        self.body.forward(Tensor::cat(vec![inputs.images.clone(), tiled], 1))
    }
}

/// Configuration of [`StarGanDiscriminator`].
///
/// ```
/// let config = rgan::recipes::image_to_image::StarGanDiscriminatorConfig::new(3, 5, 128);
/// assert_eq!((config.base_filters, config.layers), (64, 6));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct StarGanDiscriminatorConfig {
    /// Channels of the images.
    pub channels: usize,
    /// The number of domains.
    pub domains: usize,
    /// The side of the (square) images.
    pub image_size: usize,
    /// Filters of the first layer (doubling after each). Default 64.
    #[config(default = 64)]
    pub base_filters: usize,
    /// Stride-2 layers (StarGAN's 6 at 128 × 128; `image_size` must be a multiple of
    /// `2^layers`). Default 6.
    #[config(default = 6)]
    pub layers: usize,
}

/// StarGAN's discriminator (see the [module docs](self)): source logits (one per patch) in
/// `logits`, domain logits in `class_logits`.
#[derive(Module, Debug)]
pub struct StarGanDiscriminator {
    convs: Vec<Conv2d>,
    act: LeakyRelu,
    source: Conv2d,
    domain: Conv2d,
    channels: usize,
    image_size: usize,
}

impl StarGanDiscriminatorConfig {
    /// Builds the discriminator, its kernels drawn from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::{GanDiscriminator, ImagesAndLabels};
    /// use rgan::recipes::image_to_image::StarGanDiscriminatorConfig;
    /// let device = Device::default();
    /// let d = StarGanDiscriminatorConfig::new(3, 4, 16).with_base_filters(4).with_layers(2)
    ///     .init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// let images = Tensor::zeros([2, 3, 16, 16], &device);
    /// let labels = ImagesAndLabels::new(images.clone(), Tensor::zeros([2, 4], &device)).unwrap();
    /// let out = d.discriminate(images, &labels).unwrap();
    /// assert_eq!((out.logits.dims(), out.class_logits.unwrap().dims()), ([2, 16], [2, 4]));
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<StarGanDiscriminator> {
        let multiple = 1usize.checked_shl(self.layers as u32).unwrap_or(0);
        if self.layers == 0 || multiple == 0 || self.image_size % multiple != 0 || self.image_size < multiple {
            return Err(RganError::invalid(
                "discriminator",
                format!("image_size {} must be a multiple of 2^layers = 2^{}", self.image_size, self.layers),
            ));
        }
        if self.base_filters == 0 || self.channels == 0 || self.domains < 2 {
            return Err(RganError::invalid("discriminator", "needs at least one filter and channel, and two domains"));
        }
        let f = |i: usize| self.base_filters << i;
        let mut convs = vec![conv(rng, [self.channels, f(0)], 4, 2, 1, true, device)];
        convs.extend((1..self.layers).map(|i| conv(rng, [f(i - 1), f(i)], 4, 2, 1, true, device)));
        let last = f(self.layers - 1);
        let side = self.image_size / multiple;
        Ok(StarGanDiscriminator {
            convs,
            act: LeakyReluConfig::new().with_negative_slope(0.01).init(),
            source: conv(rng, [last, 1], 3, 1, 1, false, device),
            domain: conv(rng, [last, self.domains], side, 1, 0, false, device),
            channels: self.channels,
            image_size: self.image_size,
        })
    }
}

impl StarGanDiscriminator {
    fn check(&self, images: &Tensor<4>) -> Result<()> {
        let s = self.image_size;
        let [n, c, h, w] = images.dims();
        if n == 0 || c != self.channels || h != s || w != s {
            return Err(RganError::shape(
                "images",
                &[n, c, h, w],
                format!("but the StarGAN discriminator takes [batch ≥ 1, {}, {s}, {s}]", self.channels),
            ));
        }
        Ok(())
    }

    fn trunk(&self, images: Tensor<4>) -> Result<Tensor<4>> {
        self.check(&images)?;
        let mut x = images;
        for conv in &self.convs {
            x = leaky_relu(conv2d_layer(conv, x), 0.01);
        }
        Ok(x)
    }
}

impl SequentialCritic for StarGanDiscriminator {
    /// The source path (trunk and source head): what the gradient penalty differentiates.
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        let mut layers: Vec<&dyn CriticLayer> = Vec::new();
        for conv in &self.convs {
            layers.push(conv);
            layers.push(&self.act);
        }
        layers.push(&self.source);
        layers
    }
}

impl GanDiscriminator<ImagesAndLabels> for StarGanDiscriminator {
    fn discriminate(&self, data: Tensor<4>, _inputs: &ImagesAndLabels) -> Result<DiscriminatorOutput> {
        let features = self.trunk(data)?;
        let source = conv2d_layer(&self.source, features.clone());
        let [n, _, h, w] = source.dims();
        let domain = conv2d_layer(&self.domain, features);
        let domains = domain.dims()[1];
        Ok(DiscriminatorOutput {
            logits: source.reshape([n, h * w]),
            class_logits: Some(domain.reshape([n, domains])),
            distributions: Vec::new(),
        })
    }

    fn batch_independent(&self) -> bool {
        true
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        _inputs: &ImagesAndLabels,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        self.check(&real_data)?;
        Ok(wasserstein_gradient_penalty(self, real_data, generated_data, None, rng, options)?.penalty)
    }
}

/// The PatchGAN layers for images of side `image_size`: pix2pix's and CycleGAN's 3 (70 × 70
/// patches) down to 24 × 24 images, fewer below (a PatchGAN of `layers` layers needs a side of
/// at least 3 · 2^layers), at least 1.
///
/// ```
/// use rgan::recipes::image_to_image::patch_layers;
/// assert_eq!([256, 32, 24, 16, 12, 8].map(patch_layers), [3, 3, 3, 2, 2, 1]);
/// ```
pub fn patch_layers(image_size: usize) -> usize {
    (1..=3).rev().find(|&l| image_size >= 3 << l).unwrap_or(1)
}

/// pix2pix: a U-Net generator and a conditional PatchGAN (see the [module docs](self)).
///
/// ```
/// use rgan::recipes::image_to_image::Pix2PixRecipe;
/// let recipe = Pix2PixRecipe::for_images(1, 3, 32);
/// assert_eq!((recipe.discriminator.conditional_channels, recipe.discriminator.layers), (1, 3));
/// assert_eq!(Pix2PixRecipe::for_images(1, 3, 16).discriminator.layers, 2);
/// let config = Pix2PixRecipe::train_config(100.0);
/// assert_eq!(config.loss.non_adversarial.unwrap().weight_factor, 0.01);
/// // λ = 0: the adversarial loss alone; the L1-only baseline: no adversarial loss.
/// assert_eq!(Pix2PixRecipe::train_config(0.0).loss.non_adversarial, None);
/// assert_eq!(Pix2PixRecipe::l1_only_config().loss.non_adversarial.unwrap().weight_factor, 0.0);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct Pix2PixRecipe {
    /// The generator.
    pub generator: UNetGeneratorConfig,
    /// The discriminator.
    pub discriminator: PatchDiscriminatorConfig,
}

/// The step training a pix2pix model.
pub type Pix2PixStep = GanStep<UNetGenerator, PatchDiscriminator, PairedInputs>;

impl Pix2PixRecipe {
    /// pix2pix's networks for `in_channels` → `out_channels` images of side `image_size` (a
    /// U-Net as deep as the side allows, down to 1 × 1).
    /// The PatchGAN keeps pix2pix's 3 layers (70 × 70 patches) down to 24 × 24 images, and has
    /// fewer below (it needs a side of at least 3 · 2^layers).
    pub fn for_images(in_channels: usize, out_channels: usize, image_size: usize) -> Self {
        let depth = image_size.trailing_zeros().max(2) as usize;
        Self {
            generator: UNetGeneratorConfig::new(in_channels, out_channels).with_depth(depth),
            discriminator: PatchDiscriminatorConfig::new(out_channels)
                .with_conditional_channels(in_channels)
                .with_layers(patch_layers(image_size)),
        }
    }

    /// pix2pix's training: the non-saturating losses (its D loss halved is the same optimum),
    /// the L1 loss with weight `l1_weight` beside the adversarial loss (`combine_adversarial_loss`
    /// with `weight_factor = 1 / l1_weight`: the paper's λ = 100), Adam 2e-4 (β1 0.5) for both,
    /// the alternating schedule, batch 1 as the paper.
    /// `l1_weight` 0 leaves the adversarial loss alone.
    pub fn train_config(l1_weight: f64) -> TrainConfig {
        let non_adversarial = (l1_weight > 0.0).then(|| NonAdversarialLossConfig::new(1.0 / l1_weight));
        Self::config_with(non_adversarial)
    }

    /// The L1-only baseline of the pix2pix paper's Table 1: [`train_config`](Self::train_config)
    /// with the L1 loss alone for the generator (`weight_factor` 0: the discriminator still
    /// trains, but the generator never sees it).
    pub fn l1_only_config() -> TrainConfig {
        Self::config_with(Some(NonAdversarialLossConfig::new(0.0)))
    }

    fn config_with(non_adversarial: Option<NonAdversarialLossConfig>) -> TrainConfig {
        TrainConfig::new()
            .with_batch_size(1)
            .with_generator_optimizer(OptimizerConfig::new(2e-4))
            .with_discriminator_optimizer(OptimizerConfig::new(2e-4))
            .with_loss(
                GanLossConfig::new()
                    .with_loss(GanLossKind::Modified)
                    .with_discriminator_label_smoothing(0.0)
                    .with_non_adversarial(non_adversarial),
            )
            .with_schedule(TrainSchedule::Alternating)
    }

    /// The step training the networks with `config`, the sample grid translating `samples`.
    pub fn step(
        &self,
        config: &TrainConfig,
        mut seeds: Seeds,
        samples: PairedBatch,
        device: &Device,
    ) -> Result<Pix2PixStep> {
        let device = device.clone().autodiff();
        let model = GanModel {
            generator: self.generator.init(&mut seeds.generator, &device)?,
            discriminator: self.discriminator.init(&mut seeds.discriminator, &device)?,
        };
        GanStep::new(config.clone(), model, PairedInputs { samples }, seeds.step, &device)
    }

    /// A run on the pairs of `data`, augmented by `augmentation`, in `logdir`: started, or
    /// resumed from its newest checkpoint as `resume` says (a `bool`: restart). The sample grid shows `grid_size`
    /// fixed pairs.
    pub fn trainer<'d, D: PairedDataset + ?Sized>(
        &self,
        config: TrainConfig,
        data: &'d D,
        augmentation: Augmentation,
        logdir: impl AsRef<std::path::Path>,
        resume: impl Into<Resume>,
        device: &Device,
    ) -> Result<Trainer<Pix2PixStep, PairedBatches<'d, D>>> {
        let batches = PairedBatches::new(data, config.batch_size, augmentation.clone())?;
        let plain = device.clone().without_autodiff();
        let samples = fixed_batch(PairedBatches::new(data, config.grid_size.min(data.len()), augmentation)?, &plain)?;
        let description = Recipe::Pix2Pix(self.clone()).description()?;
        Trainer::start_or_resume(logdir, description, config, resume, batches, |config, seeds| {
            self.step(config, seeds, samples, device)
        })
    }
}

/// CycleGAN: two ResNet generators and two PatchGANs (see the [module docs](self)).
///
/// ```
/// use rgan::recipes::image_to_image::CycleGanRecipe;
/// let recipe = CycleGanRecipe::for_images(3);
/// assert_eq!((recipe.cycle_consistency_loss_weight, recipe.generator.residual_blocks), (10.0, 6));
/// assert_eq!(CycleGanRecipe::train_config().replay_pool_size, 50);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CycleGanRecipe {
    /// Both generators.
    pub generator: ResnetGeneratorConfig,
    /// Both discriminators.
    pub discriminator: PatchDiscriminatorConfig,
    /// The cycle-consistency loss's weight. Default 10 (TF-GAN's).
    #[config(default = 10.0)]
    pub cycle_consistency_loss_weight: f64,
}

/// The step training a CycleGAN recipe.
pub type CycleGanRecipeStep = CycleGanStep<ResnetGenerator, PatchDiscriminator>;

impl CycleGanRecipe {
    /// TF-GAN's CycleGAN networks for images of `channels` channels (instance-norm PatchGANs).
    pub fn for_images(channels: usize) -> Self {
        Self::new(
            ResnetGeneratorConfig::new(channels, channels),
            PatchDiscriminatorConfig::new(channels).with_norm(PatchNorm::Instance),
        )
    }

    /// TF-GAN's CycleGAN example's training (§2.5): least-squares losses, a replay pool of 50
    /// per half (probability 0.5), Adam with G lr 2e-4 and D lr 1e-4 (β1 0.5), sequential 1:1
    /// updates, batch 1.
    pub fn train_config() -> TrainConfig {
        TrainConfig::new()
            .with_batch_size(1)
            .with_loss(GanLossConfig::new().with_loss(GanLossKind::LeastSquares))
            .with_replay_pool_size(50)
            .with_generator_optimizer(OptimizerConfig::new(2e-4))
            .with_discriminator_optimizer(OptimizerConfig::new(1e-4))
            .with_schedule(TrainSchedule::Sequential)
    }

    /// The step training the four networks with `config`, the sample grids translating
    /// `samples`.
    pub fn step(
        &self,
        config: &TrainConfig,
        mut seeds: Seeds,
        samples: UnpairedBatch,
        device: &Device,
    ) -> Result<CycleGanRecipeStep> {
        let device = device.clone().autodiff();
        let (g, d) = (&self.generator, &self.discriminator);
        let model = CycleGanModel {
            model_x2y: GanModel {
                generator: g.init(&mut seeds.generator.fork(), &device)?,
                discriminator: d.init(&mut seeds.discriminator.fork(), &device)?,
            },
            model_y2x: GanModel {
                generator: g.init(&mut seeds.generator.fork(), &device)?,
                discriminator: d.init(&mut seeds.discriminator.fork(), &device)?,
            },
        };
        CycleGanStep::new(config.clone(), self.cycle_consistency_loss_weight, model, samples, seeds.step, &device)
    }

    /// A run translating between the images of `x` and `y`, augmented by `augmentation`, in
    /// `logdir`: started, or resumed from its newest checkpoint as `resume` says (a `bool`: restart).
    pub fn trainer<'x, 'y, X: ImageDataset + ?Sized, Y: ImageDataset + ?Sized>(
        &self,
        config: TrainConfig,
        (x, y): (&'x X, &'y Y),
        augmentation: Augmentation,
        logdir: impl AsRef<std::path::Path>,
        resume: impl Into<Resume>,
        device: &Device,
    ) -> Result<Trainer<CycleGanRecipeStep, UnpairedBatches<'x, 'y, X, Y>>> {
        let batches = UnpairedBatches::new(x, y, config.batch_size, augmentation.clone())?;
        let count = config.grid_size.min(x.len()).min(y.len());
        let plain = device.clone().without_autodiff();
        let samples = fixed_batch(UnpairedBatches::new(x, y, count, augmentation)?, &plain)?;
        let description = Recipe::CycleGan(self.clone()).description()?;
        Trainer::start_or_resume(logdir, description, config, resume, batches, |config, seeds| {
            self.step(config, seeds, samples, device)
        })
    }
}

/// StarGAN: its generator and discriminator over the classes of a labelled data set as domains
/// (see the [module docs](self)).
///
/// ```
/// use rgan::recipes::image_to_image::StarGanRecipe;
/// let recipe = StarGanRecipe::for_images(3, 10, 32);
/// assert_eq!((recipe.discriminator.layers, recipe.loss.reconstruction_loss_weight), (5, 10.0));
/// let config = StarGanRecipe::train_config();
/// assert_eq!((config.discriminator_train_steps, config.loss.gradient_penalty_weight), (5, Some(10.0)));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct StarGanRecipe {
    /// The generator.
    pub generator: StarGanGeneratorConfig,
    /// The discriminator.
    pub discriminator: StarGanDiscriminatorConfig,
    /// The reconstruction and classification weights. Default TF-GAN's (10, 1).
    #[config(default = "StarGanLossConfig::new()")]
    pub loss: StarGanLossConfig,
}

/// The step training a StarGAN recipe.
pub type StarGanRecipeStep = StarGanStep<StarGanGenerator, StarGanDiscriminator>;

impl StarGanRecipe {
    /// StarGAN's networks for `domains` domains of square images of `channels` channels and side
    /// `image_size` (a discriminator as deep as the side allows, at most StarGAN's 6 layers,
    /// down to 1 × 1).
    pub fn for_images(channels: usize, domains: usize, image_size: usize) -> Self {
        let layers = (image_size.trailing_zeros() as usize).clamp(1, 6);
        Self::new(
            StarGanGeneratorConfig::new(channels, domains),
            StarGanDiscriminatorConfig::new(channels, domains, image_size).with_layers(layers),
        )
    }

    /// TF-GAN's StarGAN example's training (§2.5): Wasserstein losses with a gradient penalty of
    /// weight 10, Adam 1e-4 (β1 0.5, β2 0.999) for both, 5 discriminator updates per generator
    /// update (sequential), batch 6.
    pub fn train_config() -> TrainConfig {
        TrainConfig::new()
            .with_batch_size(6)
            .with_loss(stargan_adversarial_loss())
            .with_generator_optimizer(OptimizerConfig::new(1e-4))
            .with_discriminator_optimizer(OptimizerConfig::new(1e-4))
            .with_schedule(TrainSchedule::Sequential)
            .with_discriminator_train_steps(5)
    }

    /// The step training the networks with `config`, the sample grid translating `samples`.
    pub fn step(
        &self,
        config: &TrainConfig,
        mut seeds: Seeds,
        samples: Tensor<4>,
        device: &Device,
    ) -> Result<StarGanRecipeStep> {
        let device = device.clone().autodiff();
        if self.generator.domains != self.discriminator.domains {
            return Err(RganError::invalid(
                "discriminator.domains",
                format!("is {} but the generator's is {}", self.discriminator.domains, self.generator.domains),
            ));
        }
        let model = GanModel {
            generator: self.generator.init(&mut seeds.generator, &device)?,
            discriminator: self.discriminator.init(&mut seeds.discriminator, &device)?,
        };
        StarGanStep::new(config.clone(), self.loss.clone(), self.generator.domains, model, samples, seeds.step, &device)
    }

    /// A run on the labelled images of `data` (the labels are the domains), augmented by
    /// `augmentation`, in `logdir`: started, or resumed from its newest checkpoint as `resume`
    /// says (a `bool`: restart).
    pub fn trainer<'d, D: ImageDataset + ?Sized>(
        &self,
        config: TrainConfig,
        data: &'d D,
        augmentation: Augmentation,
        logdir: impl AsRef<std::path::Path>,
        resume: impl Into<Resume>,
        device: &Device,
    ) -> Result<Trainer<StarGanRecipeStep, ImageBatches<'d, D>>> {
        let batches = ImageBatches::with_augmentation(data, config.batch_size, augmentation.clone())?;
        let count = config.grid_size.min(data.len());
        let plain = device.clone().without_autodiff();
        let samples = fixed_batch(ImageBatches::with_augmentation(data, count, augmentation)?, &plain)?;
        let description = Recipe::StarGan(self.clone()).description()?;
        Trainer::start_or_resume(logdir, description, config, resume, batches, |config, seeds| {
            self.step(config, seeds, samples.images, device)
        })
    }
}
