//! Checks every case of TF-GAN's `losses.json` against `rgan::losses`.

use crate::common;

use std::collections::BTreeSet;

use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use common::{Case, FixtureTensor, assert_corruption_detected, load, run_all};
use rgan::losses::*;
use serde_json::Value;

/// The 17 TF-GAN functions `losses.json` covers.
const FUNCTIONS: [&str; 17] = [
    "modified_generator_loss",
    "minimax_generator_loss",
    "wasserstein_generator_loss",
    "wasserstein_hinge_generator_loss",
    "least_squares_generator_loss",
    "modified_discriminator_loss",
    "minimax_discriminator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_hinge_discriminator_loss",
    "least_squares_discriminator_loss",
    "relativistic_discriminator_loss",
    "relativistic_generator_loss",
    "acgan_generator_loss",
    "acgan_discriminator_loss",
    "mutual_information_penalty",
    "cycle_consistency_loss",
    "combine_adversarial_loss",
];

/// A fixture tensor as a burn tensor in the fixture's own float dtype (float64 stays float64).
fn to_tensor<const D: usize>(t: &FixtureTensor, device: &Device) -> Result<Tensor<D>, String> {
    let mut shape = t.shape.clone();
    if shape.is_empty() {
        shape.push(1);
    }
    if shape.len() != D {
        return Err(format!("tensor of rank {} where rank {D} was expected", shape.len()));
    }
    Ok(if t.is_f64() {
        Tensor::from_data(TensorData::new(t.data.clone(), shape), (device, DType::F64))
    } else {
        let data: Vec<f32> = t.data.iter().map(|&v| v as f32).collect();
        Tensor::from_data(TensorData::new(data, shape), (device, DType::F32))
    })
}

fn tensor_arg<const D: usize>(case: &Case, name: &str, device: &Device) -> Result<Tensor<D>, String> {
    to_tensor(&case.tensor_arg(name)?, device).map_err(|e| format!("arg `{name}`: {e}"))
}

/// `weights`-style argument: absent (1.0), a bare number, or a tensor of the loss's rank.
fn weights_arg<const D: usize>(case: &Case, name: &str, device: &Device) -> Result<Weights<D>, String> {
    match case.args.get(name) {
        None => Ok(Weights::default()),
        Some(Value::Number(n)) => Ok(Weights::Scalar(n.as_f64().ok_or("bad weight")?)),
        Some(_) => Ok(Weights::Tensor(tensor_arg(case, name, device)?)),
    }
}

fn reduction_arg(case: &Case) -> Result<Reduction, String> {
    Reduction::from_tf_name(case.str_arg("reduction", "weighted_sum_by_nonzero_weights")?).map_err(|e| e.to_string())
}

/// The rank of a tensor argument as burn sees it (a scalar is `[1]`).
fn rank(case: &Case, name: &str) -> Result<usize, String> {
    Ok(case.tensor_arg(name)?.shape.len().max(1))
}

/// Checks `got` against the expected tensor (`field` None: `expected` itself).
fn check<const D: usize>(case: &Case, field: Option<&str>, got: &Tensor<D>) -> Result<(), String> {
    let expected = match field {
        Some(f) => case.expected_field(f)?,
        None => case.expected_tensor()?,
    };
    let (values, shape) = common::values(got);
    case.check(field.unwrap_or("value"), &values, &shape, &expected)
}

/// Calls `$f::<D>(args)` for the rank `D` given at run time.
macro_rules! with_rank {
    ($rank:expr, $f:ident ( $($arg:expr),* )) => {
        match $rank {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            r => Err(format!("unsupported rank {r}")),
        }
    };
}

