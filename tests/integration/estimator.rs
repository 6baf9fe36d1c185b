//! The GANEstimator end to end on a few synthetic digits: `train` starts, then resumes from the
//! model directory to a larger `max_steps` (and equals an uninterrupted run), `evaluate` returns
//! finite losses and the user's metrics and logs them under `eval/`, `predict` draws from the
//! newest checkpoint, and calling `evaluate` / `predict` before `train` is a clear error.

use crate::common;

use std::path::Path;

use burn::prelude::*;
use rgan::data::Mnist;
use rgan::estimator::GanEstimator;
use rgan::model::GeneratorInputs;
use rgan::recipes::mnist::{MnistDiscriminator, MnistGenerator, MnistRecipe};
use rgan::rng::Rng;

fn synthetic(n: usize) -> Mnist {
    common::synthetic_mnist(n, 3)
}

fn model_dir(name: &str) -> tempfile::TempDir {
    common::temp_dir(&format!("estimator-{name}"))
}

fn estimator(dir: &Path) -> GanEstimator<MnistGenerator, MnistDiscriminator> {
    let recipe = MnistRecipe::default();
    let config =
        recipe.train_config().with_batch_size(4).with_grid_size(2).with_sample_every(0).with_checkpoint_secs(0);
    let (g, d) = (recipe.generator.clone(), recipe.discriminator.clone());
    GanEstimator::new(
        dir,
        config,
        recipe.noise_inputs(),
        move |rng, device| g.init(rng, device),
        move |rng, device| d.init(rng, device),
        &Device::default(),
    )
}

fn generator_bits(estimator: &GanEstimator<MnistGenerator, MnistDiscriminator>) -> Vec<u32> {
    let noise = Rng::seed_from_u64(9).normal([3, 64], 0.0, 1.0, &Device::default());
    let images = estimator.predict(&GeneratorInputs::noise(noise)).unwrap();
    images.into_data().try_to_vec::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()
}

#[test]
fn train_resumes_from_the_model_dir_and_matches_an_uninterrupted_run() {
    let data = synthetic(24);
    let (split_dir, whole_dir) = (model_dir("split"), model_dir("whole"));
    let split = estimator(split_dir.path());
    assert_eq!(split.train(&data, 2, &mut []).unwrap().step, 2);
    let summary = split.train(&data, 4, &mut []).unwrap();
    assert_eq!(summary.step, 4);
    assert!(summary.checkpoint.unwrap().ends_with("step-000004"));
    // Already at max_steps: nothing more to do.
    assert_eq!(split.train(&data, 3, &mut []).unwrap().step, 4);

    let whole = estimator(whole_dir.path());
    whole.train(&data, 4, &mut []).unwrap();
    assert_eq!(generator_bits(&split), generator_bits(&whole));
}

#[test]
fn evaluate_and_predict_use_the_newest_checkpoint() {
    let data = synthetic(24);
    let dir = model_dir("eval");
    let estimator = estimator(dir.path());
    let err = estimator.evaluate(&data, 2, |_, _| Ok(Vec::new())).unwrap_err().to_string();
    assert!(err.contains("no checkpoint") && err.contains("train"), "{err}");
    let err = estimator.predict_noise(4, 0).unwrap_err().to_string();
    assert!(err.contains("no checkpoint"), "{err}");

    estimator.train(&data, 3, &mut []).unwrap();
    let mut seen = (0, 0);
    let results = estimator
        .evaluate(&data, 2, |real, generated| {
            seen = (real.dims()[0], generated.dims()[0]);
            let mean = generated.mean().into_scalar::<f64>();
            Ok(vec![("generated_mean".to_string(), mean)])
        })
        .unwrap();
    assert_eq!(seen, (8, 8), "two batches of four real and four generated images");
    assert_eq!(results.global_step, 3);
    assert!(results.generator_loss.is_finite() && results.discriminator_loss.is_finite());
    assert!(results.metrics["generated_mean"].abs() <= 1.0);
    let csv = std::fs::read_to_string(dir.path().join("eval/scalars.csv")).unwrap();
    assert!(
        csv.starts_with("step,") && csv.contains("generated_mean") && csv.lines().nth(1).unwrap().starts_with("3,"),
        "{csv}"
    );

    let digits = estimator.predict_noise(36, 0).unwrap();
    assert_eq!(digits.dims(), [36, 1, 28, 28]);
    let values = digits.into_data().try_to_vec::<f32>().unwrap();
    assert!(values.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
    let err = estimator.evaluate(&data, 0, |_, _| Ok(Vec::new())).unwrap_err().to_string();
    assert!(err.contains("steps"), "{err}");
}
