//! TF-GAN's CIFAR-10 DCGAN (`examples/cifar`, reference §2.3), unconditional and conditional.
//!
//! Generator: noise (64) → dense 4096 → BN → ReLU → reshape 4×4×256 → transposed conv 128 (k5, s2)
//! → BN → ReLU → transposed conv 64 (k4, s2) → BN → ReLU → transposed conv 3 (k4, s2) → tanh:
//! 32×32×3. Discriminator: conv 64 (k5, s2) → leaky ReLU 0.2 → conv 128 (k5, s2) → BN → leaky ReLU
//! → conv 256 (k5, s2) → BN → leaky ReLU → flatten (4·4·256) → dense 1. Every kernel is drawn from
//! a normal of deviation 0.02 truncated at two deviations (TF's `truncated_normal`), biases are 0;
//! batch norm has TF's momentum 0.9 (burn's 0.1) and ε 1e-5; layers followed by batch norm have no
//! bias. Convolutions use TF's `padding='same'` (for a 5×5 kernel at stride 2 that pads one pixel
//! before and two after, unlike PyTorch's symmetric padding), and the transposed convolutions
//! are exactly TF's `conv2d_transpose` with `'same'`: the input gradient of such a convolution
//! ([`conv2d_input_gradient`]).
//!
//! Training (TF-GAN's `train.py`): batch 32, Adam 2e-4 with β1 0.5 for both networks, the
//! Wasserstein losses with a gradient penalty of weight 1.0 (rgan's exact penalty), sequential
//! updates, noise 64; data scaled `(x − 128) / 128` ([`Cifar10`](crate::data::Cifar10)).
//!
//! **Conditional model.** TF-GAN's README shows a conditional CIFAR-10 model but its code is gone.
//! rgan conditions both networks as TF-GAN's conditional MNIST networks do, with
//! `condition_tensor_from_onehot` (a learned 256-wide label embedding projected to the tensor's
//! size and added): the generator after its dense 4096 layer (after batch norm and ReLU, before
//! the reshape), the discriminator on its flattened 4096 features before the last dense layer.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Initializer, LeakyRelu, LeakyReluConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;

use super::Recipe;
use super::layers::{batch_norm_act, onehot_conditioning};
use crate::data::ImageBatches;
use crate::data::ImageDataset;
use crate::error::{Result, RganError};
use crate::features::ConditionTensorFromOnehot;
use crate::model::{
    BatchNormMode, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GeneratorInputs, NoiseInputs,
    check_generated_shape, zeros,
};
use crate::ops::{Activation, batch_norm_layer, conv2d_input_gradient, conv2d_layer, leaky_relu, linear_layer};
use crate::penalties::{CriticLayer, Flatten, GradientPenaltyOptions, SequentialCritic, wasserstein_gradient_penalty};
use crate::rng::Rng;
use crate::train::{
    GanLossConfig, GanLossKind, GanStep, OptimizerConfig, Resume, Seeds, TrainConfig, TrainSchedule, Trainer,
};

/// CIFAR-10's classes, the conditional model's labels.
const CLASSES: usize = 10;

/// Width of the label embedding of the conditional networks (TF-GAN's default `embedding_size`).
const EMBEDDING: usize = 256;

/// TF's batch-norm momentum 0.9 (the weight of the old moving average) is burn's 0.1 (the weight
/// of the new batch's statistics).
fn batch_norm(features: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(features).with_momentum(0.1).with_epsilon(1e-5).init(device)
}

fn dense(rng: &mut Rng, [inputs, outputs]: [usize; 2], bias: bool, std: f64, device: &Device) -> Linear {
    let mut layer =
        LinearConfig::new(inputs, outputs).with_bias(bias).with_initializer(Initializer::Zeros).init(device);
    layer.weight = Param::from_tensor(rng.truncated_normal([inputs, outputs], 0.0, std, device));
    layer.bias = bias.then(|| zeros([outputs], device));
    layer
}

/// A convolution, kernel 5, stride 2, TF's `'same'` padding.
fn down_conv(rng: &mut Rng, [c_in, c_out]: [usize; 2], bias: bool, std: f64, device: &Device) -> Conv2d {
    let mut layer = Conv2dConfig::new([c_in, c_out], [5, 5])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Same)
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = Param::from_tensor(rng.truncated_normal([c_out, c_in, 5, 5], 0.0, std, device));
    layer.bias = bias.then(|| zeros([c_out], device));
    layer
}

