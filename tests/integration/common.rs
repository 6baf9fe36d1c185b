//! Shared helpers for the tests that check rgan against TF-GAN's golden fixtures.
//!
//! The fixtures live in `tests/fixtures/tfgan/` (copied from `../shared/fixtures/tfgan`); set
//! `RGAN_TFGAN_FIXTURES` to read another directory. Every case is checked elementwise with
//! `|got - expected| <= atol + rtol * |expected|`, NaN matching only NaN.
#![allow(dead_code, deprecated)]

use std::path::PathBuf;

use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use serde_json::Value;

/// A fresh, empty directory named `rgan-{name}-…`, removed with everything in it when it drops
/// (also when a test fails).
pub fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("rgan-{name}-")).tempdir().unwrap()
}

/// The directory the fixture files are read from.
pub fn fixture_dir() -> PathBuf {
    match std::env::var_os("RGAN_TFGAN_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tfgan"),
    }
}

/// One fixture file, parsed.
pub struct FixtureFile {
    pub root: Value,
    pub cases: Vec<Case>,
}

/// One case of a fixture file.
#[derive(Clone)]
pub struct Case {
    pub name: String,
    pub function: String,
    pub args: serde_json::Map<String, Value>,
    pub expected: Value,
    pub rtol: f64,
    pub atol: f64,
    pub field_tolerances: serde_json::Map<String, Value>,
}

/// Reads `name` (e.g. `losses.json`) from [`fixture_dir`]; panics with the path when unreadable.
pub fn load(name: &str) -> FixtureFile {
    load_path(&fixture_dir().join(name))
}

/// Reads the fixture file at `path`; panics with the path when unreadable.
pub fn load_path(path: &std::path::Path) -> FixtureFile {
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read fixture file {}: {e}", path.display()));
    let root: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture file {} is not JSON: {e}", path.display()));
    let cases = root["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("fixture file {} has no `cases` array", path.display()))
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("case name").to_string(),
            function: c["fn"].as_str().expect("case fn").to_string(),
            args: c["args"].as_object().cloned().unwrap_or_default(),
            expected: c["expected"].clone(),
            rtol: c["rtol"].as_f64().expect("case rtol"),
            atol: c["atol"].as_f64().expect("case atol"),
            field_tolerances: c.get("field_tolerances").and_then(|v| v.as_object().cloned()).unwrap_or_default(),
        })
        .collect();
    FixtureFile { root, cases }
}

/// A tensor stored in a fixture: shape, dtype name and row-major values (as f64).
#[derive(Clone, Debug)]
pub struct FixtureTensor {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub data: Vec<f64>,
}

impl FixtureTensor {
    /// Parses `{"shape", "dtype", "data"}`; `"NaN"`, `"Infinity"`, `"-Infinity"` are accepted.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let obj = value.as_object().ok_or_else(|| format!("not a tensor: {value}"))?;
        let shape = obj
            .get("shape")
            .and_then(Value::as_array)
            .ok_or("tensor without shape")?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize).ok_or("bad dim"))
            .collect::<Result<Vec<_>, _>>()?;
        let dtype = obj.get("dtype").and_then(Value::as_str).ok_or("tensor without dtype")?;
        let data = obj
            .get("data")
            .and_then(Value::as_array)
            .ok_or("tensor without data")?
            .iter()
            .map(parse_number)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { shape, dtype: dtype.to_string(), data })
    }

    /// True for float64 data (compute in f64), false for float32 and int32.
    pub fn is_f64(&self) -> bool {
        self.dtype == "float64"
    }

    /// The values as a burn float tensor of rank `D` (rank 0 becomes shape `[1]`), in the
    /// fixture's float dtype (int32 data becomes float32).
    pub fn tensor<const D: usize>(&self, device: &Device) -> Tensor<D> {
        let mut shape = self.shape.clone();
        if shape.is_empty() {
            shape.push(1);
        }
        assert_eq!(shape.len(), D, "fixture tensor has rank {}, wanted {D}", shape.len());
        // The dtype must be explicit: without it burn converts to the device's default (f32).
        if self.is_f64() {
            Tensor::from_data(TensorData::new(self.data.clone(), shape), (device, DType::F64))
        } else {
            let data = TensorData::new(self.data.iter().map(|&v| v as f32).collect::<Vec<_>>(), shape);
            Tensor::from_data(data, (device, DType::F32))
        }
    }

    /// Integer values (class ids), as an Int tensor of rank `D`.
    pub fn int_tensor<const D: usize>(&self, device: &Device) -> Tensor<D, Int> {
        let data = TensorData::new(self.data.iter().map(|&v| v as i64).collect::<Vec<_>>(), self.shape.clone());
        Tensor::from_data(data, device)
    }
}