fn run_case(case: &Case) -> Result<(), String> {
    let device = Device::default();
    match case.function.as_str() {
        "modified_generator_loss"
        | "minimax_generator_loss"
        | "wasserstein_generator_loss"
        | "wasserstein_hinge_generator_loss"
        | "least_squares_generator_loss" => {
            with_rank!(rank(case, "discriminator_gen_outputs")?, generator_case(case, &device))
        }
        "modified_discriminator_loss"
        | "minimax_discriminator_loss"
        | "wasserstein_discriminator_loss"
        | "wasserstein_hinge_discriminator_loss"
        | "least_squares_discriminator_loss"
        | "relativistic_discriminator_loss"
        | "relativistic_generator_loss" => {
            with_rank!(rank(case, "discriminator_real_outputs")?, discriminator_case(case, &device))
        }
        "acgan_generator_loss" => {
            let logits = tensor_arg::<2>(case, "discriminator_gen_classification_logits", &device)?;
            let labels = tensor_arg::<2>(case, "one_hot_labels", &device)?;
            let options = WeightedLossOptions {
                weights: weights_arg(case, "weights", &device)?,
                reduction: reduction_arg(case)?,
            };
            let got = acgan_generator_loss(logits, labels, &options).map_err(|e| e.to_string())?;
            check(case, None, &got)
        }
        "acgan_discriminator_loss" => {
            let real = tensor_arg::<2>(case, "discriminator_real_classification_logits", &device)?;
            let generated = tensor_arg::<2>(case, "discriminator_gen_classification_logits", &device)?;
            let labels = tensor_arg::<2>(case, "one_hot_labels", &device)?;
            let options = AcganDiscriminatorLossOptions {
                label_smoothing: case.f64_arg("label_smoothing", 0.0)?,
                real_weights: weights_arg(case, "real_weights", &device)?,
                generated_weights: weights_arg(case, "generated_weights", &device)?,
                reduction: reduction_arg(case)?,
            };
            let got = acgan_discriminator_loss(real, generated, labels, &options).map_err(|e| e.to_string())?;
            check(case, None, &got)
        }
        "mutual_information_penalty" => mutual_information_case(case, &device),
        "cycle_consistency_loss" => with_rank!(rank(case, "data_x")?, cycle_case(case, &device)),
        "combine_adversarial_loss" => {
            if case.args.contains_key("gradient_ratio") {
                gradient_ratio_case(case)
            } else {
                with_rank!(rank(case, "main_loss")?, weight_factor_case(case, &device))
            }
        }
        other => Err(format!("unknown fn {other:?}")),
    }
}

