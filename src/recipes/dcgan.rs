//! DCGAN networks (Radford, Metz & Chintala 2016; the architecture behind TF-GAN's CIFAR-10
//! example) for square images whose side is a power of two ≥ 16, with any number of channels.
//!
//! Generator: noise → dense to `4 × 4 × (base · 2^(k-1))` → BN → ReLU, then `k - 1` transposed
//! convolutions (kernel 4, stride 2, padding 1) each halving the channels and doubling the side,
//! with BN and ReLU, then a last transposed convolution to `channels` with tanh
//! (`k = log2(image_size / 4)`). Discriminator: the mirror image, convolutions (kernel 4,
//! stride 2, padding 1) from `base` channels doubling down to `4 × 4`, leaky ReLU 0.2, batch norm
//! on all but the first, then flatten and a dense layer to one logit.
//!
//! Kernels are drawn from N(0, 0.02²) as in the DCGAN paper (and TF-GAN's / slim's `dcgan`,
//! which use a truncated normal of the same deviation); biases are 0, batch-norm gammas 1 and
//! betas 0. Batch norm uses burn's defaults (momentum 0.1, ε 1e-5: PyTorch's DCGAN reference).

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Initializer, LeakyRelu, LeakyReluConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;

use super::Recipe;
use super::layers::batch_norm_act;
use crate::data::{ImageBatches, ImageDataset};
use crate::error::{Result, RganError};
use crate::model::{
    BatchNormMode, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GeneratorInputs, NoiseInputs,
    check_generated_shape, zeros,
};
use crate::ops::{Activation, batch_norm_layer, conv_transpose2d_layer, conv2d_layer, leaky_relu, linear_layer};
use crate::penalties::{CriticLayer, Flatten, GradientPenaltyOptions, SequentialCritic, wasserstein_gradient_penalty};
use crate::rng::Rng;
use crate::train::{GanLossConfig, GanLossKind, GanStep, OptimizerConfig, Resume, Seeds, TrainConfig, Trainer};

/// The number of stride-2 layers between 4×4 and `image_size` (`log2(image_size / 4)`), or an
/// error when `image_size` is not a power of two ≥ 16.
fn stages(image_size: usize) -> Result<usize> {
    if image_size < 16 || !image_size.is_power_of_two() {
        return Err(RganError::invalid(
            "image_size",
            format!("is {image_size}; the DCGAN networks take square images whose side is a power of two ≥ 16"),
        ));
    }
    Ok(image_size.trailing_zeros() as usize - 2)
}

fn check_common(channels: usize, base_filters: usize, init_std: f64) -> Result<()> {
    if channels == 0 {
        return Err(RganError::invalid("channels", "must be at least 1"));
    }
    if base_filters == 0 {
        return Err(RganError::invalid("base_filters", "must be at least 1"));
    }
    if !(init_std > 0.0 && init_std.is_finite()) {
        return Err(RganError::invalid("init_std", format!("is {init_std}; it must be a positive number")));
    }
    Ok(())
}

fn normal_param<const D: usize>(rng: &mut Rng, shape: [usize; D], std: f64, device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(rng.normal(shape, 0.0, std, device))
}

/// A 4×4, stride-2, padding-1 transposed convolution (doubles the side).
fn up_conv(rng: &mut Rng, [i, o]: [usize; 2], bias: bool, std: f64, device: &Device) -> ConvTranspose2d {
    let mut layer = ConvTranspose2dConfig::new([i, o], [4, 4])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = normal_param(rng, [i, o, 4, 4], std, device);
    layer.bias = bias.then(|| zeros([o], device));
    layer
}

