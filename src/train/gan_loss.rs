//! TF-GAN's second step, the loss assembly (`gan_loss`), over any generator inputs.

use burn::prelude::*;

use super::GanLossKind;
use crate::error::{Result, RganError};
use crate::losses::{
    AcganDiscriminatorLossOptions, CombineAdversarialLossOptions, DiscriminatorLossOptions, GeneratorLossOptions,
    LeastSquaresDiscriminatorLossOptions, LeastSquaresGeneratorLossOptions, WassersteinHingeDiscriminatorLossOptions,
    WeightedDiscriminatorLossOptions, WeightedLossOptions, acgan_discriminator_loss, acgan_generator_loss,
    combine_adversarial_loss, least_squares_discriminator_loss, least_squares_generator_loss,
    minimax_discriminator_loss, minimax_generator_loss, modified_discriminator_loss, modified_generator_loss,
    mutual_information_penalty, relativistic_discriminator_loss, relativistic_generator_loss,
    wasserstein_discriminator_loss, wasserstein_generator_loss, wasserstein_hinge_discriminator_loss,
    wasserstein_hinge_generator_loss,
};
use crate::model::{DiscriminatorOutput, GanDiscriminator, GanGenerator, GanInputs, GanModel, GanOutputs};
use crate::penalties::GradientPenaltyOptions;
use crate::rng::Rng;

/// A pixel loss between two batches of images, as `tf.compat.v1.losses`.
///
/// ```
/// assert_eq!(rgan::train::PixelLoss::default(), rgan::train::PixelLoss::L1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PixelLoss {
    /// `absolute_difference`: the mean of `|real - generated|` over every element.
    #[default]
    L1,
    /// `mean_squared_error`: the mean of `(real - generated)²` over every element.
    L2,
    /// `tf.norm(real - generated, ord=1)`: the sum of `|real - generated|` over every element
    /// of the batch (TF-GAN's image compression example's pixel loss).
    L1Norm,
}

impl PixelLoss {
    /// The loss between `real` and `generated` (of one shape), `[1]`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::train::PixelLoss;
    /// let device = Device::default();
    /// let a = Tensor::<4>::from_floats([[[[1.0, -1.0]]]], &device);
    /// let b = Tensor::<4>::from_floats([[[[0.0, 1.0]]]], &device);
    /// assert_eq!(PixelLoss::L1.loss(a.clone(), b.clone()).unwrap().into_scalar::<f32>(), 1.5);
    /// assert_eq!(PixelLoss::L2.loss(a.clone(), b.clone()).unwrap().into_scalar::<f32>(), 2.5);
    /// assert_eq!(PixelLoss::L1Norm.loss(a, b).unwrap().into_scalar::<f32>(), 3.0);
    /// ```
    pub fn loss(self, real: Tensor<4>, generated: Tensor<4>) -> Result<Tensor<1>> {
        crate::model::check_generated_shape(&real, &generated)?;
        let difference = real - generated;
        Ok(match self {
            Self::L1 => crate::ops::mean(difference.abs()),
            Self::L2 => crate::ops::mean(difference.square()),
            Self::L1Norm => difference.abs().sum(),
        })
    }
}

/// A non-adversarial pixel loss between the generated data and the real data (its paired
/// target), which TF-GAN's `combine_adversarial_loss(gan_loss, gan_model, non_adversarial_loss,
/// weight_factor)` makes the generator's main loss: `pixel + weight_factor × generator_loss`
/// (`weight_factor` 0: no adversarial loss at all). Image-to-image translation and compression
/// train this way.
///
/// ```
/// let config = rgan::train::NonAdversarialLossConfig::new(0.01);
/// assert_eq!(config.loss, rgan::train::PixelLoss::L1);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct NonAdversarialLossConfig {
    /// The weight of the adversarial (generator) loss beside the pixel loss.
    pub weight_factor: f64,
    /// The pixel loss. Default L1.
    #[config(default = "PixelLoss::L1")]
    pub loss: PixelLoss,
}

