//! TF-GAN's first step, the GAN model: a generator and a discriminator (any burn modules that
//! implement [`GanGenerator`] and [`GanDiscriminator`]) run on a batch.
//!
//! Both traits are generic over the generator's inputs (TF-GAN's `generator_inputs`, any
//! structure of tensors: [`GanInputs`]); the default is noise with optional labels and codes,
//! [`GeneratorInputs`]. TF-GAN's `GANModel`, `InfoGANModel` and `ACGANModel` tuples become one
//! eager [`GanOutputs`]: the discriminator returns a [`DiscriminatorOutput`] whose optional parts
//! (ACGAN's class logits, InfoGAN's predicted distributions) say which kind of GAN it is. As in
//! TF-GAN, the discriminator always receives the generator inputs as its second argument (that is
//! how labels reach a conditional discriminator; others ignore it).

use burn::module::Module;
use burn::prelude::*;

use super::{GanInputs, GeneratorInputs};
use crate::error::{Result, RganError};
use crate::losses::Distribution;
use crate::penalties::GradientPenaltyOptions;
use crate::rng::Rng;

/// How a generator's batch-norm layers normalize.
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

/// What the discriminator returns: the real/fake logits (TF-GAN's discriminator outputs) and,
/// for ACGAN, class logits, for InfoGAN, the recognizer's distributions over the structured
/// codes.
///
/// ```
/// use burn::prelude::*;
/// let out = rgan::model::DiscriminatorOutput::logits(Tensor::zeros([2, 1], &Device::default()));
/// assert!(out.class_logits.is_none() && out.distributions.is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct DiscriminatorOutput {
    /// Real/fake logits `[batch, 1]`, or `[batch, k]` for a discriminator that scores `k`
    /// patches (a PatchGAN's map, flattened): TF-GAN's losses reduce over every element.
    pub logits: Tensor<2>,
    /// ACGAN's class logits `[batch, num_classes]`.
    pub class_logits: Option<Tensor<2>>,
    /// InfoGAN's predicted distributions, one per structured code.
    pub distributions: Vec<Distribution>,
}

impl DiscriminatorOutput {
    /// An output made of logits only.
    pub fn logits(logits: Tensor<2>) -> Self {
        Self { logits, class_logits: None, distributions: Vec::new() }
    }

    /// The outputs of the examples `rows` (a batch of a stacked pass).
    pub(crate) fn rows(&self, rows: std::ops::Range<usize>) -> Self {
        let cut = |t: &Tensor<2>| t.clone().slice(rows.clone());
        Self {
            logits: cut(&self.logits),
            class_logits: self.class_logits.as_ref().map(cut),
            distributions: self
                .distributions
                .iter()
                .map(|d| match d {
                    Distribution::Categorical { logits } => Distribution::Categorical { logits: cut(logits) },
                    Distribution::OneHotCategorical { logits } => {
                        Distribution::OneHotCategorical { logits: cut(logits) }
                    }
                    Distribution::Normal { loc, scale } => Distribution::Normal { loc: cut(loc), scale: cut(scale) },
                })
                .collect(),
        }
    }
}

