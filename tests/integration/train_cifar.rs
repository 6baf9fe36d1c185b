//! TF-GAN's CIFAR-10 DCGAN through the library (what `rgan train cifar` does), on CIFAR-10
//! binary files written by the test: both models train, checkpoint, resume bit for bit and load
//! back for sampling; the conditional generator draws what its labels say it draws from.

use super::train_end_to_end::{assert_same_checkpoints, scalar_rows};

use burn::prelude::*;
use rgan::data::{Cifar10, Split};
use rgan::model::{BatchNormMode, GanGenerator};
use rgan::recipes::cifar::{CifarKind, CifarRecipe};
use rgan::recipes::{NoiseGenerator, Recipe, load_noise_generator};
use rgan::train::{StepReport, resolve_checkpoint};

/// 24 images with labels `i % 10`, whose pixels depend on the image and the position.
fn write_cifar(dir: &std::path::Path) -> Cifar10 {
    std::fs::create_dir_all(dir).unwrap();
    let n = 24;
    let pixels = (0..n * 3072).map(|i| ((i * 31 + i / 3072 * 17) % 256) as u8).collect();
    let data = Cifar10 { pixels, labels: (0..n).map(|i| (i % 10) as u8).collect() };
    // Spread over the five training files, as CIFAR-10's own.
    for (i, part) in [0..8, 8..12, 12..16, 16..20, 20..24].into_iter().enumerate() {
        let part = Cifar10 {
            pixels: data.pixels[part.start * 3072..part.end * 3072].to_vec(),
            labels: data.labels[part].to_vec(),
        };
        part.write_binary(&dir.join(format!("data_batch_{}.bin", i + 1))).unwrap();
    }
    data
}

#[test]
fn both_cifar_models_train_resume_bit_for_bit_and_sample() {
    let root = std::env::temp_dir().join(format!("rgan-train-cifar-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let written = write_cifar(&root.join("cifar"));
    let data = Cifar10::load(root.join("cifar"), Split::Train).unwrap();
    assert_eq!(data, written);
    let device = Device::default().autodiff();
    for kind in [CifarKind::Unconditional, CifarKind::Conditional] {
        let recipe = CifarRecipe::for_kind(kind);
        let config = recipe
            .train_config()
            .with_batch_size(4)
            .with_grid_size(2)
            .with_sample_every(0)
            .with_log_every(1)
            .with_checkpoint_every(0)
            .with_checkpoint_secs(0);
        let (straight, stopped) = (root.join(format!("{kind:?}-straight")), root.join(format!("{kind:?}-stopped")));
        let mut trainer = recipe.trainer(config.clone().with_steps(3), &data, &straight, false, &device).unwrap();
        let summary = trainer.run(|_: &StepReport| {}).unwrap();
        assert_eq!(summary.step, 3);
        assert_eq!(trainer.step().config().loss.gradient_penalty_weight, Some(1.0));
        drop(trainer);
        let mut first = recipe.trainer(config.clone().with_steps(1), &data, &stopped, false, &device).unwrap();
        first.run(|_: &StepReport| {}).unwrap();
        drop(first);
        let mut resumed = recipe.trainer(config.clone().with_steps(3), &data, &stopped, false, &device).unwrap();
        assert_eq!(resumed.resumed_from(), Some(1));
        resumed.run(|_: &StepReport| {}).unwrap();
        drop(resumed);
        assert_same_checkpoints(&resolve_checkpoint(&straight).unwrap(), &resolve_checkpoint(&stopped).unwrap());
        assert_eq!(scalar_rows(&straight), scalar_rows(&stopped), "{kind:?}");
        let rows = scalar_rows(&straight);
        assert!(rows[0].1.iter().any(|(name, _)| name == "penalty/gradient"), "{rows:?}");

        // The checkpoint names its recipe, and its generator loads as TF-GAN's CIFAR-10 one.
        assert_eq!(Recipe::of_checkpoint(&straight).unwrap(), Recipe::Cifar(recipe.clone()));
        let cpu = Device::default();
        let (generator, inputs, _) = load_noise_generator(&straight, false, &cpu).unwrap();
        assert!(matches!(generator, NoiseGenerator::Cifar(_)));
        let mut rng = rgan::rng::Rng::seed_from_u64(3);
        let drawn = inputs.random(4, 0, &mut rng, &cpu);
        assert_eq!(drawn.one_hot_labels.is_some(), kind == CifarKind::Conditional);
        let images = generator.generate_with(&drawn, BatchNormMode::MovingAverages).unwrap();
        assert_eq!(images.dims(), [4, 3, 32, 32]);
    }
    // Another kind in the same folder is refused, naming both.
    let err = CifarRecipe::for_kind(CifarKind::Conditional)
        .trainer(
            CifarRecipe::new().train_config().with_batch_size(4).with_steps(4),
            &data,
            root.join("Unconditional-straight"),
            false,
            &device,
        )
        .err()
        .unwrap()
        .to_string();
    assert!(err.to_lowercase().contains("conditional"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}
