//! Unit tests of the steps and the loop, on small networks of their own (the recipes' networks
//! live above `train`): a dense generator and a dense critic over 4 × 4 images, conditional and
//! InfoGAN variants, with and without batch norm.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{BatchNorm, BatchNormConfig, LeakyRelu, LeakyReluConfig, Linear};
use burn::prelude::*;

use super::step::{Update, discriminator_passes, scalar};
use super::*;
use crate::data::{Batch, BatchSource, IdxImages, ImageBatches, Mnist};
use crate::error::Result;
use crate::losses::{Distribution, StructuredInput};
use crate::model::{
    DiscriminatorOutput, GanDiscriminator, GanGenerator, GanInputs, GanModel, GeneratorInputs, NoiseInputs, one_hot,
};
use crate::penalties::{
    ConcatConditioning, CriticLayer, Flatten, GradientPenaltyOptions, SequentialCritic, wasserstein_gradient_penalty,
};
use crate::rng::Rng;

/// The images' side.
const SIDE: usize = 4;
const PIXELS: usize = SIDE * SIDE;

/// `n` random 4 × 4 images with labels `0, 1, 2, 0, …`.
pub(super) fn tiny_data(n: usize) -> Mnist {
    let mut rng = Rng::seed_from_u64(9);
    let pixels = (0..n * PIXELS).map(|_| rng.below(256) as u8).collect();
    Mnist {
        images: IdxImages { count: n, rows: SIDE, cols: SIDE, pixels },
        labels: (0..n).map(|i| (i % 3) as u8).collect(),
    }
}

/// noise (+ labels, + InfoGAN codes) → dense → tanh → `[N, 1, 4, 4]`; an infinite weight decay
/// on request.
#[derive(Module, Debug)]
pub(super) struct TinyGenerator {
    dense: Linear,
    categorical_dim: usize,
    infinite_decay: bool,
}

/// flatten (+ labels) → dense 8 (→ batch norm) → leaky ReLU → a logit, and InfoGAN heads.
#[derive(Module, Debug)]
pub(super) struct TinyCritic {
    flatten: Flatten,
    condition: Option<ConcatConditioning>,
    hidden: Linear,
    norm: Option<BatchNorm>,
    act: LeakyRelu,
    out: Linear,
    categorical: Option<Linear>,
    continuous: Option<Linear>,
    classes: usize,
}

/// The inputs' spec of a tiny model: noise 3, and the given classes and codes.
pub(super) fn spec(classes: usize, categorical: usize, continuous: usize) -> NoiseInputs {
    NoiseInputs::new(3).with_num_classes(classes).with_categorical_dim(categorical).with_continuous_dim(continuous)
}

/// A tiny model for `spec`, drawn from `seeds`, with batch norm in the critic on request.
pub(super) fn tiny_model(
    spec: &NoiseInputs,
    batch_norm: bool,
    seeds: &mut Seeds,
    device: &Device,
) -> GanModel<TinyGenerator, TinyCritic> {
    let width = spec.noise_dims + spec.num_classes + spec.categorical_dim + spec.continuous_dim;
    let generator = TinyGenerator {
        dense: crate::model::glorot_linear(&mut seeds.generator, width, PIXELS, true, device),
        categorical_dim: spec.categorical_dim,
        infinite_decay: false,
    };
    let rng = &mut seeds.discriminator;
    let discriminator = TinyCritic {
        flatten: Flatten,
        condition: (spec.num_classes > 0).then_some(ConcatConditioning),
        hidden: crate::model::glorot_linear(rng, PIXELS + spec.num_classes, 8, true, device),
        norm: batch_norm.then(|| BatchNormConfig::new(8).init(device)),
        act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
        out: crate::model::glorot_linear(rng, 8, 1, true, device),
        categorical: (spec.categorical_dim > 0)
            .then(|| crate::model::glorot_linear(rng, 8, spec.categorical_dim, true, device)),
        continuous: (spec.continuous_dim > 0)
            .then(|| crate::model::glorot_linear(rng, 8, spec.continuous_dim, true, device)),
        classes: spec.num_classes,
    };
    GanModel { generator, discriminator }
}

