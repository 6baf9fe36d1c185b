//! CycleGAN's loss assembly (`cyclegan_loss`) and training step.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use super::checkpoint::{Checkpoint, CheckpointWriter};
use super::step::{Update, check_finite, discriminator_half, generator_half, run_updates, scalar, update_batches};
use super::{GanLoss, GanLossConfig, GanLossKind, SampleImages, StepReport, TrainConfig, TrainStep};
use crate::data::UnpairedBatch;
use crate::error::{Result, RganError};
use crate::features::{TensorPool, clip_discriminator_weights};
use crate::losses::cycle_consistency_loss;
use crate::model::{CycleGanModel, CycleGanOutputs, GanDiscriminator, GanGenerator, GanModel, check_generated_shape};
use crate::rng::Rng;

/// TF-GAN's `cyclegan_loss` arguments: each half's `gan_loss` arguments (its defaults are the
/// least-squares losses) and the weight of the cycle-consistency loss added to both generator
/// losses.
///
/// ```
/// let config = rgan::train::CycleGanLossConfig::new();
/// assert_eq!(config.loss.loss, rgan::train::GanLossKind::LeastSquares);
/// assert_eq!(config.cycle_consistency_loss_weight, 10.0);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CycleGanLossConfig {
    /// Each half's `gan_loss` arguments. Default least squares, nothing else.
    #[config(default = "GanLossConfig::new().with_loss(GanLossKind::LeastSquares)")]
    pub loss: GanLossConfig,
    /// The cycle-consistency loss's weight. Default 10.
    #[config(default = 10.0)]
    pub cycle_consistency_loss_weight: f64,
}

/// What [`cyclegan_loss`] assembled (TF-GAN's `CycleGANLoss`, plus the cycle-consistency term).
#[derive(Clone, Debug)]
pub struct CycleGanLoss {
    /// The X→Y half's losses; its generator loss includes the weighted cycle-consistency loss.
    pub loss_x2y: GanLoss,
    /// The Y→X half's losses, likewise.
    pub loss_y2x: GanLoss,
    /// The (unweighted) cycle-consistency loss, `[1]`.
    pub cycle_consistency_loss: Tensor<1>,
}

fn check_cycle_weight(weight: f64) -> Result<f64> {
    if weight.is_nan() || weight < 0.0 {
        return Err(RganError::invalid("cycle_consistency_loss_weight", format!("is {weight}; it must be ≥ 0")));
    }
    Ok(weight)
}

/// TF-GAN's `cyclegan_loss`: [`gan_loss`](super::gan_loss) of each half with `config.loss`, the
/// weighted cycle-consistency loss ([`cycle_consistency_loss`], the mean of the two directions'
/// L1) added to both generator losses. `rng` draws gradient-penalty points, when configured.
pub fn cyclegan_loss<G, D>(
    model: &CycleGanModel<G, D>,
    outputs: &CycleGanOutputs,
    config: &CycleGanLossConfig,
    rng: &mut Rng,
) -> Result<CycleGanLoss>
where
    G: GanGenerator<Tensor<4>>,
    D: GanDiscriminator<Tensor<4>>,
{
    config.loss.check_weights()?;
    let weight = check_cycle_weight(config.cycle_consistency_loss_weight)?;
    let cycle = cycle_consistency_loss(
        outputs.model_x2y.generator_inputs.clone(),
        outputs.reconstructed_x.clone(),
        outputs.model_y2x.generator_inputs.clone(),
        outputs.reconstructed_y.clone(),
    )?;
    let mut halves = Vec::new();
    for (model, out) in [(&model.model_x2y, &outputs.model_x2y), (&model.model_y2x, &outputs.model_y2x)] {
        let loss = super::gan_loss(model, out, &config.loss, rng)?;
        halves.push(GanLoss { generator_loss: loss.generator_loss + cycle.clone().mul_scalar(weight), ..loss });
    }
    let loss_y2x = halves.pop().ok_or_else(|| RganError::invalid("model", "lost a half"))?;
    let loss_x2y = halves.pop().ok_or_else(|| RganError::invalid("model", "lost a half"))?;
    Ok(CycleGanLoss { loss_x2y, loss_y2x, cycle_consistency_loss: cycle })
}