/// TF-GAN's `gan_loss` arguments. The default is `gan_loss(model)`'s: Wasserstein losses and
/// nothing else.
///
/// ```
/// let config = rgan::train::GanLossConfig::new();
/// assert_eq!(config.loss, rgan::train::GanLossKind::Wasserstein);
/// assert_eq!((config.gradient_penalty_weight, config.gradient_penalty_epsilon), (None, 1e-10));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct GanLossConfig {
    /// The generator and discriminator losses (`generator_loss_fn`, `discriminator_loss_fn`),
    /// with TF-GAN's default arguments. Default [`GanLossKind::Wasserstein`].
    #[config(default = "GanLossKind::Wasserstein")]
    pub loss: GanLossKind,
    /// The one-sided label smoothing of the minimax and modified discriminator losses (TF-GAN's
    /// `label_smoothing` argument; 0 for the original GAN). Default 0.25 (TF-GAN's).
    #[config(default = 0.25)]
    pub discriminator_label_smoothing: f64,
    /// Weight of `wasserstein_gradient_penalty` in the discriminator loss. Default none.
    pub gradient_penalty_weight: Option<f64>,
    /// The penalty's epsilon inside the square root. Default 1e-10.
    #[config(default = 1e-10)]
    pub gradient_penalty_epsilon: f64,
    /// The penalty's target norm. Default 1.0.
    #[config(default = 1.0)]
    pub gradient_penalty_target: f64,
    /// Penalize only norms above the target. Default false.
    #[config(default = false)]
    pub gradient_penalty_one_sided: bool,
    /// Weight of InfoGAN's mutual information penalty (added to both losses). Default none.
    pub mutual_information_penalty_weight: Option<f64>,
    /// Weight of `acgan_generator_loss` in the generator loss. Default none.
    pub aux_cond_generator_weight: Option<f64>,
    /// Weight of `acgan_discriminator_loss` in the discriminator loss. Default none.
    pub aux_cond_discriminator_weight: Option<f64>,
    /// A pixel loss combined with the generator loss by `combine_adversarial_loss` (see
    /// [`NonAdversarialLossConfig`]). Default none.
    pub non_adversarial: Option<NonAdversarialLossConfig>,
}

/// What [`gan_loss`] assembled (TF-GAN's `GANLoss`, plus the terms for summaries).
#[derive(Clone, Debug)]
pub struct GanLoss {
    /// The generator's total loss, `[1]`.
    pub generator_loss: Tensor<1>,
    /// The discriminator's total loss, `[1]`.
    pub discriminator_loss: Tensor<1>,
    /// The (unweighted) gradient penalty, when used.
    pub gradient_penalty: Option<Tensor<1>>,
    /// The (unweighted) mutual information penalty, when used.
    pub mutual_information_penalty: Option<Tensor<1>>,
    /// The non-adversarial pixel loss, when used.
    pub pixel_loss: Option<Tensor<1>>,
}

impl GanLossConfig {
    /// Errors when a term's weight is negative or NaN.
    pub(crate) fn check_weights(&self) -> Result<()> {
        for (name, weight) in [
            ("gradient_penalty_weight", self.gradient_penalty_weight),
            ("mutual_information_penalty_weight", self.mutual_information_penalty_weight),
            ("aux_cond_generator_weight", self.aux_cond_generator_weight),
            ("aux_cond_discriminator_weight", self.aux_cond_discriminator_weight),
            ("non_adversarial.weight_factor", self.non_adversarial.as_ref().map(|n| n.weight_factor)),
        ] {
            used(name, weight)?;
        }
        Ok(())
    }

    /// The gradient penalty's options.
    pub(crate) fn penalty_options(&self) -> GradientPenaltyOptions {
        GradientPenaltyOptions {
            epsilon: self.gradient_penalty_epsilon,
            target: self.gradient_penalty_target,
            one_sided: self.gradient_penalty_one_sided,
            ..Default::default()
        }
    }
}

pub(crate) fn used(name: &str, weight: Option<f64>) -> Result<Option<f64>> {
    match weight {
        Some(w) if w.is_nan() || w < 0.0 => Err(RganError::invalid(name, format!("is {w}; it must be ≥ 0"))),
        Some(w) if w > 0.0 => Ok(Some(w)),
        _ => Ok(None),
    }
}

/// The generator loss `generator_loss_fn(discriminator_gen_outputs)` (and, for the
/// relativistic losses, the real outputs too) with TF-GAN's default arguments, `[1]`.
pub fn generator_adversarial_loss(kind: GanLossKind, real: Tensor<2>, generated: Tensor<2>) -> Result<Tensor<1>> {
    let loss = match kind {
        GanLossKind::Minimax => minimax_generator_loss(generated, &GeneratorLossOptions::default())?,
        GanLossKind::Modified => modified_generator_loss(generated, &GeneratorLossOptions::default())?,
        GanLossKind::Wasserstein => wasserstein_generator_loss(generated, &WeightedLossOptions::default())?,
        GanLossKind::WassersteinHinge => wasserstein_hinge_generator_loss(generated, &WeightedLossOptions::default())?,
        GanLossKind::LeastSquares => {
            least_squares_generator_loss(generated, &LeastSquaresGeneratorLossOptions::default())?
        }
        GanLossKind::Relativistic => relativistic_generator_loss(real, generated)?,
    };
    Ok(loss.reshape([1]))
}

