//! TF-GAN's MNIST evaluation (`examples/mnist/util.py`): the "MNIST score" (the classifier
//! score of generated digits under an MNIST classifier) and the "MNIST Frechet distance" (the
//! Fréchet distance between the classifier's logits of real and generated digits), plus the
//! Fréchet and kernel distances and precision/recall/density/coverage on the classifier's
//! penultimate features, all with rgan's [`MnistClassifier`].
//!
//! TF-GAN's example evaluates 1000 generated digits against 1000 real test digits
//! ([`MNIST_EVAL_SAMPLES`]).
//!
//! ```
//! use burn::prelude::*;
//! use rgan::eval::mnist::evaluate_mnist_images;
//! use rgan::eval::mnist_classifier::MnistClassifier;
//! let device = Device::default();
//! let classifier = MnistClassifier::pretrained(&device).unwrap();
//! let mut rng = rgan::rng::Rng::seed_from_u64(0);
//! let real = rng.uniform([12, 1, 28, 28], -1.0, 1.0, &device);
//! let fake = rng.uniform([12, 1, 28, 28], -1.0, 1.0, &device);
//! let e = evaluate_mnist_images(&classifier, fake, real).unwrap();
//! assert!(e.mnist_score >= 1.0 && e.frechet_distance >= 0.0);
//! ```

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;

use super::mnist_classifier::MnistClassifier;
use super::{
    DEFAULT_MAX_BLOCK_SIZE, DEFAULT_NEAREST_K, HostMatrix, classifier_score_from_logits_f64,
    frechet_classifier_distance_from_activations_f64, kernel_classifier_distance_and_std_from_activations_f64,
    precision_recall_density_coverage_f64,
};
use crate::data::ImageDataset;
use crate::error::{Result, RganError};
use crate::model::{BatchNormMode, GanDiscriminator, GanGenerator, ImageClassifier, NoiseInputs};
use crate::rng::Rng;
use crate::summary::EventWriter;
use crate::train::{GanStep, HookAction, StepReport, TrainHook};

/// The number of generated and of real digits TF-GAN's MNIST example evaluates (1000).
pub const MNIST_EVAL_SAMPLES: usize = 1000;

/// Images per forward pass of the generator and the classifier (bounds memory).
const CHUNK: usize = 500;

/// The MNIST evaluation of a set of digits against real ones (see [`evaluate_mnist_images`]).
///
/// ```
/// let e = rgan::eval::mnist::MnistEvaluation {
///     mnist_score: 9.0, frechet_distance: 1.0, feature_frechet_distance: 2.0, kernel_distance: 0.01,
///     kernel_distance_std: None, precision: 0.9, recall: 0.8, density: 1.0, coverage: 0.9,
/// };
/// let json = serde_json::to_string(&e).unwrap();
/// assert!(json.contains("\"mnist_score\":9.0") && json.contains("\"kernel_distance_std\":null"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MnistEvaluation {
    /// TF-GAN's MNIST score: the classifier score (`exp(E[KL(p(y|x) || p(y))])`) of the logits
    /// of the evaluated digits; 1 to 10, higher is better.
    pub mnist_score: f64,
    /// TF-GAN's MNIST Frechet distance: the Fréchet distance between the classifier's logits of
    /// the real and of the evaluated digits; lower is better.
    pub frechet_distance: f64,
    /// The Fréchet distance on the classifier's penultimate features (48 dimensions).
    pub feature_frechet_distance: f64,
    /// The kernel (KID) distance on the penultimate features (TF-GAN's estimator, blocks of
    /// at most 1024).
    pub kernel_distance: f64,
    /// The kernel distance's standard error; `None` with a single block (fewer than 1025
    /// samples), where it is undefined.
    pub kernel_distance_std: Option<f64>,
    /// Improved precision on the penultimate features (k = 5).
    pub precision: f64,
    /// Improved recall on the penultimate features (k = 5).
    pub recall: f64,
    /// Density on the penultimate features (k = 5).
    pub density: f64,
    /// Coverage on the penultimate features (k = 5).
    pub coverage: f64,
}

