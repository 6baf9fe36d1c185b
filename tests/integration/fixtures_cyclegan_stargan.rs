//! `cyclegan_loss` and `stargan_loss` against TF-GAN's own (`tests/fixtures/tfgan/
//! cyclegan_stargan.json`, written by the committed `gen_cyclegan_stargan.py` with tensorflow-gan
//! 2.1.0 on TensorFlow 2.15): both networks' losses, the generated and reconstructed data, and
//! each loss's gradients with respect to its networks' weights, on small per-pixel networks whose
//! weights the fixture carries. TF-GAN draws StarGAN's target domains and the penalty's
//! interpolation weights in its graph; the fixture stores the draws, given to rgan here.

use crate::common::{self, Case, FixtureFile, values};

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LeakyRelu, LeakyReluConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Gradients;
use rgan::model::{
    CycleGanModel, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, ImagesAndLabels, cyclegan_model,
    one_hot, stargan_model_with_targets,
};
use rgan::penalties::{CriticLayer, GradientPenaltyOptions, SequentialCritic, wasserstein_gradient_penalty_with_alpha};
use rgan::rng::Rng;
use rgan::train::{CycleGanLossConfig, GanLossConfig, GanLossKind, StarGanLossConfig, cyclegan_loss, stargan_loss};
use serde_json::Value;

fn load() -> FixtureFile {
    // rgan's own addition to TF-GAN's fixture set (not in ../shared), read from the repository.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tfgan/cyclegan_stargan.json");
    common::load_path(&path)
}

fn device() -> Device {
    Device::default().autodiff()
}

/// A fixture tensor of the networks' weights.
fn weight(value: &Value) -> common::FixtureTensor {
    common::FixtureTensor::parse(value).unwrap()
}

/// A per-pixel layer `[in, out]` (TF) as a burn 1×1 convolution `[out, in, 1, 1]`.
fn pixel_conv(w: &Value, b: &Value, device: &Device) -> Conv2d {
    let (w, b) = (weight(w), weight(b));
    let [i, o] = [w.shape[0], w.shape[1]];
    let mut conv = Conv2dConfig::new([i, o], [1, 1]).init(device);
    let kernel: Tensor<2> = w.tensor(device);
    conv.weight = Param::from_tensor(kernel.transpose().reshape([o, i, 1, 1]));
    conv.bias = Some(Param::from_tensor(b.tensor(device)));
    conv
}

/// The gradient of `conv`'s kernel and bias in TF's layout (`[in, out]`, `[out]`).
fn pixel_conv_grads(conv: &Conv2d, grads: &Gradients) -> [(Vec<f64>, Vec<usize>); 2] {
    let w = conv.weight.val().grad(grads).expect("a kernel gradient");
    let [o, i, _, _] = w.dims();
    let b = conv.bias.as_ref().unwrap().val().grad(grads).expect("a bias gradient");
    [values(&w.reshape([o, i]).transpose()), values(&b)]
}

fn nchw(t: Tensor<4>) -> Tensor<4> {
    t.permute([0, 3, 1, 2])
}

fn nhwc(t: Tensor<4>) -> Tensor<4> {
    t.permute([0, 2, 3, 1])
}

/// CycleGAN's fixture generator: `tanh(x W + b)` per pixel.
#[derive(Module, Debug)]
struct PixelGenerator {
    conv: Conv2d,
}

impl GanGenerator<Tensor<4>> for PixelGenerator {
    fn generate(&self, x: &Tensor<4>) -> rgan::Result<Tensor<4>> {
        Ok(self.conv.forward(x.clone()).tanh())
    }
}

/// CycleGAN's fixture discriminator: `leaky(x W1 + b1) W2 + b2` per pixel, a map of logits.
#[derive(Module, Debug)]
struct PixelDiscriminator {
    conv1: Conv2d,
    act: LeakyRelu,
    conv2: Conv2d,
}

