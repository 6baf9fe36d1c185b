//! `rgan eval fid`, `rgan eval mnist` and `rgan eval classifier`: TF-GAN's evaluation numbers
//! from the command line, as one JSON object with `--json`.
//!
//! ```text
//! rgan eval fid --real A --fake B [--json] [--features mnist|inception] [--kid-block-size 1024]
//!               [--inception-weights PATH] [--batch-size 16] [--device cpu]
//! rgan eval mnist --checkpoint DIR [--json] [--num 1000] [--seed 0] [--ema] [--data-dir DIR] [--device cpu]
//! rgan eval classifier [--json] [--data-dir DIR] [--device cpu]
//! ```
//!
//! `fid`: A and B are `.npy` activation matrices `[N, D]` (rows are samples, float32 or float64)
//! or folders of images. Folders are turned into activations: with `--features mnist` (the
//! default) 28×28 grey digits go through rgan's MNIST classifier and the **logits** are used, as
//! TF-GAN's MNIST Frechet distance; with `--features inception` images are loaded as 299×299 RGB
//! and the FID Inception-v3 pool3 features are used. It prints
//! `{"frechet_distance": x, "kernel_distance": y, "kernel_distance_std": z}` (`null` where the
//! std is undefined: a single KID block).
//!
//! `mnist`: TF-GAN's MNIST score and Frechet distance of `--num` digits drawn from a checkpoint's
//! generator (moving-average batch norm, TF's inference mode) against `--num` real test digits,
//! plus feature distances and PRDC; `"real"` evaluates a second, disjoint set of real test digits
//! against the first (the reference ceiling, TF-GAN's "real MNIST score").
//!
//! `classifier`: the accuracy of rgan's MNIST classifier on the full MNIST test set.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use burn::tensor::TensorData;
use clap::ValueEnum;
use ndarray::Array2;
use rgan::data::{ImageFolder, Mnist, Split};
use rgan::eval::inception::{FidInceptionV3, InputRange, inception_weights_path, preprocess};
use rgan::eval::mnist::{MNIST_EVAL_SAMPLES, MnistEvaluation, dataset_images, evaluate_mnist_images};
use rgan::eval::mnist_classifier::MnistClassifier;
use rgan::eval::{
    HostMatrix, frechet_classifier_distance_from_activations_f64,
    kernel_classifier_distance_and_std_from_activations_f64,
};
use rgan::recipes::{Recipe, load_noise_generator};

/// Which network turns image folders into activations.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureKind {
    /// rgan's MNIST classifier's logits of 28×28 grey digits (TF-GAN's MNIST Frechet distance).
    Mnist,
    /// FID Inception-v3 pool3 features (2048) of images resized to 299×299 RGB.
    Inception,
}