/// The discriminator loss `discriminator_loss_fn(real, generated)` with TF-GAN's default
/// arguments (label smoothing 0.25 for minimax/modified), `[1]`.
pub fn discriminator_adversarial_loss(kind: GanLossKind, real: Tensor<2>, generated: Tensor<2>) -> Result<Tensor<1>> {
    discriminator_loss_with(kind, DiscriminatorLossOptions::<2>::default().label_smoothing, real, generated)
}

/// [`discriminator_adversarial_loss`] with the minimax/modified losses' `label_smoothing`.
pub(crate) fn discriminator_loss_with(
    kind: GanLossKind,
    label_smoothing: f64,
    real: Tensor<2>,
    generated: Tensor<2>,
) -> Result<Tensor<1>> {
    let smoothed = DiscriminatorLossOptions { label_smoothing, ..Default::default() };
    let loss = match kind {
        GanLossKind::Minimax => minimax_discriminator_loss(real, generated, &smoothed)?,
        GanLossKind::Modified => modified_discriminator_loss(real, generated, &smoothed)?,
        GanLossKind::Wasserstein => {
            wasserstein_discriminator_loss(real, generated, &WeightedDiscriminatorLossOptions::default())?
        }
        GanLossKind::WassersteinHinge => {
            wasserstein_hinge_discriminator_loss(real, generated, &WassersteinHingeDiscriminatorLossOptions::default())?
        }
        GanLossKind::LeastSquares => {
            least_squares_discriminator_loss(real, generated, &LeastSquaresDiscriminatorLossOptions::default())?
        }
        GanLossKind::Relativistic => relativistic_discriminator_loss(real, generated)?,
    };
    Ok(loss.reshape([1]))
}

