//! The networks of the classic GAN zoo ([`super::classic`]) that TF-GAN's MNIST example does not
//! already provide: fully connected generators and discriminators (the cGAN and WGAN papers'
//! MLPs), a plain convolutional critic (the DCGAN discriminator without TF-GAN's spectral norm,
//! which weight clipping and gradient penalties need), and a discriminator with a separate
//! InfoGAN recognizer.
//!
//! All kernels are Glorot-uniform with zero biases (TF's default initializers), drawn from the
//! run's seed.

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, LeakyRelu, LeakyReluConfig, Linear};
use burn::prelude::*;

use crate::error::{Result, RganError};
use crate::losses::Distribution;
use crate::model::{
    BatchNormMode, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanInputs, GeneratorInputs, glorot_conv2d,
    glorot_linear,
};
use crate::ops::{Activation, conv2d_layer, leaky_relu, linear_layer};
use crate::penalties::{
    ConcatConditioning, CriticLayer, Flatten, GradientPenaltyOptions, SequentialCritic, wasserstein_gradient_penalty,
};
use crate::recipes::layers::batch_norm_act;
use crate::rng::Rng;

/// The leaky ReLU slope of the zoo's networks (the DCGAN, cGAN and WGAN papers' 0.2).
pub const LEAKY_RELU_SLOPE: f64 = 0.2;

fn leaky_relu_layer() -> LeakyRelu {
    LeakyReluConfig::new().with_negative_slope(LEAKY_RELU_SLOPE).init()
}

fn check_images(what: &str, images: &Tensor<4>) -> Result<()> {
    let [n, c, h, w] = images.dims();
    if c != 1 || h != 28 || w != 28 || n == 0 {
        return Err(RganError::shape("images", &[n, c, h, w], format!("but {what} takes [batch ≥ 1, 1, 28, 28]")));
    }
    Ok(())
}

/// The one-hot labels of `inputs` checked against `classes` (`None` when `classes` is 0).
fn labels(inputs: &GeneratorInputs, classes: usize, what: &str) -> Result<Option<Tensor<2>>> {
    if classes == 0 {
        return Ok(None);
    }
    let labels = inputs.labels(what)?;
    let n = inputs.batch_size();
    if labels.dims()[1] != classes {
        return Err(RganError::shape(
            "one_hot_labels",
            &labels.dims(),
            format!("but {what} takes [{n}, num_classes = {classes}]"),
        ));
    }
    Ok(Some(labels))
}

/// Configuration of [`MlpGenerator`].
///
/// ```
/// let config = rgan::recipes::zoo::MlpGeneratorConfig::new();
/// assert_eq!((config.noise_dims, config.num_classes), (100, 0));
/// assert_eq!(config.hidden, vec![128, 256, 512, 1024]);
/// ```
#[derive(Config, Debug)]
pub struct MlpGeneratorConfig {
    /// The size of the noise vector. Default 100.
    #[config(default = 100)]
    pub noise_dims: usize,
    /// Classes of the one-hot labels concatenated to the noise (0: unconditional). Default 0.
    #[config(default = 0)]
    pub num_classes: usize,
    /// Widths of the hidden layers; every one but the first is batch normalized. Default
    /// `[128, 256, 512, 1024]`.
    #[config(default = "vec![128, 256, 512, 1024]")]
    pub hidden: Vec<usize>,
}

/// A fully connected generator: `[noise, one-hot labels]` → dense layers (leaky ReLU 0.2, batch
/// norm after all but the first) → dense 784 → tanh → `[N, 1, 28, 28]`. The cGAN paper's
/// generator as the common PyTorch implementations write it.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanGenerator, GeneratorInputs};
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let g = rgan::recipes::zoo::MlpGeneratorConfig::new().init(&mut rng, &device).unwrap();
/// let images = g.generate(&GeneratorInputs::noise(rng.normal([3, 100], 0.0, 1.0, &device))).unwrap();
/// assert_eq!(images.dims(), [3, 1, 28, 28]);
/// ```
#[derive(Module, Debug)]
pub struct MlpGenerator {
    layers: Vec<Linear>,
    norms: Vec<BatchNorm>,
    out: Linear,
    act: LeakyRelu,
    noise_dims: usize,
    num_classes: usize,
}

