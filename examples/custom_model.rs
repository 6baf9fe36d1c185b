//! TF-GAN's "custom model creation": your own burn modules as the generator and the
//! discriminator. Here two small MLPs on MNIST, trained with WGAN-GP (Wasserstein losses and a
//! gradient penalty of weight 10) by rgan's loop ([`Trainer::start_or_resume`], which resumes the
//! log folder's newest checkpoint when there is one).
//!
//! ```text
//! cargo run --release --example custom_model -- [STEPS (default 300)]
//! ```
//!
//! MNIST is read from `$RGAN_DATA_DIR`, else `../shared/datasets/mnist` beside the repository;
//! samples, scalars and checkpoints go to `logs/custom_model`.

use std::path::{Path, PathBuf};

use burn::nn::{LeakyRelu, LeakyReluConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;
use rgan::data::{ImageBatches, Mnist, Split};
use rgan::model::{DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GeneratorInputs, NoiseInputs};
use rgan::penalties::{CriticLayer, Flatten, GradientPenaltyOptions, SequentialCritic, wasserstein_gradient_penalty};
use rgan::rng::Rng;
use rgan::train::{GanLossKind, GanStep, OptimizerConfig, StepReport, TrainConfig, Trainer};

const NOISE_DIMS: usize = 32;
const HIDDEN: usize = 256;

/// noise → 256 → ReLU → 784 → tanh → [1, 28, 28].
#[derive(Module, Debug)]
struct MlpGenerator {
    hidden: Linear,
    act: Relu,
    output: Linear,
}

impl GanGenerator for MlpGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> rgan::Result<Tensor<4>> {
        let [n, d] = inputs.noise.dims();
        if d != NOISE_DIMS {
            return Err(rgan::RganError::shape("noise", &[n, d], format!("but the generator takes {NOISE_DIMS}")));
        }
        let x = self.act.forward(self.hidden.forward(inputs.noise.clone()));
        Ok(self.output.forward(x).tanh().reshape([n, 1, 28, 28]))
    }
}

/// [1, 28, 28] → flatten → 256 → leaky ReLU → 1 logit. Its layers are listed as a
/// [`SequentialCritic`] so that the gradient penalty is computed exactly.
#[derive(Module, Debug)]
struct MlpDiscriminator {
    flatten: Flatten,
    hidden: Linear,
    act: LeakyRelu,
    output: Linear,
}

impl SequentialCritic for MlpDiscriminator {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        vec![&self.flatten, &self.hidden, &self.act, &self.output]
    }
}

impl GanDiscriminator for MlpDiscriminator {
    fn discriminate(&self, data: Tensor<4>, _inputs: &GeneratorInputs) -> rgan::Result<DiscriminatorOutput> {
        let [n, c, h, w] = data.dims();
        if c * h * w != 784 {
            return Err(rgan::RganError::shape("data", &[n, c, h, w], "but the discriminator takes [N, 1, 28, 28]"));
        }
        let x = self.act.forward(self.hidden.forward(data.reshape([n, 784])));
        Ok(DiscriminatorOutput::logits(self.output.forward(x)))
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        _inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> rgan::Result<Tensor<1>> {
        Ok(wasserstein_gradient_penalty(self, real_data, generated_data, None, rng, options)?.penalty)
    }
}

fn main() -> rgan::Result<()> {
    let steps: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|_| rgan::RganError::invalid("STEPS", format!("{arg:?} is not a number")))?,
        None => 300,
    };
    let data_dir = std::env::var_os("RGAN_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/mnist"));
    let mnist = Mnist::load(&data_dir, Split::Train)?;
    let device = Device::default().autodiff();

    // WGAN-GP (Gulrajani et al.): Wasserstein losses, penalty weight 10, Adam(1e-4, β1 0.5).
    let mut config = TrainConfig::new()
        .with_steps(steps)
        .with_batch_size(64)
        .with_sample_every(100)
        .with_generator_optimizer(OptimizerConfig::new(1e-4))
        .with_discriminator_optimizer(OptimizerConfig::new(1e-4));
    config.loss.loss = GanLossKind::Wasserstein;
    config.loss.gradient_penalty_weight = Some(10.0);

    // The checkpoints record this description of the networks; a log folder holding another is
    // refused.
    let description = serde_json::json!({ "example": "custom_model", "noise": NOISE_DIMS, "hidden": HIDDEN });
    let batches = ImageBatches::new(&mnist, config.batch_size)?;
    let mut trainer =
        Trainer::start_or_resume("logs/custom_model", description, config, false, batches, |config, seeds| {
            // burn's default initializers here; rgan's own networks draw theirs from `seeds`.
            let model = GanModel {
                generator: MlpGenerator {
                    hidden: LinearConfig::new(NOISE_DIMS, HIDDEN).init(&device),
                    act: Relu,
                    output: LinearConfig::new(HIDDEN, 784).init(&device),
                },
                discriminator: MlpDiscriminator {
                    flatten: Flatten,
                    hidden: LinearConfig::new(784, HIDDEN).init(&device),
                    act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
                    output: LinearConfig::new(HIDDEN, 1).init(&device),
                },
            };
            // The step draws the generator's inputs: noise of the generator's size.
            GanStep::new(config.clone(), model, NoiseInputs::new(NOISE_DIMS), seeds.step, &device)
        })?;
    let summary = trainer.run(|r: &StepReport| {
        if r.step % 50 == 0 || r.step == 1 {
            let gp = r.gradient_penalty.unwrap_or(f64::NAN);
            println!("step {:5}  d_loss {:9.4}  g_loss {:9.4}  gradient penalty {gp:.4}", r.step, r.d_loss, r.g_loss);
        }
    })?;
    println!("trained to step {} in {:.1} s", summary.step, summary.wall.as_secs_f64());
    println!("samples:    {:?}", summary.samples);
    println!("checkpoint: {:?}", summary.checkpoint);
    Ok(())
}
