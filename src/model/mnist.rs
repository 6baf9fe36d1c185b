//! TF-GAN's MNIST networks (`examples/mnist/networks.py`): the unconditional generator and
//! discriminator.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu};

use super::init::{glorot_uniform, zeros};
use crate::error::{Result, RganError};
use crate::rng::Rng;

/// How the generator's batch-norm layers normalize.
///
/// ```
/// assert_eq!(rgan::model::BatchNormMode::default(), rgan::model::BatchNormMode::Layer);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BatchNormMode {
    /// burn's behaviour: batch statistics (and a moving-average update) on an autodiff device,
    /// the moving averages otherwise.
    #[default]
    Layer,
    /// The moving averages (TF's `training=False`), whatever the device.
    MovingAverages,
    /// The batch's own statistics without touching the moving averages (what TF-GAN's training
    /// image summaries show).
    BatchStatistics,
}

fn batch_norm<const D: usize>(layer: &BatchNorm, x: Tensor<D>, mode: BatchNormMode) -> Tensor<D> {
    match mode {
        BatchNormMode::Layer => layer.forward(x),
        BatchNormMode::MovingAverages => burn::tensor::module::batch_norm(
            x,
            layer.gamma.val(),
            layer.beta.val(),
            layer.running_mean.value(),
            layer.running_var.value(),
            layer.epsilon,
        ),
        BatchNormMode::BatchStatistics => {
            burn::tensor::module::batch_norm_train(x, layer.gamma.val(), layer.beta.val(), layer.epsilon).output
        }
    }
}

fn batch_norm_layer(features: usize, momentum: f64, epsilon: f64, device: &Device) -> BatchNorm {
    BatchNormConfig::new(features).with_momentum(momentum).with_epsilon(epsilon).init(device)
}

/// Dense layer with a Glorot-uniform kernel, without bias (TF-GAN's `_dense`).
fn dense(rng: &mut Rng, inputs: usize, outputs: usize, bias: bool, device: &Device) -> Linear {
    let mut layer =
        LinearConfig::new(inputs, outputs).with_bias(bias).with_initializer(Initializer::Zeros).init(device);
    layer.weight = glorot_uniform(rng, [inputs, outputs], inputs, outputs, device);
    layer
}

fn conv(rng: &mut Rng, channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
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
    w.square().sum().mul_scalar(0.5)
}

/// Configuration of [`MnistGenerator`], with TF-GAN's defaults.
///
/// ```
/// let config = rgan::model::MnistGeneratorConfig::new();
/// assert_eq!((config.noise_dims, config.weight_decay), (64, 2.5e-5));
/// assert_eq!((config.batch_norm_momentum, config.batch_norm_epsilon), (0.001, 1e-3));
/// ```
#[derive(Config, Debug)]
pub struct MnistGeneratorConfig {
    /// The size of the noise vector (TF-GAN's `noise_dims`). Default 64.
    #[config(default = 64)]
    pub noise_dims: usize,
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

/// TF-GAN's unconditional MNIST generator: noise → dense 1024 → BN → ReLU → dense 7·7·128 →
/// BN → ReLU → reshape [128, 7, 7] → deconv 64 (k4, s2) → BN → ReLU → deconv 32 (k4, s2) → BN →
/// ReLU → conv 1 (k4, s1, same) → tanh: images `[N, 1, 28, 28]` in `[-1, 1]`.
///
/// Dense layers have no bias; convolutions do. The reshape is channel-major (burn's NCHW) where
/// TF's is channel-last; from scratch the two are the same network up to a permutation.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::MnistGeneratorConfig;
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let generator = MnistGeneratorConfig::new().init(&mut rng, &device).unwrap();
/// let images = generator.forward(rng.normal([2, 64], 0.0, 1.0, &device)).unwrap();
/// assert_eq!(images.dims(), [2, 1, 28, 28]);
/// ```
#[derive(Module, Debug)]
pub struct MnistGenerator {
    fc1: Linear,
    bn1: BatchNorm,
    fc2: Linear,
    bn2: BatchNorm,
    deconv1: ConvTranspose2d,
    bn3: BatchNorm,
    deconv2: ConvTranspose2d,
    bn4: BatchNorm,
    conv: Conv2d,
    noise_dims: usize,
    weight_decay: f64,
}

impl MnistGeneratorConfig {
    /// Builds the generator, drawing its kernels from `rng` (Glorot-uniform; biases 0).
    ///
    /// Errors if `noise_dims` is 0 or `weight_decay` is negative.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// assert!(rgan::model::MnistGeneratorConfig::new().with_noise_dims(0).init(&mut rng, &Device::default()).is_err());
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<MnistGenerator> {
        if self.noise_dims == 0 {
            return Err(RganError::invalid("noise_dims", "must be at least 1"));
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return Err(RganError::invalid("weight_decay", format!("is {}; it must be ≥ 0", self.weight_decay)));
        }
        let (m, e) = (self.batch_norm_momentum, self.batch_norm_epsilon);
        Ok(MnistGenerator {
            fc1: dense(rng, self.noise_dims, 1024, false, device),
            bn1: batch_norm_layer(1024, m, e, device),
            fc2: dense(rng, 1024, 7 * 7 * 128, false, device),
            bn2: batch_norm_layer(7 * 7 * 128, m, e, device),
            deconv1: deconv(rng, [128, 64], device),
            bn3: batch_norm_layer(64, m, e, device),
            deconv2: deconv(rng, [64, 32], device),
            bn4: batch_norm_layer(32, m, e, device),
            conv: conv(rng, [32, 1], 4, 1, device),
            noise_dims: self.noise_dims,
            weight_decay: self.weight_decay,
        })
    }
}

impl MnistGenerator {
    /// Generates images `[N, 1, 28, 28]` from noise `[N, noise_dims]`, with the batch-norm
    /// layers' own behaviour ([`BatchNormMode::Layer`]).
    pub fn forward(&self, noise: Tensor<2>) -> Result<Tensor<4>> {
        self.forward_with(noise, BatchNormMode::Layer)
    }