impl MlpGeneratorConfig {
    /// Builds the generator, drawing its kernels from `rng`.
    ///
    /// Errors if `noise_dims` is 0 or `hidden` is empty or holds a 0.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<MlpGenerator> {
        if self.noise_dims == 0 {
            return Err(RganError::invalid("noise_dims", "must be at least 1"));
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(RganError::invalid("hidden", format!("is {:?}; give one or more widths ≥ 1", self.hidden)));
        }
        let mut width = self.noise_dims + self.num_classes;
        let mut layers = Vec::new();
        for &h in &self.hidden {
            layers.push(glorot_linear(rng, width, h, true, device));
            width = h;
        }
        let norms = self.hidden[1..]
            .iter()
            .map(|&h| BatchNormConfig::new(h).with_momentum(0.1).with_epsilon(1e-5).init(device))
            .collect();
        Ok(MlpGenerator {
            layers,
            norms,
            out: glorot_linear(rng, width, 28 * 28, true, device),
            act: leaky_relu_layer(),
            noise_dims: self.noise_dims,
            num_classes: self.num_classes,
        })
    }
}

impl MlpGenerator {
    /// Images from the inputs with the given batch-norm behaviour.
    pub fn forward_inputs(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        let [n, d] = inputs.noise.dims();
        if d != self.noise_dims || n == 0 {
            return Err(RganError::shape(
                "noise",
                &[n, d],
                format!("but the MLP generator takes [batch ≥ 1, noise_dims = {}]", self.noise_dims),
            ));
        }
        let mut x = inputs.noise.clone();
        if let Some(labels) = labels(inputs, self.num_classes, "the conditional MLP generator")? {
            x = Tensor::cat(vec![x, labels], 1);
        }
        let slope = self.act.negative_slope;
        for (i, layer) in self.layers.iter().enumerate() {
            x = linear_layer(layer, x);
            x = if i > 0 {
                batch_norm_act(&self.norms[i - 1], x, mode, Activation::LeakyRelu(slope))
            } else {
                leaky_relu(x, slope)
            };
        }
        Ok(linear_layer(&self.out, x).tanh().reshape([n, 1, 28, 28]))
    }
}

impl GanGenerator for MlpGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward_inputs(inputs, BatchNormMode::Layer)
    }

    fn sample(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward_inputs(inputs, BatchNormMode::BatchStatistics)
    }

    fn generate_with(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        self.forward_inputs(inputs, mode)
    }
}

/// Configuration of [`MlpDiscriminator`].
///
/// ```
/// let config = rgan::recipes::zoo::MlpDiscriminatorConfig::new();
/// assert_eq!((config.num_classes, config.hidden.clone()), (0, vec![512, 256]));
/// ```
#[derive(Config, Debug)]
pub struct MlpDiscriminatorConfig {
    /// Classes of the one-hot labels concatenated to the flattened image (0: unconditional).
    /// Default 0.
    #[config(default = 0)]
    pub num_classes: usize,
    /// Widths of the hidden layers. Default `[512, 256]`.
    #[config(default = "vec![512, 256]")]
    pub hidden: Vec<usize>,
}

/// A fully connected discriminator (WGAN critic): `[flattened image, one-hot labels]` → dense
/// layers with leaky ReLU 0.2 → dense 1: logits `[N, 1]`. No dropout and no normalization, so
/// its gradient penalty is exact and weight clipping bounds it.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanDiscriminator, GeneratorInputs};
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let d = rgan::recipes::zoo::MlpDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
/// let inputs = GeneratorInputs::noise(Tensor::zeros([2, 100], &device));
/// assert_eq!(d.discriminate(Tensor::zeros([2, 1, 28, 28], &device), &inputs).unwrap().logits.dims(), [2, 1]);
/// ```
#[derive(Module, Debug)]
pub struct MlpDiscriminator {
    flatten: Flatten,
    condition: Option<ConcatConditioning>,
    layers: Vec<Linear>,
    act: LeakyRelu,
    out: Linear,
    num_classes: usize,
}

impl MlpDiscriminatorConfig {
    /// Builds the discriminator, drawing its kernels from `rng`.
    ///
    /// Errors if `hidden` is empty or holds a 0.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<MlpDiscriminator> {
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(RganError::invalid("hidden", format!("is {:?}; give one or more widths ≥ 1", self.hidden)));
        }
        let mut width = 28 * 28 + self.num_classes;
        let mut layers = Vec::new();
        for &h in &self.hidden {
            layers.push(glorot_linear(rng, width, h, true, device));
            width = h;
        }
        Ok(MlpDiscriminator {
            flatten: Flatten,
            condition: (self.num_classes > 0).then_some(ConcatConditioning),
            layers,
            act: leaky_relu_layer(),
            out: glorot_linear(rng, width, 1, true, device),
            num_classes: self.num_classes,
        })
    }
}