fn parse_number(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("bad number {n}")),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(format!("bad number string {other:?}")),
        },
        other => Err(format!("not a number: {other}")),
    }
}

impl Case {
    /// A tensor argument.
    pub fn tensor_arg(&self, name: &str) -> Result<FixtureTensor, String> {
        let v = self.args.get(name).ok_or_else(|| format!("missing arg `{name}`"))?;
        FixtureTensor::parse(v).map_err(|e| format!("arg `{name}`: {e}"))
    }

    /// A plain number argument, or `default` when absent.
    pub fn f64_arg(&self, name: &str, default: f64) -> Result<f64, String> {
        match self.args.get(name) {
            None => Ok(default),
            Some(v) => parse_number(v).map_err(|e| format!("arg `{name}`: {e}")),
        }
    }

    /// A string argument, or `default` when absent.
    pub fn str_arg<'a>(&'a self, name: &str, default: &'a str) -> Result<&'a str, String> {
        match self.args.get(name) {
            None => Ok(default),
            Some(v) => v.as_str().ok_or_else(|| format!("arg `{name}` is not a string")),
        }
    }

    /// A boolean argument, or `default` when absent.
    pub fn bool_arg(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.args.get(name) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| format!("arg `{name}` is not a boolean")),
        }
    }

    /// The tolerances of `field` (`field_tolerances` override the case's).
    pub fn tolerances(&self, field: &str) -> (f64, f64) {
        match self.field_tolerances.get(field) {
            Some(t) => (t["rtol"].as_f64().unwrap_or(self.rtol), t["atol"].as_f64().unwrap_or(self.atol)),
            None => (self.rtol, self.atol),
        }
    }

    /// The expected tensor, when `expected` is a single tensor.
    pub fn expected_tensor(&self) -> Result<FixtureTensor, String> {
        FixtureTensor::parse(&self.expected)
    }

    /// The expected tensor of a named output (`expected[field]`).
    pub fn expected_field(&self, field: &str) -> Result<FixtureTensor, String> {
        let v = self.expected.get(field).ok_or_else(|| format!("no expected `{field}`"))?;
        FixtureTensor::parse(v).map_err(|e| format!("expected `{field}`: {e}"))
    }

    /// Compares `got` to `expected` elementwise within the case's tolerances for `field`.
    pub fn check(&self, field: &str, got: &[f64], got_shape: &[usize], expected: &FixtureTensor) -> Result<(), String> {
        let (rtol, atol) = self.tolerances(field);
        check_close(field, got, got_shape, expected, rtol, atol)
    }
}

/// Elementwise `|got - exp| <= atol + rtol*|exp|`; shapes must agree (a scalar `[]` matches `[1]`).
pub fn check_close(
    field: &str,
    got: &[f64],
    got_shape: &[usize],
    expected: &FixtureTensor,
    rtol: f64,
    atol: f64,
) -> Result<(), String> {
    let squeeze = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    if squeeze(got_shape) != squeeze(&expected.shape) {
        return Err(format!("{field}: shape {got_shape:?}, expected {:?}", expected.shape));
    }
    if got.len() != expected.data.len() {
        return Err(format!("{field}: {} values, expected {}", got.len(), expected.data.len()));
    }
    for (i, (&g, &e)) in got.iter().zip(&expected.data).enumerate() {
        let ok = if e.is_nan() {
            g.is_nan()
        } else if e.is_infinite() {
            g == e
        } else {
            (g - e).abs() <= atol + rtol * e.abs()
        };
        if !ok {
            return Err(format!(
                "{field}[{i}]: got {g:e}, expected {e:e} (|diff| {:e} > atol {atol:e} + rtol {rtol:e} * |exp|)",
                (g - e).abs()
            ));
        }
    }
    Ok(())
}