fn generator_case<const D: usize>(case: &Case, device: &Device) -> Result<(), String> {
    let outputs = tensor_arg::<D>(case, "discriminator_gen_outputs", device)?;
    let weights = weights_arg::<D>(case, "weights", device)?;
    let reduction = reduction_arg(case)?;
    let label_smoothing = case.f64_arg("label_smoothing", 0.0)?;
    let weighted = WeightedLossOptions { weights: weights.clone(), reduction };
    let got = match case.function.as_str() {
        "modified_generator_loss" => {
            modified_generator_loss(outputs, &GeneratorLossOptions { label_smoothing, weights, reduction })
        }
        "minimax_generator_loss" => {
            minimax_generator_loss(outputs, &GeneratorLossOptions { label_smoothing, weights, reduction })
        }
        "wasserstein_generator_loss" => wasserstein_generator_loss(outputs, &weighted),
        "wasserstein_hinge_generator_loss" => wasserstein_hinge_generator_loss(outputs, &weighted),
        "least_squares_generator_loss" => {
            let real_label = case.f64_arg("real_label", 1.0)?;
            least_squares_generator_loss(outputs, &LeastSquaresGeneratorLossOptions { real_label, weights, reduction })
        }
        other => return Err(format!("unknown fn {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    check(case, None, &got)
}

fn discriminator_case<const D: usize>(case: &Case, device: &Device) -> Result<(), String> {
    let real = tensor_arg::<D>(case, "discriminator_real_outputs", device)?;
    let generated = tensor_arg::<D>(case, "discriminator_gen_outputs", device)?;
    let real_weights = weights_arg::<D>(case, "real_weights", device)?;
    let generated_weights = weights_arg::<D>(case, "generated_weights", device)?;
    let reduction = reduction_arg(case)?;
    let got = match case.function.as_str() {
        "modified_discriminator_loss" | "minimax_discriminator_loss" => {
            let options = DiscriminatorLossOptions {
                label_smoothing: case.f64_arg("label_smoothing", 0.25)?,
                real_weights,
                generated_weights,
                reduction,
            };
            if case.function == "modified_discriminator_loss" {
                modified_discriminator_loss(real, generated, &options)
            } else {
                minimax_discriminator_loss(real, generated, &options)
            }
        }
        "wasserstein_discriminator_loss" => {
            let options = WeightedDiscriminatorLossOptions { real_weights, generated_weights, reduction };
            wasserstein_discriminator_loss(real, generated, &options)
        }
        "wasserstein_hinge_discriminator_loss" => {
            let options = WassersteinHingeDiscriminatorLossOptions {
                real_weights,
                generated_weights,
                real_hinge: case.f64_arg("real_hinge", 1.0)?,
                generated_hinge: case.f64_arg("generated_hinge", 1.0)?,
                reduction,
            };
            wasserstein_hinge_discriminator_loss(real, generated, &options)
        }
        "least_squares_discriminator_loss" => {
            let options = LeastSquaresDiscriminatorLossOptions {
                real_label: case.f64_arg("real_label", 1.0)?,
                fake_label: case.f64_arg("fake_label", 0.0)?,
                real_weights,
                generated_weights,
                reduction,
            };
            least_squares_discriminator_loss(real, generated, &options)
        }
        "relativistic_discriminator_loss" => relativistic_discriminator_loss(real, generated),
        "relativistic_generator_loss" => relativistic_generator_loss(real, generated),
        other => return Err(format!("unknown fn {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    check(case, None, &got)
}

fn mutual_information_case(case: &Case, device: &Device) -> Result<(), String> {
    let inputs = case.args.get("structured_generator_inputs").and_then(Value::as_array).ok_or("no inputs list")?;
    let dists = case.args.get("predicted_distributions").and_then(Value::as_array).ok_or("no distributions list")?;
    let mut codes = Vec::new();
    for input in inputs {
        let t = FixtureTensor::parse(input)?;
        codes.push(if t.dtype == "int32" {
            if t.shape.len() != 1 {
                return Err(format!("class ids of shape {:?}", t.shape));
            }
            StructuredInput::ClassIds(t.int_tensor::<1>(device))
        } else {
            StructuredInput::Values(to_tensor::<2>(&t, device)?)
        });
    }
    let mut predicted = Vec::new();
    for dist in dists {
        let field = |name: &str| -> Result<Tensor<2>, String> {
            to_tensor::<2>(&FixtureTensor::parse(dist.get(name).ok_or_else(|| format!("no `{name}`"))?)?, device)
        };
        predicted.push(match dist.get("type").and_then(Value::as_str) {
            Some("Categorical") => Distribution::Categorical { logits: field("logits")? },
            Some("OneHotCategorical") => Distribution::OneHotCategorical { logits: field("logits")? },
            Some("Normal") => Distribution::Normal { loc: field("loc")?, scale: field("scale")? },
            other => return Err(format!("unknown distribution {other:?}")),
        });
    }
    let options =
        WeightedLossOptions { weights: weights_arg::<1>(case, "weights", device)?, reduction: reduction_arg(case)? };
    let got = mutual_information_penalty(&codes, &predicted, &options).map_err(|e| e.to_string())?;
    check(case, None, &got)
}

fn cycle_case<const DX: usize>(case: &Case, device: &Device) -> Result<(), String> {
    fn with_y<const DX: usize, const DY: usize>(case: &Case, device: &Device) -> Result<(), String> {
        let got = cycle_consistency_loss(
            tensor_arg::<DX>(case, "data_x", device)?,
            tensor_arg::<DX>(case, "reconstructed_data_x", device)?,
            tensor_arg::<DY>(case, "data_y", device)?,
            tensor_arg::<DY>(case, "reconstructed_data_y", device)?,
        )
        .map_err(|e| e.to_string())?;
        check(case, None, &got)
    }
    match rank(case, "data_y")? {
        1 => with_y::<DX, 1>(case, device),
        2 => with_y::<DX, 2>(case, device),
        3 => with_y::<DX, 3>(case, device),
        4 => with_y::<DX, 4>(case, device),
        r => Err(format!("unsupported rank {r}")),
    }
}

fn weight_factor_case<const D: usize>(case: &Case, device: &Device) -> Result<(), String> {
    fn with_adv<const D: usize, const E: usize>(case: &Case, device: &Device) -> Result<(), String> {
        let main = tensor_arg::<D>(case, "main_loss", device)?;
        let adversarial = tensor_arg::<E>(case, "adversarial_loss", device)?;
        let options = CombineAdversarialLossOptions::weight_factor(case.f64_arg("weight_factor", f64::NAN)?);
        let got = combine_adversarial_loss(main, adversarial, &options).map_err(|e| e.to_string())?;
        check(case, None, &got)
    }
    match rank(case, "adversarial_loss")? {
        1 => with_adv::<D, 1>(case, device),
        2 => with_adv::<D, 2>(case, device),
        3 => with_adv::<D, 3>(case, device),
        4 => with_adv::<D, 4>(case, device),
        r => Err(format!("unsupported rank {r}")),
    }
}

/// `max(x, 0) + log(1 + exp(-|x|))`, exact in float64 (burn's `softplus` has a threshold).
fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}

/// The tiny linear generator of the gradient-ratio cases (see their `model_description`).
struct LinearModel {
    z: Tensor<2>,
    y: Tensor<2>,
    v: Tensor<2>,
    c: Tensor<2>,
    scalar: bool,
}

impl LinearModel {
    /// `(main_loss, adversarial_loss)`: `[B]` each, or `[1]` means with `loss_form = "scalar"`.
    fn losses(&self, w: Tensor<2>, b: Tensor<1>) -> (Tensor<1>, Tensor<1>) {
        let batch = self.z.dims()[0];
        let generated = self.z.clone().matmul(w) + b.unsqueeze::<2>();
        let main = (generated.clone() - self.y.clone()).abs().mean_dim(1).reshape([batch]);
        let logits = generated.matmul(self.v.clone()) + self.c.clone();
        let adversarial = softplus(logits.neg()).reshape([batch]);
        if self.scalar { (main.mean(), adversarial.mean()) } else { (main, adversarial) }
    }
}

fn gradient_ratio_case(case: &Case) -> Result<(), String> {
    let device = Device::default().autodiff();
    let model = LinearModel {
        z: tensor_arg(case, "z", &device)?,
        y: tensor_arg(case, "y", &device)?,
        v: tensor_arg::<1>(case, "v", &device)?.unsqueeze_dim(1),
        c: tensor_arg::<1>(case, "c", &device)?.unsqueeze::<2>(),
        scalar: match case.str_arg("loss_form", "")? {
            "scalar" => true,
            "vector" => false,
            other => return Err(format!("unknown loss_form {other:?}")),
        },
    };
    let w = tensor_arg::<2>(case, "W", &device)?.require_grad();
    let b = tensor_arg::<1>(case, "b", &device)?.require_grad();
    let flat_grads = |grads: &burn::tensor::Gradients| -> Result<Vec<Tensor<1>>, String> {
        let gw = w.grad(grads).ok_or("no gradient for W")?;
        let gb = b.grad(grads).ok_or("no gradient for b")?;
        let n = gw.shape().num_elements();
        Ok(vec![gw.reshape([n]), gb])
    };
    // One forward and backward per loss (tf.gradients of a vector differentiates its sum).
    let (main, _) = model.losses(w.clone(), b.clone());
    let main_mag = numerically_stable_global_norm(&flat_grads(&main.sum().backward())?);
    let (_, adversarial) = model.losses(w.clone(), b.clone());
    let adv_mag = numerically_stable_global_norm(&flat_grads(&adversarial.sum().backward())?);

    let gradient_ratio = case.f64_arg("gradient_ratio", f64::NAN)?;
    let options = CombineAdversarialLossOptions {
        gradient_ratio: Some(gradient_ratio),
        gradient_ratio_epsilon: case.f64_arg("gradient_ratio_epsilon", 1e-6)?,
        gradient_magnitudes: Some(GradientMagnitudes { main_loss: main_mag, adversarial_loss: adv_mag }),
        ..Default::default()
    };
    let (main, adversarial) = model.losses(w.clone(), b.clone());
    let final_loss =
        combine_adversarial_loss(main.clone(), adversarial.clone(), &options).map_err(|e| e.to_string())?;
    let coefficient = adversarial_coefficient(main_mag, adv_mag, gradient_ratio, options.gradient_ratio_epsilon);
    let scalar = |v: f64| Tensor::<1>::from_data(TensorData::new(vec![v], [1]), (&Device::default(), DType::F64));
    check(case, Some("final_loss"), &final_loss)?;
    check(case, Some("main_loss"), &main)?;
    check(case, Some("adversarial_loss"), &adversarial)?;
    check(case, Some("main_loss_grad_mag"), &scalar(main_mag))?;
    check(case, Some("adv_loss_grad_mag"), &scalar(adv_mag))?;
    check(case, Some("adv_coeff"), &scalar(coefficient))?;
    // The coefficient is a constant: d final / d W = d main / d W + c * d adv / d W.
    let grads = final_loss.sum().backward();
    let (main, adversarial) = model.losses(w.clone(), b.clone());
    let expected_grads = (main.sum() + adversarial.sum().mul_scalar(coefficient)).backward();
    let (got, want) = (common::values(&w.grad(&grads).unwrap()).0, common::values(&w.grad(&expected_grads).unwrap()).0);
    for (g, e) in got.iter().zip(&want) {
        if (g - e).abs() > case.atol + case.rtol * e.abs() {
            return Err(format!("gradient of final_loss: {g} vs {e}"));
        }
    }
    Ok(())
}

#[test]
fn every_losses_case_matches_tfgan() {
    let file = load("losses.json");
    let functions: BTreeSet<&str> = file.cases.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(functions, FUNCTIONS.into_iter().collect::<BTreeSet<_>>(), "functions in losses.json");
    assert_eq!(file.cases.len(), 184, "number of cases in losses.json");
    run_all(&file, run_case);
}

#[test]
fn an_unknown_function_fails() {
    let file = load("losses.json");
    let mut case = file.cases[0].clone();
    case.function = "no_such_loss".to_string();
    let err = run_case(&case).unwrap_err();
    assert!(err.contains("unknown fn"), "{err}");
}

#[test]
fn a_corrupted_expected_value_fails_for_every_function() {
    let file = load("losses.json");
    assert_corruption_detected(&file, &FUNCTIONS, run_case);
}
