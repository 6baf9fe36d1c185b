//! rgan's features against TF-GAN's golden fixtures (`tests/fixtures/tfgan/features.json`).
//!
//! Every case is checked within its tolerances, through the functions and, where there is one,
//! the layer too. TF's NHWC cases are also run through rgan's NCHW path (transposed in and out).

use crate::common;

use std::collections::BTreeMap;

use burn::module::{Module, Param};
use burn::nn::conv::Conv2dConfig;
use burn::nn::{Linear, PaddingConfig2d};
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use common::{Case, FixtureTensor, values};
use rgan::features::*;
use rgan::rng::Rng;
use serde_json::Value;

type R = Result<(), String>;

fn device() -> Device {
    Device::default()
}

fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

fn check<const D: usize>(case: &Case, field: &str, got: &Tensor<D>, expected: &FixtureTensor) -> R {
    let (v, s) = values(got);
    case.check(field, &v, &s, expected)
}

fn check_field<const D: usize>(case: &Case, field: &str, got: &Tensor<D>) -> R {
    check(case, field, got, &case.expected_field(field)?)
}

fn check_whole<const D: usize>(case: &Case, label: &str, got: &Tensor<D>) -> R {
    check(case, label, got, &case.expected_tensor()?)
}

fn int_arg(case: &Case, name: &str) -> Result<usize, String> {
    let v = case.args.get(name).ok_or_else(|| format!("missing arg `{name}`"))?;
    v.as_u64().map(|v| v as usize).ok_or_else(|| format!("arg `{name}` is not a non-negative integer"))
}

fn isize_arg(case: &Case, name: &str, default: isize) -> Result<isize, String> {
    match case.args.get(name) {
        None => Ok(default),
        Some(v) => v.as_i64().map(|v| v as isize).ok_or_else(|| format!("arg `{name}` is not an integer")),
    }
}

fn tensor_list(value: Option<&Value>, name: &str) -> Result<Vec<FixtureTensor>, String> {
    value
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`{name}` is not a list"))?
        .iter()
        .map(FixtureTensor::parse)
        .collect()
}

fn optional<const D: usize>(case: &Case, name: &str, on: bool) -> Result<Option<Tensor<D>>, String> {
    if !on {
        return Ok(None);
    }
    Ok(Some(case.tensor_arg(name)?.tensor(&device())))
}

/// NHWC → NCHW and back, for rank 4.
const TO_NCHW: [usize; 4] = [0, 3, 1, 2];
const TO_NHWC: [usize; 4] = [0, 2, 3, 1];

// ---------------------------------------------------------------- spectral normalization

fn spectral_normalize_case(case: &Case) -> R {
    let dev = device();
    let w = case.tensor_arg("w")?;
    let u_init: Tensor<2> = case.tensor_arg("u_init")?.tensor(&dev);
    let options = SpectralNormOptions {
        power_iteration_rounds: int_arg(case, "power_iteration_rounds")?,
        equality_constrained: case.bool_arg("equality_constrained", true)?,
        training: case.bool_arg("training", true)?,
    };
    match w.shape.len() {
        2 => {
            let w: Tensor<2> = w.tensor(&dev);
            let out = spectral_normalize(w.clone(), u_init.clone(), &options).map_err(e)?;
            check_field(case, "w_normalized", &out.weight)?;
            check_field(case, "u_updated", &out.u)?;
            let sn = compute_spectral_norm(w.clone(), u_init.clone(), options.power_iteration_rounds).map_err(e)?;
            check_field(case, "spectral_norm_estimate", &sn.sigma)?;

            // The dense layer: same weight and u, same numbers.
            let layer = SpectralNormLinear::from_linear(
                Linear { weight: Param::from_tensor(w), bias: None },
                Some(u_init),
                options.power_iteration_rounds,
                options.equality_constrained,
            )
            .map_err(e)?;
            check_field(case, "spectral_norm_estimate", &layer.spectral_norm_estimate())?;
            let used = if options.training { layer.update_normalized_weight() } else { layer.normalized_weight() };
            check_field(case, "w_normalized", &used)?;
            check_field(case, "u_updated", &layer.u.value_sync())
        }
        4 => {
            let w: Tensor<4> = w.tensor(&dev);
            let out = spectral_normalize(w.clone(), u_init.clone(), &options).map_err(e)?;
            check_field(case, "w_normalized", &out.weight)?;
            check_field(case, "u_updated", &out.u)?;
            let sn = compute_spectral_norm(w, u_init.clone(), options.power_iteration_rounds).map_err(e)?;
            check_field(case, "spectral_norm_estimate", &sn.sigma)?;

            // burn's layout [out, in, kh, kw]: the function and the conv layer.
            let w_burn: Tensor<4> = case.tensor_arg("w_burn_layout_out_in_kh_kw")?.tensor(&dev);
            let field = "w_normalized_burn_layout_out_in_kh_kw";
            let out = spectral_normalize_conv2d(w_burn.clone(), u_init.clone(), &options).map_err(e)?;
            check_field(case, field, &out.weight)?;
            check_field(case, "u_updated", &out.u)?;
            check_field(case, "spectral_norm_estimate", &out.sigma)?;
            let [c_out, c_in, kh, kw] = w_burn.dims();
            let mut conv = Conv2dConfig::new([c_in, c_out], [kh, kw])
                .with_bias(false)
                .with_padding(PaddingConfig2d::Same)
                .init(&dev);
            conv.weight = Param::from_tensor(w_burn);
            let layer = SpectralNormConv2d::from_conv2d(
                conv,
                Some(u_init),
                options.power_iteration_rounds,
                options.equality_constrained,
            )
            .map_err(e)?;
            let used = if options.training { layer.update_normalized_weight() } else { layer.normalized_weight() };
            check_field(case, field, &used)?;
            check_field(case, "u_updated", &layer.u.value_sync())
        }
        rank => Err(format!("no spectral_normalize runner for a rank-{rank} weight")),
    }
}