/// The optimizers of the four networks (Adam and RMSProp keep their state per parameter, so two
/// optimizers for two networks are one optimizer for both).
struct Optimizers {
    generator_x2y: ModuleOptimizer,
    generator_y2x: ModuleOptimizer,
    discriminator_y: ModuleOptimizer,
    discriminator_x: ModuleOptimizer,
}

impl Optimizers {
    fn new(config: &TrainConfig) -> Self {
        Self {
            generator_x2y: config.generator_optimizer.init(),
            generator_y2x: config.generator_optimizer.init(),
            discriminator_y: config.discriminator_optimizer.init(),
            discriminator_x: config.discriminator_optimizer.init(),
        }
    }
}

const OPTIMIZER_FILES: [&str; 4] = [
    "generator_x2y_optimizer.bpk",
    "generator_y2x_optimizer.bpk",
    "discriminator_y_optimizer.bpk",
    "discriminator_x_optimizer.bpk",
];

/// CycleGAN's training step: TF-GAN's `cyclegan_model` → `cyclegan_loss` → train ops, on a
/// batch of each domain per update, both generators (and both discriminators) updated together
/// from one backward pass. `config.loss` is each half's `gan_loss` configuration (least squares
/// for TF-GAN's CycleGAN); with `config.replay_pool_size`, each half has a replay pool, as
/// TF-GAN's `tensor_pool_fn` gives each half's `gan_loss` its own.
pub struct CycleGanStep<G, D> {
    config: TrainConfig,
    cycle_consistency_loss_weight: f64,
    model: CycleGanModel<G, D>,
    optimizers: Optimizers,
    pools: [Option<TensorPool>; 2],
    rng: Rng,
    samples: UnpairedBatch,
    device: Device,
    step: usize,
}