impl PixelDiscriminator {
    fn new(p: &Value, device: &Device) -> Self {
        Self {
            conv1: pixel_conv(&p["w1"], &p["b1"], device),
            act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
            conv2: pixel_conv(&p["w2"], &p["b2"], device),
        }
    }

    fn hidden(&self, x: Tensor<4>) -> Tensor<4> {
        self.act.forward(self.conv1.forward(x))
    }

    fn logit_map(&self, x: Tensor<4>) -> Tensor<2> {
        let map = self.conv2.forward(self.hidden(x));
        let [n, _, h, w] = map.dims();
        map.reshape([n, h * w])
    }
}

impl GanDiscriminator<Tensor<4>> for PixelDiscriminator {
    fn discriminate(&self, data: Tensor<4>, _: &Tensor<4>) -> rgan::Result<DiscriminatorOutput> {
        Ok(DiscriminatorOutput::logits(self.logit_map(data)))
    }
}

fn check(case: &Case, field: &str, (got, shape): (Vec<f64>, Vec<usize>)) -> Result<(), String> {
    case.check(field, &got, &shape, &case.expected_field(field)?)
}

fn scalar(t: &Tensor<1>) -> (Vec<f64>, Vec<usize>) {
    values(t)
}

fn run_cyclegan(case: &Case, networks: &Value) -> Result<(), String> {
    let device = device();
    let (x, y): (Tensor<4>, Tensor<4>) =
        (nchw(case.tensor_arg("data_x")?.tensor(&device)), nchw(case.tensor_arg("data_y")?.tensor(&device)));
    let kind = match case.str_arg("loss", "least_squares")? {
        "least_squares" => GanLossKind::LeastSquares,
        "modified" => GanLossKind::Modified,
        other => return Err(format!("unknown loss {other}")),
    };
    let config = CycleGanLossConfig::new()
        .with_loss(GanLossConfig::new().with_loss(kind))
        .with_cycle_consistency_loss_weight(case.f64_arg("cycle_consistency_loss_weight", 10.0)?);
    // Each backward pass consumes its graph, so every loss is differentiated on a fresh forward
    // pass of freshly built networks (the same weights each time).
    let forward = || -> Result<_, String> {
        let half = |direction: &str| {
            let p = &networks[direction];
            GanModel {
                generator: PixelGenerator { conv: pixel_conv(&p["generator"]["w"], &p["generator"]["b"], &device) },
                discriminator: PixelDiscriminator::new(&p["discriminator"], &device),
            }
        };
        let model = CycleGanModel { model_x2y: half("x2y"), model_y2x: half("y2x") };
        let outputs = cyclegan_model(&model, x.clone(), y.clone()).map_err(|e| e.to_string())?;
        let loss = cyclegan_loss(&model, &outputs, &config, &mut Rng::seed_from_u64(0)).map_err(|e| e.to_string())?;
        Ok((model, outputs, loss))
    };
    let (_, outputs, loss) = forward()?;
    check(case, "reconstructed_x", values(&nhwc(outputs.reconstructed_x.clone())))?;
    check(case, "reconstructed_y", values(&nhwc(outputs.reconstructed_y.clone())))?;
    for (name, scope) in [("x2y", "ModelX2Y"), ("y2x", "ModelY2X")] {
        let pick = |outputs: &rgan::model::CycleGanOutputs| {
            if name == "x2y" {
                outputs.model_x2y.generated_data.clone()
            } else {
                outputs.model_y2x.generated_data.clone()
            }
        };
        check(case, &format!("{name}_generated_data"), values(&nhwc(pick(&outputs))))?;
        let half_loss = if name == "x2y" { &loss.loss_x2y } else { &loss.loss_y2x };
        check(case, &format!("{name}_generator_loss"), scalar(&half_loss.generator_loss))?;
        check(case, &format!("{name}_discriminator_loss"), scalar(&half_loss.discriminator_loss))?;

        let (model, _, loss) = forward()?;
        let (half, half_loss) =
            if name == "x2y" { (&model.model_x2y, &loss.loss_x2y) } else { (&model.model_y2x, &loss.loss_y2x) };
        let grads = half_loss.generator_loss.backward();
        let [w, b] = pixel_conv_grads(&half.generator.conv, &grads);
        check(case, &format!("{name}_generator_loss_grad/{scope}/Generator/w"), w)?;
        check(case, &format!("{name}_generator_loss_grad/{scope}/Generator/b"), b)?;

        let (model, _, loss) = forward()?;
        let (half, half_loss) =
            if name == "x2y" { (&model.model_x2y, &loss.loss_x2y) } else { (&model.model_y2x, &loss.loss_y2x) };
        let grads = half_loss.discriminator_loss.backward();
        for (layer, suffix) in [(&half.discriminator.conv1, "1"), (&half.discriminator.conv2, "2")] {
            let [w, b] = pixel_conv_grads(layer, &grads);
            check(case, &format!("{name}_discriminator_loss_grad/{scope}/Discriminator/w{suffix}"), w)?;
            check(case, &format!("{name}_discriminator_loss_grad/{scope}/Discriminator/b{suffix}"), b)?;
        }
    }
    Ok(())
}

