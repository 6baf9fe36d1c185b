//! Every case of TF-GAN's `gradient_penalty.json`: WGAN-GP and R1 on three critics, with the
//! exact double-backprop weight gradients.

use crate::common;

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LeakyRelu, LeakyReluConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::DType;
use common::{Case, FixtureTensor};
use rgan::losses::{Reduction, Weights};
use rgan::penalties::{
    CriticLayer, Flatten, GradientPenaltyOptions, LayerNorm, LayerNormConfig, SequentialCritic, r1_penalty,
    wasserstein_gradient_penalty_with_alpha,
};
use serde_json::Value;

/// The critics' parameters, as named in the fixture, on the autodiff device in `dtype`.
struct Params<'a> {
    values: &'a serde_json::Map<String, Value>,
    dtype: DType,
    device: Device,
}

impl Params<'_> {
    fn get<const D: usize>(&self, name: &str) -> Param<Tensor<D>> {
        let t = FixtureTensor::parse(&self.values[name]).expect("critic param");
        Param::from_tensor(t.tensor::<D>(&self.device).cast(self.dtype).require_grad())
    }
}

fn linear(p: &Params, w: &str, b: &str) -> Linear {
    let weight = p.get::<2>(w);
    let [i, o] = weight.dims();
    let mut l = LinearConfig::new(i, o).init(&p.device);
    l.weight = weight;
    l.bias = Some(p.get::<1>(b));
    l
}

fn conv(p: &Params, k: &str, c: &str) -> Conv2d {
    let weight = p.get::<4>(k);
    let [o, i, kh, kw] = weight.dims();
    let mut conv =
        Conv2dConfig::new([i, o], [kh, kw]).with_stride([2, 2]).with_padding(PaddingConfig2d::Same).init(&p.device);
    conv.weight = weight;
    conv.bias = Some(p.get::<1>(c));
    conv
}

fn leaky() -> LeakyRelu {
    LeakyReluConfig::new().with_negative_slope(0.2).init()
}

#[derive(Module, Debug)]
struct MlpLeaky {
    l1: Linear,
    act: LeakyRelu,
    l2: Linear,
}

impl SequentialCritic for MlpLeaky {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        vec![&self.l1, &self.act, &self.l2]
    }
}

#[derive(Module, Debug)]
struct ConvLeaky {
    c1: Conv2d,
    act: LeakyRelu,
    c2: Conv2d,
    flatten: Flatten,
    dense: Linear,
}

impl SequentialCritic for ConvLeaky {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        vec![&self.c1, &self.act, &self.c2, &self.flatten, &self.dense]
    }
}

#[derive(Module, Debug)]
struct MlpLayerNorm {
    l1: Linear,
    norm: LayerNorm,
    act: LeakyRelu,
    l2: Linear,
}

impl SequentialCritic for MlpLayerNorm {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        vec![&self.l1, &self.norm, &self.act, &self.l2]
    }
}

/// A critic of the fixture and its parameters by fixture name.
enum Critic {
    Mlp(MlpLeaky),
    Conv(ConvLeaky),
    LayerNorm(MlpLayerNorm),
}

impl Critic {
    fn build(root: &Value, name: &str, dtype: DType, device: &Device) -> Result<Self, String> {
        let spec = root["critics"].get(name).ok_or_else(|| format!("unknown critic {name:?}"))?;
        let key = if name == "conv_leaky" { "params_nchw_float64" } else { "params_float64" };
        let values = spec[key].as_object().ok_or("critic without params")?;
        let p = Params { values, dtype, device: device.clone() };
        Ok(match name {
            "mlp_leaky" => {
                Critic::Mlp(MlpLeaky { l1: linear(&p, "W1", "b1"), act: leaky(), l2: linear(&p, "W2", "b2") })
            }
            "conv_leaky" => Critic::Conv(ConvLeaky {
                c1: conv(&p, "K1", "c1"),
                act: leaky(),
                c2: conv(&p, "K2", "c2"),
                flatten: Flatten,
                dense: linear(&p, "Wd", "bd"),
            }),
            "mlp_layernorm" => {
                let mut norm = LayerNormConfig::new(8).with_epsilon(1e-5).init(device);
                norm.gamma = p.get::<1>("gamma");
                norm.beta = p.get::<1>("beta");
                Critic::LayerNorm(MlpLayerNorm {
                    l1: linear(&p, "W1", "b1"),
                    norm,
                    act: leaky(),
                    l2: linear(&p, "W2", "b2"),
                })
            }
            other => return Err(format!("unknown critic {other:?}")),
        })
    }