/// A 4×4, stride-2, padding-1 convolution (halves the side).
fn down_conv(rng: &mut Rng, [i, o]: [usize; 2], bias: bool, std: f64, device: &Device) -> Conv2d {
    let mut layer = Conv2dConfig::new([i, o], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = normal_param(rng, [o, i, 4, 4], std, device);
    layer.bias = bias.then(|| zeros([o], device));
    layer
}

fn dense(rng: &mut Rng, [i, o]: [usize; 2], bias: bool, std: f64, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(i, o).with_bias(bias).with_initializer(Initializer::Zeros).init(device);
    layer.weight = normal_param(rng, [i, o], std, device);
    layer.bias = bias.then(|| zeros([o], device));
    layer
}

/// Configuration of [`DcganGenerator`], with documented defaults.
///
/// ```
/// let config = rgan::recipes::dcgan::DcganGeneratorConfig::new();
/// assert_eq!((config.noise_dims, config.image_size, config.channels, config.base_filters), (64, 64, 3, 64));
/// assert_eq!(config.init_std, 0.02);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct DcganGeneratorConfig {
    /// The size of the noise vector (the DCGAN paper uses 100). Default 64.
    #[config(default = 64)]
    pub noise_dims: usize,
    /// The side of the square images, a power of two ≥ 16. Default 64.
    #[config(default = 64)]
    pub image_size: usize,
    /// Image channels (1: grey, 3: RGB). Default 3.
    #[config(default = 3)]
    pub channels: usize,
    /// Channels of the last hidden layer (the DCGAN paper's `ngf`); the 4×4 layer has
    /// `base_filters · image_size / 8`. Default 64.
    #[config(default = 64)]
    pub base_filters: usize,
    /// Standard deviation of the N(0, σ²) kernels (the DCGAN paper's 0.02). Default 0.02.
    #[config(default = 0.02)]
    pub init_std: f64,
}

/// A transposed convolution, batch norm and ReLU.
#[derive(Module, Debug)]
struct UpBlock {
    deconv: ConvTranspose2d,
    bn: BatchNorm,
}

/// The DCGAN generator: noise `[N, noise_dims]` → images `[N, channels, image_size, image_size]`
/// in `[-1, 1]` (see the [module documentation](self) for the layers).
///
/// ```
/// use burn::prelude::*;
/// use rgan::recipes::dcgan::DcganGeneratorConfig;
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let g = DcganGeneratorConfig::new().with_image_size(32).with_base_filters(8).init(&mut rng, &device).unwrap();
/// let images = g.forward(rng.normal([2, 64], 0.0, 1.0, &device)).unwrap();
/// assert_eq!(images.dims(), [2, 3, 32, 32]);
/// ```
#[derive(Module, Debug)]
pub struct DcganGenerator {
    project: Linear,
    project_bn: BatchNorm,
    blocks: Vec<UpBlock>,
    output: ConvTranspose2d,
    noise_dims: usize,
    first_channels: usize,
}

impl DcganGeneratorConfig {
    /// Builds the generator, drawing its kernels from `rng`.
    ///
    /// Errors if `image_size` is not a power of two ≥ 16, or `noise_dims`, `channels` or
    /// `base_filters` is 0, or `init_std` is not positive.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let config = rgan::recipes::dcgan::DcganGeneratorConfig::new().with_image_size(48);
    /// assert!(config.init(&mut rng, &Device::default()).unwrap_err().to_string().contains("power of two"));
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<DcganGenerator> {
        let k = stages(self.image_size)?;
        check_common(self.channels, self.base_filters, self.init_std)?;
        if self.noise_dims == 0 {
            return Err(RganError::invalid("noise_dims", "must be at least 1"));
        }
        let std = self.init_std;
        let first_channels = self.base_filters << (k - 1);
        let project = dense(rng, [self.noise_dims, 16 * first_channels], false, std, device);
        let project_bn = BatchNormConfig::new(first_channels).init(device);
        let blocks = (1..k)
            .map(|i| {
                let (c_in, c_out) = (self.base_filters << (k - i), self.base_filters << (k - 1 - i));
                UpBlock {
                    deconv: up_conv(rng, [c_in, c_out], false, std, device),
                    bn: BatchNormConfig::new(c_out).init(device),
                }
            })
            .collect();
        let output = up_conv(rng, [self.base_filters, self.channels], true, std, device);
        Ok(DcganGenerator { project, project_bn, blocks, output, noise_dims: self.noise_dims, first_channels })
    }
}

