//! The training loop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;

use super::checkpoint::{
    CheckpointParts, TrainingState, file_error, load_module, module_bytes, read_training_state, resolve_checkpoint,
    write_checkpoint,
};
use super::{GanLossKind, TrainConfig, TrainSchedule, save_image_grid};
use crate::data::{Batcher, ImageDataset};
use crate::error::{Result, RganError};
use crate::losses::{
    DiscriminatorLossOptions, GeneratorLossOptions, modified_discriminator_loss, modified_generator_loss,
};
use crate::model::{BatchNormMode, MnistDiscriminator, MnistGenerator};
use crate::rng::Rng;

/// The two networks of a GAN.
#[derive(Clone, Debug)]
pub struct GanModel {
    /// The generator.
    pub generator: MnistGenerator,
    /// The discriminator.
    pub discriminator: MnistDiscriminator,
}

/// What one GAN step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// The number of GAN steps done, this one included.
    pub step: usize,
    /// The discriminator's loss (with its weight decay), before this step's update.
    pub d_loss: f64,
    /// The generator's loss (with its weight decay), before this step's update.
    pub g_loss: f64,
    /// Steps per second since this run (or resume) started.
    pub steps_per_sec: f64,
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
    /// Wall time of the run.
    pub wall: Duration,
}

/// A GAN training run on an image data set (TF-GAN's `gan_model`, `gan_loss`, `gan_train_ops`
/// and `gan_train` for the MNIST networks), with sample grids, a scalars CSV and checkpoints in
/// `logdir`.
///
/// ```no_run
/// use burn::prelude::*;
/// use rgan::data::{Mnist, Split};
/// use rgan::train::{TrainConfig, Trainer};
/// let mnist = Mnist::load("../shared/datasets/mnist", Split::Train).unwrap();
/// let device = Device::default().autodiff();
/// let mut trainer = Trainer::new(TrainConfig::new().with_steps(100), &mnist, "logs/mnist", &device).unwrap();
/// let summary = trainer.run(|report| println!("{report:?}")).unwrap();
/// println!("samples in {}", summary.samples.display());
/// ```
pub struct Trainer<'d, D: ImageDataset + ?Sized> {
    config: TrainConfig,
    data: &'d D,
    device: Device,
    model: GanModel,
    generator_optimizer: ModuleOptimizer,
    discriminator_optimizer: ModuleOptimizer,
    batcher: Batcher,
    rng: Rng,
    fixed_noise: Vec<f32>,
    step: usize,
    logdir: PathBuf,
    scalars: std::fs::File,
    started: Instant,
    start_step: usize,
    last_checkpoint: Option<PathBuf>,
    last_samples: Option<PathBuf>,
}

fn adam(config: &TrainConfig) -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(config.adam_beta_1 as f32)
        .with_beta_2(config.adam_beta_2 as f32)
        .with_epsilon(config.adam_epsilon as f32)
        .init()
}

fn check_config(config: &TrainConfig, data_len: usize, image_shape: [usize; 3]) -> Result<()> {
    if image_shape != [1, 28, 28] {
        return Err(RganError::shape(
            "data",
            &image_shape,
            "(one image) but the MNIST networks take [1, 28, 28] images; resize the data set",
        ));
    }
    if config.batch_size == 0 || config.batch_size > data_len {
        return Err(RganError::invalid(
            "batch_size",
            format!("is {} but must be between 1 and the data set's size {data_len}", config.batch_size),
        ));
    }
    if config.grid_size == 0 {
        return Err(RganError::invalid("grid_size", "must be at least 1"));
    }
    for (name, lr) in [
        ("generator_learning_rate", config.generator_learning_rate),
        ("discriminator_learning_rate", config.discriminator_learning_rate),
    ] {
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(RganError::invalid(name, format!("is {lr}; it must be a positive number")));
        }
    }
    Ok(())
}

fn scalar(loss: &Tensor<1>) -> f64 {
    loss.clone().into_scalar::<f64>()
}

fn open_scalars(logdir: &Path, append: bool) -> Result<std::fs::File> {
    let path = logdir.join("scalars.csv");
    let exists = path.is_file();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&path)
        .map_err(|e| file_error(&path, format!("cannot be opened: {e}")))?;
    if !append || !exists {
        writeln!(file, "step,d_loss,g_loss,steps_per_sec").map_err(|e| file_error(&path, e.to_string()))?;
    }
    Ok(file)
}