/// The classifier's logits and penultimate features of `images`, in chunks of 500, on the host.
fn classify(classifier: &MnistClassifier, images: Tensor<4>, name: &str) -> Result<(HostMatrix, HostMatrix)> {
    let dims = images.dims();
    if dims[0] == 0 || dims[1..] != [1, 28, 28] {
        return Err(RganError::shape(name, &dims, "expected [N, 1, 28, 28] with N ≥ 1 (MNIST digits in [-1, 1])"));
    }
    let n = dims[0];
    let mut logits = HostMatrix { data: Vec::new(), rows: 0, cols: 0 };
    let mut features = logits.clone();
    let mut start = 0;
    while start < n {
        let len = CHUNK.min(n - start);
        let (l, f) = classifier.logits_and_features(images.clone().narrow(0, start, len))?;
        for (acc, part) in [(&mut logits, l), (&mut features, f)] {
            let part = super::host(&part, name)?;
            acc.cols = part.cols;
            acc.rows += part.rows;
            acc.data.extend(part.data);
        }
        start += len;
    }
    if let Some(i) = logits.data.iter().chain(&features.data).position(|v| !v.is_finite()) {
        return Err(RganError::invalid(
            name,
            format!("give non-finite classifier outputs (value {i}): the images hold NaN or infinite values"),
        ));
    }
    Ok((logits, features))
}

/// Evaluates digits `images` `[N, 1, 28, 28]` in `[-1, 1]` against real digits `real`
/// `[M, 1, 28, 28]` with `classifier`: TF-GAN's MNIST score (of `images`' logits) and MNIST
/// Fréchet distance (logits of `real` against logits of `images`), and on the penultimate
/// features the Fréchet distance, the kernel distance and PRDC (k = 5).
///
/// Both sets need at least 6 digits (PRDC's k + 1). Errors name the argument: a wrong shape,
/// too few samples, or images giving non-finite outputs (NaN pixels).
///
/// ```
/// use burn::prelude::*;
/// use rgan::eval::mnist::evaluate_mnist_images;
/// use rgan::eval::mnist_classifier::MnistClassifier;
/// let device = Device::default();
/// let classifier = MnistClassifier::pretrained(&device).unwrap();
/// let few = Tensor::<4>::zeros([3, 1, 28, 28], &device);
/// assert!(evaluate_mnist_images(&classifier, few.clone(), few).is_err());
/// ```
pub fn evaluate_mnist_images(
    classifier: &MnistClassifier,
    images: Tensor<4>,
    real: Tensor<4>,
) -> Result<MnistEvaluation> {
    let (fake_logits, fake_features) = classify(classifier, images, "images")?;
    let (real_logits, real_features) = classify(classifier, real, "real")?;
    let min = DEFAULT_NEAREST_K + 1;
    for (name, rows) in [("images", fake_logits.rows), ("real", real_logits.rows)] {
        if rows < min {
            return Err(RganError::invalid(
                name,
                format!("hold {rows} digits but the MNIST evaluation needs at least {min} (PRDC's k = 5, plus one)"),
            ));
        }
    }
    let mnist_score = classifier_score_from_logits_f64(fake_logits.view())?;
    let frechet_distance = frechet_classifier_distance_from_activations_f64(real_logits.view(), fake_logits.view())?;
    let feature_frechet_distance =
        frechet_classifier_distance_from_activations_f64(real_features.view(), fake_features.view())?;
    let (kernel_distance, kid_std) = kernel_classifier_distance_and_std_from_activations_f64(
        real_features.view(),
        fake_features.view(),
        DEFAULT_MAX_BLOCK_SIZE,
    )?;
    let prdc = precision_recall_density_coverage_f64(real_features.view(), fake_features.view(), DEFAULT_NEAREST_K)?;
    Ok(MnistEvaluation {
        mnist_score,
        frechet_distance,
        feature_frechet_distance,
        kernel_distance,
        kernel_distance_std: kid_std.is_finite().then_some(kid_std),
        precision: prdc.precision,
        recall: prdc.recall,
        density: prdc.density,
        coverage: prdc.coverage,
    })
}