/// TF-GAN's `gan_loss`: the generator and discriminator losses of a model run, with the
/// gradient penalty (discriminator side), the mutual information penalty (both sides), the
/// ACGAN terms, each network's regularization loss and, with
/// [`non_adversarial`](GanLossConfig::non_adversarial), the generator loss combined with a pixel
/// loss (`combine_adversarial_loss`). `rng` draws the penalty's interpolation points.
///
/// Errors, as TF-GAN, when a weight is negative, when the mutual information weight is set but
/// the discriminator predicts no distributions, or an ACGAN weight is set but it returns no class
/// logits.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanModel, GeneratorInputs};
/// use rgan::recipes::mnist::{MnistDiscriminatorConfig, MnistGeneratorConfig};
/// use rgan::train::{GanLossConfig, GanLossKind, gan_loss};
/// let device = Device::default().autodiff();
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let model = GanModel {
///     generator: MnistGeneratorConfig::new().init(&mut rng, &device).unwrap(),
///     discriminator: MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap(),
/// };
/// let inputs = GeneratorInputs::noise(rng.normal([4, 64], 0.0, 1.0, &device));
/// let outputs = model.run(rng.uniform([4, 1, 28, 28], -1.0, 1.0, &device), inputs).unwrap();
/// let config = GanLossConfig::new().with_gradient_penalty_weight(Some(10.0));
/// let loss = gan_loss(&model, &outputs, &config, &mut rng).unwrap();
/// assert!(loss.gradient_penalty.is_some());
/// let bad = GanLossConfig::new().with_aux_cond_generator_weight(Some(1.0));
/// assert!(gan_loss(&model, &outputs, &bad, &mut rng).unwrap_err().to_string().contains("class logits"));
/// ```
pub fn gan_loss<I, G, D>(
    model: &GanModel<G, D>,
    outputs: &GanOutputs<I>,
    config: &GanLossConfig,
    rng: &mut Rng,
) -> Result<GanLoss>
where
    I: GanInputs,
    G: GanGenerator<I>,
    D: GanDiscriminator<I>,
{
    config.check_weights()?;
    let generator = generator_side_loss(
        model,
        GeneratorSideInputs {
            generator_inputs: &outputs.generator_inputs,
            real_data: &outputs.real_data,
            generated_data: &outputs.generated_data,
            real: Some(&outputs.discriminator_real_outputs),
            generated: &outputs.discriminator_gen_outputs_for_generator,
        },
        config,
    )?;
    let side = discriminator_side_loss(
        model,
        DiscriminatorSideInputs {
            real_data: &outputs.real_data,
            generated_data: &outputs.generated_data,
            generator_inputs: &outputs.generator_inputs,
            real: &outputs.discriminator_real_outputs,
            generated: &outputs.discriminator_gen_outputs,
        },
        config,
        rng,
    )?;
    Ok(GanLoss {
        generator_loss: generator.loss,
        discriminator_loss: side.loss,
        gradient_penalty: side.gradient_penalty,
        mutual_information_penalty: side.mutual_information_penalty,
        pixel_loss: generator.pixel_loss,
    })
}

fn mutual_information_inputs_error() -> RganError {
    RganError::invalid(
        "mutual_information_penalty_weight",
        "is set but the model is not an InfoGAN (no structured inputs or predicted distributions)",
    )
}

fn class_logits_error(name: &str) -> RganError {
    RganError::invalid(name, "is set but the discriminator returns no class logits (not an ACGAN)")
}

fn labels_of<I: GanInputs>(inputs: &I) -> Result<Tensor<2>> {
    inputs.one_hot_labels().map(Tensor::detach).ok_or_else(|| {
        RganError::invalid("generator_inputs", "an ACGAN loss needs one-hot labels but the inputs have none")
    })
}

/// What the generator's half of [`gan_loss`] reads.
pub(crate) struct GeneratorSideInputs<'a, I> {
    pub generator_inputs: &'a I,
    /// The real batch (the pixel loss's target).
    pub real_data: &'a Tensor<4>,
    /// The generated batch, attached to the generator.
    pub generated_data: &'a Tensor<4>,
    /// The discriminator on the real batch: read by the relativistic loss only.
    pub real: Option<&'a DiscriminatorOutput>,
    /// The frozen discriminator's pass over the generated data.
    pub generated: &'a DiscriminatorOutput,
}

/// The generator's half of [`gan_loss`].
pub(crate) struct GeneratorSideLoss {
    pub loss: Tensor<1>,
    pub pixel_loss: Option<Tensor<1>>,
}

/// Whether the generator's loss reads the discriminator's outputs on real data (the relativistic
/// losses do).
pub(crate) fn reads_real_outputs(kind: GanLossKind) -> bool {
    kind == GanLossKind::Relativistic
}

/// The generator's half of [`gan_loss`]: its adversarial loss on the frozen discriminator's pass
/// over the generated data, the mutual information penalty, the ACGAN term and the generator's
/// regularization, combined with the pixel loss when configured. The real outputs' logits are
/// detached.
pub(crate) fn generator_side_loss<I, G, D>(
    model: &GanModel<G, D>,
    inputs: GeneratorSideInputs<'_, I>,
    config: &GanLossConfig,
) -> Result<GeneratorSideLoss>
where
    I: GanInputs,
    G: GanGenerator<I>,
{
    let GeneratorSideInputs { generator_inputs, real_data, generated_data, real, generated } = inputs;
    let mi_weight = used("mutual_information_penalty_weight", config.mutual_information_penalty_weight)?;
    let ac_weight = used("aux_cond_generator_weight", config.aux_cond_generator_weight)?;
    let real_logits = match real {
        Some(real) => real.logits.clone().detach(),
        None if reads_real_outputs(config.loss) => {
            return Err(RganError::invalid(
                "loss",
                "the relativistic generator loss needs the discriminator's outputs on the real batch",
            ));
        }
        None => generated.logits.clone().detach(), // not read by this loss
    };
    let mut loss = generator_adversarial_loss(config.loss, real_logits, generated.logits.clone())?;
    if let Some(weight) = mi_weight {
        if generated.distributions.is_empty() || generator_inputs.structured().is_empty() {
            return Err(mutual_information_inputs_error());
        }
        let on_g = mutual_information_penalty(
            generator_inputs.structured(),
            &generated.distributions,
            &WeightedLossOptions::default(),
        )?;
        loss = loss + on_g.mul_scalar(weight);
    }
    if let Some(weight) = ac_weight {
        let classes = generated.class_logits.as_ref().ok_or_else(|| class_logits_error("aux_cond_generator_weight"))?;
        let ac = acgan_generator_loss(classes.clone(), labels_of(generator_inputs)?, &WeightedLossOptions::default())?;
        loss = loss + ac.mul_scalar(weight);
    }
    if let Some(reg) = model.generator.regularization_loss() {
        loss = loss + reg;
    }
    let Some(non_adversarial) = &config.non_adversarial else {
        return Ok(GeneratorSideLoss { loss, pixel_loss: None });
    };
    let pixel = non_adversarial.loss.loss(real_data.clone().detach(), generated_data.clone())?;
    let combined = combine_adversarial_loss(
        pixel.clone(),
        loss,
        &CombineAdversarialLossOptions::weight_factor(non_adversarial.weight_factor),
    )?;
    Ok(GeneratorSideLoss { loss: combined, pixel_loss: Some(pixel) })
}