/// TF's `conv2d_transpose` with stride 2 and `padding='same'`: output side twice the input's.
#[derive(Module, Debug)]
pub struct SameConvTranspose2d {
    /// `[input channels, output channels, k, k]` (burn's transposed-convolution layout).
    pub weight: Param<Tensor<4>>,
    /// One per output channel, or none (before batch norm).
    pub bias: Option<Param<Tensor<1>>>,
}

/// TF's `'same'` padding `(before, after)` of a stride-2 convolution from `big` to `big / 2`.
fn same_pair(big: usize, kernel: usize) -> (usize, usize) {
    let total = ((big.div_ceil(2) - 1) * 2 + kernel).saturating_sub(big);
    (total / 2, total - total / 2)
}

impl SameConvTranspose2d {
    fn init(rng: &mut Rng, [c_in, c_out]: [usize; 2], kernel: usize, bias: bool, std: f64, device: &Device) -> Self {
        Self {
            weight: Param::from_tensor(rng.truncated_normal([c_in, c_out, kernel, kernel], 0.0, std, device)),
            bias: bias.then(|| zeros([c_out], device)),
        }
    }

    /// `[N, c_in, h, w]` → `[N, c_out, 2h, 2w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let [_, c_out, kh, kw] = self.weight.dims();
        let (big_h, big_w) = (2 * h, 2 * w);
        let y = conv2d_input_gradient(
            x,
            self.weight.val(),
            [2, 2],
            [same_pair(big_h, kh), same_pair(big_w, kw)],
            [big_h, big_w],
        );
        match &self.bias {
            Some(bias) => y + bias.val().reshape([1, c_out, 1, 1]),
            None => y,
        }
    }
}

/// Configuration of [`CifarGenerator`], with TF-GAN's settings.
///
/// ```
/// let config = rgan::recipes::cifar::CifarGeneratorConfig::new();
/// assert_eq!((config.noise_dims, config.num_classes, config.init_std), (64, 0, 0.02));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CifarGeneratorConfig {
    /// The size of the noise vector. Default 64.
    #[config(default = 64)]
    pub noise_dims: usize,
    /// Classes of the one-hot labels it is conditioned on (0: unconditional). Default 0.
    #[config(default = 0)]
    pub num_classes: usize,
    /// Deviation of the truncated-normal kernels. Default 0.02.
    #[config(default = 0.02)]
    pub init_std: f64,
}

/// TF-GAN's CIFAR-10 generator: noise `[N, 64]` (and one-hot labels when conditional) → images
/// `[N, 3, 32, 32]` in `[-1, 1]` (see the [module documentation](self)).
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanGenerator, GeneratorInputs};
/// use rgan::recipes::cifar::CifarGeneratorConfig;
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let g = CifarGeneratorConfig::new().init(&mut rng, &device).unwrap();
/// let images = g.generate(&GeneratorInputs::noise(rng.normal([2, 64], 0.0, 1.0, &device))).unwrap();
/// assert_eq!(images.dims(), [2, 3, 32, 32]);
/// ```
#[derive(Module, Debug)]
pub struct CifarGenerator {
    project: Linear,
    project_bn: BatchNorm,
    condition: Option<ConditionTensorFromOnehot>,
    deconv1: SameConvTranspose2d,
    bn1: BatchNorm,
    deconv2: SameConvTranspose2d,
    bn2: BatchNorm,
    output: SameConvTranspose2d,
    noise_dims: usize,
}

impl CifarGeneratorConfig {
    /// Builds the generator, drawing its kernels from `rng`. Errors when `noise_dims` is 0 or
    /// `init_std` is not positive.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<CifarGenerator> {
        if self.noise_dims == 0 {
            return Err(RganError::invalid("noise_dims", "must be at least 1"));
        }
        check_std(self.init_std)?;
        let std = self.init_std;
        let project = dense(rng, [self.noise_dims, 4096], false, std, device);
        let condition =
            (self.num_classes > 0).then(|| onehot_conditioning(rng, self.num_classes, 4096, EMBEDDING, device));
        Ok(CifarGenerator {
            project,
            project_bn: batch_norm(4096, device),
            condition,
            deconv1: SameConvTranspose2d::init(rng, [256, 128], 5, false, std, device),
            bn1: batch_norm(128, device),
            deconv2: SameConvTranspose2d::init(rng, [128, 64], 4, false, std, device),
            bn2: batch_norm(64, device),
            output: SameConvTranspose2d::init(rng, [64, 3], 4, true, std, device),
            noise_dims: self.noise_dims,
        })
    }
}

