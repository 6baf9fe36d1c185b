//! Evaluation metrics: TF-GAN's `tfgan.eval` definitions, computed in f64 on the host.
//!
//! Every metric takes burn tensors (`Tensor<2>` of logits or activations, rows are samples) and
//! also has an `_f64` core on plain row-major slices ([`MatrixRef`]), so the numbers can be
//! computed from features produced anywhere. Inputs of any float dtype are read back and cast to
//! f64, as TF-GAN casts float32 inputs to float64 before computing.
//!
//! - [`classifier_score`]: Inception/classifier score over one set, streaming, and the
//!   "mean ± std over splits" protocol peers report.
//! - [`frechet`]: Fréchet distance (full, diagonal-only, mean-only, streaming) and
//!   `trace_sqrt_product`.
//! - [`kernel`]: kernel (KID) distance with TF-GAN's block estimator and its std.
//! - [`sliced_wasserstein`]: the ProGAN sliced Wasserstein distance on Laplacian pyramids.
//! - [`prdc`]: precision, recall, density and coverage from k nearest neighbours.
//! - [`grid`]: `image_grid`, `python_image_grid` and `image_reshaper` (NHWC).
//! - [`inception`]: the FID Inception-v3 network (pool3 features) with pinned preprocessing.
//! - [`fid_statistics`]: FID statistics in pytorch-fid's `.npz` layout.
//! - [`cifar`]: the FID of a CIFAR-10 generator against the training set's statistics.
//! - [`mnist`]: TF-GAN's MNIST score and Frechet distance of generated digits, plus feature
//!   distances and PRDC ([`MnistEvaluation`]), and [`MnistEvalHook`] to evaluate during training.
//! - [`mnist_classifier`]: rgan's own MNIST classifier, for TF-GAN's MNIST score and distances.
//! - [`cifar_classifier`]: rgan's own CIFAR-10 classifier, for the CIFAR-10 classifier score.
//! - [`classifier`]: what the two classifiers share (training, accuracy, weights).
//! - [`image_quality`]: PSNR, SSIM and MS-SSIM as TensorFlow's `tf.image` computes them.
//! - [`translation`]: L1, PSNR and FID of an image-to-image translator on held-out pairs.
//!
//! ```
//! use burn::prelude::*;
//! use rgan::eval::*;
//! let device = Device::default();
//! let real = Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], &device);
//! let fake = Tensor::<2>::from_floats([[0.5, 1.0], [1.0, 0.5], [2.0, 2.5]], &device);
//! let fd = frechet_classifier_distance_from_activations(&real, &fake).unwrap();
//! assert!(fd > 0.0);
//! assert!(frechet_classifier_distance_from_activations(&real, &real).unwrap().abs() < 1e-9);
//! ```

pub mod cifar;
pub mod cifar_classifier;
pub mod classifier;
pub mod classifier_score;
pub mod fid_statistics;
pub mod frechet;
pub mod grid;
pub mod image_quality;
pub mod inception;
pub mod kernel;
mod linalg;
pub mod mnist;
pub mod mnist_classifier;
pub mod prdc;
pub mod sliced_wasserstein;
pub mod translation;

pub use classifier_score::*;
pub use fid_statistics::FidStatistics;
pub use frechet::*;
pub use grid::*;
pub use kernel::*;
pub use mnist::{MnistEvalHook, MnistEvaluation, evaluate_mnist_images, generate_mnist_digits};
pub use prdc::*;
pub use sliced_wasserstein::*;

use std::io::Write;
use std::path::Path;

use burn::prelude::*;

use crate::error::{Result, RganError};
use crate::summary::EventWriter;

/// The rule of the evaluation hooks ([`MnistEvalHook`], [`cifar::CifarEvalHook`]): after
/// step `report.step`, when it is a multiple of `every` (0: never) or the run's last step, run
/// `evaluate` on the generator's `valid()` copy and its inputs at that step.
pub(crate) fn evaluate_when_due<G, D, C>(
    every: usize,
    report: &crate::train::StepReport,
    step: &crate::train::GanStep<G, D, crate::model::NoiseInputs, C>,
    evaluate: impl FnOnce(&G, &crate::model::NoiseInputs, usize) -> Result<()>,
) -> Result<crate::train::HookAction>
where
    G: crate::model::GanGenerator,
    D: crate::model::GanDiscriminator,
    C: crate::model::ImageClassifier,
{
    let due = every > 0 && report.step.is_multiple_of(every);
    if due || report.step == step.config().steps {
        evaluate(&step.model().generator.valid(), step.input_fn(), report.step)?;
    }
    Ok(crate::train::HookAction::Continue)
}

