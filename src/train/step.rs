//! TF-GAN's third step, the train ops (`gan_train_ops` and the train hooks' update order), as a
//! *step*: it takes the batches of one global step, updates its networks and reports its losses.
//! The step never reaches into a data set; the loop ([`Trainer`](super::Trainer)) feeds it.
//!
//! - [`TrainStep`]: what every step is to the loop (its batches, its report, its checkpoint
//!   part, its sample grids).
//! - [`GanStep`]: a GAN of any generator inputs ([`InputFn`] makes a batch into real data and
//!   generator inputs): one optimizer per network, joint, sequential or alternating updates, the
//!   step ratio, weight clipping, a generator moving average, a replay pool, a guiding
//!   classifier.
//! - [`CycleGanStep`](super::CycleGanStep), [`StarGanStep`](super::StarGanStep),
//!   [`ClassifierStep`](super::ClassifierStep): the other models rgan trains with the same loop.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use super::checkpoint::{Checkpoint, CheckpointWriter};
use super::gan_loss::{
    DiscriminatorSideInputs, DiscriminatorSideLoss, GeneratorSideInputs, GeneratorSideLoss, discriminator_side_loss,
    generator_side_loss, reads_real_outputs,
};
use super::{EvaluationBatch, GanLossConfig, TrainConfig, TrainSchedule, gan_loss};
use crate::data::{Batch, PairedBatch};
use crate::error::{Result, RganError};
use crate::features::{GeneratorEma, TensorPool, clip_discriminator_weights};
use crate::losses::{WeightedLossOptions, acgan_generator_loss};
use crate::model::{
    DiscriminatorOutput, GanDiscriminator, GanGenerator, GanInputs, GanModel, GeneratorInputs, ImageClassifier,
    NoiseInputs, check_generated_shape, frozen, one_hot,
};
use crate::rng::Rng;

/// One step of training as the loop sees it: the batches it takes, what it reports, what it
/// saves.
pub trait TrainStep {
    /// One batch of its data.
    type Batch;
    /// What one step reports.
    type Report: StepSummary;

    /// How many batches one step takes (one per update in TF-GAN's schedules).
    fn batches_per_step(&self) -> usize;

    /// Trains one global step on `batches` (as many as [`batches_per_step`]); stops with an
    /// error, before applying an update, when a loss is NaN or infinite.
    ///
    /// [`batches_per_step`]: Self::batches_per_step
    fn step(&mut self, batches: Vec<Self::Batch>) -> Result<Self::Report>;

    /// The number of global steps done.
    fn global_step(&self) -> usize;

    /// The device its batches must be on.
    fn device(&self) -> Device;

    /// Hands the networks, optimizers and random state to a checkpoint.
    fn save(&self, checkpoint: &mut CheckpointWriter) -> Result<()>;

    /// Takes the networks, optimizers and random state from a checkpoint that
    /// [`save`](Self::save) wrote for a step built the same way.
    fn load(&mut self, checkpoint: &Checkpoint) -> Result<()>;

    /// The sample grids to write now (none by default).
    fn samples(&self) -> Result<Vec<SampleImages>> {
        Ok(Vec::new())
    }
}