// ---------------------------------------------------------------- virtual batch norm

fn vbn_rank<const D: usize>(case: &Case) -> R {
    let dev = device();
    let reference: Tensor<D> = case.tensor_arg("reference_batch")?.tensor(&dev);
    let inputs: Tensor<D> = case.tensor_arg("inputs")?.tensor(&dev);
    let gamma: Tensor<1> = case.tensor_arg("gamma")?.tensor(&dev);
    let beta: Tensor<1> = case.tensor_arg("beta")?.tensor(&dev);
    let vbn = VirtualBatchNorm {
        num_features: gamma.dims()[0],
        gamma: Some(Param::from_tensor(gamma)),
        beta: Some(Param::from_tensor(beta)),
        axis: isize_arg(case, "axis", -1)?,
        batch_axis: isize_arg(case, "batch_axis", 0)?,
        epsilon: case.f64_arg("epsilon", 1e-3)?,
    };
    let stats = vbn.reference_statistics(reference).map_err(e)?;
    check_field(case, "call_output", &vbn.forward(&stats, inputs).map_err(e)?)?;
    check_field(case, "reference_batch_normalization", &vbn.reference_batch_normalization(&stats).map_err(e)?)
}

fn vbn_case(case: &Case) -> R {
    match case.tensor_arg("inputs")?.shape.len() {
        2 => vbn_rank::<2>(case),
        4 => vbn_rank::<4>(case),
        rank => Err(format!("no VBN runner for rank {rank}")),
    }
}

// ---------------------------------------------------------------- instance and group norm

fn instance_norm_rank<const D: usize>(case: &Case) -> R {
    let dev = device();
    let inputs: Tensor<D> = case.tensor_arg("inputs")?.tensor(&dev);
    let gamma: Option<Tensor<1>> = optional(case, "gamma", case.bool_arg("scale", true)?)?;
    let beta: Option<Tensor<1>> = optional(case, "beta", case.bool_arg("center", true)?)?;
    let epsilon = case.f64_arg("epsilon", 1e-6)?;
    let data_format = match case.str_arg("data_format", "NHWC")? {
        "NHWC" => DataFormat::ChannelsLast,
        "NCHW" => DataFormat::ChannelsFirst,
        other => return Err(format!("unknown data_format {other}")),
    };
    let options = InstanceNormOptions { epsilon, data_format };
    let out = instance_norm(inputs, gamma, beta, &options).map_err(e)?;
    check_whole(case, "instance_norm", &out)?;

    Ok(())
}