/// A generator network: TF-GAN's `generator_fn`, generic over what it takes (`I`, by default
/// noise with optional labels and codes).
///
/// ```
/// use burn::nn::{Linear, LinearConfig};
/// use burn::prelude::*;
/// use rgan::model::{GanGenerator, GanInputs, GeneratorInputs};
///
/// #[derive(Module, Debug)]
/// struct Tiny { dense: Linear }
///
/// impl GanGenerator for Tiny {
///     fn generate(&self, inputs: &GeneratorInputs) -> rgan::Result<Tensor<4>> {
///         let n = inputs.batch_size();
///         Ok(self.dense.forward(inputs.noise.clone()).tanh().reshape([n, 1, 2, 2]))
///     }
/// }
///
/// let device = Device::default();
/// let g = Tiny { dense: LinearConfig::new(3, 4).init(&device) };
/// let x = g.generate(&GeneratorInputs::noise(Tensor::zeros([5, 3], &device))).unwrap();
/// assert_eq!(x.dims(), [5, 1, 2, 2]);
/// ```
///
/// An image-to-image generator takes images:
///
/// ```
/// use burn::nn::conv::{Conv2d, Conv2dConfig};
/// use burn::prelude::*;
/// use rgan::model::GanGenerator;
///
/// #[derive(Module, Debug)]
/// struct Colorize { conv: Conv2d }
///
/// impl GanGenerator<Tensor<4>> for Colorize {
///     fn generate(&self, grey: &Tensor<4>) -> rgan::Result<Tensor<4>> {
///         Ok(self.conv.forward(grey.clone()).tanh())
///     }
/// }
///
/// let device = Device::default();
/// let g = Colorize { conv: Conv2dConfig::new([1, 3], [1, 1]).init(&device) };
/// assert_eq!(g.generate(&Tensor::zeros([2, 1, 8, 8], &device)).unwrap().dims(), [2, 3, 8, 8]);
/// ```
pub trait GanGenerator<I: GanInputs = GeneratorInputs>: Module {
    /// Generated data `[batch, C, H, W]` from the inputs (training behaviour on an autodiff
    /// device, inference behaviour otherwise).
    fn generate(&self, inputs: &I) -> Result<Tensor<4>>;

    /// Generated data for image summaries and sampling. Networks with batch norm use the batch's
    /// own statistics here without touching the moving averages (what TF-GAN's training image
    /// summaries show); the default is [`generate`](Self::generate).
    fn sample(&self, inputs: &I) -> Result<Tensor<4>> {
        self.generate(inputs)
    }

    /// Generated data with an explicit batch-norm behaviour (e.g. the moving averages for
    /// evaluation, as TF-GAN's `is_training=False`). The default, for networks without batch
    /// norm, is [`generate`](Self::generate).
    fn generate_with(&self, inputs: &I, mode: BatchNormMode) -> Result<Tensor<4>> {
        let _ = mode;
        self.generate(inputs)
    }

    /// The weight-decay loss to add to the generator loss (TF's regularization losses, which
    /// TF-GAN's `gan_loss` adds), `[1]`; `None` when there is none.
    fn regularization_loss(&self) -> Option<Tensor<1>> {
        None
    }
}

/// A discriminator network: TF-GAN's `discriminator_fn(data, generator_inputs)`, generic over
/// the generator's inputs `I` as [`GanGenerator`] is.
///
/// ```
/// use burn::nn::{Linear, LinearConfig};
/// use burn::prelude::*;
/// use rgan::model::{DiscriminatorOutput, GanDiscriminator, GeneratorInputs};
///
/// #[derive(Module, Debug)]
/// struct Tiny { dense: Linear }
///
/// impl GanDiscriminator for Tiny {
///     fn discriminate(&self, data: Tensor<4>, _: &GeneratorInputs) -> rgan::Result<DiscriminatorOutput> {
///         let n = data.dims()[0];
///         Ok(DiscriminatorOutput::logits(self.dense.forward(data.reshape([n, 4]))))
///     }
/// }
///
/// let device = Device::default();
/// let d = Tiny { dense: LinearConfig::new(4, 1).init(&device) };
/// let inputs = GeneratorInputs::noise(Tensor::zeros([2, 3], &device));
/// let out = d.discriminate(Tensor::zeros([2, 1, 2, 2], &device), &inputs).unwrap();
/// assert_eq!(out.logits.dims(), [2, 1]);
/// ```
pub trait GanDiscriminator<I: GanInputs = GeneratorInputs>: Module {
    /// The discriminator's outputs on `data` (real or generated) given the generator inputs.
    fn discriminate(&self, data: Tensor<4>, inputs: &I) -> Result<DiscriminatorOutput>;

    /// Whether each example's outputs depend on that example and its inputs alone, and a pass
    /// changes no state: no batch statistics, no spectral norm's power iteration. A
    /// discriminator step then runs the real and the generated batch through one pass of twice
    /// the batch, the same numbers with half the passes. Default false.
    fn batch_independent(&self) -> bool {
        false
    }