/// Draws `n` digits `[n, 1, 28, 28]` from `generator` (whose inputs `inputs` describes) on
/// `device` (the generator's device), from inputs seeded by `seed`: N(0, 1) noise; for conditional and ACGAN
/// generators one-hot labels cycling through the classes 0, 1, …, 9, 0, …; for InfoGAN uniform
/// random categories and U(-1, 1) continuous codes (TF-GAN's `get_infogan_noise`).
///
/// The batch-norm layers use their moving averages ([`BatchNormMode::MovingAverages`]), as
/// TF-GAN's evaluation runs the generator with `is_training=False`. Digits are generated 500 at
/// a time.
///
/// ```
/// use burn::prelude::*;
/// use rgan::eval::mnist::generate_mnist_digits;
/// use rgan::recipes::mnist::{GanKind, MnistRecipe};
/// let device = Device::default();
/// let recipe = MnistRecipe::for_kind(GanKind::Conditional);
/// let generator = recipe.generator.init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
/// let digits = generate_mnist_digits(&generator, &recipe.noise_inputs(), 7, 0, &device).unwrap();
/// assert_eq!(digits.dims(), [7, 1, 28, 28]);
/// ```
pub fn generate_mnist_digits<G: GanGenerator>(
    generator: &G,
    inputs: &NoiseInputs,
    n: usize,
    seed: u64,
    device: &Device,
) -> Result<Tensor<4>> {
    if n == 0 {
        return Err(RganError::invalid("n", "must be at least 1 digit"));
    }
    let mut rng = Rng::seed_from_u64(seed);
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < n {
        let b = CHUNK.min(n - start);
        let batch = inputs.random(b, start, &mut rng, device);
        let images = generator.generate_with(&batch, BatchNormMode::MovingAverages)?;
        if !crate::model::all_finite(&images) {
            return Err(RganError::invalid(
                "generator",
                format!("made NaN or infinite pixels among digits {start}..{} (its weights diverged?)", start + b),
            ));
        }
        chunks.push(images);
        start += b;
    }
    Ok(Tensor::cat(chunks, 0))
}

/// Images `start..start + count` of `data` as a tensor `[count, C, H, W]` in `[-1, 1]` on
/// `device` (e.g. 1000 MNIST test digits for [`evaluate_mnist_images`]).
///
/// Errors if the range is empty or runs past the data set's end.
///
/// ```
/// use burn::prelude::*;
/// use rgan::data::{IdxImages, Mnist};
/// let m = Mnist { images: IdxImages { count: 2, rows: 28, cols: 28, pixels: vec![0; 2 * 784] }, labels: vec![0, 1] };
/// let device = Device::default();
/// assert_eq!(rgan::eval::mnist::dataset_images(&m, 1, 1, &device).unwrap().dims(), [1, 1, 28, 28]);
/// assert!(rgan::eval::mnist::dataset_images(&m, 1, 2, &device).is_err());
/// ```
pub fn dataset_images<D: ImageDataset + ?Sized>(
    data: &D,
    start: usize,
    count: usize,
    device: &Device,
) -> Result<Tensor<4>> {
    if count == 0 || start + count > data.len() {
        return Err(RganError::invalid(
            "data",
            format!("holds {} images; images {start}..{} were asked for (at least one)", data.len(), start + count),
        ));
    }
    let [c, h, w] = data.image_shape();
    let mut pixels = Vec::with_capacity(count * c * h * w);
    for i in start..start + count {
        data.extend_image(i, &mut pixels);
    }
    Ok(Tensor::from_data(TensorData::new(pixels, [count, c, h, w]), device))
}

/// The columns of `eval.csv`, after `step`.
const EVAL_COLUMNS: [&str; 9] = [
    "mnist_score",
    "frechet_distance",
    "feature_frechet_distance",
    "kernel_distance",
    "kernel_distance_std",
    "precision",
    "recall",
    "density",
    "coverage",
];

impl MnistEvaluation {
    /// The values in the order of `eval.csv`'s columns (`kernel_distance_std` NaN when `None`).
    fn values(&self) -> [f64; 9] {
        [
            self.mnist_score,
            self.frechet_distance,
            self.feature_frechet_distance,
            self.kernel_distance,
            self.kernel_distance_std.unwrap_or(f64::NAN),
            self.precision,
            self.recall,
            self.density,
            self.coverage,
        ]
    }
}