fn check_std(std: f64) -> Result<()> {
    if !(std > 0.0 && std.is_finite()) {
        return Err(RganError::invalid("init_std", format!("is {std}; it must be a positive number")));
    }
    Ok(())
}

impl CifarGenerator {
    /// Generates images with the given batch-norm behaviour from `inputs` (noise `[N, 64]`, and
    /// one-hot labels `[N, 10]` for the conditional generator); errors name a wrong shape or
    /// missing labels.
    pub fn forward_with(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        let noise = inputs.noise.clone();
        let [n, d] = noise.dims();
        if d != self.noise_dims || n == 0 {
            return Err(RganError::shape(
                "noise",
                &[n, d],
                format!("but the CIFAR-10 generator takes [batch ≥ 1, noise_dims = {}]", self.noise_dims),
            ));
        }
        let mut x = batch_norm_act(&self.project_bn, linear_layer(&self.project, noise), mode, Activation::Relu);
        if let Some(condition) = &self.condition {
            x = condition.forward(x, inputs.labels("the conditional CIFAR-10 generator")?)?;
        }
        let x = x.reshape([n, 256, 4, 4]);
        let x = batch_norm_act(&self.bn1, self.deconv1.forward(x), mode, Activation::Relu);
        let x = batch_norm_act(&self.bn2, self.deconv2.forward(x), mode, Activation::Relu);
        Ok(self.output.forward(x).tanh())
    }

    /// The size of the noise vector it takes.
    pub fn noise_dims(&self) -> usize {
        self.noise_dims
    }
}

impl GanGenerator for CifarGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward_with(inputs, BatchNormMode::Layer)
    }

    fn sample(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward_with(inputs, BatchNormMode::BatchStatistics)
    }

    fn generate_with(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        self.forward_with(inputs, mode)
    }
}

/// Configuration of [`CifarDiscriminator`], with TF-GAN's settings.
///
/// ```
/// let config = rgan::recipes::cifar::CifarDiscriminatorConfig::new();
/// assert_eq!((config.num_classes, config.leaky_relu_slope, config.init_std), (0, 0.2, 0.02));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CifarDiscriminatorConfig {
    /// Classes of the one-hot labels it is conditioned on (0: unconditional). Default 0.
    #[config(default = 0)]
    pub num_classes: usize,
    /// The negative slope of the leaky ReLUs. Default 0.2.
    #[config(default = 0.2)]
    pub leaky_relu_slope: f64,
    /// Deviation of the truncated-normal kernels. Default 0.02.
    #[config(default = 0.02)]
    pub init_std: f64,
}

/// TF-GAN's CIFAR-10 discriminator: images `[N, 3, 32, 32]` → logits `[N, 1]` (see the
/// [module documentation](self)). It is a [`SequentialCritic`], so its gradient penalty is exact.
///
/// ```
/// use burn::prelude::*;
/// use rgan::recipes::cifar::CifarDiscriminatorConfig;
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let d = CifarDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
/// assert_eq!(d.forward(rng.uniform([2, 3, 32, 32], -1.0, 1.0, &device)).unwrap().dims(), [2, 1]);
/// assert!(d.forward(Tensor::zeros([2, 1, 32, 32], &device)).unwrap_err().to_string().contains("[2, 1, 32, 32]"));
/// ```
#[derive(Module, Debug)]
pub struct CifarDiscriminator {
    conv1: Conv2d,
    act: LeakyRelu,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Conv2d,
    bn3: BatchNorm,
    condition: Option<ConditionTensorFromOnehot>,
    output: Linear,
}

impl CifarDiscriminatorConfig {
    /// Builds the discriminator, drawing its kernels from `rng`. Errors when `init_std` is not
    /// positive.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<CifarDiscriminator> {
        check_std(self.init_std)?;
        let std = self.init_std;
        let conv1 = down_conv(rng, [3, 64], true, std, device);
        let conv2 = down_conv(rng, [64, 128], false, std, device);
        let conv3 = down_conv(rng, [128, 256], false, std, device);
        let condition =
            (self.num_classes > 0).then(|| onehot_conditioning(rng, self.num_classes, 4096, EMBEDDING, device));
        Ok(CifarDiscriminator {
            conv1,
            act: LeakyReluConfig::new().with_negative_slope(self.leaky_relu_slope).init(),
            conv2,
            bn2: batch_norm(128, device),
            conv3,
            bn3: batch_norm(256, device),
            condition,
            output: dense(rng, [4096, 1], true, std, device),
        })
    }
}

