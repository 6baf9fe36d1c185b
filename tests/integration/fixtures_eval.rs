//! Checks every case of TF-GAN's `eval.json` against `rgan::eval`.

use crate::common;

use std::collections::BTreeSet;

use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use common::{Case, FixtureTensor, assert_corruption_detected, load, run_all};
use rgan::eval::*;
use serde_json::Value;

/// The 11 TF-GAN functions `eval.json` covers.
const FUNCTIONS: [&str; 11] = [
    "classifier_score_from_logits",
    "classifier_score_from_logits_streaming",
    "frechet_classifier_distance_from_activations",
    "diagonal_only_frechet_classifier_distance_from_activations",
    "mean_only_frechet_classifier_distance_from_activations",
    "trace_sqrt_product",
    "kernel_classifier_distance_and_std_from_activations",
    "kernel_classifier_distance_from_activations",
    "image_grid",
    "python_image_grid",
    "image_reshaper",
];

/// A fixture tensor as a burn tensor in the fixture's own float dtype (float64 stays float64).
fn to_tensor<const D: usize>(t: &FixtureTensor, device: &Device) -> Result<Tensor<D>, String> {
    if t.shape.len() != D {
        return Err(format!("tensor of rank {} where rank {D} was expected", t.shape.len()));
    }
    Ok(if t.is_f64() {
        Tensor::from_data(TensorData::new(t.data.clone(), t.shape.clone()), (device, DType::F64))
    } else {
        let data: Vec<f32> = t.data.iter().map(|&v| v as f32).collect();
        Tensor::from_data(TensorData::new(data, t.shape.clone()), (device, DType::F32))
    })
}

fn tensor_arg<const D: usize>(case: &Case, name: &str, device: &Device) -> Result<Tensor<D>, String> {
    to_tensor(&case.tensor_arg(name)?, device).map_err(|e| format!("arg `{name}`: {e}"))
}

/// A `[a, b]` list argument (`grid_shape`, `image_shape`).
fn pair_arg(case: &Case, name: &str) -> Result<[usize; 2], String> {
    let v = case.args.get(name).and_then(Value::as_array).ok_or_else(|| format!("missing list arg `{name}`"))?;
    let items: Vec<usize> =
        v.iter().map(|x| x.as_u64().map(|x| x as usize)).collect::<Option<_>>().ok_or("bad list")?;
    items.try_into().map_err(|_| format!("arg `{name}` is not a pair"))
}

/// An optional unsigned integer argument (`null` or absent gives None).
fn opt_usize_arg(case: &Case, name: &str) -> Result<Option<usize>, String> {
    match case.args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(|x| Some(x as usize)).ok_or_else(|| format!("arg `{name}` is not an integer")),
    }
}

/// Checks a scalar result against `expected` (or `expected[field]`).
fn check_scalar(case: &Case, field: Option<&str>, got: f64) -> Result<(), String> {
    let expected = match field {
        Some(f) => case.expected_field(f)?,
        None => case.expected_tensor()?,
    };
    case.check(field.unwrap_or("value"), &[got], &[], &expected)
}

fn check_tensor<const D: usize>(case: &Case, got: &Tensor<D>) -> Result<(), String> {
    let (values, shape) = common::values(got);
    case.check("value", &values, &shape, &case.expected_tensor()?)
}

fn err(e: rgan::RganError) -> String {
    e.to_string()
}