/// StarGAN's fixture generator: the target domains tiled over the image as channels, then
/// `tanh([x, t] W + b)` per pixel.
#[derive(Module, Debug)]
struct TargetedPixelGenerator {
    conv: Conv2d,
}

impl GanGenerator<ImagesAndLabels> for TargetedPixelGenerator {
    fn generate(&self, inputs: &ImagesAndLabels) -> rgan::Result<Tensor<4>> {
        let [n, _, h, w] = inputs.images.dims();
        let d = inputs.labels.dims()[1];
        let tiled = inputs.labels.clone().reshape([n, d, 1, 1]).expand([n, d, h, w]);
        Ok(self.conv.forward(Tensor::cat(vec![inputs.images.clone(), tiled], 1)).tanh())
    }
}

/// StarGAN's fixture discriminator: the source map of [`PixelDiscriminator`] and domain logits
/// `mean_HW(hidden) Wc + bc`; its gradient penalty uses the fixture's interpolation weights.
#[derive(Module, Debug)]
struct StarDiscriminator {
    pixels: PixelDiscriminator,
    domain: Linear,
    alpha: Tensor<4>,
}

impl SequentialCritic for StarDiscriminator {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        vec![&self.pixels.conv1, &self.pixels.act, &self.pixels.conv2]
    }
}

impl GanDiscriminator<ImagesAndLabels> for StarDiscriminator {
    fn discriminate(&self, data: Tensor<4>, _: &ImagesAndLabels) -> rgan::Result<DiscriminatorOutput> {
        let source = self.pixels.logit_map(data.clone());
        let hidden = self.pixels.hidden(data);
        let [n, c, h, w] = hidden.dims();
        let pooled = hidden.reshape([n, c, h * w]).mean_dim(2).reshape([n, c]);
        Ok(DiscriminatorOutput {
            logits: source,
            class_logits: Some(self.domain.forward(pooled)),
            distributions: Vec::new(),
        })
    }