impl CifarDiscriminator {
    /// The logits `[N, 1]` of images `[N, 3, 32, 32]` (an unconditional discriminator).
    pub fn forward(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        self.forward_labels(images, None)
    }

    fn check_images(images: &Tensor<4>) -> Result<()> {
        let [n, c, h, w] = images.dims();
        if n == 0 || c != 3 || h != 32 || w != 32 {
            return Err(RganError::shape(
                "images",
                &[n, c, h, w],
                "but the CIFAR-10 discriminator takes [batch ≥ 1, 3, 32, 32]",
            ));
        }
        Ok(())
    }

    fn forward_labels(&self, images: Tensor<4>, labels: Option<Tensor<2>>) -> Result<Tensor<2>> {
        Self::check_images(&images)?;
        let n = images.dims()[0];
        let slope = self.act.negative_slope;
        let x = leaky_relu(conv2d_layer(&self.conv1, images), slope);
        let x = batch_norm_layer(&self.bn2, conv2d_layer(&self.conv2, x), Activation::LeakyRelu(slope));
        let x = batch_norm_layer(&self.bn3, conv2d_layer(&self.conv3, x), Activation::LeakyRelu(slope));
        let mut x = x.reshape([n, 4096]);
        if let Some(condition) = &self.condition {
            let labels = labels.ok_or_else(|| {
                RganError::invalid("generator_inputs", "the conditional CIFAR-10 discriminator needs one-hot labels")
            })?;
            x = condition.forward(x, labels)?;
        }
        Ok(linear_layer(&self.output, x))
    }
}

impl SequentialCritic for CifarDiscriminator {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        let mut layers: Vec<&dyn CriticLayer> = vec![
            &self.conv1,
            &self.act,
            &self.conv2,
            &self.bn2,
            &self.act,
            &self.conv3,
            &self.bn3,
            &self.act,
            &Flatten,
        ];
        if let Some(condition) = &self.condition {
            layers.push(condition);
        }
        layers.push(&self.output);
        layers
    }
}

impl GanDiscriminator for CifarDiscriminator {
    fn discriminate(&self, data: Tensor<4>, inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        Ok(DiscriminatorOutput::logits(self.forward_labels(data, inputs.one_hot_labels.clone())?))
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        Self::check_images(&real_data)?;
        check_generated_shape(&real_data, &generated_data)?;
        let conditioning = if self.condition.is_some() { inputs.one_hot_labels.clone() } else { None };
        Ok(wasserstein_gradient_penalty(self, real_data, generated_data, conditioning, rng, options)?.penalty)
    }
}

/// Which CIFAR-10 model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CifarKind {
    /// Noise in, images out (TF-GAN's example).
    #[default]
    Unconditional,
    /// Noise and a class in, an image of that class out (rgan's design, see the module docs).
    Conditional,
}

/// TF-GAN's CIFAR-10 GAN: which kind, and both networks' configurations.
///
/// ```
/// use rgan::recipes::cifar::{CifarKind, CifarRecipe};
/// let recipe = CifarRecipe::for_kind(CifarKind::Conditional);
/// assert_eq!((recipe.generator.num_classes, recipe.discriminator.num_classes), (10, 10));
/// let config = recipe.train_config();
/// assert_eq!((config.batch_size, config.loss.gradient_penalty_weight), (32, Some(1.0)));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CifarRecipe {
    /// Which model. Default unconditional.
    #[config(default = "CifarKind::Unconditional")]
    pub kind: CifarKind,
    /// The generator. Default TF-GAN's.
    #[config(default = "CifarGeneratorConfig::new()")]
    pub generator: CifarGeneratorConfig,
    /// The discriminator. Default TF-GAN's.
    #[config(default = "CifarDiscriminatorConfig::new()")]
    pub discriminator: CifarDiscriminatorConfig,
}

impl Default for CifarRecipe {
    fn default() -> Self {
        Self::new()
    }
}

/// The step that trains a CIFAR-10 recipe.
pub type CifarStep = GanStep<CifarGenerator, CifarDiscriminator, NoiseInputs>;

