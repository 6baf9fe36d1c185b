//! StarGAN's loss assembly (`stargan_loss`) and training step.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;

use super::checkpoint::{Checkpoint, CheckpointWriter};
use super::gan_loss::{discriminator_adversarial_loss, generator_adversarial_loss, used};
use super::step::{Update, check_finite, run_updates, scalar, update_batches};
use super::{GanLoss, GanLossConfig, SampleImages, StepReport, TrainConfig, TrainStep};
use crate::data::Batch;
use crate::error::{Result, RganError};
use crate::features::clip_discriminator_weights;
use crate::losses::{WeightedLossOptions, acgan_generator_loss};
use crate::model::{
    DiscriminatorOutput, GanDiscriminator, GanGenerator, GanInputs, GanModel, ImagesAndLabels, StarGanOutputs,
    check_generated_shape, class_ids, domain_logits, frozen, one_hot, random_domains,
};
use crate::rng::Rng;

/// TF-GAN's `stargan_loss` arguments besides the adversarial loss and its gradient penalty
/// (those are a [`GanLossConfig`]'s `loss` and `gradient_penalty_*`; TF-GAN's defaults are
/// Wasserstein with a penalty of weight 10).
///
/// ```
/// let config = rgan::train::StarGanLossConfig::new();
/// assert_eq!((config.reconstruction_loss_weight, config.classification_loss_weight), (10.0, 1.0));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct StarGanLossConfig {
    /// The weight of the L1 reconstruction loss `mean|x − G(G(x, target), source)|` in the
    /// generator's loss. Default 10.
    #[config(default = 10.0)]
    pub reconstruction_loss_weight: f64,
    /// The weight of the domain classification losses (softmax cross-entropy: on real images in
    /// the discriminator's loss, on generated ones against their targets in the generator's).
    /// Default 1.
    #[config(default = 1.0)]
    pub classification_loss_weight: f64,
}

impl StarGanLossConfig {
    fn check(&self, adversarial: &GanLossConfig) -> Result<()> {
        adversarial.check_weights()?;
        used("reconstruction_loss_weight", Some(self.reconstruction_loss_weight))?;
        used("classification_loss_weight", Some(self.classification_loss_weight))?;
        let unsupported = [
            ("mutual_information_penalty_weight", adversarial.mutual_information_penalty_weight.is_some()),
            ("aux_cond_generator_weight", adversarial.aux_cond_generator_weight.is_some()),
            ("aux_cond_discriminator_weight", adversarial.aux_cond_discriminator_weight.is_some()),
            ("non_adversarial", adversarial.non_adversarial.is_some()),
        ];
        if let Some((name, _)) = unsupported.into_iter().find(|(_, set)| *set) {
            return Err(RganError::invalid(name, "is set but stargan_loss has no such term"));
        }
        if adversarial.loss == super::GanLossKind::Relativistic {
            return Err(RganError::invalid("loss", "the relativistic losses are not among stargan_loss's"));
        }
        Ok(())
    }
}

/// TF-GAN's StarGAN configuration: Wasserstein losses with a gradient penalty of weight 10.
///
/// ```
/// assert_eq!(rgan::train::stargan_adversarial_loss().gradient_penalty_weight, Some(10.0));
/// ```
pub fn stargan_adversarial_loss() -> GanLossConfig {
    GanLossConfig::new().with_gradient_penalty_weight(Some(10.0))
}

/// What the discriminator's part of `stargan_loss` reads.
struct DiscriminatorTerms<'a> {
    input_data: &'a Tensor<4>,
    input_data_domain_label: &'a Tensor<2>,
    generated_data: &'a Tensor<4>,
    real: &'a DiscriminatorOutput,
    generated: &'a DiscriminatorOutput,
}