/// rgan's NCHW layer on the same data (transposed for NHWC cases).
fn instance_norm_layer(case: &Case) -> R {
    let dev = device();
    let inputs: Tensor<4> = case.tensor_arg("inputs")?.tensor(&dev);
    let gamma: Option<Tensor<1>> = optional(case, "gamma", case.bool_arg("scale", true)?)?;
    let beta: Option<Tensor<1>> = optional(case, "beta", case.bool_arg("center", true)?)?;
    let nhwc = case.str_arg("data_format", "NHWC")? == "NHWC";
    let nchw = if nhwc { inputs.permute(TO_NCHW) } else { inputs };
    let mut layer = InstanceNormConfig::new(nchw.dims()[1])
        .with_epsilon(case.f64_arg("epsilon", 1e-6)?)
        .with_center(beta.is_some())
        .with_scale(gamma.is_some())
        .init(&dev);
    layer.gamma = gamma.map(Param::from_tensor);
    layer.beta = beta.map(Param::from_tensor);
    let out = layer.forward(nchw).map_err(e)?;
    let out = if nhwc { out.permute(TO_NHWC) } else { out };
    check_whole(case, "InstanceNorm layer (NCHW)", &out)
}

fn instance_norm_case(case: &Case) -> R {
    match case.tensor_arg("inputs")?.shape.len() {
        3 => instance_norm_rank::<3>(case),
        4 => instance_norm_rank::<4>(case).and_then(|()| instance_norm_layer(case)),
        rank => Err(format!("no instance_norm runner for rank {rank}")),
    }
}