/// Arguments of `rgan eval fid`.
#[derive(clap::Args, Debug)]
pub struct FidArgs {
    /// Real activations: a .npy matrix [N, D] (float32 or float64), or a folder of images.
    #[arg(long)]
    pub real: PathBuf,
    /// Generated activations: a .npy matrix [M, D], or a folder of images.
    #[arg(long)]
    pub fake: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The network for image folders (.npy inputs are used as they are).
    #[arg(long, value_enum, default_value_t = FeatureKind::Mnist)]
    pub features: FeatureKind,
    /// The kernel distance's largest block (TF-GAN's max_block_size).
    #[arg(long, default_value_t = rgan::eval::DEFAULT_MAX_BLOCK_SIZE)]
    pub kid_block_size: usize,
    /// The weights fid_inception_v3.safetensors for --features inception (default:
    /// $RGAN_INCEPTION_WEIGHTS, else the cache location).
    #[arg(long)]
    pub inception_weights: Option<PathBuf>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Compute device: cpu, cuda or wgpu (the GPU ones need rgan built with that feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Arguments of `rgan eval mnist`.
#[derive(clap::Args, Debug)]
pub struct MnistEvalArgs {
    /// A checkpoint folder, or a log folder (its newest checkpoint is used) of an MNIST run.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Generated digits, and real digits in each of the two real sets (TF-GAN: 1000).
    #[arg(long, default_value_t = MNIST_EVAL_SAMPLES)]
    pub num: usize,
    /// Seed of the generator inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Evaluate the generator's moving average (runs trained with --ema-decay).
    #[arg(long)]
    pub ema: bool,
    /// Folder holding MNIST's IDX files [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/mnist].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Compute device: cpu, cuda or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Arguments of `rgan eval classifier`.
#[derive(clap::Args, Debug)]
pub struct ClassifierArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Folder holding MNIST's IDX files [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/mnist].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Compute device: cpu, cuda or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

fn load_test_set(explicit: Option<&Path>) -> Result<Mnist> {
    let dir = crate::data_dir(explicit, "mnist");
    Mnist::load(&dir, Split::Test).with_context(|| format!("loading the MNIST test set from {}", dir.display()))
}

/// The distances `rgan eval fid` prints.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FidReport {
    /// Fréchet distance.
    pub frechet_distance: f64,
    /// Kernel (KID) distance.
    pub kernel_distance: f64,
    /// Its standard error; `None` where undefined (a single block).
    pub kernel_distance_std: Option<f64>,
}

impl FidReport {
    /// The JSON object `{"frechet_distance", "kernel_distance", "kernel_distance_std"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "frechet_distance": finite(self.frechet_distance),
            "kernel_distance": finite(self.kernel_distance),
            "kernel_distance_std": self.kernel_distance_std.and_then(finite),
        })
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Reads a `.npy` matrix of float32 or float64 as f64.
fn read_npy_matrix(path: &Path) -> Result<HostMatrix> {
    let (data, rows, cols) = match ndarray_npy::read_npy::<_, Array2<f32>>(path) {
        Ok(a) => {
            let (r, c) = a.dim();
            (a.iter().map(|&v| v as f64).collect::<Vec<f64>>(), r, c)
        }
        Err(f32_err) => match ndarray_npy::read_npy::<_, Array2<f64>>(path) {
            Ok(a) => {
                let (r, c) = a.dim();
                (a.iter().copied().collect(), r, c)
            }
            Err(_) => bail!(
                "{}: cannot read a 2-D float32 or float64 .npy matrix (rows are samples): {f32_err}",
                path.display()
            ),
        },
    };
    Ok(HostMatrix { data, rows, cols })
}

/// Runs `rows × …` images in chunks of `batch` through `f`, collecting the rows on the host.
fn batched(
    images: &[f32],
    shape: [usize; 3],
    batch: usize,
    device: &Device,
    f: impl Fn(Tensor<4>) -> Result<Tensor<2>>,
) -> Result<HostMatrix> {
    let per_image = shape.iter().product::<usize>();
    let n = images.len() / per_image;
    let mut out = HostMatrix { data: Vec::new(), rows: 0, cols: 0 };
    for start in (0..n).step_by(batch.max(1)) {
        let count = batch.min(n - start);
        let chunk = images[start * per_image..(start + count) * per_image].to_vec();
        let x = Tensor::<4>::from_data(TensorData::new(chunk, [count, shape[0], shape[1], shape[2]]), device);
        let y = f(x)?;
        let [rows, cols] = y.dims();
        let values = y.into_data().convert::<f64>().try_into_vec::<f64>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        out.rows += rows;
        out.cols = cols;
        out.data.extend(values);
    }
    Ok(out)
}

/// The activations of `path` (a .npy matrix, or a folder of images through `--features`).
fn activations(path: &Path, role: &str, args: &FidArgs) -> Result<HostMatrix> {
    let m = if path.is_dir() {
        let device = rgan::device::device_by_name(&args.device)?;
        match args.features {
            FeatureKind::Mnist => {
                let folder = ImageFolder::load(path, 28, 1)
                    .with_context(|| format!("--{role}: loading 28×28 grey images from {}", path.display()))?;
                let classifier = MnistClassifier::pretrained(&device)?;
                batched(&folder.pixels, [1, 28, 28], args.batch_size.max(500), &device, |x| Ok(classifier.logits(x)?))?
            }
            FeatureKind::Inception => {
                let weights = inception_weights_path(args.inception_weights.as_deref())?;
                let net = FidInceptionV3::load(&weights, &device)?;
                let folder = ImageFolder::load(path, 299, 3)
                    .with_context(|| format!("--{role}: loading 299×299 RGB images from {}", path.display()))?;
                batched(&folder.pixels, [3, 299, 299], args.batch_size, &device, |x| {
                    Ok(net.features(preprocess(x, InputRange::MinusOneToOne)?)?)
                })?
            }
        }
    } else {
        read_npy_matrix(path).with_context(|| format!("--{role}"))?
    };
    if m.rows < 2 {
        bail!("--{role} {}: {} sample(s); the Fréchet distance needs at least 2", path.display(), m.rows);
    }
    if m.cols == 0 {
        bail!("--{role} {}: activations have no features (shape [{}, 0])", path.display(), m.rows);
    }
    if let Some(i) = m.data.iter().position(|v| !v.is_finite()) {
        bail!(
            "--{role} {}: activation row {} column {} is {} (NaN or infinite values are not allowed)",
            path.display(),
            i / m.cols,
            i % m.cols,
            m.data[i]
        );
    }
    Ok(m)
}

/// The distances of `rgan eval fid`.
pub fn fid_report(args: &FidArgs) -> Result<FidReport> {
    if args.kid_block_size == 0 {
        bail!("--kid-block-size must be at least 1");
    }
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let real = activations(&args.real, "real", args)?;
    let fake = activations(&args.fake, "fake", args)?;
    if real.cols != fake.cols {
        bail!(
            "feature dimensions differ: --real {} has shape [{}, {}] but --fake {} has shape [{}, {}]",
            args.real.display(),
            real.rows,
            real.cols,
            args.fake.display(),
            fake.rows,
            fake.cols
        );
    }
    let frechet_distance = frechet_classifier_distance_from_activations_f64(real.view(), fake.view())
        .context("computing the Fréchet distance")?;
    let (kernel_distance, std) =
        kernel_classifier_distance_and_std_from_activations_f64(real.view(), fake.view(), args.kid_block_size)
            .context("computing the kernel distance")?;
    Ok(FidReport { frechet_distance, kernel_distance, kernel_distance_std: finite(std) })
}

/// Runs `rgan eval fid`.
pub fn run_fid(args: FidArgs) -> Result<()> {
    let report = fid_report(&args)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        let std = report.kernel_distance_std.map(|s| format!(" ± {s:.6}")).unwrap_or_default();
        println!("Fréchet distance {:.6}, kernel distance {:.6}{std}", report.frechet_distance, report.kernel_distance);
    }
    Ok(())
}