impl GanGenerator for TinyGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        let n = inputs.batch_size();
        let mut parts = vec![inputs.noise.clone()];
        parts.extend(inputs.one_hot_labels.clone());
        for code in &inputs.structured {
            parts.push(match code {
                StructuredInput::ClassIds(ids) => one_hot(ids.clone(), self.categorical_dim),
                StructuredInput::Values(v) => v.clone(),
            });
        }
        Ok(self.dense.forward(Tensor::cat(parts, 1)).tanh().reshape([n, 1, SIDE, SIDE]))
    }

    fn regularization_loss(&self) -> Option<Tensor<1>> {
        let w = self.dense.weight.val();
        self.infinite_decay.then(|| w.sum().mul_scalar(0.0).add_scalar(f64::INFINITY))
    }
}

impl SequentialCritic for TinyCritic {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        let mut layers: Vec<&dyn CriticLayer> = vec![&self.flatten];
        if let Some(condition) = &self.condition {
            layers.push(condition);
        }
        layers.push(&self.hidden);
        if let Some(norm) = &self.norm {
            layers.push(norm);
        }
        layers.extend([&self.act as &dyn CriticLayer, &self.out]);
        layers
    }
}

impl GanDiscriminator for TinyCritic {
    fn batch_independent(&self) -> bool {
        self.norm.is_none()
    }

    fn discriminate(&self, data: Tensor<4>, inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        let n = data.dims()[0];
        let mut x = data.reshape([n, PIXELS]);
        if self.classes > 0 {
            x = Tensor::cat(vec![x, inputs.labels("the tiny critic")?], 1);
        }
        let mut h = self.hidden.forward(x);
        if let Some(norm) = &self.norm {
            h = norm.forward(h);
        }
        let h = self.act.forward(h);
        let mut out = DiscriminatorOutput::logits(self.out.forward(h.clone()));
        if let Some(head) = &self.categorical {
            out.distributions.push(Distribution::Categorical { logits: head.forward(h.clone()) });
        }
        if let Some(head) = &self.continuous {
            let loc = head.forward(h);
            out.distributions.push(Distribution::Normal { scale: loc.ones_like(), loc });
        }
        Ok(out)
    }

    fn gradient_penalty(
        &self,
        real: Tensor<4>,
        generated: Tensor<4>,
        inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        let labels = if self.classes > 0 { Some(inputs.labels("the tiny critic")?) } else { None };
        Ok(wasserstein_gradient_penalty(self, real, generated, labels, rng, options)?.penalty)
    }
}

pub(super) type TinyStep = GanStep<TinyGenerator, TinyCritic, NoiseInputs>;

/// A tiny step of `config` (its seed's streams) and the batches its data source gives from the
/// start, `count` of them.
pub(super) fn tiny_step(
    config: &TrainConfig,
    spec: &NoiseInputs,
    batch_norm: bool,
    count: usize,
) -> (TinyStep, Vec<Batch>) {
    let device = Device::default().autodiff();
    let data = tiny_data(16);
    let mut seeds = Seeds::new(config.seed);
    let mut source = ImageBatches::new(&data, config.batch_size).unwrap();
    source.start(seeds.data).unwrap();
    let batches = (0..count).map(|_| source.next_batch(&device).unwrap()).collect();
    let model = tiny_model(spec, batch_norm, &mut seeds, &device);
    (GanStep::new(config.clone(), model, spec.clone(), seeds.step, &device).unwrap(), batches)
}

fn small() -> TrainConfig {
    TrainConfig::new().with_batch_size(4).with_grid_size(2).with_sample_every(0).with_steps(2)
}

/// A fresh log folder under the system's temp folder, removed when dropped.
struct TempLogdir(PathBuf);

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