/// Logs one evaluation of a training run at `step`: TensorBoard scalars `eval/<column>` (to an
/// event file of its own in `logdir`, opened on first use into `writer`) for the finite values,
/// and a row `step,<values>` appended to `logdir/eval.csv` (written with its header first when
/// new; non-finite values left empty).
pub(crate) fn log_evaluation(
    writer: &mut Option<EventWriter>,
    logdir: &Path,
    columns: &[&str],
    values: &[f64],
    step: usize,
) -> Result<()> {
    let writer = match writer {
        Some(writer) => writer,
        None => writer.insert(EventWriter::create(logdir)?),
    };
    for (name, &value) in columns.iter().zip(values) {
        if value.is_finite() {
            writer.add_scalar(&format!("eval/{name}"), value, step as u64)?;
        }
    }
    writer.flush()?;
    let path = logdir.join("eval.csv");
    let mut text = String::new();
    if std::fs::metadata(&path).map(|m| m.len() == 0).unwrap_or(true) {
        text.push_str(&format!("step,{}\n", columns.join(",")));
    }
    let row: Vec<String> = values.iter().map(|v| if v.is_finite() { v.to_string() } else { String::new() }).collect();
    text.push_str(&format!("{step},{}\n", row.join(",")));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| RganError::file(&path, format!("cannot open: {e}")))?;
    file.write_all(text.as_bytes()).map_err(|e| RganError::file(&path, format!("cannot write: {e}")))
}

/// A borrowed row-major matrix of f64 (rows are samples, columns are features).
///
/// ```
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let m = rgan::eval::MatrixRef::new("activations", &data, 2, 3).unwrap();
/// assert_eq!((m.rows(), m.cols()), (2, 3));
/// assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
/// assert!(rgan::eval::MatrixRef::new("activations", &data, 4, 3).is_err());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatrixRef<'a> {
    data: &'a [f64],
    rows: usize,
    cols: usize,
}

impl<'a> MatrixRef<'a> {
    /// A view of `data` as `rows x cols`; `name` is the argument named in the error when the
    /// length does not match.
    pub fn new(name: &str, data: &'a [f64], rows: usize, cols: usize) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(RganError::shape(
                name,
                &[data.len()],
                format!("but a {rows}x{cols} matrix needs {} values", rows * cols),
            ));
        }
        Ok(Self { data, rows, cols })
    }

    /// The number of rows (samples).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The shape `[rows, cols]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// All values, row-major.
    pub fn data(&self) -> &'a [f64] {
        self.data
    }
}

/// An owned row-major f64 matrix, e.g. a tensor read back to the host.
///
/// ```
/// use burn::prelude::*;
/// let t = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &Device::default());
/// let m = rgan::eval::HostMatrix::from_tensor(&t).unwrap();
/// assert_eq!(m.view().row(1), &[3.0, 4.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HostMatrix {
    /// The values, row-major.
    pub data: Vec<f64>,
    /// The number of rows.
    pub rows: usize,
    /// The number of columns.
    pub cols: usize,
}

impl HostMatrix {
    /// Reads a `[rows, cols]` tensor of any float dtype back as f64.
    pub fn from_tensor(tensor: &Tensor<2>) -> Result<Self> {
        let [rows, cols] = tensor.dims();
        Ok(Self { data: tensor_values(tensor, "tensor")?, rows, cols })
    }

    /// A borrowed view.
    pub fn view(&self) -> MatrixRef<'_> {
        MatrixRef { data: &self.data, rows: self.rows, cols: self.cols }
    }
}

/// A tensor's values as f64, row-major; `name` names the argument in the error.
pub(crate) fn tensor_values<const D: usize>(tensor: &Tensor<D>, name: &str) -> Result<Vec<f64>> {
    tensor
        .to_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .map_err(|e| RganError::invalid(name, format!("cannot be read back as floats: {e:?}")))
}

/// Reads a tensor argument back as a [`HostMatrix`], naming it in errors.
pub(crate) fn host(tensor: &Tensor<2>, name: &str) -> Result<HostMatrix> {
    let [rows, cols] = tensor.dims();
    Ok(HostMatrix { data: tensor_values(tensor, name)?, rows, cols })
}