impl DcganGenerator {
    /// Generates images from noise `[N, noise_dims]` with the batch-norm layers' own behaviour
    /// ([`BatchNormMode::Layer`]: batch statistics on an autodiff device, moving averages
    /// otherwise).
    pub fn forward(&self, noise: Tensor<2>) -> Result<Tensor<4>> {
        self.forward_with(noise, BatchNormMode::Layer)
    }

    /// Generates images from noise with the given batch-norm behaviour. Errors (naming the
    /// shape) when the noise is not `[N ≥ 1, noise_dims]`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::BatchNormMode;
    /// use rgan::recipes::dcgan::DcganGeneratorConfig;
    /// let device = Device::default();
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let g = DcganGeneratorConfig::new().with_image_size(16).with_channels(1).init(&mut rng, &device).unwrap();
    /// let x = g.forward_with(rng.normal([3, 64], 0.0, 1.0, &device), BatchNormMode::BatchStatistics).unwrap();
    /// assert!(x.abs().max().into_scalar::<f32>() <= 1.0);
    /// assert!(g.forward(Tensor::zeros([3, 10], &device)).unwrap_err().to_string().contains("[3, 10]"));
    /// ```
    pub fn forward_with(&self, noise: Tensor<2>, mode: BatchNormMode) -> Result<Tensor<4>> {
        let [n, d] = noise.dims();
        if d != self.noise_dims || n == 0 {
            return Err(RganError::shape(
                "noise",
                &[n, d],
                format!("but the DCGAN generator takes [batch ≥ 1, noise_dims = {}]", self.noise_dims),
            ));
        }
        let x = linear_layer(&self.project, noise).reshape([n, self.first_channels, 4, 4]);
        let mut x = batch_norm_act(&self.project_bn, x, mode, Activation::Relu);
        for block in &self.blocks {
            x = batch_norm_act(&block.bn, conv_transpose2d_layer(&block.deconv, x), mode, Activation::Relu);
        }
        Ok(conv_transpose2d_layer(&self.output, x).tanh())
    }

    /// The size of the noise vector it takes.
    pub fn noise_dims(&self) -> usize {
        self.noise_dims
    }
}

impl GanGenerator for DcganGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward(inputs.noise.clone())
    }

    fn sample(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward_with(inputs.noise.clone(), BatchNormMode::BatchStatistics)
    }

    fn generate_with(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        self.forward_with(inputs.noise.clone(), mode)
    }
}

/// Configuration of [`DcganDiscriminator`], with documented defaults.
///
/// ```
/// let config = rgan::recipes::dcgan::DcganDiscriminatorConfig::new();
/// assert_eq!((config.image_size, config.channels, config.base_filters), (64, 3, 64));
/// assert_eq!((config.leaky_relu_slope, config.batch_norm, config.init_std), (0.2, true, 0.02));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct DcganDiscriminatorConfig {
    /// The side of the square images, a power of two ≥ 16. Default 64.
    #[config(default = 64)]
    pub image_size: usize,
    /// Image channels. Default 3.
    #[config(default = 3)]
    pub channels: usize,
    /// Channels of the first convolution (the DCGAN paper's `ndf`), doubled at each following
    /// one. Default 64.
    #[config(default = 64)]
    pub base_filters: usize,
    /// The negative slope of the leaky ReLUs. Default 0.2.
    #[config(default = 0.2)]
    pub leaky_relu_slope: f64,
    /// Batch norm after every convolution but the first (DCGAN). WGAN-GP's paper drops it from
    /// the critic; the gradient penalty is exact either way. Default true.
    #[config(default = true)]
    pub batch_norm: bool,
    /// Standard deviation of the N(0, σ²) kernels. Default 0.02.
    #[config(default = 0.02)]
    pub init_std: f64,
}