    fn gradient_penalty(
        &self,
        real: Tensor<4>,
        generated: Tensor<4>,
        _: &ImagesAndLabels,
        _: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> rgan::Result<Tensor<1>> {
        Ok(wasserstein_gradient_penalty_with_alpha(self, real, generated, self.alpha.clone(), None, options)?.penalty)
    }
}

fn run_stargan(case: &Case, networks: &Value) -> Result<(), String> {
    let device = device();
    let images = nchw(case.tensor_arg("input_data")?.tensor(&device));
    let labels: Tensor<2> = case.tensor_arg("input_data_domain_label")?.tensor(&device);
    let domains = labels.dims()[1];
    let targets: Tensor<1, Int> = case.tensor_arg("target_domains")?.int_tensor(&device);
    let alpha: Tensor<4> = case.tensor_arg("alpha")?.tensor(&device);
    let (g, d) = (&networks["generator"], &networks["discriminator"]);
    let adversarial =
        GanLossConfig::new().with_gradient_penalty_weight(Some(case.f64_arg("gradient_penalty_weight", 10.0)?));
    let config = StarGanLossConfig::new()
        .with_reconstruction_loss_weight(case.f64_arg("reconstruction_loss_weight", 10.0)?)
        .with_classification_loss_weight(case.f64_arg("classification_loss_weight", 1.0)?);
    // A fresh forward pass (and fresh networks) for each backward pass, which consumes its graph.
    let forward = || -> Result<_, String> {
        let (wc, bc) = (weight(&d["wc"]), weight(&d["bc"]));
        let mut domain = LinearConfig::new(wc.shape[0], wc.shape[1]).init(&device);
        domain.weight = Param::from_tensor(wc.tensor(&device));
        domain.bias = Some(Param::from_tensor(bc.tensor(&device)));
        let model = GanModel {
            generator: TargetedPixelGenerator { conv: pixel_conv(&g["w"], &g["b"], &device) },
            discriminator: StarDiscriminator {
                pixels: PixelDiscriminator::new(d, &device),
                domain,
                alpha: alpha.clone(),
            },
        };
        let outputs =
            stargan_model_with_targets(&model, images.clone(), labels.clone(), one_hot(targets.clone(), domains))
                .map_err(|e| e.to_string())?;
        let loss = stargan_loss(&model, &outputs, &adversarial, &config, &mut Rng::seed_from_u64(0))
            .map_err(|e| e.to_string())?;
        Ok((model, outputs, loss))
    };
    let (_, outputs, loss) = forward()?;
    check(case, "generated_data", values(&nhwc(outputs.generated_data.clone())))?;
    check(case, "reconstructed_data", values(&nhwc(outputs.reconstructed_data.clone())))?;
    check(case, "generator_loss", scalar(&loss.generator_loss))?;
    check(case, "discriminator_loss", scalar(&loss.discriminator_loss))?;

    let (model, _, loss) = forward()?;
    let grads = loss.generator_loss.backward();
    let [w, b] = pixel_conv_grads(&model.generator.conv, &grads);
    check(case, "generator_loss_grad/Generator/w", w)?;
    check(case, "generator_loss_grad/Generator/b", b)?;

    let (model, _, loss) = forward()?;
    let grads = loss.discriminator_loss.backward();
    let critic = &model.discriminator;
    for (layer, suffix) in [(&critic.pixels.conv1, "1"), (&critic.pixels.conv2, "2")] {
        let [w, b] = pixel_conv_grads(layer, &grads);
        check(case, &format!("discriminator_loss_grad/Discriminator/w{suffix}"), w)?;
        check(case, &format!("discriminator_loss_grad/Discriminator/b{suffix}"), b)?;
    }
    let wc = critic.domain.weight.val().grad(&grads).ok_or("no domain kernel gradient")?;
    let bc = critic.domain.bias.as_ref().unwrap().val().grad(&grads).ok_or("no domain bias gradient")?;
    check(case, "discriminator_loss_grad/Discriminator/wc", values(&wc))?;
    check(case, "discriminator_loss_grad/Discriminator/bc", values(&bc))?;
    Ok(())
}

fn run(file: &FixtureFile) -> impl Fn(&Case) -> Result<(), String> + '_ {
    |case: &Case| match case.function.as_str() {
        "cyclegan_loss" => run_cyclegan(case, &file.root["networks"]["cyclegan"]),
        "stargan_loss" => run_stargan(case, &file.root["networks"]["stargan"]),
        other => Err(format!("unknown fn {other}")),
    }
}

#[test]
fn cyclegan_and_stargan_losses_match_tfgan() {
    let file = load();
    common::run_all(&file, run(&file));
}

#[test]
fn the_runner_fails_on_a_corrupted_expected_value() {
    let file = load();
    common::assert_corruption_detected(&file, &["cyclegan_loss", "stargan_loss"], run(&file));
}
