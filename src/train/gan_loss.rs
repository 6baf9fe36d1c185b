//! TF-GAN's second step, the loss assembly (`gan_loss`).

use burn::prelude::*;

use super::GanLossKind;
use crate::error::{Result, RganError};
use crate::losses::{
    AcganDiscriminatorLossOptions, DiscriminatorLossOptions, GeneratorLossOptions,
    LeastSquaresDiscriminatorLossOptions, LeastSquaresGeneratorLossOptions, WassersteinHingeDiscriminatorLossOptions,
    WeightedDiscriminatorLossOptions, WeightedLossOptions, acgan_discriminator_loss, acgan_generator_loss,
    least_squares_discriminator_loss, least_squares_generator_loss, minimax_discriminator_loss, minimax_generator_loss,
    modified_discriminator_loss, modified_generator_loss, mutual_information_penalty, relativistic_discriminator_loss,
    relativistic_generator_loss, wasserstein_discriminator_loss, wasserstein_generator_loss,
    wasserstein_hinge_discriminator_loss, wasserstein_hinge_generator_loss,
};
use crate::model::{DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GanOutputs, GeneratorInputs};
use crate::penalties::GradientPenaltyOptions;
use crate::rng::Rng;

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
}

impl GanLossConfig {
    /// Errors when a term's weight is negative or NaN.
    pub(crate) fn check_weights(&self) -> Result<()> {
        for (name, weight) in [
            ("gradient_penalty_weight", self.gradient_penalty_weight),
            ("mutual_information_penalty_weight", self.mutual_information_penalty_weight),
            ("aux_cond_generator_weight", self.aux_cond_generator_weight),
            ("aux_cond_discriminator_weight", self.aux_cond_discriminator_weight),
        ] {
            used(name, weight)?;
        }
        Ok(())
    }
}

