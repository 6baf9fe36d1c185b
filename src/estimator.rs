//! TF-GAN's `GANEstimator`: a GAN made from a model directory, a generator function, a
//! discriminator function, their losses, their optimizers and optional hooks, with `train`,
//! `evaluate` and `predict` (reference §1.7).
//!
//! Everything lives in the model directory, as with a TF estimator: `train` writes checkpoints,
//! samples, scalars and TensorBoard events there and resumes from its newest checkpoint;
//! `evaluate` and `predict` load that checkpoint; `evaluate` logs its results under `eval/`.
//!
//! The losses, optimizers and parameters (gradient-penalty weight, mutual-information weight,
//! step ratios, seed, …) are a [`TrainConfig`]; a [`NoiseInputs`] describes the generator's
//! inputs (noise size, classes, InfoGAN codes), as TF-GAN's `input_fn` draws them.
//!
//! ```no_run
//! use burn::prelude::*;
//! use rgan::data::{Mnist, Split};
//! use rgan::estimator::GanEstimator;
//! use rgan::recipes::mnist::MnistRecipe;
//!
//! let recipe = MnistRecipe::default();
//! let (g, d) = (recipe.generator.clone(), recipe.discriminator.clone());
//! let estimator = GanEstimator::new(
//!     "logs/estimator",
//!     recipe.train_config(),
//!     recipe.noise_inputs(),
//!     move |rng, device| g.init(rng, device),
//!     move |rng, device| d.init(rng, device),
//!     &Device::default(),
//! );
//! let train = Mnist::load("../shared/datasets/mnist", Split::Train).unwrap();
//! estimator.train(&train, 2000, &mut []).unwrap();
//! let test = Mnist::load("../shared/datasets/mnist", Split::Test).unwrap();
//! let results = estimator.evaluate(&test, 10, |_, _| Ok(Vec::new())).unwrap();
//! println!("G loss {} D loss {}", results.generator_loss, results.discriminator_loss);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::prelude::*;

use crate::data::{BatchSource, ImageBatches, ImageDataset};
use crate::error::{Result, RganError};
use crate::model::{GanDiscriminator, GanGenerator, GanModel, GeneratorInputs, NoiseInputs};
use crate::rng::Rng;
use crate::summary::RunLog;
use crate::train::{
    Checkpoint, GanStep, Seeds, TrainConfig, TrainHook, TrainStep, TrainSummary, Trainer, resolve_checkpoint,
};

/// Builds a network from a random stream on a device (TF-GAN's `generator_fn` /
/// `discriminator_fn`).
pub type NetworkFn<M> = Box<dyn Fn(&mut Rng, &Device) -> Result<M>>;

/// What [`GanEstimator::evaluate`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalResults {
    /// The step of the evaluated checkpoint.
    pub global_step: usize,
    /// The generator loss, averaged over the evaluation batches.
    pub generator_loss: f64,
    /// The discriminator loss, averaged over the evaluation batches.
    pub discriminator_loss: f64,
    /// The user's metrics, by name.
    pub metrics: BTreeMap<String, f64>,
}

/// The step an estimator trains.
pub type EstimatorStep<G, D> = GanStep<G, D, NoiseInputs>;

/// TF-GAN's `GANEstimator` (see the [module docs](self)).
pub struct GanEstimator<G: GanGenerator, D: GanDiscriminator> {
    model_dir: PathBuf,
    config: TrainConfig,
    inputs: NoiseInputs,
    generator_fn: NetworkFn<G>,
    discriminator_fn: NetworkFn<D>,
    device: Device,
}

impl<G: GanGenerator, D: GanDiscriminator> GanEstimator<G, D> {
    /// An estimator over `model_dir` (created on the first `train`). `config` gives the losses,
    /// optimizers and parameters, `inputs` how the generator's inputs are drawn;
    /// `generator_fn` and `discriminator_fn` build the networks.
    pub fn new(
        model_dir: impl AsRef<Path>,
        config: TrainConfig,
        inputs: NoiseInputs,
        generator_fn: impl Fn(&mut Rng, &Device) -> Result<G> + 'static,
        discriminator_fn: impl Fn(&mut Rng, &Device) -> Result<D> + 'static,
        device: &Device,
    ) -> Self {
        Self {
            model_dir: model_dir.as_ref().to_path_buf(),
            config,
            inputs,
            generator_fn: Box::new(generator_fn),
            discriminator_fn: Box::new(discriminator_fn),
            device: device.clone(),
        }
    }

    /// The model directory.
    pub fn model_dir(&self) -> &Path {
        &self.model_dir
    }

    /// The configuration a fresh `train` starts from.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The newest checkpoint in the model directory, if any.
    pub fn latest_checkpoint(&self) -> Option<PathBuf> {
        resolve_checkpoint(&self.model_dir).ok()
    }

    /// The description its checkpoints record: the generator's inputs (the networks are the
    /// user's functions).
    fn description(&self) -> Result<serde_json::Value> {
        serde_json::to_value(serde_json::json!({ "estimator": self.inputs }))
            .map_err(|e| RganError::invalid("inputs", format!("cannot be described: {e}")))
    }