    /// Generates images with the given batch-norm behaviour.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::{BatchNormMode, MnistGeneratorConfig};
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
        let [n, d] = noise.dims();
        if d != self.noise_dims || n == 0 {
            return Err(RganError::shape(
                "noise",
                &[n, d],
                format!("but the generator takes [batch ≥ 1, noise_dims = {}]", self.noise_dims),
            ));
        }
        let x = relu(batch_norm(&self.bn1, self.fc1.forward(noise), mode));
        let x = relu(batch_norm(&self.bn2, self.fc2.forward(x), mode));
        let x = x.reshape([n, 128, 7, 7]);
        let x = relu(batch_norm(&self.bn3, self.deconv1.forward(x), mode));
        let x = relu(batch_norm(&self.bn4, self.deconv2.forward(x), mode));
        Ok(self.conv.forward(x).tanh())
    }

    /// The size of the noise vector.
    pub fn noise_dims(&self) -> usize {
        self.noise_dims
    }

    /// TF's kernel regularization loss, `weight_decay × Σ_kernels Σw²/2` (biases and batch-norm
    /// parameters are not decayed), shape `[1]`. TF-GAN's `gan_loss` adds it to the generator
    /// loss.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let g = rgan::model::MnistGeneratorConfig::new().init(&mut rng, &Device::default()).unwrap();
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

/// Configuration of [`MnistDiscriminator`], with TF-GAN's defaults.
///
/// ```
/// let config = rgan::model::MnistDiscriminatorConfig::new();
/// assert_eq!((config.leaky_relu_slope, config.weight_decay), (0.01, 2.5e-5));
/// ```
#[derive(Config, Debug)]
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
}

/// TF-GAN's unconditional MNIST discriminator: image `[N, 1, 28, 28]` → conv 64 (k4, s2, same)
/// → leaky ReLU → conv 128 (k4, s2, same) → leaky ReLU → flatten (6272) → dense 1024 (no bias)
/// → BN → leaky ReLU → dense 1 (with bias): logits `[N, 1]`.
///
/// TF-GAN's example also wraps the body in spectral normalization; this network does not (yet).
/// Its batch norm uses batch statistics on an autodiff device (in training), as TF-GAN's
/// always-training BN does.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::MnistDiscriminatorConfig;
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let d = MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
/// let logits = d.forward(rng.uniform([3, 1, 28, 28], -1.0, 1.0, &device)).unwrap();
/// assert_eq!(logits.dims(), [3, 1]);
/// ```
#[derive(Module, Debug)]
pub struct MnistDiscriminator {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    bn: BatchNorm,
    fc2: Linear,
    leaky_relu_slope: f64,
    weight_decay: f64,
}

impl MnistDiscriminatorConfig {
    /// Builds the discriminator, drawing its kernels from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let config = rgan::model::MnistDiscriminatorConfig::new().with_weight_decay(-1.0);
    /// assert!(config.init(&mut rng, &Device::default()).is_err());
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<MnistDiscriminator> {
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return Err(RganError::invalid("weight_decay", format!("is {}; it must be ≥ 0", self.weight_decay)));
        }
        let mut fc2 = dense(rng, 1024, 1, true, device);
        fc2.bias = Some(zeros([1], device));
        Ok(MnistDiscriminator {
            conv1: conv(rng, [1, 64], 4, 2, device),
            conv2: conv(rng, [64, 128], 4, 2, device),
            fc1: dense(rng, 7 * 7 * 128, 1024, false, device),
            bn: batch_norm_layer(1024, self.batch_norm_momentum, self.batch_norm_epsilon, device),
            fc2,
            leaky_relu_slope: self.leaky_relu_slope,
            weight_decay: self.weight_decay,
        })
    }
}

impl MnistDiscriminator {
    /// The logits `[N, 1]` of images `[N, 1, 28, 28]`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let device = Device::default();
    /// let d = rgan::model::MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
    /// let err = d.forward(Tensor::zeros([2, 3, 28, 28], &device)).unwrap_err();
    /// assert!(err.to_string().contains("[2, 3, 28, 28]"));
    /// ```
    pub fn forward(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        let [n, c, h, w] = images.dims();
        if c != 1 || h != 28 || w != 28 || n == 0 {
            return Err(RganError::shape(
                "images",
                &[n, c, h, w],
                "but the MNIST discriminator takes [batch ≥ 1, 1, 28, 28]",
            ));
        }
        let slope = self.leaky_relu_slope;
        let x = leaky_relu(self.conv1.forward(images), slope);
        let x = leaky_relu(self.conv2.forward(x), slope);
        let x = x.reshape([n, 7 * 7 * 128]);
        let x = leaky_relu(self.bn.forward(self.fc1.forward(x)), slope);
        Ok(self.fc2.forward(x))
    }

    /// TF's kernel regularization loss, `weight_decay × Σ_kernels Σw²/2`, shape `[1]`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let d = rgan::model::MnistDiscriminatorConfig::new().with_weight_decay(0.0).init(&mut rng, &Device::default()).unwrap();
    /// assert_eq!(d.regularization_loss().into_scalar::<f32>(), 0.0);
    /// ```
    pub fn regularization_loss(&self) -> Tensor<1> {
        let total = l2_loss(self.conv1.weight.val())
            + l2_loss(self.conv2.weight.val())
            + l2_loss(self.fc1.weight.val())
            + l2_loss(self.fc2.weight.val());
        total.mul_scalar(self.weight_decay)
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
}