    fn as_layer(&self) -> &dyn CriticLayer {
        match self {
            Critic::Mlp(c) => c,
            Critic::Conv(c) => c,
            Critic::LayerNorm(c) => c,
        }
    }

    /// Parameter tensors by fixture name, as f64 values with shapes, after a backward pass.
    fn param_grads(&self, grads: &burn::tensor::Gradients) -> Vec<(&'static str, Vec<f64>, Vec<usize>)> {
        fn g<const D: usize>(
            name: &'static str,
            p: &Param<Tensor<D>>,
            grads: &burn::tensor::Gradients,
        ) -> (&'static str, Vec<f64>, Vec<usize>) {
            let v = p.val();
            let grad = v.grad(grads).unwrap_or_else(|| v.zeros_like().inner());
            let (data, shape) = common::values(&grad);
            (name, data, shape)
        }
        let bias = |l: &Linear| l.bias.clone().expect("bias");
        match self {
            Critic::Mlp(c) => vec![
                g("W1", &c.l1.weight, grads),
                g("b1", &bias(&c.l1), grads),
                g("W2", &c.l2.weight, grads),
                g("b2", &bias(&c.l2), grads),
            ],
            Critic::Conv(c) => vec![
                g("K1", &c.c1.weight, grads),
                g("c1", c.c1.bias.as_ref().expect("bias"), grads),
                g("K2", &c.c2.weight, grads),
                g("c2", c.c2.bias.as_ref().expect("bias"), grads),
                g("Wd", &c.dense.weight, grads),
                g("bd", &bias(&c.dense), grads),
            ],
            Critic::LayerNorm(c) => vec![
                g("W1", &c.l1.weight, grads),
                g("b1", &bias(&c.l1), grads),
                g("gamma", &c.norm.gamma, grads),
                g("beta", &c.norm.beta, grads),
                g("W2", &c.l2.weight, grads),
                g("b2", &bias(&c.l2), grads),
            ],
        }
    }
}

fn check_param_grads(case: &Case, critic: &Critic, grads: &burn::tensor::Gradients) -> Result<(), String> {
    let field = if case.expected.get("param_grads_nchw").is_some() { "param_grads_nchw" } else { "param_grads" };
    let expected = case.expected.get(field).and_then(Value::as_object).ok_or("no expected param_grads")?;
    let got = critic.param_grads(grads);
    if got.len() != expected.len() {
        return Err(format!("{} parameter gradients, expected {}", got.len(), expected.len()));
    }
    let (rtol, atol) = case.tolerances("param_grads");
    for (name, data, shape) in got {
        let exp = FixtureTensor::parse(&expected[name]).map_err(|e| format!("{field}.{name}: {e}"))?;
        common::check_close(&format!("{field}.{name}"), &data, &shape, &exp, rtol, atol)?;
    }
    Ok(())
}

/// The `*_nchw` variant of an argument when the case has one.
fn data_arg(case: &Case, name: &str) -> Result<FixtureTensor, String> {
    case.tensor_arg(&format!("{name}_nchw")).or_else(|_| case.tensor_arg(name))
}

/// Values in the fixture's layout: feature maps go back to NHWC.
fn nhwc_values<const D: usize>(t: Tensor<D>) -> (Vec<f64>, Vec<usize>) {
    if D == 4 {
        let dims = t.dims();
        let t4: Tensor<4> = t.reshape([dims[0], dims[1], dims[2], dims[3]]);
        common::values(&t4.permute([0, 2, 3, 1]))
    } else {
        common::values(&t)
    }
}