/// A tensor's values as f64 and its shape.
pub fn values<const D: usize>(t: &Tensor<D>) -> (Vec<f64>, Vec<usize>) {
    let shape = t.dims().to_vec();
    let data = t.to_data().convert::<f64>();
    (data.into_vec::<f64>().expect("float data"), shape)
}

/// Runs `run` on every case, failing with every case's error (and on an empty file).
pub fn run_all(file: &FixtureFile, run: impl Fn(&Case) -> Result<(), String>) {
    assert!(!file.cases.is_empty(), "fixture file has no cases");
    let failures: Vec<String> = file
        .cases
        .iter()
        .filter_map(|case| run(case).err().map(|e| format!("{} ({}): {e}", case.name, case.function)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixture cases failed:\n{}",
        failures.len(),
        file.cases.len(),
        failures.join("\n")
    );
}

/// Changes the first expected number of `case` (in `field`, or the whole `expected` tensor when
/// `field` is None) so that a runner that really compares must now fail.
pub fn corrupt_expected(case: &Case, field: Option<&str>) -> Case {
    let mut case = case.clone();
    let target = match field {
        Some(f) => case.expected.get_mut(f).expect("field"),
        None => &mut case.expected,
    };
    let data = target["data"].as_array_mut().expect("tensor data");
    let first = parse_number(&data[0]).expect("number");
    let bumped = if first.is_finite() { first + 1.0 + first.abs() } else { 0.0 };
    data[0] = Value::from(bumped);
    case
}

/// The runner's self-test: for every function in `functions` (each must have cases), every case
/// passes, and corrupting any one of its expected values (each field of an object, or the
/// whole expected tensor) makes `run` fail.
pub fn assert_corruption_detected(file: &FixtureFile, functions: &[&str], run: impl Fn(&Case) -> Result<(), String>) {
    for &function in functions {
        let cases: Vec<&Case> = file.cases.iter().filter(|c| c.function == function).collect();
        assert!(!cases.is_empty(), "{function} has no cases");
        for case in cases {
            let fields: Vec<Option<&str>> = if case.expected.get("data").is_some() {
                vec![None]
            } else {
                case.expected.as_object().unwrap().keys().map(|k| Some(k.as_str())).collect()
            };
            for field in fields {
                run(case).unwrap_or_else(|e| panic!("{} should pass: {e}", case.name));
                let corrupted = corrupt_expected(case, field);
                assert!(run(&corrupted).is_err(), "{} ({field:?}) passed with a corrupted expected value", case.name);
            }
        }
    }
}

/// MNIST's folder for the tests that read the real data: `RGAN_DATA_DIR`, else
/// `<repo>/../shared/datasets/mnist`. `None` (the test is skipped) when it holds no MNIST, except
/// under `CI=true`, where that is a failure.
pub fn mnist_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RGAN_DATA_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/mnist"));
    let has = |name: &str| dir.join(format!("{name}.gz")).is_file() || dir.join(name).is_file();
    if has("train-images-idx3-ubyte") && has("t10k-images-idx3-ubyte") {
        return Some(dir);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "MNIST not found in {} (set RGAN_DATA_DIR)", dir.display());
    eprintln!("skipped: no MNIST at {} (set RGAN_DATA_DIR)", dir.display());
    None
}

/// `n` random 28×28 "digits" drawn from `seed`, with labels `0, 1, …, 9, 0, …`: a stand-in for
/// MNIST in tests that train a few steps.
pub fn synthetic_mnist(n: usize, seed: u64) -> rgan::data::Mnist {
    let mut rng = rgan::rng::Rng::seed_from_u64(seed);
    let pixels = (0..n * 784).map(|_| rng.below(256) as u8).collect();
    rgan::data::Mnist {
        images: rgan::data::IdxImages { count: n, rows: 28, cols: 28, pixels },
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
    }
}