impl SequentialCritic for MlpDiscriminator {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        let mut layers: Vec<&dyn CriticLayer> = vec![&self.flatten];
        if let Some(condition) = &self.condition {
            layers.push(condition);
        }
        for layer in &self.layers {
            layers.extend([layer as &dyn CriticLayer, &self.act]);
        }
        layers.push(&self.out);
        layers
    }
}

impl GanDiscriminator for MlpDiscriminator {
    /// No batch norm, no spectral norm: a pass over real and generated data together is exact.
    fn batch_independent(&self) -> bool {
        true
    }

    fn discriminate(&self, data: Tensor<4>, inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        check_images("the MLP discriminator", &data)?;
        let n = data.dims()[0];
        let mut x = data.reshape([n, 28 * 28]);
        if let Some(labels) = labels(inputs, self.num_classes, "the conditional MLP discriminator")? {
            x = Tensor::cat(vec![x, labels], 1);
        }
        for layer in &self.layers {
            x = leaky_relu(linear_layer(layer, x), self.act.negative_slope);
        }
        Ok(DiscriminatorOutput::logits(linear_layer(&self.out, x)))
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        let conditioning = labels(inputs, self.num_classes, "the conditional MLP discriminator")?;
        Ok(wasserstein_gradient_penalty(self, real_data, generated_data, conditioning, rng, options)?.penalty)
    }
}

/// Configuration of [`ConvDiscriminator`].
///
/// ```
/// let config = rgan::recipes::zoo::ConvDiscriminatorConfig::new();
/// assert_eq!((config.num_classes, config.categorical_dim, config.continuous_dim), (0, 0, 0));
/// ```
#[derive(Config, Debug)]
pub struct ConvDiscriminatorConfig {
    /// Classes of the one-hot labels concatenated to the flattened convolution features
    /// (0: unconditional). Default 0.
    #[config(default = 0)]
    pub num_classes: usize,
    /// InfoGAN: categories of the recognizer's categorical head (0: none). Default 0.
    #[config(default = 0)]
    pub categorical_dim: usize,
    /// InfoGAN: dimensions of the recognizer's continuous head (0: none). Default 0.
    #[config(default = 0)]
    pub continuous_dim: usize,
}

/// TF-GAN's MNIST discriminator without its spectral norm and batch norm: image → conv 64 (k4,
/// s2, same) → leaky ReLU → conv 128 (k4, s2, same) → leaky ReLU → flatten (6272) →
/// (conditional: one-hot labels concatenated) → dense 1024 → leaky ReLU → dense 1: logits
/// `[N, 1]`; optional InfoGAN recognizer heads (a Categorical, a Normal with σ = 1) on the 1024
/// features.
///
/// No spectral norm, because weight clipping and gradient penalties are the WGAN critics'
/// constraints; no batch norm, because a gradient penalty is per sample and because batch norm
/// on the generated batch alone lets the generator collapse (`docs/RESULTS.md`, InfoGAN).
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanDiscriminator, GeneratorInputs};
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let d = rgan::recipes::zoo::ConvDiscriminatorConfig::new().with_categorical_dim(10).init(&mut rng, &device).unwrap();
/// let inputs = GeneratorInputs::noise(Tensor::zeros([2, 100], &device));
/// let out = d.discriminate(Tensor::zeros([2, 1, 28, 28], &device), &inputs).unwrap();
/// assert_eq!((out.logits.dims(), out.distributions.len()), ([2, 1], 1));
/// ```
#[derive(Module, Debug)]
pub struct ConvDiscriminator {
    conv1: Conv2d,
    act: LeakyRelu,
    conv2: Conv2d,
    flatten: Flatten,
    condition: Option<ConcatConditioning>,
    fc1: Linear,
    fc2: Linear,
    categorical_head: Option<Linear>,
    continuous_head: Option<Linear>,
    num_classes: usize,
}

