//! TF-GAN's `mnist_estimator` example with rgan's [`GanEstimator`]: the unconditional MNIST
//! networks, Wasserstein losses, Adam (1e-3 / 1e-4, β1 0.5), batch 32, noise 64; train, evaluate
//! on the test set (losses, MNIST score and Frechet distance with rgan's classifier, as
//! `train_experiment.py` reports them), then predict 36 digits into a 6×6 grid.
//!
//! ```text
//! cargo run --release --example mnist_estimator -- [--max-steps 20000] [--output-dir logs/mnist_estimator]
//! ```
//!
//! MNIST is read from `$RGAN_DATA_DIR`, else `../shared/datasets/mnist` beside the repository.
//! The model directory is `OUTPUT_DIR/model` (run again with a larger `--max-steps` to continue
//! training); the grid is `OUTPUT_DIR/unconditional_gan.png`. TF-GAN's default is 20000 steps
//! (about 2.5 hours on 2 CPU cores); a few hundred already draw digit-like strokes.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use rgan::RganError;
use rgan::data::{Mnist, Split};
use rgan::estimator::GanEstimator;
use rgan::eval::mnist::evaluate_mnist_images;
use rgan::eval::mnist_classifier::MnistClassifier;
use rgan::recipes::mnist::MnistRecipe;
use rgan::summary::save_image_grid;

fn main() -> rgan::Result<()> {
    let (mut max_steps, mut output_dir) = (20000usize, PathBuf::from("logs/mnist_estimator"));
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| RganError::invalid(&flag, "needs a value"))?;
        match flag.as_str() {
            "--max-steps" | "--max_number_of_steps" => {
                max_steps =
                    value.parse().map_err(|_| RganError::invalid(&flag, format!("{value:?} is not a number")))?
            }
            "--output-dir" | "--output_dir" => output_dir = PathBuf::from(value),
            _ => return Err(RganError::invalid(&flag, "is not a flag (use --max-steps, --output-dir)")),
        }
    }
    let data_dir = std::env::var_os("RGAN_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/mnist"));
    let device = Device::default();

    // TF-GAN's `GANEstimator(generator_fn, discriminator_fn, wasserstein losses, Adam, Adam)`.
    let recipe = MnistRecipe::default();
    let (g, d) = (recipe.generator.clone(), recipe.discriminator.clone());
    let estimator = GanEstimator::new(
        output_dir.join("model"),
        recipe.train_config(),
        recipe.noise_inputs(),
        move |rng, device| g.init(rng, device),
        move |rng, device| d.init(rng, device),
        &device,
    );

    let train = Mnist::load(&data_dir, Split::Train)?;
    let summary = estimator.train(&train, max_steps, &mut [])?;
    println!("trained to step {} ({:.0} s)", summary.step, summary.wall.as_secs_f64());

    // Evaluation on 32 test batches (1024 digits): losses plus MNIST score and Frechet distance.
    let test = Mnist::load(&data_dir, Split::Test)?;
    let classifier = MnistClassifier::pretrained(&device)?;
    let results = estimator.evaluate(&test, 32, |real, generated| {
        let device = Device::default();
        let to_plain = |t: Tensor<4>| Tensor::<4>::from_data(t.into_data(), &device);
        let scores = evaluate_mnist_images(&classifier, to_plain(generated), to_plain(real))?;
        Ok(vec![
            ("mnist_score".to_string(), scores.mnist_score),
            ("frechet_distance".to_string(), scores.frechet_distance),
        ])
    })?;
    println!(
        "step {}: generator loss {:.3}, discriminator loss {:.3}, MNIST score {:.2}, Frechet distance {:.1}",
        results.global_step,
        results.generator_loss,
        results.discriminator_loss,
        results.metrics["mnist_score"],
        results.metrics["frechet_distance"],
    );

    // `estimator.predict`: 36 digits into a 6×6 grid, as TF-GAN's example writes.
    let digits = estimator.predict_noise(36, 0)?;
    let path = output_dir.join("unconditional_gan.png");
    save_image_grid(digits, 6, &path)?;
    println!("wrote {}", path.display());
    Ok(())
}
