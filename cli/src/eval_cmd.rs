//! `rgan eval fid`, `rgan eval mnist` and `rgan eval classifier`: TF-GAN's evaluation numbers
//! from the command line, as one JSON object with `--json`.
//!
//! ```text
//! rgan eval fid --real A --fake B [--json] [--features inception|mnist] [--allow-mixed]
//!               [--kid-block-size 1024] [--inception-weights PATH] [--batch-size 16] [--device cpu]
//! rgan eval fid --real A --save-stats A.npz [--features inception|mnist] ...
//! rgan eval mnist --checkpoint DIR [--json] [--num 1000] [--seed 0] [--ema] [--data-dir DIR] [--device cpu]
//! rgan eval classifier [--json] [--data-dir DIR] [--device cpu]
//! ```
//!
//! `fid`: A and B are each a folder of images, a `.npy` activation matrix `[N, D]` (rows are
//! samples, float32 or float64), or a `.npz` of statistics in pytorch-fid's layout (`mu` `[D]`,
//! `sigma` `[D, D]`, as its `--save-stats` writes them and `--save-stats` here writes them).
//! Folders are turned into activations batch by batch (one batch of images in memory at a
//! time): with `--features inception` (the default, pytorch-fid's FID) each image is read at
//! its own size as RGB, resized bilinearly to 299×299 and sent through the FID Inception-v3
//! network (pool3 features); with `--features mnist` 28×28 grey digits go through rgan's MNIST
//! classifier and the **logits** are used, as TF-GAN's MNIST Frechet distance. The images of a
//! folder must share their size and colour (grey or RGB); `--allow-mixed` converts and resizes
//! each image on its own instead (pytorch-fid's result with batch size 1). It prints
//! `{"frechet_distance": x, "kernel_distance": y, "kernel_distance_std": z}` (`null` where
//! undefined: the kernel distance needs activations on both sides, its std more than one block).
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
use rgan::data::{ImageFiles, Mnist, Split, read_image};
use rgan::eval::inception::{FidInceptionV3, InputRange, inception_weights_path, preprocess, resize_bilinear};
use rgan::eval::mnist::{MNIST_EVAL_SAMPLES, MnistEvaluation, dataset_images, evaluate_mnist_images};
use rgan::eval::mnist_classifier::MnistClassifier;
use rgan::eval::{
    ActivationMoments, FidStatistics, HostMatrix, MatrixRef, frechet_distance_from_moments,
    kernel_classifier_distance_and_std_from_activations_f64,
};
use rgan::recipes::{Recipe, load_noise_generator};

/// Which network turns image folders into activations.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureKind {
    /// FID Inception-v3 pool3 features (2048) of images resized to 299×299 RGB (pytorch-fid's).
    Inception,
    /// rgan's MNIST classifier's logits of 28×28 grey digits (TF-GAN's MNIST Frechet distance).
    Mnist,
}

