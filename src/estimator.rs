//! TF-GAN's `GANEstimator`: a GAN made from a model directory, a generator function, a
//! discriminator function, their losses, their optimizers and optional hooks, with `train`,
//! `evaluate` and `predict` (reference §1.7).
//!
//! Everything lives in the model directory, as with a TF estimator: `train` writes checkpoints,
//! samples, scalars and TensorBoard events there and resumes from its newest checkpoint;
//! `evaluate` and `predict` load that checkpoint; `evaluate` logs its results under `eval/`.
//!
//! The losses, optimizers and parameters (gradient-penalty weight, mutual-information weight,
//! step ratios, seed, …) are a [`TrainConfig`]; its `generator` section describes the
//! generator's inputs (noise size, classes, InfoGAN codes).
//!
//! ```no_run
//! use burn::prelude::*;
//! use rgan::data::{Mnist, Split};
//! use rgan::estimator::GanEstimator;
//! use rgan::model::{MnistDiscriminatorConfig, MnistGeneratorConfig};
//! use rgan::train::{GanKind, TrainConfig};
//!
//! let config = TrainConfig::mnist(GanKind::Unconditional);
//! let (g, d) = (config.generator.clone(), config.discriminator.clone());
//! let estimator = GanEstimator::new(
//!     "logs/estimator",
//!     config,
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

use crate::data::ImageDataset;
use crate::error::{Result, RganError};
use crate::model::{GanDiscriminator, GanGenerator, GanModel, GeneratorInputs};
use crate::rng::Rng;
use crate::train::{
    TrainConfig, TrainHook, TrainSummary, Trainer, load_module, read_training_state, resolve_checkpoint,
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

/// TF-GAN's `GANEstimator` (see the [module docs](self)).
pub struct GanEstimator<G: GanGenerator, D: GanDiscriminator> {
    model_dir: PathBuf,
    config: TrainConfig,
    generator_fn: NetworkFn<G>,
    discriminator_fn: NetworkFn<D>,
    device: Device,
}

impl<G: GanGenerator, D: GanDiscriminator> GanEstimator<G, D> {
    /// An estimator over `model_dir` (created on the first `train`). `config` gives the losses,
    /// optimizers and parameters; `generator_fn` and `discriminator_fn` build the networks.
    pub fn new(
        model_dir: impl AsRef<Path>,
        config: TrainConfig,
        generator_fn: impl Fn(&mut Rng, &Device) -> Result<G> + 'static,
        discriminator_fn: impl Fn(&mut Rng, &Device) -> Result<D> + 'static,
        device: &Device,
    ) -> Self {
        Self {
            model_dir: model_dir.as_ref().to_path_buf(),
            config,
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

    /// Both networks built by the user's functions from `config.seed`, as `Trainer::new` draws
    /// them (one forked stream each).
    fn build(&self, device: &Device) -> Result<GanModel<G, D>> {
        let mut master = Rng::seed_from_u64(self.config.seed);
        let generator = (self.generator_fn)(&mut master.fork(), device)?;
        let discriminator = (self.discriminator_fn)(&mut master.fork(), device)?;
        Ok(GanModel { generator, discriminator })
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
        hooks: &mut [&mut dyn TrainHook<G, D>],
    ) -> Result<TrainSummary> {
        let device = self.device.clone().autodiff();
        let mut trainer = match self.latest_checkpoint() {
            Some(checkpoint) => {
                let template = self.build(&device)?;
                Trainer::resume_with_model(checkpoint, template, Some(max_steps), data, &self.model_dir, &device)?
            }
            None => {
                let config = TrainConfig { steps: max_steps, ..self.config.clone() };
                Trainer::with_model(config, self.build(&device)?, data, &self.model_dir, &device)?
            }
        };
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
        let checkpoint = self.checkpoint("evaluate")?;
        let device = self.device.clone().autodiff();
        let template = self.build(&device)?;
        let eval_dir = self.model_dir.join("eval");
        let mut trainer = Trainer::resume_with_model(&checkpoint, template, None, data, &eval_dir, &device)?;
        let (mut g_sum, mut d_sum) = (0.0, 0.0);
        let (mut real, mut generated) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
        for _ in 0..steps {
            let batch = trainer.evaluation_batch()?;
            g_sum += batch.generator_loss;
            d_sum += batch.discriminator_loss;
            real.push(batch.real);
            generated.push(batch.generated);
        }
        let user = metrics(Tensor::cat(real, 0), Tensor::cat(generated, 0))?;
        let results = EvalResults {
            global_step: trainer.step(),
            generator_loss: g_sum / steps as f64,
            discriminator_loss: d_sum / steps as f64,
            metrics: user.into_iter().collect(),
        };
        let mut values =
            vec![("loss/generator", results.generator_loss), ("loss/discriminator", results.discriminator_loss)];
        values.extend(results.metrics.iter().map(|(k, v)| (k.as_str(), *v)));
        trainer.log_values(&values)?;
        Ok(results)
    }

    /// Generated data from the newest checkpoint's generator in inference mode (batch norm with
    /// its moving averages, TF's PREDICT mode) for `inputs`.
    pub fn predict(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        let checkpoint = self.checkpoint("predict from")?;
        read_training_state(&checkpoint)?;
        let device = self.device.clone().without_autodiff();
        let template = self.build(&device)?.generator;
        let generator = load_module(template, &checkpoint.join("generator.bpk"))?;
        generator.generate(inputs)
    }

    /// Generated data for `n` fresh inputs drawn from `seed`: N(0, 1) noise of the configured
    /// size (and, for conditional or InfoGAN configurations, labels and codes as the trainer
    /// draws them).
    pub fn predict_noise(&self, n: usize, seed: u64) -> Result<Tensor<4>> {
        if n == 0 {
            return Err(RganError::invalid("n", "must be at least 1"));
        }
        let device = self.device.clone().without_autodiff();
        let inputs = self.config.random_generator_inputs(n, 0, &mut Rng::seed_from_u64(seed), &device);
        self.predict(&inputs)
    }
}