    /// The weight-decay loss to add to the discriminator loss, `[1]`; `None` when there is none.
    fn regularization_loss(&self) -> Option<Tensor<1>> {
        None
    }

    /// TF-GAN's `wasserstein_gradient_penalty` on this discriminator's real/fake logits,
    /// computed exactly (double backprop through [`CriticLayer`](crate::penalties::CriticLayer));
    /// `[1]`. The default is an error: implement it with
    /// [`wasserstein_gradient_penalty`](crate::penalties::wasserstein_gradient_penalty) when the
    /// network is made of critic layers.
    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        inputs: &I,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        let _ = (real_data, generated_data, inputs, rng, options);
        Err(RganError::invalid(
            "gradient_penalty_weight",
            "is set but this discriminator does not implement `GanDiscriminator::gradient_penalty`",
        ))
    }
}

/// A classifier of images (rgan's MNIST classifier, a guiding classifier): logits
/// `[batch, classes]`.
pub trait ImageClassifier: Module {
    /// Class logits `[batch, classes]` of `images` `[batch, C, H, W]`.
    fn logits(&self, images: Tensor<4>) -> Result<Tensor<2>>;
}

/// A copy of `module` that computes no weight gradients (TF-GAN's generator loss differentiates
/// the discriminator's output with respect to the generated data only), leaving `module` itself
/// trainable.
///
/// burn creates some parameters lazily (its initializers, e.g. batch norm's γ and β, run on
/// first use), and a lazy parameter shares its pending initialization with its clones: `clone()`
/// then `no_grad()` of a network that has not run yet would mark the *original's* parameters as
/// frozen too, and they would silently never train. So every parameter is initialized first.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::BatchNormConfig;
/// use burn::prelude::*;
/// let device = Device::default().autodiff();
/// let norm = BatchNormConfig::new(4).init(&device);
/// let copy = rgan::model::frozen(&norm);
/// assert!(!copy.gamma.val().is_require_grad());
/// assert!(norm.gamma.val().is_require_grad());
/// ```
pub fn frozen<M: Module>(module: &M) -> M {
    struct Initialize;
    impl burn::module::ModuleVisitor for Initialize {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if !param.is_initialized() {
                let _ = param.val();
            }
        }
    }
    module.visit(&mut Initialize);
    module.clone().no_grad()
}

/// Whether every value of `tensor` is finite (one reduction: `x - x` is 0 for a finite value
/// and NaN for NaN or ±∞).
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// assert!(rgan::model::all_finite(&Tensor::<2>::from_floats([[1.0, -3e38]], &device)));
/// assert!(!rgan::model::all_finite(&Tensor::<2>::from_floats([[1.0, f32::INFINITY]], &device)));
/// ```
pub fn all_finite<const D: usize>(tensor: &Tensor<D>) -> bool {
    let t = tensor.clone().detach();
    let probe = (t.clone() - t).sum().into_scalar::<f64>();
    probe == 0.0
}

/// Whether every float parameter of `module` is finite.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// let layer = LinearConfig::new(3, 2).init(&Device::default());
/// assert!(rgan::model::parameters_finite(&layer));
/// ```
pub fn parameters_finite<M: Module>(module: &M) -> bool {
    struct Finite(bool);
    impl burn::module::ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if self.0 {
                self.0 = all_finite(&param.val());
            }
        }
    }
    let mut check = Finite(true);
    module.visit(&mut check);
    check.0
}

/// The two networks of a GAN (TF-GAN's `gan_model` inputs).
#[derive(Clone, Debug)]
pub struct GanModel<G, D> {
    /// The generator.
    pub generator: G,
    /// The discriminator.
    pub discriminator: D,
}