/// Arguments of `rgan eval fid`.
#[derive(clap::Args, Debug)]
pub struct FidArgs {
    /// Real data: a folder of images, a .npy activation matrix [N, D] (float32 or float64), or
    /// a .npz of statistics (mu, sigma: pytorch-fid's layout).
    #[arg(long)]
    pub real: PathBuf,
    /// Generated data, as --real (not needed with --save-stats).
    #[arg(long, required_unless_present = "save_stats")]
    pub fake: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The network for image folders (.npy and .npz inputs are used as they are).
    #[arg(long, value_enum, default_value_t = FeatureKind::Inception)]
    pub features: FeatureKind,
    /// Accept a folder whose images differ in size or colour: each is converted (RGB for
    /// Inception, grey for MNIST) and resized on its own. Without it such a folder is an error
    /// naming the first image that differs.
    #[arg(long)]
    pub allow_mixed: bool,
    /// Write the statistics of --real (mu, sigma; float64, pytorch-fid's .npz layout) to this
    /// file and exit.
    #[arg(long)]
    pub save_stats: Option<PathBuf>,
    /// The kernel distance's largest block (TF-GAN's max_block_size).
    #[arg(long, default_value_t = rgan::eval::DEFAULT_MAX_BLOCK_SIZE)]
    pub kid_block_size: usize,
    /// The weights fid_inception_v3.safetensors for --features inception (default:
    /// $RGAN_INCEPTION_WEIGHTS, else the cache location).
    #[arg(long)]
    pub inception_weights: Option<PathBuf>,
    /// Images per forward pass (the images of one batch are all that is held in memory).
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
    /// Which classifier: rgan's MNIST or CIFAR-10 one.
    #[arg(long, value_enum, default_value = "mnist")]
    pub dataset: crate::eval_classifier::ClassifierDataset,
    /// CIFAR-10: weights from `rgan eval train-classifier --dataset cifar10` [default: the
    /// built-in ones].
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// CIFAR-10: also write the weights evaluated here (rounded to half precision and gzipped
    /// when the name ends in .gz, as the built-in ones; the accuracy printed is then theirs).
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The data set's folder [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/<mnist|cifar10>].
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
    /// Kernel (KID) distance; `None` when a side is given as statistics.
    pub kernel_distance: Option<f64>,
    /// Its standard error; `None` where undefined (a single block, or no kernel distance).
    pub kernel_distance_std: Option<f64>,
}

impl FidReport {
    /// The JSON object `{"frechet_distance", "kernel_distance", "kernel_distance_std"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "frechet_distance": finite(self.frechet_distance),
            "kernel_distance": self.kernel_distance.and_then(finite),
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

/// What one side of `rgan eval fid` is: activations (from a folder or a .npy), or the
/// statistics of a .npz.
enum Side {
    Activations(HostMatrix),
    Statistics { mu: Vec<f64>, sigma: Vec<f64> },
}

impl Side {
    /// The mean and the unbiased covariance.
    fn moments(&self, role: &str) -> Result<(Vec<f64>, Vec<f64>)> {
        match self {
            Side::Activations(m) => {
                let moments = ActivationMoments::from_f64(m.view()).with_context(|| format!("--{role}"))?;
                Ok((moments.mean().to_vec(), moments.covariance().with_context(|| format!("--{role}"))?))
            }
            Side::Statistics { mu, sigma } => Ok((mu.clone(), sigma.clone())),
        }
    }

    fn dims(&self) -> usize {
        match self {
            Side::Activations(m) => m.cols,
            Side::Statistics { mu, .. } => mu.len(),
        }
    }

    /// `activations of shape [N, D]` or `statistics of D features`, for messages.
    fn describe(&self) -> String {
        match self {
            Side::Activations(m) => format!("activations of shape [{}, {}]", m.rows, m.cols),
            Side::Statistics { mu, .. } => format!("statistics of {} features", mu.len()),
        }
    }
}

/// The network a folder's images go through, with the channels and size it reads them at.
struct FeatureNet {
    channels: usize,
    /// The side images are resized to one by one with --allow-mixed (the network's input).
    size: usize,
    /// Native-size images in [-1, 1] → features.
    features: Box<dyn Fn(Tensor<4>) -> Result<Tensor<2>>>,
}

fn feature_net(args: &FidArgs, device: &Device) -> Result<FeatureNet> {
    Ok(match args.features {
        FeatureKind::Mnist => {
            let classifier = MnistClassifier::pretrained(device)?;
            FeatureNet { channels: 1, size: 28, features: Box::new(move |x| Ok(classifier.logits(x)?)) }
        }
        FeatureKind::Inception => {
            let weights = inception_weights_path(args.inception_weights.as_deref())?;
            let net = FidInceptionV3::load(&weights, device)?;
            FeatureNet {
                channels: 3,
                size: rgan::eval::inception::INCEPTION_INPUT_SIZE,
                features: Box::new(move |x| Ok(net.features(preprocess(x, InputRange::MinusOneToOne)?)?)),
            }
        }
    })
}

/// `grey` or `RGB`, for messages.
fn colour(channels: usize) -> &'static str {
    if channels == 1 { "grey" } else { "RGB" }
}

