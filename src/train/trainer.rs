//! TF-GAN's third and fourth steps, train ops and the train loop (`gan_train_ops`,
//! `gan_train`), eager: one optimizer per network, a generator:discriminator step ratio, joint or
//! sequential updates, weight clipping, a generator moving average, a replay pool, checkpoints,
//! summaries and hooks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;

use super::checkpoint::{
    CheckpointParts, TrainingState, file_error, load_module, module_bytes, read_training_state, resolve_checkpoint,
    write_checkpoint,
};
use super::gan_loss::{DiscriminatorSideInputs, discriminator_side_loss, generator_side_loss};
use super::{RunLog, TrainConfig, TrainSchedule, gan_loss};
use crate::data::{Batcher, ImageDataset};
use crate::error::{Result, RganError};
use crate::eval::mnist_classifier::MnistClassifier;
use crate::features::{GeneratorEma, TensorPool, clip_discriminator_weights};
use crate::losses::{StructuredInput, WeightedLossOptions, acgan_generator_loss};
use crate::model::{
    DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GeneratorInputs, MnistDiscriminator, MnistGenerator,
    check_generated_shape, one_hot,
};
use crate::rng::Rng;

/// Which network(s) one pass of `Trainer::losses` is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Update {
    /// A joint step: both losses, both updates.
    Both,
    /// A sequential generator step.
    Generator,
    /// A sequential discriminator step.
    Discriminator,
}

/// The losses of one pass (only those its update differentiates), with the summaries' terms.
struct StepLoss {
    generator: Option<Tensor<1>>,
    discriminator: Option<Tensor<1>>,
    gradient_penalty: Option<Tensor<1>>,
    mutual_information_penalty: Option<Tensor<1>>,
    /// The guiding classifier's unweighted cross-entropy on the generated data.
    guidance: Option<f64>,
}

/// What one GAN step did.
#[derive(Clone, Copy, Debug, PartialEq)]
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
    /// The guiding classifier's cross-entropy on the generated data (unweighted; part of
    /// `g_loss`), when the run has [`TrainConfig::classifier_guidance`].
    pub classifier_guidance_loss: Option<f64>,
    /// The guiding classifier's own loss on its last real batch, before its update.
    pub classifier_loss: Option<f64>,
    /// The generator's learning rate in this step.
    pub generator_learning_rate: f64,
    /// The discriminator's learning rate in this step.
    pub discriminator_learning_rate: f64,
    /// Steps per second since this run (or resume) started.
    pub steps_per_sec: f64,
}

/// What a hook asks the loop to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookAction {
    /// Keep training.
    Continue,
    /// Stop now: the loop writes a checkpoint and returns (TF's `request_stop`).
    Stop,
}

/// A user hook run after every GAN step (TF's `SessionRunHook.after_run`): it sees the step's
/// report and both networks, and may stop the run.
///
/// ```
/// use rgan::train::{HookAction, StepReport, TrainHook};
/// struct StopWhenClose;
/// impl<G, D> TrainHook<G, D> for StopWhenClose {
///     fn after_step(&mut self, report: &StepReport, _: &rgan::model::GanModel<G, D>) -> rgan::Result<HookAction> {
///         Ok(if report.d_loss.abs() < 1e-3 { HookAction::Stop } else { HookAction::Continue })
///     }
/// }
/// ```
pub trait TrainHook<G, D> {
    /// Called after each GAN step.
    fn after_step(&mut self, report: &StepReport, model: &GanModel<G, D>) -> Result<HookAction>;
}

impl<G, D, F: FnMut(&StepReport)> TrainHook<G, D> for F {
    fn after_step(&mut self, report: &StepReport, _: &GanModel<G, D>) -> Result<HookAction> {
        self(report);
        Ok(HookAction::Continue)
    }
}

/// One evaluation batch of [`Trainer::evaluation_batch`].
#[derive(Clone, Debug)]
pub struct EvaluationBatch {
    /// The discriminator loss on the batch.
    pub discriminator_loss: f64,
    /// The generator loss on the batch.
    pub generator_loss: f64,
    /// The batch's real images.
    pub real: Tensor<4>,
    /// The generated images the losses were computed on.
    pub generated: Tensor<4>,
}

/// What [`Trainer::run`] produced.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// The final step.
    pub step: usize,
    /// The last sample grid written.
    pub samples: PathBuf,
    /// The last checkpoint written.
    pub checkpoint: PathBuf,
    /// The loss-curve picture.
    pub loss_curves: PathBuf,
    /// Wall time of the run.
    pub wall: Duration,
    /// Whether the run stopped early (a hook or the stop flag, e.g. Ctrl-C).
    pub interrupted: bool,
}

/// A GAN training run on an image data set: TF-GAN's `gan_model`, `gan_loss`, `gan_train_ops`
/// and `gan_train`, with sample grids, scalars (CSV and TensorBoard), a loss-curve picture and
/// atomic checkpoints in `logdir`. `Trainer::new` trains TF-GAN's MNIST networks from a
/// [`TrainConfig`]; [`Trainer::with_model`] trains any [`GanGenerator`] / [`GanDiscriminator`].
///
/// ```no_run
/// use burn::prelude::*;
/// use rgan::data::{Mnist, Split};
/// use rgan::train::{TrainConfig, Trainer};
/// let mnist = Mnist::load("../shared/datasets/mnist", Split::Train).unwrap();
/// let device = Device::default().autodiff();
/// let mut trainer = Trainer::new(TrainConfig::new().with_steps(100), &mnist, "logs/mnist", &device).unwrap();
/// let summary = trainer.run(|report: &rgan::train::StepReport| println!("{report:?}")).unwrap();
/// println!("samples in {}", summary.samples.display());
/// ```
pub struct Trainer<'d, Data: ImageDataset + ?Sized, G = MnistGenerator, D = MnistDiscriminator> {
    config: TrainConfig,
    data: &'d Data,
    device: Device,
    model: GanModel<G, D>,
    generator_optimizer: ModuleOptimizer,
    discriminator_optimizer: ModuleOptimizer,
    ema: Option<GeneratorEma<G>>,
    pool: Option<TensorPool>,
    batcher: Batcher,
    rng: Rng,
    fixed_noise: Vec<f32>,
    fixed_codes: Vec<f32>,
    step: usize,
    log: RunLog,
    started: Instant,
    start_step: usize,
    last_checkpoint: Option<PathBuf>,
    last_checkpoint_time: Instant,
    last_samples: Option<PathBuf>,
    stop: Option<Arc<AtomicBool>>,
    classifier: Option<GuidingClassifier>,
}

/// The classifier of [`TrainConfig::classifier_guidance`] with its optimizer.
struct GuidingClassifier {
    network: MnistClassifier,
    optimizer: ModuleOptimizer,
}