/// A GAN model run on one batch (TF-GAN's `GANModel` tuple, eager).
///
/// There are two discriminator passes on the generated data, because burn differentiates each
/// loss separately: `discriminator_gen_outputs` sees the generated data detached (gradients
/// reach the discriminator only: the discriminator loss), `discriminator_gen_outputs_for_generator`
/// runs a frozen copy of the discriminator (gradients reach the generator only: the generator
/// loss).
#[derive(Clone, Debug)]
pub struct GanOutputs<I = GeneratorInputs> {
    /// The generator's inputs.
    pub generator_inputs: I,
    /// `generator(generator_inputs)`.
    pub generated_data: Tensor<4>,
    /// The real batch.
    pub real_data: Tensor<4>,
    /// `discriminator(real_data, generator_inputs)`.
    pub discriminator_real_outputs: DiscriminatorOutput,
    /// `discriminator(generated_data.detach(), generator_inputs)`.
    pub discriminator_gen_outputs: DiscriminatorOutput,
    /// `frozen(discriminator)(generated_data, generator_inputs)` (see [`frozen`]).
    pub discriminator_gen_outputs_for_generator: DiscriminatorOutput,
}

/// Errors, like TF-GAN's `check_shapes`, when the generated batch's shape is not the real one's.
pub(crate) fn check_generated_shape(real_data: &Tensor<4>, generated_data: &Tensor<4>) -> Result<()> {
    let (real_shape, gen_shape) = (real_data.dims(), generated_data.dims());
    if real_shape != gen_shape {
        return Err(RganError::shape(
            "generated_data",
            &gen_shape,
            format!("but real_data has shape {real_shape:?}; they must be equal"),
        ));
    }
    Ok(())
}

impl<G, D> GanModel<G, D> {
    /// Runs the generator on `inputs` and the discriminator on `real_data` and on the generated
    /// data (TF-GAN's `gan_model` / `infogan_model` / `acgan_model`). Errors, like TF-GAN's
    /// `check_shapes`, when generated and real shapes differ.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::{GanModel, GeneratorInputs};
    /// use rgan::recipes::mnist::{MnistDiscriminatorConfig, MnistGeneratorConfig};
    /// let device = Device::default().autodiff();
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let model = GanModel {
    ///     generator: MnistGeneratorConfig::new().init(&mut rng, &device).unwrap(),
    ///     discriminator: MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap(),
    /// };
    /// let inputs = GeneratorInputs::noise(rng.normal([2, 64], 0.0, 1.0, &device));
    /// let out = model.run(Tensor::zeros([2, 1, 28, 28], &device), inputs).unwrap();
    /// assert_eq!(out.discriminator_gen_outputs.logits.dims(), [2, 1]);
    /// ```
    pub fn run<I: GanInputs>(&self, real_data: Tensor<4>, generator_inputs: I) -> Result<GanOutputs<I>>
    where
        G: GanGenerator<I>,
        D: GanDiscriminator<I>,
    {
        let generated_data = self.generator.generate(&generator_inputs)?;
        self.discriminate(real_data, generator_inputs, generated_data)
    }

    /// The discriminator passes of [`run`](Self::run) on data generated elsewhere.
    pub fn discriminate<I: GanInputs>(
        &self,
        real_data: Tensor<4>,
        generator_inputs: I,
        generated_data: Tensor<4>,
    ) -> Result<GanOutputs<I>>
    where
        D: GanDiscriminator<I>,
    {
        check_generated_shape(&real_data, &generated_data)?;
        let discriminator_real_outputs = self.discriminator.discriminate(real_data.clone(), &generator_inputs)?;
        let detached = generator_inputs.detach();
        let discriminator_gen_outputs = self.discriminator.discriminate(generated_data.clone().detach(), &detached)?;
        let discriminator_gen_outputs_for_generator =
            frozen(&self.discriminator).discriminate(generated_data.clone(), &generator_inputs)?;
        Ok(GanOutputs {
            generator_inputs,
            generated_data,
            real_data,
            discriminator_real_outputs,
            discriminator_gen_outputs,
            discriminator_gen_outputs_for_generator,
        })
    }
}