/// A [`TrainHook`] evaluating an MNIST GAN while it trains, as TF-GAN's MNIST eval job: every
/// `every` steps (and at the run's last step) it draws [`num_samples`](Self::num_samples)
/// digits from the current generator ([`generate_mnist_digits`], fixed inputs from
/// [`seed`](Self::seed), moving-average batch norm), evaluates them against the real digits
/// given to [`MnistEvalHook::new`] ([`evaluate_mnist_images`]) and writes
///
/// - TensorBoard scalars `eval/<name>` for every field of [`MnistEvaluation`] (`eval/mnist_score`,
///   `eval/frechet_distance`, `eval/feature_frechet_distance`, …) to its own event file in the
///   log folder (TensorBoard merges the files of a folder), and
/// - a row `step,mnist_score,frechet_distance,…` appended to `eval.csv` there.
///
/// ```no_run
/// use burn::prelude::*;
/// use rgan::data::{Mnist, Split};
/// use rgan::eval::mnist::{MnistEvalHook, dataset_images};
/// use rgan::recipes::mnist::MnistRecipe;
/// let device = Device::default();
/// let train = Mnist::load("data/mnist", Split::Train).unwrap();
/// let test = Mnist::load("data/mnist", Split::Test).unwrap();
/// let recipe = MnistRecipe::default();
/// let real = dataset_images(&test, 0, 1000, &device).unwrap();
/// let mut hook = MnistEvalHook::new(real, "logs/mnist", 500, &device).unwrap();
/// let mut trainer = recipe.trainer(recipe.train_config(), &train, "logs/mnist", false, &device.autodiff()).unwrap();
/// trainer.run_with_hooks(&mut [&mut hook]).unwrap();
/// println!("{:?}", hook.last);
/// ```
pub struct MnistEvalHook {
    classifier: MnistClassifier,
    real: Tensor<4>,
    device: Device,
    logdir: PathBuf,
    writer: Option<EventWriter>,
    /// Evaluate every this many steps (0: only at the last step).
    pub every: usize,
    /// Generated digits per evaluation. Default [`MNIST_EVAL_SAMPLES`] (1000).
    pub num_samples: usize,
    /// Seed of the generator inputs (the same inputs at every evaluation). Default 0.
    pub seed: u64,
    /// The step and result of the latest evaluation.
    pub last: Option<(usize, MnistEvaluation)>,
}

impl MnistEvalHook {
    /// A hook for a run logging to `logdir`, evaluating against the digits `real`
    /// `[M, 1, 28, 28]` in `[-1, 1]` (TF-GAN: 1000 test digits; see [`dataset_images`]) with
    /// rgan's pretrained [`MnistClassifier`], on `device` without autodiff (the generator's
    /// `valid()` copy runs there).
    ///
    /// Errors if `real` is not `[M, 1, 28, 28]` with M ≥ 6.
    pub fn new(real: Tensor<4>, logdir: impl AsRef<Path>, every: usize, device: &Device) -> Result<Self> {
        let dims = real.dims();
        if dims[0] <= DEFAULT_NEAREST_K || dims[1..] != [1, 28, 28] {
            return Err(RganError::shape("real", &dims, "expected [M, 1, 28, 28] real digits with M ≥ 6"));
        }
        let device = device.clone().without_autodiff();
        Ok(Self {
            classifier: MnistClassifier::pretrained(&device)?,
            real: real.to_device(&device),
            device,
            logdir: logdir.as_ref().to_path_buf(),
            writer: None,
            every,
            num_samples: MNIST_EVAL_SAMPLES,
            seed: 0,
            last: None,
        })
    }

    /// Evaluates `generator` (whose inputs `inputs` describes) now and logs the result at `step`.
    pub fn evaluate<G: GanGenerator>(
        &mut self,
        generator: &G,
        inputs: &NoiseInputs,
        step: usize,
    ) -> Result<MnistEvaluation> {
        let images = generate_mnist_digits(generator, inputs, self.num_samples, self.seed, &self.device)?;
        let evaluation = evaluate_mnist_images(&self.classifier, images, self.real.clone())?;
        super::log_evaluation(&mut self.writer, &self.logdir, &EVAL_COLUMNS, &evaluation.values(), step)?;
        self.last = Some((step, evaluation));
        Ok(evaluation)
    }
}