/// A convolution and an optional batch norm (the leaky ReLU is shared).
#[derive(Module, Debug)]
struct DownBlock {
    conv: Conv2d,
    bn: Option<BatchNorm>,
}

/// The DCGAN discriminator: images `[N, channels, image_size, image_size]` → logits `[N, 1]`
/// (see the [module documentation](self) for the layers). It is a
/// [`SequentialCritic`], so its Wasserstein gradient penalty is exact.
///
/// ```
/// use burn::prelude::*;
/// use rgan::recipes::dcgan::DcganDiscriminatorConfig;
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let d = DcganDiscriminatorConfig::new().with_image_size(32).with_base_filters(8).init(&mut rng, &device).unwrap();
/// let logits = d.forward(rng.uniform([2, 3, 32, 32], -1.0, 1.0, &device)).unwrap();
/// assert_eq!(logits.dims(), [2, 1]);
/// assert!(d.forward(Tensor::zeros([2, 1, 32, 32], &device)).unwrap_err().to_string().contains("[2, 1, 32, 32]"));
/// ```
#[derive(Module, Debug)]
pub struct DcganDiscriminator {
    blocks: Vec<DownBlock>,
    act: LeakyRelu,
    output: Linear,
    image_size: usize,
    channels: usize,
}

impl DcganDiscriminatorConfig {
    /// Builds the discriminator, drawing its kernels from `rng`.
    ///
    /// Errors if `image_size` is not a power of two ≥ 16, `channels` or `base_filters` is 0, or
    /// `init_std` is not positive.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let config = rgan::recipes::dcgan::DcganDiscriminatorConfig::new().with_image_size(8);
    /// assert!(config.init(&mut rng, &Device::default()).is_err());
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<DcganDiscriminator> {
        let k = stages(self.image_size)?;
        check_common(self.channels, self.base_filters, self.init_std)?;
        let std = self.init_std;
        let blocks = (0..k)
            .map(|i| {
                let c_in = if i == 0 { self.channels } else { self.base_filters << (i - 1) };
                let c_out = self.base_filters << i;
                let normalized = i > 0 && self.batch_norm;
                DownBlock {
                    conv: down_conv(rng, [c_in, c_out], !normalized, std, device),
                    bn: normalized.then(|| BatchNormConfig::new(c_out).init(device)),
                }
            })
            .collect();
        let output = dense(rng, [16 * (self.base_filters << (k - 1)), 1], true, std, device);
        Ok(DcganDiscriminator {
            blocks,
            act: LeakyReluConfig::new().with_negative_slope(self.leaky_relu_slope).init(),
            output,
            image_size: self.image_size,
            channels: self.channels,
        })
    }
}

impl DcganDiscriminator {
    /// The logits `[N, 1]` of images `[N, channels, image_size, image_size]`; errors (naming
    /// the shape) on any other shape.
    pub fn forward(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        self.check_images(&images)?;
        let mut x = images;
        let slope = self.act.negative_slope;
        for block in &self.blocks {
            x = conv2d_layer(&block.conv, x);
            x = match &block.bn {
                Some(bn) => batch_norm_layer(bn, x, Activation::LeakyRelu(slope)),
                None => leaky_relu(x, slope),
            };
        }
        let [n, c, h, w] = x.dims();
        Ok(linear_layer(&self.output, x.reshape([n, c * h * w])))
    }

    fn check_images(&self, images: &Tensor<4>) -> Result<()> {
        let [n, c, h, w] = images.dims();
        let s = self.image_size;
        if n == 0 || c != self.channels || h != s || w != s {
            return Err(RganError::shape(
                "images",
                &[n, c, h, w],
                format!("but the DCGAN discriminator takes [batch ≥ 1, {}, {s}, {s}]", self.channels),
            ));
        }
        Ok(())
    }
}