/// The activations of a folder's images, `args.batch_size` images at a time.
fn folder_activations(path: &Path, role: &str, args: &FidArgs) -> Result<HostMatrix> {
    let device = rgan::device::device_by_name(&args.device)?;
    let files = ImageFiles::list(path).with_context(|| format!("--{role}"))?;
    let net = feature_net(args, &device)?;
    // The first image's size and colour, which every other must share (without --allow-mixed).
    let mut first: Option<(PathBuf, usize, usize, usize)> = None;
    let mut out = HostMatrix { data: Vec::new(), rows: 0, cols: 0 };
    for chunk in files.paths.chunks(args.batch_size) {
        let mut images = Vec::with_capacity(chunk.len());
        for file in chunk {
            let image = read_image(file, Some(net.channels)).with_context(|| format!("--{role}"))?;
            let (h, w, c) = (image.height, image.width, image.file_channels);
            let reference = first.get_or_insert_with(|| (file.clone(), h, w, c)).clone();
            if !args.allow_mixed {
                if (h, w, c) != (reference.1, reference.2, reference.3) {
                    bail!(
                        "--{role} {}: {} is {w}×{h} {}, but {} is {}×{} {}: the images of a folder must share \
                         their size and colour (--allow-mixed converts and resizes each on its own)",
                        path.display(),
                        file.display(),
                        colour(c),
                        reference.0.display(),
                        reference.2,
                        reference.1,
                        colour(reference.3)
                    );
                }
                if net.channels == 1 && (h != net.size || w != net.size || c != 1) {
                    bail!(
                        "--{role} {}: {} is {w}×{h} {}, but the MNIST classifier takes 28×28 grey digits \
                         (--allow-mixed converts and resizes them)",
                        path.display(),
                        file.display(),
                        colour(c)
                    );
                }
            }
            let x = Tensor::<4>::from_data(TensorData::new(image.pixels, [1, net.channels, h, w]), &device);
            images.push(if args.allow_mixed && (h, w) != (net.size, net.size) {
                resize_bilinear(x, net.size, net.size)
            } else {
                x
            });
        }
        let y = (net.features)(Tensor::cat(images, 0))?;
        let [rows, cols] = y.dims();
        let values = y.into_data().convert::<f64>().try_into_vec::<f64>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        out.rows += rows;
        out.cols = cols;
        out.data.extend(values);
    }
    Ok(out)
}

/// One side of `rgan eval fid`: a folder through `--features`, a .npy matrix, or .npz statistics.
fn side(path: &Path, role: &str, args: &FidArgs) -> Result<Side> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz")) {
        let FidStatistics { mu, sigma, .. } = FidStatistics::read_npz(path).with_context(|| format!("--{role}"))?;
        return Ok(Side::Statistics { mu, sigma });
    }
    let m = if path.is_dir() {
        folder_activations(path, role, args)?
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
    Ok(Side::Activations(m))
}

/// The distances of `rgan eval fid` (with `--save-stats`, the statistics are written and the
/// report is `None`).
pub fn fid_report(args: &FidArgs) -> Result<Option<FidReport>> {
    if args.kid_block_size == 0 {
        bail!("--kid-block-size must be at least 1");
    }
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let real = side(&args.real, "real", args)?;
    if let Some(out) = &args.save_stats {
        let (mu, sigma) = real.moments("real")?;
        FidStatistics { mu, sigma, count: 0 }.write_npz(out)?;
        return Ok(None);
    }
    let fake_path = args.fake.as_deref().context("--fake is required (unless --save-stats)")?;
    let fake = side(fake_path, "fake", args)?;
    if real.dims() != fake.dims() {
        bail!(
            "feature dimensions differ: --real {} holds {} but --fake {} holds {}",
            args.real.display(),
            real.describe(),
            fake_path.display(),
            fake.describe()
        );
    }
    let ((mu1, sigma1), (mu2, sigma2)) = (real.moments("real")?, fake.moments("fake")?);
    let d = mu1.len();
    let frechet_distance = frechet_distance_from_moments(
        &mu1,
        MatrixRef::new("sigma1", &sigma1, d, d)?,
        &mu2,
        MatrixRef::new("sigma2", &sigma2, d, d)?,
    )
    .context("computing the Fréchet distance")?;
    let (kernel_distance, kernel_distance_std) = match (&real, &fake) {
        (Side::Activations(r), Side::Activations(f)) => {
            let (kid, std) =
                kernel_classifier_distance_and_std_from_activations_f64(r.view(), f.view(), args.kid_block_size)
                    .context("computing the kernel distance")?;
            (Some(kid), finite(std))
        }
        _ => (None, None),
    };
    Ok(Some(FidReport { frechet_distance, kernel_distance, kernel_distance_std }))
}