/// The `generated` and `real` evaluations of `rgan eval mnist`.
pub fn mnist_report(args: &MnistEvalArgs) -> Result<(MnistEvaluation, MnistEvaluation)> {
    if args.num < 6 {
        bail!("--num must be at least 6 (PRDC's k = 5, plus one)");
    }
    let recipe = Recipe::of_checkpoint(&args.checkpoint)
        .with_context(|| format!("reading the checkpoint {}", args.checkpoint.display()))?;
    if !matches!(recipe, Recipe::Mnist(_) | Recipe::Zoo(_) | Recipe::Vanilla(_)) {
        bail!("{} holds a {} run; `rgan eval mnist` evaluates MNIST runs", args.checkpoint.display(), recipe.name());
    }
    let test = load_test_set(args.data_dir.as_deref())?;
    if 2 * args.num > test.len() {
        bail!(
            "--num {} needs {} real test digits (two disjoint sets) but the test set holds {}",
            args.num,
            2 * args.num,
            test.len()
        );
    }
    let device = rgan::device::device_by_name(&args.device)?;
    let context = || format!("loading the generator of {}", args.checkpoint.display());
    let (generator, inputs, _) = load_noise_generator(&args.checkpoint, args.ema, &device).with_context(context)?;
    let images = rgan::eval::generate_mnist_digits(&generator, &inputs, args.num, args.seed, &device)?;
    let classifier = MnistClassifier::pretrained(&device)?;
    let real = dataset_images(&test, 0, args.num, &device)?;
    let other_real = dataset_images(&test, args.num, args.num, &device)?;
    let generated = evaluate_mnist_images(&classifier, images, real.clone()).context("evaluating generated digits")?;
    let reference = evaluate_mnist_images(&classifier, other_real, real).context("evaluating real digits")?;
    Ok((generated, reference))
}

fn describe(e: &MnistEvaluation) -> String {
    let std = e.kernel_distance_std.map(|s| format!(" ± {s:.5}")).unwrap_or_default();
    format!(
        "MNIST score {:.4}, Frechet distance {:.4} (features {:.4}), kernel distance {:.5}{std}, precision {:.3}, \
         recall {:.3}, density {:.3}, coverage {:.3}",
        e.mnist_score,
        e.frechet_distance,
        e.feature_frechet_distance,
        e.kernel_distance,
        e.precision,
        e.recall,
        e.density,
        e.coverage
    )
}

/// Runs `rgan eval mnist`.
pub fn run_mnist(args: MnistEvalArgs) -> Result<()> {
    let (generated, real) = mnist_report(&args)?;
    if args.json {
        println!("{}", serde_json::json!({ "generated": generated, "real": real }));
    } else {
        println!("generated: {}", describe(&generated));
        println!("real:      {}", describe(&real));
    }
    Ok(())
}

