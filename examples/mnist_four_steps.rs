//! TF-GAN's four steps written out by hand on MNIST: (1) the GAN model, (2) the GAN loss,
//! (3) the train ops (one Adam optimizer per network), (4) the train loop. rgan's
//! [`GanStep`](rgan::train::GanStep) and [`Trainer`](rgan::train::Trainer) do all of this (plus
//! checkpoints and summaries) for you; this example shows the parts.
//!
//! ```text
//! cargo run --release --example mnist_four_steps -- [STEPS (default 200)]
//! ```
//!
//! MNIST is read from `$RGAN_DATA_DIR`, else `../shared/datasets/mnist` beside the repository;
//! the sample grid goes to `logs/mnist_four_steps/samples.png`.

use std::path::{Path, PathBuf};

use burn::optim::GradientsParams;
use burn::prelude::*;
use rgan::data::{Batcher, Mnist, Split};
use rgan::model::{GanGenerator, GanModel, GeneratorInputs};
use rgan::recipes::mnist::{MnistDiscriminatorConfig, MnistGeneratorConfig};
use rgan::rng::Rng;
use rgan::summary::save_image_grid;
use rgan::train::{GanLossConfig, GanLossKind, OptimizerConfig, gan_loss};

fn main() -> rgan::Result<()> {
    let steps: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|_| rgan::RganError::invalid("STEPS", format!("{arg:?} is not a number")))?,
        None => 200,
    };
    let data_dir = std::env::var_os("RGAN_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/mnist"));
    let mnist = Mnist::load(&data_dir, Split::Train)?;
    let device = Device::default().autodiff();
    let mut rng = Rng::seed_from_u64(0);
    let (batch_size, noise_dims) = (32, 64);

    // 1. The GAN model: TF-GAN's MNIST generator and (spectrally normalized) discriminator.
    let mut model = GanModel {
        generator: MnistGeneratorConfig::new().with_noise_dims(noise_dims).init(&mut rng, &device)?,
        discriminator: MnistDiscriminatorConfig::new().init(&mut rng, &device)?,
    };

    // 2. The GAN loss: `gan_loss` with Wasserstein losses (TF-GAN's default) and the networks'
    //    weight decay.
    let loss_config = GanLossConfig::new().with_loss(GanLossKind::Wasserstein);

    // 3. The train ops: Adam (β1 0.5) for each network, TF-GAN's MNIST learning rates.
    let (generator_lr, discriminator_lr) = (1e-3, 1e-4);
    let mut generator_optimizer = OptimizerConfig::new(generator_lr).init();
    let mut discriminator_optimizer = OptimizerConfig::new(discriminator_lr).init();

    // 4. The train loop: both updates from the same forward pass (TF-GAN's joint train hooks).
    let mut batcher = Batcher::new(mnist.len(), batch_size, 0)?;
    let fixed_noise = rng.normal([64, noise_dims], 0.0, 1.0, &Device::default());
    for step in 1..=steps {
        let batch = batcher.next_batch(&mnist, &device)?;
        let inputs = GeneratorInputs::noise(rng.normal([batch_size, noise_dims], 0.0, 1.0, &device));
        let outputs = model.run(batch.images, inputs)?;
        let loss = gan_loss(&model, &outputs, &loss_config, &mut rng)?;
        let d_loss = loss.discriminator_loss.clone().into_scalar::<f64>();
        let g_loss = loss.generator_loss.clone().into_scalar::<f64>();

        let d_grads = GradientsParams::from_grads(loss.discriminator_loss.backward(), &model.discriminator);
        let g_grads = GradientsParams::from_grads(loss.generator_loss.backward(), &model.generator);
        model.discriminator = discriminator_optimizer.step(discriminator_lr, model.discriminator, d_grads);
        model.generator = generator_optimizer.step(generator_lr, model.generator, g_grads);

        if step % 10 == 0 || step == 1 || step == steps {
            println!("step {step:5}  d_loss {d_loss:9.4}  g_loss {g_loss:9.4}");
        }
    }

    let images = model.generator.valid().sample(&GeneratorInputs::noise(fixed_noise))?;
    let out = Path::new("logs/mnist_four_steps/samples.png");
    save_image_grid(images, 8, out)?;
    println!("samples after {steps} steps: {}", out.display());
    Ok(())
}