fn run_case(case: &Case) -> Result<(), String> {
    let device = Device::default();
    let d = &device;
    match case.function.as_str() {
        "classifier_score_from_logits" => {
            let logits = tensor_arg::<2>(case, "logits", d)?;
            check_scalar(case, None, classifier_score_from_logits(&logits).map_err(err)?)
        }
        "classifier_score_from_logits_streaming" => {
            let chunks = case.args.get("logits_chunks").and_then(Value::as_array).ok_or("missing `logits_chunks`")?;
            let mut streaming = ClassifierScoreStreaming::new();
            for chunk in chunks {
                let t = to_tensor::<2>(&FixtureTensor::parse(chunk)?, d)?;
                streaming.update(&t).map_err(err)?;
            }
            check_scalar(case, None, streaming.value().map_err(err)?)
        }
        "frechet_classifier_distance_from_activations"
        | "diagonal_only_frechet_classifier_distance_from_activations"
        | "mean_only_frechet_classifier_distance_from_activations" => {
            let a1 = tensor_arg::<2>(case, "activations1", d)?;
            let a2 = tensor_arg::<2>(case, "activations2", d)?;
            let got = match case.function.as_str() {
                "frechet_classifier_distance_from_activations" => {
                    frechet_classifier_distance_from_activations(&a1, &a2)
                }
                "diagonal_only_frechet_classifier_distance_from_activations" => {
                    diagonal_only_frechet_classifier_distance_from_activations(&a1, &a2)
                }
                _ => mean_only_frechet_classifier_distance_from_activations(&a1, &a2),
            }
            .map_err(err)?;
            check_scalar(case, None, got)
        }
        "trace_sqrt_product" => {
            let s = tensor_arg::<2>(case, "sigma", d)?;
            let v = tensor_arg::<2>(case, "sigma_v", d)?;
            check_scalar(case, None, trace_sqrt_product(&s, &v).map_err(err)?)
        }
        "kernel_classifier_distance_and_std_from_activations" | "kernel_classifier_distance_from_activations" => {
            let a1 = tensor_arg::<2>(case, "activations1", d)?;
            let a2 = tensor_arg::<2>(case, "activations2", d)?;
            let block = case.f64_arg("max_block_size", DEFAULT_MAX_BLOCK_SIZE as f64)? as usize;
            // `dtype` only casts the inputs; rgan always computes in f64.
            match case.args.get("dtype") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s == "float64" || s == "float32" => {}
                Some(other) => return Err(format!("unknown dtype {other}")),
            }
            if case.function == "kernel_classifier_distance_from_activations" {
                let got = kernel_classifier_distance_from_activations(&a1, &a2, block).map_err(err)?;
                check_scalar(case, None, got)
            } else {
                let (distance, std) =
                    kernel_classifier_distance_and_std_from_activations(&a1, &a2, block).map_err(err)?;
                check_scalar(case, Some("distance"), distance)?;
                check_scalar(case, Some("std"), std)
            }
        }
        "image_grid" => {
            let grid = pair_arg(case, "grid_shape")?;
            let image = pair_arg(case, "image_shape")?;
            let channels = case.f64_arg("num_channels", 3.0)? as usize;
            let got = match case.tensor_arg("input_tensor")?.shape.len() {
                2 => image_grid(&tensor_arg::<2>(case, "input_tensor", d)?, grid, image, channels),
                4 => image_grid(&tensor_arg::<4>(case, "input_tensor", d)?, grid, image, channels),
                r => return Err(format!("input_tensor of rank {r}")),
            }
            .map_err(err)?;
            check_tensor(case, &got)
        }
        "python_image_grid" => {
            let input = case.tensor_arg("input_array")?;
            let shape: [usize; 4] = input.shape.clone().try_into().map_err(|_| "input_array is not 4-D")?;
            let (got, got_shape) = python_image_grid(&input.data, shape, pair_arg(case, "grid_shape")?).map_err(err)?;
            case.check("value", &got, &got_shape, &case.expected_tensor()?)
        }
        "image_reshaper" => {
            let images = tensor_arg::<4>(case, "images", d)?;
            let got = image_reshaper(&images, opt_usize_arg(case, "num_cols")?).map_err(err)?;
            check_tensor(case, &got)
        }
        other => Err(format!("unknown fn {other:?}")),
    }
}

#[test]
fn every_eval_case_matches_tfgan() {
    let file = load("eval.json");
    let functions: BTreeSet<&str> = file.cases.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(functions, FUNCTIONS.into_iter().collect::<BTreeSet<_>>(), "functions in eval.json");
    assert_eq!(file.cases.len(), 39, "number of cases in eval.json");
    run_all(&file, run_case);
}

#[test]
fn an_unknown_function_fails() {
    let file = load("eval.json");
    let mut case = file.cases[0].clone();
    case.function = "no_such_metric".to_string();
    let err = run_case(&case).unwrap_err();
    assert!(err.contains("unknown fn"), "{err}");
}

#[test]
fn a_corrupted_expected_value_fails_for_every_function() {
    let file = load("eval.json");
    assert_corruption_detected(&file, &FUNCTIONS, run_case);
}

/// The streaming Fréchet distance fed in uneven batches equals the batch function.
#[test]
fn streaming_frechet_matches_the_batch_function() {
    let file = load("eval.json");
    let device = Device::default();
    let case = file
        .cases
        .iter()
        .find(|c| c.name == "frechet_classifier_distance_from_activations/40x16_vs_25x16_f64")
        .expect("case");
    let a1 = tensor_arg::<2>(case, "activations1", &device).unwrap();
    let a2 = tensor_arg::<2>(case, "activations2", &device).unwrap();
    let batch = frechet_classifier_distance_from_activations(&a1, &a2).unwrap();
    let mut s = FrechetClassifierDistanceStreaming::new();
    for (r1, r2) in [(0..7, 0..3), (7..8, 3..20), (8..40, 20..25)] {
        s.update(&a1.clone().slice([r1, 0..16]), &a2.clone().slice([r2, 0..16])).unwrap();
    }
    let streamed = s.value().unwrap();
    assert!((streamed - batch).abs() <= 1e-10 * batch.abs(), "{streamed} vs {batch}");
    // And the expected number itself.
    check_scalar(case, None, streamed).unwrap();
}