impl<'d, D: ImageDataset + ?Sized> Trainer<'d, D> {
    /// Starts a run: builds both networks from `config.seed`, creates `logdir` and truncates its
    /// `scalars.csv`. `device` should be an autodiff device (`Device::default().autodiff()`); a
    /// plain device is switched to its autodiff counterpart.
    ///
    /// Errors if the data set's images are not `[1, 28, 28]`, the batch size does not fit the
    /// data set, or `logdir` cannot be created.
    pub fn new(config: TrainConfig, data: &'d D, logdir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        check_config(&config, data.len(), data.image_shape())?;
        let device = device.clone().autodiff();
        let logdir = logdir.as_ref().to_path_buf();
        std::fs::create_dir_all(&logdir).map_err(|e| file_error(&logdir, format!("cannot create: {e}")))?;
        let mut master = Rng::seed_from_u64(config.seed);
        let generator = config.generator.init(&mut master.fork(), &device)?;
        let discriminator = config.discriminator.init(&mut master.fork(), &device)?;
        let batcher = Batcher::new(data.len(), config.batch_size, master.below(usize::MAX) as u64)?;
        let grid = config.grid_size * config.grid_size;
        let fixed_noise: Vec<f32> =
            (0..grid * config.generator.noise_dims).map(|_| master.next_normal() as f32).collect();
        let rng = master.fork();
        let scalars = open_scalars(&logdir, false)?;
        Ok(Self {
            generator_optimizer: adam(&config),
            discriminator_optimizer: adam(&config),
            config,
            data,
            device,
            model: GanModel { generator, discriminator },
            batcher,
            rng,
            fixed_noise,
            step: 0,
            logdir,
            scalars,
            started: Instant::now(),
            start_step: 0,
            last_checkpoint: None,
            last_samples: None,
        })
    }

    /// Resumes a run from a checkpoint (any path [`resolve_checkpoint`] accepts): networks,
    /// optimizer state, noise generator and data position, so the run continues as if it had not
    /// stopped. `steps` replaces the saved number of steps to train to when given. Appends to
    /// `logdir/scalars.csv`.
    pub fn resume(
        checkpoint: impl AsRef<Path>,
        steps: Option<usize>,
        data: &'d D,
        logdir: impl AsRef<Path>,
        device: &Device,
    ) -> Result<Self> {
        let dir = resolve_checkpoint(checkpoint)?;
        let state: TrainingState = read_training_state(&dir)?;
        let mut config = state.config;
        if let Some(steps) = steps {
            config.steps = steps;
        }
        check_config(&config, data.len(), data.image_shape())?;
        let device = device.clone().autodiff();
        let logdir = logdir.as_ref().to_path_buf();
        std::fs::create_dir_all(&logdir).map_err(|e| file_error(&logdir, format!("cannot create: {e}")))?;
        let mut dummy = Rng::seed_from_u64(0);
        let generator = load_module(config.generator.init(&mut dummy, &device)?, &dir.join("generator.bpk"))?;
        let discriminator =
            load_module(config.discriminator.init(&mut dummy, &device)?, &dir.join("discriminator.bpk"))?;
        let load_optimizer = |file: &str| -> Result<ModuleOptimizer> {
            let path = dir.join(file);
            let bytes = std::fs::read(&path).map_err(|e| file_error(&path, format!("cannot read: {e}")))?;
            adam(&config)
                .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
                .map_err(|e| file_error(&path, format!("optimizer record error: {e}")))
        };
        let generator_optimizer = load_optimizer("generator_optimizer.bpk")?;
        let discriminator_optimizer = load_optimizer("discriminator_optimizer.bpk")?;
        let batcher = Batcher::from_state(data.len(), config.batch_size, state.batcher)?;
        let scalars = open_scalars(&logdir, true)?;
        Ok(Self {
            config,
            data,
            device,
            model: GanModel { generator, discriminator },
            generator_optimizer,
            discriminator_optimizer,
            batcher,
            rng: state.rng,
            fixed_noise: state.fixed_noise,
            step: state.step,
            logdir,
            scalars,
            started: Instant::now(),
            start_step: state.step,
            last_checkpoint: Some(dir),
            last_samples: None,
        })
    }