fn run_case(root: &Value, case: &Case) -> Result<(), String> {
    let device = Device::default().autodiff();
    let real = data_arg(case, "real_data")?;
    let dtype = if real.is_f64() { DType::F64 } else { DType::F32 };
    let critic_name = case.str_arg("critic", "")?;
    let critic = Critic::build(root, critic_name, dtype, &device)?;
    match case.function.as_str() {
        "wasserstein_gradient_penalty" => {
            let generated = data_arg(case, "generated_data")?;
            let alpha = data_arg(case, "alpha")?;
            let weights = match case.args.get("weights") {
                None => Weights::default(),
                Some(Value::Number(n)) => Weights::Scalar(n.as_f64().ok_or("weights")?),
                Some(_) => Weights::Tensor(case.tensor_arg("weights")?.tensor::<1>(&device)),
            };
            let options = GradientPenaltyOptions {
                epsilon: case.f64_arg("epsilon", 1e-10)?,
                target: case.f64_arg("target", 1.0)?,
                one_sided: case.bool_arg("one_sided", false)?,
                weights,
                reduction: Reduction::from_tf_name(case.str_arg("reduction", "weighted_sum_by_nonzero_weights")?)
                    .map_err(|e| e.to_string())?,
            };
            macro_rules! run {
                ($d:literal) => {{
                    let gp = wasserstein_gradient_penalty_with_alpha(
                        critic.as_layer(),
                        real.tensor::<$d>(&device),
                        generated.tensor::<$d>(&device),
                        alpha.tensor::<$d>(&device),
                        None,
                        &options,
                    )
                    .map_err(|e| e.to_string())?;
                    let (v, s) = common::values(&gp.penalty);
                    case.check("penalty", &v, &s, &case.expected_field("penalty")?)?;
                    // Interpolates are compared in the fixture's own layout (NHWC for conv).
                    let (v, s) = nhwc_values(gp.interpolates.clone());
                    case.check("interpolates", &v, &s, &case.expected_field("interpolates")?)?;
                    let (v, s) = common::values(&gp.slopes);
                    case.check("slopes", &v, &s, &case.expected_field("slopes")?)?;
                    let grads = gp.penalty.sum().backward();
                    check_param_grads(case, &critic, &grads)
                }};
            }
            if real.shape.len() == 4 { run!(4) } else { run!(2) }
        }
        "r1_penalty" => {
            let gamma = case.f64_arg("gamma", 10.0)?;
            macro_rules! run {
                ($d:literal) => {{
                    let r1 = r1_penalty(critic.as_layer(), real.tensor::<$d>(&device), None, gamma)
                        .map_err(|e| e.to_string())?;
                    let (v, s) = common::values(&r1.penalty);
                    case.check("r1_penalty", &v, &s, &case.expected_field("r1_penalty")?)?;
                    let (v, s) = common::values(&r1.per_example_grad_sq_norm.clone().mean());
                    case.check("mean_grad_sq_norm", &v, &s, &case.expected_field("mean_grad_sq_norm")?)?;
                    let (v, s) = common::values(&r1.per_example_grad_sq_norm);
                    case.check("per_example_grad_sq_norm", &v, &s, &case.expected_field("per_example_grad_sq_norm")?)?;
                    let grads = r1.penalty.backward();
                    check_param_grads(case, &critic, &grads)
                }};
            }
            if real.shape.len() == 4 { run!(4) } else { run!(2) }
        }
        other => Err(format!("unknown fn {other:?} in gradient_penalty.json")),
    }
}

#[test]
fn every_gradient_penalty_case_matches_tfgan() {
    let file = common::load("gradient_penalty.json");
    common::run_all(&file, |case| run_case(&file.root, case));
}

#[test]
fn unknown_function_fails() {
    let file = common::load("gradient_penalty.json");
    let mut case = file.cases[0].clone();
    case.function = "no_such_penalty".into();
    assert!(run_case(&file.root, &case).unwrap_err().contains("unknown fn"));
}

#[test]
fn a_wrong_expected_value_fails() {
    let file = common::load("gradient_penalty.json");
    for field in ["penalty", "slopes", "interpolates"] {
        let case = file.cases.iter().find(|c| c.function == "wasserstein_gradient_penalty").expect("a WGAN-GP case");
        let bad = common::corrupt_expected(case, Some(field));
        assert!(run_case(&file.root, &bad).is_err(), "a corrupted `{field}` was not detected");
    }
    let case = file.cases.iter().find(|c| c.function == "r1_penalty").expect("an R1 case");
    assert!(run_case(&file.root, &common::corrupt_expected(case, Some("r1_penalty"))).is_err());
    // A corrupted parameter gradient is detected too.
    let mut bad = file.cases[0].clone();
    let grads = bad.expected.get_mut("param_grads").and_then(|g| g.get_mut("W1")).expect("W1 grad");
    let data = grads["data"].as_array_mut().expect("data");
    data[0] = Value::from(data[0].as_f64().expect("number") + 1.0);
    assert!(run_case(&file.root, &bad).is_err(), "a corrupted weight gradient was not detected");
}