/// Each update's losses are the numbers of TF-GAN's assembly (`GanModel::discriminate` and
/// `gan_loss`, as `evaluate` runs them on the same batch), bit for bit, though a generator update
/// returns only its network's loss, a discriminator update skips the frozen pass, and the
/// discriminator's passes are stacked. Conditional labels, the relativistic loss and a penalty
/// are covered too.
#[test]
fn each_update_computes_the_assembled_losses() {
    for (inputs, kind) in [
        (spec(0, 0, 0), GanLossKind::Wasserstein),
        (spec(0, 0, 0), GanLossKind::Relativistic),
        (spec(3, 0, 0), GanLossKind::Modified),
    ] {
        let config = small().with_loss(GanLossConfig::new().with_loss(kind).with_gradient_penalty_weight(Some(10.0)));
        let fresh = || tiny_step(&config, &inputs, false, 1);
        let (mut reference, batches) = fresh();
        let reference = reference.evaluate(batches[0].clone()).unwrap();
        let losses = |update| {
            let (mut step, batches) = fresh();
            step.losses(update, batches[0].clone()).unwrap()
        };
        let (both, d_only, g_only) = (losses(Update::Both), losses(Update::Discriminator), losses(Update::Generator));
        let bits = |t: &Option<Tensor<1>>| t.as_ref().map(|t| scalar(t).to_bits());
        let d_bits = Some(reference.discriminator_loss.to_bits());
        let g_bits = Some(reference.generator_loss.to_bits());
        let case = format!("{kind:?}, {} classes", inputs.num_classes);
        assert_eq!((bits(&both.discriminator), bits(&both.generator)), (d_bits, g_bits), "{case}");
        assert_eq!((bits(&d_only.discriminator), bits(&d_only.generator)), (d_bits, None), "{case}");
        assert_eq!((bits(&g_only.discriminator), bits(&g_only.generator)), (None, g_bits), "{case}");
        assert!(both.gradient_penalty.is_some() && d_only.gradient_penalty.is_some(), "{case}");
    }
}

/// With a replay pool, the discriminator's terms are those of TF-GAN's pooled model: a pooled
/// batch keeps the codes it was generated from. A pool of one batch that always hands back what
/// it holds shows the discriminator the first batch again at the second update, so that
/// update's mutual-information term is the first's of a run without a pool (the discriminator
/// has not moved in between: the terms are computed, no update applied).
#[test]
fn a_pooled_batch_keeps_its_own_codes() {
    let inputs = spec(0, 3, 2);
    let base = small().with_loss(
        GanLossConfig::new().with_loss(GanLossKind::Modified).with_mutual_information_penalty_weight(Some(1.0)),
    );
    let mi = |loss: step::StepLoss| scalar(&loss.mutual_information_penalty.expect("an InfoGAN has the term"));
    let (mut plain, batches) = tiny_step(&base, &inputs, false, 2);
    let unpooled = mi(plain.losses(Update::Discriminator, batches[0].clone()).unwrap());
    let pooled_config = base.clone().with_replay_pool_size(1).with_replay_pool_probability(1.0);
    let (mut pooled, batches) = tiny_step(&pooled_config, &inputs, false, 2);
    let first = mi(pooled.losses(Update::Discriminator, batches[0].clone()).unwrap());
    let second = mi(pooled.losses(Update::Discriminator, batches[1].clone()).unwrap());
    assert_eq!(first.to_bits(), unpooled.to_bits(), "a pool that is filling returns its input");
    assert!((second - unpooled).abs() <= 1e-5 * unpooled.abs().max(1.0), "pooled {second} vs {unpooled}");
}

/// A step saved and loaded into a step built the same way continues exactly.
#[test]
fn a_loaded_step_continues_exactly() {
    let config = small().with_generator_ema_decay(Some(0.9)).with_replay_pool_size(2);
    let inputs = spec(3, 0, 0);
    let (mut straight, batches) = tiny_step(&config, &inputs, true, 2);
    straight.step(vec![batches[0].clone()]).unwrap();
    let mut writer = CheckpointWriter::new();
    straight.save(&mut writer).unwrap();
    let dir = temp_logdir("loaded-step");
    let meta = checkpoint::CheckpointMeta {
        step: 1,
        recipe: serde_json::Value::Null,
        config: serde_json::Value::Null,
        data: serde_json::Value::Null,
    };
    let saved = checkpoint::write_checkpoint(dir.as_ref(), meta, writer, 1).unwrap();
    let expected = straight.step(vec![batches[1].clone()]).unwrap();
    let (mut resumed, _) = tiny_step(&config.clone().with_seed(7), &inputs, true, 0);
    let (mut same_seed, _) = tiny_step(&config, &inputs, true, 0);
    same_seed.load(&Checkpoint::open(&saved).unwrap()).unwrap();
    assert_eq!(same_seed.global_step(), 1);
    assert_eq!(same_seed.step(vec![batches[1].clone()]).unwrap(), expected);
    // Built from another seed, the networks and random state still come from the checkpoint.
    resumed.load(&Checkpoint::open(&saved).unwrap()).unwrap();
    let got = resumed.step(vec![batches[1].clone()]).unwrap();
    assert_eq!((got.d_loss, got.g_loss), (expected.d_loss, expected.g_loss));
}