/// The discriminator's part of `stargan_loss`: the adversarial loss on its source outputs, the
/// weighted gradient penalty between the real and the generated images (only the discriminator's
/// source output is differentiated), and the weighted classification loss of the real images'
/// domains. Returns the loss and the unweighted penalty.
fn discriminator_loss<G, D>(
    model: &GanModel<G, D>,
    terms: DiscriminatorTerms<'_>,
    adversarial: &GanLossConfig,
    config: &StarGanLossConfig,
    rng: &mut Rng,
) -> Result<(Tensor<1>, Option<Tensor<1>>)>
where
    D: GanDiscriminator<ImagesAndLabels>,
{
    let DiscriminatorTerms { input_data, input_data_domain_label, generated_data, real, generated } = terms;
    let mut loss = discriminator_adversarial_loss(adversarial.loss, real.logits.clone(), generated.logits.clone())?;
    let mut penalty = None;
    if let Some(weight) = used("gradient_penalty_weight", adversarial.gradient_penalty_weight)? {
        let inputs = ImagesAndLabels::new(input_data.clone(), input_data_domain_label.clone())?;
        let gp = model.discriminator.gradient_penalty(
            input_data.clone(),
            generated_data.clone().detach(),
            &inputs,
            rng,
            &adversarial.penalty_options(),
        )?;
        loss = loss + gp.clone().mul_scalar(weight);
        penalty = Some(gp);
    }
    let labels = input_data_domain_label.clone().detach();
    let classification = acgan_generator_loss(domain_logits(real)?, labels, &WeightedLossOptions::default())?;
    Ok((loss + classification.mul_scalar(config.classification_loss_weight), penalty))
}

/// What the generator's part of `stargan_loss` reads.
struct GeneratorTerms<'a> {
    input_data: &'a Tensor<4>,
    reconstructed_data: &'a Tensor<4>,
    generated_data_domain_target: &'a Tensor<2>,
    /// A frozen discriminator's outputs on the generated images.
    generated: &'a DiscriminatorOutput,
}

/// The generator's part of `stargan_loss`: the adversarial loss on the frozen discriminator's
/// source outputs for the generated images, the weighted L1 reconstruction loss, and the
/// weighted classification loss of the generated images against their target domains. Returns
/// the loss, the unweighted reconstruction and classification losses.
fn generator_loss(
    terms: GeneratorTerms<'_>,
    adversarial: &GanLossConfig,
    config: &StarGanLossConfig,
) -> Result<(Tensor<1>, Tensor<1>, Tensor<1>)> {
    let GeneratorTerms { input_data, reconstructed_data, generated_data_domain_target, generated } = terms;
    let source = generated.logits.clone();
    let mut loss = generator_adversarial_loss(adversarial.loss, source.clone().detach(), source)?;
    let reconstruction = crate::ops::mean((input_data.clone().detach() - reconstructed_data.clone()).abs());
    loss = loss + reconstruction.clone().mul_scalar(config.reconstruction_loss_weight);
    let target = generated_data_domain_target.clone().detach();
    let classification = acgan_generator_loss(domain_logits(generated)?, target, &WeightedLossOptions::default())?;
    loss = loss + classification.clone().mul_scalar(config.classification_loss_weight);
    Ok((loss, reconstruction, classification))
}

/// TF-GAN's `stargan_loss`: for the generator, the adversarial loss (`adversarial.loss`) +
/// `reconstruction_loss_weight` × L1(input, reconstruction) + `classification_loss_weight` ×
/// softmax cross-entropy of the generated images' domain logits against their targets; for the
/// discriminator, the adversarial loss + the gradient penalty (`adversarial`'s weight; TF-GAN's
/// default 10) + `classification_loss_weight` × the real images' domain cross-entropy. `rng`
/// draws the penalty's interpolation points. The relativistic loss is not one of StarGAN's.
pub fn stargan_loss<G, D>(
    model: &GanModel<G, D>,
    outputs: &StarGanOutputs,
    adversarial: &GanLossConfig,
    config: &StarGanLossConfig,
    rng: &mut Rng,
) -> Result<GanLoss>
where
    G: GanGenerator<ImagesAndLabels>,
    D: GanDiscriminator<ImagesAndLabels>,
{
    config.check(adversarial)?;
    let generator = GeneratorTerms {
        input_data: &outputs.input_data,
        reconstructed_data: &outputs.reconstructed_data,
        generated_data_domain_target: &outputs.generated_data_domain_target,
        generated: &outputs.discriminator_generated_data_prediction_for_generator,
    };
    let (generator_loss, _, _) = generator_loss(generator, adversarial, config)?;
    let discriminator = DiscriminatorTerms {
        input_data: &outputs.input_data,
        input_data_domain_label: &outputs.input_data_domain_label,
        generated_data: &outputs.generated_data,
        real: &outputs.discriminator_input_data_prediction,
        generated: &outputs.discriminator_generated_data_prediction,
    };
    let (discriminator_loss, gradient_penalty) = discriminator_loss(model, discriminator, adversarial, config, rng)?;
    Ok(GanLoss {
        generator_loss,
        discriminator_loss,
        gradient_penalty,
        mutual_information_penalty: None,
        pixel_loss: None,
    })
}