/// The trainable discriminator on the real batch and on the (detached) generated one: a single
/// pass over both stacked when the discriminator is
/// [batch-independent](GanDiscriminator::batch_independent), else a pass each, real first.
fn discriminator_passes<D: GanDiscriminator>(
    discriminator: &D,
    (real, real_inputs): (Tensor<4>, &GeneratorInputs),
    (generated, generated_inputs): (Tensor<4>, &GeneratorInputs),
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

fn check_config(config: &TrainConfig, data_len: usize) -> Result<()> {
    if config.batch_size == 0 || config.batch_size > data_len {
        return Err(RganError::invalid(
            "batch_size",
            format!("is {} but must be between 1 and the data set's size {data_len}", config.batch_size),
        ));
    }
    if config.grid_size == 0 {
        return Err(RganError::invalid("grid_size", "must be at least 1"));
    }
    if config.generator_train_steps == 0 && config.discriminator_train_steps == 0 {
        return Err(RganError::invalid("generator_train_steps", "and discriminator_train_steps are both 0"));
    }
    config.generator_optimizer.check("generator_optimizer")?;
    config.discriminator_optimizer.check("discriminator_optimizer")?;
    config.loss.check_weights()?;
    if let Some(c) = config.weight_clip
        && !(c > 0.0)
    {
        return Err(RganError::invalid("weight_clip", format!("is {c}; it must be > 0")));
    }
    if let Some(decay) = config.generator_ema_decay
        && !(0.0..=1.0).contains(&decay)
    {
        return Err(RganError::invalid("generator_ema_decay", format!("is {decay}; it must be in [0, 1]")));
    }
    if let Some(guidance) = &config.classifier_guidance {
        if config.generator.num_classes == 0 {
            return Err(RganError::invalid(
                "classifier_guidance",
                "needs a conditional generator (generator.num_classes > 0) to compare its labels with",
            ));
        }
        if !(guidance.weight >= 0.0 && guidance.weight.is_finite()) {
            return Err(RganError::invalid(
                "classifier_guidance.weight",
                format!("is {}; it must be ≥ 0", guidance.weight),
            ));
        }
        guidance.optimizer.check("classifier_guidance.optimizer")?;
    }
    Ok(())
}

fn check_mnist_shape(image_shape: [usize; 3]) -> Result<()> {
    if image_shape != [1, 28, 28] {
        return Err(RganError::shape(
            "data",
            &image_shape,
            "(one image) but the MNIST networks take [1, 28, 28] images; resize the data set",
        ));
    }
    Ok(())
}

fn scalar(loss: &Tensor<1>) -> f64 {
    loss.clone().into_scalar::<f64>()
}

/// The rows of the sample grid: one per class (conditional, ACGAN) or category (InfoGAN), else
/// `grid_size`.
fn grid_rows(config: &TrainConfig) -> usize {
    if config.generator.num_classes > 0 {
        config.generator.num_classes
    } else if config.generator.categorical_dim > 0 {
        config.generator.categorical_dim
    } else {
        config.grid_size
    }
}

impl<'d, Data: ImageDataset + ?Sized> Trainer<'d, Data> {
    /// Starts a run of TF-GAN's MNIST networks: builds both from `config.seed`, creates `logdir`
    /// and starts its outputs afresh. `device` should be an autodiff device
    /// (`Device::default().autodiff()`); a plain device is switched to its autodiff counterpart.
    ///
    /// Errors if the data set's images are not `[1, 28, 28]`, the configuration is invalid, or
    /// `logdir` cannot be created.
    pub fn new(config: TrainConfig, data: &'d Data, logdir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        check_mnist_shape(data.image_shape())?;
        let device = device.clone().autodiff();
        let mut master = Rng::seed_from_u64(config.seed);
        let generator = config.generator.init(&mut master.fork(), &device)?;
        let discriminator = config.discriminator.init(&mut master.fork(), &device)?;
        Trainer::start(config, GanModel { generator, discriminator }, master, data, logdir, &device)
    }

    /// Resumes a run of the MNIST networks from a checkpoint (any path [`resolve_checkpoint`]
    /// accepts): networks, optimizer state, moving average, replay pool, random state and data
    /// position, so the run continues as if it had not stopped. `steps` replaces the saved number
    /// of steps to train to when given.
    pub fn resume(
        checkpoint: impl AsRef<Path>,
        steps: Option<usize>,
        data: &'d Data,
        logdir: impl AsRef<Path>,
        device: &Device,
    ) -> Result<Self> {
        check_mnist_shape(data.image_shape())?;
        let state = read_training_state(&checkpoint)?;
        let device = device.clone().autodiff();
        let mut dummy = Rng::seed_from_u64(0);
        let template = GanModel {
            generator: state.config.generator.init(&mut dummy, &device)?,
            discriminator: state.config.discriminator.init(&mut dummy, &device)?,
        };
        Trainer::resume_with_model(checkpoint, template, steps, data, logdir, &device)
    }
}

impl<'d, Data: ImageDataset + ?Sized, G: GanGenerator, D: GanDiscriminator> Trainer<'d, Data, G, D> {
    /// Starts a run of any GAN model (TF-GAN's custom networks): `config` gives everything but
    /// the networks (its `generator` section still describes the generator's inputs: noise
    /// size, classes, codes). The random draws of the run come from `config.seed`.
    pub fn with_model(
        config: TrainConfig,
        model: GanModel<G, D>,
        data: &'d Data,
        logdir: impl AsRef<Path>,
        device: &Device,
    ) -> Result<Self> {
        let mut master = Rng::seed_from_u64(config.seed);
        let _ = (master.fork(), master.fork()); // the draws `Trainer::new` spends on initialization
        Self::start(config, model, master, data, logdir, &device.clone().autodiff())
    }

    fn start(
        config: TrainConfig,
        model: GanModel<G, D>,
        mut master: Rng,
        data: &'d Data,
        logdir: impl AsRef<Path>,
        device: &Device,
    ) -> Result<Self> {
        check_config(&config, data.len())?;
        let logdir = logdir.as_ref().to_path_buf();
        let batcher = Batcher::new(data.len(), config.batch_size, master.below(usize::MAX) as u64)?;
        let n = grid_rows(&config) * config.grid_size;
        let fixed_noise: Vec<f32> = (0..n * config.generator.noise_dims).map(|_| master.next_normal() as f32).collect();
        let fixed_codes: Vec<f32> =
            (0..n * config.generator.continuous_dim).map(|_| (2.0 * master.next_f64() - 1.0) as f32).collect();
        let rng = master.fork();
        let pool = (config.replay_pool_size > 0)
            .then(|| TensorPool::new(config.replay_pool_size, config.replay_pool_probability, master.fork()))
            .transpose()?;
        let ema = config.generator_ema_decay.map(|decay| GeneratorEma::new(&model.generator, decay)).transpose()?;
        let classifier = match &config.classifier_guidance {
            Some(guidance) => Some(GuidingClassifier {
                network: guidance.network.init(&mut master.fork(), device)?,
                optimizer: guidance.optimizer.init(),
            }),
            None => None,
        };
        let log = RunLog::open(&logdir, None)?;
        Ok(Self {
            generator_optimizer: config.generator_optimizer.init(),
            discriminator_optimizer: config.discriminator_optimizer.init(),
            config,
            data,
            device: device.clone(),
            model,
            ema,
            pool,
            batcher,
            rng,
            fixed_noise,
            fixed_codes,
            step: 0,
            log,
            started: Instant::now(),
            start_step: 0,
            last_checkpoint: None,
            last_checkpoint_time: Instant::now(),
            last_samples: None,
            stop: None,
            classifier,
        })
    }

    /// Resumes a run of any GAN model from a checkpoint: `template` has the networks' structure
    /// (its weights are replaced by the checkpoint's).
    pub fn resume_with_model(
        checkpoint: impl AsRef<Path>,
        template: GanModel<G, D>,
        steps: Option<usize>,
        data: &'d Data,
        logdir: impl AsRef<Path>,
        device: &Device,
    ) -> Result<Self> {
        let dir = resolve_checkpoint(checkpoint)?;
        let state: TrainingState = read_training_state(&dir)?;
        let mut config = state.config;
        if let Some(steps) = steps {
            config.steps = steps;
        }
        check_config(&config, data.len())?;
        let device = device.clone().autodiff();
        let logdir = logdir.as_ref().to_path_buf();
        let generator = load_module(template.generator, &dir.join("generator.bpk"))?;
        let discriminator = load_module(template.discriminator, &dir.join("discriminator.bpk"))?;
        let load_optimizer = |file: &str, optimizer: ModuleOptimizer| -> Result<ModuleOptimizer> {
            let path = dir.join(file);
            let bytes = std::fs::read(&path).map_err(|e| file_error(&path, format!("cannot read: {e}")))?;
            optimizer
                .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
                .map_err(|e| file_error(&path, format!("optimizer record error: {e}")))
        };
        let generator_optimizer = load_optimizer("generator_optimizer.bpk", config.generator_optimizer.init())?;
        let discriminator_optimizer =
            load_optimizer("discriminator_optimizer.bpk", config.discriminator_optimizer.init())?;
        let ema = match config.generator_ema_decay {
            Some(decay) => {
                let path = dir.join("generator_ema.bpk");
                if !state.has_generator_ema {
                    return Err(file_error(
                        &dir,
                        "the run keeps a generator moving average but the checkpoint has none",
                    ));
                }
                // Load into `valid()`'s copy, whose running states (batch-norm statistics) are new
                // buffers: a clone shares them with `generator`, and loading would overwrite the
                // generator's statistics with the average's.
                let average = load_module(generator.valid(), &path)?;
                Some(GeneratorEma::new(&average, decay)?)
            }
            None => None,
        };
        let classifier = match &config.classifier_guidance {
            Some(guidance) => {
                let network = guidance.network.init(&mut Rng::seed_from_u64(0), &device)?;
                Some(GuidingClassifier {
                    network: load_module(network, &dir.join("classifier.bpk"))?,
                    optimizer: load_optimizer("classifier_optimizer.bpk", guidance.optimizer.init())?,
                })
            }
            None => None,
        };
        let batcher = Batcher::from_state(data.len(), config.batch_size, state.batcher)?;
        let log = RunLog::open(&logdir, Some(state.step))?;
        Ok(Self {
            generator_optimizer,
            discriminator_optimizer,
            config,
            data,
            device,
            model: GanModel { generator, discriminator },
            ema,
            pool: state.replay_pool,
            batcher,
            rng: state.rng,
            fixed_noise: state.fixed_noise,
            fixed_codes: state.fixed_codes,
            step: state.step,
            log,
            started: Instant::now(),
            start_step: state.step,
            last_checkpoint: Some(dir),
            last_checkpoint_time: Instant::now(),
            last_samples: None,
            stop: None,
            classifier,
        })
    }

    /// A flag that, once set (e.g. by a Ctrl-C handler), makes [`run`](Self::run) write a
    /// checkpoint and return after the current step.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
    }

    /// The number of GAN steps done.
    pub fn step(&self) -> usize {
        self.step
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

    /// The log folder.
    pub fn logdir(&self) -> &Path {
        self.log.logdir()
    }

    /// Fresh generator inputs for a batch with `labels`: N(0, 1) noise, one-hot labels (when
    /// the networks take labels), InfoGAN's codes (uniform categories, U(-1, 1) continuous codes,
    /// as TF-GAN's `get_infogan_noise`).
    fn generator_inputs(&mut self, labels: Tensor<1, Int>) -> Result<GeneratorInputs> {
        let b = self.config.batch_size;
        let spec = &self.config.generator;
        let (noise_dims, cat, cont) = (spec.noise_dims, spec.categorical_dim, spec.continuous_dim);
        let classes = self.config.num_classes();
        let mut inputs = GeneratorInputs::noise(self.rng.normal([b, noise_dims], 0.0, 1.0, &self.device));
        if classes > 0 {
            let ids: Vec<i64> = labels
                .clone()
                .into_data()
                .convert::<i64>()
                .try_into_vec::<i64>()
                .map_err(|e| RganError::invalid("labels", format!("cannot be read: {e:?}")))?;
            if let Some(bad) = ids.iter().find(|&&id| id < 0 || id as usize >= classes) {
                return Err(RganError::invalid(
                    "labels",
                    format!("hold class {bad} but the networks take {classes} classes"),
                ));
            }
            inputs = inputs.with_labels(one_hot(labels, classes));
        }
        let mut codes = Vec::new();
        if cat > 0 {
            let ids: Vec<i64> = (0..b).map(|_| self.rng.below(cat) as i64).collect();
            codes.push(StructuredInput::ClassIds(Tensor::from_data(TensorData::new(ids, [b]), &self.device)));
        }
        if cont > 0 {
            codes.push(StructuredInput::Values(self.rng.uniform([b, cont], -1.0, 1.0, &self.device)));
        }
        Ok(inputs.with_structured(codes))
    }

    /// Swaps the discriminator's view of the generated data for a pooled batch (TF-GAN's
    /// `tensor_pool_adjusted_model`), when the run has a replay pool.
    fn pooled(&mut self, inputs: &GeneratorInputs, generated: Tensor<4>) -> Result<(GeneratorInputs, Tensor<4>)> {
        let Some(pool) = self.pool.as_mut() else {
            return Ok((inputs.clone(), generated));
        };
        let mut values = vec![generated.clone().detach().into_data(), inputs.noise.clone().into_data()];
        if let Some(labels) = &inputs.one_hot_labels {
            values.push(labels.clone().into_data());
        }
        for code in &inputs.structured {
            values.push(match code {
                StructuredInput::ClassIds(ids) => ids.clone().into_data(),
                StructuredInput::Values(v) => v.clone().into_data(),
            });
        }
        let mut out = pool.apply(values)?.into_iter();
        let device = &self.device;
        let mut next = || out.next().ok_or_else(|| RganError::invalid("replay_pool", "returned too few tensors"));
        let generated = Tensor::<4>::from_data(next()?, device);
        let mut pooled = GeneratorInputs::noise(Tensor::from_data(next()?, device));
        if inputs.one_hot_labels.is_some() {
            pooled.one_hot_labels = Some(Tensor::from_data(next()?, device));
        }
        for code in &inputs.structured {
            pooled.structured.push(match code {
                StructuredInput::ClassIds(_) => StructuredInput::ClassIds(Tensor::from_data(next()?, device)),
                StructuredInput::Values(_) => StructuredInput::Values(Tensor::from_data(next()?, device)),
            });
        }
        Ok((pooled, generated))
    }

    /// One forward pass and loss assembly on a fresh batch, for the updates that follow.
    ///
    /// The trainable discriminator runs on the real and the (detached, possibly pooled)
    /// generated batch, one stacked pass when it is
    /// [batch-independent](GanDiscriminator::batch_independent); a frozen copy runs on the
    /// generated batch for the generator's loss, except in a sequential discriminator step,
    /// which does not need it. The losses are what [`gan_loss`] assembles, bit for bit. With a
    /// replay pool the discriminator's side is assembled over the pooled model, as in TF-GAN:
    /// its gradient penalty, mutual-information and auxiliary-classifier terms see the pooled
    /// batch together with the inputs (codes, labels) that batch was generated from.
    ///
    /// With a guiding classifier, its weighted cross-entropy on the generated data joins the
    /// generator loss, and the unweighted cross-entropy is returned beside the losses.
    fn losses(&mut self, update: Update) -> Result<StepLoss> {
        let batch = self.batcher.next_batch(self.data, &self.device)?;
        let inputs = self.generator_inputs(batch.labels)?;
        let generated = self.model.generator.generate(&inputs)?;
        check_generated_shape(&batch.images, &generated)?;
        let mut loss = StepLoss {
            generator: None,
            discriminator: None,
            gradient_penalty: None,
            mutual_information_penalty: None,
            guidance: None,
        };
        let mut real_outputs = None;
        if update != Update::Generator {
            let (seen_inputs, seen) = self.pooled(&inputs, generated.clone())?;
            let (real, on_generated) = discriminator_passes(
                &self.model.discriminator,
                (batch.images.clone(), &inputs),
                (seen.clone().detach(), &seen_inputs.detach()),
            )?;
            let side = discriminator_side_loss(
                &self.model,
                DiscriminatorSideInputs {
                    real_data: &batch.images,
                    generated_data: &seen,
                    generator_inputs: &seen_inputs,
                    real: &real,
                    generated: &on_generated,
                },
                &self.config.loss,
                &mut self.rng,
            )?;
            real_outputs = Some(real);
            loss.discriminator = Some(side.loss);
            loss.gradient_penalty = side.gradient_penalty;
            loss.mutual_information_penalty = side.mutual_information_penalty;
        }
        if update != Update::Discriminator {
            let frozen = crate::model::frozen(&self.model.discriminator);
            let on_generated = frozen.discriminate(generated.clone(), &inputs)?;
            // Of the discriminator's outputs on real data, the generator's loss reads only the
            // relativistic loss's; a generator-only update computes them just for it.
            let real = match real_outputs.take() {
                Some(real) => real,
                None if self.config.loss.loss == super::GanLossKind::Relativistic => {
                    frozen.discriminate(batch.images.clone(), &inputs)?
                }
                None => on_generated.clone(),
            };
            let mut generator_loss =
                generator_side_loss(&self.model, &inputs, &real, &on_generated, &self.config.loss)?;
            if let (Some(classifier), Some(guidance)) = (&self.classifier, &self.config.classifier_guidance) {
                let logits = classifier.network.logits(generated)?;
                let labels = inputs.labels("the guiding classifier's cross-entropy")?;
                let cross_entropy = acgan_generator_loss(logits, labels, &WeightedLossOptions::default())?;
                loss.guidance = Some(scalar(&cross_entropy));
                generator_loss = generator_loss + cross_entropy.mul_scalar(guidance.weight);
            }
            loss.generator = Some(generator_loss);
        }
        Ok(loss)
    }

    /// One update of the guiding classifier on a fresh real batch; returns its loss before the
    /// update (`None` without a guiding classifier).
    fn classifier_update(&mut self) -> Result<Option<f64>> {
        let Some(guidance) = self.config.classifier_guidance.clone() else {
            return Ok(None);
        };
        let batch = self.batcher.next_batch(self.data, &self.device)?;
        let labels = one_hot(batch.labels, self.config.num_classes());
        let Some(classifier) = &self.classifier else {
            return Ok(None);
        };
        let loss =
            acgan_generator_loss(classifier.network.logits(batch.images)?, labels, &WeightedLossOptions::default())?;
        let value = scalar(&loss);
        self.check_finite("classifier_loss", value)?;
        let lr = guidance.optimizer.learning_rate(self.step);
        if let Some(classifier) = self.classifier.as_mut() {
            let grads = GradientsParams::from_grads(loss.backward(), &classifier.network);
            classifier.network = classifier.optimizer.step(lr, classifier.network.clone(), grads);
        }
        Ok(Some(value))
    }

    fn check_finite(&self, name: &str, value: f64) -> Result<()> {
        if value.is_finite() {
            return Ok(());
        }
        let kept = match &self.last_checkpoint {
            Some(dir) => format!("the last checkpoint, {}, is kept", dir.display()),
            None => "no checkpoint had been written yet".to_string(),
        };
        Err(RganError::invalid(
            name,
            format!(
                "is {value} at step {}: training diverged and stopped before applying the update; {kept}. Try a \
                 lower learning rate or another --seed",
                self.step + 1
            ),
        ))
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

    /// One pass of `update`'s losses, then its updates, discriminator first. Records the losses
    /// in `report`, and stops with an error before any update when one is NaN or infinite.
    fn update(&mut self, update: Update, report: &mut StepReport) -> Result<()> {
        let loss = self.losses(update)?;
        if let Some(d_loss) = &loss.discriminator {
            report.d_loss = scalar(d_loss);
            report.gradient_penalty = loss.gradient_penalty.as_ref().map(scalar);
            report.mutual_information_penalty = loss.mutual_information_penalty.as_ref().map(scalar);
            self.check_finite("discriminator_loss", report.d_loss)?;
        }
        if let Some(g_loss) = &loss.generator {
            report.g_loss = scalar(g_loss);
            report.classifier_guidance_loss = loss.guidance;
            self.check_finite("generator_loss", report.g_loss)?;
        }
        if let Some(d_loss) = loss.discriminator {
            self.discriminator_update(d_loss)?;
        }
        if let Some(g_loss) = loss.generator {
            self.generator_update(g_loss)?;
        }
        Ok(())
    }

    /// One GAN step (TF-GAN's joint or sequential train hooks with
    /// `GANTrainSteps(generator_train_steps, discriminator_train_steps)`). Stops with an
    /// error, before applying an update, when a loss is NaN or infinite.
    pub fn train_step(&mut self) -> Result<StepReport> {
        let (g, d) = (self.config.generator_train_steps, self.config.discriminator_train_steps);
        let (both, g_only, d_only) = match self.config.schedule {
            TrainSchedule::Joint => {
                let k = g.min(d);
                (k, g - k, d - k)
            }
            TrainSchedule::Sequential => (0, g, d),
        };
        let mut report = StepReport {
            step: self.step + 1,
            d_loss: f64::NAN,
            g_loss: f64::NAN,
            gradient_penalty: None,
            mutual_information_penalty: None,
            classifier_guidance_loss: None,
            classifier_loss: None,
            generator_learning_rate: self.config.generator_optimizer.learning_rate(self.step),
            discriminator_learning_rate: self.config.discriminator_optimizer.learning_rate(self.step),
            steps_per_sec: 0.0,
        };
        for _ in 0..both {
            self.update(Update::Both, &mut report)?;
        }
        for _ in 0..g_only {
            self.update(Update::Generator, &mut report)?;
        }
        for _ in 0..d_only {
            self.update(Update::Discriminator, &mut report)?;
        }
        let classifier_steps = self.config.classifier_guidance.as_ref().map_or(0, |g| g.train_steps);
        for _ in 0..classifier_steps {
            report.classifier_loss = self.classifier_update()?;
        }
        self.step += 1;
        let elapsed = self.started.elapsed().as_secs_f64();
        report.steps_per_sec = if elapsed > 0.0 { (self.step - self.start_step) as f64 / elapsed } else { 0.0 };
        Ok(report)
    }

    /// One fresh batch through both networks without any update (the estimator's `evaluate`):
    /// the losses as training computes them (batch statistics in batch norm), the real images
    /// and the generated ones.
    pub fn evaluation_batch(&mut self) -> Result<EvaluationBatch> {
        let batch = self.batcher.next_batch(self.data, &self.device)?;
        let inputs = self.generator_inputs(batch.labels)?;
        let generated = self.model.generator.generate(&inputs)?;
        let outputs = self.model.discriminate(batch.images, inputs, generated.clone())?;
        let loss = gan_loss(&self.model, &outputs, &self.config.loss, &mut self.rng)?;
        Ok(EvaluationBatch {
            discriminator_loss: scalar(&loss.discriminator_loss),
            generator_loss: scalar(&loss.generator_loss),
            real: outputs.real_data.detach(),
            generated: generated.detach(),
        })
    }

    /// Logs `values` at the current step (CSV and TensorBoard) and flushes them.
    pub fn log_values(&mut self, values: &[(&str, f64)]) -> Result<()> {
        self.log.scalars(self.step, values)?;
        self.log.flush()
    }

    /// The fixed generator inputs of the sample grid: one row per class (conditional, ACGAN) or
    /// category (InfoGAN), else `grid_size` rows, of `grid_size` images.
    pub fn sample_inputs(&self) -> GeneratorInputs {
        let device = self.device.clone().without_autodiff();
        let spec = &self.config.generator;
        let columns = self.config.grid_size;
        let n = grid_rows(&self.config) * columns;
        let noise = Tensor::from_data(TensorData::new(self.fixed_noise.clone(), [n, spec.noise_dims]), &device);
        let row_ids = |k: usize| -> Tensor<1, Int> {
            let ids: Vec<i64> = (0..n).map(|i| ((i / columns) % k) as i64).collect();
            Tensor::from_data(TensorData::new(ids, [n]), &device)
        };
        let mut inputs = GeneratorInputs::noise(noise);
        let classes = self.config.num_classes();
        if classes > 0 {
            inputs = inputs.with_labels(one_hot(row_ids(classes), classes));
        }
        if spec.categorical_dim > 0 {
            inputs.structured.push(StructuredInput::ClassIds(row_ids(spec.categorical_dim)));
        }
        if spec.continuous_dim > 0 {
            let codes = TensorData::new(self.fixed_codes.clone(), [n, spec.continuous_dim]);
            inputs.structured.push(StructuredInput::Values(Tensor::from_data(codes, &device)));
        }
        inputs
    }

    /// The sample grid's images from the fixed inputs ([`GanGenerator::sample`] of the
    /// generator, which normalizes with the batch's own statistics as TF-GAN's training image
    /// summaries do).
    pub fn samples(&self) -> Result<Tensor<4>> {
        self.model.generator.valid().sample(&self.sample_inputs())
    }

    /// Writes the sample grid of the current step to `logdir/samples/step_NNNNNN.png` and to
    /// TensorBoard, and returns the PNG's path.
    pub fn write_samples(&mut self) -> Result<PathBuf> {
        let path = self.log.image_grid(self.step, "generated", self.samples()?, self.config.grid_size)?;
        if let Some(ema) = &self.ema {
            let images = ema.averaged().valid().sample(&self.sample_inputs())?;
            self.log.image_grid(self.step, "generated_ema", images, self.config.grid_size)?;
        }
        self.last_samples = Some(path.clone());
        Ok(path)
    }

    /// Writes a checkpoint of the current step (see [`resolve_checkpoint`] for the layout) and
    /// returns its folder.
    pub fn save_checkpoint(&mut self) -> Result<PathBuf> {
        let root = self.logdir().join("checkpoints");
        let optimizer_bytes = |optimizer: &ModuleOptimizer| -> Result<Vec<u8>> {
            Ok(optimizer.into_bytes().map_err(|e| file_error(&root, format!("optimizer record error: {e}")))?.to_vec())
        };
        let generator_ema = match &self.ema {
            Some(ema) => Some(module_bytes(ema.averaged(), &root)?),
            None => None,
        };
        let mut extra = Vec::new();
        if let Some(classifier) = &self.classifier {
            extra.push(("classifier.bpk", module_bytes(classifier.network.valid(), &root)?));
            extra.push(("classifier_optimizer.bpk", optimizer_bytes(&classifier.optimizer)?));
        }
        let parts = CheckpointParts {
            generator: module_bytes(self.model.generator.valid(), &root)?,
            discriminator: module_bytes(self.model.discriminator.valid(), &root)?,
            generator_optimizer: optimizer_bytes(&self.generator_optimizer)?,
            discriminator_optimizer: optimizer_bytes(&self.discriminator_optimizer)?,
            state: TrainingState {
                step: self.step,
                config: self.config.clone(),
                rng: self.rng.clone(),
                batcher: self.batcher.state(),
                fixed_noise: self.fixed_noise.clone(),
                fixed_codes: self.fixed_codes.clone(),
                replay_pool: self.pool.clone(),
                has_generator_ema: generator_ema.is_some(),
            },
            generator_ema,
            extra,
        };
        self.log.flush()?;
        let dir = write_checkpoint(self.logdir(), parts, self.config.keep_checkpoints)?;
        self.last_checkpoint = Some(dir.clone());
        self.last_checkpoint_time = Instant::now();
        Ok(dir)
    }

    fn log_scalars(&mut self, report: &StepReport) -> Result<()> {
        let mut values = vec![
            ("loss/discriminator", report.d_loss),
            ("loss/generator", report.g_loss),
            ("learning_rate/generator", report.generator_learning_rate),
            ("learning_rate/discriminator", report.discriminator_learning_rate),
            ("steps_per_sec", report.steps_per_sec),
        ];
        if let Some(gp) = report.gradient_penalty {
            values.push(("penalty/gradient", gp));
        }
        if let Some(mi) = report.mutual_information_penalty {
            values.push(("penalty/mutual_information", mi));
        }
        if let Some(ce) = report.classifier_guidance_loss {
            values.push(("loss/classifier_guidance", ce));
        }
        if let Some(ce) = report.classifier_loss {
            values.push(("loss/classifier", ce));
        }
        self.log.scalars(report.step, &values)
    }

    /// Trains until `config.steps`, calling `hook` after every step (a closure
    /// `|report: &StepReport| ...` is a hook); writes samples, scalars and checkpoints on their
    /// schedules, and a checkpoint and the loss-curve picture at the end. Returns early, after a
    /// checkpoint, when the hook asks to stop or the stop flag is set.
    pub fn run(&mut self, mut hook: impl TrainHook<G, D>) -> Result<TrainSummary> {
        self.run_with_hooks(&mut [&mut hook])
    }

    /// [`run`](Self::run) with several hooks.
    pub fn run_with_hooks(&mut self, hooks: &mut [&mut dyn TrainHook<G, D>]) -> Result<TrainSummary> {
        let every = |n: usize, step: usize| n > 0 && step.is_multiple_of(n);
        self.started = Instant::now();
        self.start_step = self.step;
        self.last_checkpoint_time = Instant::now();
        let mut interrupted = false;
        while self.step < self.config.steps {
            let report = self.train_step()?;
            for hook in hooks.iter_mut() {
                if hook.after_step(&report, &self.model)? == HookAction::Stop {
                    interrupted = true;
                }
            }
            if self.stop.as_ref().is_some_and(|flag| flag.load(Ordering::SeqCst)) {
                interrupted = true;
            }
            // The last step of the run (also when stopped early) is always logged, drawn and saved.
            let last = report.step == self.config.steps || interrupted;
            if every(self.config.log_every, report.step) || last {
                self.log_scalars(&report)?;
            }
            if every(self.config.sample_every, report.step) || last {
                self.write_samples()?;
            }
            let timed = self.config.checkpoint_secs > 0
                && self.last_checkpoint_time.elapsed() >= Duration::from_secs(self.config.checkpoint_secs);
            if every(self.config.checkpoint_every, report.step) || last || timed {
                self.save_checkpoint()?;
            }
            if interrupted {
                break;
            }
        }
        let samples = match &self.last_samples {
            Some(path) => path.clone(),
            None => self.write_samples()?,
        };
        let checkpoint = match &self.last_checkpoint {
            Some(dir) if dir.ends_with(format!("step-{:06}", self.step)) => dir.clone(),
            _ => self.save_checkpoint()?,
        };
        self.log.flush()?;
        let loss_curves = self.log.plot_loss_curves()?;
        Ok(TrainSummary {
            step: self.step,
            samples,
            checkpoint,
            loss_curves,
            wall: self.started.elapsed(),
            interrupted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{IdxImages, Mnist};
    use crate::losses::Distribution;

    fn tiny_data(n: usize) -> Mnist {
        let mut rng = Rng::seed_from_u64(9);
        let pixels = (0..n * 784).map(|_| rng.below(256) as u8).collect();
        Mnist { images: IdxImages { count: n, rows: 28, cols: 28, pixels }, labels: vec![0; n] }
    }

    /// A fresh log folder under the system's temp folder, removed with everything in it when
    /// dropped (also when the test fails).
    struct TempLogdir(PathBuf);

    impl std::ops::Deref for TempLogdir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl AsRef<Path> for TempLogdir {
        fn as_ref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempLogdir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn temp_logdir(name: &str) -> TempLogdir {
        let dir = std::env::temp_dir().join(format!("rgan-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempLogdir(dir)
    }

    fn config() -> TrainConfig {
        TrainConfig::new().with_batch_size(4).with_grid_size(2).with_steps(2).with_sample_every(0)
    }

    /// Each step's losses are the numbers of TF-GAN's assembly (`GanModel::discriminate` and
    /// `gan_loss`, as `evaluation_batch` runs them on the same batch), bit for bit, though a
    /// sequential step returns only its own network's loss, a discriminator step skips the
    /// frozen pass, and the discriminator's passes are stacked (the critic here has neither batch
    /// norm nor spectral norm). Conditional labels and the relativistic loss are covered too.
    #[test]
    fn each_step_computes_the_assembled_losses() {
        use crate::train::{GanLossConfig, GanLossKind};
        use crate::zoo::ZooModel;
        let device = Device::default().autodiff();
        let data = tiny_data(16);
        for (model, kind) in [
            (ZooModel::WganMlp, GanLossKind::Wasserstein),
            (ZooModel::WganMlp, GanLossKind::Relativistic),
            (ZooModel::CganMlp, GanLossKind::Modified),
        ] {
            let config = model
                .config()
                .with_batch_size(4)
                .with_grid_size(2)
                .with_sample_every(0)
                .with_loss(GanLossConfig::new().with_loss(kind).with_gradient_penalty_weight(Some(10.0)));
            let root = temp_logdir(&format!("assembled-{model}-{kind:?}"));
            let trainer = |name: &str| {
                let gan = model.init(&config, &mut Rng::seed_from_u64(config.seed), &device).unwrap();
                Trainer::with_model(config.clone(), gan, &data, root.join(name), &device).unwrap()
            };
            let reference = trainer("reference").evaluation_batch().unwrap();
            let (both, d_only, g_only) = (
                trainer("both").losses(Update::Both).unwrap(),
                trainer("d").losses(Update::Discriminator).unwrap(),
                trainer("g").losses(Update::Generator).unwrap(),
            );
            let bits = |t: &Option<Tensor<1>>| t.as_ref().map(|t| scalar(t).to_bits());
            let d_bits = Some(reference.discriminator_loss.to_bits());
            let g_bits = Some(reference.generator_loss.to_bits());
            let case = format!("{model} {kind:?}");
            assert_eq!((bits(&both.discriminator), bits(&both.generator)), (d_bits, g_bits), "{case}");
            assert_eq!((bits(&d_only.discriminator), bits(&d_only.generator)), (d_bits, None), "{case}");
            assert_eq!((bits(&g_only.discriminator), bits(&g_only.generator)), (None, g_bits), "{case}");
            assert!(both.gradient_penalty.is_some() && d_only.gradient_penalty.is_some(), "{case}");
        }
    }

    /// With a replay pool, the discriminator's terms are those of TF-GAN's pooled model: a pooled
    /// batch keeps the codes (and labels) it was generated from. A pool of one batch that always
    /// hands back what it holds shows the discriminator the first batch again at the second
    /// step, so that step's mutual-information term is the first step's of a run without a pool
    /// (the discriminator has not moved in between).
    #[test]
    fn a_pooled_batch_keeps_its_own_codes() {
        use crate::zoo::ZooModel;
        let device = Device::default().autodiff();
        let data = tiny_data(16);
        let model = ZooModel::InfoganShared;
        let config = model.config().with_batch_size(4).with_grid_size(2).with_sample_every(0);
        let root = temp_logdir("pooled-codes");
        let trainer = |name: &str, pool_size: usize| {
            let config = config.clone().with_replay_pool_size(pool_size).with_replay_pool_probability(1.0);
            let gan = model.init(&config, &mut Rng::seed_from_u64(config.seed), &device).unwrap();
            Trainer::with_model(config, gan, &data, root.join(name), &device).unwrap()
        };
        let mi = |loss: StepLoss| scalar(&loss.mutual_information_penalty.expect("an InfoGAN has the term"));
        let unpooled = mi(trainer("plain", 0).losses(Update::Discriminator).unwrap());
        let mut pooled = trainer("pooled", 1);
        let first = mi(pooled.losses(Update::Discriminator).unwrap());
        let second = mi(pooled.losses(Update::Discriminator).unwrap());
        assert_eq!(first.to_bits(), unpooled.to_bits(), "a pool that is filling returns its input");
        assert!((second - unpooled).abs() <= 1e-5 * unpooled.abs().max(1.0), "pooled {second} vs {unpooled}");
    }

    #[test]
    fn resumed_run_continues_exactly() {
        let data = tiny_data(12);
        let device = Device::default().autodiff();
        let dir = temp_logdir("resume");
        let mut straight = Trainer::new(config(), &data, &dir, &device).unwrap();
        straight.train_step().unwrap();
        let checkpoint = straight.save_checkpoint().unwrap();
        let expected = straight.train_step().unwrap();
        let mut resumed = Trainer::resume(&checkpoint, None, &data, dir.join("resumed"), &device).unwrap();
        assert_eq!(resumed.step(), 1);
        let got = resumed.train_step().unwrap();
        assert!((got.d_loss - expected.d_loss).abs() < 1e-6, "{got:?} vs {expected:?}");
        assert!((got.g_loss - expected.g_loss).abs() < 1e-6, "{got:?} vs {expected:?}");
    }

    #[test]
    fn both_networks_change_in_a_step() {
        // Without weight decay, any change comes from the adversarial gradients alone.
        let data = tiny_data(8);
        let device = Device::default().autodiff();
        let dir = temp_logdir("change");
        let config = config()
            .with_generator(crate::model::MnistGeneratorConfig::new().with_weight_decay(0.0))
            .with_discriminator(crate::model::MnistDiscriminatorConfig::new().with_weight_decay(0.0));
        let images = Tensor::<4>::from_data(TensorData::new(vec![0.5f32; 4 * 784], [4, 1, 28, 28]), &device);
        for schedule in [TrainSchedule::Joint, TrainSchedule::Sequential] {
            let mut trainer = Trainer::new(config.clone().with_schedule(schedule), &data, &dir, &device).unwrap();
            let g0 = trainer.samples().unwrap();
            let d0 = trainer.model().discriminator.valid().forward(images.clone().inner()).unwrap();
            trainer.train_step().unwrap();
            let g1 = trainer.samples().unwrap();
            let d1 = trainer.model().discriminator.valid().forward(images.clone().inner()).unwrap();
            let dg = g0.sub(g1).abs().max().into_scalar::<f32>();
            let dd = d0.sub(d1).abs().max().into_scalar::<f32>();
            assert!(dg > 1e-4 && dd > 1e-4, "{schedule:?}: generator moved {dg}, discriminator {dd}");
        }
    }

    #[test]
    fn modified_losses_are_finite() {
        let data = tiny_data(8);
        let device = Device::default().autodiff();
        let dir = temp_logdir("modified");
        let loss = crate::train::GanLossConfig::new().with_loss(crate::train::GanLossKind::Modified);
        let mut trainer = Trainer::new(config().with_loss(loss), &data, &dir, &device).unwrap();
        let report = trainer.train_step().unwrap();
        assert!(report.d_loss.is_finite() && report.g_loss.is_finite());
    }

    #[test]
    fn a_nan_loss_stops_with_a_clear_error() {
        let data = tiny_data(8);
        let device = Device::default().autodiff();
        let dir = temp_logdir("nan");
        let config =
            config().with_generator(crate::model::MnistGeneratorConfig::new().with_weight_decay(f64::INFINITY));
        let mut trainer = Trainer::new(config, &data, &dir, &device).unwrap();
        let err = trainer.train_step().unwrap_err().to_string();
        assert!(err.contains("generator_loss") && err.contains("inf") && err.contains("step 1"), "{err}");
        assert_eq!(trainer.step(), 0);
    }

    /// Ctrl-C (the stop flag) between logging steps still logs, draws and saves the last step.
    #[test]
    fn a_stopped_run_logs_its_last_step() {
        let data = tiny_data(8);
        let device = Device::default().autodiff();
        let dir = temp_logdir("stopped");
        let config = config().with_steps(50).with_log_every(10).with_checkpoint_every(0).with_checkpoint_secs(0);
        let mut trainer = Trainer::new(config, &data, &dir, &device).unwrap();
        trainer.set_stop_flag(Arc::new(AtomicBool::new(true)));
        let summary = trainer.run(|_: &StepReport| {}).unwrap();
        assert!(summary.interrupted && summary.step == 1);
        let csv = std::fs::read_to_string(dir.join("scalars.csv")).unwrap();
        assert!(csv.lines().nth(1).is_some_and(|row| row.starts_with("1,")), "{csv}");
        assert!(summary.loss_curves.is_file() && summary.checkpoint.ends_with("step-000001"));
    }

    /// Counts the float tensors of a module that require gradients.
    struct Trainable(usize);

    impl burn::module::ModuleVisitor for Trainable {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            self.0 += usize::from(param.val().is_require_grad());
        }
    }

    /// A sequential step's first update is the generator's, whose frozen copy of the
    /// discriminator is made before the discriminator ever ran: its lazily initialized parameters
    /// (batch norm's γ and β) must stay trainable in the discriminator itself.
    #[test]
    fn a_generator_update_leaves_every_discriminator_parameter_trainable() {
        let data = tiny_data(8);
        let device = Device::default().autodiff();
        let dir = temp_logdir("trainable");
        let config = config().with_schedule(TrainSchedule::Sequential);
        let mut trainer = Trainer::new(config.clone(), &data, &dir, &device).unwrap();
        let mut expected = Trainable(0);
        config.discriminator.init(&mut Rng::seed_from_u64(0), &device).unwrap().visit(&mut expected);
        trainer.train_step().unwrap();
        let mut trainable = Trainable(0);
        trainer.model().discriminator.visit(&mut trainable);
        assert_eq!(trainable.0, expected.0);
    }

    /// A batch-independent discriminator's single pass over real and generated data gives each
    /// pass's outputs bit for bit, and the weight gradients of their summed losses up to float
    /// rounding (one sum over both batches instead of two).
    #[test]
    fn stacked_discriminator_pass_matches_two_passes() {
        use crate::zoo::ZooModel;
        let device = Device::default().autodiff();
        let mut rng = Rng::seed_from_u64(11);
        for model in [ZooModel::CganConv, ZooModel::InfoganShared, ZooModel::WganMlp, ZooModel::CganMlp] {
            let config = model.config();
            let d = model.init(&config, &mut rng, &device).unwrap().discriminator;
            assert!(d.batch_independent(), "{model}");
            let inputs = |rng: &mut Rng| {
                let mut inputs =
                    GeneratorInputs::noise(rng.normal([3, config.generator.noise_dims], 0.0, 1.0, &device));
                if config.generator.num_classes > 0 {
                    let ids = Tensor::<1, Int>::from_ints([1, 4, 9], &device);
                    inputs = inputs.with_labels(one_hot(ids, config.generator.num_classes));
                }
                if config.generator.categorical_dim > 0 {
                    inputs = inputs.with_structured(vec![
                        StructuredInput::ClassIds(Tensor::from_ints([2, 0, 7], &device)),
                        StructuredInput::Values(rng.uniform([3, config.generator.continuous_dim], -1.0, 1.0, &device)),
                    ]);
                }
                inputs
            };
            let (real_inputs, gen_inputs) = (inputs(&mut rng), inputs(&mut rng));
            let real = rng.uniform([3, 1, 28, 28], -1.0, 1.0, &device);
            let generated = rng.uniform([3, 1, 28, 28], -1.0, 1.0, &device);
            let separate = (
                d.discriminate(real.clone(), &real_inputs).unwrap(),
                d.discriminate(generated.clone(), &gen_inputs).unwrap(),
            );
            let stacked = discriminator_passes(&d, (real, &real_inputs), (generated, &gen_inputs)).unwrap();
            let bits = |o: &DiscriminatorOutput| {
                let mut all = vec![o.logits.clone()];
                for dist in &o.distributions {
                    match dist {
                        Distribution::Categorical { logits } | Distribution::OneHotCategorical { logits } => {
                            all.push(logits.clone())
                        }
                        Distribution::Normal { loc, scale } => all.extend([loc.clone(), scale.clone()]),
                    }
                }
                all.into_iter()
                    .flat_map(|t| t.into_data().try_to_vec::<f32>().unwrap())
                    .map(f32::to_bits)
                    .collect::<Vec<_>>()
            };
            assert_eq!(bits(&stacked.0), bits(&separate.0), "{model}: real");
            assert_eq!(bits(&stacked.1), bits(&separate.1), "{model}: generated");
            assert_eq!(stacked.1.distributions.len(), separate.1.distributions.len(), "{model}");
            let loss = |(r, g): (DiscriminatorOutput, DiscriminatorOutput)| r.logits.mean() - g.logits.mean();
            let grads = |out| {
                let grads = loss(out).backward();
                let mut values = Vec::new();
                d.visit(&mut GradValues { grads: &grads, values: &mut values });
                values
            };
            let (a, b) = (grads(stacked), grads(separate));
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-6 + 1e-5 * y.abs(), "{model}: {x} vs {y}");
            }
        }
    }

    /// Collects every parameter's gradient values.
    struct GradValues<'a> {
        grads: &'a burn::tensor::Gradients,
        values: &'a mut Vec<f32>,
    }

    impl burn::module::ModuleVisitor for GradValues<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if let Some(g) = param.val().grad(self.grads) {
                self.values.extend(g.into_data().try_to_vec::<f32>().unwrap());
            }
        }
    }

    /// A sequential generator step never assembles the discriminator's loss, so a bad penalty
    /// weight is caught before training, not at the first discriminator step.
    #[test]
    fn negative_loss_weights_are_rejected_before_training() {
        use crate::train::GanLossConfig;
        let device = Device::default().autodiff();
        let data = tiny_data(8);
        let config = config()
            .with_schedule(TrainSchedule::Sequential)
            .with_loss(GanLossConfig::new().with_gradient_penalty_weight(Some(-10.0)));
        let err = Trainer::new(config, &data, temp_logdir("negative-gp"), &device).err().unwrap().to_string();
        assert!(err.contains("gradient_penalty_weight") && err.contains("-10"), "{err}");
    }

    #[test]
    fn wrong_image_shape_is_rejected() {
        let data = Mnist { images: IdxImages { count: 4, rows: 2, cols: 2, pixels: vec![0; 16] }, labels: vec![0; 4] };
        let device = Device::default().autodiff();
        let err = Trainer::new(config(), &data, temp_logdir("shape"), &device).err().unwrap().to_string();
        assert!(err.contains("[1, 2, 2]"), "{err}");
    }
}

#[cfg(test)]
mod frozen_tests {
    use super::*;

    #[test]
    fn frozen_discriminator_passes_the_same_input_gradient() {
        let device = Device::default().autodiff();
        let mut rng = Rng::seed_from_u64(4);
        let d = crate::model::MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap();
        let x = rng.uniform([4, 1, 28, 28], -1.0, 1.0, &device).require_grad();
        // Each training forward advances the spectral-norm vectors (shared by clones): restore
        // them between the two passes so both see the same normalized weights.
        // Each training forward advances the spectral-norm power iteration (state shared by
        // clones); let it converge so that consecutive passes use the same normalized weights.
        for _ in 0..200 {
            d.forward(x.clone().detach()).unwrap();
        }
        let a = x.grad(&d.clone().no_grad().forward(x.clone()).unwrap().sum().backward()).unwrap();
        let b = x.grad(&d.forward(x.clone()).unwrap().sum().backward()).unwrap();
        let diff = a.clone().sub(b).abs().max().into_scalar::<f32>();
        let scale = a.abs().max().into_scalar::<f32>();
        assert!(scale > 0.0 && diff <= 1e-4 * scale.max(1.0), "diff {diff} scale {scale}");
    }
}