/// Collects every float tensor's values.
struct Values(Vec<f32>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.extend(param.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap());
    }
}

fn values<M: Module>(module: &M) -> Vec<f32> {
    let mut v = Values(Vec::new());
    module.visit(&mut v);
    v.0
}

#[test]
fn both_networks_change_in_a_step_of_every_schedule() {
    for schedule in [TrainSchedule::Joint, TrainSchedule::Sequential, TrainSchedule::Alternating] {
        let (mut step, batches) = tiny_step(&small().with_schedule(schedule), &spec(0, 0, 0), true, 2);
        let (g0, d0) = (values(&step.model().generator), values(&step.model().discriminator));
        let needed = step.batches_per_step();
        assert_eq!(needed, if schedule == TrainSchedule::Sequential { 2 } else { 1 }, "{schedule:?}");
        step.step(batches[..needed].to_vec()).unwrap();
        let (g1, d1) = (values(&step.model().generator), values(&step.model().discriminator));
        let moved = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(moved(&g0, &g1) > 1e-5 && moved(&d0, &d1) > 1e-5, "{schedule:?}");
    }
}

#[test]
fn modified_losses_are_finite() {
    let config = small().with_loss(GanLossConfig::new().with_loss(GanLossKind::Modified));
    let (mut step, batches) = tiny_step(&config, &spec(3, 0, 0), true, 1);
    let report = step.step(batches).unwrap();
    assert!(report.d_loss.is_finite() && report.g_loss.is_finite(), "{report:?}");
}

#[test]
fn a_step_refuses_the_wrong_number_of_batches() {
    let (mut step, batches) = tiny_step(&small().with_schedule(TrainSchedule::Sequential), &spec(0, 0, 0), false, 3);
    let err = step.step(batches).unwrap_err().to_string();
    assert!(err.contains("3 batches") && err.contains("takes 2"), "{err}");
}

#[test]
fn a_nan_loss_stops_with_a_clear_error_before_any_update() {
    let (_, batches) = tiny_step(&small(), &spec(0, 0, 0), false, 1);
    let device = Device::default().autodiff();
    let mut seeds = Seeds::new(0);
    let mut model = tiny_model(&spec(0, 0, 0), false, &mut seeds, &device);
    model.generator.infinite_decay = true;
    let mut step = GanStep::new(small(), model, spec(0, 0, 0), seeds.step, &device).unwrap();
    let err = step.step(batches).unwrap_err().to_string();
    assert!(err.contains("generator_loss") && err.contains("inf") && err.contains("step 1"), "{err}");
    assert_eq!(step.global_step(), 0);
}

/// Counts the float tensors of a module that require gradients.
struct Trainable(usize);

impl ModuleVisitor for Trainable {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0 += usize::from(param.val().is_require_grad());
    }
}

/// A sequential step's first update is the generator's, whose frozen copy of the discriminator
/// is made before the discriminator ever ran: its lazily initialized parameters (batch norm's γ
/// and β) must stay trainable in the discriminator itself.
#[test]
fn a_generator_update_leaves_every_discriminator_parameter_trainable() {
    let config = small().with_schedule(TrainSchedule::Sequential);
    let (mut step, batches) = tiny_step(&config, &spec(0, 0, 0), true, 2);
    let device = Device::default().autodiff();
    let mut expected = Trainable(0);
    tiny_model(&spec(0, 0, 0), true, &mut Seeds::new(0), &device).discriminator.visit(&mut expected);
    step.step(batches).unwrap();
    let mut trainable = Trainable(0);
    step.model().discriminator.visit(&mut trainable);
    assert_eq!(trainable.0, expected.0);
}

