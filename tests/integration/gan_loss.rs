//! `gan_loss` on TF-GAN's MNIST networks: the assembled losses are the sums of their documented
//! terms, and terms the model cannot give are errors naming the weight.

use burn::prelude::*;
use rgan::losses::{StructuredInput, WeightedLossOptions, mutual_information_penalty};
use rgan::model::{GanModel, GeneratorInputs};
use rgan::recipes::mnist::{MnistDiscriminatorConfig, MnistGeneratorConfig};
use rgan::rng::Rng;
use rgan::train::{GanLossConfig, GanLossKind, gan_loss};

fn value(t: &Tensor<1>) -> f64 {
    t.clone().into_scalar::<f64>()
}

/// The assembled losses are exactly the sum of their documented parts.
#[test]
fn wasserstein_with_penalty_is_the_sum_of_its_terms() {
    let device = Device::default().autodiff();
    let mut rng = Rng::seed_from_u64(3);
    let model = GanModel {
        generator: MnistGeneratorConfig::new().init(&mut rng, &device).unwrap(),
        discriminator: MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap(),
    };
    let inputs = GeneratorInputs::noise(rng.normal([4, 64], 0.0, 1.0, &device));
    let outputs = model.run(rng.uniform([4, 1, 28, 28], -1.0, 1.0, &device), inputs).unwrap();
    let config = GanLossConfig::new().with_gradient_penalty_weight(Some(10.0));
    let loss = gan_loss(&model, &outputs, &config, &mut rng).unwrap();
    let d_real = outputs.discriminator_real_outputs.logits.clone().mean();
    let d_gen = outputs.discriminator_gen_outputs.logits.clone().mean();
    let g_gen = outputs.discriminator_gen_outputs_for_generator.logits.clone().mean();
    let gp = value(loss.gradient_penalty.as_ref().unwrap());
    let d_reg = value(&model.discriminator.regularization_loss());
    let g_reg = value(&model.generator.regularization_loss());
    let expected_d = value(&d_gen) - value(&d_real) + 10.0 * gp + d_reg;
    let expected_g = -value(&g_gen) + g_reg;
    assert!((value(&loss.discriminator_loss) - expected_d).abs() < 1e-5, "{expected_d}");
    assert!((value(&loss.generator_loss) - expected_g).abs() < 1e-5, "{expected_g}");
    // The generator loss reaches the generator only; the discriminator loss the discriminator only.
    let grads = loss.generator_loss.backward();
    let g_grads = burn::optim::GradientsParams::from_grads(grads, &model.generator);
    assert!(!g_grads.is_empty());
}

#[test]
fn infogan_and_acgan_terms_need_their_heads() {
    let device = Device::default().autodiff();
    let mut rng = Rng::seed_from_u64(4);
    let model = GanModel {
        generator: MnistGeneratorConfig::new().init(&mut rng, &device).unwrap(),
        discriminator: MnistDiscriminatorConfig::new().init(&mut rng, &device).unwrap(),
    };
    let inputs = GeneratorInputs::noise(rng.normal([2, 64], 0.0, 1.0, &device));
    let outputs = model.run(rng.uniform([2, 1, 28, 28], -1.0, 1.0, &device), inputs).unwrap();
    let mi = GanLossConfig::new().with_mutual_information_penalty_weight(Some(1.0));
    let err = gan_loss(&model, &outputs, &mi, &mut rng).unwrap_err().to_string();
    assert!(err.contains("mutual_information_penalty_weight"), "{err}");
    let negative = GanLossConfig::new().with_gradient_penalty_weight(Some(-1.0));
    let err = gan_loss(&model, &outputs, &negative, &mut rng).unwrap_err().to_string();
    assert!(err.contains("gradient_penalty_weight") && err.contains("-1"), "{err}");
}

#[test]
fn infogan_penalty_is_added_to_both_losses() {
    let device = Device::default().autodiff();
    let mut rng = Rng::seed_from_u64(5);
    let model = GanModel {
        generator: MnistGeneratorConfig::new()
            .with_noise_dims(62)
            .with_categorical_dim(10)
            .with_continuous_dim(2)
            .with_weight_decay(0.0)
            .init(&mut rng, &device)
            .unwrap(),
        discriminator: MnistDiscriminatorConfig::new()
            .with_categorical_dim(10)
            .with_continuous_dim(2)
            .with_weight_decay(0.0)
            .init(&mut rng, &device)
            .unwrap(),
    };
    let ids = Tensor::<1, Int>::from_ints([3, 7], &device);
    let codes = vec![StructuredInput::ClassIds(ids), StructuredInput::Values(rng.uniform([2, 2], -1.0, 1.0, &device))];
    let inputs = GeneratorInputs::noise(rng.normal([2, 62], 0.0, 1.0, &device)).with_structured(codes);
    let outputs = model.run(rng.uniform([2, 1, 28, 28], -1.0, 1.0, &device), inputs).unwrap();
    let plain = GanLossConfig::new().with_loss(GanLossKind::Modified);
    let with_mi = plain.clone().with_mutual_information_penalty_weight(Some(2.0));
    let a = gan_loss(&model, &outputs, &plain, &mut rng).unwrap();
    let b = gan_loss(&model, &outputs, &with_mi, &mut rng).unwrap();
    let mi = value(b.mutual_information_penalty.as_ref().unwrap());
    assert!(mi > 0.0);
    assert!((value(&b.discriminator_loss) - value(&a.discriminator_loss) - 2.0 * mi).abs() < 1e-5);
    // The generator side uses the frozen discriminator's pass (its own spectral-norm step).
    let on_g = mutual_information_penalty(
        &outputs.generator_inputs.structured,
        &outputs.discriminator_gen_outputs_for_generator.distributions,
        &WeightedLossOptions::default(),
    )
    .unwrap();
    assert!((value(&b.generator_loss) - value(&a.generator_loss) - 2.0 * value(&on_g)).abs() < 1e-5);
}