/// The losses of one CycleGAN update.
struct CycleLoss {
    discriminator: Option<Tensor<1>>,
    generator: Option<Tensor<1>>,
    report: Vec<(&'static str, Tensor<1>)>,
    halves_d: Option<[f64; 2]>,
}

impl<G, D> CycleGanStep<G, D>
where
    G: GanGenerator<Tensor<4>>,
    D: GanDiscriminator<Tensor<4>>,
{
    /// A step training `model` (on the autodiff `device`) with `config` and the cycle-consistency
    /// weight; `rng` is the step's random stream ([`Seeds::step`](super::Seeds)); `samples` is a
    /// fixed batch of each domain for the sample grids.
    pub fn new(
        config: TrainConfig,
        cycle_consistency_loss_weight: f64,
        model: CycleGanModel<G, D>,
        samples: UnpairedBatch,
        mut rng: Rng,
        device: &Device,
    ) -> Result<Self> {
        config.check()?;
        check_cycle_weight(cycle_consistency_loss_weight)?;
        if config.classifier_guidance.is_some() || config.generator_ema_decay.is_some() {
            return Err(RganError::invalid(
                "config",
                "CycleGAN's step supports neither classifier guidance nor a generator moving average",
            ));
        }
        let noise_rng = rng.fork();
        let mut pool = || {
            (config.replay_pool_size > 0)
                .then(|| TensorPool::new(config.replay_pool_size, config.replay_pool_probability, rng.fork()))
                .transpose()
        };
        let pools = [pool()?, pool()?];
        let plain = device.clone().without_autodiff();
        let samples = UnpairedBatch { x: samples.x.to_device(&plain), y: samples.y.to_device(&plain) };
        Ok(Self {
            optimizers: Optimizers::new(&config),
            config,
            cycle_consistency_loss_weight,
            model,
            pools,
            rng: noise_rng,
            samples,
            device: device.clone().autodiff(),
            step: 0,
        })
    }

    /// The four networks.
    pub fn model(&self) -> &CycleGanModel<G, D> {
        &self.model
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    fn losses(&mut self, update: Update, batch: UnpairedBatch) -> Result<CycleLoss> {
        let UnpairedBatch { x, y } = batch;
        let loss_config = self.config.loss.clone();
        let generated_y = self.model.model_x2y.generator.generate(&x)?;
        check_generated_shape(&y, &generated_y)?;
        let generated_x = self.model.model_y2x.generator.generate(&y)?;
        check_generated_shape(&x, &generated_x)?;
        let halves = [(&y, &x, &generated_y), (&x, &y, &generated_x)];
        let mut out = CycleLoss { discriminator: None, generator: None, report: Vec::new(), halves_d: None };
        let mut real_outputs = [None, None];
        if update != Update::Generator {
            let [pool_x2y, pool_y2x] = &mut self.pools;
            let (d_x2y, real_y) =
                discriminator_half(&self.model.model_x2y, &loss_config, pool_x2y.as_mut(), &mut self.rng, halves[0])?;
            let (d_y2x, real_x) =
                discriminator_half(&self.model.model_y2x, &loss_config, pool_y2x.as_mut(), &mut self.rng, halves[1])?;
            out.halves_d = Some([scalar(&d_x2y.loss), scalar(&d_y2x.loss)]);
            if let (Some(a), Some(b)) = (&d_x2y.gradient_penalty, &d_y2x.gradient_penalty) {
                out.report.push(("penalty/gradient", (a.clone() + b.clone()).div_scalar(2.0)));
            }
            out.discriminator = Some(d_x2y.loss + d_y2x.loss);
            real_outputs = [Some(real_y), Some(real_x)];
        }
        if update != Update::Discriminator {
            let reconstructed_x = self.model.model_y2x.generator.generate(&generated_y)?;
            let reconstructed_y = self.model.model_x2y.generator.generate(&generated_x)?;
            let cycle = cycle_consistency_loss(x.clone(), reconstructed_x, y.clone(), reconstructed_y)?;
            let [real_y, real_x] = real_outputs;
            let g_x2y = generator_half(&self.model.model_x2y, &loss_config, halves[0], real_y)?;
            let g_y2x = generator_half(&self.model.model_y2x, &loss_config, halves[1], real_x)?;
            let weighted = cycle.clone().mul_scalar(self.cycle_consistency_loss_weight);
            out.report.push(("loss/generator_x2y", g_x2y.loss.clone() + weighted.clone()));
            out.report.push(("loss/generator_y2x", g_y2x.loss.clone() + weighted.clone()));
            out.report.push(("loss/cycle_consistency", cycle));
            // One backward pass: each generator's gradient is its own half's (the other half's
            // adversarial loss does not depend on it), the cycle term counted once.
            out.generator = Some(g_x2y.loss + g_y2x.loss + weighted);
        }
        Ok(out)
    }

    fn update(&mut self, update: Update, batch: UnpairedBatch, report: &mut StepReport) -> Result<()> {
        let loss = self.losses(update, batch)?;
        let step = self.step + 1;
        if let (Some(d), Some([x2y, y2x])) = (&loss.discriminator, loss.halves_d) {
            report.d_loss = scalar(d);
            check_finite("discriminator_loss", report.d_loss, step)?;
            report.extra.retain(|(name, _)| !name.starts_with("loss/discriminator_"));
            report.extra.push(("loss/discriminator_y", x2y));
            report.extra.push(("loss/discriminator_x", y2x));
        }
        for (name, value) in &loss.report {
            let value = scalar(value);
            if *name == "penalty/gradient" {
                report.gradient_penalty = Some(value);
                continue;
            }
            report.extra.retain(|(n, _)| n != name);
            report.extra.push((name, value));
        }
        if let Some(g) = &loss.generator {
            report.g_loss = scalar(g);
            check_finite("generator_loss", report.g_loss, step)?;
        }
        let lr = |config: &super::OptimizerConfig| config.learning_rate(self.step);
        if let Some(d_loss) = loss.discriminator {
            let mut grads = d_loss.backward();
            let lr = lr(&self.config.discriminator_optimizer);
            for (model, optimizer) in [
                (&mut self.model.model_x2y, &mut self.optimizers.discriminator_y),
                (&mut self.model.model_y2x, &mut self.optimizers.discriminator_x),
            ] {
                let params = GradientsParams::from_module(&mut grads, &model.discriminator);
                model.discriminator = optimizer.step(lr, model.discriminator.clone(), params);
                if let Some(clip) = self.config.weight_clip {
                    model.discriminator = clip_discriminator_weights(model.discriminator.clone(), clip)?;
                }
            }
        }
        if let Some(g_loss) = loss.generator {
            let mut grads = g_loss.backward();
            let lr = lr(&self.config.generator_optimizer);
            for (model, optimizer) in [
                (&mut self.model.model_x2y, &mut self.optimizers.generator_x2y),
                (&mut self.model.model_y2x, &mut self.optimizers.generator_y2x),
            ] {
                let params = GradientsParams::from_module(&mut grads, &model.generator);
                model.generator = optimizer.step(lr, model.generator.clone(), params);
            }
        }
        Ok(())
    }

    /// Rows of `x | G(x) | F(G(x))` for the fixed samples of one domain.
    fn translations(&self, data: &Tensor<4>, there: &GanModel<G, D>, back: &GanModel<G, D>) -> Result<Tensor<4>> {
        let (there, back) = (there.generator.valid(), back.generator.valid());
        let translated = there.sample(data)?;
        let reconstructed = back.sample(&translated)?;
        let [n, c, h, w] = data.dims();
        Ok(Tensor::stack::<5>(vec![data.clone(), translated, reconstructed], 1).reshape([n * 3, c, h, w]))
    }
}

impl<G, D> TrainStep for CycleGanStep<G, D>
where
    G: GanGenerator<Tensor<4>>,
    D: GanDiscriminator<Tensor<4>>,
{
    type Batch = UnpairedBatch;
    type Report = StepReport;

    fn batches_per_step(&self) -> usize {
        update_batches(&self.config)
    }

    fn step(&mut self, batches: Vec<UnpairedBatch>) -> Result<StepReport> {
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
        checkpoint.module("generator_x2y.bpk", &self.model.model_x2y.generator)?;
        checkpoint.module("generator_y2x.bpk", &self.model.model_y2x.generator)?;
        checkpoint.module("discriminator_y.bpk", &self.model.model_x2y.discriminator)?;
        checkpoint.module("discriminator_x.bpk", &self.model.model_y2x.discriminator)?;
        let o = &self.optimizers;
        for (file, optimizer) in
            OPTIMIZER_FILES.iter().zip([&o.generator_x2y, &o.generator_y2x, &o.discriminator_y, &o.discriminator_x])
        {
            checkpoint.optimizer(file, optimizer)?;
        }
        checkpoint.state("step", &self.step)?;
        checkpoint.state("rng", &self.rng)?;
        checkpoint.state("replay_pools", &self.pools)
    }

    fn load(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        self.step = checkpoint.step_state("step")?;
        self.rng = checkpoint.step_state("rng")?;
        self.pools = checkpoint.step_state("replay_pools")?;
        let m = &mut self.model;
        m.model_x2y.generator = checkpoint.module("generator_x2y.bpk", m.model_x2y.generator.clone())?;
        m.model_y2x.generator = checkpoint.module("generator_y2x.bpk", m.model_y2x.generator.clone())?;
        m.model_x2y.discriminator = checkpoint.module("discriminator_y.bpk", m.model_x2y.discriminator.clone())?;
        m.model_y2x.discriminator = checkpoint.module("discriminator_x.bpk", m.model_y2x.discriminator.clone())?;
        let (g, d) = (&self.config.generator_optimizer, &self.config.discriminator_optimizer);
        self.optimizers = Optimizers {
            generator_x2y: checkpoint.optimizer(OPTIMIZER_FILES[0], g.init())?,
            generator_y2x: checkpoint.optimizer(OPTIMIZER_FILES[1], g.init())?,
            discriminator_y: checkpoint.optimizer(OPTIMIZER_FILES[2], d.init())?,
            discriminator_x: checkpoint.optimizer(OPTIMIZER_FILES[3], d.init())?,
        };
        Ok(())
    }

    fn samples(&self) -> Result<Vec<SampleImages>> {
        let m = &self.model;
        Ok(vec![
            SampleImages {
                tag: "x2y",
                images: self.translations(&self.samples.x, &m.model_x2y, &m.model_y2x)?,
                columns: 3,
            },
            SampleImages {
                tag: "y2x",
                images: self.translations(&self.samples.y, &m.model_y2x, &m.model_x2y)?,
                columns: 3,
            },
        ])
    }
}