fn group_norm_case(case: &Case) -> R {
    let dev = device();
    let inputs = case.tensor_arg("inputs")?;
    if inputs.shape.len() != 4 {
        return Err(format!("no group_norm runner for rank {}", inputs.shape.len()));
    }
    let inputs: Tensor<4> = inputs.tensor(&dev);
    let groups = int_arg(case, "groups")?;
    let gamma: Option<Tensor<1>> = optional(case, "gamma", case.bool_arg("scale", true)?)?;
    let beta: Option<Tensor<1>> = optional(case, "beta", case.bool_arg("center", true)?)?;
    let channels_axis = isize_arg(case, "channels_axis", -1)?;
    let reduction_axes: Vec<isize> = match case.args.get("reduction_axes") {
        None => vec![-3, -2],
        Some(v) => v
            .as_array()
            .ok_or("`reduction_axes` is not a list")?
            .iter()
            .map(|a| a.as_i64().map(|a| a as isize).ok_or("bad axis"))
            .collect::<Result<_, _>>()?,
    };
    let options = GroupNormOptions {
        channels_axis,
        reduction_axes: Some(reduction_axes.clone()),
        epsilon: case.f64_arg("epsilon", 1e-6)?,
        mean_close_to_zero: case.bool_arg("mean_close_to_zero", false)?,
    };
    let out = group_norm(inputs.clone(), groups, gamma.clone(), beta.clone(), &options).map_err(e)?;
    check_whole(case, "group_norm", &out)?;

    // rgan's NCHW layer (channel axis 1, spatial axes reduced) on the same data.
    let nhwc = channels_axis == -1 && reduction_axes == [-3, -2];
    let nchw_layout = channels_axis == 1 && reduction_axes == [2, 3];
    if nhwc || nchw_layout {
        let x = if nhwc { inputs.permute(TO_NCHW) } else { inputs };
        let mut layer = GroupNormConfig::new(groups, x.dims()[1])
            .with_epsilon(options.epsilon)
            .with_mean_close_to_zero(options.mean_close_to_zero)
            .init(&dev)
            .map_err(e)?;
        layer.gamma = gamma.map(Param::from_tensor);
        layer.beta = beta.map(Param::from_tensor);
        let out = layer.forward(x).map_err(e)?;
        let out = if nhwc { out.permute(TO_NHWC) } else { out };
        check_whole(case, "GroupNorm layer (NCHW)", &out)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- conditioning

fn dense(case: &Case) -> Result<Linear, String> {
    let dev = device();
    Ok(Linear {
        weight: Param::from_tensor(case.tensor_arg("dense_kernel")?.tensor(&dev)),
        bias: Some(Param::from_tensor(case.tensor_arg("dense_bias")?.tensor(&dev))),
    })
}

fn condition_rank<const D: usize, const C: usize>(case: &Case) -> R {
    let dev = device();
    let tensor: Tensor<D> = case.tensor_arg("tensor")?.tensor(&dev);
    let conditioning: Tensor<C> = case.tensor_arg("conditioning")?.tensor(&dev);
    let kernel: Tensor<2> = case.tensor_arg("dense_kernel")?.tensor(&dev);
    let bias: Tensor<1> = case.tensor_arg("dense_bias")?.tensor(&dev);
    let out = condition_tensor(tensor.clone(), conditioning.clone(), kernel, bias).map_err(e)?;
    check_whole(case, "condition_tensor", &out)?;
    let layer = ConditionTensor { dense: dense(case)? };
    check_whole(case, "ConditionTensor layer", &layer.forward(tensor, conditioning).map_err(e)?)
}

fn condition_tensor_case(case: &Case) -> R {
    let ranks = (case.tensor_arg("tensor")?.shape.len(), case.tensor_arg("conditioning")?.shape.len());
    match ranks {
        (2, 2) => condition_rank::<2, 2>(case),
        (4, 2) => condition_rank::<4, 2>(case),
        (2, 3) => condition_rank::<2, 3>(case),
        (t, c) => Err(format!("no condition_tensor runner for ranks ({t}, {c})")),
    }
}

fn onehot_rank<const D: usize>(case: &Case) -> R {
    let dev = device();
    let tensor: Tensor<D> = case.tensor_arg("tensor")?.tensor(&dev);
    let labels: Tensor<2> = case.tensor_arg("one_hot_labels")?.tensor(&dev);
    let embedding: Tensor<2> = case.tensor_arg("embedding")?.tensor(&dev);
    let embedding_size = int_arg(case, "embedding_size")?;
    if embedding.dims()[1] != embedding_size {
        return Err(format!("embedding {:?} is not {embedding_size} wide", embedding.dims()));
    }
    let kernel: Tensor<2> = case.tensor_arg("dense_kernel")?.tensor(&dev);
    let bias: Tensor<1> = case.tensor_arg("dense_bias")?.tensor(&dev);
    let out =
        condition_tensor_from_onehot(tensor.clone(), labels.clone(), embedding.clone(), kernel, bias).map_err(e)?;
    check_whole(case, "condition_tensor_from_onehot", &out)?;
    let layer = ConditionTensorFromOnehot {
        embedding: Param::from_tensor(embedding),
        condition: ConditionTensor { dense: dense(case)? },
    };
    check_whole(case, "ConditionTensorFromOnehot layer", &layer.forward(tensor, labels).map_err(e)?)
}

fn condition_tensor_from_onehot_case(case: &Case) -> R {
    match case.tensor_arg("tensor")?.shape.len() {
        2 => onehot_rank::<2>(case),
        4 => onehot_rank::<4>(case),
        rank => Err(format!("no condition_tensor_from_onehot runner for rank {rank}")),
    }
}

// ---------------------------------------------------------------- clipping

#[derive(Module, Debug)]
struct Variables {
    matrix: Param<Tensor<2>>,
    vector: Param<Tensor<1>>,
}

fn clip_variables_case(case: &Case) -> R {
    if case.str_arg("optimizer", "GradientDescent")? != "GradientDescent" {
        return Err("only the GradientDescent wrapped optimizer is covered".into());
    }
    let dev = device().autodiff();
    let vars = tensor_list(case.args.get("variables"), "variables")?;
    let grads = tensor_list(case.args.get("gradients"), "gradients")?;
    let expected = tensor_list(case.expected.get("variables_after_one_step"), "variables_after_one_step")?;
    if vars.len() != 2 || grads.len() != 2 || expected.len() != 2 {
        return Err("expected two variables (a matrix and a vector)".into());
    }
    let module = Variables {
        matrix: Param::from_tensor(vars[0].tensor::<2>(&dev)),
        vector: Param::from_tensor(vars[1].tensor::<1>(&dev)),
    };
    // A loss whose gradient is exactly the given gradients: sum(v * g).
    let loss = (module.matrix.val() * grads[0].tensor::<2>(&dev)).sum()
        + (module.vector.val() * grads[1].tensor::<1>(&dev)).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &module);
    let mut sgd = SgdConfig::new().init();
    let module = sgd.step(case.f64_arg("learning_rate", 0.01)?, module, grads);
    let module = clip_variables(module, case.f64_arg("weight_clip", 0.01)?).map_err(e)?;
    check(case, "variables_after_one_step[0]", &module.matrix.val(), &expected[0])?;
    check(case, "variables_after_one_step[1]", &module.vector.val(), &expected[1])
}

// ---------------------------------------------------------------- tensor pool

fn tensor_pool_case(case: &Case) -> R {
    let dev = device();
    let inputs = tensor_list(case.args.get("input_sequence"), "input_sequence")?;
    let expected = tensor_list(case.expected.get("output_sequence"), "output_sequence")?;
    if inputs.len() != expected.len() {
        return Err(format!("{} inputs but {} expected outputs", inputs.len(), expected.len()));
    }
    let mut pool =
        TensorPool::new(int_arg(case, "pool_size")?, case.f64_arg("pooling_probability", 0.5)?, Rng::seed_from_u64(0))
            .map_err(e)?;
    for (i, (input, want)) in inputs.iter().zip(&expected).enumerate() {
        if input.shape.len() != 2 {
            return Err("only rank-2 pooled tensors are covered".into());
        }
        let got = pool.pool(input.tensor::<2>(&dev)).map_err(e)?;
        check(case, &format!("output_sequence[{i}]"), &got, want)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- dispatcher

fn run_case(case: &Case) -> R {
    match case.function.as_str() {
        "spectral_normalize" => spectral_normalize_case(case),
        "VBN" => vbn_case(case),
        "instance_norm" => instance_norm_case(case),
        "group_norm" => group_norm_case(case),
        "condition_tensor" => condition_tensor_case(case),
        "condition_tensor_from_onehot" => condition_tensor_from_onehot_case(case),
        "clip_variables" => clip_variables_case(case),
        "tensor_pool" => tensor_pool_case(case),
        other => Err(format!("no runner for TF-GAN function `{other}`")),
    }
}

#[test]
fn every_features_case_matches_tfgan() {
    let file = common::load("features.json");
    common::run_all(&file, run_case);
}

#[test]
fn the_file_holds_the_expected_cases() {
    let file = common::load("features.json");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &file.cases {
        *counts.entry(case.function.as_str()).or_default() += 1;
    }
    let expected: BTreeMap<&str, usize> = [
        ("spectral_normalize", 9),
        ("VBN", 4),
        ("instance_norm", 5),
        ("group_norm", 7),
        ("condition_tensor", 3),
        ("condition_tensor_from_onehot", 2),
        ("clip_variables", 2),
        ("tensor_pool", 3),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
}

#[test]
fn an_unknown_function_fails() {
    let file = common::load("features.json");
    let mut case = file.cases[0].clone();
    case.function = "no_such_feature".into();
    let err = run_case(&case).unwrap_err();
    assert!(err.contains("no_such_feature"), "{err}");
}

/// `case` with the first number of `expected[field][index]` (a list of tensors) changed.
fn corrupt_list(case: &Case, field: &str, index: usize) -> Case {
    let mut case = case.clone();
    let data = case.expected[field][index]["data"].as_array_mut().expect("tensor data");
    let first = data[0].as_f64().expect("number");
    data[0] = Value::from(first + 1.0 + first.abs());
    case
}

/// Every expected value of every case is really compared: corrupting any one of them (the first
/// number of each expected tensor) makes that case fail.
#[test]
fn a_corrupted_expected_value_fails_every_case() {
    let file = common::load("features.json");
    let mut checked = 0;
    for case in &file.cases {
        assert!(run_case(case).is_ok(), "{} should pass before corruption", case.name);
        let corrupted: Vec<(String, Case)> = match &case.expected {
            Value::Object(fields) if !fields.contains_key("data") => fields
                .iter()
                .flat_map(|(field, value)| match value {
                    Value::Array(list) => (0..list.len())
                        .map(|i| (format!("{field}[{i}]"), corrupt_list(case, field, i)))
                        .collect::<Vec<_>>(),
                    _ => vec![(field.clone(), common::corrupt_expected(case, Some(field)))],
                })
                .collect(),
            _ => vec![("expected".to_string(), common::corrupt_expected(case, None))],
        };
        for (what, bad) in corrupted {
            assert!(run_case(&bad).is_err(), "{}: corrupting {what} went unnoticed", case.name);
            checked += 1;
        }
    }
    assert!(checked >= file.cases.len());
}

/// The meta-test above, through the same runner `run_all` uses.
#[test]
#[should_panic(expected = "fixture cases failed")]
fn run_all_fails_on_a_corrupted_case() {
    let mut file = common::load("features.json");
    let index = file.cases.iter().position(|c| c.function == "group_norm").unwrap();
    file.cases[index] = common::corrupt_expected(&file.cases[index], None);
    common::run_all(&file, run_case);
}

#[test]
fn unused_runners_reject_unsupported_shapes() {
    // Spectral normalization with a rank-3 weight has no runner: a clear error, not a panic.
    let file = common::load("features.json");
    let mut case = file.cases.iter().find(|c| c.function == "spectral_normalize").unwrap().clone();
    case.args.insert("w".into(), serde_json::json!({"shape": [1, 1, 1], "dtype": "float32", "data": [1.0]}));
    assert!(run_case(&case).unwrap_err().contains("rank-3"));
}