/// What a step reports, as the loop logs it.
pub trait StepSummary {
    /// The number of global steps done, this one included.
    fn step(&self) -> usize;
    /// The named values to log (CSV and TensorBoard), in a fixed order.
    fn scalars(&self) -> Vec<(&'static str, f64)>;
    /// Sets the training speed the loop measured.
    fn set_steps_per_sec(&mut self, steps_per_sec: f64);
    /// One short line for a progress bar.
    fn describe(&self) -> String;
}

/// One sample grid: its TensorBoard tag, its images `[N, C, H, W]` in `[-1, 1]` and the images
/// per row.
#[derive(Clone, Debug)]
pub struct SampleImages {
    /// The tag (`generated` is written as `samples/step_NNNNNN.png`).
    pub tag: &'static str,
    /// The images.
    pub images: Tensor<4>,
    /// Images per row.
    pub columns: usize,
}

/// What one GAN step did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// The number of GAN steps done, this one included.
    pub step: usize,
    /// The discriminator's loss (with its penalties and weight decay), before its last update.
    pub d_loss: f64,
    /// The generator's loss (with its penalties and weight decay), before its last update.
    pub g_loss: f64,
    /// The (unweighted) gradient penalty, when used.
    pub gradient_penalty: Option<f64>,
    /// The (unweighted) mutual information penalty, when used.
    pub mutual_information_penalty: Option<f64>,
    /// The non-adversarial pixel loss, when used.
    pub pixel_loss: Option<f64>,
    /// The guiding classifier's cross-entropy on the generated data (unweighted; part of
    /// `g_loss`), when the run has [`TrainConfig::classifier_guidance`].
    pub classifier_guidance_loss: Option<f64>,
    /// The guiding classifier's own loss on its last real batch, before its update.
    pub classifier_loss: Option<f64>,
    /// Further terms of other models (CycleGAN's cycle consistency, StarGAN's reconstruction
    /// and classification), by name.
    pub extra: Vec<(&'static str, f64)>,
    /// The generator's learning rate in this step.
    pub generator_learning_rate: f64,
    /// The discriminator's learning rate in this step.
    pub discriminator_learning_rate: f64,
    /// Steps per second since this run (or resume) started.
    pub steps_per_sec: f64,
}

impl StepReport {
    /// A report of step `step` (1-based) with no losses yet.
    pub(crate) fn new(step: usize, config: &TrainConfig, step_index: usize) -> Self {
        Self {
            step,
            d_loss: f64::NAN,
            g_loss: f64::NAN,
            gradient_penalty: None,
            mutual_information_penalty: None,
            pixel_loss: None,
            classifier_guidance_loss: None,
            classifier_loss: None,
            extra: Vec::new(),
            generator_learning_rate: config.generator_optimizer.learning_rate(step_index),
            discriminator_learning_rate: config.discriminator_optimizer.learning_rate(step_index),
            steps_per_sec: 0.0,
        }
    }
}

impl StepSummary for StepReport {
    fn step(&self) -> usize {
        self.step
    }

    fn scalars(&self) -> Vec<(&'static str, f64)> {
        let mut values = vec![
            ("loss/discriminator", self.d_loss),
            ("loss/generator", self.g_loss),
            ("learning_rate/generator", self.generator_learning_rate),
            ("learning_rate/discriminator", self.discriminator_learning_rate),
            ("steps_per_sec", self.steps_per_sec),
        ];
        let optional = [
            ("penalty/gradient", self.gradient_penalty),
            ("penalty/mutual_information", self.mutual_information_penalty),
            ("loss/pixel", self.pixel_loss),
            ("loss/classifier_guidance", self.classifier_guidance_loss),
            ("loss/classifier", self.classifier_loss),
        ];
        values.extend(optional.into_iter().filter_map(|(name, v)| v.map(|v| (name, v))));
        values.extend(self.extra.iter().copied());
        values
    }

    fn set_steps_per_sec(&mut self, steps_per_sec: f64) {
        self.steps_per_sec = steps_per_sec;
    }

    fn describe(&self) -> String {
        format!("d_loss {:.4} g_loss {:.4} {:.2} steps/s", self.d_loss, self.g_loss, self.steps_per_sec)
    }
}

/// The fixed inputs of a step's sample grid, and what is shown beside the generated images.
#[derive(Clone, Debug)]
pub struct SampleGrid<I> {
    /// The generator inputs (on a device without autodiff).
    pub inputs: I,
    /// The images the generated ones should match (image-to-image translation), shown after them.
    pub targets: Option<Tensor<4>>,
    /// Images per row of a noise grid (a translation grid shows one example per row).
    pub columns: usize,
}

/// How a GAN step makes one batch into its model's inputs: TF-GAN's `input_fn`, which yields
/// `(generator_inputs, real_data)`; noise is drawn from the step's random stream.
pub trait InputFn {
    /// The batch it reads.
    type Batch: Clone;
    /// The generator inputs it makes.
    type Inputs: GanInputs;

    /// The real data and the generator inputs of `batch`.
    fn inputs(&self, batch: Self::Batch, rng: &mut Rng) -> Result<(Tensor<4>, Self::Inputs)>;

    /// The real images of `batch` and their one-hot labels, for a guiding classifier's update
    /// (`None`: the batch has no labels).
    fn labelled(&self, batch: Self::Batch) -> Option<(Tensor<4>, Tensor<2>)> {
        let _ = batch;
        None
    }

    /// The fixed inputs of the sample grid, drawn once from `rng` when a run starts (a grid of
    /// `columns` columns) on `device`.
    fn sample_grid(&self, columns: usize, rng: &mut Rng, device: &Device) -> Result<SampleGrid<Self::Inputs>>;
}

impl InputFn for NoiseInputs {
    type Batch = Batch;
    type Inputs = GeneratorInputs;

    fn inputs(&self, batch: Batch, rng: &mut Rng) -> Result<(Tensor<4>, GeneratorInputs)> {
        let device = batch.images.device();
        let inputs = self.for_batch(batch.labels, rng, &device)?;
        Ok((batch.images, inputs))
    }