/// StarGAN's training step: TF-GAN's `stargan_model` → `stargan_loss` → train ops on batches of
/// labelled images (the labels are the domains), the target domains drawn from the step's
/// random stream. `config.loss` is the adversarial loss with its gradient penalty
/// ([`stargan_adversarial_loss`]); TF-GAN's example updates the discriminator 5 times per
/// generator update.
pub struct StarGanStep<G, D> {
    config: TrainConfig,
    loss: StarGanLossConfig,
    domains: usize,
    model: GanModel<G, D>,
    generator_optimizer: ModuleOptimizer,
    discriminator_optimizer: ModuleOptimizer,
    rng: Rng,
    samples: Tensor<4>,
    device: Device,
    step: usize,
}

impl<G, D> StarGanStep<G, D>
where
    G: GanGenerator<ImagesAndLabels>,
    D: GanDiscriminator<ImagesAndLabels>,
{
    /// A step training `model` (on the autodiff `device`) over `domains` domains with `config`
    /// and `loss`; `rng` is the step's random stream ([`Seeds::step`](super::Seeds));
    /// `samples` are fixed images for the sample grid (each translated into every domain).
    pub fn new(
        config: TrainConfig,
        loss: StarGanLossConfig,
        domains: usize,
        model: GanModel<G, D>,
        samples: Tensor<4>,
        mut rng: Rng,
        device: &Device,
    ) -> Result<Self> {
        config.check()?;
        loss.check(&config.loss)?;
        if domains < 2 {
            return Err(RganError::invalid("domains", format!("is {domains}; StarGAN needs at least 2 domains")));
        }
        if config.replay_pool_size > 0 || config.classifier_guidance.is_some() || config.generator_ema_decay.is_some() {
            return Err(RganError::invalid(
                "config",
                "StarGAN's step supports no replay pool, classifier guidance or generator moving average",
            ));
        }
        Ok(Self {
            generator_optimizer: config.generator_optimizer.init(),
            discriminator_optimizer: config.discriminator_optimizer.init(),
            config,
            loss,
            domains,
            model,
            rng: rng.fork(),
            samples: samples.to_device(&device.clone().without_autodiff()),
            device: device.clone().autodiff(),
            step: 0,
        })
    }

    /// The networks.
    pub fn model(&self) -> &GanModel<G, D> {
        &self.model
    }

    /// The number of domains.
    pub fn domains(&self) -> usize {
        self.domains
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// One update on `batch`: the target domains drawn, the images translated; the
    /// discriminator's passes and penalty for its update, the reconstruction and a frozen
    /// discriminator's pass for the generator's (what `stargan_model` computes, only the parts the
    /// update needs).
    fn update(&mut self, update: Update, batch: Batch, report: &mut StepReport) -> Result<()> {
        class_ids(batch.labels.clone(), self.domains, "labels")?;
        let labels = one_hot(batch.labels, self.domains);
        let images = batch.images;
        let target = random_domains(images.dims()[0], self.domains, &mut self.rng, &images.device());
        let translate = ImagesAndLabels::new(images.clone(), target.clone())?;
        let generated = self.model.generator.generate(&translate)?;
        check_generated_shape(&images, &generated)?;
        let step = self.step + 1;
        let mut d_loss = None;
        if update != Update::Generator {
            let real_inputs = ImagesAndLabels::new(images.clone(), labels.clone())?;
            let real = self.model.discriminator.discriminate(images.clone(), &real_inputs)?;
            let on_generated =
                self.model.discriminator.discriminate(generated.clone().detach(), &translate.detach())?;
            let terms = DiscriminatorTerms {
                input_data: &images,
                input_data_domain_label: &labels,
                generated_data: &generated,
                real: &real,
                generated: &on_generated,
            };
            let (loss, penalty) = discriminator_loss(&self.model, terms, &self.config.loss, &self.loss, &mut self.rng)?;
            report.d_loss = scalar(&loss);
            report.gradient_penalty = penalty.as_ref().map(scalar);
            check_finite("discriminator_loss", report.d_loss, step)?;
            d_loss = Some(loss);
        }
        let mut g_loss = None;
        if update != Update::Discriminator {
            let reconstructed = self.model.generator.generate(&ImagesAndLabels::new(generated.clone(), labels)?)?;
            let on_generated = frozen(&self.model.discriminator).discriminate(generated, &translate)?;
            let terms = GeneratorTerms {
                input_data: &images,
                reconstructed_data: &reconstructed,
                generated_data_domain_target: &target,
                generated: &on_generated,
            };
            let (loss, reconstruction, classification) = generator_loss(terms, &self.config.loss, &self.loss)?;
            report.g_loss = scalar(&loss);
            report.extra = vec![
                ("loss/reconstruction", scalar(&reconstruction)),
                ("loss/domain_classification", scalar(&classification)),
            ];
            check_finite("generator_loss", report.g_loss, step)?;
            g_loss = Some(loss);
        }
        if let Some(loss) = d_loss {
            let grads = GradientsParams::from_grads(loss.backward(), &self.model.discriminator);
            let lr = self.config.discriminator_optimizer.learning_rate(self.step);
            self.model.discriminator = self.discriminator_optimizer.step(lr, self.model.discriminator.clone(), grads);
            if let Some(clip) = self.config.weight_clip {
                self.model.discriminator = clip_discriminator_weights(self.model.discriminator.clone(), clip)?;
            }
        }
        if let Some(loss) = g_loss {
            let grads = GradientsParams::from_grads(loss.backward(), &self.model.generator);
            let lr = self.config.generator_optimizer.learning_rate(self.step);
            self.model.generator = self.generator_optimizer.step(lr, self.model.generator.clone(), grads);
        }
        Ok(())
    }
}

impl<G, D> TrainStep for StarGanStep<G, D>
where
    G: GanGenerator<ImagesAndLabels>,
    D: GanDiscriminator<ImagesAndLabels>,
{
    type Batch = Batch;
    type Report = StepReport;

    fn batches_per_step(&self) -> usize {
        update_batches(&self.config)
    }

    fn step(&mut self, batches: Vec<Batch>) -> Result<StepReport> {
        let mut report = StepReport::new(self.step + 1, &self.config, self.step);
        let expected = self.batches_per_step();
        run_updates(&self.config.clone(), batches, expected, |update, batch| self.update(update, batch, &mut report))?;
        self.step += 1;
        Ok(report)
    }

    fn global_step(&self) -> usize {
        self.step
    }

    fn device(&self) -> Device {
        self.device.clone()
    }

    fn save(&self, checkpoint: &mut CheckpointWriter) -> Result<()> {
        checkpoint.module("generator.bpk", &self.model.generator)?;
        checkpoint.module("discriminator.bpk", &self.model.discriminator)?;
        checkpoint.optimizer("generator_optimizer.bpk", &self.generator_optimizer)?;
        checkpoint.optimizer("discriminator_optimizer.bpk", &self.discriminator_optimizer)?;
        checkpoint.state("step", &self.step)?;
        checkpoint.state("rng", &self.rng)
    }

    fn load(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        self.step = checkpoint.step_state("step")?;
        self.rng = checkpoint.step_state("rng")?;
        self.model.generator = checkpoint.module("generator.bpk", self.model.generator.clone())?;
        self.model.discriminator = checkpoint.module("discriminator.bpk", self.model.discriminator.clone())?;
        self.generator_optimizer =
            checkpoint.optimizer("generator_optimizer.bpk", self.config.generator_optimizer.init())?;
        self.discriminator_optimizer =
            checkpoint.optimizer("discriminator_optimizer.bpk", self.config.discriminator_optimizer.init())?;
        Ok(())
    }

    /// Each fixed sample image, then it translated into every domain, one row per image.
    fn samples(&self) -> Result<Vec<SampleImages>> {
        let generator = self.model.generator.valid();
        let [n, c, h, w] = self.samples.dims();
        let device = self.samples.device();
        let mut columns = vec![self.samples.clone()];
        for domain in 0..self.domains {
            let ids = Tensor::<1, Int>::from_data(TensorData::new(vec![domain as i64; n], [n]), &device);
            let inputs = ImagesAndLabels::new(self.samples.clone(), one_hot(ids, self.domains))?;
            columns.push(generator.sample(&inputs)?);
        }
        let per_row = columns.len();
        let images = Tensor::stack::<5>(columns, 1).reshape([n * per_row, c, h, w]);
        Ok(vec![SampleImages { tag: "translated", images, columns: per_row }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_stargan_loss_lacks_are_refused() {
        let err = StarGanLossConfig::new()
            .check(&stargan_adversarial_loss().with_mutual_information_penalty_weight(Some(1.0)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("mutual_information_penalty_weight"), "{err}");
        let err = StarGanLossConfig::new().with_reconstruction_loss_weight(-1.0).check(&GanLossConfig::new());
        assert!(err.unwrap_err().to_string().contains("reconstruction_loss_weight"));
    }
}