impl SequentialCritic for DcganDiscriminator {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        let mut layers: Vec<&dyn CriticLayer> = Vec::new();
        for block in &self.blocks {
            layers.push(&block.conv);
            if let Some(bn) = &block.bn {
                layers.push(bn);
            }
            layers.push(&self.act);
        }
        layers.extend([&Flatten as &dyn CriticLayer, &self.output]);
        layers
    }
}

impl GanDiscriminator for DcganDiscriminator {
    fn discriminate(&self, data: Tensor<4>, _inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        Ok(DiscriminatorOutput::logits(self.forward(data)?))
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        _inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        self.check_images(&real_data)?;
        check_generated_shape(&real_data, &generated_data)?;
        Ok(wasserstein_gradient_penalty(self, real_data, generated_data, None, rng, options)?.penalty)
    }
}

/// Both DCGAN networks' configurations: the recipe `rgan train images` trains, and what its
/// checkpoints record to rebuild them.
///
/// ```
/// let networks = rgan::recipes::dcgan::DcganNetworks::for_images(32, 1, 64);
/// assert_eq!((networks.generator.image_size, networks.discriminator.channels), (32, 1));
/// assert_eq!(networks.generator.noise_dims, 64);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct DcganNetworks {
    /// The generator.
    pub generator: DcganGeneratorConfig,
    /// The discriminator.
    pub discriminator: DcganDiscriminatorConfig,
}

impl DcganNetworks {
    /// Generator and discriminator with the default widths for `image_size × image_size` images
    /// of `channels` channels and noise of `noise_dims`.
    pub fn for_images(image_size: usize, channels: usize, noise_dims: usize) -> Self {
        Self {
            generator: DcganGeneratorConfig::new()
                .with_image_size(image_size)
                .with_channels(channels)
                .with_noise_dims(noise_dims),
            discriminator: DcganDiscriminatorConfig::new().with_image_size(image_size).with_channels(channels),
        }
    }

    /// Builds both networks, the generator first, each from its own fork of `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let networks = rgan::recipes::dcgan::DcganNetworks::for_images(16, 3, 8);
    /// let model = networks.init(&mut rgan::rng::Rng::seed_from_u64(0), &Device::default()).unwrap();
    /// assert_eq!(model.generator.noise_dims(), 8);
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<GanModel<DcganGenerator, DcganDiscriminator>> {
        let (g, d) = (&self.generator, &self.discriminator);
        if (g.image_size, g.channels) != (d.image_size, d.channels) {
            return Err(RganError::invalid(
                "dcgan",
                format!(
                    "the generator makes {}×{}×{} images but the discriminator takes {}×{}×{}",
                    g.channels, g.image_size, g.image_size, d.channels, d.image_size, d.image_size
                ),
            ));
        }
        Ok(GanModel { generator: g.init(&mut rng.fork(), device)?, discriminator: d.init(&mut rng.fork(), device)? })
    }

    /// The DCGAN paper's training setup: Adam(2e-4, β1 0.5) for both networks, the modified
    /// (non-saturating) losses, batch 64, an 8 × 8 sample grid.
    ///
    /// ```
    /// use rgan::train::GanLossKind;
    /// let config = rgan::recipes::dcgan::DcganNetworks::train_config();
    /// assert_eq!((config.loss.loss, config.batch_size), (GanLossKind::Modified, 64));
    /// assert_eq!(config.discriminator_optimizer.learning_rate, 2e-4);
    /// ```
    pub fn train_config() -> TrainConfig {
        TrainConfig::new()
            .with_batch_size(64)
            .with_grid_size(8)
            .with_generator_optimizer(OptimizerConfig::new(2e-4))
            .with_discriminator_optimizer(OptimizerConfig::new(2e-4))
            .with_loss(GanLossConfig::new().with_loss(GanLossKind::Modified))
    }

    /// The generator's inputs: noise of its size.
    pub fn noise_inputs(&self) -> NoiseInputs {
        NoiseInputs::new(self.generator.noise_dims)
    }