    fn labelled(&self, batch: Batch) -> Option<(Tensor<4>, Tensor<2>)> {
        (self.num_classes > 0).then(|| (batch.images, one_hot(batch.labels, self.num_classes)))
    }

    fn sample_grid(&self, columns: usize, rng: &mut Rng, device: &Device) -> Result<SampleGrid<GeneratorInputs>> {
        Ok(SampleGrid { inputs: self.grid(columns, rng, device), targets: None, columns })
    }
}

/// Paired images as a GAN's data: the inputs are the generator's inputs, the targets the real
/// data (pix2pix, compression). The sample grid translates a fixed batch of pairs.
#[derive(Clone, Debug)]
pub struct PairedInputs {
    /// The pairs of the sample grid, one per row (input | generated | target).
    pub samples: PairedBatch,
}

impl InputFn for PairedInputs {
    type Batch = PairedBatch;
    type Inputs = Tensor<4>;

    fn inputs(&self, batch: PairedBatch, _rng: &mut Rng) -> Result<(Tensor<4>, Tensor<4>)> {
        Ok((batch.targets, batch.inputs))
    }

    fn sample_grid(&self, _columns: usize, _rng: &mut Rng, device: &Device) -> Result<SampleGrid<Tensor<4>>> {
        let samples = &self.samples;
        Ok(SampleGrid {
            inputs: samples.inputs.clone().to_device(device),
            targets: Some(samples.targets.clone().to_device(device)),
            columns: 1,
        })
    }
}

/// A guiding classifier that never exists: the default of [`GanStep`]'s classifier parameter.
#[derive(Module, Debug)]
pub struct NoClassifier;

impl ImageClassifier for NoClassifier {
    fn logits(&self, _images: Tensor<4>) -> Result<Tensor<2>> {
        Err(RganError::invalid("classifier_guidance", "is set but the step has no guiding classifier"))
    }
}

/// The guiding classifier of [`TrainConfig::classifier_guidance`] with its optimizer.
struct GuidingClassifier<C> {
    network: C,
    optimizer: ModuleOptimizer,
}

/// Which network(s) one pass of [`GanStep`] updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Update {
    /// A joint update: both losses from one state, both updates.
    Both,
    /// A generator update.
    Generator,
    /// A discriminator update.
    Discriminator,
}

/// The losses of one pass (only those its update differentiates), with the summaries' terms.
pub(crate) struct StepLoss {
    pub generator: Option<Tensor<1>>,
    pub discriminator: Option<Tensor<1>>,
    pub gradient_penalty: Option<Tensor<1>>,
    pub mutual_information_penalty: Option<Tensor<1>>,
    pub pixel_loss: Option<Tensor<1>>,
    /// The guiding classifier's unweighted cross-entropy on the generated data.
    pub guidance: Option<f64>,
}

pub(crate) fn scalar(loss: &Tensor<1>) -> f64 {
    loss.clone().into_scalar::<f64>()
}

/// Errors ([`RganError::Diverged`]) when a loss is NaN or infinite, before its update is
/// applied; the loop names the checkpoint it keeps.
pub(crate) fn check_finite(name: &str, value: f64, step: usize) -> Result<()> {
    if value.is_finite() {
        return Ok(());
    }
    Err(RganError::Diverged { loss: name.to_string(), value, step, kept: "no checkpoint is written".to_string() })
}

/// The trainable discriminator on the real batch and on the (detached) generated one: a single
/// pass over both stacked when the discriminator is
/// [batch-independent](GanDiscriminator::batch_independent), else a pass each, real first.
pub(crate) fn discriminator_passes<I: GanInputs, D: GanDiscriminator<I>>(
    discriminator: &D,
    (real, real_inputs): (Tensor<4>, &I),
    (generated, generated_inputs): (Tensor<4>, &I),
) -> Result<(DiscriminatorOutput, DiscriminatorOutput)> {
    if !discriminator.batch_independent() {
        let real = discriminator.discriminate(real, real_inputs)?;
        return Ok((real, discriminator.discriminate(generated, generated_inputs)?));
    }
    let (n, m) = (real.dims()[0], generated.dims()[0]);
    let both =
        discriminator.discriminate(Tensor::cat(vec![real, generated], 0), &real_inputs.stacked(generated_inputs)?)?;
    Ok((both.rows(0..n), both.rows(n..n + m)))
}