/// What the discriminator's half of [`gan_loss`] reads: the real batch and the generated one (the
/// penalty's interpolation end points), the generator inputs, and the trainable
/// discriminator's passes over the real and the (detached) generated data.
pub(crate) struct DiscriminatorSideInputs<'a, I> {
    pub real_data: &'a Tensor<4>,
    pub generated_data: &'a Tensor<4>,
    pub generator_inputs: &'a I,
    pub real: &'a DiscriminatorOutput,
    pub generated: &'a DiscriminatorOutput,
}

/// The discriminator's half of [`gan_loss`].
pub(crate) struct DiscriminatorSideLoss {
    pub loss: Tensor<1>,
    pub gradient_penalty: Option<Tensor<1>>,
    pub mutual_information_penalty: Option<Tensor<1>>,
}

/// The discriminator's half of [`gan_loss`]: its adversarial loss, the gradient penalty (the
/// only term that draws from `rng`), the mutual information penalty, the ACGAN term and the
/// discriminator's regularization.
pub(crate) fn discriminator_side_loss<I, G, D>(
    model: &GanModel<G, D>,
    inputs: DiscriminatorSideInputs<'_, I>,
    config: &GanLossConfig,
    rng: &mut Rng,
) -> Result<DiscriminatorSideLoss>
where
    I: GanInputs,
    D: GanDiscriminator<I>,
{
    let gp_weight = used("gradient_penalty_weight", config.gradient_penalty_weight)?;
    let mi_weight = used("mutual_information_penalty_weight", config.mutual_information_penalty_weight)?;
    let ac_weight = used("aux_cond_discriminator_weight", config.aux_cond_discriminator_weight)?;
    let DiscriminatorSideInputs { real_data, generated_data, generator_inputs, real, generated } = inputs;
    let mut loss = discriminator_loss_with(
        config.loss,
        config.discriminator_label_smoothing,
        real.logits.clone(),
        generated.logits.clone(),
    )?;

    let mut gradient_penalty = None;
    if let Some(weight) = gp_weight {
        let penalty = model.discriminator.gradient_penalty(
            real_data.clone(),
            generated_data.clone().detach(),
            &generator_inputs.detach(),
            rng,
            &config.penalty_options(),
        )?;
        loss = loss + penalty.clone().mul_scalar(weight);
        gradient_penalty = Some(penalty);
    }

    let mut mutual_information = None;
    if let Some(weight) = mi_weight {
        if generated.distributions.is_empty() || generator_inputs.structured().is_empty() {
            return Err(mutual_information_inputs_error());
        }
        let codes = generator_inputs.detach();
        let on_d =
            mutual_information_penalty(codes.structured(), &generated.distributions, &WeightedLossOptions::default())?;
        loss = loss + on_d.clone().mul_scalar(weight);
        mutual_information = Some(on_d);
    }

    if let Some(weight) = ac_weight {
        let (Some(real_classes), Some(gen_classes)) = (&real.class_logits, &generated.class_logits) else {
            return Err(class_logits_error("aux_cond_discriminator_weight"));
        };
        let ac = acgan_discriminator_loss(
            real_classes.clone(),
            gen_classes.clone(),
            labels_of(generator_inputs)?,
            &AcganDiscriminatorLossOptions::default(),
        )?;
        loss = loss + ac.mul_scalar(weight);
    }

    if let Some(reg) = model.discriminator.regularization_loss() {
        loss = loss + reg;
    }
    Ok(DiscriminatorSideLoss { loss, gradient_penalty, mutual_information_penalty: mutual_information })
}