    /// The step training the networks with `config`, drawn from the run's seeds.
    pub fn step(&self, config: &TrainConfig, mut seeds: Seeds, device: &Device) -> Result<DcganStep> {
        let device = device.clone().autodiff();
        let (g, d) = (&self.generator, &self.discriminator);
        if (g.image_size, g.channels) != (d.image_size, d.channels) {
            return Err(RganError::invalid(
                "dcgan",
                format!(
                    "the generator makes {}×{}×{} images but the discriminator takes {}×{}×{}",
                    g.channels, g.image_size, g.image_size, d.channels, d.image_size, d.image_size
                ),
            ));
        }
        let model = GanModel {
            generator: g.init(&mut seeds.generator, &device)?,
            discriminator: d.init(&mut seeds.discriminator, &device)?,
        };
        GanStep::new(config.clone(), model, self.noise_inputs(), seeds.step, &device)
    }

    /// A run of the networks on `data` (images of the generator's size and channels) in
    /// `logdir`: started, or resumed from its newest checkpoint as `resume` says (a `bool`: restart).
    pub fn trainer<'d, D: ImageDataset + ?Sized>(
        &self,
        config: TrainConfig,
        data: &'d D,
        logdir: impl AsRef<std::path::Path>,
        resume: impl Into<Resume>,
        device: &Device,
    ) -> Result<Trainer<DcganStep, ImageBatches<'d, D>>> {
        let g = &self.generator;
        let expected = [g.channels, g.image_size, g.image_size];
        if data.image_shape() != expected {
            return Err(RganError::shape(
                "data",
                &data.image_shape(),
                format!("(one image) but the DCGAN networks make and take {expected:?} images"),
            ));
        }
        let batches = ImageBatches::new(data, config.batch_size)?;
        let description = Recipe::Dcgan(self.clone()).description()?;
        Trainer::start_or_resume(logdir, description, config, resume, batches, |config, seeds| {
            self.step(config, seeds, device)
        })
    }
}