/// Swaps the discriminator's view of the generated data for a pooled batch (TF-GAN's
/// `tensor_pool_adjusted_model`), when there is a replay pool: a pooled batch keeps the inputs
/// (codes, labels) it was generated from.
fn pooled<I: GanInputs>(pool: Option<&mut TensorPool>, inputs: &I, generated: &Tensor<4>) -> Result<(I, Tensor<4>)> {
    let Some(pool) = pool else {
        return Ok((inputs.clone(), generated.clone()));
    };
    let device = generated.device();
    let mut values = vec![generated.clone().detach().into_data()];
    values.extend(inputs.to_data());
    let mut out = pool.apply(values)?.into_iter();
    let generated = Tensor::<4>::from_data(
        out.next().ok_or_else(|| RganError::invalid("replay_pool", "returned too few tensors"))?,
        &device,
    );
    Ok((inputs.from_data(&mut out, &device)?, generated))
}

/// The discriminator's half of one update of a GAN model on `(real data, generator inputs,
/// generated data)`: the trainable discriminator's passes over the real and the (detached,
/// possibly pooled) generated batch, one stacked pass when it is
/// [batch-independent](GanDiscriminator::batch_independent), and its loss; also returns the
/// outputs on the real batch. With a pool the loss is assembled over the pooled model, as in
/// TF-GAN: its gradient penalty, mutual-information and auxiliary-classifier terms see the pooled
/// batch with the inputs that batch was generated from.
pub(crate) fn discriminator_half<I, G, D>(
    model: &GanModel<G, D>,
    config: &GanLossConfig,
    pool: Option<&mut TensorPool>,
    rng: &mut Rng,
    (real_data, inputs, generated): (&Tensor<4>, &I, &Tensor<4>),
) -> Result<(DiscriminatorSideLoss, DiscriminatorOutput)>
where
    I: GanInputs,
    D: GanDiscriminator<I>,
{
    let (seen_inputs, seen) = pooled(pool, inputs, generated)?;
    let (real, on_generated) = discriminator_passes(
        &model.discriminator,
        (real_data.clone(), inputs),
        (seen.clone().detach(), &seen_inputs.detach()),
    )?;
    let side = discriminator_side_loss(
        model,
        DiscriminatorSideInputs {
            real_data,
            generated_data: &seen,
            generator_inputs: &seen_inputs,
            real: &real,
            generated: &on_generated,
        },
        config,
        rng,
    )?;
    Ok((side, real))
}

/// The generator's half of one update: a frozen copy of the discriminator on the generated
/// batch (and, for the relativistic loss only, on the real batch when `real_outputs` is not
/// given), and the generator's loss.
pub(crate) fn generator_half<I, G, D>(
    model: &GanModel<G, D>,
    config: &GanLossConfig,
    (real_data, inputs, generated): (&Tensor<4>, &I, &Tensor<4>),
    real_outputs: Option<DiscriminatorOutput>,
) -> Result<GeneratorSideLoss>
where
    I: GanInputs,
    G: GanGenerator<I>,
    D: GanDiscriminator<I>,
{
    let frozen = frozen(&model.discriminator);
    let on_generated = frozen.discriminate(generated.clone(), inputs)?;
    let real_outputs = match real_outputs {
        None if reads_real_outputs(config.loss) => Some(frozen.discriminate(real_data.clone(), inputs)?),
        other => other,
    };
    generator_side_loss(
        model,
        GeneratorSideInputs {
            generator_inputs: inputs,
            real_data,
            generated_data: generated,
            real: real_outputs.as_ref(),
            generated: &on_generated,
        },
        config,
    )
}

/// The update plan of one global step under TF-GAN's schedules: how many joint, generator-only
/// and discriminator-only updates.
fn plan(config: &TrainConfig) -> (usize, usize, usize) {
    let (g, d) = (config.generator_train_steps, config.discriminator_train_steps);
    match config.schedule {
        TrainSchedule::Joint => {
            let k = g.min(d);
            (k, g - k, d - k)
        }
        TrainSchedule::Sequential | TrainSchedule::Alternating => (0, g, d),
    }
}

/// How many batches the updates of one global step take: one per update, but the alternating
/// schedule's generator updates reuse the last discriminator batch.
pub(crate) fn update_batches(config: &TrainConfig) -> usize {
    let (both, g_only, d_only) = plan(config);
    match config.schedule {
        TrainSchedule::Alternating => d_only,
        _ => both + g_only + d_only,
    }
}