impl ConvDiscriminatorConfig {
    /// Builds the discriminator, drawing its kernels from `rng`.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<ConvDiscriminator> {
        let conv1 = glorot_conv2d(rng, [1, 64], 4, 2, device);
        let conv2 = glorot_conv2d(rng, [64, 128], 4, 2, device);
        let fc1 = glorot_linear(rng, 7 * 7 * 128 + self.num_classes, 1024, true, device);
        let fc2 = glorot_linear(rng, 1024, 1, true, device);
        let head =
            |rng: &mut Rng, outputs: usize| (outputs > 0).then(|| glorot_linear(rng, 1024, outputs, true, device));
        Ok(ConvDiscriminator {
            conv1,
            act: leaky_relu_layer(),
            conv2,
            flatten: Flatten,
            condition: (self.num_classes > 0).then_some(ConcatConditioning),
            fc1,
            fc2,
            categorical_head: head(rng, self.categorical_dim),
            continuous_head: head(rng, self.continuous_dim),
            num_classes: self.num_classes,
        })
    }
}

impl SequentialCritic for ConvDiscriminator {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        let mut layers: Vec<&dyn CriticLayer> = vec![&self.conv1, &self.act, &self.conv2, &self.act, &self.flatten];
        if let Some(condition) = &self.condition {
            layers.push(condition);
        }
        layers.extend([&self.fc1 as &dyn CriticLayer, &self.act, &self.fc2]);
        layers
    }
}

impl GanDiscriminator for ConvDiscriminator {
    /// No batch norm, no spectral norm: a pass over real and generated data together is exact.
    fn batch_independent(&self) -> bool {
        true
    }

    fn discriminate(&self, data: Tensor<4>, inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        check_images("the convolutional discriminator", &data)?;
        let n = data.dims()[0];
        let slope = self.act.negative_slope;
        let x = leaky_relu(conv2d_layer(&self.conv1, data), slope);
        let x = leaky_relu(conv2d_layer(&self.conv2, x), slope);
        let mut x = x.reshape([n, 7 * 7 * 128]);
        if let Some(labels) = labels(inputs, self.num_classes, "the conditional convolutional discriminator")? {
            x = Tensor::cat(vec![x, labels], 1);
        }
        let x = leaky_relu(linear_layer(&self.fc1, x), slope);
        let mut distributions = Vec::new();
        if let Some(h) = &self.categorical_head {
            distributions.push(Distribution::Categorical { logits: linear_layer(h, x.clone()) });
        }
        if let Some(h) = &self.continuous_head {
            let loc = linear_layer(h, x.clone());
            distributions.push(Distribution::Normal { scale: loc.ones_like(), loc });
        }
        Ok(DiscriminatorOutput { logits: linear_layer(&self.fc2, x), class_logits: None, distributions })
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        let conditioning = labels(inputs, self.num_classes, "the conditional convolutional discriminator")?;
        Ok(wasserstein_gradient_penalty(self, real_data, generated_data, conditioning, rng, options)?.penalty)
    }
}

/// A discriminator and a separate InfoGAN recognizer Q (its own convolutional network and
/// heads, sharing no weights): the logits come from the discriminator, the predicted code
/// distributions from the recognizer. Both are updated by the discriminator's optimizer, as
/// TF-GAN's `infogan_model` counts the recognizer among the discriminator's variables.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanDiscriminator, GeneratorInputs};
/// use rgan::recipes::zoo::{ConvDiscriminatorConfig, SeparateRecognizer};
/// let device = Device::default();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let d = SeparateRecognizer::new(
///     ConvDiscriminatorConfig::new().init(&mut rng, &device).unwrap(),
///     ConvDiscriminatorConfig::new().with_categorical_dim(10).with_continuous_dim(2).init(&mut rng, &device).unwrap(),
/// );
/// let inputs = GeneratorInputs::noise(Tensor::zeros([2, 62], &device));
/// let out = d.discriminate(Tensor::zeros([2, 1, 28, 28], &device), &inputs).unwrap();
/// assert_eq!((out.logits.dims(), out.distributions.len()), ([2, 1], 2));
/// ```
#[derive(Module, Debug)]
pub struct SeparateRecognizer {
    discriminator: ConvDiscriminator,
    recognizer: ConvDiscriminator,
}

impl SeparateRecognizer {
    /// A discriminator (its heads are ignored) and a recognizer (its real/fake logits are
    /// ignored).
    pub fn new(discriminator: ConvDiscriminator, recognizer: ConvDiscriminator) -> Self {
        Self { discriminator, recognizer }
    }
}