/// Runs `rgan eval classifier`.
pub fn run_classifier(args: ClassifierArgs) -> Result<()> {
    let test = load_test_set(args.data_dir.as_deref())?;
    let device = rgan::device::device_by_name(&args.device)?;
    let accuracy = MnistClassifier::pretrained(&device)?.accuracy(&test)?;
    if args.json {
        println!("{}", serde_json::json!({ "accuracy": accuracy }));
    } else {
        println!("MNIST classifier test accuracy: {:.2}% ({} digits)", 100.0 * accuracy, test.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rgan-cli-eval-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn args(real: &Path, fake: &Path) -> FidArgs {
        FidArgs {
            real: real.to_path_buf(),
            fake: fake.to_path_buf(),
            json: true,
            features: FeatureKind::Mnist,
            kid_block_size: 1024,
            inception_weights: None,
            batch_size: 16,
            device: "cpu".into(),
        }
    }

    fn matrix(rows: usize, cols: usize, offset: f64) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |(i, j)| offset + ((i * 7 + j * 3) % 5) as f64 + 0.1 * j as f64)
    }

    #[test]
    fn npy_inputs_of_both_dtypes_give_json_with_null_std_for_one_block() {
        let dir = temp_dir("npy");
        let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
        ndarray_npy::write_npy(&a, &matrix(8, 3, 0.0)).unwrap();
        ndarray_npy::write_npy(&b, &matrix(6, 3, 1.0).mapv(|v| v as f32)).unwrap();
        let report = fid_report(&args(&a, &b)).unwrap();
        let json = report.to_json();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3);
        assert!(json["frechet_distance"].as_f64().unwrap() > 0.0, "{json}");
        assert!(json["kernel_distance"].is_f64(), "{json}");
        assert!(json["kernel_distance_std"].is_null(), "{json}");
        // Smaller blocks give a std; the same set is at distance 0.
        let mut small = args(&a, &b);
        small.kid_block_size = 3;
        assert!(fid_report(&small).unwrap().to_json()["kernel_distance_std"].is_f64());
        let same = fid_report(&args(&a, &a)).unwrap();
        assert!(same.frechet_distance.abs() < 1e-9, "{same:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let dir = temp_dir("bad");
        let good = dir.join("good.npy");
        ndarray_npy::write_npy(&good, &matrix(8, 3, 0.0)).unwrap();
        let wide = dir.join("wide.npy");
        ndarray_npy::write_npy(&wide, &matrix(8, 4, 0.0)).unwrap();
        let one = dir.join("one.npy");
        ndarray_npy::write_npy(&one, &matrix(1, 3, 0.0)).unwrap();
        let nan = dir.join("nan.npy");
        let mut m = matrix(8, 3, 0.0);
        m[[2, 1]] = f64::NAN;
        ndarray_npy::write_npy(&nan, &m).unwrap();
        let garbage = dir.join("garbage.npy");
        std::fs::write(&garbage, b"not an npy file").unwrap();
        let ints = dir.join("ints.npy");
        ndarray_npy::write_npy(&ints, &Array2::<i32>::zeros((4, 2))).unwrap();
        let error = |real: &Path, fake: &Path| format!("{:#}", fid_report(&args(real, fake)).unwrap_err());
        let e = error(&good, &wide);
        assert!(e.contains("feature dimensions differ") && e.contains("[8, 3]") && e.contains("[8, 4]"), "{e}");
        let e = error(&one, &good);
        assert!(e.contains("--real") && e.contains("at least 2"), "{e}");
        let e = error(&good, &nan);
        assert!(e.contains("--fake") && e.contains("row 2 column 1") && e.contains("NaN"), "{e}");
        for bad in [&garbage, &ints, &dir.join("missing.npy")] {
            let e = error(&good, bad);
            assert!(e.contains("--fake") && e.contains("cannot read") && e.contains(&bad.display().to_string()), "{e}");
        }
        let mut inception = args(&dir, &good);
        inception.features = FeatureKind::Inception;
        inception.inception_weights = Some(dir.join("no-weights.safetensors"));
        let e = format!("{:#}", fid_report(&inception).unwrap_err());
        assert!(e.contains("no-weights.safetensors") && e.contains("not found"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mnist_evaluation_json_has_every_metric_and_null_std() {
        let e = MnistEvaluation {
            mnist_score: 9.5,
            frechet_distance: 0.5,
            feature_frechet_distance: 3.0,
            kernel_distance: 0.01,
            kernel_distance_std: None,
            precision: 0.9,
            recall: 0.8,
            density: 1.1,
            coverage: 0.95,
        };
        let json = serde_json::json!({ "generated": e, "real": e });
        for key in [
            "mnist_score",
            "frechet_distance",
            "feature_frechet_distance",
            "kernel_distance",
            "precision",
            "recall",
            "density",
            "coverage",
        ] {
            assert!(json["generated"][key].is_f64() && json["real"][key].is_f64(), "{key}: {json}");
        }
        assert!(json["generated"]["kernel_distance_std"].is_null());
    }
}
