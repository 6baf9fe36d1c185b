//! A 3-step training run on 64 MNIST images: samples, scalars and a checkpoint are written and
//! the checkpoint's generator loads and samples (what `rgan sample` does).

use crate::common;
use common::mnist_dir;

use burn::prelude::*;
use rgan::data::{Mnist, Split};
use rgan::model::{BatchNormMode, GanGenerator, GeneratorInputs};
use rgan::recipes::mnist::MnistRecipe;
use rgan::recipes::{NoiseGenerator, load_noise_generator};
use rgan::summary::save_image_grid;
use rgan::train::{Checkpoint, StepReport, TrainConfig, resolve_checkpoint};

#[test]
fn three_steps_write_samples_and_a_loadable_checkpoint() {
    let Some(dir) = mnist_dir() else { return };
    let data = Mnist::load(&dir, Split::Test).unwrap().truncated(64);
    let logdir = std::env::temp_dir().join(format!("rgan-train-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&logdir);
    let config = TrainConfig::new().with_steps(3).with_batch_size(8).with_grid_size(4).with_sample_every(2);
    let device = Device::default().autodiff();
    let mut trainer = MnistRecipe::default().trainer(config, &data, &logdir, false, &device).unwrap();
    let mut reports = Vec::new();
    let summary = trainer.run(|r: &StepReport| reports.push(r.clone())).unwrap();
    assert_eq!(summary.step, 3);
    assert_eq!(reports.iter().map(|r| r.step).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(reports.iter().all(|r| r.d_loss.is_finite() && r.g_loss.is_finite()));

    // Sample grids at step 2 (schedule) and 3 (end), 4×4 images of 28×28.
    assert!(logdir.join("samples/step_000002.png").is_file());
    assert_eq!(summary.samples, Some(logdir.join("samples/step_000003.png")));
    let grid = image::open(summary.samples.unwrap()).unwrap();
    assert_eq!((grid.width(), grid.height()), (112, 112));

    // Scalars: header + the final step.
    let csv = std::fs::read_to_string(logdir.join("scalars.csv")).unwrap();
    assert!(csv.starts_with("step,loss/discriminator,loss/generator,"), "{csv}");
    assert!(csv.lines().nth(1).is_some_and(|row| row.starts_with("3,")), "{csv}");
    assert!(summary.loss_curves.unwrap().is_file());

    // The checkpoint, found from the log folder, loads and samples.
    assert_eq!(Some(resolve_checkpoint(&logdir).unwrap()), summary.checkpoint);
    assert_eq!(Checkpoint::open(&logdir).unwrap().step(), 3);
    let plain = Device::default();
    let (generator, inputs, _) = load_noise_generator(&logdir, false, &plain).unwrap();
    assert!(matches!(generator, NoiseGenerator::Mnist(_)));
    let noise =
        GeneratorInputs::noise(rgan::rng::Rng::seed_from_u64(1).normal([6, inputs.noise_dims], 0.0, 1.0, &plain));
    for mode in [BatchNormMode::BatchStatistics, BatchNormMode::MovingAverages] {
        let images = generator.generate_with(&noise, mode).unwrap();
        assert_eq!(images.dims(), [6, 1, 28, 28]);
    }
    // The loaded generator is the trained one: same images from the same noise.
    let trained = trainer.step().model().generator.valid();
    let a = trained.generate_with(&noise, BatchNormMode::MovingAverages).unwrap();
    let b = generator.generate_with(&noise, BatchNormMode::MovingAverages).unwrap();
    assert_eq!(a.to_data(), b.to_data());
    let out = logdir.join("sampled.png");
    save_image_grid(b, 3, &out).unwrap();
    assert_eq!(image::open(&out).unwrap().width(), 84);
    std::fs::remove_dir_all(&logdir).unwrap();
}