/// Runs the updates of one global step in the schedule's order (TF-GAN's joint hooks: joint,
/// then generator-only, then discriminator-only updates; its sequential hooks: generator, then
/// discriminator; the alternating loop: discriminator, then generator on the last batch), each
/// given its batch. `batches` must hold `expected` batches; those the updates leave (for a
/// guiding classifier) are returned.
pub(crate) fn run_updates<B: Clone>(
    config: &TrainConfig,
    batches: Vec<B>,
    expected: usize,
    mut apply: impl FnMut(Update, B) -> Result<()>,
) -> Result<std::vec::IntoIter<B>> {
    if batches.len() != expected {
        return Err(RganError::invalid(
            "batches",
            format!("hold {} batches but one step of this schedule takes {expected}", batches.len()),
        ));
    }
    let mut batches = batches.into_iter();
    let mut next = || batches.next().ok_or_else(|| RganError::invalid("batches", "ran out"));
    let (both, g_only, d_only) = plan(config);
    if config.schedule == TrainSchedule::Alternating {
        let mut last = None;
        for _ in 0..d_only {
            let batch = next()?;
            last = Some(batch.clone());
            apply(Update::Discriminator, batch)?;
        }
        let last = last.ok_or_else(|| RganError::invalid("discriminator_train_steps", "is 0"))?;
        for _ in 0..g_only {
            apply(Update::Generator, last.clone())?;
        }
    } else {
        for _ in 0..both {
            apply(Update::Both, next()?)?;
        }
        for _ in 0..g_only {
            apply(Update::Generator, next()?)?;
        }
        for _ in 0..d_only {
            apply(Update::Discriminator, next()?)?;
        }
    }
    Ok(batches)
}

/// A GAN's training step: TF-GAN's `gan_model` → `gan_loss` → `gan_train_ops` on each batch it is
/// given, over any generator and discriminator of the same generator inputs.
///
/// `F` makes each batch into real data and generator inputs ([`NoiseInputs`] for noise-driven
/// generators, [`PairedInputs`] for image-to-image ones); `C` is the guiding classifier's network
/// when the run has one ([`GanStep::with_classifier`]).
pub struct GanStep<G, D, F: InputFn, C = NoClassifier> {
    config: TrainConfig,
    model: GanModel<G, D>,
    inputs: F,
    device: Device,
    generator_optimizer: ModuleOptimizer,
    discriminator_optimizer: ModuleOptimizer,
    ema: Option<GeneratorEma<G>>,
    pool: Option<TensorPool>,
    rng: Rng,
    grid: SampleGrid<F::Inputs>,
    step: usize,
    classifier: Option<GuidingClassifier<C>>,
}

impl<G, D, F> GanStep<G, D, F, NoClassifier>
where
    F: InputFn,
    G: GanGenerator<F::Inputs>,
    D: GanDiscriminator<F::Inputs>,
{
    /// A step training `model` (on an autodiff device, `device`) with `config`; `rng` is the
    /// step's random stream (the rest of a run's seed after the networks and the data order: see
    /// [`Seeds`](super::Seeds)): the sample grid's inputs are drawn from it first, then a stream
    /// each for the noise (and penalties) and the replay pool.
    ///
    /// Errors on an invalid configuration.
    pub fn new(config: TrainConfig, model: GanModel<G, D>, inputs: F, rng: Rng, device: &Device) -> Result<Self> {
        if config.classifier_guidance.is_some() {
            return Err(RganError::invalid(
                "classifier_guidance",
                "is set: build the step with GanStep::with_classifier and the classifier's network",
            ));
        }
        Self::start(config, model, inputs, rng, device, None::<fn(&mut Rng) -> Result<NoClassifier>>)
    }
}

impl<G, D, F: InputFn> GanStep<G, D, F, NoClassifier> {
    /// The same step as a step of a type that could hold a guiding classifier of type `C` (it
    /// holds none): one type for a recipe whose models are guided or not.
    pub fn unguided<C>(self) -> GanStep<G, D, F, C> {
        GanStep {
            config: self.config,
            model: self.model,
            inputs: self.inputs,
            device: self.device,
            generator_optimizer: self.generator_optimizer,
            discriminator_optimizer: self.discriminator_optimizer,
            ema: self.ema,
            pool: self.pool,
            rng: self.rng,
            grid: self.grid,
            step: self.step,
            classifier: None,
        }
    }
}