fn used(name: &str, weight: Option<f64>) -> Result<Option<f64>> {
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
    let loss = match kind {
        GanLossKind::Minimax => minimax_discriminator_loss(real, generated, &DiscriminatorLossOptions::default())?,
        GanLossKind::Modified => modified_discriminator_loss(real, generated, &DiscriminatorLossOptions::default())?,
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
/// ACGAN terms and each network's regularization loss. `rng` draws the penalty's interpolation
/// points.
///
/// Errors, as TF-GAN, when a weight is negative, when the mutual information weight is set but
/// the discriminator predicts no distributions, or an ACGAN weight is set but it returns no class
/// logits.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanModel, GeneratorInputs, MnistDiscriminatorConfig, MnistGeneratorConfig};
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
pub fn gan_loss<G: GanGenerator, D: GanDiscriminator>(
    model: &GanModel<G, D>,
    outputs: &GanOutputs,
    config: &GanLossConfig,
    rng: &mut Rng,
) -> Result<GanLoss> {
    config.check_weights()?;
    let generator_loss = generator_side_loss(
        model,
        &outputs.generator_inputs,
        &outputs.discriminator_real_outputs,
        &outputs.discriminator_gen_outputs_for_generator,
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
        generator_loss,
        discriminator_loss: side.loss,
        gradient_penalty: side.gradient_penalty,
        mutual_information_penalty: side.mutual_information_penalty,
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

/// The generator's half of [`gan_loss`]: its adversarial loss on the frozen discriminator's pass
/// over the generated data (`generated`), the mutual information penalty, the ACGAN term and the
/// generator's regularization. `real` (the discriminator on the real batch, its logits
/// detached) is read by the relativistic loss only.
pub(crate) fn generator_side_loss<G: GanGenerator, D: GanDiscriminator>(
    model: &GanModel<G, D>,
    generator_inputs: &GeneratorInputs,
    real: &DiscriminatorOutput,
    generated: &DiscriminatorOutput,
    config: &GanLossConfig,
) -> Result<Tensor<1>> {
    let mi_weight = used("mutual_information_penalty_weight", config.mutual_information_penalty_weight)?;
    let ac_weight = used("aux_cond_generator_weight", config.aux_cond_generator_weight)?;
    let mut loss = generator_adversarial_loss(config.loss, real.logits.clone().detach(), generated.logits.clone())?;
    if let Some(weight) = mi_weight {
        if generated.distributions.is_empty() || generator_inputs.structured.is_empty() {
            return Err(mutual_information_inputs_error());
        }
        let on_g = mutual_information_penalty(
            &generator_inputs.structured,
            &generated.distributions,
            &WeightedLossOptions::default(),
        )?;
        loss = loss + on_g.mul_scalar(weight);
    }
    if let Some(weight) = ac_weight {
        let classes = generated.class_logits.as_ref().ok_or_else(|| class_logits_error("aux_cond_generator_weight"))?;
        let labels = generator_inputs.labels("an ACGAN loss")?.detach();
        let ac = acgan_generator_loss(classes.clone(), labels, &WeightedLossOptions::default())?;
        loss = loss + ac.mul_scalar(weight);
    }
    if let Some(reg) = model.generator.regularization_loss() {
        loss = loss + reg;
    }
    Ok(loss)
}

/// What the discriminator's half of [`gan_loss`] reads: the real batch and the generated one (the
/// penalty's interpolation end points), the generator inputs, and the trainable
/// discriminator's passes over the real and the (detached) generated data.
pub(crate) struct DiscriminatorSideInputs<'a> {
    pub real_data: &'a Tensor<4>,
    pub generated_data: &'a Tensor<4>,
    pub generator_inputs: &'a GeneratorInputs,
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
pub(crate) fn discriminator_side_loss<G: GanGenerator, D: GanDiscriminator>(
    model: &GanModel<G, D>,
    inputs: DiscriminatorSideInputs<'_>,
    config: &GanLossConfig,
    rng: &mut Rng,
) -> Result<DiscriminatorSideLoss> {
    let gp_weight = used("gradient_penalty_weight", config.gradient_penalty_weight)?;
    let mi_weight = used("mutual_information_penalty_weight", config.mutual_information_penalty_weight)?;
    let ac_weight = used("aux_cond_discriminator_weight", config.aux_cond_discriminator_weight)?;
    let DiscriminatorSideInputs { real_data, generated_data, generator_inputs, real, generated } = inputs;
    let mut loss = discriminator_adversarial_loss(config.loss, real.logits.clone(), generated.logits.clone())?;

    let mut gradient_penalty = None;
    if let Some(weight) = gp_weight {
        let options = GradientPenaltyOptions {
            epsilon: config.gradient_penalty_epsilon,
            target: config.gradient_penalty_target,
            one_sided: config.gradient_penalty_one_sided,
            ..Default::default()
        };
        let penalty = model.discriminator.gradient_penalty(
            real_data.clone(),
            generated_data.clone().detach(),
            &generator_inputs.detach(),
            rng,
            &options,
        )?;
        loss = loss + penalty.clone().mul_scalar(weight);
        gradient_penalty = Some(penalty);
    }

    let mut mutual_information = None;
    if let Some(weight) = mi_weight {
        if generated.distributions.is_empty() || generator_inputs.structured.is_empty() {
            return Err(mutual_information_inputs_error());
        }
        let codes = generator_inputs.detach().structured;
        let on_d = mutual_information_penalty(&codes, &generated.distributions, &WeightedLossOptions::default())?;
        loss = loss + on_d.clone().mul_scalar(weight);
        mutual_information = Some(on_d);
    }

    if let Some(weight) = ac_weight {
        let (Some(real_classes), Some(gen_classes)) = (&real.class_logits, &generated.class_logits) else {
            return Err(class_logits_error("aux_cond_discriminator_weight"));
        };
        let labels = generator_inputs.labels("an ACGAN loss")?.detach();
        let ac = acgan_discriminator_loss(
            real_classes.clone(),
            gen_classes.clone(),
            labels,
            &AcganDiscriminatorLossOptions::default(),
        )?;
        loss = loss + ac.mul_scalar(weight);
    }

    if let Some(reg) = model.discriminator.regularization_loss() {
        loss = loss + reg;
    }
    Ok(DiscriminatorSideLoss { loss, gradient_penalty, mutual_information_penalty: mutual_information })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::StructuredInput;
    use crate::model::{GeneratorInputs, MnistDiscriminatorConfig, MnistGeneratorConfig};

    fn value(t: &Tensor<1>) -> f64 {
        t.clone().into_scalar::<f64>()
    }

    /// The assembled losses are exactly the sum of their documented parts.
    #[test]
    fn wasserstein_with_penalty_is_the_sum_of_its_terms() {
        let device = Device::default().autodiff();
        let mut rng = Rng::seed_from_u64(3);
        let model = GanModel {
            generator: MnistGeneratorConfig::new().init(&mut rng, &device).unwrap(),
            discriminator: MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap(),
        };
        let inputs = GeneratorInputs::noise(rng.normal([4, 64], 0.0, 1.0, &device));
        let outputs = model.run(rng.uniform([4, 1, 28, 28], -1.0, 1.0, &device), inputs).unwrap();
        let config = GanLossConfig::new().with_gradient_penalty_weight(Some(10.0));
        let loss = gan_loss(&model, &outputs, &config, &mut rng).unwrap();
        let d_real = outputs.discriminator_real_outputs.logits.clone().mean();
        let d_gen = outputs.discriminator_gen_outputs.logits.clone().mean();
        let g_gen = outputs.discriminator_gen_outputs_for_generator.logits.clone().mean();
        let gp = value(loss.gradient_penalty.as_ref().unwrap());
        let d_reg = value(&model.discriminator.regularization_loss());
        let g_reg = value(&model.generator.regularization_loss());
        let expected_d = value(&d_gen) - value(&d_real) + 10.0 * gp + d_reg;
        let expected_g = -value(&g_gen) + g_reg;
        assert!((value(&loss.discriminator_loss) - expected_d).abs() < 1e-5, "{expected_d}");
        assert!((value(&loss.generator_loss) - expected_g).abs() < 1e-5, "{expected_g}");
        // The generator loss reaches the generator only; the discriminator loss the discriminator only.
        let grads = loss.generator_loss.backward();
        let g_grads = burn::optim::GradientsParams::from_grads(grads, &model.generator);
        assert!(!g_grads.is_empty());
    }

    #[test]
    fn infogan_and_acgan_terms_need_their_heads() {
        let device = Device::default().autodiff();
        let mut rng = Rng::seed_from_u64(4);
        let model = GanModel {
            generator: MnistGeneratorConfig::new().init(&mut rng, &device).unwrap(),
            discriminator: MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap(),
        };
        let inputs = GeneratorInputs::noise(rng.normal([2, 64], 0.0, 1.0, &device));
        let outputs = model.run(rng.uniform([2, 1, 28, 28], -1.0, 1.0, &device), inputs).unwrap();
        let mi = GanLossConfig::new().with_mutual_information_penalty_weight(Some(1.0));
        let err = gan_loss(&model, &outputs, &mi, &mut rng).unwrap_err().to_string();
        assert!(err.contains("mutual_information_penalty_weight"), "{err}");
        let negative = GanLossConfig::new().with_gradient_penalty_weight(Some(-1.0));
        let err = gan_loss(&model, &outputs, &negative, &mut rng).unwrap_err().to_string();
        assert!(err.contains("gradient_penalty_weight") && err.contains("-1"), "{err}");
    }

    #[test]
    fn infogan_penalty_is_added_to_both_losses() {
        let device = Device::default().autodiff();
        let mut rng = Rng::seed_from_u64(5);
        let model = GanModel {
            generator: MnistGeneratorConfig::new()
                .with_noise_dims(62)
                .with_categorical_dim(10)
                .with_continuous_dim(2)
                .with_weight_decay(0.0)
                .init(&mut rng, &device)
                .unwrap(),
            discriminator: MnistDiscriminatorConfig::new()
                .with_categorical_dim(10)
                .with_continuous_dim(2)
                .with_weight_decay(0.0)
                .init(&mut rng, &device)
                .unwrap(),
        };
        let ids = Tensor::<1, Int>::from_ints([3, 7], &device);
        let codes =
            vec![StructuredInput::ClassIds(ids), StructuredInput::Values(rng.uniform([2, 2], -1.0, 1.0, &device))];
        let inputs = GeneratorInputs::noise(rng.normal([2, 62], 0.0, 1.0, &device)).with_structured(codes);
        let outputs = model.run(rng.uniform([2, 1, 28, 28], -1.0, 1.0, &device), inputs).unwrap();
        let plain = GanLossConfig::new().with_loss(GanLossKind::Modified);
        let with_mi = plain.clone().with_mutual_information_penalty_weight(Some(2.0));
        let a = gan_loss(&model, &outputs, &plain, &mut rng).unwrap();
        let b = gan_loss(&model, &outputs, &with_mi, &mut rng).unwrap();
        let mi = value(b.mutual_information_penalty.as_ref().unwrap());
        assert!(mi > 0.0);
        assert!((value(&b.discriminator_loss) - value(&a.discriminator_loss) - 2.0 * mi).abs() < 1e-5);
        // The generator side uses the frozen discriminator's pass (its own spectral-norm step).
        let on_g = mutual_information_penalty(
            &outputs.generator_inputs.structured,
            &outputs.discriminator_gen_outputs_for_generator.distributions,
            &WeightedLossOptions::default(),
        )
        .unwrap();
        assert!((value(&b.generator_loss) - value(&a.generator_loss) - 2.0 * value(&on_g)).abs() < 1e-5);
    }
}
