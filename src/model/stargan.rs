//! TF-GAN's StarGAN model (`stargan_model`, `StarGANModel`; Choi et al. 2018): one generator
//! translating images into any of several domains, one discriminator with a source head
//! (real/fake) and a domain classifier.
//!
//! In rgan the generator is a [`GanGenerator<ImagesAndLabels>`](GanGenerator) (images and the
//! one-hot target domains) and the discriminator a [`GanDiscriminator<ImagesAndLabels>`]
//! whose [`DiscriminatorOutput`] holds the source logits in `logits` and the domain logits in
//! `class_logits` (TF-GAN's `discriminator_fn(images, num_domains)` returns the pair; it takes no
//! labels, and rgan's discriminator is given the generator inputs only by convention).

use burn::prelude::*;
use burn::tensor::TensorData;

use super::gan::{DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, check_generated_shape, frozen};
use super::inputs::{GanInputs, ImagesAndLabels, one_hot};
use crate::error::{Result, RganError};
use crate::rng::Rng;

/// A StarGAN run on one batch (TF-GAN's `StarGANModel` tuple, eager; TF-GAN spells the
/// discriminator fields `…_predication`).
#[derive(Clone, Debug)]
pub struct StarGanOutputs {
    /// The real images, `[batch, C, H, W]`.
    pub input_data: Tensor<4>,
    /// Their one-hot domains, `[batch, domains]`.
    pub input_data_domain_label: Tensor<2>,
    /// `generator(input_data, generated_data_domain_target)`.
    pub generated_data: Tensor<4>,
    /// The target domains, drawn uniformly per example, one-hot.
    pub generated_data_domain_target: Tensor<2>,
    /// `generator(generated_data, input_data_domain_label)`.
    pub reconstructed_data: Tensor<4>,
    /// The discriminator on the real images: source logits and domain logits (`class_logits`).
    pub discriminator_input_data_prediction: DiscriminatorOutput,
    /// The discriminator on the generated images, detached (the discriminator's loss).
    pub discriminator_generated_data_prediction: DiscriminatorOutput,
    /// A frozen copy of the discriminator on the generated images (the generator's loss).
    pub discriminator_generated_data_prediction_for_generator: DiscriminatorOutput,
}

/// The domain logits of a StarGAN discriminator's output, or an error naming what needs them.
pub(crate) fn domain_logits(output: &DiscriminatorOutput) -> Result<Tensor<2>> {
    output.class_logits.clone().ok_or_else(|| {
        RganError::invalid(
            "discriminator",
            "returns no domain logits (DiscriminatorOutput::class_logits), which StarGAN's classification losses need",
        )
    })
}

/// One-hot target domains `[n, domains]` drawn uniformly (TF-GAN's
/// `generate_stargan_random_domain_target`).
pub(crate) fn random_domains(n: usize, domains: usize, rng: &mut Rng, device: &Device) -> Tensor<2> {
    let ids: Vec<i64> = (0..n).map(|_| rng.below(domains.max(1)) as i64).collect();
    one_hot(Tensor::from_data(TensorData::new(ids, [n]), device), domains)
}

/// TF-GAN's `stargan_model`: draws a target domain per example uniformly from `rng` (TF-GAN's
/// `generate_stargan_random_domain_target`), translates `input_data` into it, translates the
/// result back into `input_data_domain_label`, and runs the discriminator on the real and the
/// generated images.
pub fn stargan_model<G, D>(
    model: &GanModel<G, D>,
    input_data: Tensor<4>,
    input_data_domain_label: Tensor<2>,
    rng: &mut Rng,
) -> Result<StarGanOutputs>
where
    G: GanGenerator<ImagesAndLabels>,
    D: GanDiscriminator<ImagesAndLabels>,
{
    let [n, domains] = input_data_domain_label.dims();
    let target = random_domains(n, domains, rng, &input_data.device());
    stargan_model_with_targets(model, input_data, input_data_domain_label, target)
}

/// [`stargan_model`] with given one-hot target domains `[batch, domains]` (TF-GAN draws them in
/// the graph; given here to reproduce its numbers).
pub fn stargan_model_with_targets<G, D>(
    model: &GanModel<G, D>,
    input_data: Tensor<4>,
    input_data_domain_label: Tensor<2>,
    generated_data_domain_target: Tensor<2>,
) -> Result<StarGanOutputs>
where
    G: GanGenerator<ImagesAndLabels>,
    D: GanDiscriminator<ImagesAndLabels>,
{
    let (labels, target) = (input_data_domain_label.dims(), generated_data_domain_target.dims());
    if labels != target {
        return Err(RganError::shape(
            "generated_data_domain_target",
            &target,
            format!("but input_data_domain_label has shape {labels:?}; they must be equal"),
        ));
    }
    let translate = ImagesAndLabels::new(input_data.clone(), generated_data_domain_target.clone())?;
    let generated_data = model.generator.generate(&translate)?;
    check_generated_shape(&input_data, &generated_data)?;
    let back = ImagesAndLabels::new(generated_data.clone(), input_data_domain_label.clone())?;
    let reconstructed_data = model.generator.generate(&back)?;
    let real_inputs = ImagesAndLabels::new(input_data.clone(), input_data_domain_label.clone())?;
    let discriminator_input_data_prediction = model.discriminator.discriminate(input_data.clone(), &real_inputs)?;
    let discriminator_generated_data_prediction =
        model.discriminator.discriminate(generated_data.clone().detach(), &translate.detach())?;
    let discriminator_generated_data_prediction_for_generator =
        frozen(&model.discriminator).discriminate(generated_data.clone(), &translate)?;
    Ok(StarGanOutputs {
        input_data,
        input_data_domain_label,
        generated_data,
        generated_data_domain_target,
        reconstructed_data,
        discriminator_input_data_prediction,
        discriminator_generated_data_prediction,
        discriminator_generated_data_prediction_for_generator,
    })
}