impl<G, D, F, C> GanStep<G, D, F, C>
where
    F: InputFn,
    G: GanGenerator<F::Inputs>,
    D: GanDiscriminator<F::Inputs>,
    C: ImageClassifier,
{
    /// [`new`](GanStep::new) with the guiding classifier of `config.classifier_guidance`, whose
    /// network `build` makes from a random stream of its own.
    pub fn with_classifier(
        config: TrainConfig,
        model: GanModel<G, D>,
        inputs: F,
        rng: Rng,
        device: &Device,
        build: impl FnOnce(&mut Rng) -> Result<C>,
    ) -> Result<Self> {
        if config.classifier_guidance.is_none() {
            return Err(RganError::invalid("classifier_guidance", "is not set but a guiding classifier was given"));
        }
        Self::start(config, model, inputs, rng, device, Some(build))
    }

    fn start(
        config: TrainConfig,
        model: GanModel<G, D>,
        inputs: F,
        mut rng: Rng,
        device: &Device,
        classifier: Option<impl FnOnce(&mut Rng) -> Result<C>>,
    ) -> Result<Self> {
        config.check()?;
        let device = device.clone().autodiff();
        let grid = inputs.sample_grid(config.grid_size, &mut rng, &device.clone().without_autodiff())?;
        let noise_rng = rng.fork();
        let pool = (config.replay_pool_size > 0)
            .then(|| TensorPool::new(config.replay_pool_size, config.replay_pool_probability, rng.fork()))
            .transpose()?;
        let ema = config.generator_ema_decay.map(|decay| GeneratorEma::new(&model.generator, decay)).transpose()?;
        let classifier = match (classifier, &config.classifier_guidance) {
            (Some(build), Some(guidance)) => {
                Some(GuidingClassifier { network: build(&mut rng.fork())?, optimizer: guidance.optimizer.init() })
            }
            _ => None,
        };
        Ok(Self {
            generator_optimizer: config.generator_optimizer.init(),
            discriminator_optimizer: config.discriminator_optimizer.init(),
            config,
            model,
            inputs,
            device,
            ema,
            pool,
            rng: noise_rng,
            grid,
            step: 0,
            classifier,
        })
    }

    /// The networks.
    pub fn model(&self) -> &GanModel<G, D> {
        &self.model
    }

    /// The generator's moving average, when the run keeps one.
    pub fn generator_ema(&self) -> Option<G> {
        self.ema.as_ref().map(GeneratorEma::averaged)
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// How batches become inputs.
    pub fn input_fn(&self) -> &F {
        &self.inputs
    }

    /// The sample grid's fixed inputs.
    pub fn sample_grid(&self) -> &SampleGrid<F::Inputs> {
        &self.grid
    }

    /// One forward pass and loss assembly on `batch`, for the updates that follow.
    ///
    /// The trainable discriminator runs on the real and the (detached, possibly pooled)
    /// generated batch, one stacked pass when it is
    /// [batch-independent](GanDiscriminator::batch_independent), except in a generator update;
    /// a frozen copy runs on the generated batch for the generator's loss, except in a
    /// discriminator update. The losses are what [`gan_loss`] assembles, bit for bit. With a
    /// replay pool the discriminator's side is assembled over the pooled model, as in TF-GAN:
    /// its gradient penalty, mutual-information and auxiliary-classifier terms see the pooled
    /// batch together with the inputs (codes, labels) that batch was generated from.
    ///
    /// With a guiding classifier, its weighted cross-entropy on the generated data joins the
    /// generator loss, and the unweighted cross-entropy is returned beside the losses.
    pub(crate) fn losses(&mut self, update: Update, batch: F::Batch) -> Result<StepLoss> {
        let (real_data, inputs) = self.inputs.inputs(batch, &mut self.rng)?;
        let generated = self.model.generator.generate(&inputs)?;
        check_generated_shape(&real_data, &generated)?;
        let mut loss = StepLoss {
            generator: None,
            discriminator: None,
            gradient_penalty: None,
            mutual_information_penalty: None,
            pixel_loss: None,
            guidance: None,
        };
        let mut real_outputs = None;
        if update != Update::Generator {
            let (side, real) = discriminator_half(
                &self.model,
                &self.config.loss,
                self.pool.as_mut(),
                &mut self.rng,
                (&real_data, &inputs, &generated),
            )?;
            loss.discriminator = Some(side.loss);
            loss.gradient_penalty = side.gradient_penalty;
            loss.mutual_information_penalty = side.mutual_information_penalty;
            real_outputs = Some(real);
        }
        if update != Update::Discriminator {
            let side = generator_half(&self.model, &self.config.loss, (&real_data, &inputs, &generated), real_outputs)?;
            let mut generator_loss = side.loss;
            if let (Some(classifier), Some(guidance)) = (&self.classifier, &self.config.classifier_guidance) {
                let logits = classifier.network.logits(generated)?;
                let labels = inputs.one_hot_labels().ok_or_else(|| {
                    RganError::invalid(
                        "classifier_guidance",
                        "needs a conditional generator: its inputs carry no labels to compare the classifier with",
                    )
                })?;
                let cross_entropy = acgan_generator_loss(logits, labels, &WeightedLossOptions::default())?;
                loss.guidance = Some(scalar(&cross_entropy));
                generator_loss = generator_loss + cross_entropy.mul_scalar(guidance.weight);
            }
            loss.generator = Some(generator_loss);
            loss.pixel_loss = side.pixel_loss;
        }
        Ok(loss)
    }

    /// One update of the guiding classifier on `batch`; returns its loss before the update
    /// (`None` without a guiding classifier).
    fn classifier_update(&mut self, batch: F::Batch) -> Result<Option<f64>> {
        let Some(guidance) = self.config.classifier_guidance.clone() else {
            return Ok(None);
        };
        let Some((images, labels)) = self.inputs.labelled(batch) else {
            return Err(RganError::invalid(
                "classifier_guidance",
                "needs labelled data and a conditional generator (inputs with classes)",
            ));
        };
        let Some(classifier) = &self.classifier else {
            return Ok(None);
        };
        let loss = acgan_generator_loss(classifier.network.logits(images)?, labels, &WeightedLossOptions::default())?;
        let value = scalar(&loss);
        check_finite("classifier_loss", value, self.step + 1)?;
        let lr = guidance.optimizer.learning_rate(self.step);
        if let Some(classifier) = self.classifier.as_mut() {
            let grads = GradientsParams::from_grads(loss.backward(), &classifier.network);
            classifier.network = classifier.optimizer.step(lr, classifier.network.clone(), grads);
        }
        Ok(Some(value))
    }

    fn generator_update(&mut self, g_loss: Tensor<1>) -> Result<()> {
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.model.generator);
        let lr = self.config.generator_optimizer.learning_rate(self.step);
        self.model.generator = self.generator_optimizer.step(lr, self.model.generator.clone(), grads);
        if let Some(ema) = self.ema.as_mut() {
            ema.update(&self.model.generator)?;
        }
        Ok(())
    }

    fn discriminator_update(&mut self, d_loss: Tensor<1>) -> Result<()> {
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.model.discriminator);
        let lr = self.config.discriminator_optimizer.learning_rate(self.step);
        self.model.discriminator = self.discriminator_optimizer.step(lr, self.model.discriminator.clone(), grads);
        if let Some(clip) = self.config.weight_clip {
            self.model.discriminator = clip_discriminator_weights(self.model.discriminator.clone(), clip)?;
        }
        Ok(())
    }

    /// One pass of `update`'s losses on `batch`, then its updates, discriminator first. Records
    /// the losses in `report`, and stops with an error before any update when one is NaN or
    /// infinite.
    fn update(&mut self, update: Update, batch: F::Batch, report: &mut StepReport) -> Result<()> {
        let loss = self.losses(update, batch)?;
        let step = self.step + 1;
        if let Some(d_loss) = &loss.discriminator {
            report.d_loss = scalar(d_loss);
            report.gradient_penalty = loss.gradient_penalty.as_ref().map(scalar);
            report.mutual_information_penalty = loss.mutual_information_penalty.as_ref().map(scalar);
            check_finite("discriminator_loss", report.d_loss, step)?;
        }
        if let Some(g_loss) = &loss.generator {
            report.g_loss = scalar(g_loss);
            report.classifier_guidance_loss = loss.guidance;
            report.pixel_loss = loss.pixel_loss.as_ref().map(scalar);
            check_finite("generator_loss", report.g_loss, step)?;
        }
        if let Some(d_loss) = loss.discriminator {
            self.discriminator_update(d_loss)?;
        }
        if let Some(g_loss) = loss.generator {
            self.generator_update(g_loss)?;
        }
        Ok(())
    }

    /// The losses of `batch` without any update (the estimator's `evaluate`): as training
    /// computes them (batch statistics in batch norm), with the real and the generated images.
    pub fn evaluate(&mut self, batch: F::Batch) -> Result<EvaluationBatch> {
        let (real, inputs) = self.inputs.inputs(batch, &mut self.rng)?;
        let generated = self.model.generator.generate(&inputs)?;
        let outputs = self.model.discriminate(real, inputs, generated.clone())?;
        let loss = gan_loss(&self.model, &outputs, &self.config.loss, &mut self.rng)?;
        Ok(EvaluationBatch {
            discriminator_loss: scalar(&loss.discriminator_loss),
            generator_loss: scalar(&loss.generator_loss),
            real: outputs.real_data.detach(),
            generated: generated.detach(),
        })
    }

    /// The sample grid's images from the fixed inputs ([`GanGenerator::sample`] of `generator`,
    /// which normalizes with the batch's own statistics as TF-GAN's training image summaries do);
    /// a translation grid shows input | generated | target per row.
    fn grid_images(&self, generator: &G) -> Result<(Tensor<4>, usize)> {
        let generated = generator.valid().sample(&self.grid.inputs)?;
        let Some(targets) = &self.grid.targets else {
            return Ok((generated, self.grid.columns));
        };
        let [n, c, h, w] = generated.dims();
        let mut parts = Vec::new();
        if let Some(inputs) = self.grid.inputs.images() {
            parts.push(to_channels(inputs, c));
        }
        parts.push(generated);
        parts.push(to_channels(targets.clone(), c));
        let columns = parts.len();
        let stacked = Tensor::stack::<5>(parts, 1).reshape([n * columns, c, h, w]);
        Ok((stacked, columns))
    }
}