impl<G, D, C> TrainHook<GanStep<G, D, NoiseInputs, C>> for MnistEvalHook
where
    G: GanGenerator,
    D: GanDiscriminator,
    C: ImageClassifier,
{
    fn after_step(&mut self, report: &StepReport, step: &GanStep<G, D, NoiseInputs, C>) -> Result<HookAction> {
        super::evaluate_when_due(self.every, report, step, |generator, inputs, at| {
            self.evaluate(generator, inputs, at).map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipes::mnist::{GanKind, MnistRecipe};

    #[test]
    fn every_kind_generates_digits_and_identical_sets_are_at_distance_zero() {
        let device = Device::default();
        let classifier = MnistClassifier::pretrained(&device).unwrap();
        for kind in [GanKind::Unconditional, GanKind::Conditional, GanKind::InfoGan, GanKind::AcGan] {
            let recipe = MnistRecipe::for_kind(kind);
            let inputs = recipe.noise_inputs();
            let generator = recipe.generator.init(&mut Rng::seed_from_u64(1), &device).unwrap();
            let digits = generate_mnist_digits(&generator, &inputs, 12, 3, &device).unwrap();
            assert_eq!(digits.dims(), [12, 1, 28, 28], "{kind:?}");
            let again = generate_mnist_digits(&generator, &inputs, 12, 3, &device).unwrap();
            let e = evaluate_mnist_images(&classifier, digits, again).unwrap();
            // An untrained generator's digits give nearly constant logits (near-singular
            // covariances), so the matrix square root leaves ~1e-5 of rounding.
            assert!(e.frechet_distance.abs() < 1e-3, "{kind:?}: same seed, same digits: {e:?}");
            assert!(e.feature_frechet_distance.abs() < 1e-3, "{kind:?}: {e:?}");
            assert_eq!((e.precision, e.recall, e.coverage), (1.0, 1.0, 1.0), "{kind:?}");
            assert!((1.0..=10.0 + 1e-9).contains(&e.mnist_score), "{kind:?}: {e:?}");
            assert_eq!(e.kernel_distance_std, None);
        }
    }

    #[test]
    fn nan_images_are_an_error_naming_the_argument() {
        let device = Device::default();
        let classifier = MnistClassifier::pretrained(&device).unwrap();
        let real = Tensor::<4>::zeros([8, 1, 28, 28], &device);
        let nan = Tensor::<4>::zeros([8, 1, 28, 28], &device).div_scalar(0.0);
        let err = evaluate_mnist_images(&classifier, nan, real).unwrap_err().to_string();
        assert!(err.contains("images") && err.contains("NaN"), "{err}");
    }

    #[test]
    fn the_hook_logs_every_step_to_tensorboard_and_eval_csv() {
        use crate::data::{IdxImages, Mnist};
        use crate::train::TrainConfig;
        let mut rng = Rng::seed_from_u64(9);
        let pixels = (0..16 * 784).map(|_| rng.below(256) as u8).collect();
        let data = Mnist { images: IdxImages { count: 16, rows: 28, cols: 28, pixels }, labels: vec![0; 16] };
        let dir = std::env::temp_dir().join(format!("rgan-unit-mnist-eval-hook-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let device = Device::default();
        let config = TrainConfig::new().with_batch_size(4).with_grid_size(2).with_steps(2).with_sample_every(0);
        let real = dataset_images(&data, 0, 16, &device).unwrap();
        let mut hook = MnistEvalHook::new(real, &dir, 1, &device).unwrap();
        hook.num_samples = 50;
        let recipe = MnistRecipe::default();
        let mut trainer = recipe.trainer(config, &data, &dir, false, &device.clone().autodiff()).unwrap();
        trainer.run_with_hooks(&mut [&mut hook]).unwrap();
        assert_eq!(hook.last.map(|(step, _)| step), Some(2));
        let events = hook.writer.as_ref().unwrap().path().to_path_buf();
        let mut tagged: Vec<(String, i64)> = Vec::new();
        for event in crate::summary::read_events(&events).unwrap() {
            tagged.extend(event.values.into_iter().map(|(tag, _)| (tag, event.step)));
        }
        for tag in ["eval/mnist_score", "eval/frechet_distance", "eval/feature_frechet_distance", "eval/precision"] {
            let steps: Vec<i64> = tagged.iter().filter(|(t, _)| t == tag).map(|&(_, s)| s).collect();
            assert_eq!(steps, vec![1, 2], "{tag}");
        }
        assert!(!tagged.iter().any(|(t, _)| t == "eval/kernel_distance_std"), "undefined std is not logged");
        let csv = std::fs::read_to_string(dir.join("eval.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[0].starts_with("step,mnist_score,frechet_distance,"), "{csv}");
        assert!(lines[1].starts_with("1,") && lines[2].starts_with("2,"), "{csv}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