/// Runs `rgan eval fid`.
pub fn run_fid(args: FidArgs) -> Result<()> {
    let Some(report) = fid_report(&args)? else {
        let out = args.save_stats.as_deref().unwrap_or(Path::new(""));
        println!("statistics of {} written to {}", args.real.display(), out.display());
        return Ok(());
    };
    if args.json {
        println!("{}", report.to_json());
    } else {
        let kid = match report.kernel_distance {
            Some(kid) => {
                let std = report.kernel_distance_std.map(|s| format!(" ± {s:.6}")).unwrap_or_default();
                format!(", kernel distance {kid:.6}{std}")
            }
            None => String::new(),
        };
        println!("Fréchet distance {:.6}{kid}", report.frechet_distance);
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
    let device = rgan::device::device_by_name(&args.device)?;
    if args.dataset == crate::eval_classifier::ClassifierDataset::Cifar10 {
        return run_cifar_classifier(args, &device);
    }
    if args.weights.is_some() || args.write.is_some() {
        anyhow::bail!("--weights and --write are for --dataset cifar10 (MNIST: `rgan eval train-classifier --out`)");
    }
    let test = load_test_set(args.data_dir.as_deref())?;
    let accuracy = MnistClassifier::pretrained(&device)?.accuracy(&test)?;
    if args.json {
        println!("{}", serde_json::json!({ "accuracy": accuracy }));
    } else {
        println!("MNIST classifier test accuracy: {:.2}% ({} digits)", 100.0 * accuracy, test.len());
    }
    Ok(())
}

/// `rgan eval classifier --dataset cifar10`: the CIFAR-10 classifier's test accuracy.
fn run_cifar_classifier(args: ClassifierArgs, device: &burn::prelude::Device) -> Result<()> {
    use rgan::eval::cifar_classifier::CifarClassifier;
    let dir = crate::data_dir(args.data_dir.as_deref(), "cifar10");
    let test = rgan::data::Cifar10::load(&dir, Split::Test)
        .with_context(|| format!("loading CIFAR-10's test set from {}", dir.display()))?;
    let mut classifier = match &args.weights {
        Some(path) => CifarClassifier::load(path, device)?,
        None => CifarClassifier::pretrained(device)?,
    };
    if let Some(out) = &args.write {
        classifier.save(out).with_context(|| format!("writing {}", out.display()))?;
        if out.extension().is_some_and(|e| e == "gz") {
            classifier = classifier.half_precision();
        }
    }
    let accuracy = classifier.accuracy(&test)?;
    if args.json {
        println!("{}", serde_json::json!({ "accuracy": accuracy, "images": test.len() }));
    } else {
        println!("CIFAR-10 classifier test accuracy: {:.2}% ({} images)", 100.0 * accuracy, test.len());
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
            fake: Some(fake.to_path_buf()),
            json: true,
            features: FeatureKind::Mnist,
            allow_mixed: false,
            save_stats: None,
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
        let report = fid_report(&args(&a, &b)).unwrap().unwrap();
        let json = report.to_json();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3);
        assert!(json["frechet_distance"].as_f64().unwrap() > 0.0, "{json}");
        assert!(json["kernel_distance"].is_f64(), "{json}");
        assert!(json["kernel_distance_std"].is_null(), "{json}");
        // Smaller blocks give a std; the same set is at distance 0.
        let mut small = args(&a, &b);
        small.kid_block_size = 3;
        assert!(fid_report(&small).unwrap().unwrap().to_json()["kernel_distance_std"].is_f64());
        let same = fid_report(&args(&a, &a)).unwrap().unwrap();
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
        let folder = dir.join("images");
        std::fs::create_dir_all(&folder).unwrap();
        image_file(&folder.join("a.png"));
        let mut inception = args(&folder, &good);
        inception.features = FeatureKind::Inception;
        inception.inception_weights = Some(dir.join("no-weights.safetensors"));
        let e = format!("{:#}", fid_report(&inception).unwrap_err());
        assert!(e.contains("no-weights.safetensors") && e.contains("not found"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn image_file(path: &Path) {
        ::image::GrayImage::from_fn(28, 28, |x, y| ::image::Luma([((x * 7 + y) % 251) as u8])).save(path).unwrap();
    }

    #[test]
    fn statistics_round_trip_through_pytorch_fids_npz_layout() {
        let dir = temp_dir("npz");
        let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
        ndarray_npy::write_npy(&a, &matrix(9, 3, 0.0)).unwrap();
        ndarray_npy::write_npy(&b, &matrix(7, 3, 1.0)).unwrap();
        let from_activations = fid_report(&args(&a, &b)).unwrap().unwrap();
        // --save-stats writes mu and sigma of --real (float64, pytorch-fid's keys).
        let stats = |from: &Path, to: &Path| {
            let mut save = args(from, from);
            save.fake = None;
            save.save_stats = Some(to.to_path_buf());
            assert!(fid_report(&save).unwrap().is_none());
        };
        let (sa, sb) = (dir.join("a.npz"), dir.join("b.npz"));
        stats(&a, &sa);
        stats(&b, &sb);
        let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(&sa).unwrap()).unwrap();
        let mut names = npz.names().unwrap();
        names.sort();
        assert_eq!(names, vec!["mu", "sigma"]);
        let sigma: Array2<f64> = npz.by_name("sigma").unwrap();
        assert_eq!(sigma.dim(), (3, 3));
        // The same distance from statistics on either side, and no kernel distance.
        for (real, fake) in [(&sa, &sb), (&sa, &b), (&a, &sb)] {
            let report = fid_report(&args(real, fake)).unwrap().unwrap();
            let rel =
                (report.frechet_distance - from_activations.frechet_distance).abs() / from_activations.frechet_distance;
            assert!(rel < 1e-12, "{report:?} vs {from_activations:?}");
            assert_eq!((report.kernel_distance, report.kernel_distance_std), (None, None));
            assert!(report.to_json()["kernel_distance"].is_null());
        }
        // A float32 .npz (numpy's default for float32 features) reads too; a wrong one is named.
        let mut writer = ndarray_npy::NpzWriter::new(std::fs::File::create(dir.join("f32.npz")).unwrap());
        writer.add_array("mu", &ndarray::Array1::<f32>::zeros(3)).unwrap();
        writer.add_array("sigma", &Array2::<f32>::eye(3)).unwrap();
        writer.finish().unwrap();
        assert!(fid_report(&args(&dir.join("f32.npz"), &sb)).unwrap().unwrap().frechet_distance > 0.0);
        let mut writer = ndarray_npy::NpzWriter::new(std::fs::File::create(dir.join("bad.npz")).unwrap());
        writer.add_array("mean", &ndarray::Array1::<f64>::zeros(3)).unwrap();
        writer.finish().unwrap();
        let e = format!("{:#}", fid_report(&args(&dir.join("bad.npz"), &sb)).unwrap_err());
        assert!(e.contains("bad.npz") && e.contains("`mu`"), "{e}");
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