/// Fails unless both sets have the same number of features.
pub(crate) fn same_features(name1: &str, a: MatrixRef, name2: &str, b: MatrixRef) -> Result<()> {
    if a.cols() != b.cols() {
        return Err(RganError::shape(
            name2,
            &b.shape(),
            format!("but `{name1}` has shape {:?}: the feature dimensions must match", a.shape()),
        ));
    }
    if a.cols() == 0 {
        return Err(RganError::shape(name1, &a.shape(), "but at least one feature is needed"));
    }
    Ok(())
}

/// Fails unless `a` has at least `min` rows.
pub(crate) fn min_rows(name: &str, a: MatrixRef, min: usize, what: &str) -> Result<()> {
    if a.rows() < min {
        return Err(RganError::shape(name, &a.shape(), format!("but {what} needs at least {min} samples")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m<'a>(data: &'a [f64], rows: usize, cols: usize) -> MatrixRef<'a> {
        MatrixRef::new("x", data, rows, cols).unwrap()
    }

    #[test]
    fn errors_name_the_argument_and_both_shapes() {
        let a = [0.0; 12];
        let err = frechet_classifier_distance_from_activations_f64(m(&a, 4, 3), m(&a, 3, 4)).unwrap_err().to_string();
        assert!(err.contains("activations2") && err.contains("[3, 4]") && err.contains("[4, 3]"), "{err}");
        let err = frechet_classifier_distance_from_activations_f64(m(&a, 1, 12), m(&a, 1, 12)).unwrap_err().to_string();
        assert!(err.contains("activations1") && err.contains("at least 2 samples"), "{err}");
        let err = kernel_classifier_distance_and_std_from_activations_f64(m(&a, 6, 2), m(&a[..6], 3, 2), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("activations2") && err.contains("[3, 2]") && err.contains("3 blocks"), "{err}");
        let err = trace_sqrt_product_f64(m(&a, 3, 4), m(&a, 3, 4)).unwrap_err().to_string();
        assert!(err.contains("sigma") && err.contains("square"), "{err}");
        let mut s = ClassifierScoreStreaming::new();
        s.update_f64(m(&a, 4, 3)).unwrap();
        let err = s.update_f64(m(&a, 3, 4)).unwrap_err().to_string();
        assert!(err.contains("logits") && err.contains("3 classes"), "{err}");
        let err = python_image_grid(&a, [3, 2, 2, 1], [2, 2]).unwrap_err().to_string();
        assert!(err.contains("input_array") && err.contains("[2, 2]"), "{err}");
    }

    #[test]
    fn streaming_frechet_in_uneven_batches_matches_the_batch_function_with_a_large_offset() {
        // A large common offset stresses the covariance accumulation (naive sums would cancel).
        let mut rng = crate::rng::Rng::seed_from_u64(11);
        let a: Vec<f64> = (0..37 * 5).map(|_| 1e4 + rng.next_normal()).collect();
        let b: Vec<f64> = (0..23 * 5).map(|_| 1e4 + 0.5 + 2.0 * rng.next_normal()).collect();
        let batch = frechet_classifier_distance_from_activations_f64(m(&a, 37, 5), m(&b, 23, 5)).unwrap();
        let mut s = FrechetClassifierDistanceStreaming::new();
        for (ra, rb) in [(0..1, 0..0), (1..20, 0..11), (20..37, 11..23)] {
            s.update_f64(m(&a[ra.start * 5..ra.end * 5], ra.len(), 5), m(&b[rb.start * 5..rb.end * 5], rb.len(), 5))
                .unwrap();
        }
        let streamed = s.value().unwrap();
        assert!((streamed - batch).abs() <= 1e-10 * batch.abs(), "{streamed} vs {batch}");
    }

    #[test]
    fn classifier_score_limits_and_splits() {
        // Uniform predictions score 1; confident, balanced predictions score the class count.
        let flat = [0.0; 12];
        assert!((classifier_score_from_logits_f64(m(&flat, 4, 3)).unwrap() - 1.0).abs() < 1e-15);
        let confident = [50.0, 0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0, 50.0];
        assert!((classifier_score_from_logits_f64(m(&confident, 3, 3)).unwrap() - 3.0).abs() < 1e-12);
        let (mean, std) = inception_score_splits_f64(m(&confident, 3, 3), 3).unwrap();
        assert!((mean - 1.0).abs() < 1e-12 && std.abs() < 1e-12, "one sample per split scores 1");
    }
}