/// A batch-independent discriminator's single pass over real and generated data gives each
/// pass's outputs bit for bit (logits and InfoGAN distributions, conditional inputs stacked).
#[test]
fn a_stacked_discriminator_pass_matches_two_passes() {
    let device = Device::default().autodiff();
    for inputs in [spec(3, 0, 0), spec(0, 3, 2)] {
        let mut seeds = Seeds::new(11);
        let d = tiny_model(&inputs, false, &mut seeds, &device).discriminator;
        let mut rng = Rng::seed_from_u64(3);
        let (a, b) = (inputs.random(3, 0, &mut rng, &device), inputs.random(3, 1, &mut rng, &device));
        let real = rng.uniform([3, 1, SIDE, SIDE], -1.0, 1.0, &device);
        let generated = rng.uniform([3, 1, SIDE, SIDE], -1.0, 1.0, &device);
        let separate = (d.discriminate(real.clone(), &a).unwrap(), d.discriminate(generated.clone(), &b).unwrap());
        let stacked = discriminator_passes(&d, (real, &a), (generated, &b)).unwrap();
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
        assert_eq!(bits(&stacked.0), bits(&separate.0));
        assert_eq!(bits(&stacked.1), bits(&separate.1));
    }
}

/// A sequential generator update never assembles the discriminator's loss, so a bad penalty
/// weight is caught when the step is built, not at the first discriminator update.
#[test]
fn negative_loss_weights_are_rejected_before_training() {
    let config = small()
        .with_schedule(TrainSchedule::Sequential)
        .with_loss(GanLossConfig::new().with_gradient_penalty_weight(Some(-10.0)));
    let device = Device::default().autodiff();
    let mut seeds = Seeds::new(0);
    let model = tiny_model(&spec(0, 0, 0), false, &mut seeds, &device);
    let err = GanStep::new(config, model, spec(0, 0, 0), seeds.step, &device).err().unwrap().to_string();
    assert!(err.contains("gradient_penalty_weight") && err.contains("-10"), "{err}");
}

fn tiny_trainer<'d>(
    config: TrainConfig,
    data: &'d Mnist,
    dir: &TempLogdir,
) -> Trainer<TinyStep, ImageBatches<'d, Mnist>> {
    let device = Device::default().autodiff();
    let batches = ImageBatches::new(data, config.batch_size).unwrap();
    Trainer::start_or_resume(dir, serde_json::json!({ "tiny": 1 }), config, false, batches, |config, mut seeds| {
        let model = tiny_model(&spec(0, 0, 0), false, &mut seeds, &device);
        GanStep::new(config.clone(), model, spec(0, 0, 0), seeds.step, &device)
    })
    .unwrap()
}

/// Ctrl-C (the stop flag) between logging steps still logs, draws and saves the last step.
#[test]
fn a_stopped_run_logs_its_last_step() {
    let data = tiny_data(8);
    let dir = temp_logdir("stopped");
    let config = small().with_steps(50).with_log_every(10).with_checkpoint_every(0).with_checkpoint_secs(0);
    let mut trainer = tiny_trainer(config, &data, &dir);
    trainer.set_stop_flag(Arc::new(AtomicBool::new(true)));
    let summary = trainer.run(|_: &StepReport| {}).unwrap();
    assert!(summary.interrupted && summary.step == 1);
    let csv = std::fs::read_to_string(dir.0.join("scalars.csv")).unwrap();
    assert!(csv.lines().nth(1).is_some_and(|row| row.starts_with("1,")), "{csv}");
    assert!(summary.loss_curves.unwrap().is_file() && summary.checkpoint.unwrap().ends_with("step-000001"));
}

/// A log folder of another model is refused with what differs; a resumed run trains to the new
/// step count.
#[test]
fn a_resumed_run_checks_its_model_and_trains_on() {
    let data = tiny_data(8);
    let dir = temp_logdir("resume-checks");
    tiny_trainer(small().with_steps(1), &data, &dir).run(|_: &StepReport| {}).unwrap();
    let mut again = tiny_trainer(small().with_steps(3), &data, &dir);
    assert_eq!(again.resumed_from(), Some(1));
    assert_eq!(again.run(|_: &StepReport| {}).unwrap().step, 3);
    drop(again); // releases the log folder
    let batches = ImageBatches::new(&data, 4).unwrap();
    let device = Device::default().autodiff();
    let other = Trainer::start_or_resume(
        &dir,
        serde_json::json!({ "tiny": 2 }),
        small(),
        false,
        batches,
        |c: &TrainConfig, mut seeds| {
            let model = tiny_model(&spec(0, 0, 0), false, &mut seeds, &device);
            GanStep::new(c.clone(), model, spec(0, 0, 0), seeds.step, &device)
        },
    );
    let err = other.err().unwrap().to_string();
    assert!(err.contains("another model") && err.contains("`recipe.tiny`: the checkpoint has 1, this run 2"), "{err}");
}