    /// The step of `config`: both networks built by the user's functions from the run's seeds.
    fn build(&self, config: &TrainConfig, mut seeds: Seeds, device: &Device) -> Result<EstimatorStep<G, D>> {
        let model = GanModel {
            generator: (self.generator_fn)(&mut seeds.generator, device)?,
            discriminator: (self.discriminator_fn)(&mut seeds.discriminator, device)?,
        };
        GanStep::new(config.clone(), model, self.inputs.clone(), seeds.step, device)
    }

    fn checkpoint(&self, what: &str) -> Result<PathBuf> {
        self.latest_checkpoint().ok_or_else(|| {
            RganError::invalid(
                "model_dir",
                format!("{} holds no checkpoint to {what}: call `train` first", self.model_dir.display()),
            )
        })
    }

    /// Trains until global step `max_steps` (absolute, as TF's `max_steps`), resuming from the
    /// model directory's newest checkpoint when there is one; `hooks` run after every step.
    /// Returns at once when the checkpoint is already at `max_steps` or beyond.
    pub fn train<Data: ImageDataset + ?Sized>(
        &self,
        data: &Data,
        max_steps: usize,
        hooks: &mut [&mut dyn TrainHook<EstimatorStep<G, D>>],
    ) -> Result<TrainSummary> {
        let device = self.device.clone().autodiff();
        let config = TrainConfig { steps: max_steps, ..self.config.clone() };
        let batches = ImageBatches::new(data, config.batch_size)?;
        let mut trainer =
            Trainer::start_or_resume(&self.model_dir, self.description()?, config, false, batches, |config, seeds| {
                self.build(config, seeds, &device)
            })?;
        trainer.run_with_hooks(hooks)
    }

    /// Evaluates the newest checkpoint on `steps` batches of `data`: the generator and
    /// discriminator losses (as training computes them, averaged over the batches) and the
    /// user's `metrics`, called once with all the real and all the generated images of those
    /// batches (e.g. [`evaluate_mnist_images`](crate::eval::mnist::evaluate_mnist_images)'s
    /// MNIST score). The results are also logged at the checkpoint's step under
    /// `model_dir/eval/` (CSV and TensorBoard), as TF estimators do.
    pub fn evaluate<Data: ImageDataset + ?Sized>(
        &self,
        data: &Data,
        steps: usize,
        mut metrics: impl FnMut(Tensor<4>, Tensor<4>) -> Result<Vec<(String, f64)>>,
    ) -> Result<EvalResults> {
        if steps == 0 {
            return Err(RganError::invalid("steps", "must be at least 1 evaluation batch"));
        }
        let checkpoint = Checkpoint::open(self.checkpoint("evaluate")?)?;
        let device = self.device.clone().autodiff();
        let config: TrainConfig = checkpoint.config()?;
        let mut step =
            Trainer::<EstimatorStep<G, D>, ImageBatches<Data>>::load_step(&checkpoint, &config, |c, seeds| {
                self.build(c, seeds, &device)
            })?;
        let mut batches = ImageBatches::new(data, config.batch_size)?;
        batches.start(config.seed)?;
        let (mut g_sum, mut d_sum) = (0.0, 0.0);
        let (mut real, mut generated) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
        for _ in 0..steps {
            let batch = step.evaluate(batches.next_batch(&device)?)?;
            g_sum += batch.generator_loss;
            d_sum += batch.discriminator_loss;
            real.push(batch.real);
            generated.push(batch.generated);
        }
        let user = metrics(Tensor::cat(real, 0), Tensor::cat(generated, 0))?;
        let results = EvalResults {
            global_step: step.global_step(),
            generator_loss: g_sum / steps as f64,
            discriminator_loss: d_sum / steps as f64,
            metrics: user.into_iter().collect(),
        };
        let mut values =
            vec![("loss/generator", results.generator_loss), ("loss/discriminator", results.discriminator_loss)];
        values.extend(results.metrics.iter().map(|(k, v)| (k.as_str(), *v)));
        let mut log = RunLog::open(self.model_dir.join("eval"), Some(results.global_step))?;
        log.scalars(results.global_step, &values)?;
        log.flush()?;
        Ok(results)
    }

    /// Generated data from the newest checkpoint's generator in inference mode (batch norm with
    /// its moving averages, TF's PREDICT mode) for `inputs`.
    pub fn predict(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        let checkpoint = Checkpoint::open(self.checkpoint("predict from")?)?;
        let device = self.device.clone().without_autodiff();
        let template = (self.generator_fn)(&mut Rng::seed_from_u64(0), &device)?;
        checkpoint.module("generator.bpk", template)?.generate(inputs)
    }

    /// Generated data for `n` fresh inputs drawn from `seed`: N(0, 1) noise of the configured
    /// size (and, for conditional or InfoGAN configurations, labels and codes as the trainer
    /// draws them).
    pub fn predict_noise(&self, n: usize, seed: u64) -> Result<Tensor<4>> {
        if n == 0 {
            return Err(RganError::invalid("n", "must be at least 1"));
        }
        let device = self.device.clone().without_autodiff();
        let inputs = self.inputs.random(n, 0, &mut Rng::seed_from_u64(seed), &device);
        self.predict(&inputs)
    }
}