    /// The number of GAN steps done.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The networks.
    pub fn model(&self) -> &GanModel {
        &self.model
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The log folder.
    pub fn logdir(&self) -> &Path {
        &self.logdir
    }

    fn noise(&mut self) -> Tensor<2> {
        let shape = [self.config.batch_size, self.config.generator.noise_dims];
        self.rng.normal(shape, 0.0, 1.0, &self.device)
    }

    fn discriminator_loss(&self, d_real: Tensor<2>, d_gen: Tensor<2>) -> Result<Tensor<1>> {
        let loss = match self.config.loss {
            GanLossKind::Modified => {
                modified_discriminator_loss(d_real, d_gen, &DiscriminatorLossOptions::default())?.reshape([1])
            }
            GanLossKind::Wasserstein => d_gen.mean() - d_real.mean(),
        };
        Ok(loss + self.model.discriminator.regularization_loss())
    }

    fn generator_loss(&self, d_gen: Tensor<2>) -> Result<Tensor<1>> {
        let loss = match self.config.loss {
            GanLossKind::Modified => modified_generator_loss(d_gen, &GeneratorLossOptions::default())?.reshape([1]),
            GanLossKind::Wasserstein => d_gen.mean().neg(),
        };
        Ok(loss + self.model.generator.regularization_loss())
    }

    /// The discriminator's logits on generated images, differentiable with respect to the images
    /// only (the discriminator's own weights are treated as constants).
    fn frozen_discriminator(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        self.model.discriminator.clone().no_grad().forward(images)
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

    fn generator_update(&mut self, g_loss: Tensor<1>) {
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.model.generator);
        self.model.generator =
            self.generator_optimizer.step(self.config.generator_learning_rate, self.model.generator.clone(), grads);
    }

    fn discriminator_update(&mut self, d_loss: Tensor<1>) {
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.model.discriminator);
        self.model.discriminator = self.discriminator_optimizer.step(
            self.config.discriminator_learning_rate,
            self.model.discriminator.clone(),
            grads,
        );
    }

    /// One GAN step (one generator and one discriminator update, ordered by
    /// `config.schedule`). Stops with an error, before applying any update, when a loss is NaN
    /// or infinite.
    pub fn train_step(&mut self) -> Result<StepReport> {
        let (d_value, g_value) = match self.config.schedule {
            TrainSchedule::Joint => {
                let batch = self.batcher.next_batch(self.data, &self.device)?;
                let noise = self.noise();
                let generated = self.model.generator.forward(noise)?;
                let d_real = self.model.discriminator.forward(batch.images)?;
                let d_gen = self.model.discriminator.forward(generated.clone().detach())?;
                let d_loss = self.discriminator_loss(d_real, d_gen)?;
                let g_loss = self.generator_loss(self.frozen_discriminator(generated)?)?;
                let (d_value, g_value) = (scalar(&d_loss), scalar(&g_loss));
                self.check_finite("discriminator_loss", d_value)?;
                self.check_finite("generator_loss", g_value)?;
                self.discriminator_update(d_loss);
                self.generator_update(g_loss);
                (d_value, g_value)
            }
            TrainSchedule::Sequential => {
                let noise = self.noise();
                let generated = self.model.generator.forward(noise)?;
                let g_loss = self.generator_loss(self.frozen_discriminator(generated)?)?;
                let g_value = scalar(&g_loss);
                self.check_finite("generator_loss", g_value)?;
                self.generator_update(g_loss);
                let batch = self.batcher.next_batch(self.data, &self.device)?;
                let noise = self.noise();
                let generated = self.model.generator.forward(noise)?.detach();
                let d_real = self.model.discriminator.forward(batch.images)?;
                let d_gen = self.model.discriminator.forward(generated)?;
                let d_loss = self.discriminator_loss(d_real, d_gen)?;
                let d_value = scalar(&d_loss);
                self.check_finite("discriminator_loss", d_value)?;
                self.discriminator_update(d_loss);
                (d_value, g_value)
            }
        };
        self.step += 1;
        let elapsed = self.started.elapsed().as_secs_f64();
        let steps_per_sec = if elapsed > 0.0 { (self.step - self.start_step) as f64 / elapsed } else { 0.0 };
        Ok(StepReport { step: self.step, d_loss: d_value, g_loss: g_value, steps_per_sec })
    }

    /// Generates the sample grid's images from the fixed noise, normalizing with the batch's own
    /// statistics (as TF-GAN's training image summaries do) without touching the moving averages.
    pub fn samples(&self) -> Result<Tensor<4>> {
        let n = self.config.grid_size * self.config.grid_size;
        let generator = self.model.generator.valid();
        let device = self.device.clone().without_autodiff();
        let noise = Tensor::from_data(
            TensorData::new(self.fixed_noise.clone(), [n, self.config.generator.noise_dims]),
            &device,
        );
        generator.forward_with(noise, BatchNormMode::BatchStatistics)
    }