impl CifarRecipe {
    /// The networks of `kind`: the conditional ones take CIFAR-10's 10 classes.
    pub fn for_kind(kind: CifarKind) -> Self {
        let classes = match kind {
            CifarKind::Unconditional => 0,
            CifarKind::Conditional => CLASSES,
        };
        Self::new()
            .with_kind(kind)
            .with_generator(CifarGeneratorConfig::new().with_num_classes(classes))
            .with_discriminator(CifarDiscriminatorConfig::new().with_num_classes(classes))
    }

    /// TF-GAN's CIFAR-10 training (`train.py`): batch 32, Adam 2e-4 with β1 0.5 for both networks,
    /// Wasserstein losses with a gradient penalty of weight 1.0, sequential updates; a 10 × 10
    /// sample grid (a row per class for the conditional model).
    ///
    /// ```
    /// use rgan::train::{GanLossKind, TrainSchedule};
    /// let config = rgan::recipes::cifar::CifarRecipe::new().train_config();
    /// assert_eq!((config.loss.loss, config.schedule), (GanLossKind::Wasserstein, TrainSchedule::Sequential));
    /// assert_eq!(config.generator_optimizer.learning_rate, 2e-4);
    /// ```
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig::new()
            .with_batch_size(32)
            .with_grid_size(10)
            .with_schedule(TrainSchedule::Sequential)
            .with_generator_optimizer(OptimizerConfig::new(2e-4))
            .with_discriminator_optimizer(OptimizerConfig::new(2e-4))
            .with_loss(GanLossConfig::new().with_loss(GanLossKind::Wasserstein).with_gradient_penalty_weight(Some(1.0)))
    }

    /// How the generator's inputs are drawn: noise, and labels for the conditional model.
    pub fn noise_inputs(&self) -> NoiseInputs {
        NoiseInputs::new(self.generator.noise_dims).with_num_classes(self.generator.num_classes)
    }

    fn check(&self) -> Result<()> {
        if self.generator.num_classes != self.discriminator.num_classes {
            return Err(RganError::invalid(
                "cifar",
                format!(
                    "the generator takes {} classes but the discriminator {}",
                    self.generator.num_classes, self.discriminator.num_classes
                ),
            ));
        }
        Ok(())
    }

    /// Builds both networks, each from its own fork of `rng`.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<GanModel<CifarGenerator, CifarDiscriminator>> {
        self.check()?;
        Ok(GanModel {
            generator: self.generator.init(&mut rng.fork(), device)?,
            discriminator: self.discriminator.init(&mut rng.fork(), device)?,
        })
    }

    /// The step training the networks with `config`, drawn from the run's seeds.
    pub fn step(&self, config: &TrainConfig, mut seeds: Seeds, device: &Device) -> Result<CifarStep> {
        self.check()?;
        let device = device.clone().autodiff();
        let model = GanModel {
            generator: self.generator.init(&mut seeds.generator, &device)?,
            discriminator: self.discriminator.init(&mut seeds.discriminator, &device)?,
        };
        GanStep::new(config.clone(), model, self.noise_inputs(), seeds.step, &device)
    }

    /// A run on `data` (32×32 RGB images with CIFAR-10's labels, e.g.
    /// [`Cifar10`](crate::data::Cifar10)) in `logdir`: started, or resumed from its newest
    /// checkpoint as `resume` says (a `bool`: restart).
    pub fn trainer<'d, D: ImageDataset + ?Sized>(
        &self,
        config: TrainConfig,
        data: &'d D,
        logdir: impl AsRef<std::path::Path>,
        resume: impl Into<Resume>,
        device: &Device,
    ) -> Result<Trainer<CifarStep, ImageBatches<'d, D>>> {
        if data.image_shape() != [3, 32, 32] {
            return Err(RganError::shape(
                "data",
                &data.image_shape(),
                "(one image) but the CIFAR-10 networks make and take [3, 32, 32] images",
            ));
        }
        let batches = ImageBatches::new(data, config.batch_size)?;
        let description = Recipe::Cifar(self.clone()).description()?;
        Trainer::start_or_resume(logdir, description, config, resume, batches, |config, seeds| {
            self.step(config, seeds, device)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TF's `conv2d_transpose(padding='same')` of a single 1 at each input position: for a 5×5
    /// kernel of ones at stride 2 from 2×2 to 4×4, the output sums the kernel's taps that land on
    /// each pixel. TF pads the matching convolution (4 → 2) by 1 before and 2 after, so input
    /// pixel (0, 0) covers output rows and columns −1 … 3 → 0 … 3.
    #[test]
    fn transposed_convolutions_align_as_tf_same() {
        let device = Device::default();
        let layer = SameConvTranspose2d { weight: Param::from_tensor(Tensor::ones([1, 1, 5, 5], &device)), bias: None };
        let mut x = vec![0.0f32; 4];
        x[0] = 1.0;
        let y = layer.forward(Tensor::<1>::from_floats(x.as_slice(), &device).reshape([1, 1, 2, 2]));
        assert_eq!(y.dims(), [1, 1, 4, 4]);
        // Every output pixel is covered by input (0, 0)'s 5×5 window shifted by −1.
        assert_eq!(y.into_data().try_to_vec::<f32>().unwrap(), vec![1.0; 16]);
        // Input (1, 1) covers rows 1 … 5 → 1 … 3: the top row and left column stay 0.
        let mut x = vec![0.0f32; 4];
        x[3] = 1.0;
        let y = layer.forward(Tensor::<1>::from_floats(x.as_slice(), &device).reshape([1, 1, 2, 2]));
        let got = y.into_data().try_to_vec::<f32>().unwrap();
        for (i, v) in got.iter().enumerate() {
            let (r, c) = (i / 4, i % 4);
            assert_eq!(*v, if r >= 1 && c >= 1 { 1.0 } else { 0.0 }, "pixel ({r}, {c})");
        }
    }

    #[test]
    fn shapes_widths_and_initialization_follow_tf_gan() {
        let device = Device::default();
        let model = CifarRecipe::new().init(&mut Rng::seed_from_u64(0), &device).unwrap();
        let g = &model.generator;
        assert_eq!(g.project.weight.dims(), [64, 4096]);
        assert!(g.project.bias.is_none());
        assert_eq!(
            [g.deconv1.weight.dims(), g.deconv2.weight.dims(), g.output.weight.dims()],
            [[256, 128, 5, 5], [128, 64, 4, 4], [64, 3, 4, 4]]
        );
        assert!(g.deconv1.bias.is_none() && g.output.bias.is_some());
        let d = &model.discriminator;
        assert_eq!(
            [d.conv1.weight.dims(), d.conv2.weight.dims(), d.conv3.weight.dims()],
            [[64, 3, 5, 5], [128, 64, 5, 5], [256, 128, 5, 5]]
        );
        assert!(d.conv1.bias.is_some() && d.conv2.bias.is_none());
        assert_eq!(d.output.weight.dims(), [4096, 1]);
        // Truncated at two deviations, so the largest |w| is below 0.04 and the deviation is
        // about 0.88 · 0.02.
        let w = d.conv3.weight.val();
        assert!(w.clone().abs().max().into_scalar::<f32>() <= 0.04);
        let std = w.square().mean().sqrt().into_scalar::<f32>();
        assert!((std - 0.0176).abs() < 5e-4, "deviation {std}");
        assert_eq!((g.bn1.momentum, g.bn1.epsilon), (0.1, 1e-5));
    }

    #[test]
    fn the_conditional_model_needs_labels_and_its_penalty_is_exact() {
        let device = Device::default().autodiff();
        let recipe = CifarRecipe::for_kind(CifarKind::Conditional);
        let mut rng = Rng::seed_from_u64(1);
        let model = recipe.init(&mut rng, &device).unwrap();
        let labels = Tensor::<1, Int>::from_ints([3, 7], &device);
        let inputs = recipe.noise_inputs().for_batch(labels, &mut rng, &device).unwrap();
        let fake = model.generator.generate(&inputs).unwrap();
        assert_eq!(fake.dims(), [2, 3, 32, 32]);
        let unlabelled = GeneratorInputs::noise(inputs.noise.clone());
        assert!(model.generator.generate(&unlabelled).unwrap_err().to_string().contains("label"));
        assert!(model.discriminator.discriminate(fake.clone(), &unlabelled).is_err());
        let real = rng.uniform([2, 3, 32, 32], -1.0, 1.0, &device);
        let options = GradientPenaltyOptions::default();
        let gp = model.discriminator.gradient_penalty(real, fake, &inputs, &mut rng, &options).unwrap();
        assert!(gp.clone().into_scalar::<f32>().is_finite());
        let grads = gp.backward();
        assert!(model.discriminator.conv1.weight.val().grad(&grads).is_some());
        let mismatched = CifarRecipe::new().with_discriminator(CifarDiscriminatorConfig::new().with_num_classes(10));
        assert!(mismatched.init(&mut rng, &device).is_err());
    }
}