impl GanDiscriminator for SeparateRecognizer {
    fn batch_independent(&self) -> bool {
        self.discriminator.batch_independent() && self.recognizer.batch_independent()
    }

    fn discriminate(&self, data: Tensor<4>, inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        let source = self.discriminator.discriminate(data.clone(), inputs)?;
        let recognized = self.recognizer.discriminate(data, inputs)?;
        Ok(DiscriminatorOutput { logits: source.logits, class_logits: None, distributions: recognized.distributions })
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        self.discriminator.gradient_penalty(real_data, generated_data, inputs, rng, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::one_hot;
    use crate::penalties::{Activation, Tape};

    /// The critic chain that the gradient penalty differentiates must be the network the losses
    /// use: same logits as `discriminate`, and an input gradient equal to burn's autodiff one.
    fn check_chain<D: GanDiscriminator + SequentialCritic>(d: &D, classes: usize, device: &Device) {
        let mut rng = Rng::seed_from_u64(5);
        let x = rng.uniform([3, 1, 28, 28], -1.0, 1.0, device).require_grad();
        let mut inputs = GeneratorInputs::noise(Tensor::zeros([3, 4], device));
        let mut tape = Tape::new();
        if classes > 0 {
            let labels = one_hot(Tensor::from_ints([2, 0, 1], device), classes);
            inputs = inputs.with_labels(labels.clone());
            tape = Tape::with_conditioning(labels);
        }
        let logits = d.discriminate(x.clone(), &inputs).unwrap().logits;
        let chained = crate::penalties::chain_forward(&d.critic_layers(), Activation::from(x.clone()), &mut tape)
            .unwrap()
            .features("logits")
            .unwrap();
        let gap = logits.clone().sub(chained.clone()).abs().max().into_scalar::<f32>();
        assert!(gap < 1e-5, "chain logits differ from discriminate's by {gap}");
        let from_chain = crate::penalties::chain_input_gradient(
            &d.critic_layers(),
            Activation::from(chained.ones_like()),
            &mut tape,
        )
        .unwrap()
        .maps("input")
        .unwrap();
        let grads = logits.sum().backward();
        let from_autodiff = x.grad(&grads).unwrap();
        let scale = from_autodiff.clone().abs().max().into_scalar::<f32>();
        let gap = from_chain.sub(from_autodiff).abs().max().into_scalar::<f32>();
        assert!(scale > 0.0 && gap <= 1e-5 * scale.max(1.0), "input gradients differ by {gap} (scale {scale})");
    }

    #[test]
    fn critic_chains_match_the_networks_and_their_gradients() {
        let device = Device::default().autodiff();
        let mut rng = Rng::seed_from_u64(0);
        for classes in [0, 10] {
            let mlp = MlpDiscriminatorConfig::new().with_num_classes(classes).init(&mut rng, &device).unwrap();
            check_chain(&mlp, classes, &device);
            let conv = ConvDiscriminatorConfig::new().with_num_classes(classes).init(&mut rng, &device).unwrap();
            check_chain(&conv, classes, &device);
        }
    }

    #[test]
    fn bad_shapes_and_configs_are_errors() {
        let device = Device::default();
        let mut rng = Rng::seed_from_u64(0);
        assert!(MlpGeneratorConfig::new().with_noise_dims(0).init(&mut rng, &device).is_err());
        assert!(MlpGeneratorConfig::new().with_hidden(vec![]).init(&mut rng, &device).is_err());
        assert!(MlpDiscriminatorConfig::new().with_hidden(vec![4, 0]).init(&mut rng, &device).is_err());
        let g = MlpGeneratorConfig::new().with_num_classes(10).init(&mut rng, &device).unwrap();
        let noise = GeneratorInputs::noise(Tensor::zeros([2, 100], &device));
        let err = g.generate(&noise).unwrap_err().to_string();
        assert!(err.contains("label"), "{err}");
        let wrong = noise.clone().with_labels(Tensor::zeros([2, 3], &device));
        assert!(g.generate(&wrong).unwrap_err().to_string().contains("num_classes = 10"));
        let d = ConvDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
        let err = d.discriminate(Tensor::zeros([2, 1, 32, 32], &device), &noise).unwrap_err().to_string();
        assert!(err.contains("[2, 1, 32, 32]") && err.contains("28"), "{err}");
    }
}