    /// Writes the sample grid of the current step to `logdir/samples/step_NNNNNN.png` and
    /// returns its path.
    pub fn write_samples(&mut self) -> Result<PathBuf> {
        let path = self.logdir.join("samples").join(format!("step_{:06}.png", self.step));
        save_image_grid(self.samples()?, self.config.grid_size, &path)?;
        self.last_samples = Some(path.clone());
        Ok(path)
    }

    /// Writes a checkpoint of the current step (see [`resolve_checkpoint`] for the layout) and
    /// returns its folder.
    pub fn save_checkpoint(&mut self) -> Result<PathBuf> {
        let root = self.logdir.join("checkpoints");
        let optimizer_bytes = |optimizer: &ModuleOptimizer| -> Result<Vec<u8>> {
            Ok(optimizer.into_bytes().map_err(|e| file_error(&root, format!("optimizer record error: {e}")))?.to_vec())
        };
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
            },
        };
        let dir = write_checkpoint(&self.logdir, parts, self.config.keep_checkpoints)?;
        self.last_checkpoint = Some(dir.clone());
        Ok(dir)
    }

    fn log_scalars(&mut self, report: &StepReport) -> Result<()> {
        let path = self.logdir.join("scalars.csv");
        writeln!(self.scalars, "{},{},{},{:.3}", report.step, report.d_loss, report.g_loss, report.steps_per_sec)
            .and_then(|_| self.scalars.flush())
            .map_err(|e| file_error(&path, format!("cannot be written: {e}")))
    }

    /// Trains until `config.steps`, calling `on_step` after every step; writes samples,
    /// scalars and checkpoints on their schedules and at the end.
    pub fn run(&mut self, mut on_step: impl FnMut(&StepReport)) -> Result<TrainSummary> {
        let every = |n: usize, step: usize| n > 0 && step.is_multiple_of(n);
        self.started = Instant::now();
        self.start_step = self.step;
        while self.step < self.config.steps {
            let report = self.train_step()?;
            let last = report.step == self.config.steps;
            if every(self.config.log_every, report.step) || last {
                self.log_scalars(&report)?;
            }
            if every(self.config.sample_every, report.step) || last {
                self.write_samples()?;
            }
            if every(self.config.checkpoint_every, report.step) || last {
                self.save_checkpoint()?;
            }
            on_step(&report);
        }
        let samples = match &self.last_samples {
            Some(path) => path.clone(),
            None => self.write_samples()?,
        };
        let checkpoint = match &self.last_checkpoint {
            Some(dir) if self.step == self.start_step => dir.clone(),
            Some(dir) if dir.ends_with(format!("step-{:06}", self.step)) => dir.clone(),
            _ => self.save_checkpoint()?,
        };
        Ok(TrainSummary { step: self.step, samples, checkpoint, wall: self.started.elapsed() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{IdxImages, Mnist};

    fn tiny_data(n: usize) -> Mnist {
        let mut rng = Rng::seed_from_u64(9);
        let pixels = (0..n * 784).map(|_| rng.below(256) as u8).collect();
        Mnist { images: IdxImages { count: n, rows: 28, cols: 28, pixels }, labels: vec![0; n] }
    }

    fn temp_logdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rgan-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn config() -> TrainConfig {
        TrainConfig::new().with_batch_size(4).with_grid_size(2).with_steps(2).with_sample_every(0)
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
        std::fs::remove_dir_all(&dir).unwrap();
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
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wasserstein_losses_are_finite() {
        let data = tiny_data(8);
        let device = Device::default().autodiff();
        let dir = temp_logdir("wgan");
        let mut trainer = Trainer::new(config().with_loss(GanLossKind::Wasserstein), &data, &dir, &device).unwrap();
        let report = trainer.train_step().unwrap();
        assert!(report.d_loss.is_finite() && report.g_loss.is_finite());
        std::fs::remove_dir_all(&dir).unwrap();
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
        std::fs::remove_dir_all(&dir).unwrap();
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
        let a = x.grad(&d.clone().no_grad().forward(x.clone()).unwrap().sum().backward()).unwrap();
        let b = x.grad(&d.forward(x.clone()).unwrap().sum().backward()).unwrap();
        let diff = a.clone().sub(b).abs().max().into_scalar::<f32>();
        let scale = a.abs().max().into_scalar::<f32>();
        assert!(scale > 0.0 && diff <= 1e-6 * scale.max(1.0), "diff {diff} scale {scale}");
    }
}