/// The step that trains DCGAN networks.
pub type DcganStep = GanStep<DcganGenerator, DcganDiscriminator, NoiseInputs>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GanModel;

    fn small(size: usize, channels: usize) -> DcganNetworks {
        let mut networks = DcganNetworks::for_images(size, channels, 16);
        networks.generator.base_filters = 4;
        networks.discriminator.base_filters = 4;
        networks
    }

    #[test]
    fn shapes_for_sizes_and_channels() {
        let device = Device::default();
        for (size, channels) in [(16, 1), (32, 3), (64, 3)] {
            let model = small(size, channels).init(&mut Rng::seed_from_u64(0), &device).unwrap();
            let noise = Rng::seed_from_u64(1).normal([2, 16], 0.0, 1.0, &device);
            let images = model.generator.forward_with(noise, BatchNormMode::BatchStatistics).unwrap();
            assert_eq!(images.dims(), [2, channels, size, size]);
            assert_eq!(model.discriminator.forward(images).unwrap().dims(), [2, 1]);
            // k = log2(size / 4) stages each way.
            let k = size.trailing_zeros() as usize - 2;
            assert_eq!((model.generator.blocks.len() + 1, model.discriminator.blocks.len()), (k, k));
        }
    }

    #[test]
    fn layer_widths_follow_dcgan() {
        let device = Device::default();
        let model = DcganNetworks::for_images(64, 3, 100).init(&mut Rng::seed_from_u64(0), &device).unwrap();
        // 4×4×512 → 8×8×256 → 16×16×128 → 32×32×64 → 64×64×3.
        assert_eq!(model.generator.project.weight.dims(), [100, 16 * 512]);
        let widths: Vec<[usize; 4]> = model.generator.blocks.iter().map(|b| b.deconv.weight.dims()).collect();
        assert_eq!(widths, vec![[512, 256, 4, 4], [256, 128, 4, 4], [128, 64, 4, 4]]);
        assert_eq!(model.generator.output.weight.dims(), [64, 3, 4, 4]);
        // 3 → 64 (no BN) → 128 → 256 → 512 at 4×4 → 1.
        let d = &model.discriminator;
        let widths: Vec<[usize; 4]> = d.blocks.iter().map(|b| b.conv.weight.dims()).collect();
        assert_eq!(widths, vec![[64, 3, 4, 4], [128, 64, 4, 4], [256, 128, 4, 4], [512, 256, 4, 4]]);
        assert!(d.blocks[0].bn.is_none() && d.blocks[1..].iter().all(|b| b.bn.is_some()));
        assert_eq!(d.output.weight.dims(), [16 * 512, 1]);
        let std = model.generator.project.weight.val().square().mean().sqrt().into_scalar::<f32>();
        assert!((std - 0.02).abs() < 1e-3, "kernel std {std}");
    }

    #[test]
    fn same_seed_gives_same_weights() {
        let device = Device::default();
        let a = small(32, 3).init(&mut Rng::seed_from_u64(7), &device).unwrap();
        let b = small(32, 3).init(&mut Rng::seed_from_u64(7), &device).unwrap();
        let c = small(32, 3).init(&mut Rng::seed_from_u64(8), &device).unwrap();
        assert_eq!(a.generator.project.weight.val().to_data(), b.generator.project.weight.val().to_data());
        assert_eq!(a.discriminator.output.weight.val().to_data(), b.discriminator.output.weight.val().to_data());
        assert_ne!(a.generator.output.weight.val().to_data(), c.generator.output.weight.val().to_data());
    }

    #[test]
    fn bad_sizes_and_shapes_are_errors() {
        let device = Device::default();
        let mut rng = Rng::seed_from_u64(0);
        for size in [0, 8, 24, 48] {
            assert!(DcganGeneratorConfig::new().with_image_size(size).init(&mut rng, &device).is_err());
            assert!(DcganDiscriminatorConfig::new().with_image_size(size).init(&mut rng, &device).is_err());
        }
        assert!(DcganGeneratorConfig::new().with_noise_dims(0).init(&mut rng, &device).is_err());
        assert!(DcganDiscriminatorConfig::new().with_channels(0).init(&mut rng, &device).is_err());
        let mut mismatched = small(16, 3);
        mismatched.discriminator.image_size = 32;
        assert!(mismatched.init(&mut rng, &device).is_err());
        let model = small(16, 3).init(&mut rng, &device).unwrap();
        let inputs = GeneratorInputs::noise(Tensor::zeros([2, 16], &device));
        assert!(model.discriminator.discriminate(Tensor::zeros([2, 3, 32, 32], &device), &inputs).is_err());
        assert!(model.generator.generate(&GeneratorInputs::noise(Tensor::zeros([2, 15], &device))).is_err());
    }

    #[test]
    fn gradient_penalty_runs_and_reaches_the_discriminator() {
        let device = Device::default().autodiff();
        let mut rng = Rng::seed_from_u64(3);
        for batch_norm in [true, false] {
            let mut networks = small(16, 3);
            networks.discriminator.batch_norm = batch_norm;
            let model: GanModel<_, _> = networks.init(&mut rng, &device).unwrap();
            let real = rng.uniform([4, 3, 16, 16], -1.0, 1.0, &device);
            let inputs = GeneratorInputs::noise(rng.normal([4, 16], 0.0, 1.0, &device));
            let fake = model.generator.generate(&inputs).unwrap();
            let options = GradientPenaltyOptions::default();
            let gp = model.discriminator.gradient_penalty(real, fake, &inputs, &mut rng, &options).unwrap();
            let value = gp.clone().into_scalar::<f32>();
            assert!(value.is_finite() && value >= 0.0, "penalty {value}");
            let grads = gp.backward();
            assert!(model.discriminator.output.weight.val().grad(&grads).is_some());
            assert!(model.discriminator.blocks[0].conv.weight.val().grad(&grads).is_some());
        }
    }
}
