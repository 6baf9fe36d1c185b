//! The classic zoo through the library (what `rgan train zoo`, `rgan eval mnist` and
//! `rgan sample` do): every model trains a step on synthetic digits and its checkpoint loads;
//! a classifier-guided WGAN resumes bit for bit.

use burn::prelude::*;
use rgan::eval::generate_mnist_digits;
use rgan::model::{BatchNormMode, GanGenerator};
use rgan::recipes::zoo::{ZooGenerator, ZooModel};
use rgan::recipes::{NoiseGenerator, Recipe, load_noise_generator};
use rgan::rng::Rng;
use rgan::train::{StepReport, TrainConfig};

use super::train_end_to_end::{assert_same_checkpoints, assert_same_tensors, logdir, scalar_rows, small, synthetic};

fn zoo_config(model: ZooModel, steps: usize) -> TrainConfig {
    small(model.train_config()).with_steps(steps).with_checkpoint_every(0)
}

#[test]
fn every_zoo_model_trains_a_step_and_its_checkpoint_loads() {
    let data = synthetic(32);
    let device = Device::default().autodiff();
    for model in ZooModel::ALL {
        let dir = logdir(&format!("zoo-{model}"));
        let config = zoo_config(model, 1);
        let mut trainer = model.recipe().trainer(config.clone(), &data, &dir, false, &device).unwrap();
        let report = trainer.train_step().unwrap();
        assert!(report.d_loss.is_finite() && report.g_loss.is_finite(), "{model}: {report:?}");
        let guided = config.classifier_guidance.is_some();
        assert_eq!(report.classifier_loss.is_some(), guided, "{model}");
        assert_eq!(report.classifier_guidance_loss.is_some(), guided, "{model}");
        assert_eq!(report.gradient_penalty.is_some(), model == ZooModel::WganGp, "{model}");
        assert_eq!(report.mutual_information_penalty.is_some(), model.name().starts_with("infogan"), "{model}");
        if config.weight_clip.is_some() {
            let mut max = 0f32;
            trainer.step().model().discriminator.visit(&mut MaxAbs(&mut max));
            assert!(max <= 0.01 + 1e-7, "{model}: a critic weight is {max} after clipping to 0.01");
        }
        let checkpoint = trainer.save_checkpoint().unwrap();
        assert_eq!(checkpoint.join("classifier.bpk").is_file(), guided, "{model}");

        // The checkpoint names its model, loads as a zoo generator and generates what the trained
        // generator does.
        assert_eq!(Recipe::of_checkpoint(&dir).unwrap(), Recipe::Zoo(model.recipe()));
        let plain = Device::default();
        let (loaded, inputs, _) = load_noise_generator(&dir, false, &plain).unwrap();
        let NoiseGenerator::Zoo(zoo) = &loaded else { panic!("{model}: not a zoo generator") };
        assert_eq!(matches!(zoo, ZooGenerator::Mlp(_)), model.is_mlp(), "{model}");
        let digits = generate_mnist_digits(&loaded, &inputs, 6, 3, &plain).unwrap();
        assert_eq!(digits.dims(), [6, 1, 28, 28]);
        let batch = inputs.random(5, 0, &mut Rng::seed_from_u64(4), &plain);
        let a = loaded.generate_with(&batch, BatchNormMode::MovingAverages).unwrap();
        let b = trainer.step().model().generator.valid().generate_with(&batch, BatchNormMode::MovingAverages).unwrap();
        assert!(a.sub(b).abs().max().into_scalar::<f32>() < 1e-6, "{model}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The largest absolute value of a module's float parameters.
struct MaxAbs<'a>(&'a mut f32);

impl burn::module::ModuleVisitor for MaxAbs<'_> {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let max = param.val().abs().max().into_scalar::<f32>();
        *self.0 = self.0.max(max);
    }
}

#[test]
fn a_classifier_guided_wgan_resumes_bit_for_bit() {
    let data = synthetic(32);
    let device = Device::default().autodiff();
    let model = ZooModel::WganClassifier;
    let config = zoo_config(model, 3);
    let (dir_a, dir_b) = (logdir("zoo-guided-straight"), logdir("zoo-guided-resumed"));
    let recipe = model.recipe();

    let mut a = recipe.trainer(config.clone(), &data, &dir_a, false, &device).unwrap();
    let summary_a = a.run(|_: &StepReport| {}).unwrap();
    {
        let mut b = recipe.trainer(config.clone().with_steps(1), &data, &dir_b, false, &device).unwrap();
        assert_eq!(b.run(|_: &StepReport| {}).unwrap().step, 1);
    }
    let mut b = recipe.trainer(config.clone(), &data, &dir_b, false, &device).unwrap();
    let summary_b = b.run(|_: &StepReport| {}).unwrap();
    assert_eq!((summary_a.step, summary_b.step), (3, 3));
    let (ma, mb) = (a.step().model(), b.step().model());
    assert_same_tensors(&ma.generator, &mb.generator, "guided WGAN: generator");
    assert_same_tensors(&ma.discriminator, &mb.discriminator, "guided WGAN: critic");
    let (checkpoint_a, checkpoint_b) = (summary_a.checkpoint.unwrap(), summary_b.checkpoint.unwrap());
    assert!(checkpoint_b.join("classifier_optimizer.bpk").is_file());
    assert_same_checkpoints(&checkpoint_a, &checkpoint_b);
    let (rows_a, rows_b) = (scalar_rows(&dir_a), scalar_rows(&dir_b));
    assert!(rows_a[0].1.iter().any(|(name, _)| name == "loss/classifier"), "{:?}", rows_a[0]);
    assert_eq!(rows_a, rows_b, "the guided WGAN's losses differ after resuming");
    std::fs::remove_dir_all(&dir_a).unwrap();
    std::fs::remove_dir_all(&dir_b).unwrap();
}

#[test]
fn classifier_guidance_needs_a_conditional_generator() {
    let data = synthetic(32);
    let device = Device::default().autodiff();
    let model = ZooModel::WganConv;
    let config = zoo_config(model, 1).with_classifier_guidance(Some(rgan::train::ClassifierGuidanceConfig::new()));
    let err = model.recipe().trainer(config, &data, logdir("zoo-unguided"), false, &device).err().unwrap().to_string();
    assert!(err.contains("classifier_guidance") && err.contains("no guiding classifier"), "{err}");
    // A conditional generator's guided run without labels in its inputs is refused at its first
    // classifier update: the unconditional critic's recipe with guidance asks for a conditional one.
    let mut recipe = ZooModel::WganConv.recipe();
    recipe.classifier = ZooModel::WganClassifier.recipe().classifier;
    let config = zoo_config(model, 1).with_classifier_guidance(Some(rgan::train::ClassifierGuidanceConfig::new()));
    let mut trainer = recipe.trainer(config, &data, logdir("zoo-unguided-2"), false, &device).unwrap();
    let err = trainer.train_step().unwrap_err().to_string();
    assert!(err.contains("classifier_guidance") && err.contains("conditional"), "{err}");
}