/// Grey images repeated to `channels` channels (RGB grids of grey inputs); others as they are.
fn to_channels(images: Tensor<4>, channels: usize) -> Tensor<4> {
    let [n, c, h, w] = images.dims();
    if c == 1 && channels == 3 { images.expand([n, 3, h, w]) } else { images }
}

impl<G, D, F, C> TrainStep for GanStep<G, D, F, C>
where
    F: InputFn,
    G: GanGenerator<F::Inputs>,
    D: GanDiscriminator<F::Inputs>,
    C: ImageClassifier,
{
    type Batch = F::Batch;
    type Report = StepReport;

    fn batches_per_step(&self) -> usize {
        update_batches(&self.config) + self.config.classifier_guidance.as_ref().map_or(0, |g| g.train_steps)
    }

    /// One GAN step (TF-GAN's joint or sequential train hooks with
    /// `GANTrainSteps(generator_train_steps, discriminator_train_steps)`, or the alternating
    /// loop), then the guiding classifier's updates.
    fn step(&mut self, batches: Vec<F::Batch>) -> Result<StepReport> {
        let mut report = StepReport::new(self.step + 1, &self.config, self.step);
        let expected = self.batches_per_step();
        let left = run_updates(&self.config.clone(), batches, expected, |update, batch| {
            self.update(update, batch, &mut report)
        })?;
        for batch in left {
            report.classifier_loss = self.classifier_update(batch)?;
        }
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
        if let Some(ema) = &self.ema {
            checkpoint.module("generator_ema.bpk", &ema.averaged())?;
        }
        if let Some(classifier) = &self.classifier {
            checkpoint.module("classifier.bpk", &classifier.network)?;
            checkpoint.optimizer("classifier_optimizer.bpk", &classifier.optimizer)?;
        }
        checkpoint.state("step", &self.step)?;
        checkpoint.state("rng", &self.rng)?;
        checkpoint.state("replay_pool", &self.pool)
    }

    fn load(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        self.step = checkpoint.step_state("step")?;
        self.rng = checkpoint.step_state("rng")?;
        self.pool = checkpoint.step_state("replay_pool")?;
        if self.pool.is_some() != (self.config.replay_pool_size > 0) {
            return Err(RganError::file(
                checkpoint.dir(),
                "holds a replay pool the run's configuration does not ask for",
            ));
        }
        self.model.generator = checkpoint.module("generator.bpk", self.model.generator.clone())?;
        self.model.discriminator = checkpoint.module("discriminator.bpk", self.model.discriminator.clone())?;
        self.generator_optimizer =
            checkpoint.optimizer("generator_optimizer.bpk", self.config.generator_optimizer.init())?;
        self.discriminator_optimizer =
            checkpoint.optimizer("discriminator_optimizer.bpk", self.config.discriminator_optimizer.init())?;
        if let Some(ema) = self.ema.as_mut() {
            if !checkpoint.has("generator_ema.bpk") {
                return Err(RganError::file(
                    checkpoint.dir(),
                    "the run keeps a generator moving average but the checkpoint has none",
                ));
            }
            // Load into `valid()`'s copy, whose running states (batch-norm statistics) are new
            // buffers: a clone shares them with the generator, and loading would overwrite the
            // generator's statistics with the average's.
            ema.set_averaged(checkpoint.module("generator_ema.bpk", self.model.generator.valid())?);
        }
        if let Some(classifier) = self.classifier.as_mut() {
            classifier.network = checkpoint.module("classifier.bpk", classifier.network.clone())?;
            let template = self.config.classifier_guidance.as_ref().map(|g| g.optimizer.init());
            if let Some(template) = template {
                classifier.optimizer = checkpoint.optimizer("classifier_optimizer.bpk", template)?;
            }
        }
        Ok(())
    }

    fn samples(&self) -> Result<Vec<SampleImages>> {
        let (images, columns) = self.grid_images(&self.model.generator)?;
        let mut grids = vec![SampleImages { tag: "generated", images, columns }];
        if let Some(ema) = &self.ema {
            let (images, columns) = self.grid_images(&ema.averaged())?;
            grids.push(SampleImages { tag: "generated_ema", images, columns });
        }
        Ok(grids)
    }
}
